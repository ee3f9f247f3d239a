//! One REPL session: a world and an engine that live across inputs, the
//! variables and functions defined so far, and the `:commands`.
//!
//! Every input is compiled as if it followed all earlier ones in a single
//! transcript (it is padded with the transcript's line count), so positions
//! stay valid across inputs: a hook defined in one input that fails during
//! a later `sim.run()` is reported with both lines. A report that falls
//! inside one input (or one `:load`ed file) is shown against that input
//! alone, with its own line numbers.

use std::rc::Rc;

use rhai::{Dynamic, Scope, AST};
use xsh_script::{apidoc, stacks, Host, Limits, ScriptError};
use xsh_sim::probe::PROBE_DEFS;
use xsh_sim::stack::CtxId;
use xsh_sim::Config;

use super::complete::{Candidates, COMMANDS};

/// The source name of the whole transcript in reports that span inputs.
const TRANSCRIPT: &str = "<session>";

/// An input, or a file loaded into the session, within the transcript.
struct Segment {
    /// Its first line in the transcript (1-based).
    first: usize,
    /// How many lines it has.
    lines: usize,
    /// Its name in reports: `<input 3>`, or the file's path.
    name: String,
    /// Its text.
    text: String,
}

/// What an input did.
pub enum Outcome {
    /// Nothing to show.
    Quiet,
    /// Text to print (a value, a command's answer).
    Show(String),
    /// An error report (already rendered).
    Error(String),
    /// `:quit`.
    Quit,
}

/// A REPL session.
pub struct Session {
    host: Host,
    scope: Scope<'static>,
    /// Every function defined so far, with no statements.
    lib: AST,
    transcript: String,
    lines: usize,
    segments: Vec<Segment>,
    config: Config,
    limits: Limits,
    color: bool,
    /// The script call chain of the last error, for `:stack`.
    last_calls: Vec<(String, usize, usize)>,
    /// What stops a running input when the user presses Ctrl-C.
    interrupt: Option<Rc<dyn Fn() -> bool>>,
    /// Completion's view of the engine: members, functions, globals.
    api: Candidates,
    /// Code inputs so far, to name them in reports.
    inputs: usize,
    /// Inputs that failed, for a piped session's exit code.
    pub failures: usize,
}

impl Session {
    /// A fresh session; `color` is for its reports.
    pub fn new(config: Config, limits: Limits, color: bool) -> Session {
        let host = Host::new(config.clone(), limits.clone());
        host.state.echo.set(true);
        // What the engine offers does not change during a session: read it
        // once (the globals as the API reference finds them).
        let mut api = Candidates::default();
        api.learn_signatures(&host.engine.gen_fn_signatures(false));
        let reference = apidoc::collect(&host);
        for (g, ty) in &reference.globals {
            api.variables.insert(g.clone(), ty.clone());
        }
        // What each member gives, for completing after `dom.kernel.`.
        for item in &reference.items {
            if let (Some(t), Some((_, ret))) = (&item.receiver, item.overloads.first()) {
                if ret != "?" && ret != "()" {
                    api.returns
                        .insert((t.clone(), item.name.clone()), ret.clone());
                }
            }
        }
        Session {
            host,
            scope: Scope::new(),
            lib: AST::empty(),
            transcript: String::new(),
            lines: 0,
            segments: Vec::new(),
            config,
            limits,
            color,
            last_calls: Vec::new(),
            api,
            interrupt: None,
            inputs: 0,
            failures: 0,
        }
    }

    /// Lets `pressed()` stop a running input (and `sim.run()`) as Ctrl-C.
    pub fn on_interrupt(&mut self, pressed: Rc<dyn Fn() -> bool>) {
        *self.host.state.interrupt.borrow_mut() = Some(pressed.clone());
        self.interrupt = Some(pressed);
    }

    /// Runs one input: a `:command` or Rhai code.
    pub fn input(&mut self, text: &str) -> Outcome {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Outcome::Quiet;
        }
        if let Some(cmd) = trimmed.strip_prefix(':') {
            return self.command(cmd);
        }
        if let Some(name) = trimmed.strip_prefix('?') {
            return self.doc(name.trim());
        }
        self.inputs += 1;
        let name = format!("<input {}>", self.inputs);
        self.eval(&name, text)
    }

    /// Runs a script file in the session (`xsh repl SCRIPT`, `:load`).
    pub fn load(&mut self, path: &str) -> Outcome {
        match std::fs::read_to_string(path) {
            Ok(text) => self.eval(path, &text),
            Err(e) => self.fail(format!("error: cannot read {path}: {e}\n")),
        }
    }

    /// Why the script's output could not be written to stdout, if it
    /// could not (`print` keeps going; the session's exit says so).
    pub fn stdout_error(&self) -> Option<String> {
        self.host.state.echo_error.borrow_mut().take()
    }

    fn fail(&mut self, report: String) -> Outcome {
        self.failures += 1;
        Outcome::Error(report)
    }

    fn eval(&mut self, name: &str, text: &str) -> Outcome {
        let mut text = text.to_string();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let padded = format!("{}{text}", "\n".repeat(self.lines));
        let full = format!("{}{text}", self.transcript);
        let segment = Segment {
            first: self.lines + 1,
            lines: text.lines().count(),
            name: name.to_string(),
            text: text.clone(),
        };
        let compiled = self.host.engine.compile_with_scope(&self.scope, &padded);
        let mut ast = match compiled {
            Ok(ast) => ast,
            Err(e) => {
                // Nothing of a malformed input is kept.
                let err = ScriptError::parse(TRANSCRIPT, &full, e);
                return self.report(err, Some(&segment));
            }
        };
        ast.set_source(TRANSCRIPT);
        let merged = self.lib.merge(&ast);
        self.transcript = full.clone();
        self.lines += segment.lines;
        self.segments.push(segment);
        let result =
            self.host
                .eval_in_scope(TRANSCRIPT, &full, &mut self.scope, Rc::new(merged.clone()));
        self.lib = merged;
        self.lib.clear_statements();
        match result {
            Ok(v) => self.show_value(v),
            Err(e) => self.report(e, None),
        }
    }

    /// Strings print as they are (logs, backtraces); other values as Rhai's
    /// debug form after `=>`; `()` not at all.
    fn show_value(&mut self, v: Dynamic) -> Outcome {
        if v.is_unit() {
            return Outcome::Quiet;
        }
        if v.is_string() {
            return Outcome::Show(v.into_string().unwrap_or_default());
        }
        let mut scope = Scope::new();
        scope.push("__value", v.clone());
        let shown = self
            .host
            .engine
            .eval_with_scope::<String>(&mut scope, "__value.to_debug()")
            .unwrap_or_else(|_| format!("{v:?}"));
        Outcome::Show(format!("=> {shown}"))
    }

    fn report(&mut self, mut err: ScriptError, pending: Option<&Segment>) -> Outcome {
        self.last_calls = err.calls.clone();
        let lines: Vec<usize> = err
            .pos
            .iter()
            .map(|p| p.0)
            .chain(err.calls.iter().map(|c| c.1))
            .collect();
        let within = |s: &Segment| {
            !lines.is_empty()
                && lines
                    .iter()
                    .all(|l| *l >= s.first && *l < s.first + s.lines.max(1))
        };
        let home = pending
            .filter(|s| within(s))
            .or_else(|| self.segments.iter().find(|s| within(s)));
        if let Some(s) = home {
            let shift = s.first - 1;
            err.name = s.name.clone();
            err.src = s.text.clone();
            err.pos = err.pos.map(|(l, c)| (l - shift, c));
            for call in &mut err.calls {
                call.1 -= shift;
            }
        } else {
            // Positions in several inputs (a hook written in one failed
            // while another ran the world): each is shown in its own
            // input, named as a single input's error is.
            err.parts = self
                .segments
                .iter()
                .chain(pending)
                .map(|s| (s.name.clone(), s.first, s.text.clone()))
                .collect();
        }
        let rendered = err.render(self.color);
        self.fail(rendered)
    }

    /// `<input 4>:1:9` for line `line` (of the whole session), column `col`:
    /// positions are named by input everywhere, as the reports name them.
    fn position(&self, line: usize, col: usize) -> String {
        match self
            .segments
            .iter()
            .find(|s| line >= s.first && line < s.first + s.lines.max(1))
        {
            Some(s) => format!("{}:{}:{col}", s.name, line - s.first + 1),
            None => format!("{TRANSCRIPT}:{line}:{col}"),
        }
    }

    /// `?name`: the doc of a global, a member or function, or a probe.
    fn doc(&mut self, name: &str) -> Outcome {
        if name.is_empty() {
            return Outcome::Show(
                "?NAME shows the doc of a global (?xm), a member (?sim.run_for, ?run_for) or a probe (?xen:domain_shutdown)".into(),
            );
        }
        let mut found = apidoc::lookup(&apidoc::collect(&self.host), name);
        found.extend(PROBE_DEFS.iter().filter(|d| d.name == name).map(|d| {
            format!(
                "{}({}) -> {}\n    {}",
                d.name,
                d.args.join(", "),
                d.result,
                d.doc
            )
        }));
        if found.is_empty() {
            let mut near: Vec<&str> = PROBE_DEFS
                .iter()
                .map(|d| d.name)
                .filter(|n| n.contains(name))
                .take(5)
                .collect();
            near.sort();
            let hint = if near.is_empty() {
                String::new()
            } else {
                format!(" (probes containing it: {})", near.join(", "))
            };
            return Outcome::Show(format!("nothing is documented as {name:?}{hint}"));
        }
        Outcome::Show(found.join("\n\n"))
    }

    /// What completion needs: the engine's members and functions, the
    /// globals' and variables' types, the script functions defined so far.
    pub fn candidates(&self) -> Candidates {
        let mut c = self.api.clone();
        for (name, _, value) in self.scope.iter_raw() {
            let ty = self.host.engine.map_type_name(value.type_name());
            c.variables.insert(name.to_string(), ty.to_string());
        }
        for f in self.lib.iter_functions() {
            if !f.name.starts_with("anon$") {
                c.functions.insert(f.name.to_string());
            }
        }
        c
    }

    fn command(&mut self, cmd: &str) -> Outcome {
        let (name, arg) = cmd.split_once(char::is_whitespace).unwrap_or((cmd, ""));
        let arg = arg.trim();
        match name {
            "help" | "h" | "?" => Outcome::Show(help()),
            "quit" | "q" | "exit" => Outcome::Quit,
            "probes" => probes(arg),
            "stack" => Outcome::Show(self.stacks()),
            "logs" => self.logs(arg),
            "xs" => self.xenstore(if arg.is_empty() { "/" } else { arg }),
            "step" => self.step(arg),
            "run" => self.run(),
            "reset" => {
                let (failures, interrupt) = (self.failures, self.interrupt.take());
                *self = Session::new(self.config.clone(), self.limits.clone(), self.color);
                self.failures = failures;
                if let Some(f) = interrupt {
                    self.on_interrupt(f);
                }
                Outcome::Show("a fresh world".into())
            }
            "load" if !arg.is_empty() => self.load(arg),
            "load" => self.fail("error: :load needs a file: :load FILE\n".into()),
            _ => self.fail(format!(
                "error: unknown command :{cmd} (:help lists the commands)\n"
            )),
        }
    }

    fn stacks(&self) -> String {
        let sim = self.host.sim();
        let ctxs = sim.ctxs.borrow();
        // A pCPU in its idle loop is in no call worth showing.
        let idle = |c: CtxId| {
            let stack = &ctxs.get(c).stack;
            stack.len() == 1 && stack[0].probe.name().ends_with("idle_loop")
        };
        let all: Vec<CtxId> = (0..ctxs.len() as u32).map(CtxId).collect();
        let idle_cpus = all.iter().filter(|c| idle(**c)).count();
        let busy: Vec<(CtxId, String, xsh_sim::probe::Layer)> = all
            .into_iter()
            .filter(|c| !ctxs.get(*c).stack.is_empty() && !idle(*c))
            .map(|c| (c, ctxs.get(c).name.to_string(), ctxs.get(c).layer))
            .collect();
        drop(ctxs);
        let mut out = String::new();
        if idle_cpus > 0 {
            out.push_str(&format!("({idle_cpus} pCPUs in their idle loop)\n"));
        }
        if busy.is_empty() {
            out.push_str("no other context is inside a call\n");
        }
        for (ctx, name, layer) in busy {
            out.push_str(&format!("== {name} ==\n"));
            out.push_str(stacks::backtrace(sim, ctx, layer).trim_end());
            out.push('\n');
        }
        if !self.last_calls.is_empty() {
            out.push_str("== the last error's script calls ==\n");
            for (f, l, c) in &self.last_calls {
                out.push_str(&format!("  {f} called at {}\n", self.position(*l, *c)));
            }
        }
        out.trim_end().to_string()
    }

    fn logs(&mut self, arg: &str) -> Outcome {
        let (which, domain) = arg.split_once(' ').unwrap_or((arg, ""));
        let logs = self.host.sim().logs.borrow();
        let text = match which {
            "" | "xend" => Some(logs.xend.text().to_string()),
            "xen" => Some(logs.xen.text().to_string()),
            "qemu" | "console" => {
                let prefix = if which == "qemu" {
                    "qemu-dm-"
                } else {
                    "console-"
                };
                let names: Vec<&String> = logs
                    .files
                    .keys()
                    .filter(|n| n.starts_with(prefix))
                    .collect();
                let wanted = format!("{prefix}{}.log", domain.trim());
                match (domain.trim().is_empty(), names.as_slice()) {
                    (true, [only]) => logs.files.get(*only).map(|s| s.text().to_string()),
                    (true, _) => Some(format!(
                        "which domain? {}",
                        names
                            .iter()
                            .map(|n| n.trim_start_matches(prefix).trim_end_matches(".log"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                    (false, _) => logs.files.get(&wanted).map(|s| s.text().to_string()),
                }
            }
            _ => None,
        };
        drop(logs);
        match text {
            Some(t) if t.is_empty() => Outcome::Show("(empty)".into()),
            Some(t) => Outcome::Show(t.trim_end().to_string()),
            None => self.fail(format!(
                "error: no such log: {arg} (xend, xen, qemu NAME, console NAME)\n"
            )),
        }
    }

    fn xenstore(&mut self, path: &str) -> Outcome {
        let dump = self.host.sim().xs.borrow().dump(path, false);
        match dump {
            // A node without children: show its own value, as
            // `xenstore-ls` shows a leaf's line.
            Some(d) if d.is_empty() => {
                let mut scope = Scope::new();
                scope.push("__path", path.to_string());
                let value = self
                    .host
                    .engine
                    .eval_with_scope::<String>(&mut scope, "xs.read(__path)")
                    .unwrap_or_default();
                let leaf = path.rsplit('/').next().unwrap_or(path);
                Outcome::Show(format!("{leaf} = {value:?}"))
            }
            Some(d) => Outcome::Show(d.trim_end().to_string()),
            None => self.fail(format!("error: ENOENT: {path}\n")),
        }
    }

    fn step(&mut self, arg: &str) -> Outcome {
        let n: usize = if arg.is_empty() {
            1
        } else {
            match arg.parse() {
                Ok(n) => n,
                Err(_) => return self.fail(format!("error: :step N wants a count, not {arg:?}\n")),
            }
        };
        let sim = self.host.sim().clone();
        let first_call = sim.trace.borrow().calls.len();
        let mut ran = 0;
        while ran < n && sim.step().is_some() {
            ran += 1;
            if let Some(msg) = sim.take_abort() {
                // A hook's error, or the world's own stop (a limit).
                let e = match self.host.state.take_pending() {
                    Some(e) => *e,
                    None => rhai::EvalAltResult::ErrorRuntime(msg.into(), rhai::Position::NONE),
                };
                let err =
                    ScriptError::runtime_under(TRANSCRIPT, &self.transcript, e, Some(&self.limits));
                return self.report(err, None);
            }
        }
        let mut out = String::new();
        let trace = sim.trace.borrow();
        let ctxs = sim.ctxs.borrow();
        for c in &trace.calls[first_call.min(trace.calls.len())..] {
            out.push_str(&format!(
                "{:>12.6}  {:<32} {}\n",
                c.time.as_secs_f64(),
                ctxs.get(c.ctx).name,
                c.probe.name()
            ));
        }
        out.push_str(&format!(
            "{ran} event(s); now {:.6} s; {} queued",
            sim.now().as_secs_f64(),
            sim.exec.queued()
        ));
        Outcome::Show(out)
    }

    fn run(&mut self) -> Outcome {
        let r = self.host.state.run_world(None);
        match r {
            Ok(()) => Outcome::Show(format!(
                "idle at {:.6} s",
                self.host.sim().now().as_secs_f64()
            )),
            Err(e) => {
                let err = self.host.error(TRANSCRIPT, &self.transcript, *e);
                self.report(err, None)
            }
        }
    }
}

fn help() -> String {
    let mut s = String::from(
        "Type Rhai: each input runs in this session's world (sim, xm, xs, xen, xend), and\n\
         variables, functions and hooks stay. A value is shown after =>. An input goes on\n\
         while a (, [ or { is open or the line ends on an operator. Tab completes names,\n\
         members after `.` (also of `dom.kernel.`), probes in a string. ?NAME shows the doc\n\
         of a global, a member or a probe (?sim.run_for, ?xen:domain_shutdown).\n\n",
    );
    for (c, what) in COMMANDS {
        s.push_str(&format!("  {c:<42} {what}\n"));
    }
    s.push_str("\nDocs: docs/api.md (the script API), docs/probes.md, docs/hooks.md.");
    s
}

fn probes(pattern: &str) -> Outcome {
    let p = pattern.to_lowercase();
    let lines: Vec<String> = PROBE_DEFS
        .iter()
        .filter(|d| d.name.to_lowercase().contains(&p))
        .map(|d| {
            format!(
                "{}({}) -> {}\n    {}",
                d.name,
                d.args.join(", "),
                d.result,
                d.doc
            )
        })
        .collect();
    if lines.is_empty() {
        Outcome::Show(format!("no probe matches {pattern:?}"))
    } else {
        Outcome::Show(lines.join("\n"))
    }
}
