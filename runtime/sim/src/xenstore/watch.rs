//! Watches (X tools/xenstore/xenstored_watch.c): registration fires once at
//! once; a change to node N fires every watch on N or an ancestor of N, and a
//! recursive removal also fires the watches below N (with their own path).
//! Events go out connection by connection in connection order, and within a
//! connection in registration order, as the daemon's two nested loops do.

use super::join;
use std::rc::Rc;

use super::ops::is_child;
use super::{ConnId, Sink, Xenstore, XsErr};
use crate::stack::HopId;
use crate::time::SimTime;

/// A fired watch as its client reads it.
#[derive(Clone, Debug)]
pub struct WatchEvent {
    /// The changed path (relative if the watch was registered relative).
    pub path: Rc<str>,
    /// The watch's token.
    pub token: Rc<str>,
    /// The causal hop of the change that fired it.
    pub hop: Option<HopId>,
}

pub(crate) struct Watch {
    pub conn: ConnId,
    pub path: Rc<str>,
    pub token: Rc<str>,
    /// Length of the implicit `/local/domain/<id>/` prefix of a relative watch.
    pub rel: usize,
    pub seq: u64,
    /// Where its events go when not to the connection's reader: a script's
    /// watch made as a guest (`xs.as_domain(id).watch`), which in the guest
    /// is user space on /dev/xen/xenbus — the kernel's xenbus hands such a
    /// token's events to that file, not to its own watches.
    pub callback: Option<super::WatchCallback>,
}

impl Xenstore {
    /// WATCH: registers and queues the initial event.
    pub fn do_watch(
        &mut self,
        conn: ConnId,
        path: &str,
        token: &str,
        now: SimTime,
        hop: Option<HopId>,
    ) -> Result<(), XsErr> {
        let abs = self.canonicalize(conn, path)?;
        let rel = if path.starts_with('/') || path.starts_with('@') {
            0
        } else {
            abs.len() - path.len()
        };
        if self.find_watch(conn, &abs, token).is_some() {
            return Err(XsErr::EEXIST);
        }
        let c = self.conn(conn);
        // Both daemons compare the count before this watch with `>`, so a
        // domain holds one watch past the quota (xenstored_watch.c:150,
        // connection.ml:151-152).
        if !c.privileged() && c.watches.len() as u32 > self.quotas.watches_per_domain {
            return Err(self.quotas.watch_error());
        }
        self.watch_seq += 1;
        let w = Watch {
            conn,
            path: (*abs).into(),
            token: token.into(),
            rel,
            seq: self.watch_seq,
            callback: self.next_watch_callback.take(),
        };
        let id = self.watches.len() as u32;
        let path_rc = w.path.clone();
        self.watches.push(Some(w));
        self.conn_mut(conn).watches.insert(id);
        self.watch_index
            .entry(path_rc.clone())
            .or_insert_with(|| {
                self.watch_paths.insert(path_rc.clone());
                let n = path_rc.len();
                if self.watch_lens.len() <= n {
                    self.watch_lens.resize(n + 1, 0);
                }
                self.watch_lens[n] += 1;
                Vec::new()
            })
            .push(id);
        // "We fire once up front: simplifies clients and restart."
        self.add_event(id, &path_rc, now, hop);
        Ok(())
    }

    /// UNWATCH: ENOENT for an unknown path and token.
    pub fn do_unwatch(&mut self, conn: ConnId, path: &str, token: &str) -> Result<(), XsErr> {
        let abs = self.canonicalize(conn, path)?;
        let Some(id) = self.find_watch(conn, &abs, token) else {
            return Err(XsErr::ENOENT);
        };
        self.conn_mut(conn).watches.remove(&id);
        self.drop_watch(id);
        Ok(())
    }

    /// The connection's watch on `abs` with `token`. The daemon scans the
    /// connection's list; the index by path finds the same watch without
    /// making xend's connection, with ten watches per domain, quadratic.
    fn find_watch(&self, conn: ConnId, abs: &str, token: &str) -> Option<u32> {
        self.watch_index.get(abs)?.iter().copied().find(|&id| {
            self.watches[id as usize]
                .as_ref()
                .is_some_and(|w| w.conn == conn && *w.token == *token)
        })
    }

    pub(crate) fn drop_watch(&mut self, id: u32) {
        if let Some(w) = self.watches[id as usize].take() {
            if let Some(v) = self.watch_index.get_mut(&w.path) {
                v.retain(|&x| x != id);
                if v.is_empty() {
                    self.watch_index.remove(&w.path);
                    self.watch_paths.remove(&w.path);
                    self.watch_lens[w.path.len()] -= 1;
                }
            }
        }
    }

    /// Drops every watch and queued event of a connection.
    pub fn close_conn(&mut self, conn: ConnId) {
        let ws = std::mem::take(&mut self.conn_mut(conn).watches);
        for w in ws {
            self.drop_watch(w);
        }
        let c = self.conn_mut(conn);
        c.queue.clear();
        c.closed = true;
    }

    /// Fires the watches a change to `name` triggers.
    pub(crate) fn fire_watches(
        &mut self,
        name: &str,
        recurse: bool,
        now: SimTime,
        hop: Option<HopId>,
    ) {
        // The store's scratch list, kept between changes for its room.
        let mut hits = std::mem::take(&mut self.watch_hits);
        hits.clear();
        if name.starts_with('@') {
            if let Some(v) = self.watch_index.get(name) {
                for &id in v {
                    let w = self.watches[id as usize].as_ref().expect("indexed watch");
                    hits.push((w.conn, w.seq, id, false));
                }
            }
        } else {
            // Watches on the node itself or an ancestor.
            let b = name.as_bytes();
            let mut end = b.len();
            loop {
                let prefix = if end == 0 { "/" } else { &name[..end] };
                let watched_len = self.watch_lens.get(prefix.len()).is_some_and(|&n| n > 0);
                if let Some(v) = watched_len.then(|| self.watch_index.get(prefix)).flatten() {
                    for &id in v {
                        let w = self.watches[id as usize].as_ref().expect("indexed watch");
                        hits.push((w.conn, w.seq, id, false));
                    }
                }
                if prefix == "/" {
                    break;
                }
                // The parent: a plain byte scan back to the previous '/'
                // (str::rfind's searcher costs more than the short
                // component it crosses).
                match b[..end].iter().rposition(|&c| c == b'/') {
                    Some(i) => end = i,
                    None => break,
                }
            }
            // A removal also reaches the watches below the removed node.
            if recurse && name != "/" {
                let lo: Rc<str> = join(name, "").into();
                for p in self.watch_paths.range(lo.clone()..) {
                    if !p.starts_with(&*lo) {
                        break;
                    }
                    for &id in &self.watch_index[p] {
                        let w = self.watches[id as usize].as_ref().expect("indexed watch");
                        hits.push((w.conn, w.seq, id, true));
                    }
                }
            }
        }
        hits.sort_by_key(|&(c, s, _, _)| (c, s));
        for &(_, _, id, below) in &hits {
            let w = self.watches[id as usize].as_ref().expect("indexed watch");
            debug_assert!(below || is_child(name, &w.path) || name.starts_with('@'));
            if below {
                let path = w.path.clone();
                self.add_event(id, &path, now, hop);
            } else {
                self.add_event(id, name, now, hop);
            }
        }
        self.watch_hits = hits;
    }

    fn add_event(&mut self, id: u32, name: &str, now: SimTime, hop: Option<HopId>) {
        let w = self.watches[id as usize].as_ref().expect("live watch");
        let shown: Rc<str> = if w.rel > 0 && name.len() >= w.rel && !name.starts_with('@') {
            name[w.rel..].into()
        } else {
            name.into()
        };
        let ev = WatchEvent {
            path: shown,
            token: w.token.clone(),
            hop,
        };
        let conn = w.conn;
        let own = w.callback.clone();
        let c = &mut self.conns[conn.0 as usize];
        if c.closed {
            return;
        }
        let lat = if self.instant {
            crate::time::SimDuration::ZERO
        } else if c.is_domain && c.domid != 0 {
            self.ring_latency
        } else {
            // A dom0 process reads its socket with one thread (libxenstore's
            // reader), and a requester woken by its reply is already running
            // when the event's reader gets the GIL: the event is seen just
            // after the reply that followed it (reference §2.15's order).
            crate::time::SimDuration(self.socket_latency.0 * 2 + 1_000)
        };
        let ready = now.after(lat);
        if let Some(f) = own {
            self.owed_calls.push((ready, f, ev));
            return;
        }
        match &c.sink {
            Sink::Queue => {
                c.queue.push_back((ready, ev));
                if let Some(t) = c.waiter.take() {
                    self.owed_wakes.push((ready, t));
                }
            }
            Sink::Callback(f) => {
                let f = f.clone();
                self.owed_calls.push((ready, f, ev));
            }
        }
    }

    /// Fires a special watch (`@introduceDomain`, `@releaseDomain`).
    pub fn fire_special(&mut self, name: &str, now: SimTime, hop: Option<HopId>) {
        self.fire_watches(name, false, now, hop);
    }

    /// Watches registered, as (connection label, path, token), in order.
    pub fn watch_list(&self) -> Vec<(Rc<str>, Rc<str>, Rc<str>)> {
        let mut v: Vec<&super::watch::Watch> = self.watches.iter().flatten().collect();
        v.sort_by_key(|w| (w.conn, w.seq));
        v.into_iter()
            .map(|w| {
                (
                    self.conn(w.conn).label.clone(),
                    w.path.clone(),
                    w.token.clone(),
                )
            })
            .collect()
    }

    /// The connection and path of the watch with `token` (a script's
    /// tokens are unique across connections).
    pub fn watch_of_token(&self, token: &str) -> Option<(ConnId, Rc<str>)> {
        self.watches
            .iter()
            .flatten()
            .find(|w| &*w.token == token)
            .map(|w| (w.conn, w.path.clone()))
    }

    /// Sends the events of the next watch registered to `f` instead of to
    /// its connection's reader (see `Watch::callback`).
    pub fn deliver_next_watch_to(&mut self, f: super::WatchCallback) {
        self.next_watch_callback = Some(f);
    }

    /// Forgets a `deliver_next_watch_to` that no WATCH took (it failed).
    pub fn next_watch_callback_clear(&mut self) {
        self.next_watch_callback = None;
    }
}
