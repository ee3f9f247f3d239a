//! The text forms the fixture tests in `tests/lexer-inputs/` compare byte
//! for byte: every token of every line's head, and every entry with its
//! fields and damage. One line of text per token or entry, so a change
//! shows as a readable diff.

use crate::lexer::{tokens, Tok};
use crate::report::printable;
use crate::Entry;

/// Each line's head tokens with their bytes, then its message (`Text`).
pub fn tokens_of(text: &[u8]) -> String {
    let mut out = String::new();
    let mut n = 0u64;
    crate::reader::lines_of(text, |l| {
        // The pieces of an overlong line share its number.
        n += u64::from(!l.continues);
        line_tokens(n, l.bytes, &mut out);
    });
    out
}

/// [`tokens_of`] of a file read in chunks (what `xsh logs tokens` prints):
/// `f` gets each line's text as it is made, so memory stays at a chunk and
/// the longest line.
pub fn token_lines<R: std::io::Read>(src: R, f: impl FnMut(&str)) -> std::io::Result<u64> {
    struct Sink<F> {
        n: u64,
        out: String,
        f: F,
    }
    impl<F: FnMut(&str)> crate::reader::LineSink for Sink<F> {
        fn first(&mut self, _: &[u8]) {}
        fn line(&mut self, l: crate::reader::RawLine<'_>) {
            self.n += u64::from(!l.continues);
            self.out.clear();
            line_tokens(self.n, l.bytes, &mut self.out);
            (self.f)(&self.out);
        }
    }
    let mut sink = Sink {
        n: 0,
        out: String::new(),
        f,
    };
    crate::reader::for_each_line(src, crate::reader::MAX_LINE, &mut sink)
}

fn line_tokens(n: u64, bytes: &[u8], out: &mut String) {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    if bytes.is_empty() {
        out.push_str(&format!("{n}: (empty)\n"));
    }
    for (tok, span) in tokens(bytes) {
        let name = tok.map_or("Text", Tok::name);
        let slice = bytes.get(span.clone()).unwrap_or_default();
        out.push_str(&format!(
            "{n}:{}..{} {name} {:?}\n",
            span.start,
            span.end,
            printable(slice)
        ));
    }
}

fn field(out: &mut String, key: &str, v: Option<&[u8]>) {
    if let Some(v) = v {
        out.push_str(&format!(" {key}={}", printable(v)));
    }
}

/// One entry as a snapshot line (and a line per damage).
pub fn entry_line(e: &Entry<'_>) -> String {
    let f = &e.fields;
    let mut s = format!(
        "{}{} {} {}{} rec={}",
        e.line,
        if e.continuation { "+" } else { "" },
        e.format.name(),
        e.kind.name(),
        match e.join {
            crate::Join::Space => " join=space",
            crate::Join::SoftBreak => " join=soft-break",
            crate::Join::Piece => " join=piece",
            _ => "",
        },
        e.record
    );
    field(&mut s, "time", f.time);
    if let Some(p) = f.pid {
        s.push_str(&format!(" pid={p}"));
    }
    if let Some(l) = f.level {
        s.push_str(&format!(" level={}", l.name()));
    }
    field(&mut s, "module", f.module);
    if let Some(n) = f.lineno {
        s.push_str(&format!(" lineno={n}"));
    }
    field(&mut s, "thread", f.thread);
    field(&mut s, "logger", f.logger);
    field(&mut s, "host", f.host);
    field(&mut s, "func", e.func.or(f.func));
    s.push_str(&format!(" | {}\n", printable(e.message)));
    for d in e.damage {
        s.push_str(&format!(
            "    ! {} {}..{} {}\n",
            d.kind.name(),
            d.start,
            d.end,
            d.note
        ));
    }
    s
}

/// Every entry of a text, parsed as the file `name`.
pub fn entries_of(text: &[u8], name: &str) -> String {
    let mut out = String::new();
    let sum = crate::parse_bytes(text, name, None, |e| out.push_str(&entry_line(e)));
    format!(
        "# {name}: presumed {}, {} lines, {} records\n{out}",
        sum.presumed.map_or("-", |f| f.name()),
        sum.lines,
        sum.records
    )
}
