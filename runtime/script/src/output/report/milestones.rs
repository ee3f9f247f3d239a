//! The milestones of a domain's shutdown, found in the trace: the user's
//! request (xm's or xl's), the guest's acknowledgement, its power-off write, Xen marking
//! the domain shut down, the domain destroyed, its devices released. Each
//! is the first call of its kind for the domain at or after its first
//! request (all of them, when nothing was requested: a guest that powered
//! itself off). A path that skips one (no PV drivers: no acknowledgement)
//! simply lacks it.

use xsh_sim::stack::NO_DOM;
use xsh_sim::time::SimTime;
use xsh_sim::trace::{CallId, CallRecord};
use xsh_sim::Value;

use crate::output::View;

/// One milestone of one domain.
#[derive(Clone, Debug, PartialEq)]
pub struct Milestone {
    /// What happened ("guest acknowledges").
    pub name: &'static str,
    /// The call that did it.
    pub call: CallId,
    /// When: the call's start, or its end for "devices released".
    pub time: SimTime,
}

/// A domain's milestones, in time order.
#[derive(Clone, Debug, PartialEq)]
pub struct DomainMilestones {
    /// The domain.
    pub domid: u32,
    /// Its milestones.
    pub items: Vec<Milestone>,
}

/// The user's commands that ask a domain to go: xm's, and xl's
/// subcommands (`xl shutdown` is `main` calling `main_shutdown`).
const REQUESTS: &[&str] = &[
    "xm:shutdown",
    "xm:reboot",
    "xm:destroy",
    "xm:trigger",
    "xl:main_shutdown",
    "xl:main_reboot",
    "xl:main_destroy",
    "xl:main_trigger",
];

/// PM1a_CNT's SLP_EN bit: the write that makes the sleep state happen
/// (ACPI 5.0 §4.8.3.2.1); the first write of acpi_hw_legacy_sleep sets
/// only SLP_TYP.
const SLP_EN: i64 = 1 << 13;

/// A call's argument by the name its probe gives it.
fn arg<'a>(c: &'a CallRecord, name: &str) -> Option<&'a Value> {
    let names = c.probe.def().args;
    let i = names.iter().position(|n| *n == name)?;
    c.args.get(i)
}

/// The domain a command call concerns: its `dom` argument when it is a
/// number, else the first domain the work it started (the toolstack
/// threads its hops woke) touched.
fn command_domid(v: &View, id: usize) -> Option<u32> {
    let c = &v.calls[id];
    if let Some(Value::Str(s)) = arg(c, "dom") {
        if let Ok(d) = s.trim().parse::<u32>() {
            return Some(d);
        }
    }
    if let Some(Value::Int(d)) = arg(c, "dom") {
        return u32::try_from(*d).ok();
    }
    for (h, taken) in v.taken_in.iter().enumerate() {
        if *taken != Some(id as CallId) {
            continue;
        }
        for &s in &v.started[h] {
            let first = &v.calls[s as usize];
            let found = v.calls[s as usize..]
                .iter()
                .filter(|x| x.ctx == first.ctx && x.hop == first.hop)
                .take(64)
                .find(|x| x.domid != NO_DOM && x.domid != 0);
            if let Some(x) = found {
                return Some(x.domid);
            }
        }
    }
    None
}

/// What milestone, if any, call `i` is, for which domain, when and by
/// which call.
fn classify(v: &View, i: usize) -> Option<(&'static str, u32, SimTime, CallId)> {
    let (name, domid, time) = kind_of(v, i)?;
    // Shut down is the finalisation that sent the VIRQ, not the send.
    let call = match name {
        "domain shut down" => v.calls[i].parent?,
        _ => i as CallId,
    };
    Some((name, domid, time, call))
}

fn kind_of(v: &View, i: usize) -> Option<(&'static str, u32, SimTime)> {
    let c = &v.calls[i];
    let name = c.probe.name();
    let ctx_layer = v.ctx_layer(c.ctx);
    let guest_ctx = ctx_layer == xsh_sim::probe::Layer::Guest;
    let ctx_dom = v.ctxs.get(c.ctx).domid;
    match name {
        n if REQUESTS.contains(&n) => command_domid(v, i).map(|d| ("request", d, c.time)),
        // The guest's xenbus shutdown_handler writes "" back: the ack.
        "xs:write" if guest_ctx => {
            let path =
                matches!(arg(c, "path"), Some(Value::Str(p)) if p.ends_with("control/shutdown"));
            let empty = matches!(arg(c, "value"), Some(Value::Str(s)) if s.is_empty());
            (path && empty).then_some(("guest acknowledges", ctx_dom, c.time))
        }
        "guest:outw" => match arg(c, "value") {
            Some(Value::Int(x)) if x & SLP_EN != 0 => Some(("power-off write", c.domid, c.time)),
            _ => None,
        },
        // A PV guest's own SCHEDOP_shutdown (no ACPI, no qemu-dm).
        "xen:do_sched_op" if guest_ctx => Some(("power-off write", ctx_dom, c.time)),
        // The finalisation that completes: it sends VIRQ_DOM_EXC.
        "xen:send_global_virq" => {
            let p = c.parent? as usize;
            let parent = &v.calls[p];
            (parent.probe.name() == "xen:__domain_finalise_shutdown").then_some((
                "domain shut down",
                parent.domid,
                parent.time,
            ))
        }
        "xen:domain_kill" => Some(("destroyed", c.domid, c.time)),
        "xend:XendDomainInfo._releaseDevices" => {
            Some(("devices released", c.domid, c.end.unwrap_or(c.time)))
        }
        // libxl's callback once every device of the domain is gone.
        "libxl:devices_destroy_cb" => Some(("devices released", c.domid, c.time)),
        _ => None,
    }
}

/// Every domain's milestones, domains in the order of their first one.
pub fn milestones(v: &View) -> Vec<DomainMilestones> {
    let mut found: Vec<(u32, Milestone)> = Vec::new();
    for i in 0..v.calls.len() {
        if let Some((name, domid, time, call)) = classify(v, i) {
            if domid == NO_DOM || domid == 0 {
                continue;
            }
            found.push((domid, Milestone { name, call, time }));
        }
    }
    let mut out: Vec<DomainMilestones> = Vec::new();
    for (domid, _) in &found {
        if out.iter().any(|d| d.domid == *domid) {
            continue;
        }
        let mine: Vec<&Milestone> = found
            .iter()
            .filter(|(d, _)| d == domid)
            .map(|(_, m)| m)
            .collect();
        let from = mine
            .iter()
            .find(|m| m.name == "request")
            .map_or(SimTime::ZERO, |m| m.time);
        let mut items: Vec<Milestone> = Vec::new();
        for m in mine {
            if m.time >= from && !items.iter().any(|x| x.name == m.name) {
                items.push(m.clone());
            }
        }
        items.sort_by_key(|m| m.time);
        out.push(DomainMilestones {
            domid: *domid,
            items,
        });
    }
    out
}
