//! The run folded into the steps of a sequence diagram across the layers.
//!
//! A step is something crossing from one layer to another:
//! - a call into another layer's function from the caller's context (a
//!   guest's port write trapping into Xen, xend's xenstore requests, a
//!   hypercall);
//! - a causal hop that starts a call on another context of another layer (a
//!   watch firing in the guest, an event channel waking qemu-dm, VIRQ_DOM_EXC
//!   reaching xenstored);
//! - the user's `xm` commands, on the xm lane.
//!
//! Inside one layer, only hops between its contexts are steps (a self-arrow:
//! the guest's work item starting /sbin/poweroff, xend starting its restart
//! thread); its functions calling each other are left to `--timeline`, and
//! so are the xenstore requests that change nothing others see (reads,
//! transaction brackets). Building the domain during `xm create` is one
//! note. Then the steps are folded so a person can read them: a run of
//! steps between the same two layers in the same direction becomes one
//! arrow listing what crossed, each distinct label once with its count
//! ("rm 8/0 ×3").

use xsh_sim::probe::Layer;
use xsh_sim::time::SimTime;
use xsh_sim::trace::{CallId, CallRecord};
use xsh_sim::Value;

use super::decode;
use super::timeline::{layer_title, LAYERS};
use super::{Meta, View};

/// One arrow of the diagram.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// When the first step folded into it happened.
    pub time: SimTime,
    /// Sending lane (index into `Steps::lanes`).
    pub from: usize,
    /// Receiving lane.
    pub to: usize,
    /// What crossed, distinct labels in order with their counts.
    pub labels: Vec<(String, u32)>,
    /// The calls that crossed, in order: a call into another layer's
    /// function, or the first call a hop started on its receiver.
    pub keys: Vec<CallId>,
}

impl Step {
    /// The arrow's text: "write control/shutdown, read ×2".
    pub fn text(&self) -> String {
        let mut s = String::new();
        for (i, (l, n)) in self.labels.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(l);
            if *n > 1 {
                s.push_str(&format!(" ×{n}"));
            }
        }
        s
    }
}

/// A diagram: its lanes (layers in path order) and arrows.
#[derive(Clone, Debug)]
pub struct Steps {
    /// The layers that take part, in the order a shutdown crosses them.
    pub lanes: Vec<Layer>,
    /// The arrows, in time order.
    pub steps: Vec<Step>,
    /// Raw crossings shown, before folding.
    pub raw: usize,
    /// Crossings while `xm create` built the domain, folded into one note.
    pub setup: usize,
    /// The first call after them: calls before it are the domain's
    /// creation (0 when nothing was folded).
    pub first_call: CallId,
    /// The run.
    pub meta: Meta,
}

impl Steps {
    /// The note standing for the domain's creation.
    pub fn setup_note(&self) -> String {
        let cmd = if self.lanes.contains(&Layer::Xl) {
            "xl"
        } else {
            "xm"
        };
        format!(
            "{cmd} create: {} crossings while the domain was built (devices, backends, hotplug, guest xenbus), folded",
            self.setup
        )
    }

    /// "572 crossings folded into 112 steps".
    pub fn summary(&self) -> String {
        format!(
            "{} layer crossings folded into {} steps",
            self.raw,
            self.steps.len()
        )
    }

    /// A lane's title.
    pub fn title(&self, lane: usize) -> &'static str {
        layer_title(self.lanes[lane])
    }
}

/// Labels shown per arrow before the rest is summarised as "+N more".
pub const MAX_LABELS: usize = 4;

/// A crossing before folding.
struct Raw {
    time: SimTime,
    key: CallId,
    from: Layer,
    to: Layer,
    label: String,
}

/// xenstore requests that change nothing another layer sees: reads,
/// listings, permissions, transaction brackets. They are most of the
/// traffic and none of the story; the timeline keeps them.
const QUIET_XS: &[&str] = &[
    "xs:read",
    "xs:mkdir",
    "xs:directory",
    "xs:get_perms",
    "xs:set_perms",
    "xs:unwatch",
    "xs:transaction_start",
    "xs:transaction_end",
    "xs:fire_watches",
];

/// The folded steps of a run.
pub fn steps(v: &View) -> Steps {
    let mut raw: Vec<(SimTime, usize, Raw)> = Vec::new();
    for (i, c) in v.calls.iter().enumerate() {
        let to = c.probe.layer();
        // A call outside any modelled thread (the script's own xs.write)
        // is run on context 0 with no caller: not a step between layers.
        // The user's own `xm` commands are, as a step on the xm lane.
        let Some(p) = c.parent else {
            if matches!(to, Layer::Xm | Layer::Xl) && v.ctx_layer(c.ctx) == to {
                raw.push((
                    c.time,
                    2 * i,
                    Raw {
                        time: c.time,
                        key: i as CallId,
                        from: to,
                        to,
                        label: format!("{} {}", to.prefix(), call_label(c)),
                    },
                ));
            }
            continue;
        };
        // A milestone of the domain's life (Xen shutting it down or
        // destroying it, the guest's poweroff) is marked on its lane.
        if let Some(m) = decode::milestone(c) {
            raw.push((
                c.time,
                2 * i,
                Raw {
                    time: c.time,
                    key: i as CallId,
                    from: to,
                    to,
                    label: format!("◆ {m}"),
                },
            ));
        }
        let from = v.calls[p as usize].probe.layer();
        if from != to && !QUIET_XS.contains(&c.probe.name()) {
            raw.push((
                c.time,
                2 * i,
                Raw {
                    time: c.time,
                    key: i as CallId,
                    from,
                    to,
                    label: call_label(c),
                },
            ));
        }
    }
    for (h, hop) in v.hops.iter().enumerate() {
        if v.taken_in[h].is_none() {
            // Taken outside any call: the script acting, not a layer.
            continue;
        }
        let from = v.hop_layer(h);
        for &c in &v.started[h] {
            let call = &v.calls[c as usize];
            // The receiver is the context the hop woke (an xend thread
            // whose first act is a xenstore request is still xend).
            let to = v.ctx_layer(call.ctx);
            // Named by the receiving layer's own function it ran (an xend
            // thread's first act may be a xenstore request; the watch
            // callback it serves is the point).
            let own = v.calls[c as usize..]
                .iter()
                .filter(|x| x.ctx == call.ctx && x.hop == call.hop)
                .take(16)
                .find(|x| x.probe.layer() == to)
                .unwrap_or(call);
            let f = own.probe.function().to_string();
            let label = if f == hop.what {
                f
            } else {
                format!("{}: {f}", hop.what)
            };
            // Ordered just before the call it started.
            raw.push((
                call.time,
                2 * c as usize - usize::from(c > 0),
                Raw {
                    time: call.time,
                    key: c,
                    from,
                    to,
                    label,
                },
            ));
        }
    }
    raw.sort_by_key(|(t, k, _)| (*t, *k));
    // Building the domain (`xm create` settles at one instant) is folded
    // into one note: everything before the first call that is neither part
    // of the last `xm create` nor at its instant.
    let (setup_end, first_call) = setup_end(v);
    let folded = raw.iter().filter(|(_, k, _)| *k < setup_end).count();
    let raw: Vec<Raw> = raw
        .into_iter()
        .filter(|(_, k, _)| *k >= setup_end)
        .map(|(_, _, r)| r)
        .collect();
    // The toolstack's lanes on the left, whichever it is (xl's layers come
    // last in LAYERS only to keep the timeline's process ids).
    let order = [Layer::Xl, Layer::Libxl].into_iter().chain(
        LAYERS
            .iter()
            .copied()
            .filter(|l| !matches!(l, Layer::Xl | Layer::Libxl)),
    );
    let mut lanes: Vec<Layer> = order
        .filter(|l| raw.iter().any(|r| r.from == *l || r.to == *l))
        .collect();
    if lanes.is_empty() {
        lanes.push(Layer::Xm);
    }
    let lane = |l: Layer| lanes.iter().position(|&x| x == l).unwrap_or(0);
    let mut steps: Vec<Step> = Vec::new();
    for r in &raw {
        let (from, to) = (lane(r.from), lane(r.to));
        match steps.last_mut() {
            Some(s) if s.from == from && s.to == to => {
                s.keys.push(r.key);
                match s.labels.iter_mut().find(|(l, _)| *l == r.label) {
                    Some((_, n)) => *n += 1,
                    None => s.labels.push((r.label.clone(), 1)),
                }
            }
            _ => steps.push(Step {
                time: r.time,
                from,
                to,
                labels: vec![(r.label.clone(), 1)],
                keys: vec![r.key],
            }),
        }
    }
    for s in &mut steps {
        if s.labels.len() > MAX_LABELS {
            let more: u32 = s.labels[MAX_LABELS..].iter().map(|(_, n)| n).sum();
            s.labels.truncate(MAX_LABELS);
            s.labels.push((format!("+{more} more"), 1));
        }
    }
    Steps {
        lanes,
        steps,
        raw: raw.len(),
        setup: folded,
        first_call: if folded > 0 { first_call } else { 0 },
        meta: v.meta.clone(),
    }
}

/// The ordering key (as `steps` sorts raw crossings) where the run after
/// building its domains begins, and that first call: the first call after
/// the last `xm create` that is not inside it and not at the instant it
/// returned. `0` when the script created nothing.
fn setup_end(v: &View) -> (usize, CallId) {
    let Some((ci, create)) = v
        .calls
        .iter()
        .enumerate()
        .rev()
        .find(|(_, c)| matches!(c.probe.name(), "xm:create" | "xl:main_create"))
    else {
        return (0, 0);
    };
    let done = create.end.unwrap_or(create.time);
    // The next command: another `xm` call, or another xl process's `main`.
    let first_after = v.calls[ci..]
        .iter()
        .position(|c| {
            c.time > done
                || (c.probe.layer() == Layer::Xm && c.probe.name() != "xm:create")
                || (c.probe.name() == "xl:main" && c.ctx != create.ctx)
        })
        .map_or(v.calls.len(), |p| ci + p);
    // Keys are 2 × call id (a hop into a call sorts at 2 × id - 1).
    (
        2 * first_after - usize::from(first_after > 0),
        first_after as CallId,
    )
}

/// A call as an arrow label: the function, and for xenstore requests the
/// path they touch (the part a person recognises); other calls show their
/// arguments when they are short (`signal(1)`, `do_sched_op(...)`).
fn call_label(c: &CallRecord) -> String {
    let f = c.probe.function();
    if c.probe.layer() == Layer::Xs {
        if let Some(Value::Str(p)) = c.args.first() {
            return format!("{f} {}", short_path(p));
        }
    }
    // Numbers with a name by their name: do_sched_op(SCHEDOP_remote_shutdown, ...).
    let args = decode::args_text(c).join(", ");
    if args.is_empty() || args.chars().count() > 48 {
        f.to_string()
    } else {
        format!("{f}({args})")
    }
}

/// The last two components of a xenstore path (`control/shutdown`), a
/// VM's uuid cut to its first group.
fn short_path(p: &str) -> String {
    if p.starts_with('@') {
        return p.to_string();
    }
    let parts: Vec<&str> = p.trim_end_matches('/').rsplit('/').take(2).collect();
    let mut parts: Vec<String> = parts
        .into_iter()
        .rev()
        .filter(|s| !s.is_empty())
        .map(|s| {
            let uuid = s.len() == 36 && s.matches('-').count() == 4;
            if uuid {
                format!("{}…", &s[..8])
            } else {
                s.to_string()
            }
        })
        .collect();
    if parts.is_empty() {
        parts.push("/".into());
    }
    parts.join("/")
}
