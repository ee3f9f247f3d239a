//! libxl's devices (libxl_device.c): adding one (frontend and backend
//! written, InitWait awaited, then the hotplug step) and removing them all on
//! destroy (in parallel: the frontend removed, the backend set offline and
//! Closing, Closed awaited for up to 10 s — 2 s of nothing for qemu's devices
//! of a paused domain —, then the hotplug step, then the paths removed).
//! Each device is an aodev (`aodev.rs`) driven by callbacks from the
//! process's event loop; the hotplug scripts are `hotplug.rs`.

use crate::probe::Probe;
use crate::time::SimDuration;
use crate::value::Value;
use crate::xenstore::join;
use crate::xenstore::{Req, Resp, XsErr};
use crate::Sim;

pub use super::aodev::{
    multidev_begin, multidev_done, multidev_prepare, multidev_prepared, Action, Aodev, Multidev,
    MultidevCb,
};
pub use super::hotplug::{
    device_hotplug, device_hotplug_child_death_cb, device_hotplug_timeout_cb,
};

use super::aodev::{aodev, backend_of, with_aodev};
use super::event::{self, TimeCb, WatchCb};
use super::hotplug::device_hotplug_done;
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
                let devs = match event::xs(&s, pid, None, Req::Directory(join(&base, &kind))).await
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
            let state_path = join(&be, "state");
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
                        Req::Write(join(&be, "online"), "0".into()),
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
            let state_path = join(&be, "state");
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
                    let _ = event::xs_read(&s, pid, Some(tx), &join(&be, "tapdisk-params")).await;
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
                reqs.push(Req::Write(join(&fe, "backend"), be.clone()));
                for (k, v) in front {
                    reqs.push(Req::Write(join(&fe, k), v));
                }
            }
            if !back.is_empty() {
                reqs.push(Req::Rm(be.clone()));
                reqs.push(Req::Mkdir(be.clone()));
                reqs.push(Req::SetPerms(be.clone(), vec![(0, 'n'), (domid, 'r')]));
                reqs.push(Req::Write(join(&be, "frontend"), fe.clone()));
                for (k, v) in back {
                    reqs.push(Req::Write(join(&be, k), v));
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
            devstate_wait(&s, pid, a, &join(&be, "state"), 2, TIMEOUT).await;
        },
    )
    .await
}
