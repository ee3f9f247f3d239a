//! xsh-sim: a deterministic discrete-event model of a Xen 4.4 host shutting
//! a domain down — xm/xend, xenstored, the guest kernel and init, qemu-dm and
//! the hypervisor — with every modelled function a probe.
//!
//! Start at [`Sim`] (this file): the world handle. Then:
//! - `exec.rs` — event queue, tasks (the threads of every layer), leaf futures;
//! - `stack.rs` — execution contexts, frames and causal hops;
//! - `probe/` — the probe table and dispatcher (hooks stop at a function's site);
//! - `xenstore/`, `hypervisor/`, `qemu_dm/`, `guest/`, `dom0/`, `toolstack/` —
//!   the layers, each owning its state and talking to the others only through
//!   xenstore, event channels, hypercalls and signals, as the real ones do;
//! - `host.rs` — building a host (dom0, xenstored; xend or xl) and the public
//!   commands (`xm create`, `xm shutdown`, ...) the script layer calls;
//! - `logs.rs`, `trace.rs`, `time.rs`, `rng.rs` — outputs and determinism.
//!
//! Nothing here reads the wall clock, iterates a hash map into output, or
//! depends on Rhai: the script host plugs in through [`probe::HookHost`].
#![deny(missing_docs)]

pub mod dom0;
pub mod exec;
pub mod fxhash;
pub mod guest;
pub mod host;
pub mod hypervisor;
pub mod logs;
pub mod probe;
pub mod profile;
pub mod qemu_dm;
#[cfg(test)]
mod queued_or_in_place;
pub mod rng;
pub mod shared_strs;
pub mod stack;
pub mod time;
pub mod toolstack;
pub mod trace;
pub mod uuid;
pub mod value;
pub mod xenstore;

use std::cell::{Cell, Ref, RefCell, RefMut};
use std::future::Future;
use std::ops::Deref;
use std::rc::Rc;

use exec::{Bounds, Ev, Executor, Park, Sleep, TaskId};
use probe::{HookHost, Probe};
use stack::{Contexts, CtxId, HopId};
use time::{SimDuration, SimTime};

pub use profile::{Config, Profile};
pub use value::{ProbeValue, Value};

/// The world: every layer's state, the clock, the queue and the outputs.
/// Cloning the handle is cheap; all clones are the same world.
#[derive(Clone)]
pub struct Sim(Rc<World>);

/// What a `Sim` handle points to.
pub struct World {
    /// Queue, clock and tasks.
    pub exec: Executor,
    /// Execution contexts and causal hops.
    pub ctxs: RefCell<Contexts>,
    /// Settings that apply to the whole run.
    pub cfg: RefCell<Config>,
    /// Log outputs.
    pub logs: RefCell<logs::Logs>,
    /// The probe-call trace.
    pub trace: RefCell<trace::Trace>,
    /// Whether calls are traced (`sim.events()`, the run's outputs). Tracing
    /// needs frames: a record names its caller.
    pub tracing: Cell<bool>,
    /// Whether every call pushes its frame, because a script can print or
    /// read stacks. Off, only hooked calls and the guest kernel's own calls
    /// (a panic prints their `Call Trace:`) do.
    pub frames: Cell<bool>,
    /// True while the innermost running call has a frame: `site()` and
    /// `at()` act on the top frame only when it is that call's.
    pub(crate) framed_here: Cell<bool>,
    /// xenstored's tree, connections and watches.
    pub xs: RefCell<xenstore::Xenstore>,
    /// The hypervisor.
    pub xen: RefCell<hypervisor::Hypervisor>,
    /// Guest kernels and their userspace.
    pub guests: RefCell<guest::Guests>,
    /// qemu-dm processes.
    pub qemu: RefCell<qemu_dm::QemuDms>,
    /// dom0's kernel backends, udev and hotplug scripts.
    pub dom0: RefCell<dom0::Dom0>,
    /// The xend daemon.
    pub xend: RefCell<toolstack::xend::Xend>,
    /// xl's processes and the domains libxl made.
    pub xl: RefCell<toolstack::xl::Xl>,
    /// The toolstack dom0 runs, once chosen (`host::use_toolstack`).
    pub toolstack: Cell<Option<toolstack::Toolstack>>,
    site_hit: Cell<Option<(CtxId, usize)>>,
    hook_flags: RefCell<Vec<bool>>,
    /// Per probe: does a hook that may replace the call (`hook`, not only
    /// `on` observers) watch it?
    replace_flags: RefCell<Vec<bool>>,
    host: RefCell<Option<Rc<dyn HookHost>>>,
    aborted: RefCell<Option<String>>,
    interrupt: RefCell<Option<Interrupt>>,
}

/// A check the run loops make every 1024 events (a wall-clock limit, a
/// Ctrl-C): `Some(message)` stops the run with that message.
pub type Interrupt = Rc<dyn Fn() -> Option<String>>;

impl Deref for Sim {
    type Target = World;
    fn deref(&self) -> &World {
        &self.0
    }
}

/// Why a run stopped.
#[derive(Clone, Debug, PartialEq)]
pub enum RunEnd {
    /// Nothing left to do.
    Idle,
    /// The time limit of `run_for` was reached.
    Deadline,
    /// A hook failed or a limit was hit; the message says which.
    Aborted(String),
}

impl Sim {
    /// A new world with no host built yet (see `host::build`).
    pub fn new(cfg: Config) -> Sim {
        let seed = cfg.seed;
        let mut xs = xenstore::Xenstore::new();
        xs.kind = cfg.xenstored;
        Sim(Rc::new(World {
            exec: Executor::default(),
            ctxs: RefCell::new(Contexts {
                record_hops: true,
                record_hop_stacks: true,
                ..Default::default()
            }),
            logs: RefCell::new(logs::Logs::default()),
            trace: RefCell::new(trace::Trace::default()),
            tracing: Cell::new(true),
            frames: Cell::new(true),
            framed_here: Cell::new(false),
            xs: RefCell::new(xs),
            xen: RefCell::new(hypervisor::Hypervisor::new(seed)),
            guests: RefCell::new(guest::Guests::default()),
            qemu: RefCell::new(qemu_dm::QemuDms::default()),
            dom0: RefCell::new(dom0::Dom0::default()),
            xend: RefCell::new(toolstack::xend::Xend::new(seed)),
            xl: RefCell::new(toolstack::xl::Xl::new(seed)),
            toolstack: Cell::new(None),
            cfg: RefCell::new(cfg),
            site_hit: Cell::new(None),
            hook_flags: RefCell::new(vec![false; Probe::ALL.len()]),
            replace_flags: RefCell::new(vec![false; Probe::ALL.len()]),
            host: RefCell::new(None),
            aborted: RefCell::new(None),
            interrupt: RefCell::new(None),
        }))
    }

    /// Switches xenstored's rules (`sim.xenstored`).
    pub fn set_xenstored(&self, k: profile::XenstoredKind) {
        self.cfg.borrow_mut().xenstored = k;
        let mut xs = self.xs.borrow_mut();
        xs.kind = k;
        xs.quotas = xenstore::Quotas::of(k);
    }

    /// The current virtual time.
    pub fn now(&self) -> SimTime {
        self.exec.now()
    }

    /// The run's settings.
    pub fn cfg(&self) -> Ref<'_, Config> {
        self.cfg.borrow()
    }

    /// The run's settings, mutably.
    pub fn cfg_mut(&self) -> RefMut<'_, Config> {
        self.cfg.borrow_mut()
    }

    /// The profile (whose xend and Xen are modelled).
    pub fn profile(&self) -> Profile {
        self.cfg.borrow().profile
    }

    // ---- tasks and contexts ----

    /// A new execution context.
    pub fn new_ctx(&self, name: impl Into<Rc<str>>, layer: probe::Layer, domid: u32) -> CtxId {
        self.ctxs.borrow_mut().create(name.into(), layer, domid)
    }

    /// A new context for a thread that runs one task and ends with it (a
    /// Python thread of xend's, an xm process, a udev worker): when nothing
    /// can look at finished threads, the next one reuses it.
    pub fn new_thread_ctx(
        &self,
        name: impl Into<Rc<str>>,
        layer: probe::Layer,
        domid: u32,
    ) -> CtxId {
        self.ctxs
            .borrow_mut()
            .create_owned(name.into(), layer, domid)
    }

    /// Starts a task on `ctx` at the current time.
    pub fn spawn(&self, ctx: CtxId, fut: impl Future<Output = ()> + 'static) -> TaskId {
        self.ctxs.borrow_mut().task_started(ctx);
        self.exec.spawn_at(self.now(), ctx, Box::pin(fut))
    }

    /// Starts a task on `ctx` after `d`.
    pub fn spawn_after(
        &self,
        d: SimDuration,
        ctx: CtxId,
        fut: impl Future<Output = ()> + 'static,
    ) -> TaskId {
        let t = self.now().after(self.exec.scaled(d));
        self.ctxs.borrow_mut().task_started(ctx);
        self.exec.spawn_at(t, ctx, Box::pin(fut))
    }

    /// The context of the running task.
    pub fn current_ctx(&self) -> CtxId {
        self.exec
            .current()
            .and_then(|t| self.exec.task_ctx(t))
            .unwrap_or(CtxId(0))
    }

    /// Runs `f` at virtual time now + `d` (outside any task).
    pub fn schedule(&self, d: SimDuration, f: impl FnOnce(&Sim) + 'static) {
        let t = self.now().after(self.exec.scaled(d));
        self.exec.push(t, Ev::Call(Box::new(f)));
    }

    /// Runs `f` at instant `t` (never scaled: for timeouts, whose expiry is
    /// a fact about the clock, not work that takes time).
    pub fn schedule_at(&self, t: SimTime, f: impl FnOnce(&Sim) + 'static) {
        self.exec.push(t.max(self.now()), Ev::Call(Box::new(f)));
    }

    /// A future that completes after `d` of virtual time.
    pub fn sleep(&self, d: SimDuration) -> Sleep {
        Sleep {
            sim: self.clone(),
            until: self.now().after(self.exec.scaled(d)),
            armed: false,
        }
    }

    /// A future that completes at instant `t` (never scaled: `t` is already
    /// the time something is due).
    pub fn sleep_until(&self, t: SimTime) -> Sleep {
        Sleep {
            sim: self.clone(),
            until: t.max(self.now()),
            armed: false,
        }
    }

    /// Parks the running task until someone wakes it (see `exec::Park`).
    pub fn park<F: FnOnce(TaskId) + Unpin>(&self, register: F) -> Park<F> {
        Park {
            register: Some(register),
            sim: self.clone(),
        }
    }

    /// Wakes a parked task.
    pub fn wake(&self, t: TaskId) {
        self.exec.wake(t)
    }

    /// Records a causal hop from the running context ("what crossed").
    pub fn hop(&self, what: &'static str) -> Option<HopId> {
        // Unrecorded (no one asked for hops): no need to find the context.
        if !self.ctxs.borrow().record_hops {
            return None;
        }
        let ctx = self.current_ctx();
        let now = self.now();
        self.ctxs.borrow_mut().record(now, ctx, what)
    }

    /// Makes `hop` the cause of what `ctx` runs next.
    pub fn adopt(&self, ctx: CtxId, hop: Option<HopId>) {
        if hop.is_some() {
            self.ctxs.borrow_mut().get_mut(ctx).cause = hop;
        }
    }

    /// Sets the executing line of the running function's frame (an index
    /// into its layer's source table: a Python line, a call site in Xen).
    pub fn at(&self, line: u16) {
        if !self.framed_here.get() {
            return;
        }
        let ctx = self.current_ctx();
        if let Some(f) = self.ctxs.borrow_mut().get_mut(ctx).stack.last_mut() {
            f.line = line;
        }
    }

    // ---- hooks ----

    /// Installs the script host that runs hooks.
    pub fn set_hook_host(&self, host: Rc<dyn HookHost>) {
        *self.host.borrow_mut() = Some(host);
    }

    pub(crate) fn hook_host(&self) -> Option<Rc<dyn HookHost>> {
        self.host.borrow().clone()
    }

    /// Marks a probe as hooked (the dispatcher then stops at its site).
    pub fn set_hooked(&self, p: Probe, on: bool) {
        self.hook_flags.borrow_mut()[p as usize] = on;
    }

    /// Is the probe hooked?
    pub fn is_hooked(&self, p: Probe) -> bool {
        self.hook_flags.borrow()[p as usize]
    }

    /// Marks whether a hook on `p` may replace the call (`hook`), rather
    /// than only observe it (`on`): only such a call moves its body to the
    /// heap, where the hook can run it later or never.
    pub fn set_replaced(&self, p: Probe, on: bool) {
        self.replace_flags.borrow_mut()[p as usize] = on;
    }

    /// May a hook replace calls of `p`?
    pub fn is_replaced(&self, p: Probe) -> bool {
        self.replace_flags.borrow()[p as usize]
    }

    /// Does a call of `p` push its frame? When frames or the trace are on,
    /// and always for the guest kernel's functions, whose frames a panic
    /// prints as its `Call Trace:` (model output, not just observation).
    pub fn framed(&self, p: Probe) -> bool {
        self.frames.get() || self.tracing.get() || p.layer() == probe::Layer::Guest
    }

    /// Stops the world after the current event with `msg`.
    pub fn abort(&self, msg: String) {
        let mut a = self.aborted.borrow_mut();
        if a.is_none() {
            *a = Some(msg);
        }
    }

    /// Ends the world: drops every task (xend's threads, the guests'
    /// tasks, qemu-dm's loops — most wait forever on a watch or a socket),
    /// every pending event and the hook host. Tasks and events hold handles
    /// to the world they live in, so a world that still has them is never
    /// freed: whoever made a world disposes of it when done with it, or each
    /// one run in a loop (`xsh explore`, `xsh bench`) stays in memory.
    pub fn dispose(&self) {
        // A future's destructor may spawn or queue again: repeat until empty
        // (bounded, in case a destructor keeps doing so).
        for _ in 0..16 {
            if !self.exec.clear() {
                break;
            }
        }
        *self.host.borrow_mut() = None;
        *self.interrupt.borrow_mut() = None;
    }

    /// How many handles to this world exist (1 once only its owner's is left).
    pub fn handles(&self) -> usize {
        Rc::strong_count(&self.0)
    }

    /// Installs the check the run loops make every 1024 events.
    pub fn set_interrupt(&self, f: Option<Interrupt>) {
        *self.interrupt.borrow_mut() = f;
    }

    fn interrupted(&self) -> bool {
        if !self.exec.events_run().is_multiple_of(1024) {
            return false;
        }
        let f = self.interrupt.borrow().clone();
        match f.and_then(|f| f()) {
            Some(msg) => {
                self.abort(msg);
                true
            }
            None => false,
        }
    }

    /// Takes the pending abort message, if any.
    pub fn take_abort(&self) -> Option<String> {
        self.aborted.borrow_mut().take()
    }

    // ---- running ----

    fn dispatch(&self, ev: Ev) {
        match ev {
            Ev::Wake(t) => {
                // A task's own code, outside any call, has no frame of its own.
                let outer = self.framed_here.replace(false);
                let ended = self.exec.poll(t);
                self.framed_here.set(outer);
                if let Some(ctx) = ended {
                    self.ctxs.borrow_mut().task_ended(ctx);
                }
            }
            Ev::Call(f) => f(self),
        }
    }

    /// Runs one event. Returns its time, or `None` when idle.
    pub fn step(&self) -> Option<SimTime> {
        self.step_within(None)
    }

    /// Runs one event for a loop with these bounds (`None`: a loop that
    /// does not let a sleeping task go on in place).
    fn step_within(&self, bounds: Option<Rc<Bounds>>) -> Option<SimTime> {
        let (t, ev) = self.exec.pop()?;
        let _loop = self.exec.bounds_for(bounds);
        self.dispatch(ev);
        Some(t)
    }

    /// Lets the task being polled, `t`, going to sleep until `until`, go on
    /// at once when its wake-up would be the next event the loop running
    /// the world runs, and the loop would run it (see `exec::Bounds`).
    pub(crate) fn wake_in_place(&self, t: TaskId, until: SimTime) -> bool {
        let go_on = self.exec.next_is_own_wake(t, until) && self.aborted.borrow().is_none();
        if go_on {
            self.exec.wake_in_place(until);
        }
        go_on
    }

    /// Runs until idle, until `deadline`, or until aborted or a limit hits.
    pub fn run_until(&self, deadline: Option<SimTime>) -> RunEnd {
        let (max_events, max_time) = {
            let c = self.cfg.borrow();
            (c.max_events, c.max_virtual_time)
        };
        let start_events = self.exec.events_run();
        // What this loop checks below, for a task that would be woken next.
        let bounds = Some(Rc::new(Bounds {
            until: deadline.map_or(max_time, |d| d.min(max_time)),
            events_below: start_events.saturating_add(max_events),
            looks_every_1024: true,
            go_on: None,
        }));
        loop {
            if let Some(msg) = self.aborted.borrow().clone() {
                return RunEnd::Aborted(msg);
            }
            let Some(next) = self.exec.next_time() else {
                // As SimPy's `run(until=t)`: the clock ends at the deadline
                // whether or not the world went idle before it.
                if let Some(d) = deadline {
                    self.exec.advance_to(d);
                }
                return RunEnd::Idle;
            };
            if deadline.is_some_and(|d| next > d) {
                if let Some(d) = deadline {
                    self.exec.advance_to(d);
                }
                return RunEnd::Deadline;
            }
            if next > max_time {
                return RunEnd::Aborted(format!(
                    "virtual-time limit reached: the next event is at {:.3} s, past the limit of {:.3} s (--max-virtual-time)",
                    next.as_secs_f64(),
                    max_time.as_secs_f64()
                ));
            }
            if self.interrupted() {
                continue;
            }
            if self.exec.events_run() - start_events >= max_events {
                return RunEnd::Aborted(format!(
                    "event limit reached: {max_events} events in one run (--max-events); something keeps scheduling work"
                ));
            }
            self.step_within(bounds.clone());
        }
    }

    /// Runs events until task `t` is woken (used by `run_orig`).
    pub(crate) fn run_until_woken(&self, t: TaskId) -> bool {
        loop {
            if self.exec.take_wake(t) {
                return true;
            }
            if self.aborted.borrow().is_some() {
                return false;
            }
            let Some((_, ev)) = self.exec.pop() else {
                return false;
            };
            match ev {
                Ev::Wake(w) if w == t => {
                    self.exec.take_wake(t);
                    return true;
                }
                ev => {
                    // This loop stops as soon as `t` is woken, which any
                    // task may do: nothing here goes on in place.
                    let _loop = self.exec.bounds_for(None);
                    self.dispatch(ev)
                }
            }
        }
    }

    /// Runs `f` with all model delays at zero, then runs every event due at
    /// this instant: how `xm create` brings a domain up without time passing.
    pub fn settle_instantly<R>(&self, f: impl FnOnce() -> R) -> R {
        self.exec.enter_instant();
        let r = f();
        let now = self.now();
        while self.exec.next_time().is_some_and(|t| t <= now) {
            if self.aborted.borrow().is_some() {
                break;
            }
            self.step();
        }
        self.exec.leave_instant();
        r
    }

    /// Runs events while `not_done()` holds, until the world idles or
    /// aborts. A task that would be woken next goes on in place only while
    /// `not_done()` still holds, as this loop checks it before each event.
    pub fn run_while(&self, not_done: impl Fn() -> bool + 'static) -> RunEnd {
        let max_events = self.cfg.borrow().max_events;
        let start = self.exec.events_run();
        let not_done: Rc<dyn Fn() -> bool> = Rc::new(not_done);
        let bounds = Some(Rc::new(Bounds {
            until: SimTime(u64::MAX),
            events_below: start.saturating_add(max_events),
            looks_every_1024: false,
            go_on: Some(not_done.clone()),
        }));
        while not_done() {
            if let Some(msg) = self.aborted.borrow().clone() {
                return RunEnd::Aborted(msg);
            }
            if self.exec.events_run() - start >= max_events {
                return RunEnd::Aborted(format!(
                    "event limit reached: {max_events} events in one run (--max-events)"
                ));
            }
            if self.step_within(bounds.clone()).is_none() {
                return RunEnd::Idle;
            }
        }
        RunEnd::Idle
    }

    /// Wall-clock seconds (as the logs print) at the current virtual time.
    pub fn wall_now(&self) -> f64 {
        self.cfg.borrow().epoch.wall_f64(self.now())
    }
}
