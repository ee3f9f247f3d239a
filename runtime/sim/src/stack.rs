//! Execution contexts and their call stacks, kept as data.
//!
//! A context is what a layer would name in its own stack dump: an xend thread
//! ("Watcher", "Thread-3"), a guest task (`xenwatch`, `kworker/0:1`, PID 1),
//! qemu-dm's main loop, a Xen pCPU or vCPU. Each probe call pushes a `Frame`
//! on the current task's context; the frame records which line of the
//! function is executing (`line`, an index into the layer's own source table)
//! so each layer can print the stack in its native format.
//!
//! Causality is kept as `Hop`s: whenever one context makes another run (a
//! xenstore write firing a watch, an event-channel notify, a signal, a thread
//! start), the sender records a hop naming itself, and the receiver adopts it.
//! `chain()` walks hops back to the user's action.

use crate::probe::{Layer, Probe};
use crate::time::SimTime;
use std::rc::Rc;

/// An execution context.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct CtxId(pub u32);

/// A causal hop.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct HopId(pub u32);

/// No domain.
pub const NO_DOM: u32 = u32::MAX;

/// One modelled function call on a context's stack.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Which function.
    pub probe: Probe,
    /// The line (layer-specific index) the function is executing.
    pub line: u16,
    /// The domain the call concerns, or `NO_DOM`.
    pub domid: u32,
    /// When the call was entered.
    pub entered: SimTime,
    /// What caused the context to be running this call.
    pub hop: Option<HopId>,
    /// A script hooked this probe when the call began.
    pub hooked: bool,
    /// The call has passed its site.
    pub sited: bool,
    /// Its record in the trace, or `trace::NO_CALL`.
    pub rec: crate::trace::CallId,
}

/// A thread of some layer.
#[derive(Clone, Debug)]
pub struct Context {
    /// Its name in the layer's terms.
    pub name: Rc<str>,
    /// Which layer it belongs to.
    pub layer: Layer,
    /// The domain it belongs to (a guest task, a pCPU running a vCPU), or `NO_DOM`.
    pub domid: u32,
    /// The call stack, outermost first.
    pub stack: Vec<Frame>,
    /// The hop that made this context run what it runs now.
    pub cause: Option<HopId>,
    /// A thread of its own task's (`Sim::new_thread_ctx`): it may go with
    /// the task, when nothing can look at a finished thread.
    pub owned: bool,
    /// Tasks started on it and not ended.
    pub tasks: u16,
}

/// One step of a causal chain.
#[derive(Clone, Debug)]
pub struct Hop {
    /// When the step happened.
    pub time: SimTime,
    /// The context that took it.
    pub ctx: CtxId,
    /// The function it was in (the top frame), if any.
    pub probe: Option<Probe>,
    /// A short note of what crossed (`"xs watch fired"`, `"evtchn notify"`).
    pub what: &'static str,
    /// The hop before it.
    pub parent: Option<HopId>,
    /// The sender's call stack when it took the hop, if
    /// `Contexts::record_hop_stacks` was on (`ctx.chain(#{ stacks: true })`).
    pub stack: Option<Rc<[Frame]>>,
}

/// All contexts and hops of a world.
#[derive(Default)]
pub struct Contexts {
    pub(crate) ctxs: Vec<Context>,
    pub(crate) hops: Vec<Hop>,
    /// Whether hops are recorded (off in large benchmarks to save memory).
    pub record_hops: bool,
    /// Whether each hop keeps its sender's stack: a copy of the frames per
    /// hop, which `ctx.chain(#{ stacks: true })` prints. On by default;
    /// worth turning off when nothing will ask for it.
    pub record_hop_stacks: bool,
    /// Whether a thread's own context is freed when its task ends, for the
    /// next thread to take: on only while nothing can name a finished
    /// thread (no trace, no hops, no frames read, no hook), since the id
    /// then names another. A host of 10,000 domains starts some 200,000
    /// short threads (xend's per request, udev workers, xm processes).
    pub recycle: bool,
    /// Freed contexts, the latest freed first to be taken.
    pub(crate) free: Vec<u32>,
}

impl Contexts {
    /// A new context.
    pub fn create(&mut self, name: Rc<str>, layer: Layer, domid: u32) -> CtxId {
        self.make(name, layer, domid, false)
    }

    /// A new context for one task's thread, freed with it (see `recycle`).
    pub fn create_owned(&mut self, name: Rc<str>, layer: Layer, domid: u32) -> CtxId {
        self.make(name, layer, domid, true)
    }

    fn make(&mut self, name: Rc<str>, layer: Layer, domid: u32, owned: bool) -> CtxId {
        let c = Context {
            name,
            layer,
            domid,
            stack: Vec::new(),
            cause: None,
            owned,
            tasks: 0,
        };
        if let Some(i) = self.free.pop() {
            self.ctxs[i as usize] = c;
            return CtxId(i);
        }
        self.ctxs.push(c);
        CtxId((self.ctxs.len() - 1) as u32)
    }

    /// A task started on `c`.
    pub fn task_started(&mut self, c: CtxId) {
        let ctx = &mut self.ctxs[c.0 as usize];
        ctx.tasks = ctx.tasks.saturating_add(1);
    }

    /// A context by id.
    pub fn get(&self, c: CtxId) -> &Context {
        &self.ctxs[c.0 as usize]
    }

    /// A context by id, mutably.
    pub fn get_mut(&mut self, c: CtxId) -> &mut Context {
        &mut self.ctxs[c.0 as usize]
    }

    /// A hop by id.
    pub fn hop(&self, h: HopId) -> &Hop {
        &self.hops[h.0 as usize]
    }

    /// Records a hop taken by context `c` now.
    pub fn record(&mut self, time: SimTime, c: CtxId, what: &'static str) -> Option<HopId> {
        if !self.record_hops {
            return None;
        }
        let ctx = &self.ctxs[c.0 as usize];
        let (probe, parent) = match ctx.stack.last() {
            Some(f) => (Some(f.probe), f.hop.or(ctx.cause)),
            None => (None, ctx.cause),
        };
        let stack = self
            .record_hop_stacks
            .then(|| Rc::<[Frame]>::from(ctx.stack.as_slice()));
        self.hops.push(Hop {
            time,
            ctx: c,
            probe,
            what,
            parent,
            stack,
        });
        Some(HopId((self.hops.len() - 1) as u32))
    }

    /// A task on `c` has ended. A context outlives its tasks (the trace and
    /// the causal hops name it), but an emptied stack need not keep its
    /// room: xend starts a thread per refresh and per device, so a busy
    /// host leaves thousands of finished contexts behind.
    pub fn task_ended(&mut self, c: CtxId) {
        let ctx = &mut self.ctxs[c.0 as usize];
        ctx.tasks = ctx.tasks.saturating_sub(1);
        if ctx.stack.is_empty() {
            ctx.stack = Vec::new();
            if self.recycle && ctx.owned && ctx.tasks == 0 {
                ctx.name = Rc::from("");
                ctx.owned = false;
                self.free.push(c.0);
            }
        }
    }

    /// Number of contexts created (and not freed for reuse: see `recycle`).
    pub fn len(&self) -> usize {
        self.ctxs.len()
    }

    /// True when no context exists.
    pub fn is_empty(&self) -> bool {
        self.ctxs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Frame {
        Frame {
            probe: Probe::ALL[0],
            line: 0,
            domid: NO_DOM,
            entered: SimTime(0),
            hop: None,
            hooked: false,
            sited: false,
            rec: crate::trace::NO_CALL,
        }
    }

    /// An ended task's context gives back its stack's room but keeps its
    /// name, and a stack left with frames (a killed task's) stays as it was.
    #[test]
    fn an_ended_task_leaves_its_context_without_a_stack_buffer() {
        let mut cs = Contexts::default();
        let done = cs.create("xend Thread-9 (refresh)".into(), Layer::Xend, NO_DOM);
        let killed = cs.create("qemu-dm".into(), Layer::Qemu, 8);
        for c in [done, killed] {
            for _ in 0..6 {
                cs.get_mut(c).stack.push(frame());
            }
        }
        cs.get_mut(done).stack.clear();
        cs.task_ended(done);
        cs.task_ended(killed);
        assert_eq!(cs.get(done).stack.capacity(), 0);
        assert_eq!(&*cs.get(done).name, "xend Thread-9 (refresh)");
        assert_eq!(cs.get(killed).stack.len(), 6);
    }

    /// A thread's own context goes to the next thread once its last task
    /// ends, but only while recycling is on; a shared one stays.
    #[test]
    fn a_finished_threads_context_is_reused_only_when_nothing_can_name_it() {
        let mut cs = Contexts::default();
        let shared = cs.create("xenwatch".into(), Layer::Guest, 8);
        let a = cs.create_owned("xend Thread-1 (a)".into(), Layer::Xend, NO_DOM);
        cs.task_started(a);
        cs.task_ended(a);
        let b = cs.create_owned("xend Thread-2 (b)".into(), Layer::Xend, NO_DOM);
        assert_ne!(a, b, "recycling is off by default: ids stay unique");
        assert_eq!(&*cs.get(a).name, "xend Thread-1 (a)");

        cs.recycle = true;
        cs.task_started(b);
        cs.task_started(b);
        cs.task_ended(b);
        let c = cs.create_owned("xm shutdown (pid 9)".into(), Layer::Xm, NO_DOM);
        assert_ne!(c, b, "a context with a task still running is kept");
        cs.task_ended(b);
        let d = cs.create_owned("udevd worker (pid 10)".into(), Layer::Dom0, NO_DOM);
        assert_eq!(d, b, "the last task's end frees it for the next thread");
        assert_eq!(&*cs.get(d).name, "udevd worker (pid 10)");
        assert_eq!(cs.get(d).layer, Layer::Dom0);

        cs.task_started(shared);
        cs.task_ended(shared);
        let e = cs.create_owned("xend Thread-3 (e)".into(), Layer::Xend, NO_DOM);
        assert_ne!(e, shared, "a context several tasks may use is never freed");
    }
}
