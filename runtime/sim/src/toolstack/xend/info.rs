//! XendDomainInfo's side of a shutdown (X xend/XendDomainInfo.py:524-544,
//! 1820-1913, 2021-2130): the request, the `control/shutdown` watch and its
//! 300 s timer, and `refreshShutdown` deciding what Xen's state means.

use std::rc::Rc;

use crate::hypervisor::{self, domctl, param, SchedOp};
use crate::probe::Probe;
use crate::time::SimDuration;
use crate::value::Value;
use crate::xenstore::join;
use crate::Sim;

use super::domain::{dom_get, state_get, DomState};
use super::lines::{ThreadKind, L};
use super::python::{acquire, blocking, read, release, remove, start_thread, write};
use super::watch::{xswatch, WatchCb};
use super::{domid_of, log, Level, VmRef};

/// Reason names and xend's codes (XendConstants.py:25-39).
pub const REASONS: [&str; 5] = ["poweroff", "reboot", "suspend", "crash", "halt"];

fn dompath(sim: &Sim, vm: VmRef) -> Option<String> {
    sim.xend.borrow().vm(vm).dompath.clone()
}

fn vmpath(sim: &Sim, vm: VmRef) -> String {
    sim.xend.borrow().vm(vm).vmpath.clone()
}

fn name(sim: &Sim, vm: VmRef) -> String {
    sim.xend.borrow().vm(vm).cfg.name.clone()
}

/// `<dompath>/<rel>`, built straight from the record (no copy of the
/// domain path on the way).
fn dom_node(sim: &Sim, vm: VmRef, rel: &str) -> Option<String> {
    let x = sim.xend.borrow();
    x.vm(vm).dompath.as_deref().map(|p| join(p, rel))
}

/// `readDom(path)`.
pub async fn read_dom(sim: &Sim, vm: VmRef, rel: &str) -> Option<String> {
    let p = dom_node(sim, vm, rel)?;
    read(sim, p).await
}

/// `storeDom(path, value)`.
pub async fn store_dom(sim: &Sim, vm: VmRef, rel: &str, value: &str) {
    if let Some(p) = dom_node(sim, vm, rel) {
        write(sim, p, value).await;
    }
}

/// `_writeVm(path, value)`.
pub async fn write_vm(sim: &Sim, vm: VmRef, rel: &str, value: &str) {
    let p = join(&sim.xend.borrow().vm(vm).vmpath, rel);
    write(sim, p, value).await;
}

/// `_stateSet(state)`: nothing stored, only waiters notified (kept for `dom.state`).
pub fn state_set(sim: &Sim, vm: VmRef, state: &'static str) {
    let mut x = sim.xend.borrow_mut();
    if x.vm(vm).state != state {
        x.vm_mut(vm).state = state;
        x.mark(vm);
    }
}

/// `XendDomainInfo.shutdown(reason)` on the RPC thread.
pub async fn shutdown(sim: &Sim, vm: VmRef, reason: String) -> Result<(), String> {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    let shown = reason.clone();
    let r: Option<String> = sim
        .call(
            Probe::XendInfoShutdown,
            domid,
            move || vec![Value::str(&shown)],
            async move {
                log(
                    &s,
                    Level::Debug,
                    L::ShutdownLog,
                    format_args!("XendDomainInfo.shutdown({reason})"),
                );
                s.site().await;
                if state_get(&s, vm) == DomState::Halted {
                    return Some("Domain cannot be shutdown".to_string());
                }
                if domid == 0 {
                    return Some("Domain 0 cannot be shutdown".to_string());
                }
                let Some(code) = REASONS.iter().position(|r| *r == reason) else {
                    return Some(format!("Invalid reason: {reason}"));
                };
                s.at(L::ShutdownStore as u16);
                store_dom(&s, vm, "control/shutdown", &reason).await;
                let hvm = s.xend.borrow().vm(vm).cfg.hvm;
                if hvm {
                    // An HVM domain shuts itself down only if it has PV drivers.
                    let pvdrv = domctl::hvm_get_param(&s, domid, param::CALLBACK_IRQ).unwrap_or(0);
                    let s_state =
                        domctl::hvm_get_param(&s, domid, param::ACPI_S_STATE).unwrap_or(0);
                    if pvdrv == 0 || s_state != 0 {
                        log(
                            &s,
                            Level::Info,
                            L::HvmRemoteLog,
                            format_args!("HVM save:remote shutdown dom {domid}!"),
                        );
                        hypervisor::do_sched_op(
                            &s,
                            0,
                            SchedOp::RemoteShutdown {
                                domid,
                                reason: code as u32,
                            },
                        )
                        .await;
                    }
                }
                None
            },
        )
        .await;
    match r {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// `_registerWatches`: the VM path and `control/shutdown`.
pub async fn register_watches(sim: &Sim, vm: VmRef) {
    let vp = vmpath(sim, vm);
    let t = xswatch(sim, &vp, WatchCb::StoreChanged(vm)).await;
    sim.xend.borrow_mut().vm_mut(vm).vm_watch = Some(t);
    if let Some(dp) = dompath(sim, vm) {
        let t = xswatch(sim, &join(&dp, "control/shutdown"), WatchCb::Shutdown(vm)).await;
        sim.xend.borrow_mut().vm_mut(vm).shutdown_watch = Some(t);
    }
}

/// `_storeChanged`: re-reads the VM's config from the store (TRACE only).
pub async fn store_changed(sim: &Sim, vm: VmRef, path: Rc<str>) -> bool {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    sim.call(
        Probe::XendStoreChanged,
        domid,
        move || vec![Value::str(&path)],
        async move {
            let vp = vmpath(&s, vm);
            let reqs = [
                "name",
                "on_poweroff",
                "on_reboot",
                "on_crash",
                "rtc/timeoffset",
            ]
            .iter()
            .map(|k| crate::xenstore::Req::Read(join(&vp, k)))
            .collect::<Rc<[_]>>();
            super::python::xs_txn(&s, reqs).await;
            read(&s, join(&vp, "image")).await;
            true
        },
    )
    .await
}

/// `_handleShutdownWatch`: a non-empty reason stores the start time (once)
/// and arms a Timer that calls `refreshShutdown`.
pub async fn handle_shutdown_watch(sim: &Sim, vm: VmRef, path: Rc<str>) -> bool {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    sim.call(
        Probe::XendHandleShutdownWatch,
        domid,
        move || vec![Value::str(&path)],
        async move {
            log(
                &s,
                Level::Debug,
                L::HandleShutdownLog,
                "XendDomainInfo.handleShutdownWatch",
            );
            s.site().await;
            let reason = read_dom(&s, vm, "control/shutdown").await;
            if let Some(reason) = reason.filter(|r| !r.is_empty() && r != "suspend") {
                let _ = reason;
                let sst = read_dom(&s, vm, "xend/shutdown_start_time").await;
                let now = s.wall_now();
                let total = s.xend.borrow().opts.shutdown_timeout;
                let (start, timeout) = match sst.and_then(|v| v.parse::<f64>().ok()) {
                    Some(start) => (start, start + total.as_secs_f64() - now),
                    None => {
                        store_dom(&s, vm, "xend/shutdown_start_time", &format!("{now:.6}")).await;
                        (now, total.as_secs_f64())
                    }
                };
                {
                    let mut x = s.xend.borrow_mut();
                    x.vm_mut(vm).shutdown_start = Some(start);
                    x.note_shutdown_start(vm, start);
                }
                s.at(L::HandleShutdownTimer as u16);
                let s2 = s.clone();
                start_thread(
                    &s,
                    ThreadKind::Timer,
                    "Timer: refreshShutdown",
                    move || async move {
                        // Timer.run: self.finished.wait(self.interval)
                        blocking(&s2, || s2.sleep(SimDuration::from_secs_f64(timeout))).await;
                        // Boxed: every domain shut down keeps a timer thread
                        // asleep for 300 s, which need not carry the room of
                        // all a refresh may go on to do (restart, destroy).
                        Box::pin(refresh_shutdown(&s2, vm, None)).await;
                    },
                );
            }
            true
        },
    )
    .await
}

/// ovm-4.4.4's `handleHideDevicesWatch`: under the domain's
/// refresh_shutdown_lock, logs (docs/fidelity.md explains the choice).
pub async fn handle_hide_devices_watch(sim: &Sim, vm: VmRef, path: Rc<str>) -> bool {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    sim.call(
        Probe::XendHandleHideDevicesWatch,
        domid,
        move || vec![Value::str(&path)],
        async move {
            let lock = s.xend.borrow().vm(vm).refresh_shutdown_lock;
            acquire(&s, lock).await;
            log(
                &s,
                Level::Debug,
                L::HideDevicesLog,
                "XenDomainInfo.handleHideDevicesWatch",
            );
            s.site().await;
            release(&s, lock);
            true
        },
    )
    .await
}

fn reason_name(code: u8) -> &'static str {
    REASONS.get(code as usize).copied().unwrap_or("?")
}

/// Has a shutdown begun at wall time `start` run past SHUTDOWN_TIMEOUT?
/// (`refreshShutdown`'s test, in its own arithmetic.)
pub fn shutdown_timed_out(sim: &Sim, start: f64) -> bool {
    let total = sim.xend.borrow().opts.shutdown_timeout.as_secs_f64();
    timed_out(total, sim.wall_now(), start)
}

/// `total - now + start < 0`: SHUTDOWN_TIMEOUT `total` run out at `now`.
pub fn timed_out(total: f64, now: f64, start: f64) -> bool {
    let timeout = total - now + start;
    timeout < 0.0
}

/// Can `refreshShutdown` calls be skipped at all now? Only while nothing
/// can observe them: nobody hooks it, the trace is off, and xend's thread
/// preemption is off (its checkpoint draws from the RNG).
pub fn refresh_skippable(sim: &Sim) -> bool {
    !sim.tracing.get()
        && !sim.is_hooked(Probe::XendRefreshShutdown)
        && !sim.is_hooked(Probe::XendInfoUpdate)
        && sim.xend.borrow().opts.preempt <= 0.0
}

/// The state `refreshShutdown(info)` would set if that were all it did:
/// `None` unless the call is skippable and the domain simply runs — not
/// shut down, crashed or dying, its lock free, and no shutdown of it past
/// its timeout (before that, a pending shutdown only stores the state).
pub fn quiet_state(sim: &Sim, vm: VmRef, info: &domctl::DomInfo) -> Option<&'static str> {
    if info.dying || info.crashed || info.shutdown || !refresh_skippable(sim) {
        return None;
    }
    let (lock, start, has_path) = {
        let x = sim.xend.borrow();
        let v = x.vm(vm);
        (
            v.refresh_shutdown_lock,
            v.shutdown_start,
            v.dompath.is_some(),
        )
    };
    if !has_path || start.is_some_and(|st| shutdown_timed_out(sim, st)) {
        return None;
    }
    if !super::python::lock_free(sim, lock) {
        return None;
    }
    Some(if info.paused { "paused" } else { "running" })
}

/// Would `refreshShutdown(info)` of a domain that simply runs change
/// nothing? Then `_refresh` may skip the call, which is what makes a host of
/// thousands of domains affordable: every `@releaseDomain` makes xend refresh
/// every domain it tracks (quadratic in the real xend as here), and nearly
/// all of them are running and unchanged. The call is skipped only when it
/// cannot be observed (`quiet_state`); the state it would set is set here.
pub fn refresh_changes_nothing(sim: &Sim, vm: VmRef, info: &domctl::DomInfo) -> bool {
    match quiet_state(sim, vm, info) {
        Some(st) => {
            state_set(sim, vm, st);
            true
        }
        None => false,
    }
}

/// `refreshShutdown(xeninfo)`.
pub async fn refresh_shutdown(sim: &Sim, vm: VmRef, xeninfo: Option<domctl::DomInfo>) {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    let shown = xeninfo.clone();
    sim.call(
        Probe::XendRefreshShutdown,
        domid,
        move || vec![shown.as_ref().map_or(Value::Unit, info_value)],
        async move {
            let lock = s.xend.borrow().vm(vm).refresh_shutdown_lock;
            acquire(&s, lock).await;
            let mut restart_reason: Option<&'static str> = None;
            let info = match xeninfo {
                Some(i) => Some(i),
                None => {
                    let d = s.xend.borrow().vm(vm).domid;
                    dom_get(&s, d)
                }
            };
            let name = name(&s, vm);
            match info {
                None => {
                    // The domain no longer exists (the timer, or destroyed beneath us).
                    s.at(L::RefreshGoneCleanup as u16);
                    super::destroy::cleanup_domain(&s, vm).await;
                    state_set(&s, vm, "halted");
                }
                Some(i) if i.dying => {
                    s.at(L::RefreshDyingCleanup as u16);
                    super::destroy::cleanup_domain(&s, vm).await;
                    state_set(&s, vm, "shutdown");
                }
                Some(i) if i.crashed => {
                    if read_dom(&s, vm, "xend/shutdown_completed").await.is_none() {
                        log(
                            &s,
                            Level::Warning,
                            L::CrashedLog,
                            format_args!("Domain has crashed: name={name} id={}.", i.domid),
                        );
                        write_vm(&s, vm, "xend/last_shutdown_reason", "crash").await;
                        restart_reason = Some("crash");
                        state_set(&s, vm, "halted");
                    }
                }
                Some(i) if i.shutdown => {
                    state_set(&s, vm, "shutdown");
                    if read_dom(&s, vm, "xend/shutdown_completed").await.is_none() {
                        let reason = reason_name(i.shutdown_reason);
                        log(
                            &s,
                            Level::Info,
                            L::ShutdownSeenLog,
                            format_args!(
                                "Domain has shutdown: name={name} id={} reason={reason}.",
                                i.domid
                            ),
                        );
                        write_vm(&s, vm, "xend/last_shutdown_reason", reason).await;
                        // _clearRestart
                        if let Some(p) = dompath(&s, vm) {
                            remove(&s, join(&p, "xend/shutdown_start_time")).await;
                        }
                        match reason {
                            "suspend" => {
                                state_set(&s, vm, "suspended");
                                super::destroy::unwatch_vm(&s, vm).await;
                            }
                            "poweroff" | "reboot" => restart_reason = Some(reason),
                            _ => {
                                // halt, or an unknown code: destroyed inline, on this thread.
                                s.at(L::RefreshDestroy as u16);
                                super::destroy::destroy(&s, vm).await;
                            }
                        }
                    }
                }
                Some(_) if dompath(&s, vm).is_none() => {}
                Some(i) => {
                    state_set(&s, vm, if i.paused { "paused" } else { "running" });
                    let start = s.xend.borrow().vm(vm).shutdown_start;
                    if let Some(start) = start {
                        if shutdown_timed_out(&s, start)
                            && read_dom(&s, vm, "xend/unresponsive").await.is_none()
                        {
                            log(
                                &s,
                                Level::Info,
                                L::TimeoutLog,
                                format_args!(
                                    "Domain shutdown timeout expired: name={name} id={}",
                                    i.domid
                                ),
                            );
                            store_dom(&s, vm, "xend/unresponsive", "True").await;
                        }
                    }
                }
            }
            release(&s, lock);
            let start_restart = {
                let mut x = s.xend.borrow_mut();
                let v = x.vm_mut(vm);
                match restart_reason {
                    Some(_) if !v.restart_in_progress => {
                        v.restart_in_progress = true;
                        true
                    }
                    _ => false,
                }
            };
            super::python::checkpoint(&s).await;
            if let Some(reason) = restart_reason.filter(|_| start_restart) {
                let s2 = s.clone();
                start_thread(
                    &s,
                    ThreadKind::Thread,
                    "_maybeRestart",
                    move || async move {
                        super::destroy::maybe_restart(&s2, vm, reason.to_string()).await;
                    },
                );
            }
        },
    )
    .await
}

pub(super) fn info_value(i: &domctl::DomInfo) -> Value {
    Value::Map(vec![
        ("domid".into(), Value::Int(i.domid as i64)),
        ("dying".into(), Value::Bool(i.dying)),
        ("crashed".into(), Value::Bool(i.crashed)),
        ("shutdown".into(), Value::Bool(i.shutdown)),
        ("paused".into(), Value::Bool(i.paused)),
        (
            "shutdown_reason".into(),
            Value::Int(i.shutdown_reason as i64),
        ),
    ])
}
