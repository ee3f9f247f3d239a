//! Entries assembled into whole records: a xend record with its traceback,
//! a call trace with its frames. What explain, diff and scripts work on;
//! unlike the entry stream, this keeps text, so it is for logs of ordinary
//! size.

use crate::damage::Damage;
use crate::format::{Format, Kind, Level};
use crate::parser::{Entry, Join};

/// One line of a record as the host wrote it: a physical line, with the
/// lines a mailer's wrap, a quoted-printable soft break or the reader's cut
/// of an overlong line split off it joined back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecLine {
    /// Physical line number (of its first part).
    pub line: u64,
    /// The physical line it ends on.
    pub last: u64,
    /// File offset.
    pub offset: u64,
    /// What the line is.
    pub kind: Kind,
    /// How it joins the line before.
    pub join: Join,
    /// A frame's symbol.
    pub func: Option<String>,
    /// The line's message (repaired; invalid UTF-8 replaced).
    pub text: String,
}

/// A record: its header fields and its lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// File.
    pub file: String,
    /// Format.
    pub format: Format,
    /// The kind of its first line.
    pub kind: Kind,
    /// Record number (0 for lines outside records).
    pub number: u64,
    /// Time as written.
    pub time: Option<String>,
    /// Pid.
    pub pid: Option<u32>,
    /// Thread.
    pub thread: Option<String>,
    /// Logger or program.
    pub logger: Option<String>,
    /// Host.
    pub host: Option<String>,
    /// Level.
    pub level: Option<Level>,
    /// Module, subsystem, program, or source file.
    pub module: Option<String>,
    /// Source line.
    pub lineno: Option<u32>,
    /// Function.
    pub func: Option<String>,
    /// Lines, first to last.
    pub lines: Vec<RecLine>,
    /// Damage on any of its lines.
    pub damage: Vec<Damage>,
}

impl Record {
    /// The first physical line.
    pub fn line(&self) -> u64 {
        self.lines.first().map_or(0, |l| l.line)
    }

    /// The message of the first line.
    pub fn head(&self) -> &str {
        self.lines.first().map_or("", |l| l.text.as_str())
    }

    /// The record's time, read (`time.rs`).
    pub fn when(&self) -> Option<crate::time::When> {
        crate::time::parse(self.time.as_deref()?.as_bytes())
    }

    /// The domain the record is about: a guest's `(d8)` on the Xen
    /// console, else the first domid its first line names
    /// (`events::domid_of`).
    pub fn domid(&self) -> Option<u32> {
        let guest = self.module.as_deref().and_then(|m| m.strip_prefix('d'));
        if self.format == Format::XenConsole {
            if let Some(n) = guest.and_then(|d| d.parse().ok()) {
                return Some(n);
            }
        }
        crate::events::domid_of(self.head())
    }

    /// The physical line the record ends on.
    pub fn last_line(&self) -> u64 {
        self.lines.last().map_or(0, |l| l.last)
    }

    /// The whole message: its lines (each with its wrapped or soft-broken
    /// parts joined back) separated by newlines.
    pub fn message(&self) -> String {
        let mut s = String::new();
        for (i, l) in self.lines.iter().enumerate() {
            if i > 0 {
                s.push('\n');
            }
            s.push_str(&l.text);
        }
        s
    }
}

/// Joins a part split off a line back onto it, the way it was split: a
/// space where a mailer wrapped (none if the line before was all head),
/// nothing (and no `=`) at a quoted-printable soft break, nothing between
/// the pieces of an overlong line.
fn rejoin(l: &mut RecLine, join: Join, part: &RecLine) {
    match join {
        Join::Space => {
            if !l.text.is_empty() && !l.text.ends_with(char::is_whitespace) {
                l.text.push(' ');
            }
        }
        Join::SoftBreak => {
            if l.text.ends_with('=') {
                l.text.pop();
            }
        }
        Join::Start | Join::Newline | Join::Piece => {}
    }
    l.text.push_str(&part.text);
    l.last = part.line;
    // A frame whose symbol the mailer moved to the next line
    // (`[<ffff82d08020ddde>]` / `domain.c#__domain_finalise_shutdown+0x5e/0xa0`):
    // the symbol is read from the line made whole.
    if l.kind == Kind::Frame && l.func.is_none() {
        let h = crate::line::scan(l.text.as_bytes(), &mut crate::lexer::NoTokens);
        l.func = h.fields.func.map(lossy);
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Builds records from entries.
#[derive(Default)]
pub struct Collector {
    cur: Option<Record>,
    done: Vec<Record>,
}

impl Collector {
    /// Takes one entry.
    pub fn push(&mut self, e: &Entry<'_>) {
        let line = RecLine {
            line: e.line,
            last: e.line,
            offset: e.offset,
            kind: e.kind,
            join: e.join,
            func: e.func.map(lossy),
            text: String::from_utf8_lossy(e.message).into_owned(),
        };
        match (&mut self.cur, e.continuation) {
            (Some(r), true) => {
                match (e.join, r.lines.last_mut()) {
                    (Join::Space | Join::SoftBreak | Join::Piece, Some(l)) => {
                        rejoin(l, e.join, &line)
                    }
                    _ => r.lines.push(line),
                }
                r.damage.extend_from_slice(e.damage);
            }
            _ => {
                if let Some(r) = self.cur.take() {
                    self.done.push(r);
                }
                let f = &e.fields;
                self.cur = Some(Record {
                    file: e.file.to_string(),
                    format: e.format,
                    kind: e.kind,
                    number: e.record,
                    time: f.time.map(lossy),
                    pid: f.pid,
                    thread: f.thread.map(lossy),
                    logger: f.logger.map(lossy),
                    host: f.host.map(lossy),
                    level: f.level,
                    module: f.module.map(lossy),
                    lineno: f.lineno,
                    func: f.func.or(e.func).map(lossy),
                    lines: vec![line],
                    damage: e.damage.to_vec(),
                });
            }
        }
    }

    /// The records completed so far (all but the one still open), taken
    /// out: a caller that drains after every push holds one record at a
    /// time, whatever the file's size.
    pub fn drain(&mut self) -> std::vec::Drain<'_, Record> {
        self.done.drain(..)
    }

    /// The records, in file order.
    pub fn finish(mut self) -> Vec<Record> {
        if let Some(r) = self.cur.take() {
            self.done.push(r);
        }
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drained_records_are_the_finished_records_one_at_a_time() {
        let text = b"[2019-06-05 09:23:27 2164] ERROR (XendDomainInfo:1) a\nTraceback (most recent call last):\n  File \"x.py\", line 1, in f\n[2019-06-05 09:23:28 2164] DEBUG (XendDomainInfo:2) b\n[2019-06-05 09:23:29 2164] DEBUG (XendDomainInfo:3) c\n";
        let whole = crate::records_of(text, "x.log", None);
        let mut col = Collector::default();
        let mut got = Vec::new();
        let mut held = 0;
        crate::parse_bytes(text, "x.log", None, |e| {
            col.push(e);
            got.extend(col.drain());
            held = held.max(col.done.len() + usize::from(col.cur.is_some()));
        });
        got.extend(col.finish());
        assert_eq!(held, 1, "one record held at a time");
        assert_eq!(got.len(), whole.len());
        for (a, b) in got.iter().zip(&whole) {
            assert_eq!(a.lines.len(), b.lines.len());
            assert_eq!(a.message(), b.message());
        }
    }
}
