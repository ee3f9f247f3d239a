//! A domain's history as a replay script: the world set up as the logs
//! describe it (start time, build, xend's pid, the domain's name, domid,
//! type, devices and `on_*` actions), the instrumentation an engineer had
//! (a stack printed at a probe's site), the actions at their times, and a
//! `sim.choose` for each thing the logs leave open.
//!
//! The toolstack is a parameter of the replay: xend's history is replayed
//! with `xm`, xl's with the same actions through `xl` on a host that runs
//! xl (`sim.toolstack = "xl"`): no xend, so no xend line numbers, pid,
//! instrumentation or faults of xend's.

use std::fmt::Write as _;

use xsh_log::diagnose::history::Domain;
use xsh_log::diagnose::{Fact, Host, Toolstack};
use xsh_log::explain::Build;
use xsh_sim::probe::{Layer, Probe};

/// Something the user or the guest did, at a wall-clock second if known.
#[derive(Clone, Debug, PartialEq)]
enum Action {
    Shutdown,
    Reboot,
    Destroy,
    Panic,
    /// The logs show the result, not who started it: every initiator the
    /// model has that can end this way.
    Unknown(&'static [&'static str]),
}

/// The initiators of a shutdown the logs show no request for.
const POWEROFF_BY: &[&str] = &["shutdown", "trigger power"];
const ANY: &[&str] = &["shutdown", "reboot", "destroy", "guest panic"];

/// The model's faults that act on xend (they would start one on an xl host).
const XEND_FAULTS: &[&str] = &["drop-release-watch", "delay-release-watch", "reorder-xend"];

/// The actions of a domain's history, up to the first fact the model
/// cannot replay.
fn actions(d: &Domain) -> Vec<(Action, Option<i64>)> {
    let mut out = Vec::new();
    // A request is under way, or the incarnation has ended: what follows
    // (has-shutdown, the restart thread's destroy) is its outcome, not a
    // new action. A new incarnation (a restart's create) opens again.
    let mut busy = false;
    for e in &d.events {
        if e.fact.unmodelled() {
            break;
        }
        let a = match &e.fact {
            Fact::Created | Fact::Restarting => {
                busy = false;
                None
            }
            Fact::ShutdownRequested(r) if r == "reboot" => Some(Action::Reboot),
            Fact::ShutdownRequested(_) => Some(Action::Shutdown),
            Fact::Crashed | Fact::Panicked if !busy => Some(Action::Panic),
            Fact::HasShutdown(r) if !busy => Some(match r.as_str() {
                "reboot" => Action::Reboot,
                "crash" => Action::Panic,
                _ => Action::Unknown(POWEROFF_BY),
            }),
            Fact::Destroyed if !busy => Some(Action::Destroy),
            _ => None,
        };
        if matches!(
            e.fact,
            Fact::ShutdownRequested(_)
                | Fact::Crashed
                | Fact::Panicked
                | Fact::HasShutdown(_)
                | Fact::Destroyed
        ) {
            busy = true;
        }
        if let Some(a) = a {
            out.push((a, e.time));
        }
    }
    if out.is_empty() && !d.records.is_empty() {
        out.push((Action::Unknown(ANY), None));
    }
    out
}

fn quote(s: &str) -> String {
    format!("{s:?}")
}

/// The replay script of domain `d`, or why it cannot be replayed.
pub fn script(host: &Host, d: usize) -> Result<String, String> {
    let dom = &host.domains[d];
    // The model is Xen 4.4.4: another Xen's console (its messages, its
    // trace format, its defaults) is read, not replayed.
    let other_xen = host.events.iter().find_map(|e| match &e.fact {
        Fact::Hypervisor(v)
            if !v.starts_with("4.4.") && dom.records.iter().any(|&(s, _)| s == e.src) =>
        {
            Some((v, e.src))
        }
        _ => None,
    });
    if let Some((v, src)) = other_xen {
        return Err(format!(
            "{} was written by Xen {v}; the model is Xen 4.4.4: the history is read, not replayed",
            host.sources[src].name
        ));
    }
    let xl = dom.toolstack() == Toolstack::Xl;
    let cmd = if xl { "xl" } else { "xm" };
    if let Some(e) = dom.first_unmodelled() {
        let before = dom
            .events
            .iter()
            .take_while(|x| !x.fact.unmodelled())
            .count();
        if before == 0 || matches!(e.fact, Fact::Restore | Fact::RestoreFailed) {
            return Err(format!(
                "its story starts with a fact the model has no mechanism for ({}, {}:{}); the lines after it are not labelled",
                e.fact.describe(),
                host.sources[e.src].name,
                host.sources[e.src].records[e.rec].line()
            ));
        }
    }
    let acts = actions(dom);
    if acts.is_empty() {
        return Err("none of its lines is a step the model takes".into());
    }
    let inf = &dom.inferred;
    let first_time = acts
        .iter()
        .find_map(|(_, t)| *t)
        .or_else(|| dom.events.iter().find_map(|e| e.time))
        .unwrap_or(xsh_sim::time::Epoch::default().0);
    // A domain whose creation the log does not show has run a while:
    // older than xend's MINIMUM_RESTART_TIME.
    let created = inf.created.unwrap_or(first_time - 3600);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// Replay of {} from its logs (xsh logs diagnose).",
        dom.title()
    );
    let _ = writeln!(
        s,
        "sim.start_time = {};",
        quote(&xsh_sim::time::format_datetime(created))
    );
    if xl {
        s.push_str("sim.toolstack = \"xl\";\n");
        // libxl's lines at the level the real xl printed them.
        if let Some(v) = inf.xl_verbose.filter(|&v| v > 0) {
            let _ = writeln!(s, "xl.verbose = {v};");
        }
    }
    match inf.build {
        // No xend on an xl host: the build shows in nothing xl writes.
        _ if xl => {}
        Some(Build::Ovm) => s.push_str("sim.profile = \"ovm-4.4.4\";\n"),
        Some(Build::Upstream) => s.push_str("sim.profile = \"upstream-4.4.4\";\n"),
        _ => s.push_str(
            "sim.profile = sim.choose(\"profile\", [\"ovm-4.4.4\", \"upstream-4.4.4\"]);\n",
        ),
    }
    if let Some(p) = inf.pid.filter(|_| !xl) {
        let _ = writeln!(s, "xend.pid = {p};");
    }
    for p in &inf.stacks {
        let Some(probe) = Probe::by_name(p) else {
            continue;
        };
        // The engineer's instrumentation, as the seed's author wrote it.
        match probe.layer() {
            Layer::Xen => {
                let _ = writeln!(s, "on({}, |ctx| xen.print(ctx.backtrace()));", quote(p));
            }
            Layer::Xend if !xl => {
                let _ = writeln!(
                    s,
                    "on({}, |ctx| xend.log_info(ctx.format_stack()));",
                    quote(p)
                );
            }
            _ => {}
        }
    }
    let name = dom
        .name
        .clone()
        .filter(|n| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
        .unwrap_or_else(|| format!("dom{}", dom.domids.first().copied().unwrap_or(1)));
    let _ = writeln!(s, "let cfg = #{{ name: {} }};", quote(&name));
    if let Some(id) = dom.domids.first().filter(|&&i| (1..0x7ff0).contains(&i)) {
        let _ = writeln!(s, "cfg.id = {id};");
    }
    match inf.hvm {
        Some(true) => s.push_str("let kind = \"hvm\";\n"),
        Some(false) => s.push_str("let kind = \"pv\";\n"),
        None => s.push_str("let kind = sim.choose(\"type\", [\"hvm\", \"pv\"]);\n"),
    }
    s.push_str("cfg.type = kind;\n");
    s.push_str(
        "if kind == \"hvm\" {\n    cfg.guest = \"ubuntu-16.04\";\n    cfg.pv_drivers = sim.choose(\"pv_drivers\", [true, false]);\n",
    );
    if xl {
        // libxl's default device model, or the traditional one.
        s.push_str(
            "    cfg.device_model_version = sim.choose(\"device_model\", [\"qemu-xen\", \"qemu-xen-traditional\"]);\n",
        );
    }
    s.push_str("}\n");
    let devs: Vec<String> = inf.devices.iter().map(|d| quote(d)).collect();
    let _ = writeln!(s, "cfg.devices = [{}];", devs.join(", "));
    for k in ["on_poweroff", "on_reboot", "on_crash"] {
        if let Some(v) = inf.on.get(k) {
            let _ = writeln!(s, "cfg.{k} = {};", quote(v));
        }
    }
    let _ = writeln!(s, "let dom = {cmd}.create(cfg);");
    let mut now = created;
    for (n, (a, t)) in acts.iter().enumerate() {
        let at = t.unwrap_or(now.max(first_time));
        if at > now {
            // An event at the action's time: the clock gets there whether
            // or not the world goes idle sooner.
            let d = at - now;
            let _ = writeln!(s, "sim.after({d}.0, || ());\nsim.run_for({d}.0);");
            now = at;
        }
        let target = if n == 0 {
            "dom".to_string()
        } else {
            format!("{cmd}.domain({})", quote(&name))
        };
        if n == 0 {
            // The model's faults: what may have gone wrong on the way.
            if xl {
                let list: Vec<String> = XEND_FAULTS.iter().map(|f| quote(f)).collect();
                let _ = writeln!(
                    s,
                    "sim.fault(dom, sim.choose(\"fault\", sim.faults(dom).filter(|f| !(f in [{}]))));",
                    list.join(", ")
                );
            } else {
                s.push_str("sim.fault(dom, sim.choose(\"fault\", sim.faults(dom)));\n");
            }
        }
        let _ = writeln!(s, "{}", act(a, cmd, &target, n));
    }
    s.push_str("sim.run();\n");
    Ok(s)
}

/// The action as a script line, through `cmd` (`xm` or `xl`).
fn act(a: &Action, cmd: &str, target: &str, n: usize) -> String {
    let one = |how: &str| match how {
        "shutdown" => format!("{cmd}.shutdown({target});"),
        "reboot" => format!("{cmd}.reboot({target});"),
        "destroy" => format!("{cmd}.destroy({target});"),
        "trigger power" => format!("{cmd}.trigger({target}, \"power\");"),
        _ => format!("{target}.kernel.panic(\"Fatal exception\");"),
    };
    match a {
        Action::Shutdown => one("shutdown"),
        Action::Reboot => one("reboot"),
        Action::Destroy => one("destroy"),
        Action::Panic => one("guest panic"),
        Action::Unknown(options) => {
            // The choice names the command as the user typed it.
            let list: Vec<String> = options
                .iter()
                .map(|o| match *o {
                    "guest panic" => quote(o),
                    o => quote(&format!("{cmd} {o}")),
                })
                .collect();
            let mut s = format!(
                "let how{n} = sim.choose(\"initiator{}\", [{}]);\n",
                if n == 0 { String::new() } else { n.to_string() },
                list.join(", ")
            );
            for (i, (o, named)) in options.iter().zip(&list).enumerate() {
                let _ = write!(
                    s,
                    "{}if how{n} == {} {{ {} }}",
                    if i == 0 { "" } else { " else " },
                    named,
                    one(o)
                );
            }
            s
        }
    }
}
