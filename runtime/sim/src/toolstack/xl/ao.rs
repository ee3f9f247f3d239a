//! libxl's asynchronous operations as xl uses them (synchronous: a poller,
//! libxl_event.c:1568-1723), and the process's blocking xenstore calls:
//! one request, a transaction retried on EAGAIN, `libxl__xs_path_cleanup`.

use crate::probe::Probe;
use crate::value::Value;
use crate::xenstore::{xs_request, Req};
use crate::Sim;

use super::event::{alloc, conn_of, eventloop_iteration, with_ctx, Ao};
use super::lines::L;
use super::log::{libxl_log, ptr, Level};

/// `AO_CREATE` at the caller's line: a synchronous AO with a poller.
pub fn ao_create(sim: &Sim, pid: u32, at: L) -> usize {
    let ao = alloc(sim, pid, 0x150);
    let poller = alloc(sim, pid, 0x40);
    libxl_log(
        sim,
        pid,
        Level::Debug,
        at,
        &format!(
            "ao {}: create: how={} callback={} poller={}",
            ptr(ao),
            ptr(0),
            ptr(0),
            ptr(poller)
        ),
    );
    with_ctx(sim, pid, |c| {
        c.aos.push(Ao {
            ptr: ao,
            poller,
            complete: false,
            rc: 0,
        });
        c.aos.len() - 1
    })
    .unwrap_or(0)
}

fn ao(sim: &Sim, pid: u32, id: usize) -> Option<Ao> {
    sim.xl
        .borrow()
        .proc(pid)
        .and_then(|p| p.lx.aos.get(id).cloned())
}

/// `AO_INPROGRESS` at the caller's line: the loop runs until the AO is
/// complete, then it is destroyed; returns its rc.
pub async fn ao_inprogress(sim: &Sim, pid: u32, id: usize, at: L) -> i32 {
    let Some(a) = ao(sim, pid, id) else {
        return -3;
    };
    libxl_log(
        sim,
        pid,
        Level::Debug,
        at,
        &format!(
            "ao {}: inprogress: poller={}, flags=i{}",
            ptr(a.ptr),
            ptr(a.poller),
            if a.complete { "c" } else { "" }
        ),
    );
    loop {
        match ao(sim, pid, id) {
            Some(a) if a.complete => break,
            Some(_) => {}
            None => return -3,
        }
        sim.at(L::AoInprogressLoop as u16);
        eventloop_iteration(sim, pid).await;
    }
    let a = ao(sim, pid, id).map_or(-3, |a| a.rc);
    ao_destroy(sim, pid, id).await;
    a
}

/// `libxl__ao_complete`.
pub async fn ao_complete(sim: &Sim, pid: u32, id: usize, rc: i32) {
    let s = sim.clone();
    sim.call(
        Probe::LibxlAoComplete,
        crate::stack::NO_DOM,
        move || vec![Value::Int(rc as i64)],
        async move {
            let Some(a) = ao(&s, pid, id) else { return };
            libxl_log(
                &s,
                pid,
                Level::Debug,
                L::AoCompleteLog,
                &format!("ao {}: complete, rc={rc}", ptr(a.ptr)),
            );
            with_ctx(&s, pid, |c| {
                if let Some(a) = c.aos.get_mut(id) {
                    a.complete = true;
                    a.rc = rc;
                }
            });
        },
    )
    .await
}

async fn ao_destroy(sim: &Sim, pid: u32, id: usize) {
    let s = sim.clone();
    sim.call(
        Probe::LibxlAoDestroy,
        crate::stack::NO_DOM,
        Vec::new,
        async move {
            if let Some(a) = ao(&s, pid, id) {
                libxl_log(
                    &s,
                    pid,
                    Level::Debug,
                    L::AoDestroyLog,
                    &format!("ao {}: destroy", ptr(a.ptr)),
                );
            }
        },
    )
    .await
}

/// One xenstore request on the process's connection (blocking: nothing else
/// runs in the process meanwhile).
pub async fn xs(
    sim: &Sim,
    pid: u32,
    tx: Option<crate::xenstore::TxId>,
    req: Req,
) -> Result<crate::xenstore::Resp, crate::xenstore::XsErr> {
    let Some(conn) = conn_of(sim, pid) else {
        return Err(crate::xenstore::XsErr::EIO);
    };
    xs_request(sim, conn, tx, req).await
}

/// `xs_read`: the value, or `None` (ENOENT and the like).
pub async fn xs_read(
    sim: &Sim,
    pid: u32,
    tx: Option<crate::xenstore::TxId>,
    path: &str,
) -> Option<String> {
    match xs(sim, pid, tx, Req::Read(path.to_string())).await {
        Ok(crate::xenstore::Resp::Value(v)) => Some(v),
        _ => None,
    }
}

/// A transaction: start, the requests `reqs` makes for it, commit; again
/// while the commit says EAGAIN (libxl's `retry_transaction:` loops).
pub async fn txn(sim: &Sim, pid: u32, reqs: Vec<Req>) -> bool {
    loop {
        let tx = match xs(sim, pid, None, Req::TxStart).await {
            Ok(crate::xenstore::Resp::Tx(t)) => t,
            _ => return false,
        };
        for r in &reqs {
            let _ = xs(sim, pid, Some(tx), r.clone()).await;
        }
        match xs(sim, pid, Some(tx), Req::TxEnd(true)).await {
            Err(crate::xenstore::XsErr::EAGAIN) => continue,
            r => return r.is_ok(),
        }
    }
}

/// `libxl__xs_path_cleanup` inside transaction `tx` (libxl_xshelp.c:246-285):
/// remove the path, then each parent left with an empty value and no children.
pub async fn path_cleanup(sim: &Sim, pid: u32, tx: crate::xenstore::TxId, path: &str) {
    if xs(sim, pid, Some(tx), Req::Rm(path.to_string()))
        .await
        .is_err()
    {
        return;
    }
    let mut p = path.to_string();
    while let Some(i) = p.rfind('/') {
        p.truncate(i);
        if p.is_empty() {
            break;
        }
        match xs_read(sim, pid, Some(tx), &p).await {
            Some(v) if v.is_empty() => {}
            _ => break,
        }
        match xs(sim, pid, Some(tx), Req::Directory(p.clone())).await {
            Ok(crate::xenstore::Resp::List(l)) if l.is_empty() => {}
            _ => break,
        }
        if xs(sim, pid, Some(tx), Req::Rm(p.clone())).await.is_err() {
            break;
        }
    }
}

/// Runs the loop until `done` holds (a stage of an operation that xl waits
/// for inside its AO).
pub async fn loop_until(sim: &Sim, pid: u32, mut done: impl FnMut(&Sim) -> bool) {
    while !done(sim) {
        if sim.xl.borrow().proc(pid).is_none() {
            return;
        }
        eventloop_iteration(sim, pid).await;
    }
}
