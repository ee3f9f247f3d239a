//! dom0's PV backend bus (Linux drivers/xen/xenbus/xenbus_probe_backend.c,
//! netback's and blkback's `frontend_changed`): a device is probed when xend
//! writes its backend directory, follows its frontend's state, and is
//! unregistered — raising udev's `remove` — when the frontend vanishes or
//! closes while offline.

use crate::probe::Probe;
use crate::value::Value;
use crate::xenstore::join;
use crate::xenstore::{xs_request, Req, Resp};
use crate::Sim;

use super::hotplug::{queue_uevent, Uevent};
use super::Backend;

/// The token of the kernel's watch on `backend`.
pub const BACKEND_TOKEN: &str = "backend";
const OTHEREND: &str = "otherend:";
const BACKEND_ROOT: &str = "/local/domain/0/backend/";

/// dom0's xenwatch thread for the backend bus.
pub async fn kernel_xenwatch(sim: Sim) {
    let (conn, ctx) = {
        let d = sim.dom0.borrow();
        (d.kernel_conn, d.kernel_ctx)
    };
    loop {
        let ev = sim.xs.borrow_mut().next_event(conn, sim.now());
        let Some(ev) = ev else {
            let due = sim.xs.borrow().next_event_time(conn);
            match due {
                Some(t) => sim.sleep_until(t).await,
                None => sim.park(|t| sim.xs.borrow_mut().set_waiter(conn, t)).await,
            }
            continue;
        };
        sim.adopt(ctx, ev.hop);
        // Most events on the backend tree are for nodes of devices already
        // probed: the path is only looked at, and copied where kept.
        if &*ev.token == BACKEND_TOKEN {
            xenbus_dev_changed(&sim, &ev.path).await;
        } else if let Some(be) = ev.token.strip_prefix(OTHEREND) {
            frontend_changed(&sim, be).await;
        }
    }
}

/// The class and domain of the device `<class>/<domid>/<devid>` a backend
/// watch path is under, and that part of the path (`vif/8/0`).
fn device_of(path: &str) -> Option<(&str, u32, &str)> {
    let rest = match path.strip_prefix(BACKEND_ROOT) {
        Some(r) => r,
        None if !path.starts_with('/') => path.strip_prefix("backend/")?,
        None => return None,
    };
    let mut it = crate::xenstore::components(rest);
    let (class, domid, devid) = (it.next()?, it.next()?, it.next()?);
    let len = class.len() + domid.len() + devid.len() + 2;
    Some((class, domid.parse().ok()?, &rest[..len]))
}

async fn xenbus_dev_changed(sim: &Sim, path: &str) {
    let Some((class, domid, device)) = device_of(path) else {
        return;
    };
    // Only netback and blkback live in dom0's kernel; vfb, vkbd and console
    // backends are qemu-dm's.
    let class = match class {
        "vif" => "vif",
        "vbd" => "vbd",
        _ => return,
    };
    // The event's path cut after the device (xenbus_dev_changed's `root`,
    // `kasprintf("%.*s", rootlen, node)`), absolute.
    let root = [BACKEND_ROOT, device].concat();
    let known = sim.dom0.borrow().backends.contains_key(&root);
    let exists = sim.xs.borrow().exists_raw(&root);
    if known && !exists {
        let s = sim.clone();
        let shown = path.to_string();
        sim.call(
            Probe::Dom0XenbusDevChanged,
            domid,
            move || vec![Value::str(&shown)],
            async move {
                device_unregister(&s, root).await;
            },
        )
        .await;
        return;
    }
    if known || !exists {
        return;
    }
    // xenbus_probe_node: "Device is not new, so ignore it. This can happen
    // if a device is going away after switching to Closed."
    if sim.xs.borrow().peek(&join(&root, "state")).as_deref() != Some("1") {
        return;
    }
    let s = sim.clone();
    let shown = path.to_string();
    sim.call(
        Probe::Dom0XenbusDevChanged,
        domid,
        move || vec![Value::str(&shown)],
        async move {
            backend_probe(&s, root, class, domid).await;
        },
    )
    .await
}

async fn backend_probe(sim: &Sim, root: String, class: &'static str, domid: u32) {
    let s = sim.clone();
    let shown = root.clone();
    sim.call(
        Probe::Dom0BackendProbe,
        domid,
        move || vec![Value::str(&shown)],
        async move {
            let conn = s.dom0.borrow().kernel_conn;
            let frontend =
                match xs_request(&s, conn, None, Req::Read(join(&root, "frontend"))).await {
                    Ok(Resp::Value(v)) => v,
                    _ => return,
                };
            s.dom0.borrow_mut().backends.insert(
                root.clone(),
                Backend {
                    class,
                    domid,
                    frontend: frontend.clone(),
                    state: 2,
                },
            );
            let _ = xs_request(&s, conn, None, Req::Write(join(&root, "state"), "2".into())).await;
            let _ = xs_request(
                &s,
                conn,
                None,
                Req::Watch(
                    join(&frontend, "state").into(),
                    [OTHEREND, &root].concat().into(),
                ),
            )
            .await;
            // netback raises "online" for vif-setup; blkback's "add" runs block.
            let action = if class == "vif" { "online" } else { "add" };
            queue_uevent(
                &s,
                Uevent {
                    action,
                    backend: root.clone(),
                    class,
                    hop: None,
                },
            );
        },
    )
    .await
}

/// A backend's watch on its frontend's state fired.
async fn frontend_changed(sim: &Sim, root: &str) {
    let Some((domid, be_state, fstate)) = sim
        .dom0
        .borrow()
        .backends
        .get(root)
        .map(|b| (b.domid, b.state, join(&b.frontend, "state")))
    else {
        return;
    };
    let conn = sim.dom0.borrow().kernel_conn;
    let state: u8 = match xs_request(sim, conn, None, Req::Read(fstate)).await {
        Ok(Resp::Value(v)) => v.parse().unwrap_or(0),
        _ => 0,
    };
    let s = sim.clone();
    let root = root.to_string();
    let shown = root.clone();
    sim.call(
        Probe::Dom0FrontendChanged,
        domid,
        move || vec![Value::str(&shown), Value::Int(state as i64)],
        async move {
            let set = |st: u8| {
                let (s, root) = (s.clone(), root.clone());
                async move {
                    if let Some(b) = s.dom0.borrow_mut().backends.get_mut(&root) {
                        b.state = st;
                    }
                    let _ = xs_request(&s, conn, None, Req::Write(join(&root, "state"), st.to_string())).await;
                }
            };
            match state {
                3 | 4 if be_state != 4 => set(4).await,
                5 if be_state < 5 => set(5).await,
                6 => {
                    set(6).await;
                    let online = matches!(xs_request(&s, conn, None, Req::Read(join(&root, "online"))).await, Ok(Resp::Value(v)) if v == "1");
                    if !online {
                        device_unregister(&s, root.clone()).await;
                    }
                }
                0 => {
                    // The frontend is gone (its domain's path was removed).
                    set(6).await;
                    device_unregister(&s, root.clone()).await;
                }
                _ => {}
            }
        },
    )
    .await
}

/// `device_unregister`: netback also raises "offline" and removes its
/// hotplug-status; then "remove" for xen-hotplug-cleanup.
async fn device_unregister(sim: &Sim, root: String) {
    let Some(be) = sim.dom0.borrow_mut().backends.remove(&root) else {
        return;
    };
    let s = sim.clone();
    let shown = root.clone();
    sim.call(
        Probe::Dom0DeviceUnregister,
        be.domid,
        move || vec![Value::str(&shown)],
        async move {
            let conn = s.dom0.borrow().kernel_conn;
            let _ = xs_request(
                &s,
                conn,
                None,
                Req::Unwatch(join(&be.frontend, "state"), [OTHEREND, &root].concat()),
            )
            .await;
            if be.class == "vif" {
                queue_uevent(
                    &s,
                    Uevent {
                        action: "offline",
                        backend: root.clone(),
                        class: be.class,
                        hop: None,
                    },
                );
                if s.xs.borrow().exists_raw(&root) {
                    let _ =
                        xs_request(&s, conn, None, Req::Rm(join(&root, "hotplug-status"))).await;
                }
            }
            queue_uevent(
                &s,
                Uevent {
                    action: "remove",
                    backend: root.clone(),
                    class: be.class,
                    hop: None,
                },
            );
        },
    )
    .await
}
