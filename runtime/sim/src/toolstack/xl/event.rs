//! libxl's event machinery for one process (libxl_event.c, libxl_fork.c):
//! xenstore watches named by `slot/counter` tokens, timers, children reaped
//! through SIGCHLD, queued `libxl_event`s, asynchronous operations, and the
//! one loop that waits on all of them. The process is single-threaded: a
//! callback runs to its end (its xenstore requests block the process) before
//! the loop looks at anything else.

use std::collections::VecDeque;

use crate::probe::Probe;
use crate::time::{SimDuration, SimTime};
use crate::value::Value;
use crate::xenstore::{xs_request, Req, WatchEvent};
use crate::Sim;

use super::devices::{Aodev, Multidev};
use super::lines::L;
use super::log::{libxl_log, ptr, Level};

/// What a watch calls.
#[derive(Clone, Debug)]
pub enum WatchCb {
    /// `domain_death_xswatch_callback` (`@releaseDomain`).
    DomainDeath,
    /// `devstate_watch_callback` of an aodev's `backend_ds`.
    Devstate(usize),
    /// `spawn_watch_event` of a device-model spawn.
    Spawn,
}

/// What a timer calls.
#[derive(Clone, Debug)]
pub enum TimeCb {
    /// `devstate_timeout` of an aodev's `backend_ds`.
    Devstate(usize),
    /// `device_qemu_timeout` (the 2 s qemu bodge).
    QemuBodge(usize),
    /// `device_hotplug_timeout_cb`.
    Hotplug(usize),
    /// `spawn_timeout` of the device model.
    Spawn,
}

/// A registered watch (`libxl__ev_xswatch`).
#[derive(Clone, Debug)]
pub struct Watch {
    /// The watched path.
    pub path: String,
    /// `slotnum/counterval`.
    pub token: String,
    /// `counterval`.
    pub counter: u32,
    /// The struct's address (`w=%p`).
    pub ptr: u64,
    /// The callback.
    pub cb: WatchCb,
}

/// A registered timer (`libxl__ev_time`).
#[derive(Clone, Debug)]
pub struct Timer {
    /// Its id.
    pub id: u32,
    /// When it is due (absolute: a timeout is a fact about the clock).
    pub at: SimTime,
    /// The callback.
    pub cb: TimeCb,
}

/// How a child ended (`waitpid` status).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// `exit(n)`.
    Exited(i32),
    /// Killed by a signal.
    Signaled(u32),
}

/// A `libxl_event` as xl sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// DOMAIN_SHUTDOWN with Xen's reason code.
    DomainShutdown {
        /// The domain.
        domid: u32,
        /// `shutdown_reason`.
        reason: u8,
    },
    /// DOMAIN_DEATH.
    DomainDeath {
        /// The domain.
        domid: u32,
    },
}

impl Event {
    /// The event's domain.
    pub fn domid(&self) -> u32 {
        match self {
            Event::DomainShutdown { domid, .. } | Event::DomainDeath { domid } => *domid,
        }
    }

    /// `libxl_event_type_to_string`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::DomainShutdown { .. } => "domain_shutdown",
            Event::DomainDeath { .. } => "domain_death",
        }
    }
}

/// A domain-death evgen (`libxl_evgen_domain_death`).
#[derive(Clone, Debug)]
pub struct Evgen {
    /// The watched domain.
    pub domid: u32,
    /// `shutdown_reported`.
    pub shutdown_reported: bool,
    /// Its address (`evg=%p`).
    pub ptr: u64,
}

/// An asynchronous operation (`libxl__ao`), synchronous from xl's point of
/// view (no `ao_how`: a poller).
#[derive(Clone, Debug)]
pub struct Ao {
    /// Its address.
    pub ptr: u64,
    /// The poller's address.
    pub poller: u64,
    /// Completed.
    pub complete: bool,
    /// Its result.
    pub rc: i32,
}

/// A device model being spawned (`libxl__spawn_state`).
#[derive(Clone, Debug)]
pub struct Spawn {
    /// The domain.
    pub domid: u32,
    /// Its state path's watch slot.
    pub watch: Option<u32>,
    /// Its timeout.
    pub timer: Option<u32>,
    /// Confirmed `running` (Some(true)), failed (Some(false)), pending (None).
    pub outcome: Option<bool>,
}

/// One process's libxl context: `libxl_ctx`'s event state.
#[derive(Debug, Default)]
pub struct Ctx {
    /// Watch slots in use, by slot number.
    pub watches: std::collections::BTreeMap<u32, Watch>,
    /// Free slots: the SLIST's head is the last element.
    pub free_slots: Vec<u32>,
    /// `watch_nslots`.
    pub nslots: u32,
    /// `watch_counter`.
    pub counter: u32,
    /// Timers.
    pub timers: Vec<Timer>,
    /// Next timer id.
    pub next_timer: u32,
    /// Children by pid, with what their death calls.
    pub children: Vec<(u32, usize)>,
    /// Children reaped, not yet handled (the SIGCHLD self-pipe).
    pub reaped: VecDeque<(u32, ExitStatus)>,
    /// Events for the application.
    pub events: VecDeque<Event>,
    /// `death_list`, sorted by domid.
    pub death_list: Vec<Evgen>,
    /// `death_reported`.
    pub death_reported: Vec<Evgen>,
    /// The `@releaseDomain` watch's slot.
    pub death_watch: Option<u32>,
    /// Asynchronous operations.
    pub aos: Vec<Ao>,
    /// Device operations.
    pub aodevs: Vec<Aodev>,
    /// Groups of device operations.
    pub multidevs: Vec<Multidev>,
    /// The device model spawn in progress.
    pub spawn: Option<Spawn>,
    /// Next heap address handed out.
    pub heap: u64,
    /// The `libxl_ctx`'s own address (the first allocation).
    pub ctx_ptr: u64,
    /// The loop is parked: the task, and which wait it is.
    pub waiter: Option<crate::exec::TaskId>,
    /// Bumped on every wait, so a stale timer wake-up is recognised.
    pub wait_gen: u64,
}

pub(super) fn with_ctx<R>(sim: &Sim, pid: u32, f: impl FnOnce(&mut Ctx) -> R) -> Option<R> {
    sim.xl.borrow_mut().proc_mut(pid).map(|p| f(&mut p.lx))
}

/// A heap address for a new object of `size` bytes (malloc's alignment).
pub fn alloc(sim: &Sim, pid: u32, size: u64) -> u64 {
    with_ctx(sim, pid, |c| {
        let p = c.heap;
        c.heap += (size + 16 + 15) & !15;
        p
    })
    .unwrap_or(0)
}

/// `libxl__ev_xswatch_register`: a slot, a counter, the token, XS_WATCH.
pub async fn xswatch_register(sim: &Sim, pid: u32, path: &str, cb: WatchCb, w: u64) -> Option<u32> {
    let (slot, token) = with_ctx(sim, pid, |c| {
        if c.free_slots.is_empty() {
            let newsize = (c.nslots + 1) << 2;
            c.free_slots.extend(c.nslots..newsize);
            c.nslots = newsize;
        }
        let slot = c.free_slots.pop().unwrap_or(0);
        let counter = c.counter;
        c.counter += 1;
        let token = format!("{slot}/{counter:x}");
        c.watches.insert(
            slot,
            Watch {
                path: path.to_string(),
                token: token.clone(),
                counter,
                ptr: w,
                cb,
            },
        );
        (slot, token)
    })?;
    let s = sim.clone();
    let (p2, t2) = (path.to_string(), token.clone());
    let conn = conn_of(sim, pid)?;
    let path = path.to_string();
    sim.call(
        Probe::LibxlXswatchRegister,
        crate::stack::NO_DOM,
        move || vec![Value::str(&p2), Value::str(&t2)],
        async move {
            libxl_log(
                &s,
                pid,
                Level::Debug,
                L::WatchRegisterLog,
                &format!(
                    "watch w={} wpath={path} token={token}: register slotnum={slot}",
                    ptr(w)
                ),
            );
            let _ = xs_request(&s, conn, None, Req::Watch(path.into(), token.into())).await;
        },
    )
    .await;
    Some(slot)
}

/// `libxl__ev_xswatch_deregister`: XS_UNWATCH, the slot back on the free list.
pub async fn xswatch_deregister(sim: &Sim, pid: u32, slot: u32) {
    let Some(w) = with_ctx(sim, pid, |c| {
        let w = c.watches.remove(&slot);
        if w.is_some() {
            c.free_slots.push(slot);
        }
        w
    })
    .flatten() else {
        return;
    };
    let Some(conn) = conn_of(sim, pid) else {
        return;
    };
    let s = sim.clone();
    let (p2, t2) = (w.path.clone(), w.token.clone());
    sim.call(
        Probe::LibxlXswatchDeregister,
        crate::stack::NO_DOM,
        move || vec![Value::str(&p2), Value::str(&t2)],
        async move {
            libxl_log(
                &s,
                pid,
                Level::Debug,
                L::WatchDeregisterLog,
                &format!(
                    "watch w={} wpath={} token={}: deregister slotnum={slot}",
                    ptr(w.ptr),
                    w.path,
                    w.token
                ),
            );
            let _ = xs_request(&s, conn, None, Req::Unwatch(w.path, w.token)).await;
        },
    )
    .await;
}

/// `libxl__ev_time_register_rel`.
pub fn time_register(sim: &Sim, pid: u32, after: SimDuration, cb: TimeCb) -> u32 {
    let at = sim.now().after(after);
    with_ctx(sim, pid, |c| {
        let id = c.next_timer;
        c.next_timer += 1;
        c.timers.push(Timer { id, at, cb });
        id
    })
    .unwrap_or(0)
}

/// `libxl__ev_time_deregister`.
pub fn time_deregister(sim: &Sim, pid: u32, id: u32) {
    with_ctx(sim, pid, |c| c.timers.retain(|t| t.id != id));
}

/// `libxl__event_occurred`: queued for `libxl_event_wait`.
pub fn event_occurred(sim: &Sim, pid: u32, ev: Event) {
    with_ctx(sim, pid, |c| c.events.push_back(ev));
}

/// A child of the process (a hotplug script) exited: SIGCHLD wakes its loop.
pub fn child_exited(sim: &Sim, pid: u32, child: u32, status: ExitStatus) {
    let w = with_ctx(sim, pid, |c| {
        c.reaped.push_back((child, status));
        c.waiter.take()
    })
    .flatten();
    if let Some(t) = w {
        sim.wake(t);
    }
}

/// The process's xenstore connection.
pub fn conn_of(sim: &Sim, pid: u32) -> Option<crate::xenstore::ConnId> {
    sim.xl.borrow().proc(pid).map(|p| p.conn)
}

/// A callback's future on the heap (see `afterpoll`).
fn boxed<'a>(
    f: impl std::future::Future<Output = ()> + 'a,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'a>> {
    Box::pin(f)
}

/// `eventloop_iteration`: poll until something is ready, then
/// `afterpoll_internal`: the xenstore fd, the SIGCHLD pipe, then the timers
/// that are due.
pub async fn eventloop_iteration(sim: &Sim, pid: u32) {
    loop {
        if sim.xl.borrow().proc(pid).is_none() {
            return;
        }
        if afterpoll(sim, pid).await {
            return;
        }
        wait(sim, pid).await;
    }
}

async fn afterpoll(sim: &Sim, pid: u32) -> bool {
    let mut did = false;
    let Some(conn) = conn_of(sim, pid) else {
        return false;
    };
    loop {
        let ev = sim.xs.borrow_mut().next_event(conn, sim.now());
        let Some(ev) = ev else { break };
        did = true;
        let ctx = sim.current_ctx();
        sim.adopt(ctx, ev.hop);
        // Boxed: the callbacks reach far (a device's whole removal), and a
        // loop's future would otherwise carry all of their types.
        boxed(watchfd_callback(sim, pid, ev)).await;
    }
    loop {
        let next = with_ctx(sim, pid, |c| c.reaped.pop_front()).flatten();
        let Some((child, status)) = next else { break };
        did = true;
        let cb = with_ctx(sim, pid, |c| {
            let i = c.children.iter().position(|&(p, _)| p == child)?;
            Some(c.children.remove(i).1)
        })
        .flatten();
        if let Some(aodev) = cb {
            let ctx = sim.current_ctx();
            let hop = sim.hop("SIGCHLD");
            sim.adopt(ctx, hop);
            boxed(super::devices::device_hotplug_child_death_cb(
                sim, pid, aodev, child, status,
            ))
            .await;
        }
    }
    loop {
        let now = sim.now();
        let due = with_ctx(sim, pid, |c| {
            let i = c
                .timers
                .iter()
                .enumerate()
                .filter(|(_, t)| t.at <= now)
                .min_by_key(|(_, t)| (t.at, t.id))
                .map(|(i, _)| i)?;
            Some(c.timers.remove(i).cb)
        })
        .flatten();
        let Some(cb) = due else { break };
        did = true;
        boxed(time_occurs(sim, pid, cb)).await;
    }
    did
}

async fn time_occurs(sim: &Sim, pid: u32, cb: TimeCb) {
    match cb {
        TimeCb::Devstate(a) => super::devices::devstate_timeout(sim, pid, a).await,
        TimeCb::QemuBodge(a) => super::devices::device_qemu_timeout(sim, pid, a).await,
        TimeCb::Hotplug(a) => super::devices::device_hotplug_timeout_cb(sim, pid, a).await,
        TimeCb::Spawn => super::dm::spawn_timeout(sim, pid).await,
    }
}

/// `watchfd_callback` for one event: find the watch by its token, check the
/// counter and the path, call it.
async fn watchfd_callback(sim: &Sim, pid: u32, ev: WatchEvent) {
    let s = sim.clone();
    let (p2, t2) = (ev.path.to_string(), ev.token.to_string());
    sim.call(
        Probe::LibxlWatchfdCallback,
        crate::stack::NO_DOM,
        move || vec![Value::str(&p2), Value::str(&t2)],
        async move {
            let epath = ev.path.to_string();
            let token = ev.token.to_string();
            let parsed = token.split_once('/').and_then(|(a, b)| {
                Some((a.parse::<u32>().ok()?, u32::from_str_radix(b, 16).ok()?))
            });
            let Some((slot, counter)) = parsed else {
                return;
            };
            let w =
                s.xl.borrow()
                    .proc(pid)
                    .and_then(|p| p.lx.watches.get(&slot).cloned());
            let Some(w) = w else {
                libxl_log(
                    &s,
                    pid,
                    Level::Debug,
                    L::WatchEmptySlotLog,
                    &format!("watch epath={epath} token={token}: empty slot"),
                );
                return;
            };
            if w.counter != counter {
                libxl_log(
                    &s,
                    pid,
                    Level::Debug,
                    L::WatchCounterLog,
                    &format!(
                        "watch w={} epath={epath} token={token}: counter != {:x}",
                        ptr(w.ptr),
                        w.counter
                    ),
                );
                return;
            }
            libxl_log(
                &s,
                pid,
                Level::Debug,
                L::WatchEventLog,
                &format!(
                    "watch w={} wpath={} token={token}: event epath={epath}",
                    ptr(w.ptr),
                    w.path
                ),
            );
            s.at(L::WatchfdCall as u16);
            match w.cb {
                WatchCb::DomainDeath => {
                    super::death::domain_death_xswatch_callback(&s, pid, w.path, epath).await
                }
                WatchCb::Devstate(a) => {
                    super::devices::devstate_watch_callback(&s, pid, a, w.path).await
                }
                WatchCb::Spawn => super::dm::spawn_watch_event(&s, pid, w.path).await,
            }
        },
    )
    .await
}

/// `poll()`: park until a watch event, a child's death or the next timer.
async fn wait(sim: &Sim, pid: u32) {
    let Some(conn) = conn_of(sim, pid) else {
        return;
    };
    let xs_due = sim.xs.borrow().next_event_time(conn);
    let timer_due = sim
        .xl
        .borrow()
        .proc(pid)
        .and_then(|p| p.lx.timers.iter().map(|t| t.at).min());
    let due = match (xs_due, timer_due) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let gen = with_ctx(sim, pid, |c| {
        c.wait_gen += 1;
        c.wait_gen
    })
    .unwrap_or(0);
    if let Some(t) = due {
        sim.schedule_at(t, move |s| {
            let w =
                s.xl.borrow_mut()
                    .proc_mut(pid)
                    .filter(|p| p.lx.wait_gen == gen)
                    .and_then(|p| p.lx.waiter.take());
            if let Some(w) = w {
                s.wake(w);
            }
        });
    }
    let s = sim.clone();
    sim.park(move |t| {
        s.xs.borrow_mut().set_waiter(conn, t);
        if let Some(p) = s.xl.borrow_mut().proc_mut(pid) {
            p.lx.waiter = Some(t);
        }
    })
    .await;
    with_ctx(sim, pid, |c| c.waiter = None);
}

/// `libxl_event_wait` for any event: a queued one, else loop iterations.
pub async fn event_wait(sim: &Sim, pid: u32) -> Option<Event> {
    let s = sim.clone();
    let out: std::rc::Rc<std::cell::RefCell<Option<Event>>> = Default::default();
    let o2 = out.clone();
    sim.call(
        Probe::LibxlEventWait,
        crate::stack::NO_DOM,
        Vec::new,
        async move {
            loop {
                let ev = with_ctx(&s, pid, |c| c.events.pop_front());
                match ev {
                    None => return String::new(),
                    Some(Some(e)) => {
                        let name = e.type_name().to_string();
                        *o2.borrow_mut() = Some(e);
                        return name;
                    }
                    Some(None) => {}
                }
                s.at(L::EventWaitLoop as u16);
                eventloop_iteration(&s, pid).await;
            }
        },
    )
    .await;
    out.take()
}

/// `libxl_event_check`: a queued event, without polling.
pub fn event_check(sim: &Sim, pid: u32) -> Option<Event> {
    with_ctx(sim, pid, |c| c.events.pop_front()).flatten()
}

/// Sleeps `d` in the process (`sleep(2)`): nothing else runs in it.
pub async fn sleep(sim: &Sim, d: SimDuration) {
    sim.sleep(d).await
}

pub use super::ao::{
    ao_complete, ao_create, ao_inprogress, loop_until, path_cleanup, txn, xs, xs_read,
};
