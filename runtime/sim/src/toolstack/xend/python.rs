//! The Python 2 runtime xend lives in, as far as it decides what runs when:
//! the GIL, `threading` locks and events, threads, and xend's blocking
//! xenstore calls (`xstransact`, `xswatch`).
//!
//! One thread runs Python at a time. A thread gives the GIL up only when it
//! blocks — a xenstore request, a lock held by another thread, `sleep`,
//! `waitpid`, a FIFO read, a subprocess — and then it goes to the thread
//! that has waited longest. That alone orders xend's log lines the way the
//! seed shows them (the sentinel thread's `device model terminated` lands
//! while the restart thread waits for xenstored). Preemption by the
//! interpreter's check interval is not modelled.

use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;

use crate::exec::TaskId;
use crate::probe::Layer;
use crate::stack::NO_DOM;
use crate::time::SimDuration;
use crate::xenstore::{xs_request, Outgoing, Req, Resp, TxId, XsErr};
use crate::Sim;

use super::lines::ThreadKind;

/// A `threading.Lock`/`RLock` (or a Condition's lock).
#[derive(Default, Debug)]
pub struct PyLock {
    owner: Option<TaskId>,
    count: u32,
    waiters: VecDeque<TaskId>,
    reentrant: bool,
    /// The VM whose `refresh_shutdown_lock` this is: taking it is a change
    /// a refresh must see (quiet.rs).
    of_vm: Option<super::VmRef>,
}

/// A lock's index.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct LockId(pub u32);

/// A `threading.Event`.
#[derive(Default, Debug)]
pub struct PyEvent {
    /// Set.
    pub set: bool,
    waiters: Vec<TaskId>,
}

/// An event's index.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct EventId(pub u32);

/// The interpreter's scheduling state.
#[derive(Default)]
pub struct Interp {
    gil: Option<TaskId>,
    gil_waiters: VecDeque<TaskId>,
    locks: Vec<PyLock>,
    events: Vec<PyEvent>,
    thread_no: u32,
}

impl Interp {
    /// A new lock.
    pub fn new_lock(&mut self, reentrant: bool) -> LockId {
        self.locks.push(PyLock {
            reentrant,
            ..Default::default()
        });
        LockId((self.locks.len() - 1) as u32)
    }

    /// A VM's `refresh_shutdown_lock`.
    pub fn new_vm_lock(&mut self, vm: super::VmRef) -> LockId {
        let l = self.new_lock(true);
        self.locks[l.0 as usize].of_vm = Some(vm);
        l
    }

    /// A new event.
    pub fn new_event(&mut self) -> EventId {
        self.events.push(PyEvent::default());
        EventId((self.events.len() - 1) as u32)
    }

    /// The number in the next `threading.Thread`'s default name, `Thread-N`.
    fn next_thread_no(&mut self) -> u32 {
        self.thread_no += 1;
        self.thread_no
    }
}

fn me(sim: &Sim) -> Option<TaskId> {
    sim.exec.current()
}

/// Takes the GIL (waiting in line if another thread holds it).
pub async fn py_enter(sim: &Sim) {
    while !py_try_enter(sim) {
        let s = sim.clone();
        sim.park(move |t| s.xend.borrow_mut().interp.gil_waiters.push_back(t))
            .await;
    }
}

/// Takes the GIL if no other thread holds it; `false` if one does.
fn py_try_enter(sim: &Sim) -> bool {
    let t = me(sim);
    let mut x = sim.xend.borrow_mut();
    match x.interp.gil {
        None => {
            x.interp.gil = t;
            true
        }
        Some(h) => Some(h) == t,
    }
}

/// Gives the GIL to the thread that has waited longest.
pub fn py_leave(sim: &Sim) {
    let next = {
        let mut x = sim.xend.borrow_mut();
        let t = me(sim);
        if x.interp.gil != t {
            return;
        }
        let next = x.interp.gil_waiters.pop_front();
        x.interp.gil = next;
        next
    };
    if let Some(n) = next {
        sim.wake(n);
    }
}

/// Runs a blocking call, `f()`, with the GIL released. The call's future is
/// made once the GIL is let go, where this one keeps it (a future handed in
/// would be held twice, as the argument and as what is awaited: a xenstore
/// request from xend is one of these).
pub async fn blocking<T, F: Future<Output = T>>(sim: &Sim, f: impl FnOnce() -> F) -> T {
    py_leave(sim);
    let r = f().await;
    // Mostly no other thread took the GIL meanwhile: taken back at once,
    // with no wait to set up.
    if !py_try_enter(sim) {
        py_enter(sim).await;
    }
    r
}

/// A point where the interpreter may switch threads (its check interval, or
/// the OS descheduling this one). With `XendOptions::preempt` above zero, a
/// seeded draw decides whether this thread is descheduled here (up to 5 ms,
/// an OS scheduler's slice) with the GIL released — the races of §2.13 as seeded
/// choices. At zero (the default) threads switch only where they block.
pub async fn checkpoint(sim: &Sim) {
    let pause = {
        let mut x = sim.xend.borrow_mut();
        let p = x.opts.preempt;
        if p <= 0.0 || x.rng.unit() >= p {
            None
        } else {
            Some(SimDuration::micros(1 + x.rng.below(5000)))
        }
    };
    if let Some(d) = pause {
        blocking(sim, || sim.sleep(d)).await;
    }
}

/// `time.sleep(d)`.
pub async fn py_sleep(sim: &Sim, d: SimDuration) {
    blocking(sim, || sim.sleep(d)).await
}

/// `lock.acquire()`.
pub async fn acquire(sim: &Sim, lock: LockId) {
    let t = me(sim);
    {
        let mut x = sim.xend.borrow_mut();
        if let Some(vm) = x.interp.locks[lock.0 as usize].of_vm {
            x.mark(vm);
        }
        let l = &mut x.interp.locks[lock.0 as usize];
        if l.owner.is_none() {
            l.owner = t;
            l.count = 1;
            return;
        }
        if l.reentrant && l.owner == t {
            l.count += 1;
            return;
        }
    }
    // Contended: block without the GIL until the lock is handed over.
    py_leave(sim);
    loop {
        let mine = sim.xend.borrow().interp.locks[lock.0 as usize].owner == t;
        if mine {
            break;
        }
        let s = sim.clone();
        sim.park(move |w| {
            s.xend.borrow_mut().interp.locks[lock.0 as usize]
                .waiters
                .push_back(w)
        })
        .await;
    }
    py_enter(sim).await;
}

/// Would `acquire` take `lock` at once, without waiting?
pub fn lock_free(sim: &Sim, lock: LockId) -> bool {
    let x = sim.xend.borrow();
    let l = &x.interp.locks[lock.0 as usize];
    l.owner.is_none() || (l.reentrant && l.owner == me(sim))
}

/// `lock.release()`: the next waiter owns it.
pub fn release(sim: &Sim, lock: LockId) {
    let next = {
        let mut x = sim.xend.borrow_mut();
        let l = &mut x.interp.locks[lock.0 as usize];
        l.count = l.count.saturating_sub(1);
        if l.count > 0 {
            return;
        }
        l.owner = l.waiters.pop_front();
        if l.owner.is_some() {
            l.count = 1;
        }
        l.owner
    };
    if let Some(n) = next {
        sim.wake(n);
    }
}

/// `event.set()`.
pub fn event_set(sim: &Sim, ev: EventId) {
    let ws = {
        let mut x = sim.xend.borrow_mut();
        let e = &mut x.interp.events[ev.0 as usize];
        e.set = true;
        std::mem::take(&mut e.waiters)
    };
    for w in ws {
        sim.wake(w);
    }
}

/// `event.wait(timeout)`: true if set.
pub async fn event_wait(sim: &Sim, ev: EventId, timeout: SimDuration) -> bool {
    // A timeout is not work: even while `xm create` settles at one instant
    // it only expires when the clock really gets there.
    let deadline = sim.now().after(timeout);
    py_leave(sim);
    loop {
        if sim.xend.borrow().interp.events[ev.0 as usize].set {
            break;
        }
        if sim.now() >= deadline {
            break;
        }
        let s = sim.clone();
        let t = me(sim);
        // Wake at the deadline unless set first.
        let s2 = s.clone();
        sim.schedule_at(deadline, move |_| {
            if let Some(t) = t {
                let pending = {
                    let mut x = s2.xend.borrow_mut();
                    let e = &mut x.interp.events[ev.0 as usize];
                    let had = e.waiters.contains(&t);
                    e.waiters.retain(|&w| w != t);
                    had
                };
                if pending {
                    s2.wake(t);
                }
            }
        });
        sim.park(move |w| {
            s.xend.borrow_mut().interp.events[ev.0 as usize]
                .waiters
                .push(w)
        })
        .await;
    }
    py_enter(sim).await;
    sim.xend.borrow().interp.events[ev.0 as usize].set
}

/// Starts a Python thread: a new context whose task first waits for the GIL,
/// then runs `body()`. The body's future is made where the thread keeps it
/// (a future handed in would be held twice, as the thread's argument and as
/// what it awaits: some of xend's threads are kilobytes deep).
pub fn start_thread<F: Future<Output = ()> + 'static>(
    sim: &Sim,
    kind: ThreadKind,
    label: &str,
    body: impl FnOnce() -> F + 'static,
) -> TaskId {
    // A raw `thread.start_new_thread` has no name of its own: threading
    // calls it a dummy thread, known here by the function it runs. The
    // context's name, `xend <thread> (<function>)`, is put together in one
    // string: every xm request starts a thread.
    let mut no = itoa::Buffer::new();
    let (thread, n) = match kind {
        ThreadKind::Watcher => ("Watcher", ""),
        ThreadKind::Raw => ("Dummy", ""),
        _ => (
            "Thread-",
            no.format(sim.xend.borrow_mut().interp.next_thread_no()),
        ),
    };
    let name = ["xend ", thread, n, " (", label, ")"].concat();
    let ctx = sim.new_thread_ctx(name, Layer::Xend, NO_DOM);
    sim.xend.borrow_mut().threads.insert(ctx, kind);
    let hop = sim.hop("thread start");
    sim.adopt(ctx, hop);
    let s = sim.clone();
    sim.spawn(ctx, async move {
        py_enter(&s).await;
        body().await;
        py_leave(&s);
    })
}

/// One xenstore request from xend's connection, GIL released meanwhile:
/// `blocking` written out, so that the request's future is held by this
/// one alone, with no other future around it (xend makes most of a host's
/// requests).
pub async fn xs_call(sim: &Sim, tx: Option<TxId>, req: impl Into<Outgoing>) -> Result<Resp, XsErr> {
    let conn = sim.xend.borrow().conn;
    py_leave(sim);
    let r = xs_request(sim, conn, tx, req).await;
    if !py_try_enter(sim) {
        py_enter(sim).await;
    }
    r
}

/// `xstransact.<op>`: start, the requests, commit — retried forever on EAGAIN.
/// The requests are shared with each one sent (a retry resends them); a
/// single request comes as a one-element array, shared without first
/// being put in a `Vec`.
pub async fn xs_txn(sim: &Sim, reqs: impl Into<Rc<[Req]>>) -> Vec<Result<Resp, XsErr>> {
    let reqs: Rc<[Req]> = reqs.into();
    loop {
        let tx = match xs_call(sim, None, Req::TxStart).await {
            Ok(Resp::Tx(t)) => t,
            _ => return Vec::new(),
        };
        let mut out = Vec::with_capacity(reqs.len());
        for i in 0..reqs.len() {
            out.push(xs_call(sim, Some(tx), Outgoing::Listed(reqs.clone(), i)).await);
        }
        match xs_call(sim, Some(tx), Req::TxEnd(true)).await {
            Err(XsErr::EAGAIN) => continue,
            _ => return out,
        }
    }
}

// The path (and value) become the request's own strings: a caller that
// built the path hands it over rather than having it copied.

/// `xstransact.Read(path)`: `None` for a missing node.
pub async fn read(sim: &Sim, path: impl Into<String>) -> Option<String> {
    match xs_txn(sim, [Req::Read(path.into())]).await.pop() {
        Some(Ok(Resp::Value(v))) => Some(v),
        _ => None,
    }
}

/// `xstransact.Store/Write(path, value)`.
pub async fn write(sim: &Sim, path: impl Into<String>, value: impl Into<String>) {
    xs_txn(sim, [Req::Write(path.into(), value.into())]).await;
}

/// `xstransact.Remove(path)`.
pub async fn remove(sim: &Sim, path: impl Into<String>) {
    xs_txn(sim, [Req::Rm(path.into())]).await;
}

/// `xstransact.List(path)`: `"<path>/<child>"`-style names, empty if missing.
pub async fn list(sim: &Sim, path: impl Into<String>) -> Vec<String> {
    match xs_txn(sim, [Req::Directory(path.into())]).await.pop() {
        Some(Ok(Resp::List(l))) => l.iter().map(|s| s.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// Runs `xend`'s subprocess (`commands.getstatusoutput`): GIL released.
pub async fn subprocess(sim: &Sim, d: SimDuration) {
    blocking(sim, || sim.sleep(d)).await
}
