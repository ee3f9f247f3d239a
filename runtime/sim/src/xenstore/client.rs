//! The client side of xenstore: a request is a probe on the caller's
//! context, served when it arrives, and the caller resumes one round trip
//! later. Watch events it causes are queued for their readers with the
//! connection's latency, so an event reaches a reader before the writer's
//! own reply — as xenstored queues events before the ACK.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context as TaskCx, Poll};

use super::ops::PermSet;
use super::{ConnId, TxId, Xenstore, XsErr};
use crate::exec::{LocalFuture, Sleep};
use crate::probe::Probe;
use crate::stack::NO_DOM;
use crate::time::SimDuration;
use crate::value::{ProbeValue, Value};
use crate::Sim;

/// A request.
#[derive(Clone, Debug)]
pub enum Req {
    /// READ.
    Read(String),
    /// WRITE.
    Write(String, String),
    /// MKDIR.
    Mkdir(String),
    /// RM.
    Rm(String),
    /// DIRECTORY.
    Directory(String),
    /// DIRECTORY, of which the caller reads only how many entries came back
    /// (`xenstore-rm -t` asks whether a parent is empty). The daemon does the
    /// same work and the same probe runs; the reply is counted instead of
    /// listed, unless a hook could see it (then it is listed).
    DirectoryCount(String),
    /// GET_PERMS.
    GetPerms(String),
    /// SET_PERMS.
    SetPerms(String, PermSet),
    /// WATCH (path, token).
    Watch(Rc<str>, Rc<str>),
    /// UNWATCH (path, token).
    Unwatch(String, String),
    /// TRANSACTION_START.
    TxStart,
    /// TRANSACTION_END (commit?).
    TxEnd(bool),
}

/// A reply.
#[derive(Clone, Debug, PartialEq)]
pub enum Resp {
    /// OK.
    Ok,
    /// A value.
    Value(String),
    /// Directory entries.
    List(Vec<Rc<str>>),
    /// How many entries a DIRECTORY listed (`Req::DirectoryCount`).
    Entries(usize),
    /// Permissions.
    Perms(PermSet),
    /// A transaction id.
    Tx(TxId),
}

impl Resp {
    /// The value of a READ.
    pub fn into_value(self) -> String {
        match self {
            Resp::Value(v) => v,
            _ => String::new(),
        }
    }
    /// A DIRECTORY that listed nothing (whether its entries came back or
    /// only their number).
    pub fn is_empty_listing(&self) -> bool {
        matches!(self, Resp::List(l) if l.is_empty()) || matches!(self, Resp::Entries(0))
    }

    /// The entries of a DIRECTORY.
    pub fn into_list(self) -> Vec<String> {
        match self {
            Resp::List(l) => l.iter().map(|s| s.to_string()).collect(),
            _ => Vec::new(),
        }
    }
}

/// Reply plus error, as a probe result (`Err` shows as `#{error: "ENOENT"}`).
pub type XsResult = Result<Resp, XsErr>;

impl ProbeValue for XsResult {
    fn to_value(&self) -> Value {
        match self {
            Ok(Resp::Ok) => Value::Unit,
            Ok(Resp::Value(v)) => Value::str(v),
            Ok(Resp::List(l)) => Value::List(l.iter().map(|s| Value::Str(s.clone())).collect()),
            Ok(Resp::Perms(p)) => Value::List(
                p.iter()
                    .map(|(d, c)| Value::str(format!("{c}{d}")))
                    .collect(),
            ),
            Ok(Resp::Tx(t)) => Value::Int(t.0 as i64),
            // Never shown to a hook (a hooked DIRECTORY is listed in full).
            Ok(Resp::Entries(n)) => Value::Int(*n as i64),
            Err(e) => Value::Map(vec![("error".into(), Value::str(e.name()))]),
        }
    }
    fn from_value(v: Value) -> Result<Self, String> {
        Ok(match v {
            Value::Unit => Ok(Resp::Ok),
            Value::Str(s) => Ok(Resp::Value(s.to_string())),
            Value::Int(i) => Ok(Resp::Tx(TxId(i as u32))),
            Value::List(l) => Ok(Resp::List(
                l.iter().map(|x| x.as_str().unwrap_or("").into()).collect(),
            )),
            Value::Map(m) => {
                let name = m
                    .iter()
                    .find(|(k, _)| &**k == "error")
                    .and_then(|(_, v)| v.as_str().map(str::to_string));
                Err(errno_by_name(name.as_deref().unwrap_or("EIO")))
            }
            other => {
                return Err(format!(
                    "a xenstore reply cannot be a {}",
                    other.type_name()
                ))
            }
        })
    }
}

fn errno_by_name(s: &str) -> XsErr {
    use XsErr::*;
    [
        EINVAL, EACCES, EEXIST, EISDIR, ENOENT, ENOMEM, ENOSPC, EIO, ENOTEMPTY, ENOSYS, EROFS,
        EBUSY, EAGAIN, EISCONN, E2BIG, EPERM, EQUOTA,
    ]
    .into_iter()
    .find(|e| e.name() == s)
    .unwrap_or(EIO)
}

fn probe_of(req: &Req) -> Probe {
    match req {
        Req::Read(_) => Probe::XsRead,
        Req::Write(..) => Probe::XsWrite,
        Req::Mkdir(_) => Probe::XsMkdir,
        Req::Rm(_) => Probe::XsRm,
        Req::Directory(_) | Req::DirectoryCount(_) => Probe::XsDirectory,
        Req::GetPerms(_) => Probe::XsGetPerms,
        Req::SetPerms(..) => Probe::XsSetPerms,
        Req::Watch(..) => Probe::XsWatch,
        Req::Unwatch(..) => Probe::XsUnwatch,
        Req::TxStart => Probe::XsTransactionStart,
        Req::TxEnd(_) => Probe::XsTransactionEnd,
    }
}

fn args_of(req: &Req, tx: Option<TxId>) -> Vec<Value> {
    match req {
        Req::Read(p)
        | Req::Mkdir(p)
        | Req::Rm(p)
        | Req::Directory(p)
        | Req::DirectoryCount(p)
        | Req::GetPerms(p) => {
            vec![Value::str(p)]
        }
        Req::Write(p, v) => vec![Value::str(p), Value::str(v)],
        Req::SetPerms(p, ps) => {
            vec![
                Value::str(p),
                Value::List(
                    ps.iter()
                        .map(|(d, c)| Value::str(format!("{c}{d}")))
                        .collect(),
                ),
            ]
        }
        Req::Watch(p, t) => vec![Value::str(&**p), Value::str(&**t)],
        Req::Unwatch(p, t) => vec![Value::str(p), Value::str(t)],
        Req::TxStart => vec![],
        Req::TxEnd(c) => vec![Value::Int(tx.map_or(0, |t| t.0 as i64)), Value::Bool(!c)],
    }
}

/// Serves a request at the current instant (no round trip): what a script's
/// own `xs.*` calls do, and the body of every modelled request.
pub fn perform(sim: &Sim, conn: ConnId, tx: Option<TxId>, req: &Req) -> Result<Resp, XsErr> {
    let now = sim.now();
    let mutates = matches!(
        req,
        Req::Write(..)
            | Req::Mkdir(_)
            | Req::Rm(_)
            | Req::SetPerms(..)
            | Req::Watch(..)
            | Req::TxEnd(true)
    );
    let hop = if mutates {
        sim.hop("xenstore change")
    } else {
        None
    };
    let (res, owes) = {
        let mut xs = sim.xs.borrow_mut();
        xs.requests += 1;
        if let Some(t) = tx {
            if !xs.is_tx_of(t, conn) && !matches!(req, Req::TxStart) {
                return Err(XsErr::ENOENT);
            }
        }
        let res = serve(&mut xs, conn, tx, req, now, hop);
        match &res {
            Ok(Resp::List(l)) => xs.listed += l.len() as u64,
            Ok(Resp::Entries(n)) => xs.listed += *n as u64,
            _ => {}
        }
        // Most requests wake no reader and owe no callback.
        let owes = !(xs.owed_wakes.is_empty() && xs.owed_calls.is_empty());
        (res, owes)
    };
    if owes {
        deliver_owed(sim);
    }
    res
}

fn serve(
    xs: &mut Xenstore,
    conn: ConnId,
    tx: Option<TxId>,
    req: &Req,
    now: crate::time::SimTime,
    hop: Option<crate::stack::HopId>,
) -> Result<Resp, XsErr> {
    // A node path, absolute: a special `@` path is not a node.
    fn node_path<'p>(xs: &Xenstore, conn: ConnId, p: &'p str) -> Result<Cow<'p, str>, XsErr> {
        let c = xs.canonicalize(conn, p)?;
        if c.starts_with('@') {
            Err(XsErr::EINVAL)
        } else {
            Ok(c)
        }
    }
    let canon = |xs: &Xenstore, p| node_path(xs, conn, p);
    match (req, tx) {
        (Req::Read(p), None) => xs.do_read(conn, &canon(xs, p)?).map(Resp::Value),
        (Req::Read(p), Some(t)) => xs.txn_read(conn, t, &canon(xs, p)?).map(Resp::Value),
        (Req::Write(p, v), None) => {
            let p = canon(xs, p)?;
            xs.do_write(conn, &p, v, None)?;
            xs.generation += 1;
            xs.fire_watches(&p, false, now, hop);
            Ok(Resp::Ok)
        }
        (Req::Write(p, v), Some(t)) => xs.txn_write(conn, t, &canon(xs, p)?, v).map(|_| Resp::Ok),
        (Req::Mkdir(p), None) => {
            let p = canon(xs, p)?;
            if xs.do_mkdir(conn, &p, None)? {
                xs.generation += 1;
                xs.fire_watches(&p, false, now, hop);
            }
            Ok(Resp::Ok)
        }
        (Req::Mkdir(p), Some(t)) => xs.txn_mkdir(conn, t, &canon(xs, p)?).map(|_| Resp::Ok),
        (Req::Rm(p), None) => {
            let p = canon(xs, p)?;
            if xs.do_rm(conn, &p, None)? {
                xs.generation += 1;
                xs.fire_watches(&p, true, now, hop);
            }
            Ok(Resp::Ok)
        }
        (Req::Rm(p), Some(t)) => xs.txn_rm(conn, t, &canon(xs, p)?).map(|_| Resp::Ok),
        (Req::Directory(p), None) => xs.do_directory(conn, &canon(xs, p)?).map(Resp::List),
        (Req::Directory(p), Some(t)) => xs.txn_directory(conn, t, &canon(xs, p)?).map(Resp::List),
        (Req::DirectoryCount(p), None) => {
            xs.do_directory_len(conn, &canon(xs, p)?).map(Resp::Entries)
        }
        (Req::DirectoryCount(p), Some(t)) => xs
            .txn_directory_len(conn, t, &canon(xs, p)?)
            .map(Resp::Entries),
        (Req::GetPerms(p), _) => xs.do_get_perms(conn, &canon(xs, p)?).map(Resp::Perms),
        (Req::SetPerms(p, ps), None) => {
            let p = canon(xs, p)?;
            xs.do_set_perms(conn, &p, ps, None)?;
            xs.generation += 1;
            xs.fire_watches(&p, false, now, hop);
            Ok(Resp::Ok)
        }
        (Req::SetPerms(p, ps), Some(t)) => xs
            .txn_set_perms(conn, t, &canon(xs, p)?, ps)
            .map(|_| Resp::Ok),
        (Req::Watch(p, tok), _) => xs.do_watch(conn, p, tok, now, hop).map(|_| Resp::Ok),
        (Req::Unwatch(p, tok), _) => xs.do_unwatch(conn, p, tok).map(|_| Resp::Ok),
        (Req::TxStart, None) => xs.txn_start(conn).map(Resp::Tx),
        (Req::TxStart, Some(_)) => Err(XsErr::EBUSY),
        (Req::TxEnd(commit), Some(t)) => xs.txn_end(conn, t, *commit, now, hop).map(|_| Resp::Ok),
        (Req::TxEnd(_), None) => Err(XsErr::ENOENT),
    }
}

/// Schedules the reader wake-ups and callbacks the store owes.
pub fn deliver_owed(sim: &Sim) {
    let mut xs = sim.xs.borrow_mut();
    if xs.owed_wakes.is_empty() && xs.owed_calls.is_empty() {
        return;
    }
    // Drained in place (the queue takes no borrow of the store), so the
    // lists keep their room for the next request.
    for (t, task) in xs.owed_wakes.drain(..) {
        sim.exec.push(t, crate::exec::Ev::Wake(task));
    }
    let calls = std::mem::take(&mut xs.owed_calls);
    drop(xs);
    for (t, f, ev) in calls {
        sim.exec.push(
            t,
            crate::exec::Ev::Call(Box::new(move |sim: &Sim| f(sim, &ev))),
        );
    }
}

/// A request as `xs_request` takes it: the sender's own, or one of a list a
/// transaction sends again as it is if its commit fails with EAGAIN
/// (`xstransact`'s retry), shared rather than copied for each attempt.
pub enum Outgoing {
    /// The sender's own request.
    Own(Req),
    /// Request `i` of a shared list.
    Listed(Rc<[Req]>, usize),
}

impl Outgoing {
    fn req(&self) -> &Req {
        match self {
            Outgoing::Own(r) => r,
            Outgoing::Listed(l, i) => &l[*i],
        }
    }
}

impl From<Req> for Outgoing {
    fn from(r: Req) -> Outgoing {
        Outgoing::Own(r)
    }
}

/// A request's future: its probe call, or, where nobody can see that call,
/// the reply already served and the round trip the caller still waits out.
/// The call is boxed: it is over 200 bytes, and it is the rare case, while
/// every future that awaits a request (an xend thread's, nested a few deep)
/// holds room for the largest.
enum Request {
    /// A hook, an observer, the trace or a printed stack can see the call:
    /// the request is the call, served when first polled.
    Probed(LocalFuture<XsResult>),
    /// Served as it was sent.
    Served {
        round_trip: Sleep,
        reply: Option<XsResult>,
    },
}

impl Future for Request {
    type Output = XsResult;
    fn poll(self: Pin<&mut Self>, cx: &mut TaskCx<'_>) -> Poll<XsResult> {
        match self.get_mut() {
            Request::Probed(call) => call.as_mut().poll(cx),
            Request::Served { round_trip, reply } => {
                std::task::ready!(Pin::new(round_trip).poll(cx));
                Poll::Ready(reply.take().unwrap_or(Err(XsErr::EIO)))
            }
        }
    }
}

/// Sends a request from the running task and waits for the reply. The
/// request's future is its (boxed) probe call itself, with no `async fn`
/// around it, which would hold the call a second time: a host's shutdown
/// makes millions of requests, each built into the thread that awaits it.
/// Every caller awaits the request at once, so one that nobody can observe
/// is served right here, as it is sent, with no call around it.
pub fn xs_request(
    sim: &Sim,
    conn: ConnId,
    tx: Option<TxId>,
    req: impl Into<Outgoing>,
) -> impl Future<Output = XsResult> {
    let req = req.into();
    let p = probe_of(req.req());
    let rtt = round_trip(sim, conn);
    let hooked = sim.is_hooked(p);
    // No site to stop at and no frame to push: the call's body, run now.
    if !hooked && !sim.is_replaced(p) && !sim.framed(p) {
        let reply = perform(sim, conn, tx, req.req());
        return Request::Served {
            round_trip: sim.sleep(rtt),
            reply: Some(reply),
        };
    }
    // A hook may replace the reply or run the request itself: it gets the
    // listing a DIRECTORY gives, not a count.
    let req = match req.req() {
        Req::DirectoryCount(path) if sim.is_replaced(p) => {
            Outgoing::Own(Req::Directory(path.clone()))
        }
        _ => req,
    };
    let s = sim.clone();
    // What a trace or a hook shows, made only if one can read it (the
    // request itself goes to the body).
    let args = (sim.tracing.get() || hooked).then(|| args_of(req.req(), tx));
    Request::Probed(Box::pin(sim.call(
        p,
        NO_DOM,
        move || args.unwrap_or_default(),
        async move {
            let r = perform(&s, conn, tx, req.req());
            s.sleep(rtt).await;
            r
        },
    )))
}

fn round_trip(sim: &Sim, conn: ConnId) -> SimDuration {
    let xs = sim.xs.borrow();
    let c = xs.conn(conn);
    if xs.instant {
        return SimDuration::ZERO;
    }
    let one = if c.is_domain && c.domid != 0 {
        xs.ring_latency
    } else {
        xs.socket_latency
    };
    SimDuration(one.0 * 2)
}
