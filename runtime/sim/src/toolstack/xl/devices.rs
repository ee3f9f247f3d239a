//! libxl's devices (libxl_device.c, libxl_linux.c:142-276): adding one
//! (frontend and backend written, InitWait awaited, the hotplug script run)
//! and removing them all on destroy (in parallel: the frontend removed, the
//! backend set offline and Closing, Closed awaited for up to 10 s — 2 s of
//! nothing for qemu's devices of a paused domain —, the hotplug scripts with
//! their 10 s timeout, then the paths removed). Each device is an `aodev`
//! driven by callbacks from the process's event loop, as in libxl.

use crate::probe::Probe;
use crate::time::SimDuration;
use crate::value::Value;
use crate::xenstore::{Req, Resp, XsErr};
use crate::Sim;

use super::event::{self, ExitStatus, TimeCb, WatchCb};
use super::lines::L;
use super::log::{libxl_log, Level};
use super::{Device, Kind};

/// `ERROR_TIMEDOUT`.
pub const ERROR_TIMEDOUT: i32 = -9;
/// LIBXL_INIT_TIMEOUT, LIBXL_DESTROY_TIMEOUT, LIBXL_HOTPLUG_TIMEOUT
/// (libxl_internal.h:83-85).
pub const TIMEOUT: SimDuration = SimDuration::secs(10);
/// LIBXL_QEMU_BODGE_TIMEOUT (libxl_internal.h:89).
pub const QEMU_BODGE: SimDuration = SimDuration::secs(2);

/// `libxl__device_action`.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Action {
    /// ADD.
    Add,
    /// REMOVE.
    Remove,
}

impl Action {
    /// `libxl__device_action_to_string`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Add => "add",
            Action::Remove => "remove",
        }
    }
}

/// One device operation (`libxl__ao_device`).
#[derive(Clone, Debug)]
pub struct Aodev {
    /// The device (`None` for a multidev's preparation).
    pub dev: Option<Device>,
    /// Add or remove.
    pub action: Action,
    /// Remove without waiting for the guest.
    pub force: bool,
    /// Its result.
    pub rc: i32,
    /// Hotplug scripts run so far.
    pub num_exec: u32,
    /// Not finished.
    pub active: bool,
    /// The multidev it belongs to.
    pub multidev: Option<usize>,
    /// `backend_ds`: its watch slot, timer and wanted state.
    pub ds: Option<(u32, u32, u8)>,
    /// `timeout` (the qemu bodge or the hotplug script's).
    pub timeout: Option<u32>,
    /// The hotplug script running: its pid and task.
    pub child: Option<(u32, crate::exec::TaskId)>,
    /// `what`: the script and its first argument.
    pub what: String,
    /// The struct's address.
    pub ptr: u64,
}

/// What a multidev calls when its last device is done.
#[derive(Clone, Debug)]
pub enum MultidevCb {
    /// `devices_remove_callback` → `devices_destroy_cb` of a destroy AO.
    DevicesRemove {
        /// The domain.
        domid: u32,
        /// The destroy AO.
        ao: usize,
    },
    /// A creation stage: the creating code waits for `done`.
    Stage,
}

/// A group of device operations (`libxl__multidev`).
#[derive(Clone, Debug)]
pub struct Multidev {
    /// Its aodevs, the preparation first.
    pub members: Vec<usize>,
    /// The callback.
    pub cb: MultidevCb,
    /// Set once the callback ran, with the group's result.
    pub done: Option<i32>,
}

fn aodev(sim: &Sim, pid: u32, a: usize) -> Option<Aodev> {
    sim.xl
        .borrow()
        .proc(pid)
        .and_then(|p| p.lx.aodevs.get(a).cloned())
}

fn with_aodev<R>(sim: &Sim, pid: u32, a: usize, f: impl FnOnce(&mut Aodev) -> R) -> Option<R> {
    sim.xl
        .borrow_mut()
        .proc_mut(pid)
        .and_then(|p| p.lx.aodevs.get_mut(a))
        .map(f)
}

fn backend_of(a: &Aodev) -> String {
    a.dev.as_ref().map(|d| d.backend_path()).unwrap_or_default()
}

/// `libxl__multidev_begin`: the group and its preparation aodev.
pub fn multidev_begin(sim: &Sim, pid: u32, cb: MultidevCb) -> usize {
    let m = {
        let mut x = sim.xl.borrow_mut();
        let Some(p) = x.proc_mut(pid) else { return 0 };
        p.lx.multidevs.push(Multidev {
            members: Vec::new(),
            cb,
            done: None,
        });
        p.lx.multidevs.len() - 1
    };
    multidev_prepare(sim, pid, m, None, Action::Add, false);
    m
}

/// `libxl__multidev_prepare`: a new aodev in the group.
pub fn multidev_prepare(
    sim: &Sim,
    pid: u32,
    m: usize,
    dev: Option<Device>,
    action: Action,
    force: bool,
) -> usize {
    let ptr = event::alloc(sim, pid, 0x98);
    let mut x = sim.xl.borrow_mut();
    let Some(p) = x.proc_mut(pid) else { return 0 };
    p.lx.aodevs.push(Aodev {
        dev,
        action,
        force,
        rc: 0,
        num_exec: 0,
        active: true,
        multidev: Some(m),
        ds: None,
        timeout: None,
        child: None,
        what: String::new(),
        ptr,
    });
    let a = p.lx.aodevs.len() - 1;
    if let Some(md) = p.lx.multidevs.get_mut(m) {
        md.members.push(a);
    }
    a
}

/// `libxl__multidev_prepared`: the preparation is over.
pub async fn multidev_prepared(sim: &Sim, pid: u32, m: usize, rc: i32) {
    let prep = sim.xl.borrow().proc(pid).and_then(|p| {
        p.lx.multidevs
            .get(m)
            .and_then(|md| md.members.first().copied())
    });
    if let Some(a) = prep {
        with_aodev(sim, pid, a, |d| d.rc = rc);
        multidev_one_callback(sim, pid, a).await;
    }
}

/// `multidev_one_callback` (libxl_device.c:490-508): when the last device of
/// the group is done, the group's callback with the last error.
async fn multidev_one_callback(sim: &Sim, pid: u32, a: usize) {
    let ready = {
        let mut x = sim.xl.borrow_mut();
        let Some(p) = x.proc_mut(pid) else { return };
        let Some(m) = p.lx.aodevs.get_mut(a).and_then(|d| {
            d.active = false;
            d.multidev
        }) else {
            return;
        };
        let Some(md) = p.lx.multidevs.get(m) else {
            return;
        };
        let mut error = 0;
        let mut all = true;
        for &i in &md.members {
            let d = &p.lx.aodevs[i];
            if d.active {
                all = false;
                break;
            }
            if d.rc != 0 {
                error = d.rc;
            }
        }
        if !all {
            return;
        }
        let cb = md.cb.clone();
        p.lx.multidevs[m].done = Some(error);
        (cb, error)
    };
    sim.at(L::MultidevCallback as u16);
    match ready.0 {
        MultidevCb::DevicesRemove { domid, ao } => {
            sim.at(L::RemoveCallback as u16);
            super::destroy::devices_destroy_cb(sim, pid, domid, ao, ready.1).await
        }
        MultidevCb::Stage => {}
    }
}

/// Whether a multidev has finished.
pub fn multidev_done(sim: &Sim, pid: u32, m: usize) -> Option<i32> {
    sim.xl
        .borrow()
        .proc(pid)
        .and_then(|p| p.lx.multidevs.get(m).and_then(|md| md.done))
}

/// `libxl__parse_backend_path`: `/local/domain/0/backend/<kind>/<domid>/<devid>`.
fn parse_backend(path: &str) -> Option<Device> {
    let rest = path.strip_prefix("/local/domain/0/backend/")?;
    let mut it = rest.split('/');
    let kind = Kind::parse(it.next()?)?;
    let domid = it.next()?.parse().ok()?;
    let devid = it.next()?.parse().ok()?;
    Some(Device { kind, domid, devid })
}

/// `libxl__devices_destroy` (libxl_device.c:605-682).
pub async fn devices_destroy(sim: &Sim, pid: u32, domid: u32, ao: usize) {
    let s = sim.clone();
    sim.call(
        Probe::LibxlDevicesDestroy,
        domid,
        move || vec![Value::Int(domid as i64)],
        async move {
            let m = multidev_begin(&s, pid, MultidevCb::DevicesRemove { domid, ao });
            let base = format!("/local/domain/{domid}/device");
            let kinds = match event::xs(&s, pid, None, Req::Directory(base.clone())).await {
                Ok(Resp::List(l)) => l,
                _ => Vec::new(),
            };
            for kind in kinds {
                if Kind::parse(&kind).is_none() {
                    continue;
                }
                let devs = match event::xs(&s, pid, None, Req::Directory(format!("{base}/{kind}")))
                    .await
                {
                    Ok(Resp::List(l)) => l,
                    _ => continue,
                };
                for d in devs {
                    let path =
                        event::xs_read(&s, pid, None, &format!("{base}/{kind}/{d}/backend")).await;
                    let Some(mut dev) = path.as_deref().and_then(parse_backend) else {
                        continue;
                    };
                    dev.domid = domid;
                    if dev.kind == Kind::Console {
                        // Consoles go synchronously, by their xenstore entries.
                        s.at(L::DevicesDestroyConsole as u16);
                        device_destroy(&s, pid, dev).await;
                        continue;
                    }
                    let a = multidev_prepare(&s, pid, m, Some(dev), Action::Remove, true);
                    s.at(L::DevicesDestroyInitiate as u16);
                    initiate_device_remove(&s, pid, a).await;
                }
            }
            // Console 0's frontend is not under device/.
            let c = event::xs_read(
                &s,
                pid,
                None,
                &format!("/local/domain/{domid}/console/backend"),
            )
            .await;
            if let Some(dev) = c
                .filter(|p| !p.is_empty())
                .as_deref()
                .and_then(parse_backend)
            {
                device_destroy(&s, pid, Device { domid, ..dev }).await;
            }
            s.at(L::DevicesDestroyPrepared as u16);
            multidev_prepared(&s, pid, m, 0).await;
        },
    )
    .await
}

/// `libxl__initiate_device_remove` (libxl_device.c:765-867).
pub async fn initiate_device_remove(sim: &Sim, pid: u32, a: usize) {
    let Some(ad) = aodev(sim, pid, a) else { return };
    let Some(dev) = ad.dev.clone() else { return };
    let s = sim.clone();
    let be = dev.backend_path();
    let shown = be.clone();
    sim.call(
        Probe::LibxlInitiateDeviceRemove,
        dev.domid,
        move || vec![Value::str(&shown), Value::Bool(ad.force)],
        async move {
            let info = crate::hypervisor::domctl::getdomaininfo(&s, dev.domid);
            let Some(info) = info else {
                libxl_log(
                    &s,
                    pid,
                    Level::Error,
                    L::RemoveUnableLog,
                    &format!("unable to get info for domain {}", dev.domid),
                );
                with_aodev(&s, pid, a, |d| d.rc = super::cmd::ERROR_FAIL);
                device_hotplug_done(&s, pid, a).await;
                return;
            };
            if dev.kind.qemu_backend()
                && (info.paused || info.dying || info.shutdown || info.crashed)
            {
                // "TODO: 4.2 Bodge due to QEMU": qemu will not see the
                // request of a paused domain; give it 2 s, then close it.
                s.at(L::RemoveBodge as u16);
                let t = event::time_register(&s, pid, QEMU_BODGE, TimeCb::QemuBodge(a));
                with_aodev(&s, pid, a, |d| d.timeout = Some(t));
                return;
            }
            let state_path = format!("{be}/state");
            let force = aodev(&s, pid, a).is_some_and(|d| d.force);
            loop {
                let Ok(Resp::Tx(tx)) = event::xs(&s, pid, None, Req::TxStart).await else {
                    break;
                };
                if force {
                    s.at(L::RemoveCleanup as u16);
                    event::path_cleanup(&s, pid, tx, &dev.frontend_path()).await;
                }
                let state = event::xs_read(&s, pid, Some(tx), &state_path).await;
                if let Some(st) = state.filter(|v| v.parse::<u8>().ok() != Some(6)) {
                    let _ = st;
                    let _ = event::xs(
                        &s,
                        pid,
                        Some(tx),
                        Req::Write(format!("{be}/online"), "0".into()),
                    )
                    .await;
                    s.at(L::RemoveWrite as u16);
                    let _ = event::xs(
                        &s,
                        pid,
                        Some(tx),
                        Req::Write(state_path.clone(), "5".into()),
                    )
                    .await;
                }
                match event::xs(&s, pid, Some(tx), Req::TxEnd(true)).await {
                    Err(XsErr::EAGAIN) => continue,
                    _ => break,
                }
            }
            s.at(L::RemoveWait as u16);
            devstate_wait(&s, pid, a, &state_path, 6, TIMEOUT).await;
        },
    )
    .await
}

/// `libxl__ev_devstate_wait` (libxl_event.c:680-704): a timer and a watch
/// on the backend's state.
async fn devstate_wait(
    sim: &Sim,
    pid: u32,
    a: usize,
    path: &str,
    wanted: u8,
    timeout: SimDuration,
) {
    let t = event::time_register(sim, pid, timeout, TimeCb::Devstate(a));
    with_aodev(sim, pid, a, |d| d.ds = Some((u32::MAX, t, wanted)));
    // `&aodev->backend_ds.watch`, inside the aodev.
    let w = aodev(sim, pid, a).map_or(0, |d| d.ptr + 0x20);
    let slot = event::xswatch_register(sim, pid, path, WatchCb::Devstate(a), w).await;
    with_aodev(sim, pid, a, |d| {
        if let (Some((_, t, wanted)), Some(slot)) = (d.ds, slot) {
            d.ds = Some((slot, t, wanted));
        }
    });
}

/// `libxl__ev_devstate_cancel`.
async fn devstate_cancel(sim: &Sim, pid: u32, a: usize) {
    let ds = with_aodev(sim, pid, a, |d| d.ds.take()).flatten();
    if let Some((slot, t, _)) = ds {
        event::time_deregister(sim, pid, t);
        if slot != u32::MAX {
            event::xswatch_deregister(sim, pid, slot).await;
        }
    }
}

/// `devstate_watch_callback` (libxl_event.c:635-667).
pub async fn devstate_watch_callback(sim: &Sim, pid: u32, a: usize, wpath: String) {
    let s = sim.clone();
    let shown = wpath.clone();
    let domid = aodev(sim, pid, a)
        .and_then(|d| d.dev.map(|d| d.domid))
        .unwrap_or(0);
    sim.call(
        Probe::LibxlDevstateWatchCallback,
        domid,
        move || vec![Value::str(&shown)],
        async move {
            let Some(wanted) = aodev(&s, pid, a).and_then(|d| d.ds.map(|x| x.2)) else {
                return;
            };
            let rc = match event::xs_read(&s, pid, None, &wpath).await {
                None => {
                    libxl_log(
                        &s,
                        pid,
                        Level::Debug,
                        L::DevstateRemovedLog,
                        &format!("backend {wpath} wanted state {wanted} but it was removed"),
                    );
                    super::cmd::ERROR_INVAL
                }
                Some(v) => {
                    let got: i64 = v.trim().parse().unwrap_or(0);
                    if got == wanted as i64 {
                        libxl_log(
                            &s,
                            pid,
                            Level::Debug,
                            L::DevstateOkLog,
                            &format!("backend {wpath} wanted state {wanted} ok"),
                        );
                        0
                    } else {
                        libxl_log(
                            &s,
                            pid,
                            Level::Debug,
                            L::DevstateWaitingLog,
                            &format!(
                                "backend {wpath} wanted state {wanted} still waiting state {got}"
                            ),
                        );
                        return;
                    }
                }
            };
            devstate_cancel(&s, pid, a).await;
            s.at(L::DevstateCallback as u16);
            device_backend_callback(&s, pid, a, rc).await;
        },
    )
    .await
}

/// `devstate_timeout` (libxl_event.c:669-678).
pub async fn devstate_timeout(sim: &Sim, pid: u32, a: usize) {
    let s = sim.clone();
    let Some(ad) = aodev(sim, pid, a) else { return };
    let path = format!("{}/state", backend_of(&ad));
    let shown = path.clone();
    let domid = ad.dev.as_ref().map_or(0, |d| d.domid);
    sim.call(
        Probe::LibxlDevstateTimeout,
        domid,
        move || vec![Value::str(&shown)],
        async move {
            // The timer already fired: only the watch is left to cancel.
            with_aodev(&s, pid, a, |d| {
                if let Some((slot, _, w)) = d.ds {
                    d.ds = Some((slot, u32::MAX, w));
                }
            });
            let wanted = ad.ds.map_or(0, |x| x.2);
            libxl_log(
                &s,
                pid,
                Level::Debug,
                L::DevstateTimeoutLog,
                &format!("backend {path} wanted state {wanted}  timed out"),
            );
            devstate_cancel(&s, pid, a).await;
            s.at(L::DevstateTimeoutCallback as u16);
            device_backend_callback(&s, pid, a, ERROR_TIMEDOUT).await;
        },
    )
    .await
}

/// `device_backend_callback` (libxl_device.c:917-946).
async fn device_backend_callback(sim: &Sim, pid: u32, a: usize, rc: i32) {
    let Some(ad) = aodev(sim, pid, a) else { return };
    let s = sim.clone();
    let be = backend_of(&ad);
    let shown = be.clone();
    let domid = ad.dev.as_ref().map_or(0, |d| d.domid);
    sim.call(
        Probe::LibxlDeviceBackendCallback,
        domid,
        move || vec![Value::str(&shown), Value::Int(rc as i64)],
        async move {
            devstate_cancel(&s, pid, a).await;
            if rc == ERROR_TIMEDOUT && ad.action == Action::Remove && !ad.force {
                with_aodev(&s, pid, a, |d| d.force = true);
                initiate_device_remove(&s, pid, a).await;
                return;
            }
            if rc != 0 {
                libxl_log(
                    &s,
                    pid,
                    Level::Error,
                    L::BackendCbUnableLog,
                    &format!("unable to {} device with path {be}", ad.action.name()),
                );
                with_aodev(&s, pid, a, |d| d.rc = rc);
                s.at(L::BackendCbDone as u16);
                device_hotplug_done(&s, pid, a).await;
                return;
            }
            s.at(L::BackendCbHotplug as u16);
            device_hotplug(&s, pid, a).await;
        },
    )
    .await
}

/// `device_qemu_timeout` (libxl_device.c:869-915): the device model did not
/// close it; libxl writes state 6 itself.
pub async fn device_qemu_timeout(sim: &Sim, pid: u32, a: usize) {
    let Some(ad) = aodev(sim, pid, a) else { return };
    let s = sim.clone();
    let be = backend_of(&ad);
    let shown = be.clone();
    let domid = ad.dev.as_ref().map_or(0, |d| d.domid);
    sim.call(
        Probe::LibxlDeviceQemuTimeout,
        domid,
        move || vec![Value::str(&shown)],
        async move {
            with_aodev(&s, pid, a, |d| d.timeout = None);
            let state_path = format!("{be}/state");
            loop {
                let Ok(Resp::Tx(tx)) = event::xs(&s, pid, None, Req::TxStart).await else {
                    break;
                };
                // Read and written outside the transaction (XBT_NULL), as in libxl.
                let st = event::xs_read(&s, pid, None, &state_path).await;
                if st.is_some_and(|v| v.trim() != "6") {
                    let _ =
                        event::xs(&s, pid, None, Req::Write(state_path.clone(), "6".into())).await;
                }
                match event::xs(&s, pid, Some(tx), Req::TxEnd(true)).await {
                    Err(XsErr::EAGAIN) => continue,
                    _ => break,
                }
            }
            s.at(L::QemuTimeoutHotplug as u16);
            device_hotplug(&s, pid, a).await;
        },
    )
    .await
}

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
            let script = event::xs_read(sim, pid, None, &format!("{be}/script")).await?;
            Some((script, vec![ad.action.name()]))
        }
        Kind::Vif if ad.num_exec <= 1 => {
            let script = event::xs_read(sim, pid, None, &format!("{be}/script")).await?;
            let ioemu = event::xs_read(sim, pid, None, &format!("{be}/type"))
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
    let ctx = sim.new_ctx(
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
                if let Some(e) = event::xs_read(&s, pid, None, &format!("{be}/hotplug-error")).await
                {
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
async fn device_hotplug_done(sim: &Sim, pid: u32, a: usize) {
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

/// `libxl__device_destroy` (libxl_device.c:551-598): the toolstack domain
/// removes both the frontend and the backend path, in one transaction.
pub async fn device_destroy(sim: &Sim, pid: u32, dev: Device) -> i32 {
    let s = sim.clone();
    let shown = dev.backend_path();
    let rc: i64 = sim
        .call(
            Probe::LibxlDeviceDestroy,
            dev.domid,
            move || vec![Value::str(&shown)],
            async move {
                let (fe, be) = (dev.frontend_path(), dev.backend_path());
                loop {
                    let Ok(Resp::Tx(tx)) = event::xs(&s, pid, None, Req::TxStart).await else {
                        return super::cmd::ERROR_FAIL as i64;
                    };
                    let _ =
                        event::xs_read(&s, pid, Some(tx), &format!("{be}/tapdisk-params")).await;
                    event::path_cleanup(&s, pid, tx, &fe).await;
                    event::path_cleanup(&s, pid, tx, &be).await;
                    match event::xs(&s, pid, Some(tx), Req::TxEnd(true)).await {
                        Err(XsErr::EAGAIN) => continue,
                        Ok(_) => return 0,
                        Err(_) => return super::cmd::ERROR_FAIL as i64,
                    }
                }
            },
        )
        .await;
    rc as i32
}

/// `libxl__device_generic_add` (libxl_device.c:86-158): frontend and backend
/// directories with their permissions, in one transaction.
pub async fn generic_add(
    sim: &Sim,
    pid: u32,
    dev: &Device,
    back: Vec<(&'static str, String)>,
    front: Vec<(&'static str, String)>,
) {
    let s = sim.clone();
    let (fe, be) = (dev.frontend_path(), dev.backend_path());
    let (f2, b2) = (fe.clone(), be.clone());
    let domid = dev.domid;
    sim.call(
        Probe::LibxlDeviceAdd,
        domid,
        move || vec![Value::str(&f2), Value::str(&b2)],
        async move {
            let mut reqs = Vec::new();
            if !front.is_empty() {
                reqs.push(Req::Rm(fe.clone()));
                reqs.push(Req::Mkdir(fe.clone()));
                reqs.push(Req::SetPerms(fe.clone(), vec![(domid, 'n'), (0, 'r')]));
                reqs.push(Req::Write(format!("{fe}/backend"), be.clone()));
                for (k, v) in front {
                    reqs.push(Req::Write(format!("{fe}/{k}"), v));
                }
            }
            if !back.is_empty() {
                reqs.push(Req::Rm(be.clone()));
                reqs.push(Req::Mkdir(be.clone()));
                reqs.push(Req::SetPerms(be.clone(), vec![(0, 'n'), (domid, 'r')]));
                reqs.push(Req::Write(format!("{be}/frontend"), fe.clone()));
                for (k, v) in back {
                    reqs.push(Req::Write(format!("{be}/{k}"), v));
                }
            }
            event::txn(&s, pid, reqs).await;
        },
    )
    .await
}

/// `libxl__wait_device_connection` (libxl_device.c:729-763): qemu's devices
/// go straight to the hotplug step; the others wait for InitWait first.
pub async fn wait_device_connection(sim: &Sim, pid: u32, a: usize) {
    let Some(ad) = aodev(sim, pid, a) else { return };
    let Some(dev) = ad.dev.clone() else { return };
    let s = sim.clone();
    let be = dev.backend_path();
    let shown = be.clone();
    sim.call(
        Probe::LibxlWaitDeviceConnection,
        dev.domid,
        move || vec![Value::str(&shown)],
        async move {
            if dev.kind.qemu_backend() {
                device_hotplug(&s, pid, a).await;
                return;
            }
            devstate_wait(&s, pid, a, &format!("{be}/state"), 2, TIMEOUT).await;
        },
    )
    .await
}
