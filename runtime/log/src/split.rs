//! Counting a big file on several cores: the file is cut where a line
//! starts a record with a prefix, so each part parses exactly as it would
//! inside the whole (nothing carries over a record start but the line
//! count), and the parts' counts add up to the sequential ones.

use std::fs::File;
use std::io;
use std::ops::Range;

use crate::format::{Format, Kind};
use crate::reader::{self, LineSink, RawLine};
use crate::stats::Stats;
use crate::{parser, Entry, Parser};

/// Below this, one thread reads the file faster than several start.
const MIN_PART: u64 = 16 << 20;

/// How far past a cut point to look for a record start before giving up.
const SEARCH: u64 = 4 << 20;

/// Counts a file with up to `threads` threads.
pub fn stats_file(
    file: &File,
    name: &str,
    hint: Option<Format>,
    threads: usize,
) -> io::Result<Stats> {
    let meta = file.metadata()?;
    if !meta.is_file() {
        // A pipe, a FIFO, `/dev/stdin`: it cannot be mapped, cut or read
        // at an offset, so one thread reads it as it comes.
        return stream(file, name, hint);
    }
    let len = meta.len();
    let head = read_at(file, 0, 64 << 10)?;
    let hint = hint.unwrap_or_else(|| parser::presume(name, &head[reader::bom_len(&head)..]));
    let parts = cut(file, len, threads.max(1))?;
    let results: Vec<io::Result<Stats>> = std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .iter()
            .map(|r| {
                let r = r.clone();
                s.spawn(move || count_range(file, name, hint, r))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("a counting thread failed")))
            })
            .collect()
    });
    let mut all = Stats::default();
    for r in results {
        all.merge(&r?);
    }
    Ok(all)
}

/// Counts what a non-seekable file gives, through the reader's chunks.
fn stream(file: &File, name: &str, hint: Option<Format>) -> io::Result<Stats> {
    let mut stats = Stats::default();
    let sum = crate::parse_reader(file, name, hint, |e| stats.add(e))?;
    stats.bytes = sum.bytes;
    stats.lines = sum.lines;
    Ok(stats)
}

struct Counter {
    parser: Parser,
    stats: Stats,
}

impl LineSink for Counter {
    fn first(&mut self, _: &[u8]) {}
    fn line(&mut self, line: RawLine<'_>) {
        let st = &mut self.stats;
        self.parser.push(line, &mut |e: &Entry<'_>| st.add(e));
    }
}

fn count_range(file: &File, name: &str, hint: Format, r: Range<u64>) -> io::Result<Stats> {
    let mut c = Counter {
        parser: Parser::new(name, hint),
        stats: Stats::default(),
    };
    let bytes = reader::for_range_mapped(file, r, reader::MAX_LINE, &mut c)?;
    let st = &mut c.stats;
    c.parser.finish(&mut |e: &Entry<'_>| st.add(e));
    c.stats.bytes = bytes;
    c.stats.lines = c.parser.lines();
    Ok(c.stats)
}

fn read_at(file: &File, at: u64, n: usize) -> io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match file.read_at(&mut buf[got..], at + got as u64)? {
            0 => break,
            k => got += k,
        }
    }
    buf.truncate(got);
    Ok(buf)
}

/// Byte ranges covering the file, each but the first starting at a line
/// that starts a record with a prefix.
fn cut(file: &File, len: u64, threads: usize) -> io::Result<Vec<Range<u64>>> {
    let parts = (len / MIN_PART).clamp(1, threads as u64);
    let mut starts = vec![0u64];
    for k in 1..parts {
        let guess = len * k / parts;
        if let Some(at) = record_start_after(file, guess)? {
            if at > *starts.last().unwrap_or(&0) && at < len {
                starts.push(at);
            }
        }
    }
    Ok(starts
        .iter()
        .enumerate()
        .map(|(i, &s)| s..starts.get(i + 1).copied().unwrap_or(len))
        .collect())
}

/// The offset of the first line after `at` that starts a record with a
/// prefix (not a continuation, not blank, not damaged).
fn record_start_after(file: &File, at: u64) -> io::Result<Option<u64>> {
    let buf = read_at(file, at, SEARCH as usize)?;
    let mut pos = match memchr::memchr(b'\n', &buf) {
        Some(i) => i + 1,
        None => return Ok(None),
    };
    while let Some(end) = memchr::memchr(b'\n', buf.get(pos..).unwrap_or_default()) {
        let line = &buf[pos..pos + end];
        let h = crate::line::scan(line, &mut crate::lexer::NoTokens);
        let clean = line.first().is_some_and(|&b| b >= 0x20 && b != b'>');
        if clean && h.format.is_some() && h.kind == Some(Kind::Record) && h.bad.is_none() {
            return Ok(Some(at + pos as u64));
        }
        pos += end + 1;
    }
    Ok(None)
}
