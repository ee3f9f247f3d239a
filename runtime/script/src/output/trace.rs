//! `--trace FILE.jsonl`: the run as JSON lines, one record a line, schema
//! in docs/outputs.md. A `meta` line, then every context, then calls and
//! hops merged in time order: a hop right after the call it was taken in,
//! so reading top to bottom follows cause before effect.

use xsh_sim::trace::CallId;

use super::json::{opt, secs, string, value};
use super::{domid, View};

/// The schema's version (docs/outputs.md); bumped when a field changes meaning.
pub const VERSION: u32 = 1;

/// The whole trace as JSON lines.
pub fn jsonl(v: &View) -> String {
    let mut out = String::with_capacity(256 * (v.calls.len() + v.hops.len() + 8));
    out.push_str("{\"kind\":\"meta\",\"format\":\"xsh-trace\",\"version\":");
    out.push_str(&VERSION.to_string());
    out.push_str(",\"script\":");
    string(&mut out, &v.meta.script);
    out.push_str(&format!(",\"seed\":{},\"profile\":", v.meta.seed));
    string(&mut out, &v.meta.profile);
    out.push_str(",\"start_time\":");
    string(&mut out, &v.meta.start_time);
    out.push_str(&format!(
        ",\"contexts\":{},\"calls\":{},\"hops\":{}}}\n",
        v.ctxs.len(),
        v.calls.len(),
        v.hops.len()
    ));
    for i in 0..v.ctxs.len() {
        let c = v.ctxs.get(xsh_sim::stack::CtxId(i as u32));
        out.push_str(&format!("{{\"kind\":\"context\",\"ctx\":{i},\"name\":"));
        string(&mut out, &c.name);
        out.push_str(",\"layer\":");
        string(&mut out, c.layer.prefix());
        out.push_str(",\"domid\":");
        opt(&mut out, domid(c.domid));
        out.push_str("}\n");
    }
    // Hops grouped under the call they were taken in; a hop whose call is
    // unknown (taken outside any call) goes before the first later call.
    let mut after: Vec<Vec<usize>> = vec![Vec::new(); v.calls.len()];
    let mut loose: Vec<usize> = Vec::new();
    for (h, c) in v.taken_in.iter().enumerate() {
        match c {
            Some(c) => after[*c as usize].push(h),
            None => loose.push(h),
        }
    }
    let mut loose = loose.into_iter().peekable();
    for (i, c) in v.calls.iter().enumerate() {
        while let Some(&h) = loose.peek() {
            if v.hops[h].time > c.time {
                break;
            }
            hop(&mut out, v, h);
            loose.next();
        }
        call(&mut out, v, i as CallId);
        for &h in &after[i] {
            hop(&mut out, v, h);
        }
    }
    for h in loose {
        hop(&mut out, v, h);
    }
    out
}

fn call(out: &mut String, v: &View, id: CallId) {
    let c = &v.calls[id as usize];
    out.push_str(&format!("{{\"kind\":\"call\",\"id\":{id},\"t\":"));
    secs(out, c.time);
    out.push_str(",\"end\":");
    match c.end {
        Some(e) => secs(out, e),
        None => out.push_str("null"),
    }
    out.push_str(",\"layer\":");
    string(out, c.probe.layer().prefix());
    out.push_str(",\"probe\":");
    string(out, c.probe.name());
    out.push_str(&format!(",\"ctx\":{},\"context\":", c.ctx.0));
    string(out, &v.ctxs.get(c.ctx).name);
    out.push_str(",\"domid\":");
    opt(out, domid(c.domid));
    out.push_str(",\"args\":{");
    for (i, (name, a)) in c.probe.def().args.iter().zip(&c.args).enumerate() {
        if i > 0 {
            out.push(',');
        }
        string(out, name);
        out.push(':');
        value(out, a);
    }
    out.push_str("},\"caller\":");
    opt(out, c.parent.map(u64::from));
    out.push_str(",\"cause\":");
    opt(out, c.hop.map(|h| h.0 as u64));
    out.push_str("}\n");
}

fn hop(out: &mut String, v: &View, id: usize) {
    let h = &v.hops[id];
    out.push_str(&format!("{{\"kind\":\"hop\",\"id\":{id},\"t\":"));
    secs(out, h.time);
    out.push_str(",\"layer\":");
    string(out, v.hop_layer(id).prefix());
    out.push_str(&format!(",\"ctx\":{},\"context\":", h.ctx.0));
    string(out, &v.ctxs.get(h.ctx).name);
    out.push_str(",\"what\":");
    string(out, h.what);
    out.push_str(",\"in\":");
    match h.probe {
        Some(p) => string(out, p.name()),
        None => out.push_str("null"),
    }
    out.push_str(",\"call\":");
    opt(out, v.taken_in[id].map(u64::from));
    out.push_str(",\"started\":[");
    for (i, c) in v.started[id].iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&c.to_string());
    }
    out.push_str("],\"cause\":");
    opt(out, h.parent.map(|p| p.0 as u64));
    out.push_str("}\n");
}
