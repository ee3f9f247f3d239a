//! image.py's device-model handling (X xend/image.py:395-491, 551-671):
//! spawning qemu-dm, SIGHUP and reaping it, and the sentinel thread that
//! notices when it ends.

use crate::hypervisor::{self, reason, SchedOp};
use crate::probe::Probe;
use crate::qemu_dm;
use crate::time::SimDuration;
use crate::value::Value;
use crate::xenstore::join;
use crate::Sim;

use super::lines::{ThreadKind, L};
use super::python::{acquire, blocking, py_sleep, release, remove, start_thread, write};
use super::{domid_of, log, Image, Level, VmRef};

/// `createDeviceModel`: fork/exec qemu-dm with its log file, the sentinel
/// FIFO, `image/device-model-*` and the sentinel thread.
pub async fn create_device_model(sim: &Sim, vm: VmRef) {
    let (domid, name, uuid, disks, platform_pci) = {
        let x = sim.xend.borrow();
        let v = x.vm(vm);
        let disks = v
            .cfg
            .devices
            .iter()
            .filter(|d| &*d.class == "vbd")
            .map(|d| {
                format!(
                    "/OVS/Repositories/0004fb0000030000/VirtualDisks/{}.img",
                    d.devid
                )
            })
            .collect();
        (
            v.domid.unwrap_or(0),
            v.cfg.name.clone(),
            v.cfg.uuid,
            disks,
            v.cfg.platform_pci,
        )
    };
    let pid = {
        let mut x = sim.xend.borrow_mut();
        5000 + x.rng.below(25_000) as u32
    };
    // The args list as Python prints it.
    log(
        sim,
        Level::Info,
        L::SpawningDm,
        format_args!(
            "spawning device models: /usr/lib/xen/bin/qemu-dm ['/usr/lib/xen/bin/qemu-dm', '-d', '{domid}', '-domain-name', '{name}', '-videoram', '4', '-k', 'en-us', '-vnc', '127.0.0.1:0', '-vncunused', '-vcpus', '1', '-vcpu_avail', '0x1', '-boot', 'c', '-serial', 'pty', '-acpi', '-net', 'none', '-M', 'xenfv']"
        ),
    );
    qemu_dm::start(
        sim,
        &qemu_dm::QemuSetup {
            domid,
            name: name.clone(),
            uuid,
            disks,
            platform_pci,
            pid,
        },
    );
    log(
        sim,
        Level::Info,
        L::DmPid,
        format_args!("device model pid: {pid}"),
    );
    let fifo = format!("/var/run/xend/dm-{domid}-{}.fifo", sim.wall_now() as i64);
    let lock = sim.xend.borrow_mut().interp.new_lock(false);
    sim.xend.borrow_mut().vm_mut(vm).image = Some(Image {
        pid: Some(pid),
        sentinel_lock: lock,
        fifo: fifo.clone(),
    });
    let dp = crate::xenstore::local_domain(domid);
    write(sim, join(&dp, "image/device-model-fifo"), &fifo).await;
    write(sim, join(&dp, "image/device-model-pid"), pid.to_string()).await;
    let state = [
        "/local/domain/0/device-model/",
        itoa::Buffer::new().format(domid),
        "/state",
    ]
    .concat();
    write(sim, &state, "running").await;
    let s = sim.clone();
    start_thread(
        sim,
        ThreadKind::Raw,
        "_sentinel_watch",
        move || async move { sentinel_watch(&s, vm, domid).await },
    );
}

/// `_sentinel_watch`: blocks reading the FIFO qemu-dm holds open; when it
/// ends, either xend killed it (pid cleared: "device model terminated") or
/// it died on its own (a device model failure: the domain is crashed).
async fn sentinel_watch(sim: &Sim, vm: VmRef, domid: u32) {
    let s = sim.clone();
    sim.call(Probe::XendSentinelWatch, domid, Vec::new, async move {
        log(
            &s,
            Level::Info,
            L::SentinelWaiting,
            "waiting for sentinel_fifo",
        );
        s.site().await;
        // self.sentinel_fifo.read(1), without the GIL.
        blocking(&s, || async {
            loop {
                let alive = s.qemu.borrow().by_dom.get(&domid).is_some_and(|q| q.alive);
                if !alive {
                    break;
                }
                let s2 = s.clone();
                s.park(move |t| {
                    if let Some(q) = s2.qemu.borrow_mut().by_dom.get_mut(&domid) {
                        q.exit_waiters.push(t);
                    }
                })
                .await;
            }
        })
        .await;
        // Boxed: the thread blocks on the FIFO all of qemu-dm's life, and
        // need not keep the room of what it does when the FIFO closes.
        Box::pin(sentinel_fifo_closed(&s, vm, domid)).await;
    })
    .await
}

/// What `_sentinel_watch` does once the FIFO read returns.
async fn sentinel_fifo_closed(sim: &Sim, vm: VmRef, domid: u32) {
    let s = sim.clone();
    let Some(lock) = s
        .xend
        .borrow()
        .vm(vm)
        .image
        .as_ref()
        .map(|i| i.sentinel_lock)
    else {
        return;
    };
    super::python::checkpoint(&s).await;
    acquire(&s, lock).await;
    let pid = s.xend.borrow().vm(vm).image.as_ref().and_then(|i| i.pid);
    match pid {
        Some(pid) => {
            let status = s
                .qemu
                .borrow()
                .by_dom
                .get(&domid)
                .and_then(|q| q.exit_status.clone())
                .unwrap_or_else(|| "malfunctioning or died ?".into());
            let name = s.xend.borrow().vm(vm).cfg.name.clone();
            let msg = format!(
                "device model failure: pid {pid}: {status}; see /var/log/xen/qemu-dm-{name}.log "
            );
            dm_failed(&s, vm, domid, msg).await;
            if let Some(i) = s.xend.borrow_mut().vm_mut(vm).image.as_mut() {
                i.pid = None;
            }
        }
        None => {
            let name = s.xend.borrow().vm(vm).cfg.name.clone();
            log(
                &s,
                Level::Info,
                L::SentinelTerminated,
                format_args!("{name} device model terminated"),
            );
        }
    }
    release(&s, lock);
}

/// `_dmfailed`: WARNING, then crash the domain.
async fn dm_failed(sim: &Sim, vm: VmRef, domid: u32, message: String) {
    let s = sim.clone();
    let shown = message.clone();
    sim.call(
        Probe::XendDmFailed,
        domid,
        move || vec![Value::str(&shown)],
        async move {
            let name = s.xend.borrow().vm(vm).cfg.name.clone();
            log(
                &s,
                Level::Warning,
                L::DmFailedLog,
                format_args!("domain {name}: {message}"),
            );
            hypervisor::do_sched_op(
                &s,
                0,
                SchedOp::RemoteShutdown {
                    domid,
                    reason: reason::CRASH as u32,
                },
            )
            .await;
        },
    )
    .await
}

/// `destroyDeviceModel`: under sentinel_lock, SIGHUP, then reap every 100 ms
/// for 10 s, else SIGKILL; the pid is cleared before the lock is released.
pub async fn destroy_device_model(sim: &Sim, vm: VmRef) {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    sim.call(Probe::XendDestroyDeviceModel, domid, Vec::new, async move {
        let Some(img) = s.xend.borrow().vm(vm).image.clone() else {
            return;
        };
        acquire(&s, img.sentinel_lock).await;
        if let Some(pid) = img.pid {
            s.at(L::DmSighup as u16);
            qemu_dm::signal(&s, domid, 1);
            let mut reaped = false;
            for _ in 0..100 {
                // os.waitpid(pid, os.WNOHANG)
                let exited = s.qemu.borrow().by_dom.get(&domid).is_none_or(|q| !q.alive);
                if exited {
                    reaped = true;
                    break;
                }
                py_sleep(&s, SimDuration::millis(100)).await;
            }
            if !reaped {
                log(
                    &s,
                    Level::Warning,
                    L::DmKillWarn,
                    format_args!(
                        "DeviceModel {pid} took more than 10s to terminate: sending SIGKILL"
                    ),
                );
                qemu_dm::signal(&s, domid, 9);
                blocking(&s, || s.sleep(SimDuration::millis(1))).await;
            }
        }
        if let Some(i) = s.xend.borrow_mut().vm_mut(vm).image.as_mut() {
            i.pid = None;
        }
        release(&s, img.sentinel_lock);
        remove(&s, format!("/local/domain/0/device-model/{domid}")).await;
        // os.unlink of the tap FIFOs and the sentinel FIFO.
        blocking(&s, || s.sleep(SimDuration::micros(40))).await;
    })
    .await
}
