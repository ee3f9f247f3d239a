//! xenstored: the tree, connections, permissions, watches, transactions and
//! quotas of Xen 4.4's two daemons, C xenstored and oxenstored (reference §3).
//!
//! - `tree.rs` — compact node storage with creation-ordered children;
//! - `ops.rs` — READ/WRITE/MKDIR/RM/DIRECTORY/GET_PERMS/SET_PERMS with the real
//!   permission and error rules;
//! - `watch.rs` — WATCH/UNWATCH, firing on registration and on changes at or
//!   below the watched path, `@introduceDomain`/`@releaseDomain`;
//! - `txn.rs` — transactions with C xenstored's coarse generation check;
//! - `client.rs` — what a client sees: each request is a probe, costs a round
//!   trip of virtual time, and queues watch events for their consumers;
//! - `dump.rs` — `xenstore-ls`-style dumps.
//!
//! The daemon itself has no task: requests are served when they arrive
//! (xenstored is single-threaded and fast next to everything here); its one
//! piece of own work is the VIRQ_DOM_EXC handler, run from `dom0`.

mod client;
mod dump;
mod ops;
mod path_cache;
mod tree;
mod txn;
mod watch;

pub use client::{deliver_owed, perform, xs_request, Outgoing, Req, Resp, XsResult};
pub use ops::PermSet;
pub use watch::WatchEvent;

use std::collections::VecDeque;

use crate::fxhash::FxHashMap;
use std::fmt;
use std::rc::Rc;

use crate::exec::TaskId;
use crate::time::SimTime;
use tree::Tree;

/// `dir + "/" + name`, as xend's `"%s/%s" % (path, key)` and libxl's
/// `GCSPRINTF("%s/%s", ...)` build the paths they ask for: every request
/// names one, so it is made in one allocation of the right size rather
/// than through the formatting machinery.
pub fn join(dir: &str, name: &str) -> String {
    let mut p = String::with_capacity(dir.len() + 1 + name.len());
    p.push_str(dir);
    p.push('/');
    p.push_str(name);
    p
}

/// `/local/domain/<domid>`, a domain's home in the store, which the
/// toolstacks build once per domain and join the rest of its paths to.
pub fn local_domain(domid: u32) -> String {
    ["/local/domain/", itoa::Buffer::new().format(domid)].concat()
}

/// How much of `b` names directories (or the whole of) `a` also names:
/// the longest common prefix at which each path ends or has a `/` (0 when
/// they share only the root). Every ancestor of `b` no longer than that is
/// an ancestor of `a`, with the same text: a transaction narrows its lowest
/// path with it, and a change's watches reuse what the last change found.
pub(crate) fn shared_dirs(a: &[u8], b: &[u8]) -> usize {
    // The first byte where they differ, eight at a time while they agree.
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n && a[i..i + 8] == b[i..i + 8] {
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    // Both end a component there: the whole shared part counts.
    let ends = |p: &[u8]| i == p.len() || p[i] == b'/';
    if ends(a) && ends(b) {
        return i;
    }
    // Otherwise back to the last component boundary before it.
    a[..i].iter().rposition(|&c| c == b'/').unwrap_or(0)
}

/// The components of `path` between its `/`s, as `path.split('/')` gives
/// them. Paths are cut into components on most requests and the components
/// are a few bytes long, so a plain byte scan is used rather than the
/// general string searcher, whose setup costs more than the scan.
pub fn components(path: &str) -> Components<'_> {
    Components { rest: Some(path) }
}

/// The iterator `components` returns.
pub struct Components<'a> {
    rest: Option<&'a str>,
}

impl<'a> Iterator for Components<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let r = self.rest?;
        match r.bytes().position(|b| b == b'/') {
            Some(i) => {
                self.rest = Some(&r[i + 1..]);
                Some(&r[..i])
            }
            None => {
                self.rest = None;
                Some(r)
            }
        }
    }
}

/// xenstore's error names, as sent on the wire (plus oxenstored's EQUOTA
/// and EPERM from SET_PERMS).
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
#[allow(missing_docs)]
pub enum XsErr {
    EINVAL,
    EACCES,
    EEXIST,
    EISDIR,
    ENOENT,
    ENOMEM,
    ENOSPC,
    EIO,
    ENOTEMPTY,
    ENOSYS,
    EROFS,
    EBUSY,
    EAGAIN,
    EISCONN,
    E2BIG,
    EPERM,
    EQUOTA,
}

impl XsErr {
    /// The errno name.
    pub fn name(self) -> &'static str {
        match self {
            XsErr::EINVAL => "EINVAL",
            XsErr::EACCES => "EACCES",
            XsErr::EEXIST => "EEXIST",
            XsErr::EISDIR => "EISDIR",
            XsErr::ENOENT => "ENOENT",
            XsErr::ENOMEM => "ENOMEM",
            XsErr::ENOSPC => "ENOSPC",
            XsErr::EIO => "EIO",
            XsErr::ENOTEMPTY => "ENOTEMPTY",
            XsErr::ENOSYS => "ENOSYS",
            XsErr::EROFS => "EROFS",
            XsErr::EBUSY => "EBUSY",
            XsErr::EAGAIN => "EAGAIN",
            XsErr::EISCONN => "EISCONN",
            XsErr::E2BIG => "E2BIG",
            XsErr::EPERM => "EPERM",
            XsErr::EQUOTA => "EQUOTA",
        }
    }

    /// The Linux errno number (a guest's xenbus returns -errno).
    pub fn errno(self) -> i64 {
        match self {
            XsErr::EPERM => 1,
            XsErr::ENOENT => 2,
            XsErr::EIO => 5,
            XsErr::E2BIG => 7,
            XsErr::EAGAIN => 11,
            XsErr::ENOMEM => 12,
            XsErr::EACCES => 13,
            XsErr::EBUSY => 16,
            XsErr::EEXIST => 17,
            XsErr::EISDIR => 21,
            XsErr::EINVAL => 22,
            XsErr::ENOSPC => 28,
            XsErr::EROFS => 30,
            XsErr::ENOSYS => 38,
            XsErr::ENOTEMPTY => 39,
            XsErr::EISCONN => 106,
            XsErr::EQUOTA => 122,
        }
    }
}

impl fmt::Display for XsErr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A connection to xenstored.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct ConnId(pub u32);

/// An open transaction.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct TxId(pub u32);

/// A script's watch callback.
pub type WatchCallback = Rc<dyn Fn(&crate::Sim, &WatchEvent)>;
/// A callback owed to a watcher: when, what, with which event.
pub type OwedCall = (SimTime, WatchCallback, WatchEvent);

/// Where a connection's watch events go.
#[derive(Clone)]
pub enum Sink {
    /// Into the connection's queue, for a reader task (xend's Watcher, a
    /// guest's xenwatch, dom0's kernel).
    Queue,
    /// Straight to a callback (a script's `xs.watch`).
    Callback(WatchCallback),
}

/// A client connection.
pub struct Conn {
    /// Who is asking (0 for dom0 tools).
    pub domid: u32,
    /// A domain's ring (subject to permissions) rather than a dom0 socket.
    pub is_domain: bool,
    /// A read-only socket.
    pub readonly: bool,
    /// A stub domain's target (SET_TARGET).
    pub target: Option<u32>,
    /// What the connection is, for dumps and errors.
    pub label: Rc<str>,
    /// Gone (domain released).
    pub closed: bool,
    /// Its watches' ids.
    pub(crate) watches: std::collections::BTreeSet<u32>,
    pub(crate) open_txns: u32,
    /// Where events go.
    pub sink: Sink,
    pub(crate) queue: VecDeque<(SimTime, WatchEvent)>,
    pub(crate) waiter: Option<TaskId>,
}

impl Conn {
    /// Privileged: dom0 or a socket client (the permission checks skip it).
    pub fn privileged(&self) -> bool {
        !self.is_domain || self.domid == 0
    }
}

/// What an unprivileged domain may hold, and what a refusal says: the two
/// daemons differ (reference §3.3-3.5, checked against xenstored_core.c:87-90
/// and oxenstored.conf at RELEASE-4.4.4; docs/fidelity.md).
#[derive(Clone, Debug)]
pub struct Quotas {
    /// Nodes a domain may own.
    pub entries_per_domain: u32,
    /// C: bytes in one node record (perms, value and children's names);
    /// oxenstored: bytes in one value.
    pub entry_size: usize,
    /// Watches a domain may hold.
    pub watches_per_domain: u32,
    /// Open transactions per connection.
    pub transactions: u32,
    /// Whose rules: C xenstored's errnos (E2BIG, ENOSPC) or oxenstored's
    /// EQUOTA and its value-size check on every writer.
    pub kind: crate::profile::XenstoredKind,
}

impl Quotas {
    /// C xenstored's built-in quotas (`quota_nb_entry_per_domain` and the
    /// three after it, xenstored_core.c:87-90).
    pub fn c() -> Quotas {
        Quotas {
            entries_per_domain: 1000,
            entry_size: 2048,
            watches_per_domain: 128,
            transactions: 10,
            kind: crate::profile::XenstoredKind::C,
        }
    }

    /// oxenstored's quotas as its shipped oxenstored.conf sets them
    /// (`quota-maxentity`, `-maxsize`, `-maxwatch`, `-transaction`); the
    /// built-in defaults of quota.ml and define.ml apply only without it.
    pub fn ocaml() -> Quotas {
        Quotas {
            entries_per_domain: 1000,
            entry_size: 2048,
            watches_per_domain: 100,
            transactions: 10,
            kind: crate::profile::XenstoredKind::OCaml,
        }
    }

    /// The quotas of a daemon.
    pub fn of(kind: crate::profile::XenstoredKind) -> Quotas {
        match kind {
            crate::profile::XenstoredKind::C => Quotas::c(),
            crate::profile::XenstoredKind::OCaml => Quotas::ocaml(),
        }
    }

    /// The error a domain over its watch quota gets: C's `E2BIG`
    /// (xenstored_watch.c:150-153), oxenstored's `Quota.Limit_reached`
    /// sent as `EQUOTA` (connection.ml:150-153, process.ml:347).
    pub fn watch_error(&self) -> XsErr {
        self.over_quota(XsErr::E2BIG)
    }

    /// Over the open-transaction quota: C's `ENOSPC`
    /// (xenstored_transaction.c:151-154), oxenstored's
    /// `Quota.Transaction_opened` as `EQUOTA` (process.ml:349).
    pub fn transaction_error(&self) -> XsErr {
        self.over_quota(XsErr::ENOSPC)
    }

    /// Over the node quota: C's `construct_node` fails, ENOSPC
    /// (xenstored_core.c:821); oxenstored's `Limit_reached`, EQUOTA.
    pub fn entry_error(&self) -> XsErr {
        self.over_quota(XsErr::ENOSPC)
    }

    fn over_quota(&self, c_errno: XsErr) -> XsErr {
        match self.kind {
            crate::profile::XenstoredKind::C => c_errno,
            crate::profile::XenstoredKind::OCaml => XsErr::EQUOTA,
        }
    }
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas::of(crate::profile::XenstoredKind::default())
    }
}

/// The daemon's state.
pub struct Xenstore {
    pub(crate) tree: Tree,
    /// Where recently resolved paths led (`ops::walk`).
    pub(crate) paths: path_cache::PathCache,
    pub(crate) perms: ops::PermTable,
    pub(crate) conns: Vec<Conn>,
    /// The watches by id; a dropped watch's slot is reused.
    pub(crate) watches: Vec<Option<watch::Watch>>,
    /// Ids of the free slots of `watches`.
    pub(crate) free_watches: Vec<u32>,
    /// Where a watch's events go when not to its connection's reader, by
    /// watch id: a script's watch made as a guest (`xs.as_domain(id).watch`),
    /// which in the guest is user space on /dev/xen/xenbus — the kernel's
    /// xenbus hands such a token's events to that file, not to its own
    /// watches (`deliver_next_watch_to`).
    pub(crate) watch_callbacks: FxHashMap<u32, WatchCallback>,
    /// Watches by exact path (the first of the path's chain): firing looks
    /// up the changed node and each ancestor here.
    pub(crate) watch_index: FxHashMap<Rc<str>, u32>,
    /// The watched paths in order, for the watches below a removed node.
    pub(crate) watch_paths: std::collections::BTreeSet<Rc<str>>,
    /// How many watched paths have each length: firing skips the ancestors
    /// of a changed node whose length no watch has, without hashing them.
    pub(crate) watch_lens: Vec<u32>,
    /// Watches ever registered (a watch's `seq`).
    pub(crate) watch_seq: u64,
    /// Scratch room for the watches one change fires.
    pub(crate) watch_hits: Vec<(ConnId, u64, u32, bool)>,
    /// Bumped whenever a watch is added or dropped: what `watch_index`
    /// answered before holds while this stands still.
    pub(crate) watch_version: u64,
    /// The last path changed, `watch_version` then, and its watched
    /// ancestors (the prefix's length, 0 for `/`, and its chain's head):
    /// consecutive changes mostly share their directories (a commit's
    /// paths, a device's nodes), whose watches are then not looked up again.
    pub(crate) fired_last: (String, u64, Vec<(u32, u32)>),
    pub(crate) txns: Vec<Option<txn::Txn>>,
    /// Ended transactions, emptied, whose room the next ones take.
    pub(crate) spare_txns: Vec<txn::Txn>,
    /// Scratch room for the paths a commit changed, by where they are in
    /// its transaction's text.
    pub(crate) txn_changed: Vec<(txn::Span, bool)>,
    /// Free slots of `txns`, lowest first (a new transaction takes the lowest).
    pub(crate) free_txns: std::collections::BinaryHeap<std::cmp::Reverse<u32>>,
    pub(crate) generation: u64,
    /// Node → the generation when it, or something below it, last changed
    /// while a transaction was open (oxenstored's node identity, for
    /// transaction coalescing; see `touch_node`).
    pub(crate) changed_at: FxHashMap<u32, u32>,
    /// `changed_at`'s size at which `forget_old_changes` next looks.
    pub(crate) changed_prune_at: usize,
    pub(crate) entries: FxHashMap<u32, u32>,
    /// Quotas in force.
    pub quotas: Quotas,
    /// Domains introduced (domid → connection), in introduction order.
    pub(crate) domains: std::collections::BTreeMap<u32, DomainConn>,
    /// Introduced domains `domain_cleanup` must look at next time even if
    /// Xen did not change them: those introduced since it last looked, and
    /// those it found dying or gone but could not release (dom0/xenstored.rs).
    pub(crate) cleanup_check: std::collections::BTreeSet<u32>,
    /// Introduced domains it last found shut down or crashed.
    pub(crate) cleanup_down: std::collections::BTreeSet<u32>,
    /// Wake-ups owed to reader tasks after the last request (drained by the client).
    pub(crate) owed_wakes: Vec<(SimTime, TaskId)>,
    /// Callbacks owed after the last request.
    pub(crate) owed_calls: Vec<OwedCall>,
    /// The callback the next WATCH registered delivers to (`deliver_next_watch_to`).
    pub(crate) next_watch_callback: Option<WatchCallback>,
    /// Latency from a change to its watch event reaching a dom0 socket client.
    pub socket_latency: crate::time::SimDuration,
    /// Latency to a domain's ring.
    pub ring_latency: crate::time::SimDuration,
    /// Requests served.
    pub requests: u64,
    /// Entries of every DIRECTORY reply served: `xenstore-rm -t` lists the
    /// parent of what it removed, so with many domains this grows as the
    /// square of their number (`xsh bench` reports it).
    pub listed: u64,
    /// While true, latencies are zero (`xm create` settling at one instant).
    pub instant: bool,
    /// Which daemon's rules apply (transactions, `@releaseDomain`).
    pub kind: crate::profile::XenstoredKind,
}

/// xenstored's view of an introduced domain (for `@releaseDomain`).
#[derive(Clone, Debug)]
pub struct DomainConn {
    /// Its connection.
    pub conn: ConnId,
    /// Latched once the domain was seen shut down (C xenstored's `domain->shutdown`).
    pub shutdown_seen: bool,
}

impl Default for Xenstore {
    fn default() -> Self {
        Self::new()
    }
}

impl Xenstore {
    /// A store holding `/` and `/tool/xenstored`, owned by dom0 with no
    /// access for others, as xenstored's `setup_structure` leaves it.
    pub fn new() -> Xenstore {
        let mut perms = ops::PermTable::default();
        let root_perms = perms.intern(&[(0, 0)]);
        let mut xs = Xenstore {
            tree: Tree::new(root_perms),
            paths: path_cache::PathCache::default(),
            perms,
            conns: Vec::new(),
            watches: Vec::new(),
            free_watches: Vec::new(),
            watch_callbacks: FxHashMap::default(),
            watch_index: FxHashMap::default(),
            watch_paths: std::collections::BTreeSet::new(),
            watch_lens: Vec::new(),
            watch_seq: 0,
            watch_hits: Vec::new(),
            watch_version: 1,
            fired_last: (String::new(), 0, Vec::new()),
            txns: Vec::new(),
            spare_txns: Vec::new(),
            txn_changed: Vec::new(),
            free_txns: std::collections::BinaryHeap::new(),
            generation: 0,
            changed_at: FxHashMap::default(),
            changed_prune_at: 4096,
            entries: FxHashMap::default(),
            quotas: Quotas::default(),
            domains: std::collections::BTreeMap::new(),
            cleanup_check: std::collections::BTreeSet::new(),
            cleanup_down: std::collections::BTreeSet::new(),
            owed_wakes: Vec::new(),
            owed_calls: Vec::new(),
            next_watch_callback: None,
            socket_latency: crate::time::SimDuration::micros(20),
            ring_latency: crate::time::SimDuration::micros(60),
            requests: 0,
            listed: 0,
            instant: false,
            kind: crate::profile::XenstoredKind::default(),
        };
        let tool = xs.tree.add_child(Tree::ROOT, "tool", root_perms);
        xs.tree.add_child(tool, "xenstored", root_perms);
        xs
    }

    /// Opens a connection.
    pub fn connect(&mut self, domid: u32, is_domain: bool, label: &str, sink: Sink) -> ConnId {
        self.conns.push(Conn {
            domid,
            is_domain,
            readonly: false,
            target: None,
            label: label.into(),
            closed: false,
            watches: std::collections::BTreeSet::new(),
            open_txns: 0,
            sink,
            queue: VecDeque::new(),
            waiter: None,
        });
        ConnId((self.conns.len() - 1) as u32)
    }

    /// A connection.
    pub fn conn(&self, c: ConnId) -> &Conn {
        &self.conns[c.0 as usize]
    }

    /// A connection, mutably.
    pub fn conn_mut(&mut self, c: ConnId) -> &mut Conn {
        &mut self.conns[c.0 as usize]
    }

    /// Takes the next watch event due by `now` from a queue-sink connection.
    pub fn next_event(&mut self, c: ConnId, now: SimTime) -> Option<WatchEvent> {
        let q = &mut self.conns[c.0 as usize].queue;
        match q.front() {
            Some((t, _)) if *t <= now => q.pop_front().map(|(_, e)| e),
            _ => None,
        }
    }

    /// When the next queued event of a connection is due.
    pub fn next_event_time(&self, c: ConnId) -> Option<SimTime> {
        self.conns[c.0 as usize].queue.front().map(|(t, _)| *t)
    }

    /// Parks `t` as the reader of a connection's queue.
    pub fn set_waiter(&mut self, c: ConnId, t: TaskId) {
        self.conns[c.0 as usize].waiter = Some(t);
    }

    /// Drains the wake-ups and callbacks the last requests owe.
    pub fn take_owed(&mut self) -> (Vec<(SimTime, TaskId)>, Vec<OwedCall>) {
        (
            std::mem::take(&mut self.owed_wakes),
            std::mem::take(&mut self.owed_calls),
        )
    }

    /// Number of live nodes.
    pub fn node_count(&self) -> u32 {
        self.tree.live
    }

    /// The connection of an introduced domain.
    pub fn domain_conn(&self, domid: u32) -> Option<ConnId> {
        self.domains.get(&domid).map(|d| d.conn)
    }

    /// Domains introduced and not released, in order.
    pub fn introduced(&self) -> Vec<u32> {
        self.domains.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn components_are_what_splitting_at_each_slash_gives() {
        for p in [
            "",
            "/",
            "//",
            "a",
            "/a",
            "a/",
            "/a/b",
            "a//b",
            "/local/domain/7/device/vif/0/state",
        ] {
            let want: Vec<&str> = p.split('/').collect();
            let got: Vec<&str> = super::components(p).collect();
            assert_eq!(got, want, "{p:?}");
        }
    }
}
