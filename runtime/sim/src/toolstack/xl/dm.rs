//! The device model under libxl (libxl_dm.c, libxl_exec.c:281-398): spawned
//! detached (a double fork; the middle process records its pid) with its
//! log, confirmed by its `running` state node, and killed with one SIGHUP
//! that nobody waits for.

use crate::probe::Probe;
use crate::time::SimDuration;
use crate::value::Value;
use crate::xenstore::join;
use crate::xenstore::Req;
use crate::Sim;

use super::event::{self, Spawn, TimeCb, WatchCb};
use super::lines::L;
use super::log::{libxl_log, Level};
use super::{DmVersion, DomainConfig};

/// LIBXL_DEVICE_MODEL_START_TIMEOUT (libxl_internal.h:88).
pub const START_TIMEOUT: SimDuration = SimDuration::secs(60);

/// `libxl__spawn_local_dm` (libxl_dm.c:1223-1356), then the creation waits
/// in the loop for the spawn's outcome. Returns whether it started.
pub async fn spawn_local_dm(sim: &Sim, pid: u32, domid: u32, cfg: &DomainConfig) -> bool {
    let s = sim.clone();
    let c = cfg.clone();
    let r: bool = sim
        .call(
            Probe::LibxlSpawnLocalDm,
            domid,
            move || vec![Value::Int(domid as i64), Value::str(c.dm_version.name())],
            async move {
                let dom = format!("/local/domain/{domid}");
                let _ = event::xs(
                    &s,
                    pid,
                    None,
                    Req::Write(join(&dom, "hvmloader/bios"), "rombios".into()),
                )
                .await;
                let trad = c.dm_version == DmVersion::Traditional;
                let _ = event::xs(
                    &s,
                    pid,
                    None,
                    Req::Write(
                        join(&dom, "hvmloader/allow-memory-relocate"),
                        u8::from(trad).to_string(),
                    ),
                )
                .await;
                let dmpath = format!("/local/domain/0/device-model/{domid}");
                let _ = event::xs(&s, pid, None, Req::Mkdir(dmpath.clone())).await;
                if trad {
                    let _ = event::xs(
                        &s,
                        pid,
                        None,
                        Req::Write(
                            join(&dmpath, "disable_pf"),
                            u8::from(!c.platform_pci).to_string(),
                        ),
                    )
                    .await;
                }
                // libxl__create_qemu_logfile: qemu-dm-<name>.log, rotated.
                let file = crate::qemu_dm::log_file(&c.name);
                {
                    let mut logs = s.logs.borrow_mut();
                    logs.rotate(&file, 10);
                    let _ = logs.file(&file);
                }
                // libxl_dm.c:1327-1329 logs the argument list at debug; it
                // depends on config keys xsh does not model (vnc, vga, usb,
                // serial), so it is not written (docs/xl.md).
                // libxl__spawn_spawn: the timeout, the watch, then the forks.
                let t = event::time_register(&s, pid, START_TIMEOUT, TimeCb::Spawn);
                if let Some(p) = s.xl.borrow_mut().proc_mut(pid) {
                    p.lx.spawn = Some(Spawn {
                        domid,
                        watch: None,
                        timer: Some(t),
                        outcome: None,
                    });
                }
                let w = event::alloc(&s, pid, 0x30);
                let slot =
                    event::xswatch_register(&s, pid, &join(&dmpath, "state"), WatchCb::Spawn, w)
                        .await;
                if let Some(p) = s.xl.borrow_mut().proc_mut(pid) {
                    if let Some(sp) = p.lx.spawn.as_mut() {
                        sp.watch = slot;
                    }
                }
                let dm_pid = crate::dom0::next_pid(&s);
                // The middle process records the grandchild's pid.
                let _ = event::xs(
                    &s,
                    pid,
                    None,
                    Req::Write(join(&dom, "image/device-model-pid"), dm_pid.to_string()),
                )
                .await;
                let disks = c
                    .disks
                    .iter()
                    .map(|d| format!("/dev/vg0/{}-disk{d}", c.name))
                    .collect();
                let setup = crate::qemu_dm::QemuSetup {
                    domid,
                    name: c.name.clone(),
                    uuid: c.uuid,
                    disks,
                    platform_pci: c.platform_pci,
                    pid: dm_pid,
                };
                match c.dm_version {
                    DmVersion::Traditional => crate::qemu_dm::start(&s, &setup),
                    DmVersion::QemuXen => crate::qemu_dm::upstream::start(&s, &setup),
                }
                crate::qemu_dm::record_running(&s, domid);
                event::loop_until(&s, pid, |s| {
                    s.xl.borrow()
                        .proc(pid)
                        .is_none_or(|p| p.lx.spawn.as_ref().is_none_or(|sp| sp.outcome.is_some()))
                })
                .await;
                let ok =
                    s.xl.borrow_mut()
                        .proc_mut(pid)
                        .and_then(|p| p.lx.spawn.take())
                        .and_then(|sp| sp.outcome)
                        .unwrap_or(false);
                if !ok {
                    libxl_log(
                        &s,
                        pid,
                        Level::Error,
                        L::SpawnFailedLog,
                        &format!("domain {domid} device model: spawn failed (rc=-3)"),
                    );
                }
                ok
            },
        )
        .await;
    r
}

/// Ends the spawn: its timer and watch go (`spawn_detach`/`spawn_fail`).
async fn spawn_finish(sim: &Sim, pid: u32, ok: bool) {
    let (watch, timer) = {
        let mut x = sim.xl.borrow_mut();
        let Some(sp) = x.proc_mut(pid).and_then(|p| p.lx.spawn.as_mut()) else {
            return;
        };
        if sp.outcome.is_some() {
            return;
        }
        sp.outcome = Some(ok);
        (sp.watch.take(), sp.timer.take())
    };
    if let Some(t) = timer {
        event::time_deregister(sim, pid, t);
    }
    if let Some(w) = watch {
        event::xswatch_deregister(sim, pid, w).await;
    }
}

/// `spawn_watch_event` → `device_model_confirm` (libxl_dm.c:1359-1371):
/// `running` confirms the device model.
pub async fn spawn_watch_event(sim: &Sim, pid: u32, wpath: String) {
    if event::xs_read(sim, pid, None, &wpath).await.as_deref() == Some("running") {
        spawn_finish(sim, pid, true).await;
    }
}

/// `spawn_timeout` (libxl_exec.c:390-398).
pub async fn spawn_timeout(sim: &Sim, pid: u32) {
    let domid = sim
        .xl
        .borrow()
        .proc(pid)
        .and_then(|p| p.lx.spawn.as_ref().map(|s| s.domid))
        .unwrap_or(0);
    if let Some(sp) = sim
        .xl
        .borrow_mut()
        .proc_mut(pid)
        .and_then(|p| p.lx.spawn.as_mut())
    {
        sp.timer = None;
    }
    libxl_log(
        sim,
        pid,
        Level::Error,
        L::SpawnTimeoutLog,
        &format!("domain {domid} device model: startup timed out"),
    );
    spawn_finish(sim, pid, false).await;
}

/// `libxl__destroy_device_model` → `kill_device_model` (libxl_dm.c:1484-1538).
pub async fn destroy_device_model(sim: &Sim, pid: u32, domid: u32) -> i32 {
    let s = sim.clone();
    let pidpath = format!("/local/domain/{domid}/image/device-model-pid");
    let shown = pidpath.clone();
    sim.at(L::DestroyDmKill as u16);
    let rc: i64 = sim
        .call(
            Probe::LibxlKillDeviceModel,
            domid,
            move || vec![Value::str(&shown)],
            async move {
                let Some(v) = event::xs_read(&s, pid, None, &pidpath).await else {
                    libxl_log(
                        &s,
                        pid,
                        Level::Error,
                        L::KillDmNoPidLog,
                        &format!("unable to find device model pid in {pidpath}"),
                    );
                    return super::cmd::ERROR_FAIL as i64;
                };
                let dm_pid: u32 = v.trim().parse().unwrap_or(0);
                s.at(L::KillDmKill as u16);
                // kill(pid, SIGHUP): the process with that pid, if it lives.
                if crate::qemu_dm::kill_pid(&s, dm_pid, 1, pid) {
                    libxl_log(
                        &s,
                        pid,
                        Level::Debug,
                        L::KillDmSignaledLog,
                        "Device Model signaled",
                    );
                } else {
                    libxl_log(
                        &s,
                        pid,
                        Level::Error,
                        L::KillDmExitedLog,
                        "Device Model already exited",
                    );
                }
                0
            },
        )
        .await;
    rc as i32
}
