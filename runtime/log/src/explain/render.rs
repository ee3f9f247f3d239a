//! An explanation as text or JSON lines, whole or a record at a time (what
//! `xsh logs explain` streams).

use super::{Build, Explained, Explanation, Tally};
use crate::json;

/// The text report.
pub fn render(ex: &Explanation) -> String {
    let mut s = header(&ex.file, &ex.tally());
    for r in &ex.records {
        record_text(r, &mut s);
    }
    s
}

/// The text report's summary lines, which come before the records.
pub fn header(file: &str, t: &Tally) -> String {
    let mut s = format!(
        "{file}: {} records, {} lines; {} records modelled, {} lines mapped to a probe\n",
        t.records, t.lines, t.modelled, t.lines_with_probe
    );
    if t.builds.iter().sum::<usize>() > 0 {
        s.push_str(&format!(
            "line numbers: {} ({} records match ovm-4.4.4 only, {} upstream-4.4.4 only, {} both, {} neither)\n",
            t.build().name(),
            t.count(Build::Ovm),
            t.count(Build::Upstream),
            t.count(Build::Both),
            t.count(Build::Neither)
        ));
    }
    s
}

/// One record of the text report.
pub fn record_text(r: &Explained, s: &mut String) {
    let Some(first) = r.lines.first() else {
        return;
    };
    let who = match (r.probe, r.modelled) {
        (Some(p), _) => p.to_string(),
        (None, true) => format!("({} code outside probes)", r.layer),
        (None, false) => "not modelled".to_string(),
    };
    let place = r
        .place
        .as_ref()
        .map(|(m, n)| {
            format!(
                " ({m}:{n}{})",
                r.build
                    .map(|b| format!(" {}", b.name()))
                    .unwrap_or_default()
            )
        })
        .unwrap_or_default();
    s.push_str(&format!(
        "{:>5}  {:<6} {:<46} {}{}\n       {}\n",
        first.line,
        r.layer,
        who,
        r.step,
        place,
        first.text.trim_end()
    ));
    for l in r.lines.iter().skip(1) {
        let fp = l
            .frame_probe
            .map(|p| format!("  [{p}]"))
            .unwrap_or_default();
        s.push_str(&format!("{:>5}  | {}{fp}\n", l.line, l.text.trim_end()));
    }
}

/// JSON lines, one per physical line.
pub fn render_json(ex: &Explanation) -> String {
    let mut out = Vec::new();
    for (i, r) in ex.records.iter().enumerate() {
        record_json(&ex.file, i + 1, r, &mut out);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The JSON lines of record `number` (1-based, in file order).
pub fn record_json(file: &str, number: usize, r: &Explained, out: &mut Vec<u8>) {
    for (k, l) in r.lines.iter().enumerate() {
        out.extend_from_slice(b"{\"file\":");
        json::string(out, file.as_bytes());
        out.extend_from_slice(format!(",\"line\":{},\"record\":{},\"format\":\"{}\",\"kind\":\"{}\",\"continuation\":{},\"layer\":\"{}\",\"probe\":", l.line, number, r.format.name(), l.kind.name(), k > 0, r.layer).as_bytes());
        match r.probe {
            Some(p) => json::string(out, p.as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"frame_probe\":");
        match l.frame_probe {
            Some(p) => json::string(out, p.as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(format!(",\"modelled\":{},\"step\":", r.modelled).as_bytes());
        json::string(out, r.step.as_bytes());
        out.extend_from_slice(b",\"build\":");
        match r.build {
            Some(b) => json::string(out, b.name().as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"message\":");
        json::string(out, l.text.as_bytes());
        out.extend_from_slice(b"}\n");
    }
}
