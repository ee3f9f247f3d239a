//! Log patterns: globs matched anywhere in one line, the primitive of the
//! stdlib's `assert_log`, `assert_no_log` and `expect_sequence`.

/// Does `pattern` match somewhere in one line of `text`? `*` is any run of
/// characters within a line, `?` one character, `\*`, `\?` and `\\` stand
/// for themselves; everything else is literal.
pub fn glob_match(text: &str, pattern: &str) -> bool {
    let pat = parse_glob(pattern);
    // An empty text is one empty line, not none.
    text.is_empty() && glob_line("", &pat) || text.lines().any(|line| glob_line(line, &pat))
}

/// The lines of `text` that `pattern` matches (see [`glob_match`]).
pub fn grep(text: &str, pattern: &str) -> Vec<String> {
    let pat = parse_glob(pattern);
    text.lines()
        .filter(|line| glob_line(line, &pat))
        .map(str::to_string)
        .collect()
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Glob {
    Any,
    One,
    Char(char),
}

fn parse_glob(pattern: &str) -> Vec<Glob> {
    // Unanchored: a match anywhere in the line is a match of `*pattern*`.
    let mut out = vec![Glob::Any];
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '*' => Glob::Any,
            '?' => Glob::One,
            '\\' => Glob::Char(chars.next().unwrap_or('\\')),
            c => Glob::Char(c),
        });
    }
    out.push(Glob::Any);
    out
}

/// Wildcard matching of a whole line, with the usual single backtrack point
/// (the last `*`): linear in practice, quadratic at worst.
fn glob_line(line: &str, pat: &[Glob]) -> bool {
    let text: Vec<char> = line.chars().collect();
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pat.get(p) {
            Some(Glob::Any) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Glob::One) => {
                t += 1;
                p += 1;
            }
            Some(Glob::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|g| *g == Glob::Any)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_anywhere_in_a_line() {
        let log = "[2019-06-05 09:23:28 2164] INFO (XendDomainInfo:2211) Domain has shutdown: name=a id=8 reason=poweroff.\nnext";
        assert!(glob_match(log, "Domain has shutdown"));
        assert!(glob_match(log, "name=* id=8 reason=poweroff."));
        assert!(glob_match(log, "id=? reason"));
        assert!(!glob_match(log, "id=?? reason"));
        assert!(!glob_match(log, "reason=reboot"));
        assert!(
            !glob_match(log, "poweroff.*next"),
            "a star stays in its line"
        );
        assert!(glob_match("a*b", "a\\*b"));
        assert!(!glob_match("axb", "a\\*b"));
        assert!(glob_match("", ""));
        assert_eq!(grep("x1\ny\nx2", "x?"), vec!["x1", "x2"]);
    }
}
