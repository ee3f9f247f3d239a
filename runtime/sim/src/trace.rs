//! The event trace: one record per probe call, in the order calls began,
//! with when it ended, its arguments, its caller and the causal hop that led
//! to it. `sim.events()`, `--trace`, `--timeline` and `--sequence` read it,
//! together with the hops (`stack::Contexts::hops`). Off in large benchmarks.

use crate::probe::Probe;
use crate::stack::{CtxId, HopId};
use crate::time::SimTime;
use crate::value::Value;

/// Index of a call record; `NO_CALL` when the trace is off.
pub type CallId = u32;

/// No record.
pub const NO_CALL: CallId = u32::MAX;

/// One probe call.
#[derive(Clone, Debug)]
pub struct CallRecord {
    /// When the call began.
    pub time: SimTime,
    /// When it returned (`None`: still running, or its task was killed).
    pub end: Option<SimTime>,
    /// The context it ran on.
    pub ctx: CtxId,
    /// The function.
    pub probe: Probe,
    /// The domain it concerned, or `NO_DOM`.
    pub domid: u32,
    /// The hop that caused it.
    pub hop: Option<HopId>,
    /// The call it was made from, on the same context.
    pub parent: Option<CallId>,
    /// Its arguments, in the probe's order.
    pub args: Vec<Value>,
}

/// All calls recorded so far.
#[derive(Default)]
pub struct Trace {
    /// The records, oldest first.
    pub calls: Vec<CallRecord>,
}

impl Trace {
    pub(crate) fn record_call(&mut self, rec: CallRecord) -> CallId {
        let id = self.calls.len() as CallId;
        self.calls.push(rec);
        id
    }

    pub(crate) fn end_call(&mut self, id: CallId, t: SimTime) {
        if let Some(r) = self.calls.get_mut(id as usize) {
            r.end = Some(t);
        }
    }
}

impl crate::stack::Contexts {
    /// Every causal hop recorded so far, oldest first (the `--trace`,
    /// `--timeline` and `--sequence` writers read them with the calls).
    pub fn hops(&self) -> &[crate::stack::Hop] {
        &self.hops
    }
}
