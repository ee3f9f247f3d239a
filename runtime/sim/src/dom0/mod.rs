//! dom0 beyond xend: xenstored's domain handling, the kernel's PV backends
//! (netback, blkback) and udev with Xen's hotplug scripts.
//!
//! - `xenstored.rs` — INTRODUCE, the VIRQ_DOM_EXC handler, `@releaseDomain`;
//! - `backend.rs` — the backend bus: probe, following the frontend, unregister;
//! - `hotplug.rs` — udev, `vif-setup`/`block`, `xen-hotplug-cleanup`.

pub mod backend;
pub mod hotplug;
pub mod xenstored;

use crate::exec::TaskId;
use crate::probe::Layer;
use crate::stack::{CtxId, NO_DOM};
use crate::xenstore::{ConnId, Sink};
use crate::Sim;

/// A kernel backend device in dom0.
#[derive(Clone, Debug)]
pub struct Backend {
    /// Device class: `vif` or `vbd` (dom0's kernel has netback and
    /// blkback; the other backends are qemu-dm's).
    pub class: &'static str,
    /// The frontend's domain.
    pub domid: u32,
    /// Its frontend's path.
    pub frontend: String,
    /// The backend's xenbus state as the driver last set it.
    pub state: u8,
}

/// dom0's state.
pub struct Dom0 {
    /// xenstored's context (its VIRQ handler).
    pub xenstored_ctx: CtxId,
    /// The kernel's xenbus connection (backends).
    pub kernel_conn: ConnId,
    /// The kernel's xenwatch context.
    pub kernel_ctx: CtxId,
    /// The connection xenstore-* commands of hotplug scripts use.
    pub tools_conn: ConnId,
    /// Backend devices by absolute backend path.
    pub backends: std::collections::BTreeMap<String, Backend>,
    /// The hotplug scripts' "block" lock: holder and waiters.
    pub block_lock: Option<TaskId>,
    /// Waiting for the "block" lock.
    pub block_waiters: std::collections::VecDeque<TaskId>,
    /// Next pid for a dom0 process.
    pub next_pid: u32,
    /// udev events waiting to run, and udevd's worker when idle.
    pub udev_queue: std::collections::VecDeque<hotplug::Uevent>,
    /// udevd's worker, parked.
    pub udev_waiter: Option<TaskId>,
}

impl Default for Dom0 {
    fn default() -> Self {
        Dom0 {
            xenstored_ctx: CtxId(0),
            kernel_conn: ConnId(0),
            kernel_ctx: CtxId(0),
            tools_conn: ConnId(0),
            backends: std::collections::BTreeMap::new(),
            block_lock: None,
            block_waiters: Default::default(),
            next_pid: 3000,
            udev_queue: Default::default(),
            udev_waiter: None,
        }
    }
}

/// Brings dom0 up: xenstored (binding VIRQ_DOM_EXC), the kernel's backend
/// bus with its watch on `backend`, udevd.
pub fn boot(sim: &Sim) {
    let xenstored_ctx = sim.new_ctx("xenstored", Layer::Xs, NO_DOM);
    let kernel_ctx = sim.new_ctx("xenwatch (dom0)", Layer::Dom0, 0);
    let (kernel_conn, tools_conn) = {
        let mut xs = sim.xs.borrow_mut();
        let k = xs.connect(0, true, "dom0 kernel", Sink::Queue);
        let t = xs.connect(0, false, "xenstore-* (hotplug)", Sink::Queue);
        (k, t)
    };
    {
        let mut d = sim.dom0.borrow_mut();
        d.xenstored_ctx = xenstored_ctx;
        d.kernel_ctx = kernel_ctx;
        d.kernel_conn = kernel_conn;
        d.tools_conn = tools_conn;
    }
    sim.xen.borrow_mut().virq_dom_exc = Some(std::rc::Rc::new(xenstored::on_virq_dom_exc));
    // dom0's own home in the store.
    for (p, v) in [
        ("/local", ""),
        ("/local/domain", ""),
        ("/local/domain/0", ""),
        ("/local/domain/0/name", "Domain-0"),
        ("/local/domain/0/domid", "0"),
        ("/vm", ""),
    ] {
        let _ = crate::xenstore::perform(
            sim,
            tools_conn,
            None,
            &crate::xenstore::Req::Write(p.into(), v.into()),
        );
    }
    let _ = crate::xenstore::perform(
        sim,
        kernel_conn,
        None,
        &crate::xenstore::Req::Watch("backend".into(), backend::BACKEND_TOKEN.into()),
    );
    sim.spawn(kernel_ctx, backend::kernel_xenwatch(sim.clone()));
    let udev_ctx = sim.new_ctx("udevd", Layer::Dom0, NO_DOM);
    sim.spawn(udev_ctx, hotplug::udevd(sim.clone()));
}

/// Hands out a dom0 pid.
pub fn next_pid(sim: &Sim) -> u32 {
    let mut d = sim.dom0.borrow_mut();
    d.next_pid += 7;
    d.next_pid
}
