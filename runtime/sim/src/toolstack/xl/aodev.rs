//! libxl's device operations (`libxl__ao_device`) and their groups
//! (`libxl__multidev`, libxl_device.c:427-515): the state each device's
//! callbacks carry from one event to the next, and the group's callback
//! when the last device is done.

use crate::Sim;

use super::event;
use super::lines::L;
use super::Device;

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

pub(super) fn aodev(sim: &Sim, pid: u32, a: usize) -> Option<Aodev> {
    sim.xl
        .borrow()
        .proc(pid)
        .and_then(|p| p.lx.aodevs.get(a).cloned())
}

pub(super) fn with_aodev<R>(
    sim: &Sim,
    pid: u32,
    a: usize,
    f: impl FnOnce(&mut Aodev) -> R,
) -> Option<R> {
    sim.xl
        .borrow_mut()
        .proc_mut(pid)
        .and_then(|p| p.lx.aodevs.get_mut(a))
        .map(f)
}

pub(super) fn backend_of(a: &Aodev) -> String {
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
pub(super) async fn multidev_one_callback(sim: &Sim, pid: u32, a: usize) {
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
