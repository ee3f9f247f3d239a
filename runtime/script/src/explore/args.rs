//! The `--choose name=value,...` syntax: read from the command line, and
//! written by the replay commands and `xsh run`'s choices line so that any
//! option's text reads back as itself.

use std::collections::BTreeMap;

/// `--choose a=x,b=y` (the flag may repeat) as a name → value map.
///
/// A backslash makes the next character plain text: `\,` and `\=` inside a
/// name or value, `\\` for a backslash, `\ ` for a space kept at either end
/// (unescaped spaces around names and values are trimmed). [`choose_arg`]
/// writes this form, so a replay command round-trips any option's text.
pub fn parse_choose(args: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut m = BTreeMap::new();
    for arg in args {
        for part in split_unescaped(arg, ',')? {
            if part.iter().all(|&(c, esc)| !esc && c.trim().is_empty()) {
                continue;
            }
            let shown: String = part.iter().map(|(c, _)| *c).collect();
            let Some(eq) = part.iter().position(|&(c, esc)| c == "=" && !esc) else {
                return Err(format!("--choose {shown:?}: expected name=value"));
            };
            let (k, v) = (unescape(&part[..eq]), unescape(&part[eq + 1..]));
            if k.is_empty() {
                return Err(format!("--choose {shown:?}: the name is empty"));
            }
            if let Some(old) = m.insert(k.clone(), v.clone()) {
                if old != v {
                    return Err(format!("--choose {k} is given twice ({old} and {v})"));
                }
            }
        }
    }
    Ok(m)
}

/// Pieces of text with whether a backslash escaped them (a piece is one
/// character), split at the unescaped `sep`.
type Escaped<'a> = Vec<(&'a str, bool)>;

fn split_unescaped(arg: &str, sep: char) -> Result<Vec<Escaped<'_>>, String> {
    let mut parts = Vec::new();
    let mut cur = Vec::new();
    let mut chars = arg.char_indices();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            let Some((j, n)) = chars.next() else {
                return Err(format!(
                    "--choose {arg:?}: ends in a lone \\ (write \\\\ for a backslash)"
                ));
            };
            cur.push((&arg[j..j + n.len_utf8()], true));
        } else if c == sep {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push((&arg[i..i + c.len_utf8()], false));
        }
    }
    parts.push(cur);
    Ok(parts)
}

/// The text of escaped pieces, without the unescaped spaces at either end.
fn unescape(pieces: &[(&str, bool)]) -> String {
    let blank = |&(c, esc): &(&str, bool)| !esc && c.trim().is_empty();
    let start = pieces
        .iter()
        .position(|p| !blank(p))
        .unwrap_or(pieces.len());
    let end = pieces
        .iter()
        .rposition(|p| !blank(p))
        .map_or(start, |e| e + 1);
    pieces[start..end].iter().map(|(c, _)| *c).collect()
}

/// Choices as one `--choose` argument that [`parse_choose`] reads back
/// as they are: `,`, `=` and `\` escaped, and spaces at either end.
pub fn choose_arg(choices: &[(String, String)]) -> String {
    choices
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join(",")
}

fn escape(s: &str) -> String {
    let n = s.chars().count();
    let mut o = String::with_capacity(s.len());
    for (i, c) in s.chars().enumerate() {
        let edge_space = c.is_whitespace() && (i == 0 || i + 1 == n);
        if matches!(c, ',' | '=' | '\\') || edge_space {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choose_args_round_trip_awkward_values() {
        let awkward = [
            ("x", "a,b"),
            ("eq", "k=v"),
            ("bs", "C:\\dir\\"),
            ("sp", " padded "),
            ("q", "it's \"quoted\""),
            ("n=m,o", "plain"),
            ("empty", ""),
        ];
        let pairs: Vec<(String, String)> = awkward
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let arg = choose_arg(&pairs);
        let back = parse_choose(std::slice::from_ref(&arg)).unwrap();
        let want: BTreeMap<String, String> = pairs.into_iter().collect();
        assert_eq!(back, want, "{arg}");
        assert_eq!(choose_arg(&[("x".into(), "a,b".into())]), "x=a\\,b");
        assert!(parse_choose(&["x=a\\".into()]).is_err(), "a lone backslash");
    }

    #[test]
    fn parse_choose_splits_commas_and_rejects_conflicts() {
        let m = parse_choose(&["a=1,b=x y".into(), "c=".into()]).unwrap();
        assert_eq!(m.get("b").map(String::as_str), Some("x y"));
        assert_eq!(m.get("c").map(String::as_str), Some(""));
        assert!(parse_choose(&["a".into()]).is_err());
        assert!(parse_choose(&["a=1".into(), "a=2".into()]).is_err());
    }
}
