//! The hotplug step of a device (libxl_device.c:954-1166, libxl_linux.c:
//! 142-276): libxl forks `vif-bridge` or `block` itself (udev's copies exit,
//! `libxl/disable_udev`), with a 10 s timeout and SIGKILL; an emulated NIC
//! runs `vif-bridge` twice; a removal then drops the device's paths.

use crate::probe::Probe;
use crate::value::Value;
use crate::xenstore::join;
use crate::Sim;

use super::aodev::{aodev, backend_of, multidev_one_callback, with_aodev, Action, Aodev};
use super::devices::{device_destroy, TIMEOUT};
use super::event::{self, ExitStatus, TimeCb};
use super::lines::L;
use super::log::{libxl_log, Level};
use super::Kind;

/// `libxl__get_hotplug_script_info` (libxl_linux.c:234-276): the script and
/// its arguments for the next run, if any.
async fn hotplug_script_info(
    sim: &Sim,
    pid: u32,
    ad: &Aodev,
) -> Option<(String, Vec<&'static str>)> {
    let dev = ad.dev.as_ref()?;
    event::xs_read(sim, pid, None, "libxl/disable_udev").await?;
    let be = dev.backend_path();
    match dev.kind {
        Kind::Vbd if ad.num_exec == 0 => {
            let script = event::xs_read(sim, pid, None, &join(&be, "script")).await?;
            Some((script, vec![ad.action.name()]))
        }
        Kind::Vif if ad.num_exec <= 1 => {
            let script = event::xs_read(sim, pid, None, &join(&be, "script")).await?;
            let ioemu = event::xs_read(sim, pid, None, &join(&be, "type"))
                .await
                .as_deref()
                == Some("vif_ioemu");
            if !ioemu && ad.num_exec != 0 {
                return None;
            }
            if ioemu && ad.num_exec != 0 {
                Some((script, vec![ad.action.name(), "type_if=tap"]))
            } else {
                let a = if ad.action == Action::Add {
                    "online"
                } else {
                    "offline"
                };
                Some((script, vec![a, "type_if=vif"]))
            }
        }
        _ => None,
    }
}

/// `device_hotplug` (libxl_device.c:954-1048): the next script, forked with a
/// 10 s timeout, or, with none left, `device_hotplug_done`.
pub async fn device_hotplug(sim: &Sim, pid: u32, a: usize) {
    let Some(ad) = aodev(sim, pid, a) else { return };
    let s = sim.clone();
    let be = backend_of(&ad);
    let shown = be.clone();
    let domid = ad.dev.as_ref().map_or(0, |d| d.domid);
    sim.call(
        Probe::LibxlDeviceHotplug,
        domid,
        move || vec![Value::str(&shown), Value::str(ad.action.name())],
        async move {
            let Some((script, args)) = hotplug_script_info(&s, pid, &ad).await else {
                s.at(L::HotplugDone as u16);
                device_hotplug_done(&s, pid, a).await;
                return;
            };
            let t = event::time_register(&s, pid, TIMEOUT, TimeCb::Hotplug(a));
            let what = format!("{script} {}", args[0]);
            with_aodev(&s, pid, a, |d| {
                d.timeout = Some(t);
                d.what = what.clone();
            });
            libxl_log(
                &s,
                pid,
                Level::Debug,
                L::HotplugCallingLog,
                &format!("calling hotplug script: {what}"),
            );
            s.at(L::HotplugFork as u16);
            fork_script(&s, pid, a, script, args, be);
        },
    )
    .await
}

/// `libxl__ev_child_fork` + `libxl__exec` of a hotplug script: a dom0
/// process whose exit reaches the loop through SIGCHLD.
fn fork_script(sim: &Sim, pid: u32, a: usize, script: String, args: Vec<&'static str>, be: String) {
    let child = crate::dom0::next_pid(sim);
    let base = script.rsplit('/').next().unwrap_or(&script).to_string();
    let ctx = sim.new_thread_ctx(
        format!("{base} (pid {child})"),
        crate::probe::Layer::Dom0,
        crate::stack::NO_DOM,
    );
    let hop = sim.hop("fork/exec");
    sim.adopt(ctx, hop);
    let s = sim.clone();
    let task = sim.spawn(ctx, async move {
        let rc = crate::dom0::hotplug::libxl_script(&s, &base, &args, &be).await;
        event::child_exited(&s, pid, child, ExitStatus::Exited(rc));
    });
    if let Some(p) = sim.xl.borrow_mut().proc_mut(pid) {
        p.lx.children.push((child, a));
        if let Some(d) = p.lx.aodevs.get_mut(a) {
            d.child = Some((child, task));
        }
    }
}

/// `device_hotplug_timeout_cb` (libxl_device.c:1050-1066): SIGKILL.
pub async fn device_hotplug_timeout_cb(sim: &Sim, pid: u32, a: usize) {
    let Some(ad) = aodev(sim, pid, a) else { return };
    let s = sim.clone();
    let shown = backend_of(&ad);
    let domid = ad.dev.as_ref().map_or(0, |d| d.domid);
    sim.call(
        Probe::LibxlDeviceHotplugTimeout,
        domid,
        move || vec![Value::str(&shown)],
        async move {
            with_aodev(&s, pid, a, |d| d.timeout = None);
            libxl_log(
                &s,
                pid,
                Level::Debug,
                L::HotplugKillLog,
                &format!("killing hotplug script {} because of timeout", ad.what),
            );
            if let Some((child, task)) = ad.child {
                s.exec.kill(task);
                // The kernel reaps it; SIGCHLD reaches the loop.
                event::child_exited(&s, pid, child, ExitStatus::Signaled(9));
            }
        },
    )
    .await
}

/// `device_hotplug_child_death_cb` (libxl_device.c:1068-1107).
pub async fn device_hotplug_child_death_cb(
    sim: &Sim,
    pid: u32,
    a: usize,
    child: u32,
    status: ExitStatus,
) {
    let Some(ad) = aodev(sim, pid, a) else { return };
    let s = sim.clone();
    let be = backend_of(&ad);
    let shown = be.clone();
    let domid = ad.dev.as_ref().map_or(0, |d| d.domid);
    let st = match status {
        ExitStatus::Exited(c) => c as i64,
        ExitStatus::Signaled(n) => 128 + n as i64,
    };
    sim.call(
        Probe::LibxlDeviceHotplugChildDeath,
        domid,
        move || vec![Value::str(&shown), Value::Int(st)],
        async move {
            hotplug_clean(&s, pid, a);
            with_aodev(&s, pid, a, |d| d.child = None);
            if status != ExitStatus::Exited(0) {
                report_child_exitstatus(&s, pid, &ad.what, child, status);
                if let Some(e) = event::xs_read(&s, pid, None, &join(&be, "hotplug-error")).await {
                    libxl_log(
                        &s,
                        pid,
                        Level::Error,
                        L::HotplugErrorLog,
                        &format!("script: {e}"),
                    );
                }
                with_aodev(&s, pid, a, |d| d.rc = super::cmd::ERROR_FAIL);
                if ad.action == Action::Add {
                    device_hotplug_done(&s, pid, a).await;
                    return;
                }
            }
            with_aodev(&s, pid, a, |d| d.num_exec += 1);
            s.at(L::HotplugNext as u16);
            device_hotplug(&s, pid, a).await;
        },
    )
    .await
}

/// `libxl_report_child_exitstatus` (libxl_exec.c:109-138).
fn report_child_exitstatus(sim: &Sim, pid: u32, what: &str, child: u32, status: ExitStatus) {
    match status {
        ExitStatus::Exited(c) => libxl_log(
            sim,
            pid,
            Level::Error,
            L::ChildExitedLog,
            &format!("{what} [{child}] exited with error status {c}"),
        ),
        ExitStatus::Signaled(n) => libxl_log(
            sim,
            pid,
            Level::Error,
            L::ChildSignaledLog,
            &format!(
                "{what} [{child}] died due to fatal signal {}",
                signal_name(n)
            ),
        ),
    }
}

/// `strsignal`.
pub fn signal_name(n: u32) -> &'static str {
    match n {
        1 => "Hangup",
        9 => "Killed",
        15 => "Terminated",
        _ => "Unknown signal",
    }
}

/// `device_hotplug_clean`: the timer goes.
fn hotplug_clean(sim: &Sim, pid: u32, a: usize) {
    if let Some(t) = with_aodev(sim, pid, a, |d| d.timeout.take()).flatten() {
        event::time_deregister(sim, pid, t);
    }
}

/// `device_hotplug_done` (libxl_device.c:1150-1166).
pub(super) async fn device_hotplug_done(sim: &Sim, pid: u32, a: usize) {
    let Some(ad) = aodev(sim, pid, a) else { return };
    let s = sim.clone();
    let shown = backend_of(&ad);
    let domid = ad.dev.as_ref().map_or(0, |d| d.domid);
    sim.call(
        Probe::LibxlDeviceHotplugDone,
        domid,
        move || vec![Value::str(&shown), Value::Int(ad.rc as i64)],
        async move {
            hotplug_clean(&s, pid, a);
            if ad.action == Action::Remove {
                if let Some(dev) = ad.dev.clone() {
                    s.at(L::HotplugDoneDestroy as u16);
                    let rc = device_destroy(&s, pid, dev).await;
                    with_aodev(&s, pid, a, |d| {
                        if d.rc == 0 {
                            d.rc = rc;
                        }
                    });
                }
            }
            s.at(L::HotplugDoneCallback as u16);
            multidev_one_callback(&s, pid, a).await;
        },
    )
    .await
}
