//! xsh-log: reads the logs a real Xen 4.4 host writes — xend.log, qemu-dm
//! logs, the Xen console, xl/libxl logs, guest and dom0 Linux consoles and
//! journals — says which modelled step wrote each line, and compares a real
//! run with a simulated one.
//!
//! Start at [`parse_reader`] (this file): a file in, [`Entry`]s out, one per
//! line, in bounded memory. Then:
//! - `lexer.rs` — the logos tokens of a line's head;
//! - `line.rs` — one line's head without context: format, fields, kind;
//! - `body.rs` — what the rest of a line is: frame, dump line, banner, message;
//! - `parser.rs` — records, continuations, dumps, wraps: lines in context;
//! - `damage.rs` — mailer wraps, quoted-printable, BBCode, glued records,
//!   binary bytes: found with their spans, repaired where certain;
//! - `reader.rs` — lines from a file in reused chunks;
//! - `record.rs` — entries assembled into whole records (for explain, diff, scripts);
//! - `filter.rs` — `--domain`, `--since`, `--until`, `--level`;
//! - `stats.rs`, `json.rs`, `report.rs` — counts, JSON lines, ariadne reports;
//! - `split.rs` — counting a big file on several cores;
//! - `snapshot.rs` — the token and entry snapshots of the fixture tests;
//! - `explain/` — message patterns → the model's probes, layers, causal steps,
//!   and the ovm-4.4.4 / upstream-4.4.4 line-number check;
//! - `events.rs`, `diff.rs` — records as events without times, pids, domids
//!   and uuids, and the structural diff of two event sequences;
//! - `align.rs`, `myers.rs` — the diff's alignment: Myers' O(ND) search,
//!   anchors, an exact LCS;
//! - `keyed.rs` — a file's events as 64-bit keys, for diffs of big logs
//!   in bounded memory;
//! - `time.rs` — stamps read into ISO 8601 wall times or times since boot;
//! - `timeline.rs` — several logs of one host merged in time order;
//! - `diagnose/` — each domain's history, aligned with a model run
//!   (`xsh logs diagnose`; the runs themselves are in xsh-script);
//! - `bench.rs` — the throughput benchmark beside a Python `re` parser.
//!
//! Nothing here panics on any input: every index is checked, and a fuzz
//! target (`fuzz/`) and a proptest property hold it to that.

pub mod align;
pub mod bench;
pub mod body;
pub mod damage;
pub mod diagnose;
pub mod diff;
pub mod entry;
pub mod events;
pub mod explain;
pub mod filter;
pub mod format;
#[cfg(test)]
mod heap;
pub mod json;
pub mod keyed;
pub mod lexer;
pub mod line;
pub mod myers;
pub mod parser;
pub mod reader;
pub mod record;
pub mod report;
pub mod snapshot;
pub mod split;
pub mod stats;
pub mod time;
pub mod timeline;

use std::io::{self, Read};

#[cfg(test)]
#[global_allocator]
static HEAP: heap::Counting = heap::Counting;

pub use damage::{Damage, DamageKind};
pub use format::{Format, Kind, Level};
pub use parser::{Entry, Join, Parser};
pub use record::{Collector, Record};

/// What a parse read.
#[derive(Clone, Copy, Debug, Default)]
pub struct Summary {
    /// Bytes read.
    pub bytes: u64,
    /// Physical lines.
    pub lines: u64,
    /// Records started.
    pub records: u64,
    /// The format unprefixed lines were presumed to be.
    pub presumed: Option<Format>,
}

/// Parses everything `src` holds, named `file` (its name and first lines
/// decide the format of unprefixed lines unless `hint` is given), giving
/// each entry to `sink`. Memory: one chunk plus the longest line.
pub fn parse_reader<R: Read>(
    src: R,
    file: &str,
    hint: Option<Format>,
    mut sink: impl FnMut(&Entry<'_>),
) -> io::Result<Summary> {
    let mut feed = Feed::new(file, hint, &mut sink);
    let bytes = reader::for_each_line(src, reader::MAX_LINE, &mut feed)?;
    feed.finish();
    Ok(summary(bytes, feed.parser.as_ref()))
}

/// Feeds the reader's lines to a parser made once the first chunk is seen.
struct Feed<'f, F> {
    file: &'f str,
    hint: Option<Format>,
    parser: Option<Parser>,
    sink: F,
}

impl<'f, F: FnMut(&Entry<'_>)> Feed<'f, F> {
    fn new(file: &'f str, hint: Option<Format>, sink: F) -> Self {
        Feed {
            file,
            hint,
            parser: None,
            sink,
        }
    }

    /// The end of the input (a line a soft break left open).
    fn finish(&mut self) {
        if let Some(p) = self.parser.as_mut() {
            p.finish(&mut self.sink);
        }
    }
}

impl<F: FnMut(&Entry<'_>)> reader::LineSink for Feed<'_, F> {
    fn first(&mut self, chunk: &[u8]) {
        let f = self
            .hint
            .unwrap_or_else(|| parser::presume(self.file, chunk));
        self.parser = Some(Parser::new(self.file, f));
    }
    fn line(&mut self, line: reader::RawLine<'_>) {
        if let Some(p) = self.parser.as_mut() {
            p.push(line, &mut self.sink);
        }
    }
}

fn summary(bytes: u64, p: Option<&Parser>) -> Summary {
    Summary {
        bytes,
        lines: p.map_or(0, Parser::lines),
        records: p.map_or(0, Parser::records),
        presumed: p.map(Parser::hint),
    }
}

/// Parses an in-memory text.
pub fn parse_bytes(
    text: &[u8],
    file: &str,
    hint: Option<Format>,
    mut sink: impl FnMut(&Entry<'_>),
) -> Summary {
    let head = &text[..text.len().min(64 << 10)];
    let f = hint.unwrap_or_else(|| parser::presume(file, &head[reader::bom_len(head)..]));
    let mut p = Parser::new(file, f);
    reader::lines_of(text, |line| p.push(line, &mut sink));
    p.finish(&mut sink);
    summary(text.len() as u64, Some(&p))
}

/// Parses a file, mapping it in windows (what `xsh logs stats` and the
/// benchmark use); otherwise as [`parse_reader`].
pub fn parse_file(
    file: &std::fs::File,
    name: &str,
    hint: Option<Format>,
    sink: impl FnMut(&Entry<'_>),
) -> io::Result<Summary> {
    let mut feed = Feed::new(name, hint, sink);
    let bytes = reader::for_each_line_mapped(file, reader::MAX_LINE, &mut feed)?;
    feed.finish();
    Ok(summary(bytes, feed.parser.as_ref()))
}

/// The records of an in-memory text.
pub fn records_of(text: &[u8], file: &str, hint: Option<Format>) -> Vec<Record> {
    let mut c = Collector::default();
    parse_bytes(text, file, hint, |e| c.push(e));
    c.finish()
}
