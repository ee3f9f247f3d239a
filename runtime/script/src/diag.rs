//! Script errors with their position, rendered as ariadne reports at the
//! edge (CLI, test runner, REPL). Plain text when colour is off.
//!
//! Every mistake is pointed at the line of the *user's* script that made it:
//! an error raised inside a stdlib module (a failed `assert_log`) or inside a
//! file the script imported is reported at the call that led there, with the
//! module's function named in a note; an error inside a hook is reported in
//! the hook, with the call that ran the world labelled as well.

use std::ops::Range;

use ariadne::{Config, Label, Report, ReportKind};
use rhai::{Dynamic, EvalAltResult, Map, ParseError, Position};

use crate::Limits;

/// What kind of mistake.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum ErrorKind {
    /// The script does not parse.
    Parse,
    /// Raised while running (by the script, a hook, or Rhai itself).
    Runtime,
    /// An assertion (`assert`, `assert_eq`, the stdlib's `assert_*`) failed.
    Assertion,
    /// The model refused: a xenstore errno (`EACCES: ...`), an xm error
    /// (`Error: ...`), as the real tools report them.
    Model,
    /// A limit stopped the run (see [`Limit`]).
    Limit,
}

/// The limits a run is held to; each has its own flag and message.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Limit {
    /// Rhai operations in one evaluation (the script, or one hook call).
    Operations,
    /// Nested script calls.
    CallDepth,
    /// Bytes in one string.
    StringSize,
    /// Elements in one array.
    ArraySize,
    /// Entries in one map.
    MapSize,
    /// Events in one run of the world.
    Events,
    /// Virtual time the world may reach.
    VirtualTime,
    /// Wall-clock time of the whole script.
    WallTime,
}

impl Limit {
    /// Every limit, in the order `--help` lists their flags.
    pub const ALL: [Limit; 8] = [
        Limit::Operations,
        Limit::CallDepth,
        Limit::StringSize,
        Limit::ArraySize,
        Limit::MapSize,
        Limit::Events,
        Limit::VirtualTime,
        Limit::WallTime,
    ];

    /// The command-line flag that sets it.
    pub fn flag(self) -> &'static str {
        match self {
            Limit::Operations => "--max-operations",
            Limit::CallDepth => "--max-call-depth",
            Limit::StringSize => "--max-string-size",
            Limit::ArraySize => "--max-array-size",
            Limit::MapSize => "--max-map-size",
            Limit::Events => "--max-events",
            Limit::VirtualTime => "--max-virtual-time",
            Limit::WallTime => "--max-wall-time",
        }
    }

    /// The first words of its message.
    pub fn title(self) -> &'static str {
        match self {
            Limit::Operations => "operation limit reached",
            Limit::CallDepth => "call-depth limit reached",
            Limit::StringSize => "string-size limit reached",
            Limit::ArraySize => "array-size limit reached",
            Limit::MapSize => "map-size limit reached",
            Limit::Events => "event limit reached",
            Limit::VirtualTime => "virtual-time limit reached",
            Limit::WallTime => "wall-time limit reached",
        }
    }

    /// Which limit a stop message names. The world words its own stops
    /// (`xsh_sim::Sim::run_until`: events, virtual time) and the host words
    /// the wall-time one; all start with their limit's title.
    pub fn of_message(msg: &str) -> Option<Limit> {
        Limit::ALL.into_iter().find(|l| msg.starts_with(l.title()))
    }

    /// What usually causes it, for the report's help line.
    fn hint(self) -> &'static str {
        match self {
            Limit::Operations => "an endless loop?",
            Limit::CallDepth => "runaway recursion?",
            Limit::StringSize | Limit::ArraySize | Limit::MapSize => {
                "a value that grows without end?"
            }
            Limit::Events => "something keeps scheduling work: an endless chain of sim.after?",
            Limit::VirtualTime => {
                "the world never goes idle (a periodic timer?); sim.run_for(s) runs it for a set time."
            }
            Limit::WallTime => "the script or the world it runs took too long.",
        }
    }

    /// The report's help line.
    pub fn help(self) -> String {
        format!(
            "{} If the work is real, raise {}.",
            self.hint(),
            self.flag()
        )
    }
}

/// A script error and where it happened.
#[derive(Clone, Debug)]
pub struct ScriptError {
    /// Kind.
    pub kind: ErrorKind,
    /// Which limit, when `kind` is [`ErrorKind::Limit`].
    pub limit: Option<Limit>,
    /// The script's name.
    pub name: String,
    /// Its source.
    pub src: String,
    /// The message, without position.
    pub message: String,
    /// 1-based line and column, if known.
    pub pos: Option<(usize, usize)>,
    /// Script functions the error passed through, outermost first:
    /// (function, line, column of the call). A closure is named `anon$…`
    /// by Rhai; [`WORLD_FRAME`] marks the call that ran the world in which
    /// a hook failed.
    pub calls: Vec<(String, usize, usize)>,
    /// For a failed assertion: the value expected, as Rhai's debug form.
    pub expected: Option<String>,
    /// For a failed assertion: the value found.
    pub actual: Option<String>,
    /// The library function (stdlib module or imported file) that raised
    /// it, when that is not the script itself: "testing::assert_log".
    pub raised_in: Option<String>,
    /// When Rhai lost the exact position of a limit reached in a function
    /// called from outside the script (a hook, a callback, a test): that
    /// function, at the start of whose body `pos` is.
    pub inside: Option<String>,
    /// The help line of an error naming something that does not exist:
    /// what was probably meant, what there is (suggest.rs).
    pub hint: Option<String>,
    /// For the event and wall-time limits: how far the run had come (a
    /// note) and which flag to raise to about what (the help line), from
    /// what it measured (advice.rs).
    pub advice: Option<(String, String)>,
    /// When `src` is made of parts with names of their own (the REPL's
    /// inputs): (name, the part's first line in `src`, its text). Each
    /// position is then shown in its part, as `<input 4>:1:9`.
    pub parts: Vec<(String, usize, String)>,
}

/// The name of the frame that stands for "the world ran here" between the
/// call that ran it (`sim.run()`) and the hook that failed inside it.
pub const WORLD_FRAME: &str = "(the world)";

fn pos_of(p: Position) -> Option<(usize, usize)> {
    match (p.line(), p.position()) {
        (Some(l), Some(c)) => Some((l, c)),
        (Some(l), None) => Some((l, 1)),
        _ => None,
    }
}

/// A value as an assertion report shows it: strings quoted, the rest in
/// Rhai's debug form.
pub fn show(d: &Dynamic) -> String {
    if d.is_string() {
        format!("{:?}", d.clone().into_string().unwrap_or_default())
    } else {
        format!("{d:?}")
    }
}

/// The value an assertion throws: a map `#{assertion, message, expected,
/// actual}` (the last two only for comparisons). A script that catches it
/// can read the fields; the reports below read them too.
pub fn assertion_value(
    assertion: &str,
    message: String,
    expected_actual: Option<(Dynamic, Dynamic)>,
) -> Dynamic {
    let mut m = Map::new();
    m.insert("assertion".into(), assertion.into());
    m.insert("message".into(), message.into());
    if let Some((expected, actual)) = expected_actual {
        m.insert("expected".into(), expected);
        m.insert("actual".into(), actual);
    }
    Dynamic::from_map(m)
}

/// (message, expected, actual) of a thrown assertion map.
fn as_assertion(v: &Dynamic) -> Option<(String, Option<String>, Option<String>)> {
    let m = v.read_lock::<Map>()?;
    m.get("assertion")?;
    let message = m
        .get("message")
        .map(|s| s.to_string())
        .unwrap_or_else(|| "assertion failed".into());
    let field = |k: &str| m.get(k).map(show);
    Some((message, field("expected"), field("actual")))
}

fn limit_message(limit: Limit, limits: Option<&Limits>, what: &str) -> String {
    // "more than 64" when the host said what the limit was, "too many" when not.
    let over = |f: fn(&Limits) -> usize, unit: &str| match limits {
        Some(l) => format!("more than {} {unit}", f(l)),
        None => format!("too many {unit}"),
    };
    match limit {
        Limit::Operations => format!(
            "operation limit reached: the script ran {} in one evaluation",
            over(|l| l.max_operations as usize, "operations")
        ),
        // The stack ran out before the flag's depth (deep.rs words it).
        Limit::CallDepth if !what.is_empty() => what.to_string(),
        Limit::CallDepth => format!(
            "call-depth limit reached: {} were nested",
            over(|l| l.max_call_levels, "calls")
        ),
        Limit::StringSize => format!(
            "string-size limit reached: a string grew to {}",
            over(|l| l.max_string_size, "bytes")
        ),
        Limit::ArraySize => format!(
            "array-size limit reached: an array grew to {}",
            over(|l| l.max_array_size, "elements")
        ),
        Limit::MapSize => format!(
            "map-size limit reached: a map grew to {}",
            over(|l| l.max_map_size, "entries")
        ),
        // The world and the wall-time check word these themselves; the
        // flag they may name is in the report's help line already.
        Limit::Events | Limit::VirtualTime | Limit::WallTime => match what.find(" (--") {
            Some(i) => what[..i].to_string(),
            None => what.to_string(),
        },
    }
}

/// The model's own refusals start with an errno name (xenstore) or with
/// "Error: " (xm), exactly as the real tools print them.
fn is_model_error(msg: &str) -> bool {
    if msg.starts_with("Error: ") {
        return true;
    }
    msg.split_once(": ").is_some_and(|(head, _)| {
        head.len() > 1
            && head.starts_with('E')
            && head
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    })
}

fn model_help(msg: &str) -> Option<&'static str> {
    let errno = msg.split_once(": ").map_or("", |(h, _)| h);
    Some(match errno {
        "EACCES" => "xenstored checks the node's permissions against the connection: a guest (xs.as_domain(id)) may only touch what they grant it; xs.perms(path) shows them",
        "ENOENT" => "there is no such node, watch or transaction; xs.ls(parent) shows what exists",
        "EAGAIN" => "the transaction conflicted with a change made while it was open; run it again",
        "EQUOTA" | "ENOSPC" | "E2BIG" => "the connection is over a xenstored quota",
        "EINVAL" => "the request is malformed (a path is absolute, or relative to the domain's home)",
        "EEXIST" => "the node or watch already exists",
        "Error" if msg.contains("does not exist") => "xm.list() shows the domains that exist",
        _ => return None,
    })
}

impl ScriptError {
    /// A parse error.
    pub fn parse(name: &str, src: &str, e: ParseError) -> ScriptError {
        let mut err = ScriptError::new(ErrorKind::Parse, name, src, e.0.to_string());
        err.pos = pos_of(e.1);
        err
    }

    fn new(kind: ErrorKind, name: &str, src: &str, message: String) -> ScriptError {
        ScriptError {
            kind,
            limit: None,
            name: name.into(),
            src: src.into(),
            message,
            pos: None,
            calls: Vec::new(),
            expected: None,
            actual: None,
            raised_in: None,
            inside: None,
            hint: None,
            advice: None,
            parts: Vec::new(),
        }
    }

    /// A runtime error (following calls into script functions and closures).
    pub fn runtime(name: &str, src: &str, e: EvalAltResult) -> ScriptError {
        ScriptError::runtime_under(name, src, e, None)
    }

    /// A runtime error; a limit's message names the value it was set to.
    pub fn runtime_under(
        name: &str,
        src: &str,
        e: EvalAltResult,
        limits: Option<&Limits>,
    ) -> ScriptError {
        // Unwrap the chain of calls. A frame whose function comes from
        // another source (a stdlib module, an imported file) is library
        // code: the error is reported at the call that entered it.
        let mut calls = Vec::new();
        let mut entry: Option<(usize, usize)> = None;
        let mut raised_in = None;
        let mut e = e;
        while let EvalAltResult::ErrorInFunctionCall(f, source, inner, p) = e {
            let foreign = !source.is_empty() && source != name;
            if foreign && raised_in.is_none() {
                entry = pos_of(p);
                let module = source.trim_end_matches(".rhai");
                let module = module.strip_prefix("stdlib/").unwrap_or(module);
                raised_in = Some(format!("{module}::{f}"));
            } else if raised_in.is_none() {
                if let Some((l, c)) = pos_of(p) {
                    calls.push((f, l, c));
                }
            }
            e = *inner;
        }
        let pos = entry.or_else(|| pos_of(e.position()));
        let mut err = ScriptError::new(ErrorKind::Runtime, name, src, String::new());
        err.pos = pos;
        err.calls = calls;
        err.raised_in = raised_in;
        let limit = match &e {
            EvalAltResult::ErrorTooManyOperations(_) => Some(Limit::Operations),
            EvalAltResult::ErrorStackOverflow(_) => Some(Limit::CallDepth),
            EvalAltResult::ErrorDataTooLarge(what, _) if what.contains("string") => {
                Some(Limit::StringSize)
            }
            EvalAltResult::ErrorDataTooLarge(what, _) if what.contains("map") => {
                Some(Limit::MapSize)
            }
            EvalAltResult::ErrorDataTooLarge(..) => Some(Limit::ArraySize),
            EvalAltResult::ErrorTerminated(v, _) | EvalAltResult::ErrorRuntime(v, _) => {
                Limit::of_message(&v.to_string())
            }
            _ => None,
        };
        if let Some(limit) = limit {
            let what = match &e {
                EvalAltResult::ErrorTerminated(v, _) | EvalAltResult::ErrorRuntime(v, _) => {
                    v.to_string()
                }
                _ => String::new(),
            };
            err.kind = ErrorKind::Limit;
            err.limit = Some(limit);
            err.message = limit_message(limit, limits, &what);
            return err;
        }
        match &e {
            EvalAltResult::ErrorRuntime(v, _) => {
                if let Some((message, expected, actual)) = as_assertion(v) {
                    err.kind = ErrorKind::Assertion;
                    err.message = message;
                    err.expected = expected;
                    err.actual = actual;
                } else {
                    err.message = v.to_string();
                    if is_model_error(&err.message) {
                        err.kind = ErrorKind::Model;
                    }
                }
            }
            EvalAltResult::ErrorTerminated(v, _) => err.message = v.to_string(),
            EvalAltResult::ErrorFunctionNotFound(sig, _) => {
                // Rhai names the Rust types of the arguments; a script
                // knows `string`, not `&str | ImmutableString | String`.
                err.message = match sig.split_once(" (") {
                    Some((name, args)) => format!(
                        "Function not found: {name} ({})",
                        crate::suggest::script_types(args.strip_suffix(')').unwrap_or(args))
                    ),
                    None => format!("Function not found: {sig}"),
                };
            }
            other => {
                let mut s = other.to_string();
                if let Some(i) = s.rfind(" (line ") {
                    s.truncate(i);
                }
                err.message = s;
            }
        }
        err
    }

    /// An error a hook or callback raised while the world ran, which
    /// surfaced at `outer` (the `sim.run()` that ran the world): reported in
    /// the hook, with the calls that led to the run labelled too.
    pub fn in_world(
        name: &str,
        src: &str,
        hook_error: EvalAltResult,
        outer: EvalAltResult,
        limits: Option<&Limits>,
    ) -> ScriptError {
        let mut err = ScriptError::runtime_under(name, src, hook_error, limits);
        let outer = ScriptError::runtime_under(name, src, outer, limits);
        if let Some((l, c)) = outer.pos {
            let mut calls = outer.calls;
            calls.push((WORLD_FRAME.to_string(), l, c));
            calls.append(&mut err.calls);
            err.calls = calls;
        }
        err
    }

    /// A limit reached outside Rhai (events, virtual time) with no position.
    pub fn limit(name: &str, src: &str, message: String) -> ScriptError {
        let mut err = ScriptError::new(ErrorKind::Limit, name, src, message);
        err.limit = Limit::of_message(&err.message);
        err
    }

    fn span_at(&self, line: usize, col: usize) -> Range<usize> {
        span_in(&self.src, line, col)
    }

    /// Where line `line`, column `col` of `src` is shown: the part holding
    /// it and the span there, or `src` itself under `name`.
    fn place(&self, line: usize, col: usize) -> (String, Range<usize>) {
        let part = self
            .parts
            .iter()
            .find(|(_, first, text)| line >= *first && line < first + text.lines().count().max(1));
        match part {
            Some((name, first, text)) => (name.clone(), span_in(text, line - first + 1, col)),
            None => (self.name.clone(), self.span_at(line, col)),
        }
    }

    /// The report's first line, after `Error: `.
    pub fn title(&self) -> String {
        let first = self.message.lines().next().unwrap_or("");
        match self.kind {
            ErrorKind::Parse => format!("syntax error: {first}"),
            ErrorKind::Runtime => format!("script error: {first}"),
            ErrorKind::Assertion => first.to_string(),
            ErrorKind::Model if first.starts_with("Error: ") => {
                format!("xm: {}", &first["Error: ".len()..])
            }
            ErrorKind::Model => format!("xenstore: {first}"),
            ErrorKind::Limit => first.to_string(),
        }
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        // A message of several lines (a Python traceback from xend, a
        // hook's report) keeps its other lines as a note.
        let rest: Vec<&str> = self.message.lines().skip(1).collect();
        if !rest.is_empty() {
            notes.push(rest.join("\n"));
        }
        match (&self.expected, &self.actual) {
            (Some(e), Some(a)) => notes.push(format!("expected: {e}\n  actual: {a}")),
            (Some(e), None) => notes.push(format!("expected: {e}")),
            (None, Some(a)) => notes.push(format!("actual: {a}")),
            (None, None) => {}
        }
        if let Some(f) = &self.raised_in {
            notes.push(format!("raised in {f}"));
        }
        if let Some((note, _)) = &self.advice {
            notes.push(note.clone());
        }
        // The one step Rhai counts with no position is indexing (its
        // `get_indexed_mut`): say so rather than leave the reader guessing.
        if self.pos.is_none() && matches!(self.limit, Some(Limit::Operations | Limit::WallTime)) {
            notes.push(
                "Rhai gives no line for the step it was on: an index or property access (a[i], o.x)"
                    .to_string(),
            );
        }
        notes
    }

    fn help(&self) -> Option<String> {
        match self.kind {
            ErrorKind::Limit => match &self.advice {
                Some((_, help)) => Some(help.clone()),
                None => self.limit.map(Limit::help),
            },
            ErrorKind::Model => model_help(&self.message).map(str::to_string),
            _ => self.hint.clone(),
        }
    }

    fn label_text(&self) -> String {
        match self.kind {
            ErrorKind::Assertion => "this assertion failed".into(),
            ErrorKind::Limit => match &self.inside {
                Some(f) if f.starts_with("anon$") => "reached while running this closure".into(),
                Some(f) => format!("reached while running {f}()"),
                None => "reached while running this".into(),
            },
            _ => self.message.lines().next().unwrap_or("").to_string(),
        }
    }

    /// The report, coloured or plain.
    pub fn render(&self, color: bool) -> String {
        let Some((l, c)) = self.pos else {
            let mut s = format!("Error: {}\n  --> {}\n", self.title(), self.name);
            for n in self.notes() {
                s.push_str(&format!("  = note: {}\n", n.replace('\n', "\n          ")));
            }
            if let Some(h) = self.help() {
                s.push_str(&format!("  = help: {h}\n"));
            }
            return s;
        };
        let (id, span) = self.place(l, c);
        let mut b = Report::build(ReportKind::Error, (id.clone(), span.clone()))
            .with_config(Config::default().with_color(color))
            .with_message(self.title())
            .with_label(
                Label::new((id.clone(), span))
                    .with_message(self.label_text())
                    .with_order(0),
            );
        for (i, (f, cl, cc)) in self.calls.iter().rev().enumerate() {
            let what = if f == WORLD_FRAME {
                "the world was running from this call".to_string()
            } else if f.starts_with("anon$") {
                "in this closure call".to_string()
            } else {
                format!("in this call to {f}")
            };
            b = b.with_label(
                Label::new(self.place(*cl, *cc))
                    .with_message(what)
                    .with_order(i as i32 + 1),
            );
        }
        for n in self.notes() {
            b = b.with_note(n);
        }
        if let Some(h) = self.help() {
            b = b.with_help(h);
        }
        let mut out = Vec::new();
        let mut texts: Vec<(String, String)> = self
            .parts
            .iter()
            .map(|(n, _, t)| (n.clone(), t.clone()))
            .collect();
        texts.push((self.name.clone(), self.src.clone()));
        let _ = b.finish().write(ariadne::sources(texts), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Exit code: 1 for a script error or failed assertion, 3 for a limit.
    pub fn exit_code(&self) -> u8 {
        match self.kind {
            ErrorKind::Limit => 3,
            _ => 1,
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

/// The character offset of line `line`, column `col` (both from 1) in `src`.
fn offset(src: &str, line: usize, col: usize) -> usize {
    // Rhai counts characters; ariadne's default index type is Char too.
    let mut off = 0;
    for (i, l) in src.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return off + col.saturating_sub(1).min(l.chars().count());
        }
        off += l.chars().count();
    }
    off
}

/// The span a report underlines for a position: the word there.
fn span_in(src: &str, line: usize, col: usize) -> Range<usize> {
    // A position at the end of a line or of the file (an unclosed
    // block) is shown on the last character before it.
    let chars: Vec<char> = src.chars().collect();
    let mut start = offset(src, line, col).min(chars.len());
    while start > 0 && chars.get(start).is_none_or(|c| *c == '\n') {
        start -= 1;
    }
    let rest: String = src.chars().skip(start).take(64).collect();
    let len = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
        .count()
        .max(1);
    start..start + len
}
