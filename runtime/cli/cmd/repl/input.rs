//! When is an input whole? The same rule for the terminal (rustyline's
//! validator asks it at each Enter) and for a piped session (lines are
//! gathered until it holds): no parenthesis, bracket or brace left open, no
//! backtick string or block comment left unfinished, and the code does not
//! end on an operator that needs what follows (`let x = 1 +`, `a &&`,
//! `xm.`). A `:command` or `?name` is always one line.

/// What the scanner is inside of.
enum Mode {
    /// Code, with this many brackets open; `in_template` when it is the
    /// `${...}` of a backtick string.
    Code { depth: i32, in_template: bool },
    /// A backtick string.
    Template,
}

/// Is `text` a whole input?
pub fn is_complete(text: &str) -> bool {
    if text.trim_start().starts_with(':') || text.trim_start().starts_with('?') {
        return true;
    }
    // The last character of code (not of a comment or a string).
    let mut last: Option<char> = None;
    let chars: Vec<char> = text.chars().collect();
    let mut stack = vec![Mode::Code {
        depth: 0,
        in_template: false,
    }];
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match stack.last_mut() {
            Some(Mode::Template) => match c {
                '`' => {
                    stack.pop();
                }
                '\\' => i += 1,
                '$' if next == Some('{') => {
                    stack.push(Mode::Code {
                        depth: 0,
                        in_template: true,
                    });
                    i += 1;
                }
                _ => {}
            },
            Some(Mode::Code { depth, in_template }) => match c {
                '"' | '\'' => {
                    last = Some(c);
                    // A plain string or character ends on its line; one left
                    // open is the parser's error to report, not more input.
                    i += 1;
                    while i < chars.len() && chars[i] != c && chars[i] != '\n' {
                        if chars[i] == '\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                }
                '`' => {
                    last = Some('`');
                    stack.push(Mode::Template)
                }
                '/' if next == Some('/') => {
                    while i < chars.len() && chars[i] != '\n' {
                        i += 1;
                    }
                }
                '/' if next == Some('*') => {
                    // Rhai's block comments nest.
                    let mut nesting = 1;
                    i += 2;
                    while nesting > 0 {
                        match (chars.get(i), chars.get(i + 1)) {
                            (None, _) => return false,
                            (Some('/'), Some('*')) => {
                                nesting += 1;
                                i += 1;
                            }
                            (Some('*'), Some('/')) => {
                                nesting -= 1;
                                i += 1;
                            }
                            _ => {}
                        }
                        i += 1;
                    }
                    continue;
                }
                '(' | '[' | '{' => {
                    last = Some(c);
                    *depth += 1
                }
                ')' | ']' | '}' => {
                    last = Some(c);
                    if *depth == 0 && *in_template && c == '}' {
                        stack.pop();
                    } else {
                        *depth -= 1;
                    }
                }
                c if !c.is_whitespace() => last = Some(c),
                _ => {}
            },
            None => return true,
        }
        i += 1;
    }
    // More closers than openers is whole too: the parser reports it.
    let closed = matches!(stack.as_slice(), [Mode::Code { depth, .. }] if *depth <= 0);
    // A binary operator, `=`, `,` or `.` at the end wants its right-hand
    // side: the input goes on (`let x = 1 +`). A lone `!` or `|` too.
    let dangling = last.is_some_and(|c| "+-*/%=<>&|^,.!".contains(c));
    closed && !dangling
}

#[cfg(test)]
mod tests {
    use super::is_complete;

    #[test]
    fn a_trailing_operator_asks_for_more() {
        assert!(!is_complete("let x = 1 +"));
        assert!(!is_complete("let ok = a &&\n"));
        assert!(!is_complete("let y ="));
        assert!(!is_complete("xm."));
        assert!(is_complete("let x = 1 +\n 2;"));
        assert!(is_complete("let s = \"a +\";"), "inside a string");
        assert!(is_complete("let z = 3; // total +"), "inside a comment");
        assert!(is_complete("?sim.run_for"));
    }

    #[test]
    fn open_brackets_ask_for_more() {
        assert!(is_complete("1 + 2"));
        assert!(is_complete(""));
        assert!(!is_complete("fn f() {"));
        assert!(!is_complete("let a = [1,\n2"));
        assert!(!is_complete("on(\"x\", |ctx| {\n  print(1);\n}"));
        assert!(is_complete("on(\"x\", |ctx| {\n  print(1);\n})"));
        assert!(is_complete("}"), "extra closers are the parser's to report");
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        assert!(is_complete("print(\"{ ( [\")"));
        assert!(is_complete("print('(')"));
        assert!(is_complete("1 // {"));
        assert!(!is_complete("1 /* { */ + (2"));
        assert!(!is_complete("/* /* */"), "block comments nest");
        assert!(is_complete("\"unterminated"), "the parser reports it");
    }

    #[test]
    fn backtick_strings_span_lines_and_nest_code() {
        assert!(!is_complete("`a\nb"));
        assert!(is_complete("`a\nb`"));
        assert!(is_complete("`${ #{a: 1}.a }`"));
        assert!(!is_complete("`${ f("));
    }

    #[test]
    fn commands_are_one_line() {
        assert!(is_complete(":logs xend"));
        assert!(is_complete("  :help"));
    }
}
