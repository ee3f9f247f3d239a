//! A wake-up run in place. A task that goes to sleep until an instant no
//! other event comes before would be woken by the very next event, and
//! nothing can happen in between: if the loop running the world would run
//! that event (its deadline, its limits and its own condition allow it),
//! the task goes on at once, in the same poll. The world is the one
//! queuing gives — the clock, the count of events, the order of every
//! event after (`queued_or_in_place.rs` holds runs to that) — for one
//! queue push, one pop and one descent through the task's futures less.
//! Most sleeps of a small world are such, a xenstore round trip or a step
//! of a thread nothing else interrupts: an explored variant of the seed's
//! scenario runs 8% fewer instructions.

use std::rc::Rc;

use super::{Executor, TaskId};
use crate::time::SimTime;

/// What the loop running the world checks before it runs the next event,
/// kept while it runs one.
pub(crate) struct Bounds {
    /// The last instant the loop runs events at (its deadline, the
    /// virtual-time limit).
    pub until: SimTime,
    /// The loop stops once this many events have run in all (the event limit).
    pub events_below: u64,
    /// The loop looks at the wall clock and for Ctrl-C when the events run
    /// are a multiple of 1,024 (`Sim::interrupted`).
    pub looks_every_1024: bool,
    /// The loop's own condition for going on (`Sim::run_while`).
    pub go_on: Option<Rc<dyn Fn() -> bool>>,
}

impl Executor {
    /// Makes `b` the bounds of the events run until the guard is dropped,
    /// which puts back those of the loop around.
    pub(crate) fn bounds_for(&self, b: Option<Rc<Bounds>>) -> BoundsGuard<'_> {
        BoundsGuard {
            exec: self,
            outer: self.bounds.replace(b),
        }
    }

    /// Queues every wake-up, as before `Bounds` existed: the same world,
    /// which the tests that compare both ways hold to.
    #[cfg(test)]
    pub(crate) fn queue_every_wake(&self) {
        self.in_place.set(false);
    }

    /// Sets the task being polled by the executor (see `polled`).
    pub(crate) fn set_polled(&self, t: Option<TaskId>) -> Option<TaskId> {
        self.polled.replace(t)
    }

    /// Would the next event the loop runs be the wake-up of task `t`, the
    /// task being polled, sleeping until `until` — with nothing queued
    /// before it, no killed task to bury first, and the loop's own checks
    /// letting it run? (The loop checks whether the world was aborted too:
    /// `Sim::wake_in_place`.)
    pub(crate) fn next_is_own_wake(&self, t: TaskId, until: SimTime) -> bool {
        if !self.in_place.get()
            || self.polled.get() != Some(t)
            || !self.due_now.borrow().is_empty()
            || self
                .queue
                .borrow_mut()
                .peek()
                .is_some_and(|e| e.time <= until)
            || !self.graveyard.borrow().is_empty()
            || !self.alive(t)
        {
            return false;
        }
        let Some(b) = self.bounds.take() else {
            return false;
        };
        let events = self.events.get();
        let runs = until <= b.until
            && events < b.events_below
            && !(b.looks_every_1024 && events.is_multiple_of(1024))
            && b.go_on.as_ref().is_none_or(|go_on| go_on());
        self.bounds.set(Some(b));
        runs
    }

    /// Runs a sleeping task's wake-up in place (`next_is_own_wake`): the
    /// clock moves to it, and it counts as an event run and takes its
    /// place in the queue's sequence, as if queued and popped.
    pub(crate) fn wake_in_place(&self, until: SimTime) {
        self.seq.set(self.seq.get() + 1);
        if until > self.now.get() {
            self.now.set(until);
        }
        self.events.set(self.events.get() + 1);
    }
}

/// Puts back the bounds of the loop around (`Executor::bounds_for`).
pub(crate) struct BoundsGuard<'a> {
    exec: &'a Executor,
    outer: Option<Rc<Bounds>>,
}

impl Drop for BoundsGuard<'_> {
    fn drop(&mut self) {
        self.exec.bounds.set(self.outer.take());
    }
}
