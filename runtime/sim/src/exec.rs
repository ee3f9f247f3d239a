//! The executor: one event queue ordered by (time, sequence), tasks that are
//! Rust futures, and the execution contexts whose call stacks xsh prints.
//!
//! Every thread of the modelled system — an xend thread, a guest kernel
//! thread or process, qemu-dm's main loop, a Xen pCPU — is a task. A task
//! waits only on the leaf futures below (`Sleep`, `Park`), which register the
//! task with whatever will wake it; waking pushes a `Wake` event at the
//! current time, so ties run in the order they were caused. Nothing here holds
//! a `RefCell` borrow while a task is polled, which is what lets a script
//! hook, run from inside a probe, call back into any part of the world.

use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context as TaskCx, Poll, RawWaker, RawWakerVTable, Waker};

use crate::stack::CtxId;
use crate::time::{SimDuration, SimTime};

mod in_place;
pub(crate) use in_place::Bounds;

/// A boxed, non-`Send` future: everything in the world lives on one thread.
pub type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// A task's handle. The generation makes a handle to a finished task inert.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct TaskId {
    idx: u32,
    gen: u32,
}

/// What an event does when its time comes.
pub(crate) enum Ev {
    Wake(TaskId),
    Call(Box<dyn FnOnce(&crate::Sim)>),
}

struct Entry {
    time: SimTime,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.time == o.time && self.seq == o.seq
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    // BinaryHeap is a max-heap: reverse so the earliest (time, seq) pops first.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.time, o.seq).cmp(&(self.time, self.seq))
    }
}

/// The events due later than now, in two heaps: those due within
/// `NEAR` of the time they were queued, and the rest. On a big host many
/// timers wait far ahead (xend's 300-second shutdown timer of every domain
/// shutting down), which would otherwise deepen the heap every near event
/// is sifted through; the next event is the earlier of the two heaps'
/// fronts, the order one heap would give.
#[derive(Default)]
struct Later {
    near: BinaryHeap<Entry>,
    far: BinaryHeap<Entry>,
}

/// How far ahead an event may be queued and still go to the near heap.
const NEAR: u64 = 10_000_000;

impl Later {
    fn push(&mut self, now: SimTime, e: Entry) {
        if e.time.0.saturating_sub(now.0) < NEAR {
            self.near.push(e)
        } else {
            self.far.push(e)
        }
    }

    /// The heap whose front is due first.
    fn first(&mut self) -> &mut BinaryHeap<Entry> {
        match (self.near.peek(), self.far.peek()) {
            // `Entry`'s order is reversed (the earliest is the greatest).
            (Some(n), Some(f)) if f > n => &mut self.far,
            (None, Some(_)) => &mut self.far,
            _ => &mut self.near,
        }
    }

    fn peek(&mut self) -> Option<&Entry> {
        self.first().peek()
    }

    fn pop(&mut self) -> Option<Entry> {
        self.first().pop()
    }

    fn len(&self) -> usize {
        self.near.len() + self.far.len()
    }

    fn is_empty(&self) -> bool {
        self.near.is_empty() && self.far.is_empty()
    }
}

struct Slot {
    gen: u32,
    fut: Option<LocalFuture<()>>,
    ctx: CtxId,
    live: bool,
    running: bool,
    killed: bool,
    wake_queued: bool,
    /// Woken while already being polled further up the stack.
    missed: bool,
}

/// The queue, the clock and the tasks.
///
/// Most events are due at the instant they are queued (a task woken, a
/// thread handed the GIL): those wait in a plain FIFO beside the heap of
/// later ones, and the next event is whichever of the two fronts has the
/// smaller (time, sequence) — the order one heap would give, for a push and
/// a pop that cost next to nothing.
pub struct Executor {
    now: Cell<SimTime>,
    seq: Cell<u64>,
    queue: RefCell<Later>,
    /// Events due at `now`, in sequence order.
    due_now: RefCell<std::collections::VecDeque<(u64, Ev)>>,
    slots: RefCell<Vec<Slot>>,
    free: RefCell<Vec<u32>>,
    current: Cell<Option<TaskId>>,
    /// Futures of killed tasks, dropped at the next step with no borrow held.
    graveyard: RefCell<Vec<LocalFuture<()>>>,
    /// While above zero every delay is zero: `xm.create` settles the world
    /// (boot, watch registration) without virtual time passing.
    instant: Cell<u32>,
    events: Cell<u64>,
    /// The bounds of the loop running the current event, if it lets a
    /// sleeping task go on in place; `None` for loops that do not.
    bounds: Cell<Option<Rc<Bounds>>>,
    /// The task `poll` is polling. A hook's `orig()` polls a call's body
    /// itself, in a loop of its own: a sleep there is always queued.
    polled: Cell<Option<TaskId>>,
    /// Whether a wake-up may run in place at all (tests compare runs with
    /// every wake-up queued).
    in_place: Cell<bool>,
}

pub(crate) fn noop_waker() -> Waker {
    const VT: RawWakerVTable = RawWakerVTable::new(
        |_| RawWaker::new(std::ptr::null(), &VT),
        |_| {},
        |_| {},
        |_| {},
    );
    // SAFETY: every vtable function ignores the data pointer, so a null one is fine.
    unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &VT)) }
}

impl Default for Executor {
    fn default() -> Self {
        Executor {
            now: Cell::new(SimTime::ZERO),
            seq: Cell::new(0),
            queue: RefCell::new(Later::default()),
            due_now: RefCell::new(std::collections::VecDeque::new()),
            slots: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
            current: Cell::new(None),
            graveyard: RefCell::new(Vec::new()),
            instant: Cell::new(0),
            events: Cell::new(0),
            bounds: Cell::new(None),
            polled: Cell::new(None),
            in_place: Cell::new(true),
        }
    }
}

impl Executor {
    /// The current virtual time.
    pub fn now(&self) -> SimTime {
        self.now.get()
    }

    /// Events run so far.
    pub fn events_run(&self) -> u64 {
        self.events.get()
    }

    /// True while `xm.create` settles the world at one instant.
    pub fn instant(&self) -> bool {
        self.instant.get() > 0
    }

    pub(crate) fn enter_instant(&self) {
        self.instant.set(self.instant.get() + 1);
    }
    pub(crate) fn leave_instant(&self) {
        self.instant.set(self.instant.get().saturating_sub(1));
    }

    /// `d`, or zero while settling instantly.
    pub fn scaled(&self, d: SimDuration) -> SimDuration {
        if self.instant() {
            SimDuration::ZERO
        } else {
            d
        }
    }

    pub(crate) fn push(&self, time: SimTime, ev: Ev) {
        let seq = self.seq.get();
        self.seq.set(seq + 1);
        let now = self.now.get();
        if time == now {
            self.due_now.borrow_mut().push_back((seq, ev));
        } else {
            self.queue.borrow_mut().push(now, Entry { time, seq, ev });
        }
    }

    /// The time of the next event, if any.
    pub fn next_time(&self) -> Option<SimTime> {
        if !self.due_now.borrow().is_empty() {
            return Some(self.now.get());
        }
        self.queue.borrow_mut().peek().map(|e| e.time)
    }

    /// Moves the clock forward to `t` (never back).
    pub fn advance_to(&self, t: SimTime) {
        let now = self.now.get();
        if t > now {
            // Events still due at the old instant keep their time.
            let mut heap = self.queue.borrow_mut();
            for (seq, ev) in self.due_now.borrow_mut().drain(..) {
                heap.push(now, Entry { time: now, seq, ev });
            }
            self.now.set(t);
        }
    }

    /// Number of queued events.
    pub fn queued(&self) -> usize {
        self.queue.borrow().len() + self.due_now.borrow().len()
    }

    /// The task being polled right now.
    pub fn current(&self) -> Option<TaskId> {
        self.current.get()
    }

    pub(crate) fn set_current(&self, t: Option<TaskId>) -> Option<TaskId> {
        self.current.replace(t)
    }

    /// The execution context of a live task.
    pub fn task_ctx(&self, t: TaskId) -> Option<CtxId> {
        let s = self.slots.borrow();
        s.get(t.idx as usize)
            .filter(|s| s.gen == t.gen && s.live)
            .map(|s| s.ctx)
    }

    /// Is the task alive (not finished, not killed)?
    pub fn alive(&self, t: TaskId) -> bool {
        let s = self.slots.borrow();
        s.get(t.idx as usize)
            .is_some_and(|s| s.gen == t.gen && s.live && !s.killed)
    }

    pub(crate) fn spawn_at(&self, time: SimTime, ctx: CtxId, fut: LocalFuture<()>) -> TaskId {
        let idx = self.free.borrow_mut().pop();
        let id = {
            let mut slots = self.slots.borrow_mut();
            let slot = Slot {
                gen: 0,
                fut: Some(fut),
                ctx,
                live: true,
                running: false,
                killed: false,
                wake_queued: true,
                missed: false,
            };
            match idx {
                Some(i) => {
                    let gen = slots[i as usize].gen.wrapping_add(1);
                    slots[i as usize] = Slot { gen, ..slot };
                    TaskId { idx: i, gen }
                }
                None => {
                    slots.push(slot);
                    TaskId {
                        idx: (slots.len() - 1) as u32,
                        gen: 0,
                    }
                }
            }
        };
        self.push(time, Ev::Wake(id));
        id
    }

    /// Makes a parked task runnable at the current time.
    pub fn wake(&self, t: TaskId) {
        {
            let mut s = self.slots.borrow_mut();
            let Some(slot) = s.get_mut(t.idx as usize) else {
                return;
            };
            if slot.gen != t.gen || !slot.live || slot.killed || slot.wake_queued {
                return;
            }
            slot.wake_queued = true;
        }
        self.push(self.now(), Ev::Wake(t));
    }

    /// Ends a task: its future is dropped (at once, or when its poll returns
    /// if it is the one running) and its pending wake-ups become no-ops.
    pub fn kill(&self, t: TaskId) {
        let fut = {
            let mut s = self.slots.borrow_mut();
            let Some(slot) = s.get_mut(t.idx as usize) else {
                return;
            };
            if slot.gen != t.gen || !slot.live || slot.killed {
                return;
            }
            slot.killed = true;
            if slot.running {
                None
            } else {
                slot.live = false;
                slot.fut.take()
            }
        };
        if let Some(f) = fut {
            self.graveyard.borrow_mut().push(f);
            self.free.borrow_mut().push(t.idx);
        }
    }

    /// Drops every task's future, every queued event and the graveyard,
    /// leaving the executor empty; they are taken out first and dropped
    /// with no borrow held (a future's destructor may reach back into the
    /// world, even queue again). Says whether there was anything.
    pub(crate) fn clear(&self) -> bool {
        let futs: Vec<LocalFuture<()>> = {
            let mut slots = self.slots.borrow_mut();
            let taken = slots.iter_mut().filter_map(|s| s.fut.take()).collect();
            slots.clear();
            self.free.borrow_mut().clear();
            taken
        };
        let queue = std::mem::take(&mut *self.queue.borrow_mut());
        let now = std::mem::take(&mut *self.due_now.borrow_mut());
        let dead = std::mem::take(&mut *self.graveyard.borrow_mut());
        let any = !(futs.is_empty() && queue.is_empty() && now.is_empty() && dead.is_empty());
        drop((futs, queue, now, dead));
        any
    }

    fn bury(&self) {
        // Runs before every event; a task is seldom killed.
        if self.graveyard.borrow().is_empty() {
            return;
        }
        let dead: Vec<_> = std::mem::take(&mut *self.graveyard.borrow_mut());
        drop(dead);
    }

    /// Consumes a wake meant for `t` that arrived while `t` was being polled
    /// further up the stack, or that a nested run intercepted.
    pub(crate) fn take_wake(&self, t: TaskId) -> bool {
        let mut s = self.slots.borrow_mut();
        match s.get_mut(t.idx as usize) {
            Some(slot) if slot.gen == t.gen => {
                slot.wake_queued = false;
                std::mem::take(&mut slot.missed)
            }
            _ => false,
        }
    }

    /// Pops the next event, advancing the clock. `None` when idle.
    pub(crate) fn pop(&self) -> Option<(SimTime, Ev)> {
        self.bury();
        let now = self.now.get();
        let mut due = self.due_now.borrow_mut();
        let mut heap = self.queue.borrow_mut();
        // The heap goes first only with an event due now queued earlier.
        let from_heap = match (due.front(), heap.peek()) {
            (Some(&(s, _)), Some(e)) => e.time == now && e.seq < s,
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (None, None) => return None,
        };
        let (time, ev) = if from_heap {
            let e = heap.pop()?;
            (e.time, e.ev)
        } else {
            (now, due.pop_front()?.1)
        };
        if time > now {
            self.now.set(time);
        }
        self.events.set(self.events.get() + 1);
        Some((time, ev))
    }

    /// Polls one task once. Returns the task's context if the task ended
    /// (finished or killed) on this poll.
    pub(crate) fn poll(&self, t: TaskId) -> Option<CtxId> {
        let fut = {
            let mut s = self.slots.borrow_mut();
            let slot = s.get_mut(t.idx as usize)?;
            if slot.gen != t.gen || !slot.live || slot.killed {
                return None;
            }
            slot.wake_queued = false;
            match slot.fut.take() {
                Some(f) => {
                    slot.running = true;
                    f
                }
                // Already being polled further up the stack (a hook's nested
                // run of the world): remember the wake for when that poll ends.
                None => {
                    slot.missed = true;
                    return None;
                }
            }
        };
        let mut fut = fut;
        let prev = self.set_current(Some(t));
        let prev_polled = self.set_polled(Some(t));
        let waker = noop_waker();
        let done = fut
            .as_mut()
            .poll(&mut TaskCx::from_waker(&waker))
            .is_ready();
        self.set_polled(prev_polled);
        self.set_current(prev);
        let ended = {
            let mut s = self.slots.borrow_mut();
            let slot = &mut s[t.idx as usize];
            slot.running = false;
            if done || slot.killed {
                slot.live = false;
                slot.ctx
            } else {
                match &mut slot.fut {
                    // Taken out above for the poll: there is nothing here
                    // to drop, which a plain assignment would check for.
                    None => slot.fut = Some(fut),
                    // (Never: a running task's slot holds no future.)
                    Some(held) => *held = fut,
                }
                if std::mem::take(&mut slot.missed) {
                    slot.wake_queued = true;
                    drop(s);
                    self.push(self.now(), Ev::Wake(t));
                }
                return None;
            }
        };
        self.free.borrow_mut().push(t.idx);
        drop(fut);
        Some(ended)
    }
}

/// A future that completes at a virtual instant.
pub struct Sleep {
    pub(crate) sim: crate::Sim,
    pub(crate) until: SimTime,
    pub(crate) armed: bool,
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut TaskCx<'_>) -> Poll<()> {
        let exec = &self.sim.exec;
        if self.armed && exec.now() >= self.until {
            return Poll::Ready(());
        }
        if !self.armed {
            let Some(t) = exec.current() else {
                return Poll::Ready(());
            };
            let until = self.until;
            if self.sim.wake_in_place(t, until) {
                return Poll::Ready(());
            }
            exec.push(until, Ev::Wake(t));
            self.armed = true;
        }
        Poll::Pending
    }
}

/// A future that parks the current task once: on its first poll it hands the
/// task id to `register` (which files it wherever the waker will look) and
/// returns `Pending`; the next poll completes. Callers re-check their
/// condition in a loop, so a spurious wake is harmless.
pub struct Park<F: FnOnce(TaskId)> {
    pub(crate) register: Option<F>,
    pub(crate) sim: crate::Sim,
}

impl<F: FnOnce(TaskId) + Unpin> Future for Park<F> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut TaskCx<'_>) -> Poll<()> {
        match self.register.take() {
            Some(reg) => match self.sim.exec.current() {
                Some(t) => {
                    reg(t);
                    Poll::Pending
                }
                None => Poll::Ready(()),
            },
            None => Poll::Ready(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Events queued near and far, out of order and at the same instants,
    /// come out in (time, queueing) order, as from one heap, while the
    /// clock moves on and more are queued.
    #[test]
    fn events_come_out_in_time_then_queueing_order() {
        let ex = Executor::default();
        let mut rng = crate::rng::Rng::new(7);
        let mut pending = std::collections::BTreeSet::new();
        let mut next = 0u32;
        let pop = |ex: &Executor, pending: &mut std::collections::BTreeSet<(SimTime, u32)>| {
            let (t, ev) = ex.pop()?;
            let Ev::Wake(id) = ev else {
                panic!("only wakes were queued")
            };
            let first = pending.pop_first();
            assert_eq!(first, Some((t, id.idx)), "the earliest pending event");
            Some(())
        };
        for round in 0..50 {
            for _ in 0..40 {
                // Now, a few µs, a few ms, past the near heap's reach, minutes.
                let ahead = [0, 5_000, 3_000_000, NEAR + 1, 300_000_000_000][rng.below(5) as usize]
                    + rng.below(3) * 1_000;
                let t = SimTime(ex.now.get().0 + ahead);
                ex.push(t, Ev::Wake(TaskId { idx: next, gen: 0 }));
                pending.insert((t, next));
                next += 1;
            }
            for _ in 0..(20 + round % 7) {
                if pop(&ex, &mut pending).is_none() {
                    break;
                }
            }
        }
        while pop(&ex, &mut pending).is_some() {}
        assert!(pending.is_empty(), "every event came out");
    }
}
