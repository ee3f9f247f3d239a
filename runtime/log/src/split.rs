//! Counting a big file on several cores. The file is cut only where a
//! sequential read would start a new record whatever it had read before
//! (`starts_fresh`), so each part parses as it would inside the whole and
//! the parts' counts add up to the sequential ones. One thing carries over
//! a record start: whether a quoted-printable line end (`=0A`) was seen
//! before, which decides how a line after a soft break reads. A part whose
//! reading turned on it is read again once the parts before it are known
//! to have seen one (`count_parts`); no part of a log that is not such a
//! body is ever read twice.

use std::fs::File;
use std::io;
use std::ops::Range;

use crate::format::{Format, Kind};
use crate::lexer::NoTokens;
use crate::reader::{self, LineSink, RawLine};
use crate::stats::Stats;
use crate::{line, parser, Entry, Parser};

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
    stats_in_parts(file, name, hint, threads, MIN_PART)
}

/// [`stats_file`] with parts as small as `min_part` bytes: tests cut a
/// small file as a big one is cut.
#[doc(hidden)]
pub fn stats_in_parts(
    file: &File,
    name: &str,
    hint: Option<Format>,
    threads: usize,
    min_part: u64,
) -> io::Result<Stats> {
    let meta = file.metadata()?;
    if !meta.is_file() {
        // A pipe, a FIFO, `/dev/stdin`: it cannot be mapped, cut or read
        // at an offset, so one thread reads it as it comes.
        return stream(file, name, hint);
    }
    let len = meta.len();
    let hint = presumed(file, name, hint)?;
    let parts = (len / min_part.max(1)).clamp(1, threads.max(1) as u64);
    let guesses: Vec<u64> = (1..parts).map(|k| len * k / parts).collect();
    let starts = cut(file, len, hint, &guesses)?;
    count_parts(file, name, hint, len, &starts)
}

/// The counts of `file` cut at the first fresh record start after each of
/// `guesses`, as [`stats_file`] cuts a big file after its own guesses.
#[doc(hidden)]
pub fn stats_cut_after(
    file: &File,
    name: &str,
    hint: Option<Format>,
    guesses: &[u64],
) -> io::Result<Stats> {
    let len = file.metadata()?.len();
    let hint = presumed(file, name, hint)?;
    let starts = cut(file, len, hint, guesses)?;
    count_parts(file, name, hint, len, &starts)
}

/// The format the file's unprefixed lines are read as (`parser::presume`).
fn presumed(file: &File, name: &str, hint: Option<Format>) -> io::Result<Format> {
    let head = read_at(file, 0, 64 << 10)?;
    Ok(hint.unwrap_or_else(|| parser::presume(name, &head[reader::bom_len(&head)..])))
}

/// Counts the parts that begin at `starts` (the first at 0) on a thread
/// each, and adds them up.
///
/// Each part starts with a parser that has seen no `=0A`. That is the
/// sequential reader's state unless a part before had one; then a part
/// whose reading turned on it (`Parser::qp_decided`) is read again as if
/// it had, which is exactly the state the sequential reader reaches it in.
fn count_parts(
    file: &File,
    name: &str,
    hint: Format,
    len: u64,
    starts: &[u64],
) -> io::Result<Stats> {
    let ranges: Vec<Range<u64>> = starts
        .iter()
        .enumerate()
        .map(|(i, &s)| s..starts.get(i + 1).copied().unwrap_or(len))
        .collect();
    let mut parts = on_threads(&ranges, |r| count_range(file, name, hint, r, false))?;
    let mut seen_before = false;
    let mut again = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if seen_before && p.qp_decided {
            again.push(i);
        }
        seen_before |= p.qp_lines;
    }
    if !again.is_empty() {
        let redo: Vec<Range<u64>> = again.iter().map(|&i| ranges[i].clone()).collect();
        let redone = on_threads(&redo, |r| count_range(file, name, hint, r, true))?;
        for (i, p) in again.into_iter().zip(redone) {
            parts[i] = p;
        }
    }
    let mut all = Stats::default();
    for p in &parts {
        all.merge(&p.stats);
    }
    Ok(all)
}

/// `count` of every range, each on a thread of its own, in order.
fn on_threads<F>(ranges: &[Range<u64>], count: F) -> io::Result<Vec<Part>>
where
    F: Fn(Range<u64>) -> io::Result<Part> + Sync,
{
    let count = &count;
    std::thread::scope(|s| {
        let handles: Vec<_> = ranges
            .iter()
            .map(|r| {
                let r = r.clone();
                s.spawn(move || count(r))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("a counting thread failed")))
            })
            .collect()
    })
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

/// One part's counts, and what its parser knew of `=0A` line ends.
struct Part {
    stats: Stats,
    /// A `=0A` was seen (or assumed) by the part's end.
    qp_lines: bool,
    /// The part's reading turned on not having seen one.
    qp_decided: bool,
}

fn count_range(
    file: &File,
    name: &str,
    hint: Format,
    r: Range<u64>,
    after_qp_lines: bool,
) -> io::Result<Part> {
    let mut c = Counter {
        parser: Parser::new(name, hint),
        stats: Stats::default(),
    };
    if after_qp_lines {
        c.parser.after_qp_lines();
    }
    let bytes = reader::for_range_mapped(file, r, reader::MAX_LINE, &mut c)?;
    let st = &mut c.stats;
    c.parser.finish(&mut |e: &Entry<'_>| st.add(e));
    c.stats.bytes = bytes;
    c.stats.lines = c.parser.lines();
    Ok(Part {
        stats: c.stats,
        qp_lines: c.parser.qp_lines(),
        qp_decided: c.parser.qp_decided(),
    })
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

/// Where the parts begin: 0, then the first fresh record start after each
/// of `guesses` (in order; one that finds none, or the start already
/// taken, adds no part).
fn cut(file: &File, len: u64, hint: Format, guesses: &[u64]) -> io::Result<Vec<u64>> {
    let mut starts = vec![0u64];
    for &guess in guesses {
        if let Some(at) = record_start_after(file, guess, hint)? {
            if at > *starts.last().unwrap_or(&0) && at < len {
                starts.push(at);
            }
        }
    }
    Ok(starts)
}

/// The offset of the first line after `at` where a sequential read starts
/// a new record, whatever it read before (`starts_fresh`).
fn record_start_after(file: &File, at: u64, hint: Format) -> io::Result<Option<u64>> {
    // Two bytes before `at` too: when `at` is a line end, they are the end
    // of the line before the first candidate (`=` or `=\r`).
    let from = at.saturating_sub(2);
    let buf = read_at(file, from, SEARCH as usize)?;
    let skip = (at - from) as usize;
    // The line holding `at` is only the first candidate's `prev`, of which
    // only the end is read.
    let mut prev_start = 0;
    let mut pos = match memchr::memchr(b'\n', buf.get(skip..).unwrap_or_default()) {
        Some(i) => skip + i + 1,
        None => return Ok(None),
    };
    while let Some(end) = memchr::memchr(b'\n', buf.get(pos..).unwrap_or_default()) {
        let prev = &buf[prev_start..pos - 1];
        let line = &buf[pos..pos + end];
        if starts_fresh(prev, line, hint) {
            return Ok(Some(from + pos as u64));
        }
        prev_start = pos;
        pos += end + 1;
    }
    Ok(None)
}

/// Does a sequential read start a new record at `line`, whatever came
/// before it, with `prev` the physical line before? The parser's rules
/// (parser.rs), taken at their most joining:
/// - a `=` ending `prev` may be a quoted-printable soft break, and in a
///   body whose line ends are encoded the parser reads `line` as the rest
///   of `prev`'s last line (`Parser::push_joined`), prefix or not;
/// - a mail quote, forum markup or binary bytes in front are damage;
/// - in a xend.log with a record open, a line that starts with none of
///   `[ ( < -` is read as that record's continuation unless its first
///   bytes could open a record (`line::may_open_record`);
/// - it must have a known prefix, be a plain record (not a frame or a
///   dump line that may continue a dump above) and have a whole head.
fn starts_fresh(prev: &[u8], line: &[u8], hint: Format) -> bool {
    let prev = prev.strip_suffix(b"\r").unwrap_or(prev);
    if prev.last() == Some(&b'=') {
        return false;
    }
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Some(&first) = line.first() else {
        return false;
    };
    let markup = first == b'['
        && line
            .get(1)
            .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'/' || b == b'*');
    if first < 0x20 || first == 0x7f || first == b'>' || markup {
        return false;
    }
    if hint == Format::Xend
        && !matches!(first, b'[' | b'(' | b'<' | b'-')
        && !line::may_open_record(line)
    {
        return false;
    }
    let h = line::scan(line, &mut NoTokens);
    h.format.is_some() && h.kind == Some(Kind::Record) && h.bad.is_none()
}
