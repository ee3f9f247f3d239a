//! One line's head, read without context: which format's prefix it has, the
//! fields in that prefix, and what kind of line its body is. The parser
//! (`parser.rs`) adds what needs the lines before it: records, dumps,
//! continuations and damage.

use crate::entry::Fields;
use crate::format::{Format, Kind, Level};
use logos::Logos;

use crate::body::body;
use crate::lexer::{Cursor, Tok, TokSink};

/// A header that started like a format's prefix but broke off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadHeader {
    /// Where the head stops being what the format writes (line-relative).
    pub at: usize,
    /// What was expected there.
    pub expected: &'static str,
}

/// The head of a line.
#[derive(Clone, Debug, Default)]
pub struct Head<'a> {
    /// The format its prefix belongs to; `None` for unprefixed text.
    pub format: Option<Format>,
    /// What the line is.
    pub kind: Option<Kind>,
    /// The header fields the prefix gave.
    pub fields: Fields<'a>,
    /// Where the message starts.
    pub body: usize,
    /// The prefix broke off here.
    pub bad: Option<BadHeader>,
    /// The line opens a dump (register dump, call trace, panic banner).
    pub opens_dump: bool,
    /// The message starts here rather than after the consumed head (a
    /// frame's or a traceback line's tokens are its content too).
    pub content: Option<usize>,
}

fn num(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 {
        return None;
    }
    b.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

/// A line of a xend.log that cannot start a record (it starts with none of
/// the bytes a prefix starts with): only whether it is a traceback's matters.
/// The parser takes this path for the continuation lines of xend records,
/// which is most of a big log's unprefixed lines.
pub fn scan_continuation(line: &[u8]) -> Head<'_> {
    let indent = line
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    let text = line.get(indent..).unwrap_or_default();
    let kind = if text.is_empty() {
        Kind::Blank
    } else if text.starts_with(b"Traceback (most recent call last):")
        || (indent > 0 && text.starts_with(b"File \""))
    {
        Kind::Traceback
    } else {
        Kind::Record
    };
    Head {
        kind: Some(kind),
        ..Head::default()
    }
}

/// Could `line`, which starts with none of `[`, `(`, `<`, `-`, open a
/// record of some format? Only a program tag (`libxl:`, `xc:`, `xl:`,
/// `xenstore:`), a syslog stamp (`Jun  5 09:23:27`) or an ISO stamp
/// (`2019-06-05T09:23:27`, xl's and journalctl's) can. A cheap test of the
/// first bytes: the continuation lines of xend records (indented frames,
/// dict lines, exception lines) almost never pass it, and those that do are
/// scanned in full.
#[inline]
pub fn may_open_record(line: &[u8]) -> bool {
    match line.first() {
        Some(b'l' | b'x') => {
            line.starts_with(b"libxl")
                || line.starts_with(b"xc:")
                || line.starts_with(b"xl:")
                || line.starts_with(b"xenstore:")
        }
        Some(b'0'..=b'9') => line.get(4) == Some(&b'-') && line.get(7) == Some(&b'-'),
        Some(b'A' | b'D' | b'F' | b'J' | b'M' | b'N' | b'O' | b'S') => {
            line.get(3) == Some(&b' ') && line.get(6) == Some(&b' ')
        }
        _ => false,
    }
}

/// Reads a line's head.
pub fn scan<'a, S: TokSink>(line: &'a [u8], sink: &mut S) -> Head<'a> {
    let mut h = Head::default();
    // Nearly every line of a xend.log: one token, no cursor.
    if line.first() == Some(&b'[') {
        let mut lex = Tok::lexer(line);
        if let Some(Ok(Tok::XendHead)) = lex.next() {
            let span = lex.span();
            xend_head(line.get(span.clone()).unwrap_or_default(), &mut h);
            h.body = span.end;
            sink.tok(Some(Tok::XendHead), span);
            if h.body < line.len() {
                sink.tok(None, h.body..line.len());
            }
            return h;
        }
    }
    if line.starts_with(b"-- ") && line.ends_with(b"--") {
        // journalctl: `-- Logs begin at ... --`, `-- Reboot --`.
        h.format = Some(Format::Journal);
        h.kind = Some(Kind::Marker);
        let c = Cursor::new(line, 0, sink);
        h.body = c.finish();
        return h;
    }
    let mut c = Cursor::new(line, 0, sink);
    match c.peek() {
        Some(Tok::XendHead) => {
            let head = c.eat(Tok::XendHead).unwrap_or_default();
            xend_head(head, &mut h);
        }
        Some(Tok::BracketStamp) => xend(&mut c, &mut h),
        Some(Tok::Open) => open_bracket(&mut c, &mut h, line),
        Some(Tok::XenPrefix) => xen(&mut c, &mut h, line),
        Some(Tok::GuestPrefix) => {
            let d = c.eat(Tok::GuestPrefix).unwrap_or_default();
            h.format = Some(Format::XenConsole);
            h.kind = Some(Kind::Record);
            h.fields.module = d.get(1..d.len().saturating_sub(1));
            skip_one_space(&mut c, line);
        }
        Some(Tok::KmsgLevel | Tok::Uptime) => kernel(&mut c, &mut h, line),
        Some(Tok::Status) => {
            let s = c.eat(Tok::Status).unwrap_or_default();
            h.format = Some(Format::LinuxConsole);
            h.kind = Some(Kind::Status);
            h.fields.level = Some(status_level(s));
            skip_one_space(&mut c, line);
        }
        Some(Tok::SyslogStamp) => journal(&mut c, &mut h, line, Tok::SyslogStamp),
        Some(Tok::IsoStamp) => journal(&mut c, &mut h, line, Tok::IsoStamp),
        Some(Tok::ProgTag) => xl(&mut c, &mut h, line),
        Some(Tok::Traceback) => {
            c.eat(Tok::Traceback);
            h.kind = Some(Kind::Traceback);
        }
        _ => body(&mut c, &mut h, line),
    }
    h.body = c.finish();
    if let Some(at) = h.content {
        h.body = at;
    }
    h
}

pub(crate) fn skip_one_space<S: TokSink>(c: &mut Cursor<'_, '_, S>, line: &[u8]) {
    if line.get(c.pos) == Some(&b' ') {
        c.seek(c.pos + 1);
    }
}

/// The fields of a canonical xend head (`Tok::XendHead`), read back from
/// its bytes: `[` time `␠` pid `] ` level ` (` module `:` line `) `. The
/// token's shape fixes where each field starts, so each is read in one pass.
pub(crate) fn xend_head<'a>(t: &'a [u8], h: &mut Head<'a>) {
    h.format = Some(Format::Xend);
    h.kind = Some(Kind::Record);
    h.fields.time = t.get(1..20);
    let (pid, close) = digits_at(t, 21);
    h.fields.pid = pid;
    // `] ` then the level, whose first letter says how long it is.
    let lv = close + 2;
    let (level, len) = match t.get(lv) {
        Some(b'D') => (Level::Debug, 5),
        Some(b'I') => (Level::Info, 4),
        Some(b'W') => (Level::Warning, 7),
        Some(b'E') => (Level::Error, 5),
        Some(b'C') => (Level::Critical, 8),
        _ => (Level::Trace, 5),
    };
    h.fields.level = Some(level);
    let m = lv + len + 2;
    let colon = t
        .get(m..)
        .and_then(|r| r.iter().position(|&b| b == b':'))
        .map_or(m, |i| m + i);
    h.fields.module = t.get(m..colon);
    h.fields.lineno = digits_at(t, colon + 1).0;
}

/// The decimal number starting at `at`, and where it ends.
fn digits_at(t: &[u8], at: usize) -> (Option<u32>, usize) {
    let mut n = 0u32;
    let mut i = at;
    while let Some(&c) = t.get(i) {
        if !c.is_ascii_digit() {
            break;
        }
        n = n.wrapping_mul(10).wrapping_add(u32::from(c - b'0'));
        i += 1;
    }
    ((i > at && i - at <= 9).then_some(n), i)
}

/// `[2019-06-05 09:23:27 2164] DEBUG (XendDomainInfo:568) msg` and its
/// relatives: `,123` milliseconds and a thread after the pid (vendor), a
/// logger name before the pid (Xen 3.x), a padded `(module:123  )`.
fn xend<'a, S: TokSink>(c: &mut Cursor<'a, '_, S>, h: &mut Head<'a>) {
    h.format = Some(Format::Xend);
    h.kind = Some(Kind::Record);
    let stamp = c.eat(Tok::BracketStamp).unwrap_or_default();
    h.fields.time = stamp.get(1..);
    let mut words: [Option<(Tok, &[u8])>; 3] = [None; 3];
    let mut n = 0;
    while n < 3 && c.spaces() > 0 {
        match c.peek() {
            Some(t @ (Tok::Int | Tok::Word | Tok::Level)) => {
                words[n] = c.bump().map(|(_, s)| (t, s));
                n += 1;
            }
            _ => break,
        }
    }
    let ids = match (words[0], words[1], words[2]) {
        (Some((Tok::Int, p)), t, None) => Some((None, p, t)),
        (Some((_, l)), Some((Tok::Int, p)), t) => Some((Some(l), p, t)),
        _ => None,
    };
    let Some((logger, pid, thread)) = ids else {
        return bad(h, c.pos, "a pid after the time");
    };
    h.fields.logger = logger;
    h.fields.pid = num(pid);
    h.fields.thread = thread.map(|(_, t)| t);
    if c.eat(Tok::Close).is_none() {
        return bad(h, c.pos, "`]` after the pid");
    }
    level_and_where(c, h);
}

fn bad(h: &mut Head<'_>, at: usize, expected: &'static str) {
    h.bad = Some(BadHeader { at, expected });
}

/// ` LEVEL (module:line) ` after xend's bracket.
fn level_and_where<'a, S: TokSink>(c: &mut Cursor<'a, '_, S>, h: &mut Head<'a>) {
    if c.spaces() == 0 {
        return bad(h, c.pos, "a space before the level");
    }
    let Some(level) = c.eat(Tok::Level) else {
        return bad(h, c.pos, "a level (DEBUG, INFO, WARNING, ERROR)");
    };
    h.fields.level = Level::from_python(level);
    if c.spaces() == 0 {
        return bad(h, c.pos, "a space after the level");
    }
    let Some(w) = c.eat(Tok::Where) else {
        return bad(h, c.pos, "`(module:line)`");
    };
    let inner = w.get(1..w.len().saturating_sub(1)).unwrap_or_default();
    let colon = inner.iter().rposition(|&b| b == b':').unwrap_or(0);
    h.fields.module = inner.get(..colon);
    let digits = inner.get(colon + 1..).unwrap_or_default();
    let end = digits
        .iter()
        .position(|&b| b == b' ')
        .unwrap_or(digits.len());
    h.fields.lineno = num(digits.get(..end).unwrap_or_default());
    // One space separates the head from the message; more belong to it.
    let line_pos = c.pos;
    if c.peek() == Some(Tok::Space) {
        c.seek(line_pos + 1);
    }
}

/// `[xend] DEBUG (...)` (xend's stderr handler), a truncated xend stamp, or
/// plain text that starts with `[`.
fn open_bracket<'a, S: TokSink>(c: &mut Cursor<'a, '_, S>, h: &mut Head<'a>, line: &'a [u8]) {
    let digits = line
        .get(1..5)
        .is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if digits && line.get(5) == Some(&b'-') {
        // `[2019-06-05 09:2` — a xend stamp cut short.
        h.format = Some(Format::Xend);
        h.kind = Some(Kind::Record);
        return bad(h, 0, "a full `[YYYY-MM-DD HH:MM:SS` stamp");
    }
    // Validate without reporting tokens, then parse for real.
    let ok = {
        let mut probe = Head::default();
        let mut none = crate::lexer::NoTokens;
        let mut quiet = Cursor::new(line, 0, &mut none);
        stderr_form(&mut quiet, &mut probe);
        probe.bad.is_none()
    };
    if ok {
        stderr_form(c, h);
    } else {
        body(c, h, line);
    }
}

fn stderr_form<'a, S: TokSink>(c: &mut Cursor<'a, '_, S>, h: &mut Head<'a>) {
    c.eat(Tok::Open);
    let Some(name) = c.eat(Tok::Word) else {
        return bad(h, c.pos, "a logger name");
    };
    if c.eat(Tok::Close).is_none() {
        return bad(h, c.pos, "`]`");
    }
    h.format = Some(Format::Xend);
    h.kind = Some(Kind::Record);
    h.fields.logger = Some(name);
    level_and_where(c, h);
}

/// `(XEN) ` with an optional `[date time]` or `[  uptime]` stamp, then a body.
fn xen<'a, S: TokSink>(c: &mut Cursor<'a, '_, S>, h: &mut Head<'a>, line: &'a [u8]) {
    c.eat(Tok::XenPrefix);
    h.format = Some(Format::XenConsole);
    skip_one_space(c, line);
    match c.peek() {
        Some(Tok::BracketStamp) => {
            let s = c.eat(Tok::BracketStamp).unwrap_or_default();
            if c.eat(Tok::Close).is_some() {
                h.fields.time = s.get(1..);
                skip_one_space(c, line);
            } else {
                return bad(h, c.pos, "`]` after the console timestamp");
            }
        }
        Some(Tok::Uptime) => {
            let s = c.eat(Tok::Uptime).unwrap_or_default();
            h.fields.time = Some(trim_uptime(s));
            skip_one_space(c, line);
        }
        _ => {}
    }
    body(c, h, line);
}

fn trim_uptime(s: &[u8]) -> &[u8] {
    let inner = s.get(1..s.len().saturating_sub(1)).unwrap_or_default();
    let lead = inner.iter().take_while(|&&b| b == b' ').count();
    inner.get(lead..).unwrap_or_default()
}

/// `<6>[ 1234.567890] subsystem: msg` and `[ 1234.567890] prog[pid]: msg`.
fn kernel<'a, S: TokSink>(c: &mut Cursor<'a, '_, S>, h: &mut Head<'a>, line: &'a [u8]) {
    h.format = Some(Format::LinuxConsole);
    if let Some(l) = c.eat(Tok::KmsgLevel) {
        h.fields.level = l.get(1).map(|d| Level::from_printk(d.wrapping_sub(b'0')));
    }
    if let Some(s) = c.eat(Tok::Uptime) {
        h.fields.time = Some(trim_uptime(s));
        skip_one_space(c, line);
    }
    body(c, h, line);
    if h.kind == Some(Kind::Record) {
        kernel_source(c, h, line);
    }
}

/// Who wrote a kernel-console message: `systemd-shutdown[1]:` or a
/// subsystem prefix such as `reboot:`, `xen:manage:`, `ACPI:`.
fn kernel_source<'a, S: TokSink>(c: &mut Cursor<'a, '_, S>, h: &mut Head<'a>, line: &'a [u8]) {
    if let Some(tag) = c.eat(Tok::ProcTag) {
        proc_tag(h, tag);
        skip_one_space(c, line);
        return;
    }
    let rest = line.get(c.pos..).unwrap_or_default();
    let window = rest.get(..rest.len().min(40)).unwrap_or_default();
    if let Some(i) = window.windows(2).position(|w| w == b": ") {
        let name = &window[..i];
        let plain = !name.is_empty()
            && name
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':' | b'.'));
        if plain {
            h.fields.module = Some(name);
        }
    }
}

fn proc_tag<'a>(h: &mut Head<'a>, tag: &'a [u8]) {
    // `name[pid]:`
    let open = tag.iter().rposition(|&b| b == b'[').unwrap_or(0);
    h.fields.module = tag.get(..open);
    h.fields.pid = tag.get(open + 1..tag.len().saturating_sub(2)).and_then(num);
}

fn status_level(s: &[u8]) -> Level {
    let word: Vec<u8> = s
        .iter()
        .copied()
        .filter(|b| b.is_ascii_alphabetic())
        .collect();
    match word.as_slice() {
        b"FAILED" | b"FAIL" => Level::Error,
        b"DEPEND" | b"TIME" | b"warn" => Level::Warning,
        _ => Level::Info,
    }
}

/// `Jun  5 09:23:27 host prog[pid]: msg`, `2019-06-05T09:23:27+0000 host kernel: msg`,
/// or, after an iso stamp, an xl line.
fn journal<'a, S: TokSink>(
    c: &mut Cursor<'a, '_, S>,
    h: &mut Head<'a>,
    line: &'a [u8],
    stamp: Tok,
) {
    let at = c.pos;
    let s = c.eat(stamp).unwrap_or_default();
    h.fields.time = Some(s);
    h.format = Some(Format::Journal);
    h.kind = Some(Kind::Record);
    if c.spaces() == 0 {
        return bad(h, c.pos, "a space after the time");
    }
    if c.peek() == Some(Tok::ProgTag) {
        return xl(c, h, line);
    }
    if stamp == Tok::IsoStamp && xtl_dated(c, h, line, at) {
        return;
    }
    match c.peek() {
        Some(Tok::Word | Tok::Int) => h.fields.host = c.bump().map(|(_, s)| s),
        _ => return bad(h, c.pos, "a host name"),
    }
    if c.spaces() == 0 {
        return bad(h, c.pos, "a space after the host");
    }
    if let Some(tag) = c.eat(Tok::ProcTag) {
        proc_tag(h, tag);
    } else if let Some(w) = c.eat(Tok::Word) {
        h.fields.module = Some(w);
        if c.eat(Tok::Colon).is_none() {
            return bad(h, c.pos, "`:` after the program name");
        }
    } else {
        return bad(h, c.pos, "a program name");
    }
    skip_one_space(c, line);
    if let Some(t) = c.eat(Tok::Uptime) {
        // `kernel: [ 1234.567890] msg`: the kernel's own time stays in the message's place.
        let _ = t;
        skip_one_space(c, line);
    }
}

/// xentoollog's stdio logger with `XTL_STDIOSTREAM_SHOW_DATE` (and
/// `SHOW_PID`): `2019-06-05 09:23:27 UTC [4242] libxl: debug: …` — what
/// `xl -T`, libvirt's libxl driver log and the domain builder's log write
/// (xtl_stdiostream.c: date, `tzname`, `[pid] `, then context and level).
/// The zone's name stays in the time field (`UTC` is read as +00:00).
fn xtl_dated<'a, S: TokSink>(
    c: &mut Cursor<'a, '_, S>,
    h: &mut Head<'a>,
    line: &'a [u8],
    stamp_at: usize,
) -> bool {
    let mut i = c.pos;
    let zone = line
        .get(i..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| b.is_ascii_uppercase())
        .count();
    let mut time_end = None;
    if (2..=5).contains(&zone) && line.get(i + zone) == Some(&b' ') {
        time_end = Some(i + zone);
        i += zone + 1;
    }
    let mut pid = None;
    if line.get(i) == Some(&b'[') {
        let d = line
            .get(i + 1..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if d == 0 || line.get(i + 1 + d..i + 3 + d) != Some(b"] ") {
            return false;
        }
        pid = line.get(i + 1..i + 1 + d).and_then(num);
        i += d + 3;
    }
    if i == c.pos || !may_open_record(line.get(i..).unwrap_or_default()) {
        return false;
    }
    let here = c.pos;
    c.seek(i);
    if c.peek() != Some(Tok::ProgTag) {
        c.seek(here);
        return false;
    }
    if let Some(end) = time_end {
        h.fields.time = line.get(stamp_at..end);
    }
    h.fields.pid = pid;
    xl(c, h, line);
    true
}

/// `libxl: error: libxl.c:1234:libxl_domain_shutdown: msg`, `xc: error: msg`, `xl: msg`.
fn xl<'a, S: TokSink>(c: &mut Cursor<'a, '_, S>, h: &mut Head<'a>, line: &'a [u8]) {
    h.format = Some(Format::Xl);
    h.kind = Some(Kind::Record);
    let tag = c.eat(Tok::ProgTag).unwrap_or_default();
    h.fields.logger = tag.get(..tag.len().saturating_sub(1));
    c.spaces();
    if let Some(l) = c.eat(Tok::XlLevel) {
        h.fields.level = Level::from_xl(l.get(..l.len().saturating_sub(1)).unwrap_or_default());
        c.spaces();
    }
    if let Some(w) = c.eat(Tok::XlWhere) {
        // `file.c:line:function:`
        let mut parts = w.split(|&b| b == b':');
        h.fields.module = parts.next();
        h.fields.lineno = parts.next().and_then(num);
        h.fields.func = parts.next().filter(|f| !f.is_empty());
        skip_one_space(c, line);
    }
}
