//! Damage: what happened to a log between the host that wrote it and the
//! person who pastes it — a mailer's line wraps and quoted-printable
//! residue, a forum's BBCode, two records glued on one line, binary bytes.
//! Each is found with its byte span, reported, and repaired where the
//! repair is certain, so that parsing goes on.
//!
//! The scan of a message runs on every line of a 200 MB log, so it looks at
//! the bytes only where a damage could start: a byte outside printable
//! ASCII, a `[` (a glued stamp, a tag) or a `=` (quoted-printable).

use crate::format::Format;

/// A kind of damage.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DamageKind {
    /// A line broken in two by a mailer; the tail is joined back.
    Wrapped,
    /// Forum markup (`[code]`, `[/quote]`); removed.
    BbCode,
    /// Quoted-printable residue (`=3D`, `=20` at the end, `=E2=80=99`); decoded.
    QuotedPrintable,
    /// A quoted-printable soft line break (`=` at the end of a line); joined.
    SoftBreak,
    /// A second record on the same line; split off.
    Glued,
    /// Bytes that are neither text nor a terminal control (NUL, invalid UTF-8).
    Binary,
    /// A prefix that starts like its format's and breaks off.
    BadHeader,
    /// A mail quote marker (`> `) in front of the line; removed.
    Quoted,
    /// A line longer than the reader keeps in memory; cut into pieces.
    Overlong,
    /// Typographic quotes (`‘ ’ “ ”`) where the program wrote straight
    /// ones: a forum's or blog's typography filter; straightened.
    Typographic,
}

impl DamageKind {
    /// The name in JSON and reports.
    pub fn name(self) -> &'static str {
        match self {
            DamageKind::Wrapped => "wrapped",
            DamageKind::BbCode => "bbcode",
            DamageKind::QuotedPrintable => "quoted-printable",
            DamageKind::SoftBreak => "soft-break",
            DamageKind::Glued => "glued",
            DamageKind::Binary => "binary",
            DamageKind::BadHeader => "bad-header",
            DamageKind::Quoted => "quoted",
            DamageKind::Overlong => "overlong",
            DamageKind::Typographic => "typographic",
        }
    }

    /// Every kind, in display order.
    pub const ALL: [DamageKind; 10] = [
        DamageKind::Wrapped,
        DamageKind::BbCode,
        DamageKind::QuotedPrintable,
        DamageKind::SoftBreak,
        DamageKind::Glued,
        DamageKind::Binary,
        DamageKind::BadHeader,
        DamageKind::Quoted,
        DamageKind::Overlong,
        DamageKind::Typographic,
    ];
}

/// One damage, with its span in the file (byte offsets, end exclusive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// What.
    pub kind: DamageKind,
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// What the reader sees there, for the report.
    pub note: &'static str,
}

/// A repair of a message: replace `start..end` (body-relative) with `with`.
#[derive(Clone, Copy, Debug)]
pub struct Edit {
    start: usize,
    end: usize,
    with: Option<u8>,
}

/// What the scan of one message found.
#[derive(Default)]
pub struct BodyScan {
    /// Edits to apply, in order.
    pub edits: Vec<Edit>,
    /// A second record starts here (body-relative).
    pub glue_at: Option<usize>,
    /// The message ends with a `=` that may be a soft line break.
    pub trailing_eq: bool,
    /// A quoted-printable line end (`=0A`, `=0D=0A`) here (body-relative),
    /// this many bytes long: what follows is the next line of the log.
    pub break_at: Option<(usize, usize)>,
}

impl BodyScan {
    /// Clears for reuse.
    pub fn clear(&mut self) {
        self.edits.clear();
        self.glue_at = None;
        self.trailing_eq = false;
        self.break_at = None;
    }
}

/// Bit `i` set where `c[i]` may start a damage: `=`, `[`, or a byte
/// outside printable ASCII — one pass of four vector instructions over 16
/// bytes, where a byte loop or two `memchr` passes cost several times more
/// on a 200 MB log.
#[cfg(target_arch = "x86_64")]
#[inline]
fn candidates(c: &[u8; 16]) -> u32 {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86_64 baseline, and the unaligned load
    // reads exactly the 16 bytes `c` refers to.
    unsafe {
        let v = _mm_loadu_si128(c.as_ptr().cast::<__m128i>());
        let eq = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'=' as i8));
        let br = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'[' as i8));
        // Outside 0x20..=0x7e ⇔ (v - 0x20) as unsigned ≥ 0x5f.
        let d = _mm_sub_epi8(v, _mm_set1_epi8(0x20));
        let out = _mm_cmpeq_epi8(_mm_max_epu8(d, _mm_set1_epi8(0x5f)), d);
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(eq, br), out)) as u32
    }
}

/// The portable form of the same mask.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn candidates(c: &[u8; 16]) -> u32 {
    let mut m = 0u32;
    for (i, &x) in c.iter().enumerate() {
        let hit = x == b'=' || x == b'[' || x.wrapping_sub(0x20) >= 0x5f;
        m |= u32::from(hit) << i;
    }
    m
}

/// The candidate mask of `body[i..]`'s next 32 bytes (bit `j`: byte
/// `i + j`). Past the last whole block, an overlapping load of the body's
/// last 16 or 32 bytes is shifted past what was seen; a body shorter than
/// 16 bytes is masked byte by byte.
#[inline]
fn block_mask(body: &[u8], i: usize) -> u32 {
    let len = body.len();
    let block = |at: usize| {
        body.get(at..at + 16)
            .and_then(|s| <&[u8; 16]>::try_from(s).ok())
            .map_or(0, candidates)
    };
    if i + 32 <= len {
        return block(i) | block(i + 16) << 16;
    }
    if len >= 32 {
        let from = len - 32;
        return (block(from) | block(from + 16) << 16) >> (i - from);
    }
    if len >= 16 {
        // A body of 16 to 31 bytes: its first and last 16 overlap.
        if i == 0 {
            return block(0) | block(len - 16) << (len - 16);
        }
        return 0;
    }
    let mut m = 0u32;
    for (j, &x) in body.get(i..).unwrap_or_default().iter().enumerate() {
        let hit = x == b'=' || x == b'[' || x.wrapping_sub(0x20) >= 0x5f;
        m |= u32::from(hit) << j;
    }
    m
}

/// Scans a message (`body`, which starts at file offset `base`) of a line
/// of format `fmt` for damage.
pub fn scan_body(fmt: Format, body: &[u8], base: u64, out: &mut Vec<Damage>, scan: &mut BodyScan) {
    let mut bin = Binary::default();
    let mut quote_end = 0;
    let mut at = 0;
    'blocks: while at < body.len() {
        let mut m = block_mask(body, at);
        while m != 0 {
            let i = at + m.trailing_zeros() as usize;
            m &= m - 1;
            match body.get(i) {
                Some(b'[') => {
                    if look_at_bracket(fmt, body, i, base, out, scan) {
                        break 'blocks;
                    }
                }
                Some(b'=') => {
                    if look_at_equals(body, i, base, out, scan) {
                        break 'blocks;
                    }
                }
                // The second and third bytes of a quote straightened.
                _ if i < quote_end => {}
                _ if straight_quotes(fmt) && look_at_typographic(body, i, base, out, scan) => {
                    quote_end = i + 3;
                }
                _ => bin.at(body, i, base, out),
            }
        }
        at += 32;
    }
    bin.flush(base, out);
    // A `(XEN)` after a quoted-printable line end is the next line's
    // prefix, not a record glued to this one.
    if fmt == Format::XenConsole && scan.glue_at.is_none() && scan.break_at.is_none() {
        if let Some(i) = memchr::memmem::find(body, b"(XEN)") {
            scan.glue_at = Some(i);
        }
    }
    // Whatever lies past the glue point (or a line end) belongs to the next
    // record or line, which is scanned on its own.
    if let Some(g) = scan.glue_at.or(scan.break_at.map(|b| b.0 + b.1)) {
        scan.edits.retain(|e| e.end <= g);
        out.retain(|d| d.start < base + g as u64);
    }
}

/// A `[` at `i`: a glued record's stamp (true: stop here) or forum markup.
fn look_at_bracket(
    fmt: Format,
    body: &[u8],
    i: usize,
    base: u64,
    out: &mut Vec<Damage>,
    scan: &mut BodyScan,
) -> bool {
    let rest = body.get(i..).unwrap_or_default();
    // What follows the `[` says what it can be: SXP and dict dumps (`['vm',`)
    // are most of the `[`s of a xend.log and are done with at once.
    match rest.get(1) {
        Some(b'0'..=b'9' | b' ') => {
            let glued = is_xend_stamp(rest) || (fmt == Format::LinuxConsole && is_uptime(rest));
            if i > 0 && glued {
                scan.glue_at = Some(i);
                return true;
            }
            return false;
        }
        Some(b) if b.is_ascii_alphabetic() || *b == b'/' || *b == b'*' => {}
        _ => return false,
    }
    if let Some(n) = bbcode_tag(body, i) {
        out.push(Damage {
            kind: DamageKind::BbCode,
            start: base + i as u64,
            end: base + (i + n) as u64,
            note: "forum markup",
        });
        scan.edits.push(Edit {
            start: i,
            end: i + n,
            with: None,
        });
    }
    false
}

/// A `=` at `i`: a quoted-printable escape, or one that ends the line (a
/// soft break, if the next line turns out to continue this one), or an
/// encoded line end (true: the line ends here).
///
/// A mail part encoded from a file with bare LF line ends carries them as
/// `=0A` (`=0D=0A` from CRLF), with soft breaks every 76 columns: a log's
/// lines then run together, `…msg=0A[2019-06-05 …`, and a line that ends
/// right at the encoder's margin ends in `=0A=`. `=0A` is no text a log
/// line has, so it is always read as the line end it encodes.
fn look_at_equals(
    body: &[u8],
    i: usize,
    base: u64,
    out: &mut Vec<Damage>,
    scan: &mut BodyScan,
) -> bool {
    let rest = body.get(i..).unwrap_or_default();
    let eol = if rest.starts_with(b"=0D=0A") {
        6
    } else if rest.starts_with(b"=0A") {
        3
    } else {
        0
    };
    if eol > 0 {
        out.push(Damage {
            kind: DamageKind::QuotedPrintable,
            start: base + i as u64,
            end: base + (i + eol) as u64,
            note: "quoted-printable line end",
        });
        scan.break_at = Some((i, eol));
        return true;
    }
    if i + 1 == body.len() {
        scan.trailing_eq = true;
    } else if let Some((n, byte)) = qp_escape(body, i) {
        out.push(Damage {
            kind: DamageKind::QuotedPrintable,
            start: base + i as u64,
            end: base + (i + n) as u64,
            note: "quoted-printable escape",
        });
        scan.edits.push(Edit {
            start: i,
            end: i + n,
            with: Some(byte),
        });
    }
    false
}

/// Formats whose writers put only straight quotes in a line: xend's
/// Python 2 reprs and messages (a non-ASCII character in a repr is written
/// `\xe2\x80\x99`), libxl's and xl's C strings, qemu-dm's, and the
/// hypervisor's printk. A typographic quote there was put in by whatever
/// the log went through. A guest's console or journal may hold any text,
/// so there it stays.
fn straight_quotes(fmt: Format) -> bool {
    matches!(
        fmt,
        Format::Xend | Format::Xl | Format::QemuDm | Format::XenConsole
    )
}

/// U+2018/U+2019 (`‘ ’`, E2 80 98/99) or U+201C/U+201D (`“ ”`, E2 80
/// 9C/9D) at `i`: straightened, and reported (true), with the edit made.
fn look_at_typographic(
    body: &[u8],
    i: usize,
    base: u64,
    out: &mut Vec<Damage>,
    scan: &mut BodyScan,
) -> bool {
    let with = match body.get(i..i + 3) {
        Some([0xe2, 0x80, 0x98 | 0x99]) => b'\'',
        Some([0xe2, 0x80, 0x9c | 0x9d]) => b'"',
        _ => return false,
    };
    out.push(Damage {
        kind: DamageKind::Typographic,
        start: base + i as u64,
        end: base + i as u64 + 3,
        note: "typographic quote",
    });
    scan.edits.push(Edit {
        start: i,
        end: i + 3,
        with: Some(with),
    });
    true
}

/// Applies edits to a message.
pub fn repair(body: &[u8], edits: &[Edit], out: &mut Vec<u8>) {
    out.clear();
    let mut at = 0;
    for e in edits {
        if e.start < at || e.end > body.len() {
            continue;
        }
        out.extend_from_slice(&body[at..e.start]);
        if let Some(b) = e.with {
            out.push(b);
        }
        at = e.end;
    }
    out.extend_from_slice(body.get(at..).unwrap_or_default());
}

/// Runs of bytes that are not text: invalid UTF-8, NUL and other C0
/// controls except tab, backspace (xc_save's progress lines), CR and ESC
/// (colour in consoles), and DEL. Fed only the bytes the candidate mask
/// flags, in order, so a line of text costs nothing here.
#[derive(Default)]
struct Binary {
    run: Option<(usize, usize)>,
    /// Bytes before this belong to a valid character already seen.
    skip: usize,
}

impl Binary {
    fn at(&mut self, body: &[u8], i: usize, base: u64, out: &mut Vec<Damage>) {
        if i < self.skip {
            return;
        }
        let b = body.get(i).copied().unwrap_or(0);
        let bad = if b < 0x80 {
            (b < 0x20 && !matches!(b, b'\t' | 0x08 | b'\r' | 0x1b)) || b == 0x7f
        } else {
            let w = match b {
                0xc2..=0xdf => 2,
                0xe0..=0xef => 3,
                0xf0..=0xf4 => 4,
                _ => 0,
            };
            match body.get(i..i + w) {
                Some(c) if w > 0 && std::str::from_utf8(c).is_ok() => {
                    self.skip = i + w;
                    false
                }
                _ => true,
            }
        };
        match (bad, self.run) {
            (true, Some((s, e))) if e == i => self.run = Some((s, i + 1)),
            (true, _) => {
                self.flush(base, out);
                self.run = Some((i, i + 1));
            }
            (false, _) => self.flush(base, out),
        }
    }

    fn flush(&mut self, base: u64, out: &mut Vec<Damage>) {
        if let Some((s, e)) = self.run.take() {
            out.push(Damage {
                kind: DamageKind::Binary,
                start: base + s as u64,
                end: base + e as u64,
                note: "binary bytes",
            });
        }
    }
}

/// `[2019-06-05 09:23:27` at the start of `b`.
pub fn is_xend_stamp(b: &[u8]) -> bool {
    const SHAPE: &[u8; 20] = b"[0000-00-00 00:00:00";
    b.len() >= SHAPE.len()
        && SHAPE.iter().zip(b).all(|(&s, &c)| {
            if s == b'0' {
                c.is_ascii_digit()
            } else {
                s == c
            }
        })
}

/// `[ 1234.567890]` at the start of `b`.
fn is_uptime(b: &[u8]) -> bool {
    let mut i = 1;
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    let d0 = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    if i == d0 || b.get(i) != Some(&b'.') {
        return false;
    }
    i += 1;
    let f0 = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i - f0 == 6 && b.get(i) == Some(&b']')
}

/// Length of a BBCode tag at `i`, if one is there. Single-letter tags
/// (`[b]`, `[i]`) are also Python subscripts (`self.devices[i]`), so they
/// count only as closing tags or at either end of the line.
pub fn bbcode_tag(body: &[u8], i: usize) -> Option<usize> {
    const TAGS: &[&[u8]] = &[
        b"quote",
        b"code",
        b"url",
        b"img",
        b"color",
        b"size",
        b"font",
        b"list",
        b"spoiler",
        b"pre",
        b"center",
        b"email",
        b"table",
        b"tr",
        b"td",
        b"indent",
        b"left",
        b"right",
        b"sub",
        b"sup",
        b"strike",
        b"highlight",
        b"php",
        b"html",
        b"noparse",
        b"hr",
    ];
    let rest = body.get(i..)?;
    let close = rest.get(1) == Some(&b'/');
    let name_at = 1 + usize::from(close);
    let name_len = rest
        .get(name_at..)?
        .iter()
        .take(12)
        .take_while(|b| b.is_ascii_alphabetic() || **b == b'*')
        .count();
    if name_len == 0 {
        return None;
    }
    let mut name = [0u8; 12];
    for (d, s) in name.iter_mut().zip(rest.get(name_at..name_at + name_len)?) {
        *d = s.to_ascii_lowercase();
    }
    let name = &name[..name_len];
    let mut end = name_at + name_len;
    if !close && rest.get(end) == Some(&b'=') {
        end += rest.get(end..)?.iter().take(80).position(|&b| b == b']')?;
    }
    if rest.get(end) != Some(&b']') {
        return None;
    }
    let n = end + 1;
    let short = matches!(name, b"b" | b"i" | b"u" | b"s" | b"*");
    let known = TAGS.contains(&name);
    let at_edge = i == 0 || i + n == body.len();
    (known || (short && (close || at_edge))).then_some(n)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A quoted-printable escape at `i` (`=3D`, or `=XX` in a run of two or
/// more encoding non-ASCII bytes, `=E2=80=99`): its length and the byte it
/// encodes. `domid=12` and `domid=20` stay what they are: a trailing `=20`
/// is also how a domid ends a line.
fn qp_escape(body: &[u8], i: usize) -> Option<(usize, u8)> {
    let hi = hex(*body.get(i + 1)?)?;
    let lo = hex(*body.get(i + 2)?)?;
    let byte = hi << 4 | lo;
    let in_run = |j: usize| {
        body.get(j) == Some(&b'=')
            && body
                .get(j + 1)
                .and_then(|&b| hex(b))
                .is_some_and(|h| h >= 8)
            && body.get(j + 2).and_then(|&b| hex(b)).is_some()
    };
    let high_run = hi >= 8 && (in_run(i + 3) || (i >= 3 && in_run(i - 3)));
    (byte == b'=' || high_run).then_some((3, byte))
}

/// Mail quote markers and forum tags in front of a line: how many bytes to
/// skip, with the damage they are.
pub fn leading_markup(line: &[u8], base: u64, out: &mut Vec<Damage>) -> usize {
    let mut at = 0;
    loop {
        let rest = line.get(at..).unwrap_or_default();
        if rest.first() == Some(&b'>') {
            let n = 1 + usize::from(rest.get(1) == Some(&b' '));
            out.push(Damage {
                kind: DamageKind::Quoted,
                start: base + at as u64,
                end: base + (at + n) as u64,
                note: "mail quote marker",
            });
            at += n;
        } else if rest.first() == Some(&b'[') {
            match bbcode_tag(line, at) {
                Some(n) => {
                    out.push(Damage {
                        kind: DamageKind::BbCode,
                        start: base + at as u64,
                        end: base + (at + n) as u64,
                        note: "forum markup",
                    });
                    at += n;
                }
                None => return at,
            }
        } else {
            return at;
        }
    }
}
