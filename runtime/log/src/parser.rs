//! The parser: lines in, entries out. It adds what one line cannot know by
//! itself — which record a line belongs to (a traceback continues the xend
//! record above it, a frame continues its call trace), whether an
//! unprefixed line is a continuation or the tail of a mailer's wrap, and
//! whether a `=` at the end of the line before was a soft line break — and
//! it reports damage with its span and goes on.
//!
//! It holds one record's header fields and nothing else, so memory does not
//! grow with the input.

use crate::damage::{self, BodyScan, Damage, DamageKind};
use crate::entry::Current;
pub use crate::entry::{Entry, Fields, Join};
use crate::format::{Format, Kind};
use crate::lexer::{NoTokens, Tok};
use crate::line::{self, Head};
use crate::reader::RawLine;
use logos::Logos;

/// What follows a segment on the same physical line (offsets relative to
/// the segment).
enum Next {
    /// A second record glued to it, from here.
    Glued(usize),
    /// The next line of the log, after a quoted-printable line end.
    Line(usize),
}

/// Reads a file's lines into entries.
pub struct Parser {
    file: String,
    hint: Format,
    line_no: u64,
    records: u64,
    cur: Current,
    dump_open: bool,
    dump_frames: bool,
    /// A panic's footer (its stars, `Panic on CPU N:`) has begun.
    dump_footer: bool,
    in_traceback: bool,
    /// A line of the open record was the tail of a mailer's wrap: the
    /// mailer re-filled the record's text, so a line after it that looks
    /// wrapped is a wrap too, whatever it starts with.
    refilled: bool,
    prev_len: usize,
    prev_prefixed: bool,
    prev_eq_at: Option<u64>,
    damage: Vec<Damage>,
    scan: BodyScan,
    repaired: Vec<u8>,
    /// The start of a log line that a quoted-printable body broke with a
    /// soft line break (its `=` dropped), and its file offset: it is read
    /// together with the next physical line, which holds the rest.
    carry: Vec<u8>,
    carry_off: u64,
    /// A quoted-printable line end (`=0A`) has been seen: the file is such
    /// a body, where a `=` that ends a physical line is always a soft break.
    qp_lines: bool,
    /// A line was read one way because `qp_lines` was false, and would have
    /// been read the other way were it true: a part of a file read on its
    /// own (split.rs) must be read again if the parts before it had seen a
    /// `=0A`.
    qp_decided: bool,
}

impl Parser {
    /// A parser for `file`, whose unprefixed lines are presumed to be `hint`'s.
    pub fn new(file: &str, hint: Format) -> Parser {
        Parser {
            file: file.to_string(),
            hint,
            line_no: 0,
            records: 0,
            cur: Current::default(),
            dump_open: false,
            dump_frames: false,
            dump_footer: false,
            in_traceback: false,
            refilled: false,
            prev_len: 0,
            prev_prefixed: false,
            prev_eq_at: None,
            damage: Vec::new(),
            scan: BodyScan::default(),
            repaired: Vec::new(),
            carry: Vec::new(),
            carry_off: 0,
            qp_lines: false,
            qp_decided: false,
        }
    }

    /// Reads on as a parser that has seen a quoted-printable line end
    /// (`=0A`) before: for a part of a file whose earlier parts had one.
    pub fn after_qp_lines(&mut self) {
        self.qp_lines = true;
    }

    /// Has a quoted-printable line end been seen (or assumed)?
    pub fn qp_lines(&self) -> bool {
        self.qp_lines
    }

    /// Did a line's reading turn on not having seen a quoted-printable
    /// line end yet? (See `after_qp_lines`.)
    pub fn qp_decided(&self) -> bool {
        self.qp_decided
    }

    /// Physical lines read so far.
    pub fn lines(&self) -> u64 {
        self.line_no
    }

    /// Records started so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Parses one line, giving each entry it holds to `sink`.
    pub fn push<F: FnMut(&Entry<'_>)>(&mut self, raw: RawLine<'_>, sink: &mut F) {
        if self.carry.is_empty() || raw.continues {
            self.line_no += u64::from(!raw.continues);
            return self.push_line(raw, None, sink);
        }
        self.push_joined(raw, sink);
    }

    /// The end of the input: a line start still waiting for the rest a
    /// soft line break promised (the copy was cut there) is read as it is.
    pub fn finish<F: FnMut(&Entry<'_>)>(&mut self, sink: &mut F) {
        if self.carry.is_empty() {
            return;
        }
        let carry = std::mem::take(&mut self.carry);
        let raw = RawLine {
            bytes: &carry,
            offset: self.carry_off,
            overlong: false,
            continues: false,
            prev: &[],
        };
        self.push_line(raw, None, sink);
        self.cur.materialize(&carry);
    }

    /// A quoted-printable body encoded from the file's bytes (its line ends
    /// written `=0A`) is cut every 76 columns wherever that falls, inside a
    /// line's prefix too (`…=0A(XEN=` / `) [2023-03-14 …`): the line start
    /// carried from the physical line before is read with this physical
    /// line as one line, as the decoder would give it. Entries and damage
    /// keep file offsets and line numbers: what lies past the join is
    /// shifted back over the `=` and the line end.
    fn push_joined<F: FnMut(&Entry<'_>)>(&mut self, raw: RawLine<'_>, sink: &mut F) {
        let mut joined = std::mem::take(&mut self.carry);
        let start = self.carry_off;
        let eq = start + joined.len() as u64;
        let gap = raw.offset.saturating_sub(eq);
        let bytes = raw.bytes.strip_suffix(b"\r").unwrap_or(raw.bytes);
        joined.extend_from_slice(bytes);
        let soft = Damage {
            kind: DamageKind::SoftBreak,
            start: eq,
            end: eq + 1,
            note: "quoted-printable soft line break",
        };
        // A start at or past the join, an end past it, lies in the
        // physical line after the `=`.
        let shift = |o: u64| if o >= eq { o + gap } else { o };
        let shift_end = |o: u64| if o > eq { o + gap } else { o };
        let physical = self.line_no + 1;
        let mut fixed: Vec<Damage> = Vec::new();
        let mut wrap = |e: &Entry<'_>| {
            fixed.clear();
            fixed.extend(e.damage.iter().map(|d| match d.kind {
                DamageKind::SoftBreak if d.start == eq => d.clone(),
                _ => Damage {
                    start: shift(d.start),
                    end: shift_end(d.end),
                    ..d.clone()
                },
            }));
            let line = if e.offset >= eq { physical } else { e.line };
            sink(&Entry {
                line,
                offset: shift(e.offset),
                damage: &fixed,
                raw_offset: start,
                ..*e
            });
        };
        let line = RawLine {
            bytes: &joined,
            offset: start,
            overlong: false,
            continues: false,
            prev: raw.prev,
        };
        self.push_line(line, Some(soft), &mut wrap);
        self.line_no = physical;
        // The record's head lies in `joined`, which the next line's `prev`
        // is not.
        self.cur.materialize(&joined);
        if !self.carry.is_empty() {
            self.carry_off = shift(self.carry_off);
        }
    }

    fn push_line<F: FnMut(&Entry<'_>)>(
        &mut self,
        raw: RawLine<'_>,
        lead: Option<Damage>,
        sink: &mut F,
    ) {
        let mut bytes = raw.bytes;
        if let Some(b) = bytes.strip_suffix(b"\r") {
            bytes = b;
        }
        self.damage.clear();
        self.damage.extend(lead);
        if raw.overlong {
            self.damage.push(Damage {
                kind: DamageKind::Overlong,
                start: raw.offset,
                end: raw.offset + bytes.len() as u64,
                note: "line longer than the reader keeps; cut",
            });
        }
        if raw.continues {
            self.cur.materialize(raw.prev);
            return self.emit_piece(bytes, raw.offset, sink);
        }
        if !raw.overlong && bytes.first() == Some(&b'[') && self.xend_line(bytes, raw.offset, sink)
        {
            return;
        }
        let mut at = 0usize;
        // `>` (a mail quote) or `[` and a letter or `/` (a forum tag); a
        // `[` and a digit is a stamp, the common case.
        let markup = match bytes.first() {
            Some(b'>') => true,
            Some(b'[') => bytes
                .get(1)
                .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'/' || b == b'*'),
            _ => false,
        };
        if markup {
            at = damage::leading_markup(bytes, raw.offset, &mut self.damage);
        }
        at += self.leading_binary(bytes, at, raw.offset);
        let mut glued = false;
        loop {
            let seg = bytes.get(at..).unwrap_or_default();
            let seg_off = raw.offset + at as u64;
            let whole = (bytes, raw.offset, raw.prev);
            match self.segment(seg, seg_off, glued, whole, sink) {
                Some(Next::Line(next)) => {
                    // A quoted-printable line end: the rest is the next
                    // line, placed as if it had a line of its own; a lone
                    // `=` after it is the encoder's soft break, joining
                    // nothing.
                    at += next;
                    glued = false;
                    self.qp_lines = true;
                    self.damage.clear();
                    self.prev_len = 0;
                    let rest = bytes.get(at..).unwrap_or_default();
                    if rest.is_empty() || rest == b"=" {
                        self.prev_eq_at = None;
                        break;
                    }
                    // Inside a body whose line ends are encoded, a `=`
                    // is written `=3D`: one that ends the physical line
                    // is a soft break, and the line it cut (the last of
                    // this physical line's) goes on in the next one.
                    let last = memchr::memmem::find(rest, b"=0A").is_none();
                    if let Some(start) = rest.strip_suffix(b"=").filter(|_| last) {
                        self.carry.extend_from_slice(start);
                        self.carry_off = raw.offset + at as u64;
                        self.prev_eq_at = None;
                        break;
                    }
                }
                Some(Next::Glued(next)) => {
                    at += next;
                    glued = true;
                    self.damage.clear();
                    let end = (at + 20).min(bytes.len());
                    self.damage.push(Damage {
                        kind: DamageKind::Glued,
                        start: raw.offset + at as u64,
                        end: raw.offset + end as u64,
                        note: "a second record glued to the end of the one before",
                    });
                }
                None => break,
            }
        }
    }

    /// The common line of a xend.log, on a short path: the canonical head
    /// (one token), a message without a glued record. Returns false, having
    /// emitted nothing, for any other line; `segment` then reads it.
    fn xend_line<F: FnMut(&Entry<'_>)>(&mut self, bytes: &[u8], off: u64, sink: &mut F) -> bool {
        let mut lex = Tok::lexer(bytes);
        if !matches!(lex.next(), Some(Ok(Tok::XendHead))) {
            return false;
        }
        let end = lex.span().end;
        let body = bytes.get(end..).unwrap_or_default();
        let body_off = off + end as u64;
        // A soft break's damage, when this line was joined to the one
        // before: it stays, whichever path reads the line.
        let lead = self.damage.len();
        self.scan.clear();
        damage::scan_body(
            Format::Xend,
            body,
            body_off,
            &mut self.damage,
            &mut self.scan,
        );
        if self.scan.glue_at.is_some() || self.scan.break_at.is_some() {
            self.damage.truncate(lead);
            return false;
        }
        let mut head = Head::default();
        line::xend_head(bytes.get(..end).unwrap_or_default(), &mut head);
        head.body = end;
        self.prev_eq_at = self
            .scan
            .trailing_eq
            .then(|| body_off + body.len() as u64 - 1);
        self.start_record(&head, bytes, 0, Format::Xend, Kind::Record);
        self.in_traceback =
            body.starts_with(b"  File \"") || body.starts_with(b"Traceback (most recent");
        let message: &[u8] = if self.scan.edits.is_empty() {
            body
        } else {
            damage::repair(body, &self.scan.edits, &mut self.repaired);
            &self.repaired
        };
        sink(&Entry {
            file: &self.file,
            format: Format::Xend,
            kind: Kind::Record,
            line: self.line_no,
            offset: off,
            record: self.records,
            continuation: false,
            join: Join::Start,
            fields: head.fields,
            func: None,
            message,
            damage: &self.damage,
            raw: bytes,
            raw_offset: off,
        });
        self.prev_len = bytes.len();
        self.prev_prefixed = true;
        true
    }

    /// NUL runs and other binary garbage in front of a line (a log file
    /// preallocated, then cut by a crash): skipped and reported.
    #[inline]
    fn leading_binary(&mut self, bytes: &[u8], at: usize, base: u64) -> usize {
        let rest = bytes.get(at..).unwrap_or_default();
        if rest.first().is_none_or(|&b| b >= 0x20 && b != 0x7f) {
            return 0;
        }
        let n = rest
            .iter()
            .take_while(|&&b| (b < 0x20 && b != b'\t') || b == 0x7f)
            .count();
        if n > 0 {
            self.damage.push(Damage {
                kind: DamageKind::Binary,
                start: base + at as u64,
                end: base + (at + n) as u64,
                note: "binary bytes",
            });
        }
        n
    }

    /// Parses one segment (a line, or the part of it after a glue point);
    /// returns where a glued record starts, relative to the segment.
    fn segment<F: FnMut(&Entry<'_>)>(
        &mut self,
        seg: &[u8],
        off: u64,
        glued: bool,
        (raw, raw_offset, prev): (&[u8], u64, &[u8]),
        sink: &mut F,
    ) -> Option<Next> {
        let quick = self.hint == Format::Xend
            && self.cur.open
            && !matches!(seg.first(), Some(b'[' | b'(' | b'<' | b'-') | None);
        let head = if !quick {
            line::scan(seg, &mut NoTokens)
        } else if line::may_open_record(seg) {
            // A `libxl:` line or a syslog stamp after a multi-line xend
            // record (logs concatenated, or xend's stderr beside libxl's)
            // starts its own record; any other text continues the record.
            let h = line::scan(seg, &mut NoTokens);
            if h.format.is_some() {
                h
            } else {
                line::scan_continuation(seg)
            }
        } else {
            line::scan_continuation(seg)
        };
        let markup_only =
            seg.is_empty() && self.damage.iter().any(|d| d.kind == DamageKind::BbCode);
        let (format, kind, continuation, join) = if markup_only {
            (
                self.cur.format.unwrap_or(self.hint),
                Kind::Markup,
                false,
                Join::Start,
            )
        } else {
            self.place(&head, seg, off, glued)
        };
        let body = seg.get(head.body..).unwrap_or_default();
        let body_off = off + head.body as u64;
        if let Some(b) = head.bad {
            let end = seg.len().min(b.at + 16).max(b.at);
            self.damage.push(Damage {
                kind: DamageKind::BadHeader,
                start: off + b.at as u64,
                end: off + end as u64,
                note: b.expected,
            });
        }
        self.scan.clear();
        damage::scan_body(format, body, body_off, &mut self.damage, &mut self.scan);
        let glue = self.scan.glue_at;
        let brk = self.scan.break_at;
        let body = match (glue, brk) {
            (Some(g), _) => body.get(..g).unwrap_or(body),
            (None, Some((b, _))) => body.get(..b).unwrap_or(body),
            (None, None) => body,
        };
        self.prev_eq_at = (self.scan.trailing_eq && glue.is_none() && brk.is_none())
            .then(|| body_off + body.len() as u64 - 1);
        if continuation || matches!(kind, Kind::Blank | Kind::Markup) {
            // This line keeps the record open: its head must outlive the
            // line it is in.
            self.cur.materialize(prev);
        }
        if !continuation {
            let seg_at = (off - raw_offset) as usize;
            self.start_record(&head, seg, seg_at, format, kind);
            // `log.info(traceback.format_stack())` and `log.exception`: the
            // lines after this one are a traceback's.
            if format == Format::Xend
                && (body.starts_with(b"  File \"") || body.starts_with(b"Traceback (most recent"))
            {
                self.in_traceback = true;
            }
        }
        if kind == Kind::Frame && head.fields.func.is_some() {
            self.dump_frames = true;
        }
        let message: &[u8] = if self.scan.edits.is_empty() {
            body
        } else {
            damage::repair(body, &self.scan.edits, &mut self.repaired);
            &self.repaired
        };
        let own = !continuation && self.cur.open;
        let entry = Entry {
            file: &self.file,
            format,
            kind,
            line: self.line_no,
            offset: off,
            record: if self.cur.open { self.records } else { 0 },
            continuation,
            join,
            fields: if own {
                head.fields
            } else if continuation {
                self.cur.fields()
            } else {
                Fields::default()
            },
            func: head.fields.func,
            message,
            damage: &self.damage,
            raw,
            raw_offset,
        };
        sink(&entry);
        self.prev_len = raw.len();
        self.prev_prefixed = head.format.is_some() || (continuation && self.prev_prefixed);
        match (glue, brk) {
            (Some(g), _) => Some(Next::Glued(head.body + g)),
            (None, Some((b, n))) => Some(Next::Line(head.body + b + n)),
            (None, None) => None,
        }
    }

    /// Decides a segment's format, kind, and whether it continues the record
    /// above (and how).
    fn place(
        &mut self,
        h: &Head<'_>,
        seg: &[u8],
        off: u64,
        glued: bool,
    ) -> (Format, Kind, bool, Join) {
        let kind = h.kind.unwrap_or(Kind::Record);
        let cur_fmt = self.cur.format.filter(|_| self.cur.open);
        if let Some(f) = h.format {
            self.prev_eq_at = None;
            let same = cur_fmt == Some(f);
            let dumpish = kind.in_dump() || kind == Kind::Blank;
            // A second trace, or the banner of a second crash, after a
            // trace's frames starts a dump of its own.
            // (A panic's footer repeats its banner: `Panic on CPU 0:` then
            // `Xen BUG at domain.c:658` still close the first dump.)
            let next_dump = self.dump_frames
                && (kind == Kind::CallTrace
                    || (!self.dump_footer
                        && h.opens_dump
                        && crate::body::is_crash_banner(seg.get(h.body..))));
            let continues_dump = same && self.dump_open && dumpish && !next_dump;
            if continues_dump && !glued {
                self.dump_footer |=
                    kind == Kind::Panic && !crate::body::is_crash_banner(seg.get(h.body..));
                return (f, kind, true, Join::Newline);
            }
            self.in_traceback = false;
            return (f, kind, false, Join::Start);
        }
        // Unprefixed text.
        let home = match self.hint {
            Format::Unknown => cur_fmt.unwrap_or(Format::Unknown),
            f => f,
        };
        if let Some(eq) = self.prev_eq_at.take() {
            // In a body whose line ends are encoded, whatever the next
            // line looks like (a register dump's indented `  cs: 0010`).
            self.qp_decided |= self.cur.open && kind != Kind::Record && !self.qp_lines;
            if self.cur.open && (kind == Kind::Record || self.qp_lines) {
                self.damage.push(Damage {
                    kind: DamageKind::SoftBreak,
                    start: eq,
                    end: eq + 1,
                    note: "quoted-printable soft line break",
                });
                return (
                    cur_fmt.unwrap_or(home),
                    Kind::Continuation,
                    true,
                    Join::SoftBreak,
                );
            }
        }
        let indent = seg.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
        // Every line of the Xen console has its prefix: any unprefixed line
        // there may be a wrap's tail, whatever it looks like.
        let textual = kind == Kind::Record || cur_fmt == Some(Format::XenConsole);
        if self.cur.open && textual && self.prev_prefixed && looks_wrapped(self.prev_len, seg) {
            // A dict's or an SXP's `'`/`[` at the start of a line is one
            // of xend's own multi-line messages, unless the mailer has
            // been re-filling this record.
            let xend_ok = cur_fmt == Some(Format::Xend)
                && !self.refilled
                && plausible_continuation(seg, self.in_traceback);
            // In an xl log, a libxl line's tail unless it is one of xl's
            // own unprefixed messages.
            let xl_own = home == Format::Xl
                && (cur_fmt != Some(Format::Xl) || crate::body::is_xl_phrase(seg));
            if !xend_ok && home != Format::QemuDm && !xl_own {
                self.damage.push(Damage {
                    kind: DamageKind::Wrapped,
                    start: off,
                    end: off + seg.len() as u64,
                    note: "the tail of the line above, wrapped by a mailer",
                });
                self.refilled = true;
                return (
                    cur_fmt.unwrap_or(home),
                    Kind::Continuation,
                    true,
                    Join::Space,
                );
            }
        }
        match kind {
            Kind::Traceback => {
                self.in_traceback = true;
                return self.continue_or_orphan(home, Kind::Traceback);
            }
            Kind::Blank if self.cur.open && (cur_fmt == Some(Format::Xend) || self.dump_open) => {
                return (cur_fmt.unwrap_or(home), Kind::Blank, true, Join::Newline);
            }
            Kind::Blank => return (home, Kind::Blank, false, Join::Start),
            Kind::Status if home == Format::Xend => {
                return self.continue_or_orphan(home, Kind::Continuation)
            }
            Kind::Status => return (Format::LinuxConsole, Kind::Status, false, Join::Start),
            _ => {}
        }
        if kind.in_dump() {
            if self.dump_open && self.cur.open && !(kind == Kind::CallTrace && self.dump_frames) {
                return (cur_fmt.unwrap_or(home), kind, true, Join::Newline);
            }
            return (dump_home(home, cur_fmt), kind, false, Join::Start);
        }
        match home {
            Format::Xend => {
                let k = if self.in_traceback && (indent > 0 || is_exception_line(seg, false)) {
                    if indent == 0 {
                        self.in_traceback = false;
                    }
                    Kind::Traceback
                } else {
                    Kind::Continuation
                };
                self.continue_or_orphan(home, k)
            }
            Format::QemuDm | Format::Xl | Format::LinuxConsole => {
                (home, Kind::Record, false, Join::Start)
            }
            _ => (Format::Unknown, Kind::Unparsed, false, Join::Start),
        }
    }

    fn continue_or_orphan(&mut self, home: Format, kind: Kind) -> (Format, Kind, bool, Join) {
        if self.cur.open {
            (self.cur.format.unwrap_or(home), kind, true, Join::Newline)
        } else {
            (home, Kind::Unparsed, false, Join::Start)
        }
    }

    fn start_record(
        &mut self,
        h: &Head<'_>,
        seg: &[u8],
        seg_at: usize,
        format: Format,
        kind: Kind,
    ) {
        if matches!(kind, Kind::Blank | Kind::Markup | Kind::Unparsed) {
            if kind == Kind::Unparsed {
                self.cur.open = false;
            }
            return;
        }
        self.records += 1;
        // A frame's symbol lies in the message; every other field in the head.
        let end = match h.fields.func {
            Some(f) => (f.as_ptr() as usize + f.len()).saturating_sub(seg.as_ptr() as usize),
            None => h.body,
        };
        self.cur
            .open(seg, seg_at, end.max(h.body), format, &h.fields);
        self.dump_open = h.opens_dump || kind.in_dump();
        self.dump_frames = false;
        self.dump_footer = false;
        self.in_traceback = false;
        self.refilled = false;
    }

    /// The next piece of an overlong line: the same record, joined directly.
    fn emit_piece<F: FnMut(&Entry<'_>)>(&mut self, bytes: &[u8], off: u64, sink: &mut F) {
        let entry = Entry {
            file: &self.file,
            format: self.cur.format.unwrap_or(self.hint),
            kind: Kind::Continuation,
            line: self.line_no,
            offset: off,
            record: if self.cur.open { self.records } else { 0 },
            continuation: true,
            join: Join::Piece,
            fields: self.cur.fields(),
            func: None,
            message: bytes,
            damage: &self.damage,
            raw: bytes,
            raw_offset: off,
        };
        sink(&entry);
    }

    /// The format unprefixed lines are presumed to be.
    pub fn hint(&self) -> Format {
        self.hint
    }
}

/// Could `seg` be the tail of the line before it, wrapped by a mailer at
/// 72–80 columns? Only if the line before was no longer than that and the
/// first word of `seg` would not have fitted on it.
fn looks_wrapped(prev_len: usize, seg: &[u8]) -> bool {
    let first_word = seg.iter().take_while(|&&b| b != b' ').count();
    seg.first().is_some_and(|&b| b != b' ' && b != b'\t')
        && (20..=80).contains(&prev_len)
        && prev_len + 1 + first_word > 72
}

/// Lines that a multi-line xend message really has: indented text,
/// brackets of a dict or SXP dump, a traceback and its exception line.
fn plausible_continuation(seg: &[u8], in_traceback: bool) -> bool {
    match seg.first() {
        None => true,
        Some(b' ' | b'\t' | b'(' | b')' | b'{' | b'}' | b'[' | b']' | b'\'' | b'"' | b'<') => true,
        _ => seg.starts_with(b"Traceback") || is_exception_line(seg, !in_traceback),
    }
}

/// `VmError: Device 0 (vif) could not be connected.`, `Error: (3, 'No such process')`,
/// `KeyboardInterrupt`: a dotted name, then `: ` or the end of the line.
/// Outside a traceback (`strict`) the name must also look like an
/// exception class, or `XendDomainInfo.destroyDevice: deviceClass = vif`
/// (a wrapped message) would pass for one.
fn is_exception_line(seg: &[u8], strict: bool) -> bool {
    let name = seg
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_' || **b == b'.')
        .count();
    let shaped = name > 0
        && seg.first().is_some_and(u8::is_ascii_alphabetic)
        && (name == seg.len()
            || seg.get(name..name + 2) == Some(b": ")
            || seg.get(name..) == Some(b":"));
    if !shaped || !strict {
        return shaped;
    }
    let class = seg[..name]
        .rsplit(|&b| b == b'.')
        .next()
        .unwrap_or_default();
    const ENDS: &[&[u8]] = &[
        b"Error",
        b"Exception",
        b"Exit",
        b"Interrupt",
        b"Warning",
        b"Fault",
        b"Iteration",
    ];
    ENDS.iter().any(|e| class.ends_with(e)) || class.starts_with(b"Xend") && !class.contains(&b'.')
}

/// The format a dump without a prefix belongs to.
fn dump_home(home: Format, cur: Option<Format>) -> Format {
    match (home, cur) {
        (Format::Xend | Format::QemuDm | Format::Xl, _) => Format::LinuxConsole,
        (Format::Unknown, Some(f)) => f,
        (Format::Unknown, None) => Format::LinuxConsole,
        (f, _) => f,
    }
}

/// The format a file is presumed to be: what its name says, else what its
/// first lines are.
pub fn presume(file: &str, first_chunk: &[u8]) -> Format {
    if let Some(f) = Format::from_file_name(file) {
        return f;
    }
    let lines: Vec<&[u8]> = first_chunk.split(|&b| b == b'\n').take(64).collect();
    crate::format::sniff(&lines)
}

#[cfg(test)]
mod tests {
    /// A soft break inside a `(XEN)` prefix after a `=0A`: the line is read
    /// whole, its damage at the file's offsets; a line start the copy ends
    /// on (its soft break promised more) is still read.
    #[test]
    fn a_line_cut_inside_its_prefix_is_read_whole_and_the_last_is_kept() {
        let text = b"(XEN) [2023-03-14 11:02:20] CPU:    3=0A(XE=\nN) [2023-03-14 11:02:20] cr2: 0=0A(XEN) [2023-03-14 11:0=";
        let recs = crate::records_of(text, "xen.log.mail", None);
        let msgs: Vec<String> = recs.iter().map(|r| r.message()).collect();
        assert_eq!(msgs[0], "CPU:    3");
        assert!(msgs.iter().any(|m| m == "cr2: 0"), "{msgs:?}");
        let cr2 = recs.iter().find(|r| r.message() == "cr2: 0").unwrap();
        assert_eq!(cr2.line(), 1, "it starts on the first physical line");
        let soft: Vec<_> = cr2
            .damage
            .iter()
            .filter(|d| d.kind == crate::DamageKind::SoftBreak)
            .map(|d| (d.start, d.end))
            .collect();
        // The `=` after `(XE`, at byte 43.
        assert_eq!(text[43], b'=');
        assert_eq!(soft, vec![(43, 44)]);
        // The `=0A` after `cr2: 0` is at its place in the file.
        let qp = cr2
            .damage
            .iter()
            .find(|d| d.kind == crate::DamageKind::QuotedPrintable)
            .map(|d| (d.start, d.end));
        let at = text.windows(9).position(|w| w == b"cr2: 0=0A").unwrap() as u64 + 6;
        assert_eq!(qp, Some((at, at + 3)));
        // The copy ends inside a line: nothing of it is lost.
        let last = recs.last().unwrap();
        assert_eq!(last.line(), 2);
        assert!(last.message().ends_with("[2023-03-14 11:0"), "{msgs:?}");
    }
}
