//! What a run leaves for people to look at, besides the logs: the trace as
//! JSON lines (`--trace`), a Chrome/Perfetto timeline (`--timeline`) and a
//! sequence diagram across the layers (`--sequence`, SVG or Mermaid).
//!
//! All three read the same two records the world keeps while
//! `sim.tracing` is on: the probe calls (`xsh_sim::trace`) and the causal
//! hops (`xsh_sim::stack`). [`View`] joins them once — which call a hop was
//! taken in, which calls on other contexts it started — so each writer is a
//! plain walk. docs/outputs.md describes every format.

pub mod decode;
pub mod json;
pub mod mermaid;
pub mod report;
pub mod sequence;
pub mod svg;
pub mod timeline;
pub mod trace;

use std::path::Path;

use xsh_sim::probe::Layer;
use xsh_sim::stack::{Contexts, Hop, NO_DOM};
use xsh_sim::time::SimTime;
use xsh_sim::trace::{CallId, CallRecord};
use xsh_sim::Sim;

/// The calls and hops of a run, joined.
pub struct View<'a> {
    /// Probe calls, in the order they began.
    pub calls: &'a [CallRecord],
    /// Causal hops, in the order they were taken.
    pub hops: &'a [Hop],
    /// Execution contexts (name, layer, domain).
    pub ctxs: &'a Contexts,
    /// Per hop: the call on the sender's context it was taken in.
    pub taken_in: Vec<Option<CallId>>,
    /// Per hop: the first call it caused on each other context, in order.
    pub started: Vec<Vec<CallId>>,
    /// The latest time anything was seen (a call still open ends here).
    pub end: SimTime,
    /// The run's settings, for headers.
    pub meta: Meta,
}

/// What a run was.
#[derive(Clone, Debug)]
pub struct Meta {
    /// The script's name.
    pub script: String,
    /// The world's seed.
    pub seed: u64,
    /// `sim.profile`.
    pub profile: String,
    /// `sim.start_time`.
    pub start_time: String,
}

impl<'a> View<'a> {
    /// Joins calls and hops.
    pub fn new(calls: &'a [CallRecord], hops: &'a [Hop], ctxs: &'a Contexts, meta: Meta) -> Self {
        // Calls by context, for finding the call a hop was taken in.
        let mut by_ctx: Vec<Vec<CallId>> = vec![Vec::new(); ctxs.len()];
        for (i, c) in calls.iter().enumerate() {
            if let Some(v) = by_ctx.get_mut(c.ctx.0 as usize) {
                v.push(i as CallId);
            }
        }
        let taken_in = hops
            .iter()
            .map(|h| {
                let list = by_ctx.get(h.ctx.0 as usize)?;
                // The innermost call running on the sender's context at the
                // hop's time: it began no later, had not ended, and is the
                // function the hop names (its top frame then).
                let upto = list.partition_point(|&id| calls[id as usize].time <= h.time);
                list[..upto].iter().rev().copied().find(|&id| {
                    let c = &calls[id as usize];
                    Some(c.probe) == h.probe && c.end.is_none_or(|e| e >= h.time)
                })
            })
            .collect();
        let mut started: Vec<Vec<CallId>> = vec![Vec::new(); hops.len()];
        let mut seen: Vec<Vec<u32>> = vec![Vec::new(); hops.len()];
        for (i, c) in calls.iter().enumerate() {
            let Some(h) = c.hop else { continue };
            let hi = h.0 as usize;
            let Some(hop) = hops.get(hi) else { continue };
            // Only the first call per receiving context: later ones there
            // inherit the same cause but were not started by the hop.
            if hop.ctx != c.ctx && !seen[hi].contains(&c.ctx.0) {
                seen[hi].push(c.ctx.0);
                started[hi].push(i as CallId);
            }
        }
        let end = calls
            .iter()
            .map(|c| c.end.unwrap_or(c.time))
            .chain(hops.iter().map(|h| h.time))
            .max()
            .unwrap_or(SimTime::ZERO);
        View {
            calls,
            hops,
            ctxs,
            taken_in,
            started,
            end,
            meta,
        }
    }

    /// The layer that took a hop: the function it was taken in, else the
    /// context's own layer (a guest vCPU running Xen code is Xen's step).
    pub fn hop_layer(&self, h: usize) -> Layer {
        let hop = &self.hops[h];
        hop.probe
            .map(|p| p.layer())
            .unwrap_or_else(|| self.ctx_layer(hop.ctx))
    }

    /// The layer a context belongs to.
    pub fn ctx_layer(&self, ctx: xsh_sim::stack::CtxId) -> Layer {
        self.ctxs.get(ctx).layer
    }
}

/// The run's settings, as the headers show them.
pub fn meta(sim: &Sim, script: &str) -> Meta {
    let cfg = sim.cfg();
    Meta {
        script: script.to_string(),
        seed: cfg.seed,
        profile: cfg.profile.name().to_string(),
        start_time: cfg.epoch.format(SimTime::ZERO),
    }
}

/// Runs `f` on the world's trace. The borrows last only for the call, so
/// this must not run while the world does (it is called between events).
pub fn with_view<R>(sim: &Sim, script: &str, f: impl FnOnce(&View) -> R) -> R {
    let meta = meta(sim, script);
    let trace = sim.trace.borrow();
    let ctxs = sim.ctxs.borrow();
    let view = View::new(&trace.calls, ctxs.hops(), &ctxs, meta);
    f(&view)
}

/// The three outputs.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Kind {
    /// JSON lines.
    Trace,
    /// Chrome trace-event JSON.
    Timeline,
    /// Sequence diagram (SVG or Mermaid by the file's extension).
    Sequence,
}

/// Renders an output as text; for `Sequence` the path's extension picks
/// SVG (`.svg`) or Mermaid (`.mmd`).
pub fn render(sim: &Sim, script: &str, kind: Kind, path: &Path) -> Result<String, String> {
    // With tracing off the record is empty or stops part-way (the world's
    // own start-up is traced before a script can turn it off): a file of
    // it would look like a run that did nothing.
    if !sim.tracing.get() {
        return Err(format!(
            "{}: the trace is off (sim.tracing = false), so there is no record to write; leave sim.tracing on (the default) for runs whose trace, timeline or sequence you want",
            path.display()
        ));
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    Ok(match kind {
        Kind::Trace => with_view(sim, script, trace::jsonl),
        Kind::Timeline => with_view(sim, script, timeline::chrome_json),
        Kind::Sequence => {
            let steps = with_view(sim, script, sequence::steps);
            match ext {
                "svg" => svg::render(&steps),
                "mmd" | "mermaid" => mermaid::render(&steps),
                other => {
                    return Err(format!(
                        "{}: a sequence diagram is written as .svg or .mmd, not {:?}",
                        path.display(),
                        other
                    ))
                }
            }
        }
    })
}

/// Refuses a destination that cannot take a file, before a run spends
/// its time: a folder, or a path in a folder that does not exist.
pub fn check_destination(path: &Path) -> Result<(), String> {
    if path.is_dir() {
        return Err(format!("{}: is a folder, not a file", path.display()));
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = parent {
        if !dir.is_dir() {
            return Err(format!(
                "{}: cannot write there: no folder {}",
                path.display(),
                dir.display()
            ));
        }
    }
    Ok(())
}

/// Renders and writes an output file.
pub fn write(sim: &Sim, script: &str, kind: Kind, path: &Path) -> Result<(), String> {
    let text = render(sim, script, kind, path)?;
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A domid for output: `None` for "no domain".
pub fn domid(d: u32) -> Option<u64> {
    (d != NO_DOM).then_some(d as u64)
}
