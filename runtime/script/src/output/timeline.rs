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
//! Times are virtual microseconds (`ts`, `dur`), with nanosecond decimals.

use std::fmt::Write;

use xsh_sim::probe::Layer;
use xsh_sim::time::SimTime;

use super::json::{micros, string, value};
use super::{domid, View};

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
    for (i, c) in v.calls.iter().enumerate() {
        let mut s = String::with_capacity(200);
        s.push_str("{\"ph\":\"X\",\"name\":");
        string(&mut s, c.probe.name());
        s.push_str(",\"cat\":");
        string(&mut s, c.probe.layer().prefix());
        let _ = write!(
            s,
            ",\"pid\":{},\"tid\":{},\"ts\":",
            pid(v.ctx_layer(c.ctx)),
            c.ctx.0 + 1
        );
        micros(&mut s, c.time.0);
        s.push_str(",\"dur\":");
        micros(&mut s, ends[i].0 - c.time.0);
        let _ = write!(s, ",\"args\":{{\"call\":{i}");
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
            value(&mut s, a);
        }
        s.push_str("}}");
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
            micros(&mut s, hop.time.0);
            let _ = write!(s, ",\"args\":{{\"hop\":{h}}}}}");
            ev.push(s);
            let mut f = format!(
                "{{\"ph\":\"f\",\"bp\":\"e\",\"id\":{flow},\"name\":{name},\"cat\":\"hop\",\"pid\":{},\"tid\":{},\"ts\":",
                pid(v.ctx_layer(to.ctx)),
                to.ctx.0 + 1
            );
            micros(&mut f, to.time.0);
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
