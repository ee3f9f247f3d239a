//! `--timeline FILE.json`: the run in Chrome's trace-event format, which
//! Perfetto (ui.perfetto.dev) and chrome://tracing open.
//!
//! - one process per layer (`xend`, `xenstored`, `guest`, ...), one thread
//!   per execution context, both named by metadata (`M`) events and sorted
//!   in the path's order;
//! - every probe call is a complete (`X`) slice from its start to its end,
//!   on the context that ran it; calls nest as their stacks did;
//! - every causal hop is a flow: an `s` event inside the slice that took it
//!   and an `f` event (binding point `e`, the enclosing slice) at the start
//!   of the first call it caused on each other context.
//!
//! Times (`ts`, `dur`) are display microseconds, with nanosecond decimals:
//! virtual time, except that a stretch of more than `FOLD_OVER` in which
//! nothing starts or ends (xend's 300 s timer waiting) is drawn as
//! `FOLD_TO`, marked by a global instant event saying how long it was, and
//! each call's start and end get `STEP` of room, so a call that took no
//! virtual time is still a slice one can see and click. Each slice's args
//! carry its exact virtual `t` and `end` (seconds). The domain's milestones
//! (the user's commands, the guest's poweroff, Xen's shutdown and destroy)
//! are global instant events; hypercall, domctl and port numbers are named
//! (decode.rs).

use std::fmt::Write;

use xsh_sim::probe::Layer;
use xsh_sim::time::SimTime;

use super::decode;
use super::json::{micros, string, value};
use super::{domid, View};

/// An idle stretch longer than this is folded...
const FOLD_OVER: u64 = 10_000_000_000;
/// ...to this much drawn time.
const FOLD_TO: u64 = 1_000_000_000;
/// Drawn room given to each start and end of a call, in nanoseconds.
const STEP: u64 = 1_000;

/// Layers in the order a shutdown crosses them (also the process ids; xl's
/// come last so that xend's keep theirs).
pub const LAYERS: [Layer; 9] = [
    Layer::Xm,
    Layer::Xend,
    Layer::Xs,
    Layer::Guest,
    Layer::Qemu,
    Layer::Xen,
    Layer::Dom0,
    Layer::Xl,
    Layer::Libxl,
];

/// A layer's process id in the timeline (its place in [`LAYERS`], from 1).
pub fn pid(l: Layer) -> usize {
    LAYERS.iter().position(|&x| x == l).unwrap_or(LAYERS.len()) + 1
}

/// The name a person knows the layer by.
pub fn layer_title(l: Layer) -> &'static str {
    match l {
        Layer::Xm => "xm",
        Layer::Xend => "xend",
        Layer::Xs => "xenstored",
        Layer::Guest => "guest",
        Layer::Qemu => "qemu-dm",
        Layer::Xen => "Xen",
        Layer::Dom0 => "dom0 kernel",
        Layer::Xl => "xl",
        Layer::Libxl => "libxl",
    }
}

/// When each call ended, for drawing: a call still open at the end of the
/// run (a killed task, a hook that never called `orig()`) is closed where
/// its context moved on to a call that is not inside it, else at the end of
/// the run; a child never outlasts its parent. This keeps every thread's
/// slices properly nested, as the format requires.
pub fn drawn_ends(v: &View) -> Vec<SimTime> {
    let mut ends: Vec<SimTime> = v.calls.iter().map(|c| c.end.unwrap_or(v.end)).collect();
    let mut stacks: Vec<Vec<usize>> = vec![Vec::new(); v.ctxs.len()];
    for (i, c) in v.calls.iter().enumerate() {
        let stack = &mut stacks[c.ctx.0 as usize];
        while let Some(&top) = stack.last() {
            if Some(top as u32) == c.parent {
                break;
            }
            stack.pop();
            if v.calls[top].end.is_none() {
                ends[top] = c.time.max(v.calls[top].time);
            }
        }
        if let Some(&p) = stack.last() {
            ends[i] = ends[i].min(ends[p]).max(c.time);
        }
        stack.push(i);
    }
    ends
}

/// Where the calls are drawn: each one's start and end in display
/// nanoseconds, and the idle stretches folded (drawn at, from, to).
struct Drawn {
    start: Vec<u64>,
    end: Vec<u64>,
    folds: Vec<(u64, SimTime, SimTime)>,
    /// Display time of a virtual time, before the per-boundary room.
    base: Vec<(SimTime, u64)>,
}

impl Drawn {
    /// Lays the calls out: every start and end in the order its context
    /// went through them (so a thread's slices nest as its calls did), at
    /// its folded virtual time plus `STEP` for each boundary before it.
    fn new(v: &View, ends: &[SimTime]) -> Drawn {
        // The boundaries in an order each context agrees with: a call's
        // end comes when its context moves on to a call not inside it.
        let mut order: Vec<(SimTime, usize, bool)> = Vec::with_capacity(v.calls.len() * 2);
        let mut stacks: Vec<Vec<usize>> = vec![Vec::new(); v.ctxs.len()];
        for (i, c) in v.calls.iter().enumerate() {
            let stack = &mut stacks[c.ctx.0 as usize];
            while let Some(&top) = stack.last() {
                if Some(top as u32) == c.parent {
                    break;
                }
                stack.pop();
                order.push((ends[top], top, false));
            }
            order.push((c.time, i, true));
            stack.push(i);
        }
        for stack in &mut stacks {
            while let Some(top) = stack.pop() {
                order.push((ends[top], top, false));
            }
        }
        // Idle stretches: between consecutive moments anything happens.
        let mut moments: Vec<SimTime> = order.iter().map(|b| b.0).collect();
        moments.extend(v.hops.iter().map(|h| h.time));
        moments.sort();
        moments.dedup();
        let mut folds = Vec::new();
        let mut base = Vec::with_capacity(moments.len());
        let mut cut = 0u64;
        for (k, &t) in moments.iter().enumerate() {
            if k > 0 {
                let prev = moments[k - 1];
                let gap = t.0 - prev.0;
                if gap > FOLD_OVER {
                    folds.push((prev.0 - cut, prev, t));
                    cut += gap - FOLD_TO;
                }
            }
            base.push((t, t.0 - cut));
        }
        let mut d = Drawn {
            start: vec![0; v.calls.len()],
            end: vec![0; v.calls.len()],
            folds,
            base,
        };
        let order = causal_order(v, &order);
        for (rank, &(t, i, is_start)) in order.iter().enumerate() {
            let at = d.at(t) + STEP * rank as u64;
            if is_start {
                d.start[i] = at;
            } else {
                d.end[i] = at;
            }
        }
        // Fold markers sit at the drawn start of their stretch.
        for f in &mut d.folds {
            let before = order.iter().filter(|b| b.0 <= f.1).count() as u64;
            f.0 += STEP * before;
        }
        d
    }

    /// The folded display time of virtual time `t` (a moment of the run).
    fn at(&self, t: SimTime) -> u64 {
        match self.base.binary_search_by_key(&t, |b| b.0) {
            Ok(k) => self.base[k].1,
            Err(0) => t.0,
            Err(k) => self.base[k - 1].1 + (t.0 - self.base[k - 1].0 .0),
        }
    }
}

/// The boundaries (each context's in its own order) in one order that
/// also puts the start of the call a hop was taken in before the starts of
/// the calls it caused: calls begun at one virtual instant are recorded in
/// the order their tasks ran, which need not follow the hops between them.
/// Among what is free to go next, the earliest in time, then in `seq`.
fn causal_order(v: &View, seq: &[(SimTime, usize, bool)]) -> Vec<(SimTime, usize, bool)> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let n = seq.len();
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut indeg = vec![0u32; n];
    let mut start_at = vec![usize::MAX; v.calls.len()];
    let mut last: Vec<Option<usize>> = vec![None; v.ctxs.len()];
    for (pos, &(_, i, is_start)) in seq.iter().enumerate() {
        if is_start {
            start_at[i] = pos;
        }
        let ctx = v.calls[i].ctx.0 as usize;
        if let Some(prev) = last[ctx] {
            succ[prev].push(pos);
            indeg[pos] += 1;
        }
        last[ctx] = Some(pos);
    }
    for (h, started) in v.started.iter().enumerate() {
        let Some(k) = v.taken_in[h] else { continue };
        for &c in started {
            let (a, b) = (start_at[k as usize], start_at[c as usize]);
            if a != usize::MAX && b != usize::MAX && a != b {
                succ[a].push(b);
                indeg[b] += 1;
            }
        }
    }
    let mut ready: BinaryHeap<Reverse<(SimTime, usize)>> = (0..n)
        .filter(|&p| indeg[p] == 0)
        .map(|p| Reverse((seq[p].0, p)))
        .collect();
    let mut out = Vec::with_capacity(n);
    let mut done = vec![false; n];
    while let Some(Reverse((_, p))) = ready.pop() {
        done[p] = true;
        out.push(seq[p]);
        for &q in &succ[p] {
            indeg[q] -= 1;
            if indeg[q] == 0 {
                ready.push(Reverse((seq[q].0, q)));
            }
        }
    }
    // A cycle (hops that contradict their contexts' own order) cannot be
    // honoured: what is left goes in its recorded order.
    out.extend((0..n).filter(|&p| !done[p]).map(|p| seq[p]));
    out
}

/// The timeline as a JSON object with a `traceEvents` array.
pub fn chrome_json(v: &View) -> String {
    let mut ev: Vec<String> = Vec::new();
    // Metadata: a named, ordered process per layer in use and a thread per context.
    let mut used = [false; LAYERS.len() + 1];
    for i in 0..v.ctxs.len() {
        used[pid(v.ctxs.get(xsh_sim::stack::CtxId(i as u32)).layer) - 1] = true;
    }
    for (i, l) in LAYERS.iter().enumerate() {
        if !used[i] {
            continue;
        }
        let p = i + 1;
        ev.push(format!(
            "{{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{p},\"tid\":0,\"args\":{{\"name\":\"{}\"}}}}",
            layer_title(*l)
        ));
        ev.push(format!(
            "{{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":{p},\"tid\":0,\"args\":{{\"sort_index\":{p}}}}}"
        ));
    }
    for i in 0..v.ctxs.len() {
        let c = v.ctxs.get(xsh_sim::stack::CtxId(i as u32));
        let mut name = String::new();
        string(&mut name, &thread_name(&c.name, c.domid));
        ev.push(format!(
            "{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{},\"tid\":{},\"args\":{{\"name\":{name}}}}}",
            pid(c.layer),
            i + 1
        ));
        ev.push(format!(
            "{{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":{},\"tid\":{},\"args\":{{\"sort_index\":{}}}}}",
            pid(c.layer),
            i + 1,
            i + 1
        ));
    }
    // Slices.
    let ends = drawn_ends(v);
    let drawn = Drawn::new(v, &ends);
    for (i, c) in v.calls.iter().enumerate() {
        let mut s = String::with_capacity(200);
        s.push_str("{\"ph\":\"X\",\"name\":");
        // The first argument that has a name, in the slice's own name:
        // `xen:do_sched_op SCHEDOP_remote_shutdown`, `guest:outw PM1a_CNT`.
        let named = c
            .probe
            .def()
            .args
            .iter()
            .zip(&c.args)
            .find_map(|(n, a)| decode::arg_name(c.probe, n, a));
        match named {
            Some(n) => string(&mut s, &format!("{} {n}", c.probe.name())),
            None => string(&mut s, c.probe.name()),
        }
        s.push_str(",\"cat\":");
        string(&mut s, c.probe.layer().prefix());
        let _ = write!(
            s,
            ",\"pid\":{},\"tid\":{},\"ts\":",
            pid(v.ctx_layer(c.ctx)),
            c.ctx.0 + 1
        );
        micros(&mut s, drawn.start[i]);
        s.push_str(",\"dur\":");
        micros(&mut s, drawn.end[i] - drawn.start[i]);
        let _ = write!(s, ",\"args\":{{\"call\":{i},\"t\":");
        seconds(&mut s, c.time);
        s.push_str(",\"end\":");
        seconds(&mut s, ends[i]);
        if let Some(d) = domid(c.domid) {
            let _ = write!(s, ",\"domid\":{d}");
        }
        if c.end.is_none() {
            s.push_str(",\"unfinished\":true");
        }
        for (name, a) in c.probe.def().args.iter().zip(&c.args) {
            s.push(',');
            // Prefixed, so an argument named like the keys above stays distinct.
            string(&mut s, &format!("arg.{name}"));
            s.push(':');
            match decode::arg_name(c.probe, name, a) {
                Some(n) => string(&mut s, &format!("{n} ({a})")),
                None => value(&mut s, a),
            }
        }
        s.push_str("}}");
        ev.push(s);
    }
    // Milestones, and the idle stretches folded: instants across the view.
    for (i, c) in v.calls.iter().enumerate() {
        if let Some(m) = decode::milestone(c) {
            let mut s = String::from("{\"ph\":\"i\",\"s\":\"g\",\"name\":");
            string(&mut s, &format!("milestone: {m}"));
            let _ = write!(
                s,
                ",\"cat\":\"milestone\",\"pid\":{},\"tid\":{},\"ts\":",
                pid(v.ctx_layer(c.ctx)),
                c.ctx.0 + 1
            );
            micros(&mut s, drawn.start[i]);
            s.push_str(",\"args\":{\"t\":");
            seconds(&mut s, c.time);
            s.push_str("}}");
            ev.push(s);
        }
    }
    for (at, from, to) in &drawn.folds {
        let mut s = String::from("{\"ph\":\"i\",\"s\":\"g\",\"name\":");
        string(
            &mut s,
            &format!(
                "folded: {:.3} s with nothing running (virtual {:.3} s to {:.3} s)",
                (to.0 - from.0) as f64 / 1e9,
                from.as_secs_f64(),
                to.as_secs_f64()
            ),
        );
        s.push_str(",\"cat\":\"fold\",\"pid\":1,\"tid\":0,\"ts\":");
        micros(&mut s, *at);
        s.push('}');
        ev.push(s);
    }
    // Flows: one id per (hop, context it started).
    let mut flow = 0u64;
    for (h, hop) in v.hops.iter().enumerate() {
        if v.taken_in[h].is_none() {
            // Taken outside any call: no slice to start from.
            continue;
        }
        for &c in &v.started[h] {
            flow += 1;
            let to = &v.calls[c as usize];
            let mut name = String::new();
            string(&mut name, hop.what);
            let mut s = format!(
                "{{\"ph\":\"s\",\"id\":{flow},\"name\":{name},\"cat\":\"hop\",\"pid\":{},\"tid\":{},\"ts\":",
                pid(v.ctx_layer(hop.ctx)),
                hop.ctx.0 + 1
            );
            // Inside the slice that took it, where its time falls there;
            // the arrow's end inside the call it started, not before its
            // start (calls begun at one virtual instant are drawn in the
            // order they began, which need not be the hop's).
            let k = v.taken_in[h].map_or(0, |k| k as usize);
            let c = c as usize;
            let mut at = (drawn.at(hop.time) + (drawn.start[k] - drawn.at(v.calls[k].time)))
                .clamp(drawn.start[k], drawn.end[k]);
            let end_at = at.clamp(drawn.start[c], drawn.end[c]);
            if end_at < at {
                at = end_at.max(drawn.start[k]);
            }
            if end_at < at {
                // Only a cycle left in recorded order gets here: an arrow
                // drawn backwards would mislead more than none.
                continue;
            }
            micros(&mut s, at);
            let _ = write!(s, ",\"args\":{{\"hop\":{h}}}}}");
            ev.push(s);
            let mut f = format!(
                "{{\"ph\":\"f\",\"bp\":\"e\",\"id\":{flow},\"name\":{name},\"cat\":\"hop\",\"pid\":{},\"tid\":{},\"ts\":",
                pid(v.ctx_layer(to.ctx)),
                to.ctx.0 + 1
            );
            micros(&mut f, end_at);
            let _ = write!(f, ",\"args\":{{\"hop\":{h}}}}}");
            ev.push(f);
        }
    }
    let mut out = String::with_capacity(ev.iter().map(|e| e.len() + 2).sum::<usize>() + 256);
    out.push_str("{\"displayTimeUnit\":\"ms\",\"otherData\":{\"generator\":\"xsh\",\"script\":");
    string(&mut out, &v.meta.script);
    let _ = write!(out, ",\"seed\":{},\"profile\":", v.meta.seed);
    string(&mut out, &v.meta.profile);
    out.push_str(",\"start_time\":");
    string(&mut out, &v.meta.start_time);
    out.push_str("},\"traceEvents\":[\n");
    for (i, e) in ev.iter().enumerate() {
        out.push_str(e);
        out.push_str(if i + 1 < ev.len() { ",\n" } else { "\n" });
    }
    out.push_str("]}\n");
    out
}

/// A context's track name: its own name, with the domain when it has one
/// and the name does not say it already.
fn thread_name(name: &str, dom: u32) -> String {
    match domid(dom) {
        Some(d) if !name.contains(&format!("d{d}")) => format!("{name} (d{d})"),
        _ => name.to_string(),
    }
}

/// Virtual seconds, exact to the nanosecond (`1.296007252`).
fn seconds(out: &mut String, t: SimTime) {
    let _ = write!(out, "{}.{:09}", t.0 / 1_000_000_000, t.0 % 1_000_000_000);
}
