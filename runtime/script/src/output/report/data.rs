//! The page's data: one JSON document the page's script reads (docs/report.md
//! describes it). Only what the page shows is in it: every log with the
//! calls that wrote its lines, those calls' stacks and causal chains, the
//! steps of the diagram with the functions each ran, the milestones and the
//! run's settings. Records are arrays, not objects, to keep a large run's
//! page small; times are integer virtual nanoseconds.

use serde_json::{json, Value as Json};
use xsh_sim::stack::NO_DOM;
use xsh_sim::trace::{CallId, NO_CALL};
use xsh_sim::Value;

use super::milestones::DomainMilestones;
use super::places::{stack_of, Places};
use crate::output::sequence::Steps;
use crate::output::View;

/// Distinct functions listed per step; the rest is counted.
const FUNCS_PER_STEP: usize = 24;

/// Characters of a call's arguments shown.
const ARGS_CHARS: usize = 160;

/// One log as the page shows it.
pub struct LogData {
    /// Its file name (`xend.log`, `qemu-dm-ubuntu.log.1`).
    pub name: String,
    /// Its text, exactly as written.
    pub text: String,
    /// `(first line, call)` per write (`LogSink::origins`).
    pub origins: Vec<(u32, CallId)>,
}

/// Which column a log belongs in: the toolstack, qemu-dm, the Xen console
/// or a guest console.
pub fn log_kind(name: &str) -> &'static str {
    if name.starts_with("qemu-dm-") {
        "qemu"
    } else if name.starts_with("console-") {
        "console"
    } else if name == "xen.log" || name.starts_with("xen.log.") {
        "xen"
    } else {
        "toolstack"
    }
}

/// The domain a per-domain file belongs to: the domain of the first call
/// that wrote to it and concerned one (a rotated file is an earlier
/// domain of the same name).
fn log_domid(v: &View, kind: &str, origins: &[(u32, CallId)]) -> Option<u32> {
    if kind != "qemu" && kind != "console" {
        return None;
    }
    origins.iter().find_map(|&(_, c)| {
        let call = v.calls.get(c as usize)?;
        let d = if call.domid != NO_DOM {
            call.domid
        } else {
            v.ctxs.get(call.ctx).domid
        };
        (d != NO_DOM && d != 0).then_some(d)
    })
}

fn opt(x: Option<u64>) -> Json {
    x.map_or(json!(-1), |v| json!(v))
}

fn args_text(args: &[Value]) -> String {
    let s: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let s = s.join(", ");
    if s.chars().count() > ARGS_CHARS {
        let cut: String = s.chars().take(ARGS_CHARS).collect();
        format!("{cut}…")
    } else {
        s
    }
}

/// Probe names, each once, by first use.
#[derive(Default)]
struct Names {
    list: Vec<&'static str>,
}

impl Names {
    fn id(&mut self, n: &'static str) -> usize {
        match self.list.iter().position(|x| *x == n) {
            Some(i) => i,
            None => {
                self.list.push(n);
                self.list.len() - 1
            }
        }
    }
}

/// Builds the document. `settings` is the run's own part (`meta`).
pub fn build(
    v: &View,
    steps: &Steps,
    places: &Places,
    milestones: &[DomainMilestones],
    logs: &[LogData],
    settings: Json,
) -> Json {
    let n = v.calls.len();
    // The calls the page shows: every writer of a line and every milestone,
    // with the calls they were made from.
    let mut want = vec![false; n];
    let mark = |c: CallId, want: &mut Vec<bool>| {
        for id in stack_of(v, c) {
            match want.get_mut(id as usize) {
                Some(w) if !*w => *w = true,
                _ => break,
            }
        }
    };
    for l in logs {
        for &(_, c) in &l.origins {
            if c != NO_CALL {
                mark(c, &mut want);
            }
        }
    }
    for d in milestones {
        for m in &d.items {
            mark(m.call, &mut want);
        }
    }
    // Their causal chains.
    let mut want_hop = vec![false; v.hops.len()];
    for (i, w) in want.iter().enumerate() {
        if !*w {
            continue;
        }
        let mut cur = v.calls[i].hop;
        while let Some(h) = cur {
            let hi = h.0 as usize;
            if hi >= want_hop.len() || want_hop[hi] {
                break;
            }
            want_hop[hi] = true;
            cur = v.hops[hi].parent;
        }
    }
    let mut names = Names::default();
    let calls: Vec<Json> = (0..n)
        .filter(|&i| want[i])
        .map(|i| {
            let c = &v.calls[i];
            json!([
                i,
                c.time.0,
                opt(c.end.map(|e| e.0)),
                c.ctx.0,
                names.id(c.probe.name()),
                opt(c.parent.map(u64::from)),
                opt(c.hop.map(|h| h.0 as u64)),
                places.calls[i].code(),
                opt((c.domid != NO_DOM).then_some(c.domid as u64)),
                args_text(&c.args),
            ])
        })
        .collect();
    let hops: Vec<Json> = (0..v.hops.len())
        .filter(|&h| want_hop[h])
        .map(|h| {
            let hop = &v.hops[h];
            json!([
                h,
                hop.time.0,
                hop.ctx.0,
                hop.probe.map_or(-1, |p| names.id(p.name()) as i64),
                hop.what,
                opt(hop.parent.map(|p| p.0 as u64)),
                places.hops[h].code(),
            ])
        })
        .collect();
    // The functions each step ran, in the order they began.
    let mut funcs: Vec<Vec<&'static str>> = vec![Vec::new(); steps.steps.len()];
    let mut more: Vec<u32> = vec![0; steps.steps.len()];
    for (i, c) in v.calls.iter().enumerate() {
        if let super::places::Place::Step(s) = places.calls[i] {
            let list = &mut funcs[s as usize];
            let p = c.probe.name();
            if !list.contains(&p) {
                if list.len() < FUNCS_PER_STEP {
                    list.push(p);
                } else {
                    more[s as usize] += 1;
                }
            }
        }
    }
    let step_list: Vec<Json> = steps
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let f: Vec<usize> = funcs[i].iter().map(|p| names.id(p)).collect();
            json!([s.time.0, s.from, s.to, s.text(), f, more[i]])
        })
        .collect();
    let lanes: Vec<&str> = (0..steps.lanes.len()).map(|l| steps.title(l)).collect();
    let ctxs: Vec<Json> = (0..v.ctxs.len())
        .map(|i| {
            let c = v.ctxs.get(xsh_sim::stack::CtxId(i as u32));
            json!([
                &*c.name,
                c.layer.prefix(),
                opt((c.domid != NO_DOM).then_some(c.domid as u64))
            ])
        })
        .collect();
    let log_list: Vec<Json> = logs
        .iter()
        .map(|l| {
            let kind = log_kind(&l.name);
            let origins: Vec<Json> = l
                .origins
                .iter()
                .map(|&(line, c)| json!([line, if c == NO_CALL { -1 } else { c as i64 }]))
                .collect();
            json!({
                "name": l.name,
                "kind": kind,
                "domid": opt(log_domid(v, kind, &l.origins).map(u64::from)),
                "text": l.text,
                "origins": origins,
            })
        })
        .collect();
    let ms: Vec<Json> = milestones
        .iter()
        .map(|d| {
            let items: Vec<Json> = d
                .items
                .iter()
                .map(|m| json!([m.name, m.time.0, m.call]))
                .collect();
            json!({ "domid": d.domid, "items": items })
        })
        .collect();
    json!({
        "format": "xsh-report",
        "version": 1,
        "meta": settings,
        "lanes": lanes,
        "steps": step_list,
        "setup": steps.setup_note(),
        "has_setup": steps.setup > 0,
        "probes": names.list,
        "ctxs": ctxs,
        "calls": calls,
        "hops": hops,
        "logs": log_list,
        "milestones": ms,
    })
}
