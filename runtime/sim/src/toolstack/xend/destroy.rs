//! The restart thread's work after a shutdown (X xend/XendDomainInfo.py:
//! 2149-2174, 2403-2429, 2944-2965, 3076-3115): `_maybeRestart` → destroy →
//! cleanupDomain → `_releaseDevices` in xend's device-class order.

use std::rc::Rc;

use crate::hypervisor::domctl::{self, Domctl};
use crate::probe::Probe;
use crate::value::Value;
use crate::xenstore::join;
use crate::xenstore::{Req, Resp};
use crate::Sim;

use super::devices::{self, CLASS_ORDER};
use super::info::state_set;
use super::lines::L;
use super::python::{acquire, release, remove, subprocess, xs_call};
use super::watch::unwatch;
use super::{domid_of, log, Level, VmRef};

/// `_maybeRestart(reason)`: the on_poweroff/on_reboot/on_crash action.
pub async fn maybe_restart(sim: &Sim, vm: VmRef, reason: String) {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    let shown = reason.clone();
    sim.call(
        Probe::XendMaybeRestart,
        domid,
        move || vec![Value::str(&shown)],
        async move {
            s.at(L::MaybeDumpCore as u16);
            super::restart::maybe_dump_core(&s, vm, &reason).await;
            let action = {
                let x = s.xend.borrow();
                let c = &x.vm(vm).cfg;
                match reason.as_str() {
                    "poweroff" => c.on_poweroff.clone(),
                    "reboot" => c.on_reboot.clone(),
                    "crash" => c.on_crash.clone(),
                    _ => "".into(),
                }
            };
            s.at(L::MaybeRestartFunc as u16);
            match &*action {
                "destroy" | "coredump-destroy" => destroy(&s, vm).await,
                "restart" | "coredump-restart" => super::restart::restart(&s, vm, false).await,
                "preserve" => super::restart::preserve(&s, vm).await,
                "rename-restart" => super::restart::restart(&s, vm, true).await,
                _ => {
                    s.at(L::MaybeRestartDefault as u16);
                    destroy(&s, vm).await
                }
            }
        },
    )
    .await
}

/// `destroy()`: pause and destroy the Xen domain, forget it, clean up.
pub async fn destroy(sim: &Sim, vm: VmRef) {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    sim.call(Probe::XendDestroy, domid, Vec::new, async move {
        let Some(domid) = s.xend.borrow().vm(vm).domid else {
            return;
        };
        log(
            &s,
            Level::Debug,
            L::DestroyLog,
            format_args!("XendDomainInfo.destroy: domid={domid}"),
        );
        s.site().await;
        // _prepare_phantom_paths: the vbds' phantom nodes, read from the store.
        let dompath = s.xend.borrow().vm(vm).dompath.clone();
        if let Some(dp) = &dompath {
            let _ = super::python::list(&s, join(dp, "device/vbd")).await;
        }
        if dompath.is_some() {
            domctl::do_domctl(&s, domid, Domctl::Pause).await;
            s.at(L::DestroyXc as u16);
            let rc = domctl::do_domctl(&s, domid, Domctl::Destroy).await;
            super::python::checkpoint(&s).await;
            if rc != 0 && rc != -3 {
                log(
                    &s,
                    Level::Error,
                    L::DestroyFailedLog,
                    "XendDomainInfo.destroy: domain destruction failed.",
                );
            }
            state_set(&s, vm, "halted");
            s.at(L::DestroyRemove as u16);
            super::domain::remove_domain(&s, vm).await;
            s.at(L::DestroyCleanup as u16);
            cleanup_domain(&s, vm).await;
        }
        s.at(L::DestroyCleanupVm as u16);
        cleanup_vm(&s, vm).await;
    })
    .await
}

/// `cleanupDomain()`: idempotent, but every call logs its release steps.
pub async fn cleanup_domain(sim: &Sim, vm: VmRef) {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    sim.call(Probe::XendCleanupDomain, domid, Vec::new, async move {
        let lock = s.xend.borrow().vm(vm).refresh_shutdown_lock;
        super::python::checkpoint(&s).await;
        acquire(&s, lock).await;
        s.at(L::CleanupUnwatch as u16);
        unwatch_shutdown(&s, vm).await;
        s.at(L::CleanupRelease as u16);
        release_devices(&s, vm).await;
        if s.profile().is_ovm() {
            s.at(L::CleanupRunningLock as u16);
            release_running_lock(&s, vm).await;
        }
        s.xend.borrow_mut().vm_mut(vm).image = None;
        s.at(L::CleanupRemoveDom as u16);
        remove_dom(&s, vm).await;
        state_set(&s, vm, "halted");
        s.xend.borrow_mut().vm_mut(vm).domid = None;
        release(&s, lock);
    })
    .await
}

/// `unwatchShutdown()`.
async fn unwatch_shutdown(sim: &Sim, vm: VmRef) {
    let (tok, dp) = {
        let mut x = sim.xend.borrow_mut();
        let v = x.vm_mut(vm);
        (v.shutdown_watch.take(), v.dompath.clone())
    };
    if let (Some(t), Some(dp)) = (tok, dp) {
        unwatch(sim, &join(&dp, "control/shutdown"), &t).await;
    }
}

/// `_unwatchVm()`.
pub async fn unwatch_vm(sim: &Sim, vm: VmRef) {
    let (tok, vp) = {
        let mut x = sim.xend.borrow_mut();
        let v = x.vm_mut(vm);
        (v.vm_watch.take(), v.vmpath.clone())
    };
    if let Some(t) = tok {
        unwatch(sim, &vp, &t).await;
    }
}

/// `_releaseDevices()`: the device model, then every device of every class.
pub async fn release_devices(sim: &Sim, vm: VmRef) {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    sim.call(Probe::XendReleaseDevices, domid, Vec::new, async move {
        let has_image = s.xend.borrow().vm(vm).image.is_some();
        if has_image {
            log(&s, Level::Debug, L::DestroyingDm, "Destroying device model");
            s.at(L::DestroyDmCall as u16);
            super::image::destroy_device_model(&s, vm).await;
        } else {
            log(&s, Level::Debug, L::NoDm, "No device model");
        }
        super::python::checkpoint(&s).await;
        log(&s, Level::Debug, L::ReleasingDevices, "Releasing devices");
        let base = join(&s.xend.borrow().vm(vm).vmpath, "device");
        let tx = match xs_call(&s, None, Req::TxStart).await {
            Ok(Resp::Tx(t)) => Some(t),
            _ => None,
        };
        for class in CLASS_ORDER {
            let devs = match xs_call(&s, tx, Req::Directory(join(&base, class))).await {
                Ok(Resp::List(l)) => l,
                _ => Vec::new(),
            };
            for d in devs {
                let dev: Rc<str> = join(class, &d).into();
                log(
                    &s,
                    Level::Debug,
                    L::RemovingDev,
                    format_args!("Removing {dev}"),
                );
                s.at(L::ReleaseDestroyDevice as u16);
                destroy_device(&s, vm, class, dev, false).await;
            }
        }
        if let Some(t) = tx {
            let _ = xs_call(&s, Some(t), Req::TxEnd(false)).await;
        }
    })
    .await
}

/// `XendDomainInfo.destroyDevice(class, devid, force)`.
pub async fn destroy_device(sim: &Sim, vm: VmRef, class: &'static str, dev: Rc<str>, force: bool) {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    let d2 = dev.clone();
    sim.call(
        Probe::XendDestroyDevice,
        domid,
        move || vec![Value::str(class), Value::str(&d2), Value::Bool(force)],
        async move {
            log(
                &s,
                Level::Debug,
                L::DestroyDeviceLog,
                format_args!("XendDomainInfo.destroyDevice: deviceClass = {class}, device = {dev}"),
            );
            s.site().await;
            if s.xend.borrow().vm(vm).domid.is_some() {
                s.at(L::DestroyDeviceCtl as u16);
                devices::destroy_device(&s, vm, class, dev, force).await;
            }
        },
    )
    .await
}

/// ovm-4.4.4: release the server pool's running lock (a helper command; in a
/// pool that is not clustered it answers that no lock is used).
async fn release_running_lock(sim: &Sim, vm: VmRef) {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    sim.call(Probe::XendReleaseRunningLock, domid, Vec::new, async move {
        let d = s.xend.borrow().opts.running_lock_cmd;
        subprocess(&s, d).await;
        log(
            &s,
            Level::Debug,
            L::RunningLockLog,
            "Release running lock: status=0, output=Not clustered - no lock will be used.",
        );
    })
    .await
}

/// `_removeDom()`: removes `/local/domain/<id>`.
pub async fn remove_dom(sim: &Sim, vm: VmRef) {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    let dp = sim.xend.borrow().vm(vm).dompath.clone();
    let shown = dp.clone().unwrap_or_default();
    sim.call(
        Probe::XendRemoveDom,
        domid,
        move || vec![Value::str(&shown)],
        async move {
            if let Some(dp) = dp {
                remove(&s, &dp).await;
            }
        },
    )
    .await
}

/// `_cleanupVm()`: unwatch and remove `/vm/<uuid>`.
pub async fn cleanup_vm(sim: &Sim, vm: VmRef) {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    sim.call(Probe::XendCleanupVm, domid, Vec::new, async move {
        unwatch_vm(&s, vm).await;
        let vp = s.xend.borrow().vm(vm).vmpath.clone();
        remove(&s, &vp).await;
    })
    .await
}
