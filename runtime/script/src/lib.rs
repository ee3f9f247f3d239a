//! xsh-script: the Rhai host of xsh. It wraps a world (`xsh_sim::Sim`) in
//! the script API of DESIGN.md — globals `sim`, `xm`, `xs`, `xen`, `xend`,
//! Domain/kernel/qemu objects, `on`/`hook` — and runs scripts under limits.
//!
//! Start at [`Host`]. Then:
//! - `engine.rs` — the Engine: packages, limits, globals through `on_var`;
//! - `hooks.rs` — the only adapter between Rhai `FnPtr`s and the probe
//!   dispatcher (`HookHost`), and the probe context (`ctx`);
//! - `stacks.rs` — `ctx.backtrace()`, `format_stack()`, `chain()` in each
//!   layer's native format;
//! - `api/` — one file per global, same names as the model's layers;
//! - `convert.rs` — `Dynamic` ⇄ `Value`;
//! - `diag.rs` — errors with their script position, as ariadne reports;
//! - `deep.rs` — deep recursion (calls, nested values) stops, never aborts.

// ScriptError carries the source and position so a report can be rendered
// wherever the error surfaces; it is returned rarely, and boxing it would
// only move the allocation.
#![allow(clippy::result_large_err)]

pub mod advice;
pub mod api;
pub mod apidoc;
pub mod chain;
mod closure_body;
mod closure_call;
pub mod convert;
pub mod deep;
pub mod diag;
pub mod diagnose;
pub mod engine;
pub mod explore;
pub mod hooks;
pub mod observe;
pub mod output;
pub mod params;
pub mod progress;
pub mod stacks;
pub mod stdlib;
pub mod suggest;
pub mod testing;

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use indexmap::IndexMap;
use rhai::{Dynamic, Engine, EvalAltResult, FnPtr, Position, AST};
use xsh_sim::xenstore::{ConnId, Sink, WatchEvent};
use xsh_sim::{Config, RunEnd, Sim};

pub use diag::ScriptError;

/// Limits a script runs under (each has a CLI flag).
#[derive(Clone, Debug)]
pub struct Limits {
    /// Rhai operations per evaluation.
    pub max_operations: u64,
    /// Script call depth.
    pub max_call_levels: usize,
    /// Bytes in one string.
    pub max_string_size: usize,
    /// Elements in one array.
    pub max_array_size: usize,
    /// Entries in one map.
    pub max_map_size: usize,
    /// Wall-clock seconds for the whole run (checked between operations).
    pub max_wall_secs: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // Rhai runs ~10-20 M operations a second: an endless loop stops
            // within a second or so, while a scenario's script (a few
            // thousand operations; each hook call has its own budget) is far
            // below it.
            max_operations: 10_000_000,
            max_call_levels: 64,
            max_string_size: 16 << 20,
            max_array_size: 1 << 20,
            max_map_size: 1 << 16,
            max_wall_secs: 60.0,
        }
    }
}

/// Parameter counts of a script's functions, by name (several for an
/// overloaded name). Looked up by every `on`/`hook` a script installs, and
/// a script's closures are named alike (`anon$…`): hashed, not ordered.
type FnParams = xsh_sim::fxhash::FxHashMap<String, Vec<usize>>;

/// Shared by every API object and hook.
pub struct HostState {
    /// The world.
    pub sim: Sim,
    engine: RefCell<Weak<Engine>>,
    ast: RefCell<Option<Rc<AST>>>,
    /// The parameter counts of the script's functions by name, for the
    /// AST they were read from: every `on(...)` checks its closure against
    /// them, and a script with hundreds of closures would otherwise scan
    /// all of its functions for each.
    fn_params: RefCell<Option<(Rc<AST>, Rc<FnParams>)>>,
    /// The engine state a closure called from the world runs in, kept
    /// between calls (closure_call.rs).
    call_frame: closure_call::SpareFrame,
    /// The script's closures' statements, for the AST they were lifted
    /// from (closure_body.rs); shared with the worlds it makes.
    closure_bodies: RefCell<Option<(Rc<AST>, Rc<closure_body::Lazy>)>>,
    /// Installed hooks.
    pub hooks: RefCell<hooks::Hooks>,
    pub(crate) next_hook: Cell<u64>,
    /// The script's own xenstore connection (a dom0 tools socket).
    pub xs_conn: ConnId,
    pub(crate) watches: RefCell<IndexMap<String, FnPtr>>,
    pub(crate) next_watch: Cell<u64>,
    /// An error raised inside a hook or callback, with its position.
    pub pending_error: RefCell<Option<Box<EvalAltResult>>>,
    /// The function whose body the pending error's position was moved to,
    /// when Rhai had lost the exact one (`lost_position`).
    pending_in: RefCell<Option<String>>,
    /// The script function of the last `hook` whose value replaced a call
    /// (its closure's `anon$...` name): where a value of the wrong type,
    /// which the model finds only when it uses the value, is reported.
    pub(crate) last_replacing_hook: RefCell<Option<String>>,
    /// What `print` wrote.
    pub output: RefCell<String>,
    /// Echo `print` to stdout as well.
    pub echo: Cell<bool>,
    /// Why echoing to stdout failed (a full disk), if it did: the CLI
    /// reports it after the run; printing stops at the first failure.
    pub echo_error: RefCell<Option<String>>,
    /// When the run started (for the wall-time limit), from the CLI.
    pub wall_start: Cell<Option<std::time::Instant>>,
    /// Asked with the wall clock: `true` stops the run as a user's Ctrl-C
    /// does (the REPL sets it; a script cannot).
    pub interrupt: RefCell<Option<Rc<dyn Fn() -> bool>>>,
    /// Shows how far a long run has come (`xsh run` in a terminal).
    pub progress: RefCell<Option<Rc<dyn progress::Progress>>>,
    /// Domains the script created (`xm.create`, `xl.create`): what the
    /// progress line and a limit's advice count per domain.
    pub created: Cell<u64>,
    /// The run of the world going on (`sim.run()`, `sim.run_for`), or the
    /// one a limit stopped: what the limit's advice measures.
    pub run_mark: Cell<Option<progress::RunMark>>,
    /// Limits.
    pub limits: Limits,
    /// Choices, invariants and the outcome of `xsh explore` (explore/).
    pub explore: explore::State,
    /// `--param` values and the names `sim.param` asked for.
    pub params: RefCell<params::Params>,
    /// What the world records beyond what the script can observe: the
    /// caller's own needs (`--trace`, a test runner reading logs). All of it
    /// unless the caller says less: a library user may read anything.
    pub observe_extra: Cell<observe::Observe>,
}

/// Which world an engine's registered functions act on. An engine is bound
/// to its world through this cell rather than by capturing it, so that one
/// engine can serve world after world (`Host::renew`): `xsh explore` runs
/// thousands of variants on a thread, and building an engine costs about as
/// much as building the world.
pub type Current = Rc<RefCell<Weak<HostState>>>;

/// The world an engine is bound to now, if it is still alive.
pub(crate) fn current(cur: &Current) -> Option<Rc<HostState>> {
    cur.borrow().upgrade()
}

impl HostState {
    /// Ends the world and lets go of the script's values. A hook, a watch
    /// or an invariant is a closure that may hold `sim` or a domain, which
    /// hold this state, which holds them: without this, every world a
    /// process ran would stay in memory (see `Sim::dispose`).
    fn teardown(&self) {
        let hooks = std::mem::take(&mut *self.hooks.borrow_mut());
        let watches = std::mem::take(&mut *self.watches.borrow_mut());
        let invariants = std::mem::take(&mut *self.explore.invariants.borrow_mut());
        let pending = self.pending_error.borrow_mut().take();
        self.pending_in.borrow_mut().take();
        drop((hooks, watches, invariants, pending));
        self.sim.dispose();
    }

    /// A built world (dom0, xenstored, xend) with the script's own
    /// xenstore connection, not yet bound to an engine.
    fn new(cfg: Config, limits: Limits) -> Rc<HostState> {
        let sim = xsh_sim::host::build(cfg);
        Rc::new_cyclic(|weak: &Weak<HostState>| {
            let w = weak.clone();
            let sink = Sink::Callback(Rc::new(move |sim: &Sim, ev: &WatchEvent| {
                if let Some(st) = w.upgrade() {
                    st.fire_watch(sim, ev);
                }
            }));
            let xs_conn = sim.xs.borrow_mut().connect(0, false, "xsh script", sink);
            HostState {
                sim: sim.clone(),
                engine: RefCell::new(Weak::new()),
                ast: RefCell::new(None),
                fn_params: RefCell::new(None),
                call_frame: Default::default(),
                closure_bodies: RefCell::new(None),
                hooks: RefCell::new(hooks::Hooks::default()),
                next_hook: Cell::new(1),
                xs_conn,
                watches: RefCell::new(IndexMap::new()),
                next_watch: Cell::new(1),
                pending_error: RefCell::new(None),
                pending_in: RefCell::new(None),
                last_replacing_hook: RefCell::new(None),
                output: RefCell::new(String::new()),
                echo: Cell::new(false),
                echo_error: RefCell::new(None),
                wall_start: Cell::new(None),
                interrupt: RefCell::new(None),
                progress: RefCell::new(None),
                created: Cell::new(0),
                run_mark: Cell::new(None),
                limits,
                explore: explore::State::default(),
                params: RefCell::new(params::Params::default()),
                observe_extra: Cell::new(observe::Observe::ALL),
            }
        })
    }
}

impl HostState {
    /// A second world for the same script (`sim.in_new_world`): built from
    /// this one's settings (seed, start time, profile, xenstored, limits),
    /// served by the same engine, recording what this one records, with the
    /// same `--param` values. Its logs stay in memory (not in `--log-dir`,
    /// whose names it would share).
    pub(crate) fn nested(&self) -> Rc<HostState> {
        let inner = HostState::new(self.sim.cfg().clone(), self.limits.clone());
        *inner.engine.borrow_mut() = self.engine.borrow().clone();
        *inner.ast.borrow_mut() = self.ast();
        *inner.fn_params.borrow_mut() = self.fn_params.borrow().clone();
        // Lifted once for the script, in whichever world calls a closure
        // first, not once per world.
        if let Some(ast) = self.ast() {
            self.closure_bodies(&ast);
        }
        *inner.closure_bodies.borrow_mut() = self.closure_bodies.borrow().clone();
        inner.echo.set(self.echo.get());
        inner.wall_start.set(self.wall_start.get());
        *inner.interrupt.borrow_mut() = self.interrupt.borrow().clone();
        *inner.progress.borrow_mut() = self.progress.borrow().clone();
        *inner.params.borrow_mut() = self.params.borrow().same_values();
        inner.observe_extra.set(self.observe_extra.get());
        let sim = &self.sim;
        observe::Observe {
            frames: sim.frames.get(),
            hops: sim.ctxs.borrow().record_hops,
            trace: sim.tracing.get(),
            logs: sim.logs.borrow().keeps(),
        }
        .apply(&inner.sim);
        inner
            .sim
            .set_hook_host(Rc::new(hooks::Dispatcher(Rc::downgrade(&inner))));
        let w = Rc::downgrade(&inner);
        inner.sim.set_interrupt(Some(Rc::new(move || {
            w.upgrade().and_then(|st| st.stop_reason())
        })));
        inner
    }

    /// Ends a world `nested` made: what it printed joins this world's
    /// output, and it is torn down.
    pub(crate) fn end_nested(&self, inner: &HostState) {
        let printed = std::mem::take(&mut *inner.output.borrow_mut());
        self.output.borrow_mut().push_str(&printed);
        if let Some(e) = inner.echo_error.borrow_mut().take() {
            self.echo_error.borrow_mut().get_or_insert(e);
        }
        inner.teardown();
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.state.teardown();
    }
}

/// A world with a script engine around it.
pub struct Host {
    /// The engine (its registered functions reach the state through
    /// `current`).
    pub engine: Rc<Engine>,
    /// The shared state.
    pub state: Rc<HostState>,
    current: Current,
    /// What the stdlib modules loaded as globals can observe.
    globals_observe: observe::Observe,
}

impl Host {
    /// A new host: a built world (dom0, xenstored, xend) and an engine.
    pub fn new(cfg: Config, limits: Limits) -> Host {
        match Host::with_globals(cfg, limits, &[]) {
            Ok(h) => h,
            // Loading no stdlib module cannot fail.
            Err(e) => unreachable!("{e}"),
        }
    }

    /// A new host whose engine has the stdlib modules `globals` loaded as
    /// globals (`xsh test` loads "testing"). Fails only if one of them does
    /// not exist or does not compile.
    pub fn with_globals(
        cfg: Config,
        limits: Limits,
        globals: &[&str],
    ) -> Result<Host, ScriptError> {
        // Rhai names closures by a hash of their text; with its default
        // random hashing seed a message naming one ("anon$...") would change
        // from run to run. One fixed seed for the process keeps every report
        // byte-identical (the first host sets it; later calls find it set).
        let _ = rhai::config::hashing::set_hashing_seed(Some(RHAI_HASHING_SEED));
        let state = HostState::new(cfg, limits);
        let current: Current = Rc::new(RefCell::new(Rc::downgrade(&state)));
        let mut engine = engine::build(&current, &state.limits);
        stdlib::load_globals(&mut engine, globals)?;
        let globals_observe = observe::Observe::of_globals(&engine, globals);
        Ok(Host::bind(Rc::new(engine), current, state, globals_observe))
    }

    /// A fresh world (built from `cfg`) served by this host's engine, with
    /// the same limits and stdlib globals. The old world is torn down: what
    /// the engine's functions do from now on, they do to the new one.
    pub fn renew(self, cfg: Config) -> Host {
        self.state.teardown();
        let state = HostState::new(cfg, self.state.limits.clone());
        // What was read from the script serves the next world that runs it
        // (both are kept with the AST they were read from).
        *state.fn_params.borrow_mut() = self.state.fn_params.borrow().clone();
        *state.closure_bodies.borrow_mut() = self.state.closure_bodies.borrow().clone();
        *self.current.borrow_mut() = Rc::downgrade(&state);
        Host::bind(
            self.engine.clone(),
            self.current.clone(),
            state,
            self.globals_observe,
        )
    }

    /// Ties a world to its engine: the state's back-reference, the probe
    /// dispatcher's hook host, and the interrupt `sim.run()` polls.
    fn bind(
        engine: Rc<Engine>,
        current: Current,
        state: Rc<HostState>,
        globals_observe: observe::Observe,
    ) -> Host {
        *state.engine.borrow_mut() = Rc::downgrade(&engine);
        let sim = &state.sim;
        sim.set_hook_host(Rc::new(hooks::Dispatcher(Rc::downgrade(&state))));
        // The wall-time limit and Ctrl-C inside `sim.run()`: Rhai's
        // `on_progress` (engine.rs) only sees the script's own operations,
        // not a world that runs a million events between two of them.
        let w = Rc::downgrade(&state);
        sim.set_interrupt(Some(Rc::new(move || {
            w.upgrade().and_then(|st| st.stop_reason())
        })));
        Host {
            engine,
            state,
            current,
            globals_observe,
        }
    }

    /// From now on the world records what `ast` (with the stdlib modules
    /// it imports or has as globals) and the caller can observe, and no
    /// more (`observe.rs`).
    pub fn observe_for(&self, ast: &AST) {
        self.observe(self.script_observes(ast));
    }

    /// What `ast`'s own text (with the modules it imports) can observe.
    pub fn script_observes(&self, ast: &AST) -> observe::Observe {
        observe::Observe::of_script(&self.engine, ast)
    }

    /// From now on the world records what `script` (found by
    /// `script_observes`), the stdlib globals and the caller can observe.
    pub fn observe(&self, script: observe::Observe) {
        script
            .union(self.globals_observe)
            .union(self.state.observe_extra.get())
            .apply(self.sim());
    }

    /// The world.
    pub fn sim(&self) -> &Sim {
        &self.state.sim
    }

    /// Compiles a script (a parse error carries its position).
    pub fn compile(&self, name: &str, src: &str) -> Result<AST, ScriptError> {
        let mut ast = self
            .engine
            .compile(src)
            .map_err(|e| ScriptError::parse(name, src, e))?;
        // The source names the script's own functions in errors (telling
        // them from a module's) and lets `import` find files beside it.
        ast.set_source(name);
        Ok(ast)
    }

    /// An error that surfaced from an evaluation, as a positioned report:
    /// a hook's error (kept while the world ran) is reported in the hook.
    pub fn error(&self, name: &str, src: &str, e: EvalAltResult) -> ScriptError {
        let limits = Some(&self.state.limits);
        let inside = self.state.pending_in.borrow_mut().take();
        let hint = suggest::help(self, src, &e);
        let mut err = match self.state.take_pending() {
            Some(hook_error) => ScriptError::in_world(name, src, *hook_error, e, limits),
            None => ScriptError::runtime_under(name, src, e, limits),
        };
        // Only for an error that came out of the world (a script that
        // caught one may fail later in its own code).
        let from_world = err.calls.iter().any(|(f, ..)| f == diag::WORLD_FRAME);
        if err.kind == diag::ErrorKind::Limit && from_world {
            err.inside = inside;
        }
        if let Some(limit) = err.limit {
            err.advice = advice::for_limit(&self.state, limit).map(|a| (a.note, a.help));
        }
        if err.hint.is_none() {
            err.hint = hint;
        }
        err
    }

    /// Runs a compiled script to its end.
    pub fn run_ast(&self, name: &str, src: &str, ast: AST) -> Result<Dynamic, ScriptError> {
        self.observe_for(&ast);
        let ast = Rc::new(ast);
        *self.state.ast.borrow_mut() = Some(ast.clone());
        if self.state.wall_start.get().is_none() {
            self.state.wall_start.set(Some(std::time::Instant::now()));
        }
        let v = self
            .engine
            .eval_ast::<Dynamic>(&ast)
            .map_err(|e| self.error(name, src, *e))?;
        // Invariants hold at the end of the script too.
        explore::check::at_end(&self.state).map_err(|e| self.error(name, src, *e))?;
        Ok(v)
    }

    /// Compiles and runs.
    pub fn run(&self, name: &str, src: &str) -> Result<Dynamic, ScriptError> {
        let ast = self.compile(name, src)?;
        self.run_ast(name, src, ast)
    }

    /// Runs a compiled input in `scope`, whose variables outlive the call:
    /// the REPL's way to run one input after another. `ast` must hold every
    /// function defined so far (hooks installed earlier call into them); the
    /// wall-time limit counts from this call, not from the session's start.
    pub fn eval_in_scope(
        &self,
        name: &str,
        src: &str,
        scope: &mut rhai::Scope<'static>,
        ast: Rc<AST>,
    ) -> Result<Dynamic, ScriptError> {
        *self.state.ast.borrow_mut() = Some(ast.clone());
        self.state.wall_start.set(Some(std::time::Instant::now()));
        self.engine
            .eval_ast_with_scope::<Dynamic>(scope, &ast)
            .map_err(|e| self.error(name, src, *e))
    }

    /// Calls a script function by name (the test runner's `fn test_*()`).
    pub fn call_fn(
        &self,
        name: &str,
        src: &str,
        ast: &Rc<AST>,
        func: &str,
    ) -> Result<Dynamic, ScriptError> {
        *self.state.ast.borrow_mut() = Some(ast.clone());
        if self.state.wall_start.get().is_none() {
            self.state.wall_start.set(Some(std::time::Instant::now()));
        }
        let mut scope = rhai::Scope::new();
        let r = self.engine.call_fn::<Dynamic>(&mut scope, ast, func, ());
        r.map_err(|mut e| {
            let inside = lost_position(&mut e, ast, func);
            let mut err = self.error(name, src, *e);
            if err.inside.is_none() {
                err.inside = inside;
            }
            err
        })
    }
}

/// Rhai moves a limit's position (operations, call depth, sizes, wall time:
/// its "system" errors) out to the call site of each script function the
/// error leaves, and a function called from Rust (a hook, a callback, a
/// test) has no call site: the position is lost. The start of the body of
/// `func`, the function that was running, is the closest place known; the
/// error is moved there and `func` returned so the report can say so.
fn lost_position(e: &mut EvalAltResult, ast: &AST, func: &str) -> Option<String> {
    if !e.is_system_exception() || !e.position().is_none() {
        return None;
    }
    let def = ast.iter_fn_def().find(|f| f.name == func)?;
    let pos = def.body.start_position();
    if pos.is_none() {
        return None;
    }
    e.set_position(pos);
    Some(func.to_string())
}

/// The process-wide seed of Rhai's function hashes (see `Host::with_globals`).
const RHAI_HASHING_SEED: [u64; 4] = [0x7873_6800, 0x5865_6e00, 0x7368_7574, 0x646f_776e];

/// A runtime error with no position yet (Rhai fills in the call site).
pub fn rt_err<T>(msg: impl Into<String>) -> Result<T, Box<EvalAltResult>> {
    Err(Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from(msg.into()),
        Position::NONE,
    )))
}

impl HostState {
    /// The engine.
    pub fn engine(&self) -> Option<Rc<Engine>> {
        self.engine.borrow().upgrade()
    }

    /// The script being run.
    pub fn ast(&self) -> Option<Rc<AST>> {
        self.ast.borrow().clone()
    }

    /// The parameter counts of the running script's functions by name
    /// (closures included), read once per script.
    fn fn_params(&self) -> Option<Rc<FnParams>> {
        let ast = self.ast()?;
        let mut cached = self.fn_params.borrow_mut();
        if let Some((of, params)) = cached.as_ref() {
            if Rc::ptr_eq(of, &ast) {
                return Some(params.clone());
            }
        }
        let mut params = FnParams::default();
        for d in ast.iter_fn_def() {
            params
                .entry(d.name.to_string())
                .or_default()
                .push(d.params.len());
        }
        let params = Rc::new(params);
        *cached = Some((ast, params.clone()));
        Some(params)
    }

    /// Refuses a closure that cannot take the `n` arguments `what` will
    /// call it with (`what` names the call and the arguments: "on(...)
    /// expects a closure taking one parameter (the probe context)"). Said
    /// here, where the closure is handed over, the error has that call's
    /// position; found when the world calls it, it would have none. A
    /// function this script does not define (a module's) is not checked.
    pub fn arity_error(&self, f: &FnPtr, n: usize, what: &str) -> Option<String> {
        let params = self.fn_params()?;
        // A closure's captured variables are passed as its first parameters.
        let curried = f.curry().len();
        let takes = params.get(f.fn_name()).map_or(&[][..], |v| &v[..]);
        let takes_n = takes.iter().any(|&k| k.saturating_sub(curried) == n);
        match takes.first().map(|&k| k.saturating_sub(curried)) {
            Some(k) if !takes_n => {
                let s = if k == 1 { "" } else { "s" };
                Some(format!("{what}, got one taking {k} parameter{s}"))
            }
            Some(_) => None,
            // `Fn("name")` of no function at all would fail only when the
            // world calls it, with no line: say so here. (Rare, so the
            // engine's list of native functions is read only then.)
            None => {
                let name = f.fn_name();
                if name.contains("::") {
                    return None; // a module's: resolved when called
                }
                // Native functions by name: "name(a: int, b: ?) -> T".
                let arities: Vec<usize> = self
                    .engine()
                    .map(|e| e.gen_fn_signatures(true))
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|sig| {
                        let (fname, rest) = sig.split_once('(')?;
                        let params = rest.split(')').next()?.trim();
                        let k = if params.is_empty() {
                            0
                        } else {
                            params.split(',').count()
                        };
                        (fname == name).then_some(k)
                    })
                    .collect();
                match arities.first() {
                    None => Some(format!("{what}, but there is no function named {name:?}")),
                    Some(&k) if !arities.contains(&(n + f.curry().len())) => {
                        let s = if k == 1 { "" } else { "s" };
                        Some(format!(
                            "{what}, got {name:?}, which takes {k} parameter{s}"
                        ))
                    }
                    Some(_) => None,
                }
            }
        }
    }

    /// Echoes a line the script printed to stdout. `println!` would panic
    /// on a stdout that cannot take it; the failure is kept instead.
    pub fn echo_line(&self, line: &str) {
        use std::io::Write;
        if self.echo_error.borrow().is_some() {
            return;
        }
        // A progress line on the same terminal would run into the text.
        if let Some(p) = self.progress.borrow().as_ref() {
            p.clear();
        }
        let mut out = std::io::stdout().lock();
        if let Err(e) = writeln!(out, "{line}") {
            *self.echo_error.borrow_mut() = Some(format!("cannot write to stdout: {e}"));
        }
    }

    /// Takes an error a hook or callback left behind.
    pub fn take_pending(&self) -> Option<Box<EvalAltResult>> {
        self.pending_error.borrow_mut().take()
    }

    /// The statements of `ast`'s closures, lifted at the first call of one.
    fn closure_bodies(&self, ast: &Rc<AST>) -> Rc<closure_body::Lazy> {
        let mut kept = self.closure_bodies.borrow_mut();
        match kept.as_ref() {
            Some((of, b)) if Rc::ptr_eq(of, ast) => b.clone(),
            _ => {
                let b = Rc::new(closure_body::Lazy::default());
                *kept = Some((ast.clone(), b.clone()));
                b
            }
        }
    }

    /// Calls a script closure from inside the world; an error is kept (with
    /// its position) and stops the world after the current event.
    pub fn call_ptr(&self, f: &FnPtr, args: impl rhai::FuncArgs) -> Option<Dynamic> {
        self.call_found(f, None, args)
    }

    /// `call_ptr` for a hook, whose closure's statements `found` keeps.
    pub(crate) fn call_hook(
        &self,
        f: &FnPtr,
        found: &closure_call::FoundBody,
        args: impl rhai::FuncArgs,
    ) -> Option<Dynamic> {
        self.call_found(f, Some(found), args)
    }

    fn call_found(
        &self,
        f: &FnPtr,
        found: Option<&closure_call::FoundBody>,
        args: impl rhai::FuncArgs,
    ) -> Option<Dynamic> {
        let (Some(engine), Some(ast)) = (self.engine(), self.ast()) else {
            return None;
        };
        let lazy = self.closure_bodies(&ast);
        let find = || {
            let bodies = lazy.get_or_init(|| closure_body::bodies_of(&ast));
            bodies.get(f.fn_name()).cloned()
        };
        let body = match found {
            Some(found) => found.get(&lazy, find),
            None => find(),
        };
        match self
            .call_frame
            .call(&engine, &ast, body.as_deref(), f, args)
        {
            Ok(v) => Some(v),
            Err(mut e) => {
                let msg = e.to_string();
                let mut p = self.pending_error.borrow_mut();
                if p.is_none() {
                    *self.pending_in.borrow_mut() = lost_position(&mut e, &ast, f.fn_name());
                    *p = Some(e);
                }
                drop(p);
                self.sim.abort(msg);
                None
            }
        }
    }

    fn fire_watch(&self, _sim: &Sim, ev: &WatchEvent) {
        let f = self.watches.borrow().get(&*ev.token).cloned();
        if let Some(f) = f {
            let path = Dynamic::from(ev.path.to_string());
            let token = Dynamic::from(ev.token.to_string());
            self.call_ptr(&f, vec![path, token]);
        }
    }

    /// Runs the world until `deadline` (or idle); an abort becomes the
    /// script error that caused it.
    pub fn run_world(
        &self,
        deadline: Option<xsh_sim::time::SimTime>,
    ) -> Result<(), Box<EvalAltResult>> {
        // With invariants declared the world runs one instant at a time so
        // they are checked between instants (explore/check.rs).
        self.run_mark.set(Some(progress::RunMark::now(self)));
        let end = if self.explore.has_invariants() {
            explore::check::run_checked(self, deadline)
        } else {
            self.sim.run_until(deadline)
        };
        let r = match end {
            RunEnd::Idle | RunEnd::Deadline => Ok(()),
            RunEnd::Aborted(msg) => Err(self.world_stopped(msg)),
        };
        // A limit's report reads the mark (`advice.rs`); any other end
        // leaves no run going on.
        if r.as_ref().err().is_none_or(|e| e.is_catchable()) {
            self.run_mark.set(None);
        }
        r
    }

    /// The error for a world that stopped before it was done (`msg` is
    /// why), wherever the script ran it: `sim.run()` or an `xm` command
    /// that waits for the world. A hook's own error is reported in the
    /// hook; a limit is a limit report (exit 3), not one of xm's errors.
    pub fn world_stopped(&self, msg: String) -> Box<EvalAltResult> {
        self.sim.take_abort();
        // A limit ends the run wherever it was reached: like Rhai's own
        // limits it passes through a `try` (ErrorTerminated cannot be
        // caught). A hook's limit stays pending, so the report still shows
        // it in the hook and the call that ran the world (`Host::error`).
        let hook_limit = self
            .pending_error
            .borrow()
            .as_ref()
            .is_some_and(|e| !e.is_catchable());
        if hook_limit || diag::Limit::of_message(&msg).is_some() {
            return Box::new(EvalAltResult::ErrorTerminated(
                Dynamic::from(msg),
                Position::NONE,
            ));
        }
        // A hook's value of the wrong type is the hook's error: report it
        // at the start of that hook's body, as if it had raised it there.
        if msg.contains("returned the wrong type") && self.pending_error.borrow().is_none() {
            let func = self.last_replacing_hook.borrow().clone();
            let pos = func.as_deref().and_then(|f| {
                let ast = self.ast()?;
                let def = ast.iter_fn_def().find(|d| d.name == f)?;
                Some(def.body.start_position())
            });
            if let Some(pos) = pos.filter(|p| !p.is_none()) {
                *self.pending_error.borrow_mut() =
                    Some(Box::new(EvalAltResult::ErrorInFunctionCall(
                        func.unwrap_or_default(),
                        String::new(),
                        Box::new(EvalAltResult::ErrorRuntime(Dynamic::from(msg.clone()), pos)),
                        pos,
                    )));
            }
        }
        match self.take_pending() {
            // Wrapped as a call, so Rhai positions the wrapper at the call
            // that ran the world and the report can show both where the
            // hook failed and what ran it.
            Some(e) => Box::new(EvalAltResult::ErrorInFunctionCall(
                diag::WORLD_FRAME.into(),
                String::new(),
                e,
                Position::NONE,
            )),
            // A limit the world hit, or a stop the model made: the message
            // says which (diag::Limit::of_message).
            None => Box::new(EvalAltResult::ErrorRuntime(
                Dynamic::from(msg),
                Position::NONE,
            )),
        }
    }

    /// The wall-time limit's message.
    pub fn wall_message(&self) -> String {
        format!(
            "wall-time limit reached: the script ran for more than {} s of wall-clock time",
            self.limits.max_wall_secs
        )
    }

    /// Why the run must stop now, if it must: the wall-time limit, or the
    /// user's Ctrl-C (`interrupt`).
    pub fn stop_reason(&self) -> Option<String> {
        // The one place a long run stops by itself now and then: where its
        // progress is shown, at no cost per event (progress.rs).
        let shown = self.progress.borrow().clone();
        if let Some(p) = shown {
            p.tick(self);
        }
        if self.wall_exceeded() {
            return Some(self.wall_message());
        }
        let asked = self.interrupt.borrow().as_ref().is_some_and(|f| f());
        asked.then(|| "interrupted (Ctrl-C)".to_string())
    }

    /// Checks the wall-clock limit.
    pub fn wall_exceeded(&self) -> bool {
        self.wall_start
            .get()
            .is_some_and(|t| t.elapsed().as_secs_f64() > self.limits.max_wall_secs)
    }
}
