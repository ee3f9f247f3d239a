//! Damage as ariadne reports, pointing at byte offsets of the file.
//!
//! The parser streams, so a report is drawn from a small excerpt (the lines
//! around the damage), displayed at its real line number. Bytes that are
//! not text are shown as `.` one for one, so that byte offsets into the
//! excerpt stay those of the file.

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

/// One damage as a report (a warning: the parse went on).
pub fn render(file: &str, ex: &Excerpt<'_>, d: &Damage, color: bool) -> String {
    let text = printable(ex.text);
    let len = text.len();
    let start = (d.start.saturating_sub(ex.offset) as usize).min(len);
    let end = (d.end.saturating_sub(ex.offset) as usize).clamp(start, len);
    let span = (file.to_string(), start..end.max(start));
    let mut out = Vec::new();
    let report = Report::build(ReportKind::Warning, span.clone())
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
        .with_label(Label::new(span).with_message(d.note))
        .finish();
    let src = Source::from(text).with_display_line_offset(ex.line.saturating_sub(1) as usize);
    if report.write((file.to_string(), src), &mut out).is_err() {
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
    }
}
