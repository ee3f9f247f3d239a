//! What `_maybeRestart` may do instead of destroying (X xend/XendDomainInfo.py:
//! 2138-2327): restart (with its loop and too-fast refusals), preserve,
//! rename-restart, and core dumps for `coredump-*`.

use crate::probe::Probe;
use crate::time::{format_dump_stamp, SimDuration};
use crate::value::Value;
use crate::xenstore::join;
use crate::Sim;

use super::destroy::{destroy, release_devices, unwatch_vm};
use super::info::{state_set, store_dom, write_vm};
use super::lines::L;
use super::python::{blocking, read, remove};
use super::{domid_of, log, Level, VmRef};

/// `_maybeDumpCore(reason)`.
pub async fn maybe_dump_core(sim: &Sim, vm: VmRef, reason: &str) {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    let shown = reason.to_string();
    let crash = reason == "crash";
    sim.call(
        Probe::XendMaybeDumpCore,
        domid,
        move || vec![Value::str(&shown)],
        async move {
            let on_crash = s.xend.borrow().vm(vm).cfg.on_crash.clone();
            if crash && matches!(&*on_crash, "coredump-destroy" | "coredump-restart") {
                dump_core(&s, vm).await;
            }
        },
    )
    .await
}

/// `dumpCore()`: `/var/xen/dump/<name>/<stamp>-<name>.<domid>.core`.
async fn dump_core(sim: &Sim, vm: VmRef) {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    sim.call(Probe::XendDumpCore, domid, Vec::new, async move {
        let (name, mem) = {
            let x = s.xend.borrow();
            (x.vm(vm).cfg.name.clone(), x.vm(vm).cfg.memory)
        };
        let stamp = format_dump_stamp(s.wall_now() as i64);
        let file = format!("/var/xen/dump/{name}/{stamp}-{name}.{domid}.core");
        write_vm(&s, vm, "xend/dumpcore_in_progress", "True").await;
        // xc.domain_dumpcore writes the guest's memory (~400 MB/s).
        blocking(&s, || s.sleep(SimDuration::millis(mem * 1000 / 400))).await;
        s.xend.borrow_mut().dumps.push(file);
        let vp = s.xend.borrow().vm(vm).vmpath.clone();
        remove(&s, join(&vp, "xend/dumpcore_in_progress")).await;
    })
    .await
}

/// `_restart(rename)`.
pub async fn restart(sim: &Sim, vm: VmRef, rename: bool) {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    sim.call(Probe::XendRestart, domid, move || vec![Value::Bool(rename)], async move {
        let vp = s.xend.borrow().vm(vm).vmpath.clone();
        if read(&s, join(&vp, "xend/restart_in_progress")).await.is_some() {
            log(&s, Level::Error, L::RestartLoopLog, format_args!("Xend failed during restart of domain {domid}.  Refusing to restart to avoid loops."));
            s.at(L::RestartLoopDestroy as u16);
            destroy(&s, vm).await;
            return;
        }
        write_vm(&s, vm, "xend/restart_in_progress", "True").await;
        let (elapse, min, name) = {
            let x = s.xend.borrow();
            (s.wall_now() - x.vm(vm).start_time, x.opts.minimum_restart_time, x.vm(vm).cfg.name.clone())
        };
        if elapse < min {
            log(
                &s,
                Level::Error,
                L::RestartFastLog,
                format_args!("VM {name} restarting too fast (Elapsed time: {elapse:.6} seconds). Refusing to restart to avoid loops."),
            );
            s.at(L::RestartFastDestroy as u16);
            destroy(&s, vm).await;
            return;
        }
        let restart_count: u32 = read(&s, join(&vp, "xend/restart_count")).await.and_then(|v| v.parse().ok()).unwrap_or(0);
        let new_cfg = if rename {
            s.at(L::RestartPreserve as u16);
            preserve_for_restart(&s, vm).await
        } else {
            unwatch_vm(&s, vm).await;
            s.at(L::RestartDestroy as u16);
            destroy(&s, vm).await;
            s.xend.borrow().vm(vm).cfg.clone()
        };
        let mut cfg = new_cfg;
        cfg.domid = None;
        match super::create::create_vm(&s, cfg).await {
            Ok(new_vm) => {
                write_vm(&s, new_vm, "xend/restart_count", &(restart_count + 1).to_string()).await;
                super::devices::wait_for_devices(&s, new_vm).await;
                super::create::unpause(&s, new_vm).await;
                let nvp = s.xend.borrow().vm(new_vm).vmpath.clone();
                remove(&s, join(&nvp, "xend/restart_in_progress")).await;
            }
            Err(e) => {
                log(&s, Level::Error, L::RestartFailedLog, format_args!("Failed to restart domain {domid}.\nTraceback (most recent call last):\nVmError: {e}"));
                remove(&s, join(&vp, "xend/restart_in_progress")).await;
            }
        }
    })
    .await
}

/// `_preserve()`: keep the dead domain; later refreshes leave it alone.
pub async fn preserve(sim: &Sim, vm: VmRef) {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    sim.call(Probe::XendPreserve, domid, Vec::new, async move {
        let name = s.xend.borrow().vm(vm).cfg.name.clone();
        log(
            &s,
            Level::Info,
            L::PreserveLog,
            format_args!("Preserving dead domain {name} ({domid})."),
        );
        unwatch_vm(&s, vm).await;
        store_dom(&s, vm, "xend/shutdown_completed", "True").await;
        state_set(&s, vm, "halted");
    })
    .await
}

/// `_preserveForRestart()`: rename the dead domain `Domain-<uuid>`, release
/// its devices, keep it; return the config for the new one.
async fn preserve_for_restart(sim: &Sim, vm: VmRef) -> super::VmConfig {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    let out = std::rc::Rc::new(std::cell::RefCell::new(None));
    let o2 = out.clone();
    sim.call(Probe::XendPreserveForRestart, domid, Vec::new, async move {
        let new_uuid = super::create::new_uuid(&s);
        let new_name = format!("Domain-{new_uuid}");
        let (name, uuid, cfg) = {
            let x = s.xend.borrow();
            (
                x.vm(vm).cfg.name.clone(),
                x.vm(vm).cfg.uuid,
                x.vm(vm).cfg.clone(),
            )
        };
        log(
            &s,
            Level::Info,
            L::RenameLog,
            format_args!(
                "Renaming dead domain {name} ({domid}, {uuid}) to {new_name} ({new_uuid})."
            ),
        );
        unwatch_vm(&s, vm).await;
        s.at(L::RenameRelease as u16);
        release_devices(&s, vm).await;
        let vp = s.xend.borrow().vm(vm).vmpath.clone();
        remove(&s, &vp).await;
        {
            let mut x = s.xend.borrow_mut();
            x.rename(vm, new_name.clone());
            let v = x.vm_mut(vm);
            v.cfg.uuid = new_uuid;
            v.vmpath = format!("/vm/{new_uuid}");
        }
        super::create::store_vm_details(&s, vm, false).await;
        preserve(&s, vm).await;
        *o2.borrow_mut() = Some(cfg);
    })
    .await;
    let cfg = out.borrow_mut().take();
    cfg.unwrap_or_else(|| sim.xend.borrow().vm(vm).cfg.clone())
}
