//! `xswatch` and the single "Watcher" thread that runs every callback
//! (X tools/python/xen/xend/xenstore/xswatch.py): a callback returning a
//! false value is unregistered; exceptions are swallowed; an event whose
//! token was just unregistered is dropped by the binding.

use std::rc::Rc;

use crate::xenstore::Req;
use crate::Sim;

use super::lines::ThreadKind;
use super::python::{py_enter, py_leave, start_thread, xs_call};
use super::{domain, info, VmRef};

/// What an xswatch calls.
#[derive(Clone, Debug)]
pub enum WatchCb {
    /// `XendDomain._on_domains_changed` (`@releaseDomain`, `@introduceDomain`).
    DomainsChanged,
    /// `XendDomainInfo._storeChanged` (`/vm/<uuid>`).
    StoreChanged(VmRef),
    /// `XendDomainInfo._handleShutdownWatch`.
    Shutdown(VmRef),
    /// ovm-4.4.4's `handleHideDevicesWatch`.
    HideDevices(VmRef),
    /// `hotplugStatusCallback` of a device wait.
    HotplugStatus(super::python::EventId, Rc<std::cell::Cell<u8>>),
}

/// Registers a watch: `xs.watch(path, self)` with the object's address as token.
pub async fn xswatch(sim: &Sim, path: &str, cb: WatchCb) -> Rc<str> {
    let path: Rc<str> = path.into();
    let token: Rc<str> = {
        let mut x = sim.xend.borrow_mut();
        x.next_token += 0x90;
        let t: Rc<str> = itoa::Buffer::new().format(x.next_token).into();
        x.watches.insert(t.clone(), (path.clone(), cb));
        t
    };
    let _ = xs_call(sim, None, Req::Watch(path, token.clone())).await;
    token
}

/// `xswatch.unwatch()`.
pub async fn unwatch(sim: &Sim, path: &str, token: &Rc<str>) {
    sim.xend.borrow_mut().watches.remove(token);
    let _ = xs_call(sim, None, Req::Unwatch(path.to_string(), token.to_string())).await;
}

/// Starts the Watcher thread (`watchStart`).
pub fn start_watcher(sim: &Sim) {
    let s = sim.clone();
    let t = start_thread(
        sim,
        ThreadKind::Watcher,
        "xswatch.watchMain",
        move || async move { watch_main(s).await },
    );
    let ctx = sim.exec.task_ctx(t);
    sim.xend.borrow_mut().watcher_ctx = ctx;
}

async fn watch_main(sim: Sim) {
    let conn = sim.xend.borrow().conn;
    let ctx = sim.current_ctx();
    loop {
        // xs.read_watch(): blocks without the GIL.
        py_leave(&sim);
        let ev = loop {
            if let Some(ev) = sim.xs.borrow_mut().next_event(conn, sim.now()) {
                break ev;
            }
            let due = sim.xs.borrow().next_event_time(conn);
            match due {
                Some(t) => sim.sleep_until(t).await,
                None => sim.park(|t| sim.xs.borrow_mut().set_waiter(conn, t)).await,
            }
        };
        py_enter(&sim).await;
        let entry = sim.xend.borrow().watches.get(&ev.token).cloned();
        let Some((wpath, cb)) = entry else { continue };
        sim.adopt(ctx, ev.hop);
        // The callbacks share the event's path rather than each copying it.
        let path = ev.path.clone();
        let keep = match cb {
            WatchCb::DomainsChanged => domain::on_domains_changed(&sim, path).await,
            WatchCb::StoreChanged(vm) => info::store_changed(&sim, vm, path).await,
            WatchCb::Shutdown(vm) => info::handle_shutdown_watch(&sim, vm, path).await,
            WatchCb::HideDevices(vm) => info::handle_hide_devices_watch(&sim, vm, path).await,
            WatchCb::HotplugStatus(ev, status) => {
                super::devices::hotplug_status_callback(&sim, path, ev, status).await
            }
        };
        if !keep {
            unwatch(&sim, &wpath, &ev.token).await;
        }
    }
}
