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

/// One registered watch. A host of ten thousand domains holds over a
/// hundred thousand (each guest's kernel and dom0's backends watch every
/// device's other end, xend every domain's `/vm` and control nodes), so a
/// watch is kept small: the rare script callback lives beside it
/// (`Xenstore::watch_callbacks`), and the watches on one path are chained
/// through the watches themselves rather than listed in a vector per path.
pub(crate) struct Watch {
    pub path: Rc<str>,
    pub token: Rc<str>,
    pub conn: ConnId,
    /// Length of the implicit `/local/domain/<id>/` prefix of a relative watch.
    pub rel: u32,
    /// Registration order: the order of the daemon's per-connection list.
    pub seq: u64,
    /// The next watch on the same path (`NO_WATCH`: the last).
    next: u32,
}

/// The end of a chain of watches on one path.
const NO_WATCH: u32 = u32::MAX;

impl Xenstore {
    /// WATCH: registers and queues the initial event. The watch keeps the
    /// caller's token, and an absolute path as given or as already watched,
    /// without copies: a host's ten thousand domains hold 150,000 watches.
    pub fn do_watch(
        &mut self,
        conn: ConnId,
        given: &Rc<str>,
        token: &Rc<str>,
        now: SimTime,
        hop: Option<HopId>,
    ) -> Result<(), XsErr> {
        let abs = self.canonicalize(conn, given)?;
        let rel = if given.starts_with('/') || given.starts_with('@') {
            0
        } else {
            abs.len() - given.len()
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
        self.watch_version += 1;
        let path: Rc<str> = match self.watch_index.get_key_value(&*abs) {
            Some((p, _)) => p.clone(),
            None if rel == 0 => given.clone(),
            None => (*abs).into(),
        };
        let id = match self.free_watches.pop() {
            Some(id) => id,
            None => {
                self.watches.push(None);
                self.watches.len() as u32 - 1
            }
        };
        if let Some(f) = self.next_watch_callback.take() {
            self.watch_callbacks.insert(id, f);
        }
        self.conn_mut(conn).watches.insert(id);
        let head = self.watch_index.entry(path.clone()).or_insert_with(|| {
            self.watch_paths.insert(path.clone());
            let n = path.len();
            if self.watch_lens.len() <= n {
                self.watch_lens.resize(n + 1, 0);
            }
            self.watch_lens[n] += 1;
            NO_WATCH
        });
        let next = std::mem::replace(head, id);
        self.watches[id as usize] = Some(Watch {
            path: path.clone(),
            token: token.clone(),
            conn,
            rel: rel as u32,
            seq: self.watch_seq,
            next,
        });
        // "We fire once up front: simplifies clients and restart."
        self.add_event(id, &path, now, hop);
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
        let head = *self.watch_index.get(abs)?;
        self.same_path(head).find(|&id| {
            let w = self.watch(id);
            w.conn == conn && *w.token == *token
        })
    }

    /// The live watch `id`.
    fn watch(&self, id: u32) -> &Watch {
        self.watches[id as usize].as_ref().expect("live watch")
    }

    /// The ids of the watches on one path, from the chain's `head`.
    fn same_path(&self, head: u32) -> impl Iterator<Item = u32> + '_ {
        std::iter::successors(Some(head).filter(|&id| id != NO_WATCH), |&id| {
            Some(self.watch(id).next).filter(|&n| n != NO_WATCH)
        })
    }

    pub(crate) fn drop_watch(&mut self, id: u32) {
        let Some(w) = self.watches[id as usize].take() else {
            return;
        };
        self.watch_version += 1;
        self.watch_callbacks.remove(&id);
        self.free_watches.push(id);
        let Some(head) = self.watch_index.get_mut(&w.path) else {
            return;
        };
        if *head == id {
            *head = w.next;
            if w.next == NO_WATCH {
                self.watch_index.remove(&w.path);
                self.watch_paths.remove(&w.path);
                self.watch_lens[w.path.len()] -= 1;
            }
            return;
        }
        let head = *head;
        // Unlinked from the one before it on the same path.
        let mut prev = head;
        while let Some(p) = self.watches[prev as usize].as_mut() {
            if p.next == id {
                p.next = w.next;
                return;
            }
            prev = p.next;
            if prev == NO_WATCH {
                return;
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
            if let Some(&head) = self.watch_index.get(name) {
                for id in self.same_path(head) {
                    hits.push((self.watch(id).conn, self.watch(id).seq, id, false));
                }
            }
        } else {
            // Watches on the node itself or an ancestor. Those of the
            // directories it shares with the last path changed are known
            // (if no watch came or went since): only the rest are looked up.
            let (mut last, version, mut found) = std::mem::take(&mut self.fired_last);
            let b = name.as_bytes();
            let shared =
                (version == self.watch_version).then(|| super::shared_dirs(last.as_bytes(), b));
            match shared {
                Some(n) => found.retain(|&(len, _)| len as usize <= n),
                None => found.clear(),
            }
            // (`/` itself is the root's prefix, as the root is every path's.)
            let mut end = if name == "/" { 0 } else { b.len() };
            loop {
                if shared.is_some_and(|n| end <= n) {
                    break;
                }
                let prefix = if end == 0 { "/" } else { &name[..end] };
                let watched_len = self.watch_lens.get(prefix.len()).is_some_and(|&n| n > 0);
                if let Some(&head) = watched_len.then(|| self.watch_index.get(prefix)).flatten() {
                    let len = if prefix == "/" { 0 } else { end };
                    found.push((len as u32, head));
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
            for &(_, head) in &found {
                for id in self.same_path(head) {
                    hits.push((self.watch(id).conn, self.watch(id).seq, id, false));
                }
            }
            last.clear();
            last.push_str(name);
            self.fired_last = (last, self.watch_version, found);
            // A removal also reaches the watches below the removed node.
            if recurse && name != "/" {
                let lo: Rc<str> = join(name, "").into();
                for p in self.watch_paths.range(lo.clone()..) {
                    if !p.starts_with(&*lo) {
                        break;
                    }
                    for id in self.same_path(self.watch_index[p]) {
                        hits.push((self.watch(id).conn, self.watch(id).seq, id, true));
                    }
                }
            }
        }
        hits.sort_by_key(|&(c, s, _, _)| (c, s));
        for &(_, _, id, below) in &hits {
            let w = self.watch(id);
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
        let w = self.watch(id);
        let rel = w.rel as usize;
        let shown: Rc<str> = if rel > 0 && name.len() >= rel && !name.starts_with('@') {
            name[rel..].into()
        } else {
            name.into()
        };
        let ev = WatchEvent {
            path: shown,
            token: w.token.clone(),
            hop,
        };
        let conn = w.conn;
        let own = self.watch_callbacks.get(&id).cloned();
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
            .filter(|w| &*w.token == token)
            .min_by_key(|w| w.seq)
            .map(|w| (w.conn, w.path.clone()))
    }

    /// Sends the events of the next watch registered to `f` instead of to
    /// its connection's reader (kept in `Xenstore::watch_callbacks`).
    pub fn deliver_next_watch_to(&mut self, f: super::WatchCallback) {
        self.next_watch_callback = Some(f);
    }

    /// Forgets a `deliver_next_watch_to` that no WATCH took (it failed).
    pub fn next_watch_callback_clear(&mut self) {
        self.next_watch_callback = None;
    }
}
