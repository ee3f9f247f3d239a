//! Where every probe call sits in the sequence diagram: the step that
//! caused it to run.
//!
//! A step is a crossing between layers (`sequence.rs`); a call that is
//! not a crossing itself ran because of one. Its place is that of the
//! nearest call it was made from, or — for the first call of work a
//! causal hop started (a watch callback, a woken thread) — the hop's own
//! crossing, or else the call the hop was taken in. Calls are numbered in
//! the order they began, and a call's caller, the first call of its hop
//! and the call a hop was taken in all began before it, so one pass in id
//! order places every call. Calls made while `xm create` built the domain
//! are in the diagram's creation band.

use xsh_sim::trace::CallId;

use crate::output::sequence::Steps;
use crate::output::View;

/// A call's place in the diagram.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// Step `n` (0-based, as `Steps::steps`).
    Step(u32),
    /// The folded creation band.
    Setup,
    /// Outside the diagram: the script itself acted, with no layer
    /// crossing before it (a top-level `xs.write`).
    None,
}

impl Place {
    /// As the page's data encodes it: the step, -1 for the creation band,
    /// -2 for none.
    pub fn code(self) -> i64 {
        match self {
            Place::Step(n) => n as i64,
            Place::Setup => -1,
            Place::None => -2,
        }
    }
}

/// The place of every call (indexed by call id) and of every hop.
pub struct Places {
    /// Per call.
    pub calls: Vec<Place>,
    /// Per hop: the place of the crossing it made (its first started call),
    /// else of the call it was taken in.
    pub hops: Vec<Place>,
}

/// Places every call and hop of a run drawn as `steps`.
pub fn places(v: &View, steps: &Steps) -> Places {
    let n = v.calls.len();
    let mut key: Vec<Option<Place>> = vec![None; n];
    for (i, st) in steps.steps.iter().enumerate() {
        for &k in &st.keys {
            if let Some(slot) = key.get_mut(k as usize) {
                *slot = Some(Place::Step(i as u32));
            }
        }
    }
    let setup_until = if steps.setup > 0 {
        steps.first_call as usize
    } else {
        0
    };
    let mut calls: Vec<Place> = Vec::with_capacity(n);
    for (i, c) in v.calls.iter().enumerate() {
        let place = if i < setup_until {
            Place::Setup
        } else if let Some(p) = key[i] {
            p
        } else {
            let parent = c.parent.map(|p| p as usize).filter(|&p| p < i);
            // Work a hop started on this context: a call whose cause is not
            // its caller's (a woken thread's loop calls on with a new cause).
            let hop = c
                .hop
                .filter(|h| parent.is_none_or(|p| v.calls[p].hop != Some(*h)));
            match (hop, parent) {
                (Some(h), _) => by_hop(v, &calls, h.0 as usize, c.ctx, i),
                (None, Some(p)) => calls[p],
                (None, None) => Place::None,
            }
        };
        calls.push(place);
    }
    let hops = (0..v.hops.len())
        .map(|h| {
            let first = v.started[h].first().map(|&s| s as usize);
            match first.or(v.taken_in[h].map(|t| t as usize)) {
                Some(c) if c < n => calls[c],
                _ => Place::None,
            }
        })
        .collect();
    Places { calls, hops }
}

/// The place of call `i` on `ctx` that hop `h` made run: that of the first
/// call the hop started there, else that of the call it was taken in.
fn by_hop(v: &View, placed: &[Place], h: usize, ctx: xsh_sim::stack::CtxId, i: usize) -> Place {
    let first = v.started.get(h).and_then(|s| {
        s.iter()
            .map(|&c| c as usize)
            .find(|&c| c < i && v.calls[c].ctx == ctx)
    });
    let taken = v.taken_in.get(h).copied().flatten().map(|c| c as usize);
    match first.or(taken.filter(|&t| t < i)) {
        Some(c) => placed[c],
        None => Place::None,
    }
}

/// The call ids of `c` and the calls it was made from, innermost first.
pub fn stack_of(v: &View, c: CallId) -> Vec<CallId> {
    let mut out = vec![c];
    let mut cur = v.calls.get(c as usize).and_then(|r| r.parent);
    while let Some(p) = cur {
        out.push(p);
        cur = v.calls.get(p as usize).and_then(|r| r.parent);
        if out.len() > 4096 {
            break;
        }
    }
    out
}
