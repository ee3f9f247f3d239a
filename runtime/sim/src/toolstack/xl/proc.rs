//! xl processes: a command the user runs (`xl shutdown`, ...) and the
//! monitor a daemonised `xl create` forks. Each has its pid, its context
//! (the stack gdb would print), its own xenstore connection and libxl
//! context (`xl_ctx_alloc`, xl.c:260-267), and its stdout/stderr.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use crate::exec::TaskId;
use crate::probe::Layer;
use crate::stack::{CtxId, NO_DOM};
use crate::time::SimDuration;
use crate::xenstore::{ConnId, Sink};
use crate::{RunEnd, Sim};

use super::event::Ctx;
use super::lines::{Base, L};
use super::log::{Level, Out};

/// What starting an xl process costs before its command runs: exec, reading
/// `/etc/xen/xl.conf`, `libxl_ctx_alloc` (xc and xenstore handles). A model
/// figure (docs/xl.md): the logs show no time of their own for it.
pub const STARTUP: SimDuration = SimDuration::millis(4);

/// One xl process.
pub struct XlProc {
    /// Its pid.
    pub pid: u32,
    /// Its execution context.
    pub ctx: CtxId,
    /// Its task, once spawned.
    pub task: Option<TaskId>,
    /// Its libxl context's xenstore connection.
    pub conn: ConnId,
    /// Where its stdout and stderr go.
    pub out: Out,
    /// What it wrote to the terminal.
    pub terminal: String,
    /// The logger's threshold (`-v`).
    pub min_level: Level,
    /// How it began (for gdb's frames below the modelled ones).
    pub base: Base,
    /// Its libxl context's event state.
    pub lx: Ctx,
}

/// Starts an xl process: a pid, a context named like `ps` would show it,
/// a xenstore connection. `parent` is the process it was forked from.
pub fn spawn_proc(sim: &Sim, label: &str, out: Out, base: Base) -> u32 {
    let pid = crate::dom0::next_pid(sim);
    let ctx = sim.new_ctx(format!("xl {label} (pid {pid})"), Layer::Xl, NO_DOM);
    let conn = sim
        .xs
        .borrow_mut()
        .connect(0, false, &format!("xl (pid {pid})"), Sink::Queue);
    let (verbose, heap) = {
        let mut x = sim.xl.borrow_mut();
        let v = x.opts.verbose;
        let h = 0x0100_0000 + (x.rng.below(0x40_0000) & !0xf);
        (v, h)
    };
    sim.xl.borrow_mut().procs.insert(
        pid,
        XlProc {
            pid,
            ctx,
            task: None,
            conn,
            out,
            terminal: String::new(),
            min_level: Level::threshold(verbose),
            base,
            // The libxl_ctx is the process's first sizeable allocation.
            lx: Ctx {
                ctx_ptr: heap + 0x10,
                heap: heap + 0x10 + 0x570,
                ..Default::default()
            },
        },
    );
    pid
}

/// The process exits: its connection closes (xenstored drops its watches);
/// what it wrote to the terminal becomes the command's output.
pub fn exit_proc(sim: &Sim, pid: u32) {
    let p = sim.xl.borrow_mut().procs.shift_remove(&pid);
    if let Some(p) = p {
        sim.xs.borrow_mut().close_conn(p.conn);
        if p.out == Out::Terminal {
            sim.xl.borrow_mut().last_output.push_str(&p.terminal);
        }
        let mut x = sim.xl.borrow_mut();
        x.monitors.retain(|_, m| *m != pid);
    }
}

/// The context of a process.
pub fn ctx_of(sim: &Sim, pid: u32) -> Option<CtxId> {
    sim.xl.borrow().proc(pid).map(|p| p.ctx)
}

/// Sets where a monitor's `create_domain` frame is (gdb's base frames).
pub fn set_base(sim: &Sim, pid: u32, at: L) {
    if let Some(p) = sim.xl.borrow_mut().proc_mut(pid) {
        if let Base::Monitor(_) = p.base {
            p.base = Base::Monitor(at);
        }
    }
}

/// A command's result: its exit status and what it printed.
#[derive(Clone, Debug)]
pub struct CmdResult<T> {
    /// The command's value (a domid, rows), when it succeeded.
    pub value: Option<T>,
    /// Its exit status.
    pub status: i32,
    /// Its terminal output.
    pub output: String,
}

/// A command's exit status and value.
type Exit<T> = (i32, Option<T>);

/// Runs an `xl` command to its end from outside the world (a person at
/// dom0's shell): the world runs until the process exits. `instant` settles
/// the world at the current time (`xl create`, as `xm create`).
pub fn run_command<T: 'static, Fut>(
    sim: &Sim,
    label: &str,
    instant: bool,
    body: impl FnOnce(Sim, u32) -> Fut,
) -> Result<CmdResult<T>, String>
where
    Fut: Future<Output = (i32, Option<T>)> + 'static,
{
    sim.xl.borrow_mut().last_output.clear();
    let pid = spawn_proc(sim, label, Out::Terminal, Base::Command);
    let ctx = ctx_of(sim, pid).expect("just spawned");
    let cell: Rc<RefCell<Option<Exit<T>>>> = Rc::new(RefCell::new(None));
    let c2 = cell.clone();
    let fut = body(sim.clone(), pid);
    if instant {
        sim.xs.borrow_mut().instant = true;
        sim.exec.enter_instant();
    }
    let s = sim.clone();
    let t = sim.spawn(ctx, async move {
        s.sleep(STARTUP).await;
        let r = fut.await;
        exit_proc(&s, pid);
        *c2.borrow_mut() = Some(r);
    });
    if let Some(p) = sim.xl.borrow_mut().proc_mut(pid) {
        p.task = Some(t);
    }
    let filled = cell.clone();
    let end = sim.run_while(move || filled.borrow().is_none());
    if instant {
        let now = sim.now();
        while sim.exec.next_time().is_some_and(|t| t <= now) {
            sim.step();
        }
        sim.exec.leave_instant();
        sim.xs.borrow_mut().instant = false;
    }
    let r = cell.borrow_mut().take();
    match (r, end) {
        (Some((status, value)), _) => Ok(CmdResult {
            value,
            status,
            output: sim.xl.borrow().last_output.clone(),
        }),
        (None, RunEnd::Aborted(m)) => Err(m),
        (None, _) => Err(format!(
            "xl {label} never returned: the world went idle while it waited"
        )),
    }
}
