//! Script errors with their position, rendered as ariadne reports at the
//! edge (CLI, test runner). Plain text when colour is off.

use std::ops::Range;

use ariadne::{Config, Label, Report, ReportKind, Source};
use rhai::{EvalAltResult, ParseError, Position};

/// What kind of mistake.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum ErrorKind {
    /// The script does not parse.
    Parse,
    /// Raised while running (by the script, the model, a hook or a limit).
    Runtime,
    /// A limit stopped the run (operations, call depth, sizes, time).
    Limit,
}

/// A script error and where it happened.
#[derive(Clone, Debug)]
pub struct ScriptError {
    /// Kind.
    pub kind: ErrorKind,
    /// The script's name.
    pub name: String,
    /// Its source.
    pub src: String,
    /// The message, without position.
    pub message: String,
    /// 1-based line and column, if known.
    pub pos: Option<(usize, usize)>,
    /// Script functions the error passed through, innermost last:
    /// (function, line, column of the call).
    pub calls: Vec<(String, usize, usize)>,
}

fn pos_of(p: Position) -> Option<(usize, usize)> {
    match (p.line(), p.position()) {
        (Some(l), Some(c)) => Some((l, c)),
        (Some(l), None) => Some((l, 1)),
        _ => None,
    }
}

impl ScriptError {
    /// A parse error.
    pub fn parse(name: &str, src: &str, e: ParseError) -> ScriptError {
        let msg = e.0.to_string();
        ScriptError {
            kind: ErrorKind::Parse,
            name: name.into(),
            src: src.into(),
            message: msg,
            pos: pos_of(e.1),
            calls: Vec::new(),
        }
    }

    /// A runtime error (following calls into script functions and closures).
    pub fn runtime(name: &str, src: &str, e: EvalAltResult) -> ScriptError {
        let mut calls = Vec::new();
        let mut e = e;
        loop {
            match e {
                EvalAltResult::ErrorInFunctionCall(f, _, inner, p) => {
                    if let Some((l, c)) = pos_of(p) {
                        calls.push((f, l, c));
                    }
                    e = *inner;
                }
                other => {
                    e = other;
                    break;
                }
            }
        }
        let pos = pos_of(e.position());
        let kind = match &e {
            EvalAltResult::ErrorTooManyOperations(_)
            | EvalAltResult::ErrorStackOverflow(_)
            | EvalAltResult::ErrorDataTooLarge(..)
            | EvalAltResult::ErrorTerminated(..) => ErrorKind::Limit,
            _ => ErrorKind::Runtime,
        };
        let message = match &e {
            EvalAltResult::ErrorRuntime(v, _) => v.to_string(),
            EvalAltResult::ErrorTerminated(v, _) => v.to_string(),
            EvalAltResult::ErrorTooManyOperations(_) => {
                "operation limit reached: the script ran too many operations (--max-operations); an endless loop?".into()
            }
            EvalAltResult::ErrorStackOverflow(_) => {
                "call-depth limit reached: too many nested calls (--max-call-depth); runaway recursion?".into()
            }
            EvalAltResult::ErrorDataTooLarge(what, _) => {
                format!("size limit reached: {what} grew past its limit (--max-string-size, --max-array-size, --max-map-size)")
            }
            other => {
                let mut s = other.to_string();
                if let Some(i) = s.rfind(" (line ") {
                    s.truncate(i);
                }
                s
            }
        };
        ScriptError {
            kind,
            name: name.into(),
            src: src.into(),
            message,
            pos,
            calls,
        }
    }

    /// A limit reached outside Rhai (events, virtual time) with no position.
    pub fn limit(name: &str, src: &str, message: String) -> ScriptError {
        ScriptError {
            kind: ErrorKind::Limit,
            name: name.into(),
            src: src.into(),
            message,
            pos: None,
            calls: Vec::new(),
        }
    }

    fn offset(&self, line: usize, col: usize) -> usize {
        // Rhai counts characters; ariadne's default index type is Char too.
        let mut off = 0;
        for (i, l) in self.src.split_inclusive('\n').enumerate() {
            if i + 1 == line {
                return off + col.saturating_sub(1).min(l.chars().count());
            }
            off += l.chars().count();
        }
        off
    }

    fn span_at(&self, line: usize, col: usize) -> Range<usize> {
        let start = self.offset(line, col);
        let rest: String = self.src.chars().skip(start).take(64).collect();
        let len = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
            .count()
            .max(1);
        start..start + len
    }

    /// The report, coloured or plain.
    pub fn render(&self, color: bool) -> String {
        let title = match self.kind {
            ErrorKind::Parse => "syntax error",
            ErrorKind::Runtime => "script error",
            ErrorKind::Limit => "limit reached",
        };
        let Some((l, c)) = self.pos else {
            return format!("error: {title}: {}\n  --> {}\n", self.message, self.name);
        };
        let span = self.span_at(l, c);
        let id = self.name.clone();
        let mut b = Report::build(ReportKind::Error, (id.clone(), span.clone()))
            .with_config(Config::default().with_color(color))
            .with_message(format!("{title}: {}", self.message))
            .with_label(Label::new((id.clone(), span)).with_message(&self.message));
        for (f, cl, cc) in self.calls.iter().rev() {
            b = b.with_label(
                Label::new((id.clone(), self.span_at(*cl, *cc))).with_message(
                    if f.starts_with("anon$") {
                        // Rhai names closures by hash; say what ran them instead.
                        "while running a closure (a hook or a sim.after callback) from here"
                            .to_string()
                    } else {
                        format!("in this call to {f}")
                    },
                ),
            );
        }
        let mut out = Vec::new();
        let _ = b
            .finish()
            .write((id, Source::from(self.src.clone())), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Exit code: 1 for a script error, 3 for a limit.
    pub fn exit_code(&self) -> u8 {
        match self.kind {
            ErrorKind::Parse | ErrorKind::Runtime => 1,
            ErrorKind::Limit => 3,
        }
    }
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.pos {
            Some((l, c)) => write!(f, "{}:{l}:{c}: {}", self.name, self.message),
            None => write!(f, "{}: {}", self.name, self.message),
        }
    }
}
