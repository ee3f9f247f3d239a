//! xenbus in the guest: the xenwatch thread, manage.c's `shutdown_handler`
//! and `sysrq_handler` (Linux 4.4.1 drivers/xen/manage.c:209-298), and the
//! frontends' side of closing (xenbus_probe.c:197-205, 277-297).

use std::rc::Rc;

use crate::probe::Probe;
use crate::time::SimDuration;
use crate::value::Value;
use crate::xenstore::join;
use crate::xenstore::{xs_request, ConnId, Req, Resp, XsErr};
use crate::Sim;

use super::{freeze_unless_runnable, level, printk, ShuttingDown, SystemState};

/// The token of the `control/shutdown` watch.
pub const SHUTDOWN_TOKEN: &str = "shutdown_watch";
/// The token of the `control/sysrq` watch.
pub const SYSRQ_TOKEN: &str = "sysrq_watch";
/// Prefix of a frontend's watch on its backend's state.
pub const OTHEREND_PREFIX: &str = "otherend:";

fn conn_of(sim: &Sim, domid: u32) -> Option<ConnId> {
    sim.guests.borrow().get(domid).and_then(|g| g.conn)
}

/// The xenwatch kernel thread: runs each fired watch's callback in turn.
pub async fn xenwatch_thread(sim: Sim, domid: u32) {
    let Some(conn) = conn_of(&sim, domid) else {
        return;
    };
    let ctx = sim.current_ctx();
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
        freeze_unless_runnable(&sim, domid).await;
        sim.adopt(ctx, ev.hop);
        let s = sim.clone();
        // The handlers share the event's path and token, not copies.
        let (path, token) = (ev.path, ev.token);
        // Boxed: the thread waits for its next event most of its life, and
        // need not keep the room its handlers take while it does.
        Box::pin(
            sim.call(Probe::GuestXenwatchThread, domid, Vec::new, async move {
                if &*token == SHUTDOWN_TOKEN {
                    shutdown_handler(&s, domid, path).await;
                } else if &*token == SYSRQ_TOKEN {
                    sysrq_handler(&s, domid, path).await;
                } else if let Some(node) = token.strip_prefix(OTHEREND_PREFIX) {
                    backend_changed(&s, domid, node.to_string(), path).await;
                }
            }),
        )
        .await;
    }
}

/// manage.c `shutdown_handler`.
pub async fn shutdown_handler(sim: &Sim, domid: u32, path: Rc<str>) {
    let s = sim.clone();
    sim.call(
        Probe::GuestShutdownHandler,
        domid,
        move || vec![Value::str(&path)],
        async move {
            let Some(conn) = conn_of(&s, domid) else {
                return;
            };
            let busy = s
                .guests
                .borrow()
                .get(domid)
                .is_none_or(|g| g.shutting_down != ShuttingDown::Invalid);
            if busy {
                return;
            }
            let (cmd, known) = loop {
                let Ok(Resp::Tx(tx)) = xs_request(&s, conn, None, Req::TxStart).await else {
                    return;
                };
                let read =
                    xs_request(&s, conn, Some(tx), Req::Read("control/shutdown".into())).await;
                // XENBUS_IS_ERR_READ: an error or an empty string.
                let cmd = match read {
                    Ok(Resp::Value(v)) if !v.is_empty() => v,
                    _ => {
                        let _ = xs_request(&s, conn, Some(tx), Req::TxEnd(false)).await;
                        return;
                    }
                };
                let known = matches!(cmd.as_str(), "poweroff" | "halt" | "reboot" | "suspend");
                // Only acknowledge commands we are prepared to handle.
                if known {
                    let _ = xs_request(
                        &s,
                        conn,
                        Some(tx),
                        Req::Write("control/shutdown".into(), String::new()),
                    )
                    .await;
                }
                match xs_request(&s, conn, Some(tx), Req::TxEnd(true)).await {
                    Err(XsErr::EAGAIN) => continue,
                    _ => break (cmd, known),
                }
            };
            if !known {
                printk(
                    &s,
                    domid,
                    level::INFO,
                    format_args!("xen:manage: Ignoring shutdown request: {cmd}"),
                );
                if let Some(g) = s.guests.borrow_mut().get_mut(domid) {
                    g.shutting_down = ShuttingDown::Invalid;
                }
                return;
            }
            match cmd.as_str() {
                "poweroff" | "halt" => super::reboot::do_poweroff(&s, domid).await,
                "reboot" => super::reboot::do_reboot(&s, domid).await,
                _ => super::reboot::do_suspend(&s, domid).await,
            }
        },
    )
    .await
}

/// manage.c `sysrq_handler`: read the key, acknowledge with "", then handle it.
pub async fn sysrq_handler(sim: &Sim, domid: u32, path: Rc<str>) {
    let s = sim.clone();
    sim.call(
        Probe::GuestSysrqHandler,
        domid,
        move || vec![Value::str(&path)],
        async move {
            let Some(conn) = conn_of(&s, domid) else {
                return;
            };
            let key = loop {
                let Ok(Resp::Tx(tx)) = xs_request(&s, conn, None, Req::TxStart).await else {
                    return;
                };
                let key =
                    match xs_request(&s, conn, Some(tx), Req::Read("control/sysrq".into())).await {
                        Ok(Resp::Value(v)) => v.chars().next(),
                        _ => None,
                    };
                if key.is_some() {
                    let _ = xs_request(
                        &s,
                        conn,
                        Some(tx),
                        Req::Write("control/sysrq".into(), String::new()),
                    )
                    .await;
                }
                match xs_request(&s, conn, Some(tx), Req::TxEnd(true)).await {
                    Err(XsErr::EAGAIN) => continue,
                    _ => break key,
                }
            };
            if let Some(k) = key {
                super::reboot::handle_sysrq(&s, domid, k).await;
            }
        },
    )
    .await
}

/// A frontend's watch on its backend's `state` fired.
pub async fn backend_changed(sim: &Sim, domid: u32, nodename: String, path: Rc<str>) {
    let s = sim.clone();
    sim.call(
        Probe::GuestBackendChanged,
        domid,
        move || vec![Value::str(&path)],
        async move {
            let Some(conn) = conn_of(&s, domid) else {
                return;
            };
            let backend_state = match s
                .guests
                .borrow()
                .get(domid)
                .and_then(|g| g.frontends.get(&nodename))
            {
                Some(f) => join(&f.backend, "state"),
                None => return,
            };
            let state: u8 = match xs_request(&s, conn, None, Req::Read(backend_state)).await {
                Ok(Resp::Value(v)) => v.parse().unwrap_or(0),
                _ => 0,
            };
            let (sys, mine) = {
                let g = s.guests.borrow();
                let Some(g) = g.get(domid) else { return };
                (
                    g.system_state,
                    g.frontends.get(&nodename).map_or(0, |f| f.state),
                )
            };
            // Ignore transitions during shutdown, except to finish a close.
            if sys > SystemState::Running {
                if state == 5 {
                    let w = s
                        .guests
                        .borrow_mut()
                        .get_mut(domid)
                        .and_then(|g| g.frontends.get_mut(&nodename))
                        .and_then(|f| {
                            f.down_done = true;
                            f.closing_waiter.take()
                        });
                    if let Some(t) = w {
                        s.wake(t);
                    }
                }
                return;
            }
            let next = match (state, mine) {
                (4, 3) => Some(4),
                (5, 4) | (5, 3) => Some(5),
                (6, 5) => Some(6),
                _ => None,
            };
            if let Some(n) = next {
                set_frontend_state(&s, domid, conn, &nodename, n).await;
            }
        },
    )
    .await
}

async fn set_frontend_state(sim: &Sim, domid: u32, conn: ConnId, nodename: &str, state: u8) {
    if let Some(f) = sim
        .guests
        .borrow_mut()
        .get_mut(domid)
        .and_then(|g| g.frontends.get_mut(nodename))
    {
        f.state = state;
    }
    let _ = xs_request(
        sim,
        conn,
        None,
        Req::Write(join(nodename, "state"), state.to_string()),
    )
    .await;
}

fn state_name(s: u8) -> &'static str {
    match s {
        1 => "Initialising",
        2 => "InitWait",
        3 => "Initialised",
        4 => "Connected",
        5 => "Closing",
        6 => "Closed",
        7 => "Reconfiguring",
        8 => "Reconfigured",
        _ => "Unknown",
    }
}

/// `xenbus_dev_shutdown`: a connected frontend switches to Closing and waits
/// up to 5 s for its backend to follow.
pub async fn xenbus_dev_shutdown(sim: &Sim, domid: u32, nodename: String) {
    let s = sim.clone();
    let shown = nodename.clone();
    sim.call(
        Probe::GuestXenbusDevShutdown,
        domid,
        move || vec![Value::str(&shown)],
        async move {
            let Some(conn) = conn_of(&s, domid) else {
                return;
            };
            let state = s
                .guests
                .borrow()
                .get(domid)
                .and_then(|g| g.frontends.get(&nodename))
                .map_or(0, |f| f.state);
            if state != 4 {
                printk(
                    &s,
                    domid,
                    level::INFO,
                    format_args!(
                        "xenbus: xenbus_dev_shutdown: {nodename}: {} != Connected, skipping",
                        state_name(state)
                    ),
                );
                return;
            }
            // init_completion(&dev->down), then Closing, then
            // wait_for_completion_timeout(&dev->down, 5 * HZ).
            if let Some(f) = s
                .guests
                .borrow_mut()
                .get_mut(domid)
                .and_then(|g| g.frontends.get_mut(&nodename))
            {
                f.down_done = false;
            }
            set_frontend_state(&s, domid, conn, &nodename, 5).await;
            let timed_out = std::rc::Rc::new(std::cell::Cell::new(false));
            let (s2, node2, flag) = (s.clone(), nodename.clone(), timed_out.clone());
            s.schedule(SimDuration::secs(5), move |_| {
                let w = s2
                    .guests
                    .borrow_mut()
                    .get_mut(domid)
                    .and_then(|g| g.frontends.get_mut(&node2))
                    .and_then(|f| {
                        if f.down_done {
                            None
                        } else {
                            flag.set(true);
                            f.closing_waiter.take()
                        }
                    });
                if let Some(t) = w {
                    s2.wake(t);
                }
            });
            loop {
                let done = s
                    .guests
                    .borrow()
                    .get(domid)
                    .and_then(|g| g.frontends.get(&nodename))
                    .is_none_or(|f| f.down_done);
                if done {
                    break;
                }
                if timed_out.get() {
                    printk(
                        &s,
                        domid,
                        level::INFO,
                        format_args!(
                            "xenbus: xenbus_dev_shutdown: {nodename} timeout closing device"
                        ),
                    );
                    break;
                }
                let node3 = nodename.clone();
                let s3 = s.clone();
                s.park(move |t| {
                    if let Some(f) = s3
                        .guests
                        .borrow_mut()
                        .get_mut(domid)
                        .and_then(|g| g.frontends.get_mut(&node3))
                    {
                        f.closing_waiter = Some(t);
                    }
                })
                .await;
            }
        },
    )
    .await
}
