//! What a script can observe, read from its text before it runs, so that the
//! world records only that: a script that asks for nothing pays for nothing.
//!
//! The model's work is the same either way (the same events, requests and
//! log bytes); what changes is what the world keeps beside it:
//! - call frames, which only stacks read (`ctx.stack()`, `backtrace()`,
//!   `format_stack()`, `xend.log_info` logging at the frame's line);
//! - causal hops, which only `ctx.chain()` and the run's outputs read;
//! - the trace of every call, which `sim.events()` and the run's outputs
//!   (`--trace`, `--timeline`, `--sequence`, `sim.write_*`) read;
//! - the logs' text in memory, which `xend.log()`, `dom.console()`,
//!   `dom.qemu.log()` and `xen.console()` read (with `--log-dir` the logs
//!   go to their files whatever the script reads).
//!
//! A script is read as a whole, closures and functions included, and so is
//! every stdlib module it imports. What cannot be read ahead — `eval` of a
//! string, a module imported from a file — turns everything on, as does a
//! script that sets `sim.tracing` itself (it then decides). A name counts
//! wherever it appears, even as a string (`Fn("backtrace")`).

use std::collections::BTreeSet;

use rhai::{ASTNode, Expr, Stmt};
use rhai::{Engine, AST};

/// What the world records for its observers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct Observe {
    /// Every call pushes its frame.
    pub frames: bool,
    /// Causal hops are recorded.
    pub hops: bool,
    /// Every call is recorded in the trace.
    pub trace: bool,
    /// Logs keep their text in memory.
    pub logs: bool,
}

impl Observe {
    /// Everything on: what a world records when nothing is known of who
    /// reads it (the REPL, a test of the library).
    pub const ALL: Observe = Observe {
        frames: true,
        hops: true,
        trace: true,
        logs: true,
    };

    /// What the run's written outputs need (`--trace`, `--timeline`,
    /// `--sequence`): the trace, its hops and frames.
    pub const OUTPUTS: Observe = Observe {
        frames: true,
        hops: true,
        trace: true,
        logs: false,
    };

    /// Both sets of needs.
    pub fn union(self, o: Observe) -> Observe {
        Observe {
            frames: self.frames || o.frames,
            hops: self.hops || o.hops,
            trace: self.trace || o.trace,
            logs: self.logs || o.logs,
        }
    }

    /// Applies to a world: from now on it records what this says.
    pub fn apply(self, sim: &xsh_sim::Sim) {
        // A trace record names its caller and its cause: frames and hops go
        // with it.
        sim.tracing.set(self.trace);
        sim.frames.set(self.frames || self.trace || self.hops);
        {
            let mut ctxs = sim.ctxs.borrow_mut();
            ctxs.record_hops = self.hops || self.trace;
            // Only `ctx.chain(#{ stacks: true })` reads a hop's stack.
            ctxs.record_hop_stacks = self.hops;
            // A finished thread's context can go to the next thread only
            // if nothing will name it afterwards.
            ctxs.recycle = !(self.frames || self.hops || self.trace);
        }
        sim.logs.borrow_mut().set_keep(self.logs);
    }

    /// What a script (with the stdlib modules it imports) can observe.
    pub fn of_script(engine: &Engine, ast: &AST) -> Observe {
        let mut names = Names::default();
        names.collect(ast);
        let mut need = Observe::default();
        for m in std::mem::take(&mut names.imports) {
            match crate::stdlib::get(&m).and_then(|e| crate::stdlib::compile(engine, e).ok()) {
                Some(module) => need = need.union(Observe::of_script(engine, &module)),
                None => return Observe::ALL,
            }
        }
        if names.opaque {
            return Observe::ALL;
        }
        let has = |list: &[&str]| list.iter().any(|n| names.called.contains(*n));
        need.union(Observe {
            frames: has(FRAME_READERS),
            hops: has(HOP_READERS),
            trace: has(TRACE_READERS) || names.props.contains("tracing"),
            logs: has(LOG_READERS),
        })
    }

    /// What the stdlib modules an engine has as globals can observe
    /// (`xsh test` loads `testing` that way).
    pub fn of_globals(engine: &Engine, globals: &[&str]) -> Observe {
        globals
            .iter()
            .filter_map(|g| crate::stdlib::get(g))
            .filter_map(|m| crate::stdlib::compile(engine, m).ok())
            .fold(Observe::default(), |acc, ast| {
                acc.union(Observe::of_script(engine, &ast))
            })
    }
}

/// Refuses to read a log this run did not keep: a read the script's text
/// did not show (a name built at run time) gets an error, not an empty log.
pub fn logs_kept(sim: &xsh_sim::Sim) -> Result<(), Box<rhai::EvalAltResult>> {
    if sim.logs.borrow().keeps() {
        return Ok(());
    }
    crate::rt_err(
        "this run does not keep its logs in memory: nothing in the script's text reads them \
         (a call named at run time cannot be seen ahead); call xend.log(), dom.console(), \
         dom.qemu.log() or xen.console() by name, or write them with --log-dir",
    )
}

/// Refuses to print a stack this run did not record (see `logs_kept`).
pub fn frames_kept(sim: &xsh_sim::Sim) -> Result<(), Box<rhai::EvalAltResult>> {
    if sim.frames.get() || sim.tracing.get() {
        return Ok(());
    }
    crate::rt_err(
        "this run does not record call stacks: nothing in the script's text prints one \
         (a call named at run time cannot be seen ahead); call ctx.stack(), ctx.backtrace() \
         or ctx.format_stack() by name",
    )
}

/// Refuses to walk causal hops this run did not record (see `logs_kept`).
pub fn hops_kept(sim: &xsh_sim::Sim) -> Result<(), Box<rhai::EvalAltResult>> {
    if sim.ctxs.borrow().record_hops {
        return Ok(());
    }
    crate::rt_err(
        "this run does not record causal hops: nothing in the script's text asks for them \
         (a call named at run time cannot be seen ahead); call ctx.chain() by name, \
         or leave sim.tracing on",
    )
}

/// Functions that print or read call stacks.
const FRAME_READERS: &[&str] = &[
    "stack",
    "backtrace",
    "format_stack",
    "log_info",
    "log_debug",
];
/// Functions that walk causal hops.
const HOP_READERS: &[&str] = &["chain"];
/// Functions that read the trace of calls, or write it out. (A script that
/// uses the `sim.tracing` switch takes it in hand: it stays on until the
/// script says otherwise.)
const TRACE_READERS: &[&str] = &["events", "write_trace", "write_timeline", "write_sequence"];
/// Functions that read a log's text (`sim.key_lines()` looks for an
/// outcome's lines in every log).
const LOG_READERS: &[&str] = &["log", "console", "key_lines"];

/// Every name a script mentions: functions and methods called (and strings,
/// which `Fn("name")` calls), properties read or set; the modules it
/// imports; whether some of it cannot be read ahead. A property is not a
/// call: `stats.events` reads a map, `sim.events()` the trace.
#[derive(Default)]
struct Names {
    called: BTreeSet<String>,
    props: BTreeSet<String>,
    imports: Vec<String>,
    opaque: bool,
}

impl Names {
    fn collect(&mut self, ast: &AST) {
        ast.walk(&mut |path: &[ASTNode]| {
            match path.last() {
                Some(ASTNode::Expr(e)) => self.expr(e),
                Some(ASTNode::Stmt(Stmt::FnCall(f, _))) => self.call(f),
                Some(ASTNode::Stmt(Stmt::Import(x, _))) => match &x.0 {
                    Expr::StringConstant(s, _) => self.imports.push(s.to_string()),
                    _ => self.opaque = true,
                },
                _ => {}
            }
            true
        });
    }

    fn call(&mut self, f: &rhai::FnCallExpr) {
        if matches!(f.name.as_str(), "eval" | "call_fn") {
            self.opaque = true;
        }
        self.called.insert(f.name.to_string());
    }

    fn expr(&mut self, e: &Expr) {
        match e {
            Expr::FnCall(f, _) | Expr::MethodCall(f, _) => self.call(f),
            // `Fn("name")` of a constant name is folded into the pointer.
            Expr::DynamicConstant(d, _) => {
                if let Some(f) = d.read_lock::<rhai::FnPtr>() {
                    self.called.insert(f.fn_name().to_string());
                }
            }
            Expr::Property(p, _) => {
                self.props.insert(p.2.to_string());
            }
            Expr::StringConstant(s, _) => {
                self.called.insert(s.to_string());
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(src: &str) -> Observe {
        let engine = Engine::new();
        let ast = engine.compile(src).expect("compiles");
        Observe::of_script(&engine, &ast)
    }

    #[test]
    fn a_script_that_reads_nothing_records_nothing() {
        let o =
            of(r#"let d = xm.create(#{ name: "a" }); xm.shutdown(d); sim.run(); print(d.state);"#);
        assert_eq!(o, Observe::default());
    }

    #[test]
    fn each_reader_turns_on_what_it_reads() {
        assert!(of(r#"on("xen:domain_kill", |ctx| xend.log_debug(ctx.backtrace()));"#).frames);
        assert!(!of("let st = sim.stats(); print(st.events);").trace);
        assert!(of("sim.tracing = false;").trace);
        assert!(of(r#"on("qemu:destroy_hvm_domain", |ctx| print(ctx.chain()));"#).hops);
        assert!(of("fn f() { sim.events() } f();").trace);
        assert!(of("print(xend.log());").logs);
        assert!(of(r#"let d = 1; print(d.console());"#).logs);
        assert!(of(r#"let f = Fn("format_stack");"#).frames);
    }

    #[test]
    fn what_cannot_be_read_ahead_turns_everything_on() {
        assert_eq!(of(r#"eval("print(1)");"#), Observe::ALL);
        assert_eq!(of(r#"import "./helpers" as h;"#), Observe::ALL);
    }
}
