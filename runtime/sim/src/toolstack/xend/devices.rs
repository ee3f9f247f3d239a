//! DevController and the device classes (X xend/XendDevices.py:37-56,
//! xend/server/DevController.py).

use crate::xenstore::join;
use std::cell::Cell;
use std::rc::Rc;

use crate::probe::Probe;
use crate::time::SimDuration;
use crate::value::Value;
use crate::Sim;

use super::lines::L;
use super::python::{event_set, event_wait, read, remove, write};
use super::watch::{xswatch, WatchCb};
use super::{domid_of, log, Level, VmRef};

/// `XendDevices.valid_devices()`: the keys of a 13-entry dict literal, in
/// CPython 2's hash order (reference §2.10), not source order.
pub const CLASS_ORDER: [&str; 13] = [
    "tap2", "vif", "vkbd", "ioports", "tap", "vif2", "console", "vscsi", "vbd", "irq", "vfb",
    "pci", "vusb",
];

/// Classes whose controller always forces removal (qemu-dm managed devices,
/// and pci).
pub fn forces(class: &str) -> bool {
    matches!(class, "vfb" | "vkbd" | "console" | "pci")
}

/// Classes whose controller waits for hotplug scripts.
pub fn hotplug(class: &str) -> bool {
    class != "console"
}

/// `convertToDeviceNumber`: `"vif/0"` → 0 (a name like `hda` → its number).
pub fn device_number(devid: &str) -> &str {
    devid.rsplit('/').next().unwrap_or(devid)
}

/// The frontend and backend paths of a device. Put together piece by
/// piece, not with `format!`: they are built for each device on every
/// create and destroy, and the formatter costs several times the copying.
pub fn paths(domid: u32, class: &str, dev: &str) -> (String, String) {
    let mut id = itoa::Buffer::new();
    let id = id.format(domid);
    (
        ["/local/domain/", id, "/device/", class, "/", dev].concat(),
        ["/local/domain/0/backend/", class, "/", id, "/", dev].concat(),
    )
}

/// `DevController.destroyDevice(devid, force)`: online=0, state=Closing;
/// forced classes also remove the backend, frontend and `/vm` device paths
/// (ovm-4.4.4 then waits for them: `Waiting for ... - destroyDevice.`).
///
/// The class is one of `CLASS_ORDER`'s and the device id is shared with
/// the caller's frame: the hook arguments keep them without copies.
pub async fn destroy_device(
    sim: &Sim,
    vm: VmRef,
    class: &'static str,
    devid: Rc<str>,
    force: bool,
) {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    let d2 = devid.clone();
    sim.call(
        Probe::XendDevControllerDestroy,
        domid,
        move || vec![Value::str(class), Value::str(&d2), Value::Bool(force)],
        async move {
            let force = force || forces(class);
            let dev = device_number(&devid);
            let vm_dev = {
                let x = s.xend.borrow();
                [&x.vm(vm).vmpath, "/device/", class, "/", dev].concat()
            };
            // writeBackend: read the backend path from /vm, then write.
            // "Modify online status /before/ updating state (latter is
            // watched by drivers, so this ordering avoids a race)."
            for (node, val) in [("online", "0"), ("state", "5")] {
                match read(&s, join(&vm_dev, "backend")).await {
                    Some(bp) => write(&s, join(&bp, node), val).await,
                    None => return,
                }
            }
            if force {
                let Some(d) = s.xend.borrow().vm(vm).domid else {
                    return;
                };
                let (front, _) = paths(d, class, dev);
                let backpath = read(&s, join(&vm_dev, "backend")).await;
                if let Some(bp) = &backpath {
                    remove(&s, bp).await;
                }
                remove(&s, front).await;
                remove(&s, vm_dev).await;
                if s.profile().is_ovm() {
                    s.at(L::DevCtlWaitDestroy as u16);
                    let backpath = backpath.map(Rc::from).unwrap_or_default();
                    wait_for_device_destroy(&s, vm, class, devid, backpath).await;
                }
            }
        },
    )
    .await
}

/// `waitForDevice_destroy`: logs, then (for hotplug classes) waits up to
/// DEVICE_DESTROY_TIMEOUT for the backend's hotplug-status to vanish.
async fn wait_for_device_destroy(
    sim: &Sim,
    vm: VmRef,
    class: &'static str,
    devid: Rc<str>,
    backpath: Rc<str>,
) {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    let (d2, b2) = (devid.clone(), backpath.clone());
    sim.call(
        Probe::XendWaitForDeviceDestroy,
        domid,
        move || vec![Value::str(&d2), Value::str(&b2)],
        async move {
            log(
                &s,
                Level::Debug,
                L::WaitDestroyLog,
                format_args!("Waiting for {devid} - destroyDevice."),
            );
            s.site().await;
            if !hotplug(class) {
                return;
            }
            // ovm-4.4.4 (choice, docs/fidelity.md): nothing to wait for when the
            // backend it would watch was removed with the device.
            let status_path = join(&backpath, "hotplug-status");
            if backpath.is_empty() || read(&s, &status_path).await.is_none() {
                return;
            }
            let ev = s.xend.borrow_mut().interp.new_event();
            let status = Rc::new(Cell::new(0u8));
            xswatch(&s, &status_path, WatchCb::HotplugStatus(ev, status)).await;
            let timeout = s.xend.borrow().opts.device_destroy_timeout;
            event_wait(&s, ev, timeout).await;
        },
    )
    .await
}

/// `hotplugStatusCallback` (and, once the node is gone, `deviceDestroyCallback`).
pub async fn hotplug_status_callback(
    sim: &Sim,
    path: Rc<str>,
    ev: super::python::EventId,
    status: Rc<Cell<u8>>,
) -> bool {
    log(
        sim,
        Level::Debug,
        L::HotplugCbPath,
        format_args!("hotplugStatusCallback {path}."),
    );
    let v = read(sim, &*path).await;
    let code = match v.as_deref() {
        None => return true,
        Some("error") => 2,
        Some("busy") => 3,
        Some(_) => 1,
    };
    status.set(code);
    log(
        sim,
        Level::Debug,
        L::HotplugCbStatus,
        format_args!("hotplugStatusCallback {code}."),
    );
    event_set(sim, ev);
    false
}

/// `DevController.waitForDevices()` of every class (creation).
pub async fn wait_for_devices(sim: &Sim, vm: VmRef) {
    let (domid, devs) = {
        let x = sim.xend.borrow();
        let v = x.vm(vm);
        (v.domid.unwrap_or(0), v.cfg.devices.clone())
    };
    for class in CLASS_ORDER {
        let of_class: Vec<_> = devs.iter().filter(|d| &*d.class == class).collect();
        if of_class.is_empty() {
            continue;
        }
        log(
            sim,
            Level::Debug,
            L::WaitingForDevices,
            format_args!("Waiting for devices {class}."),
        );
        for d in of_class {
            log(
                sim,
                Level::Debug,
                L::WaitingFor,
                format_args!("Waiting for {}.", d.devid),
            );
            if !hotplug(class) || !matches!(class, "vif" | "vbd") {
                continue;
            }
            let (_, back) = paths(domid, class, &d.devid);
            let ev = sim.xend.borrow_mut().interp.new_event();
            let status = Rc::new(Cell::new(0u8));
            xswatch(
                sim,
                &join(&back, "hotplug-status"),
                WatchCb::HotplugStatus(ev, status),
            )
            .await;
            event_wait(sim, ev, SimDuration::secs(100)).await;
        }
    }
}
