//! The model's own fault points, by name, for `sim.fault(dom, name)` and
//! `sim.choose("fault", sim.faults(dom))`. Each is a hook on the probe where
//! the real fault would act, or a setting of the existing API, so the rest
//! of the world reacts as the real system would:
//!
//! | fault | how |
//! |---|---|
//! | `drop-shutdown-watch` | `dom.hook("guest:shutdown_handler")` returns at once: the guest's `control/shutdown` event is lost |
//! | `delay-shutdown-watch` | the same hook runs the handler 10 s late (`ctx.orig()` later); xenwatch waits |
//! | `hang-init` | `dom.kernel.init = "hung"`: PID 1 stops answering |
//! | `kill-qemu-dm` | `dom.qemu.kill(9)` now (HVM only) |
//! | `slow-qemu-dm` | `dom.hook("qemu:destroy_hvm_domain")` runs it 5 s late (HVM only) |
//! | `drop-release-watch` | `hook("xend:XendDomain._on_domains_changed")` returns 1: xend never hears `@releaseDomain` |
//! | `delay-release-watch` | the same hook runs the refresh 10 s late |
//! | `reorder-xend` | `xend.preempt = 0.7`: xend's threads are preempted at checkpoints (seeded) |
//! | `backend-stuck` | `dom.hook("dom0:frontend_changed")` returns at once: the domain's backends never follow their frontends (never reach Closed) |
//! | `dm-ignores-sighup` | `dom.hook("qemu:signal")` drops SIGHUP (HVM only): the device model outlives xend's or libxl's SIGHUP |
//!
//! On an xl host the release-watch faults act on xl's monitor
//! (`libxl:domain_death_xswatch_callback`), and `reorder-xend` does not
//! apply. On an xm host `sim.faults(dom)` lists the xend-era set the
//! explorations were written against (`ALL`); the two teardown faults are
//! injected there by name.
//!
//! The hooks are native functions (`FnPtr::from_fn`): installed like a
//! script's `hook`, listed by the same machinery, but with nothing to
//! compile per variant.

use std::rc::{Rc, Weak};

use rhai::{Dynamic, FnPtr};
use xsh_sim::time::SimDuration;

use crate::hooks::{install_native, CtxApi, HookKind};
use crate::HostState;

/// The xend-era faults, "none" first: what `sim.faults(dom)` lists on an xm
/// host (the set the xm explorations were written against).
pub const ALL: &[&str] = &[
    "none",
    "drop-shutdown-watch",
    "delay-shutdown-watch",
    "hang-init",
    "kill-qemu-dm",
    "slow-qemu-dm",
    "drop-release-watch",
    "delay-release-watch",
    "reorder-xend",
];

/// The teardown faults, added with xl; listed on an xl host, injected by
/// name on either.
pub const TEARDOWN: &[&str] = &["backend-stuck", "dm-ignores-sighup"];

/// Every fault: `ALL` then `TEARDOWN`.
pub fn every() -> impl Iterator<Item = &'static str> {
    ALL.iter().chain(TEARDOWN).copied()
}

/// What `sim.faults(dom)` lists on an xl host.
pub const XL: &[&str] = &[
    "none",
    "drop-shutdown-watch",
    "delay-shutdown-watch",
    "hang-init",
    "kill-qemu-dm",
    "slow-qemu-dm",
    "drop-release-watch",
    "delay-release-watch",
    "backend-stuck",
    "dm-ignores-sighup",
];

/// Faults that need the domain's qemu-dm (an HVM guest).
pub const QEMU: &[&str] = &["kill-qemu-dm", "slow-qemu-dm", "dm-ignores-sighup"];

fn on_xl(st: &HostState) -> bool {
    st.sim.toolstack.get() == Some(xsh_sim::toolstack::Toolstack::Xl)
}

/// Watch events late by this much.
pub const WATCH_DELAY: f64 = 10.0;
/// qemu-dm's S5 handling late by this much.
pub const QEMU_DELAY: f64 = 5.0;
/// xend's preemption probability.
pub const PREEMPT: f64 = 0.7;

/// The faults that apply to a domain.
pub fn applicable(st: &HostState, domid: u32) -> Vec<&'static str> {
    let has_qemu = st.sim.qemu.borrow().by_dom.contains_key(&domid);
    let list = if on_xl(st) { XL } else { ALL };
    list.iter()
        .copied()
        .filter(|f| has_qemu || !QEMU.contains(f))
        .collect()
}

/// Injects the fault `name` into domain `domid`.
pub fn inject(st: &Rc<HostState>, domid: u32, name: &str) -> Result<(), String> {
    let sim = &st.sim;
    let needs_qemu = QEMU.contains(&name);
    if needs_qemu && !sim.qemu.borrow().by_dom.contains_key(&domid) {
        return Err(format!(
            "fault {name:?}: domain {domid} has no qemu-dm (a PV guest); sim.faults(dom) lists what applies"
        ));
    }
    let hook = |probe: &str, dom: Option<u32>, f: FnPtr| {
        install_native(st, probe, dom, HookKind::Hook, f).map(|_| ())
    };
    match name {
        "none" => Ok(()),
        "drop-shutdown-watch" => hook("guest:shutdown_handler", Some(domid), skip(Dynamic::UNIT)),
        "delay-shutdown-watch" => hook(
            "guest:shutdown_handler",
            Some(domid),
            later(st, WATCH_DELAY),
        ),
        "hang-init" => {
            let mut g = sim.guests.borrow_mut();
            let g = g.get_mut(domid).ok_or_else(|| {
                format!("fault \"hang-init\": domain {domid} has no running guest kernel")
            })?;
            g.init_hangs = true;
            Ok(())
        }
        "kill-qemu-dm" => {
            xsh_sim::qemu_dm::signal(sim, domid, 9);
            Ok(())
        }
        "slow-qemu-dm" => hook(
            "qemu:destroy_hvm_domain",
            Some(domid),
            later(st, QEMU_DELAY),
        ),
        // xl's monitor hears @releaseDomain in libxl's death callback.
        "drop-release-watch" if on_xl(st) => hook(
            "libxl:domain_death_xswatch_callback",
            None,
            skip(Dynamic::UNIT),
        ),
        "delay-release-watch" if on_xl(st) => hook(
            "libxl:domain_death_xswatch_callback",
            None,
            later(st, WATCH_DELAY),
        ),
        "drop-release-watch" => hook(
            "xend:XendDomain._on_domains_changed",
            None,
            skip(Dynamic::from_int(1)),
        ),
        "delay-release-watch" => hook(
            "xend:XendDomain._on_domains_changed",
            None,
            later(st, WATCH_DELAY),
        ),
        "reorder-xend" if on_xl(st) => {
            Err("fault \"reorder-xend\" reorders xend's threads; this host runs xl".to_string())
        }
        "reorder-xend" => {
            sim.xend.borrow_mut().opts.preempt = PREEMPT;
            Ok(())
        }
        "backend-stuck" => hook("dom0:frontend_changed", Some(domid), skip(Dynamic::UNIT)),
        "dm-ignores-sighup" => hook("qemu:signal", Some(domid), ignore_sighup()),
        other => Err(format!(
            "unknown fault {other:?}; the faults are {}",
            every().collect::<Vec<_>>().join(", ")
        )),
    }
}

/// A hook that returns `value` without running the function.
fn skip(value: Dynamic) -> FnPtr {
    native("fault_skip", move |_| Ok(value.clone()))
}

/// A hook that runs the function `secs` later, keeping its call suspended
/// meanwhile (what `sim.after(secs, || ctx.orig())` does in a script).
fn later(st: &Rc<HostState>, secs: f64) -> FnPtr {
    let w: Weak<HostState> = Rc::downgrade(st);
    native("fault_later", move |ctx: CtxApi| {
        let Some(st) = w.upgrade() else {
            return Ok(Dynamic::UNIT);
        };
        let at = st.sim.now().after(SimDuration::from_secs_f64(secs));
        let sim = st.sim.clone();
        // The scheduled closure keeps `ctx`: the dispatcher sees it kept
        // and leaves the call suspended until then.
        sim.schedule_at(at, move |s| {
            if let Err(e) = ctx.orig() {
                s.abort(e);
            }
        });
        Ok(Dynamic::UNIT)
    })
}

/// A hook on `qemu:signal` that drops SIGHUP and lets the others through.
fn ignore_sighup() -> FnPtr {
    native("fault_ignore_sighup", |ctx: CtxApi| {
        let signo = ctx
            .args_map()
            .get("signo")
            .ok()
            .and_then(|v| v.as_int().ok());
        if signo == Some(1) {
            return Ok(Dynamic::UNIT);
        }
        ctx.orig().map_err(|e| e.into())
    })
}

/// A native hook closure taking the probe context.
fn native(
    name: &str,
    f: impl Fn(CtxApi) -> Result<Dynamic, Box<rhai::EvalAltResult>> + 'static,
) -> FnPtr {
    #[allow(deprecated)] // volatile, not deprecated (rhai's note)
    let r = FnPtr::from_fn(name, move |_, args: &mut [&mut Dynamic]| {
        let ctx = args
            .first()
            .and_then(|a| (**a).clone().try_cast::<CtxApi>())
            .ok_or("a fault hook is called with the probe context")?;
        f(ctx)
    });
    match r {
        Ok(p) => p,
        // The names above are valid identifiers.
        Err(e) => unreachable!("{e}"),
    }
}
