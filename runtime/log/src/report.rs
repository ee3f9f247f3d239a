//! Damage as ariadne reports, pointing at byte offsets of the file.
//!
//! The parser streams, so a report is drawn from a small excerpt (the lines
//! around the damage), displayed at its real line number. Bytes that are
//! not text are shown as `.` one for one, so that byte offsets into the
//! excerpt stay those of the file. A long excerpt is shown in part, around
//! the damage's start.

use ariadne::{Config, IndexType, Label, Report, ReportKind, Source};

use crate::damage::Damage;

/// Lines of a file around a damage: their bytes, the file offset of the
/// first, and its line number.
pub struct Excerpt<'a> {
    /// The lines (with newlines between them).
    pub text: &'a [u8],
    /// File offset of `text[0]`.
    pub offset: u64,
    /// Line number of the first line (1-based).
    pub line: u64,
}

/// `text` with every byte that is not printable text replaced by `.`,
/// keeping valid UTF-8 and the length in bytes.
pub fn printable(text: &[u8]) -> String {
    let mut s = String::with_capacity(text.len());
    for chunk in text.utf8_chunks() {
        for c in chunk.valid().chars() {
            if (c < ' ' && c != '\n' && c != '\t') || c == '\x7f' {
                s.push('.');
            } else {
                s.push(c);
            }
        }
        for _ in chunk.invalid() {
            s.push('.');
        }
    }
    s
}

/// Bytes of a long excerpt shown around a damage's start: a report about a
/// 16 MiB line must not print the line (nor underline it).
pub const SHOWN: usize = 200;

/// The part of an excerpt a report shows: all of it when it is short,
/// otherwise from the start of the damage's line (or [`SHOWN`] / 2 before
/// the damage when that line starts further back) to [`SHOWN`] bytes past
/// the damage's start. Returns the byte range within `text`.
fn window(text: &[u8], start: usize) -> std::ops::Range<usize> {
    if text.len() <= 4 * SHOWN {
        return 0..text.len();
    }
    let line_start = memchr::memrchr(b'\n', &text[..start]).map_or(0, |i| i + 1);
    let from = if start - line_start <= SHOWN {
        line_start
    } else {
        start - SHOWN / 2
    };
    let to = (start + SHOWN).min(text.len());
    from..to
}

/// One damage as a report (a warning: the parse went on).
pub fn render(file: &str, ex: &Excerpt<'_>, d: &Damage, color: bool) -> String {
    let start = (d.start.saturating_sub(ex.offset) as usize).min(ex.text.len());
    let end = (d.end.saturating_sub(ex.offset) as usize).clamp(start, ex.text.len());
    let shown = window(ex.text, start);
    // `printable` keeps the length in bytes, so offsets into the shown
    // bytes stay offsets into the excerpt minus `shown.start`.
    let mut text = printable(&ex.text[shown.clone()]);
    let cut = shown != (0..ex.text.len());
    if cut {
        text.push_str(" …");
    }
    let (start, end) = (start - shown.start, end.min(shown.end) - shown.start);
    let span = (file.to_string(), start..end.max(start));
    let first_line = ex.line.saturating_sub(1) as usize
        + memchr::memchr_iter(b'\n', &ex.text[..shown.start]).count();
    let mut out = Vec::new();
    let mut report = Report::build(ReportKind::Warning, span.clone())
        .with_config(
            Config::default()
                .with_color(color)
                .with_index_type(IndexType::Byte),
        )
        .with_code(d.kind.name())
        .with_message(format!(
            "{} at bytes {}..{}",
            describe(d.kind),
            d.start,
            d.end
        ))
        .with_label(Label::new(span).with_message(d.note));
    if cut {
        report = report.with_note(format!(
            "showing bytes {}..{} of the file only (columns count from byte {})",
            ex.offset + shown.start as u64,
            ex.offset + shown.end as u64,
            ex.offset + shown.start as u64
        ));
    }
    let src = Source::from(text).with_display_line_offset(first_line);
    if report
        .finish()
        .write((file.to_string(), src), &mut out)
        .is_err()
    {
        return format!(
            "{file}: {} at bytes {}..{}\n",
            d.kind.name(),
            d.start,
            d.end
        );
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn describe(k: crate::damage::DamageKind) -> &'static str {
    use crate::damage::DamageKind::*;
    match k {
        Wrapped => "line wrapped by a mailer (joined back)",
        BbCode => "forum markup in the log (removed)",
        QuotedPrintable => "quoted-printable residue (decoded)",
        SoftBreak => "quoted-printable soft line break (joined)",
        Glued => "two records on one line (split)",
        Binary => "binary bytes in the log",
        BadHeader => "a record prefix that breaks off",
        Quoted => "mail quote marker (removed)",
        Overlong => "line too long to keep (cut into pieces)",
        Typographic => "typographic quotes a forum put in (straightened)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::damage::DamageKind;

    #[test]
    fn a_report_on_a_huge_line_shows_a_bounded_part_of_it() {
        let mut line = b"[2019-06-05 09:23:27 2164] DEBUG (XendDomainInfo:568) ".to_vec();
        line.resize(1 << 20, b'x');
        let d = Damage {
            kind: DamageKind::Overlong,
            start: 1000,
            end: 1000 + line.len() as u64,
            note: "cut",
        };
        let ex = Excerpt {
            text: &line,
            offset: 1000,
            line: 3,
        };
        let r = render("f.log", &ex, &d, false);
        assert!(r.len() < 2000, "{} bytes", r.len());
        assert!(r.contains("at bytes 1000..1049576"), "{r}");
        assert!(r.contains("f.log:3:1"), "{r}");
        assert!(r.contains("showing bytes 1000..1200"), "{r}");
        // Damage deep inside the line: shown around it.
        let d = Damage {
            start: 1000 + 500_000,
            end: 1000 + 500_010,
            ..d
        };
        let r = render("f.log", &ex, &d, false);
        assert!(r.len() < 2000, "{} bytes", r.len());
        assert!(r.contains("showing bytes 500900..501200"), "{r}");
    }
}
