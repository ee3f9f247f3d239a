//! The event trace: one compact record per probe call, in the order calls
//! began. `sim.events()` and `--trace` read it. Off in large benchmarks.

use crate::probe::Probe;
use crate::stack::{CtxId, HopId};
use crate::time::SimTime;

/// One probe call.
#[derive(Clone, Debug)]
pub struct CallRecord {
    /// When the call began.
    pub time: SimTime,
    /// The context it ran on.
    pub ctx: CtxId,
    /// The function.
    pub probe: Probe,
    /// The domain it concerned, or `NO_DOM`.
    pub domid: u32,
    /// The hop that caused it.
    pub hop: Option<HopId>,
}

/// All calls recorded so far.
#[derive(Default)]
pub struct Trace {
    /// The records, oldest first.
    pub calls: Vec<CallRecord>,
}

impl Trace {
    pub(crate) fn record_call(
        &mut self,
        time: SimTime,
        ctx: CtxId,
        probe: Probe,
        domid: u32,
        hop: Option<HopId>,
    ) {
        self.calls.push(CallRecord {
            time,
            ctx,
            probe,
            domid,
            hop,
        });
    }
}
