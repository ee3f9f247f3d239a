//! JSON lines of `xsh logs parse --json`, written by hand: one object per
//! entry at the speed of the parser, with invalid UTF-8 replaced (the
//! damage list says where it was).

use std::io::{self, Write};

use crate::parser::Entry;
use crate::record::Record;

/// Appends `s` as a JSON string.
pub fn string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                c if (c as u32) < 0x20 || c == '\x7f' => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => {
                    let mut b = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                }
            }
        }
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{fffd}".as_bytes());
        }
    }
    out.push(b'"');
}

fn opt_str(out: &mut Vec<u8>, key: &str, v: Option<&[u8]>) {
    let _ = write!(out, ",\"{key}\":");
    match v {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

fn opt_num(out: &mut Vec<u8>, key: &str, v: Option<u32>) {
    match v {
        Some(n) => {
            let _ = write!(out, ",\"{key}\":{n}");
        }
        None => {
            let _ = write!(out, ",\"{key}\":null");
        }
    }
}

/// `"ts"`: the time in ISO 8601 where it is a wall-clock time (`null`
/// otherwise), and `"uptime"` (seconds) where it is a time since boot.
fn when(out: &mut Vec<u8>, w: Option<crate::time::When>) {
    let iso = w.and_then(crate::time::When::iso);
    opt_str(out, "ts", iso.as_deref().map(str::as_bytes));
    if let Some(u) = w.and_then(crate::time::When::uptime) {
        let _ = write!(out, ",\"uptime\":{u}");
    }
}

/// Appends one entry as a JSON object and a newline.
pub fn entry(out: &mut Vec<u8>, e: &Entry<'_>) {
    out.extend_from_slice(b"{\"format\":");
    string(out, e.format.name().as_bytes());
    out.extend_from_slice(b",\"file\":");
    string(out, e.file.as_bytes());
    let _ = write!(
        out,
        ",\"line\":{},\"offset\":{},\"record\":{},\"kind\":\"{}\"",
        e.line,
        e.offset,
        e.record,
        e.kind.name()
    );
    let f = &e.fields;
    opt_str(out, "time", f.time);
    when(out, f.time.and_then(crate::time::parse));
    opt_num(out, "pid", f.pid);
    opt_str(out, "level", f.level.map(|l| l.name().as_bytes()));
    opt_str(out, "module", f.module);
    opt_num(out, "lineno", f.lineno);
    for (key, v) in [
        ("thread", f.thread),
        ("logger", f.logger),
        ("host", f.host),
        ("func", e.func.or(f.func)),
    ] {
        if v.is_some() {
            opt_str(out, key, v);
        }
    }
    out.extend_from_slice(b",\"message\":");
    string(out, e.message);
    let _ = write!(out, ",\"continuation\":{},\"damage\":[", e.continuation);
    for (i, d) in e.damage.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let _ = write!(
            out,
            "{{\"kind\":\"{}\",\"start\":{},\"end\":{},\"note\":",
            d.kind.name(),
            d.start,
            d.end
        );
        string(out, d.note.as_bytes());
        out.push(b'}');
    }
    out.extend_from_slice(b"]}\n");
}

/// Appends one record as a JSON object and a newline (`--records`).
pub fn record(out: &mut Vec<u8>, r: &Record) {
    out.extend_from_slice(b"{\"format\":");
    string(out, r.format.name().as_bytes());
    out.extend_from_slice(b",\"file\":");
    string(out, r.file.as_bytes());
    let last = r.last_line();
    let _ = write!(
        out,
        ",\"line\":{},\"last_line\":{},\"record\":{},\"kind\":\"{}\"",
        r.line(),
        last,
        r.number,
        r.kind.name()
    );
    opt_str(out, "time", r.time.as_deref().map(str::as_bytes));
    when(out, r.when());
    opt_num(out, "pid", r.pid);
    opt_str(out, "level", r.level.map(|l| l.name().as_bytes()));
    opt_str(out, "module", r.module.as_deref().map(str::as_bytes));
    opt_num(out, "lineno", r.lineno);
    opt_num(out, "domid", r.domid());
    for (key, v) in [
        ("thread", &r.thread),
        ("logger", &r.logger),
        ("host", &r.host),
        ("func", &r.func),
    ] {
        if let Some(v) = v {
            opt_str(out, key, Some(v.as_bytes()));
        }
    }
    out.extend_from_slice(b",\"message\":");
    string(out, r.message().as_bytes());
    let _ = write!(
        out,
        ",\"continuation_lines\":{},\"damage\":[",
        last.saturating_sub(r.line())
    );
    for (i, d) in r.damage.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let _ = write!(
            out,
            "{{\"kind\":\"{}\",\"start\":{},\"end\":{}}}",
            d.kind.name(),
            d.start,
            d.end
        );
    }
    out.extend_from_slice(b"]}\n");
}

/// Writes and clears `buf` once it is big enough (or when `force`).
pub fn flush_if(buf: &mut Vec<u8>, w: &mut impl Write, force: bool) -> io::Result<()> {
    if force || buf.len() >= 1 << 16 {
        w.write_all(buf)?;
        buf.clear();
    }
    Ok(())
}
