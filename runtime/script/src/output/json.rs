//! A small JSON writer for the outputs. Hand-written rather than serde so
//! the bytes are fixed by this file alone (key order, number format): the
//! outputs are golden-tested and must not change with a library upgrade.

use std::fmt::Write;

use xsh_sim::time::SimTime;
use xsh_sim::Value;

/// Appends `s` as a JSON string literal. Runs of bytes that need no escape
/// are copied whole: an exploration's report is mostly such text, and a
/// character at a time made writing it a visible part of its run.
pub fn string(out: &mut String, s: &str) {
    out.push('"');
    let mut plain = 0;
    // Every byte escaped is ASCII, so each cut falls between characters.
    for (i, &b) in s.as_bytes().iter().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[plain..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(escape);
        }
        plain = i + 1;
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

/// A JSON string literal.
pub fn quoted(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    string(&mut o, s);
    o
}

/// Virtual time as exact decimal seconds (nanosecond resolution): no float
/// rounding, so two runs print the same digits.
pub fn secs(out: &mut String, t: SimTime) {
    let _ = write!(out, "{}.{:09}", t.0 / 1_000_000_000, t.0 % 1_000_000_000);
}

/// Virtual time in microseconds, as the trace-event format wants `ts`.
pub fn micros(out: &mut String, ns: u64) {
    let _ = write!(out, "{}.{:03}", ns / 1_000, ns % 1_000);
}

/// A model value: strings, numbers, lists and maps as JSON; `()` as null.
pub fn value(out: &mut String, v: &Value) {
    match v {
        Value::Unit => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) if f.is_finite() => {
            // `{:?}` keeps a decimal point (1.0, not 1), so a reader sees a float.
            let _ = write!(out, "{f:?}");
        }
        Value::Float(_) => out.push_str("null"),
        Value::Str(s) => string(out, s),
        Value::List(l) => {
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                value(out, x);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(out, k);
                out.push(':');
                value(out, x);
            }
            out.push('}');
        }
    }
}

/// An optional integer: the number or null.
pub fn opt(out: &mut String, v: Option<u64>) {
    match v {
        Some(v) => {
            let _ = write!(out, "{v}");
        }
        None => out.push_str("null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters_and_quotes() {
        assert_eq!(quoted("a\"b\\c\nd\u{1}"), r#""a\"b\\c\nd\u0001""#);
    }

    /// Copying plain runs whole writes what escaping each character did.
    #[test]
    fn escapes_as_one_character_at_a_time_would() {
        fn by_char(s: &str) -> String {
            let mut o = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => o.push_str("\\\""),
                    '\\' => o.push_str("\\\\"),
                    '\n' => o.push_str("\\n"),
                    '\r' => o.push_str("\\r"),
                    '\t' => o.push_str("\\t"),
                    c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
                    c => o.push(c),
                }
            }
            o.push('"');
            o
        }
        let cases = [
            "",
            "plain text",
            "\"",
            "ends with a quote\"",
            "\u{0}\u{1f}\u{7f} é→\t\r\n\\ ☃",
            "xend.log: [2016-07-11 12:00:01 1234] DEBUG (XendDomainInfo:1234) \"x\"",
        ];
        for c in cases {
            assert_eq!(quoted(c), by_char(c), "{c:?}");
        }
    }

    #[test]
    fn times_are_exact_decimals() {
        let mut s = String::new();
        secs(&mut s, SimTime(1_000_000_123));
        s.push(' ');
        micros(&mut s, 1_234_567);
        assert_eq!(s, "1.000000123 1234.567");
    }

    #[test]
    fn values_map_to_json() {
        let mut s = String::new();
        let v = Value::Map(vec![
            (
                "a".into(),
                Value::List(vec![Value::Int(1), Value::Float(2.0)]),
            ),
            ("b".into(), Value::Unit),
            ("c".into(), Value::Float(f64::NAN)),
        ]);
        value(&mut s, &v);
        assert_eq!(s, r#"{"a":[1,2.0],"b":null,"c":null}"#);
    }
}
