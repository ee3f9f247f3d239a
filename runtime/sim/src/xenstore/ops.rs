//! The node operations, with C xenstored's permission rules
//! (X tools/xenstore/xenstored_core.c:482-573, 905-1160).

use crate::fxhash::FxHashMap;
use crate::profile::XenstoredKind;
use std::borrow::Cow;
use std::rc::Rc;

use super::tree::Tree;
use super::{ConnId, TxId, Xenstore, XsErr};

pub(crate) const PERM_READ: u8 = 1;
pub(crate) const PERM_WRITE: u8 = 2;
const PERM_OWNER: u8 = 4;

/// A node's permissions as scripts see them: `(domid, 'n'|'r'|'w'|'b')`, the
/// first entry naming the owner and the default for unlisted domains.
pub type PermSet = Vec<(u32, char)>;

/// Interned permission lists: a few per domain (its nodes carry its id as
/// owner), each held once for all the nodes that carry it.
#[derive(Default)]
pub(crate) struct PermTable {
    sets: Vec<Rc<[(u32, u8)]>>,
    index: FxHashMap<Rc<[(u32, u8)]>, u32>,
}

impl PermTable {
    pub fn intern(&mut self, p: &[(u32, u8)]) -> u32 {
        if let Some(&i) = self.index.get(p) {
            return i;
        }
        let i = self.sets.len() as u32;
        let set: Rc<[(u32, u8)]> = p.into();
        self.sets.push(set.clone());
        self.index.insert(set, i);
        i
    }
    pub fn get(&self, i: u32) -> &[(u32, u8)] {
        &self.sets[i as usize]
    }
}

pub(crate) fn perm_char(p: u8) -> char {
    match p & 3 {
        0 => 'n',
        1 => 'r',
        2 => 'w',
        _ => 'b',
    }
}

pub(crate) fn perm_bits(c: char) -> Option<u8> {
    Some(match c {
        'n' => 0,
        'r' => PERM_READ,
        'w' => PERM_WRITE,
        'b' => PERM_READ | PERM_WRITE,
        _ => return None,
    })
}

/// Where the last '/' of a path is: a plain byte scan back, which for a
/// short last component costs a fraction of `str::rfind`'s searcher (this
/// runs for nearly every request).
#[inline]
pub(crate) fn last_slash(path: &str) -> Option<usize> {
    path.as_bytes().iter().rposition(|&c| c == b'/')
}

/// A node's value as the text a client gets. Values are bytes, and what
/// the toolstacks and guests write is almost always ASCII: a word-at-a-time
/// check of that is a fraction of UTF-8 validation on the short values a
/// READ returns (every READ comes through here).
fn value_text(v: &[u8]) -> String {
    if v.is_ascii() {
        // SAFETY: ASCII bytes are valid UTF-8.
        return unsafe { std::str::from_utf8_unchecked(v) }.to_owned();
    }
    String::from_utf8_lossy(v).into_owned()
}

/// `/local/domain/<domid>/<rel>`: where a guest's relative path leads. Its
/// requests name most paths this way: the string is made at its final size
/// at once, rather than grown as `format!` goes.
fn domain_path(domid: u32, rel: &str) -> String {
    use std::fmt::Write as _;
    let mut p = String::with_capacity("/local/domain/4294967295/".len() + rel.len());
    let _ = write!(p, "/local/domain/{domid}/");
    p.push_str(rel);
    p
}

/// Is `s` a valid node name (xenstore.txt:37-43)?
pub(crate) fn valid_path(s: &str) -> bool {
    if s.is_empty() || s.len() > 3072 {
        return false;
    }
    if s == "/" {
        return true;
    }
    if !s.starts_with('/') || s.ends_with('/') {
        return false;
    }
    // Every request's path comes through here, so both rules are checked
    // in one pass without a branch, which the compiler unrolls: a separate
    // search for "//" costs more than the pass itself on a short path.
    // The classes of two neighbouring bytes add up to a value with bit 2
    // set only if the second is allowed and they are not both '/' (see
    // `PATH_BYTE`); the first byte's neighbour counts as a letter.
    let (all, _) = s.bytes().fold((0b100, 3), |(all, prev), b| {
        let class = PATH_BYTE[b as usize];
        (all & (prev + class), class)
    });
    all & 0b100 != 0
}

/// Is `dir` (`""` for the root) a directory above `path`, which names
/// something in it?
fn is_dir_of(dir: &str, path: &str) -> bool {
    path.len() > dir.len() + 1 && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/'
}

/// Where a path led when it was resolved: `walk`'s answer, and the
/// store's removal count then. A transaction resolves each path it changes
/// when the request arrives; its commit reuses the answer while it still
/// holds (`Xenstore::walk_from`) rather than walking the path again.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Resolved {
    pub found: Result<u32, (u32, usize)>,
    removals: u64,
}

/// Which bytes a path may hold: xenstored's `is_valid_nodename` allows
/// letters, digits, `-/_@`. A byte's class is 3 for those but '/', 1 for
/// '/', 0 for the rest, so that two neighbours' classes add up to 4 or 6
/// (bit 2 set) when the second is allowed and not both are '/', and to
/// 0..3 or 2 (bit 2 clear) otherwise.
static PATH_BYTE: [u8; 256] = {
    let mut t = [0; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        if c == b'/' {
            t[i] = 1;
        } else if c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'@' {
            t[i] = 3;
        }
        i += 1;
    }
    t
};

impl Xenstore {
    /// Turns a client's path into an absolute one (relative paths are under
    /// the client's `/local/domain/<domid>`).
    pub fn canonicalize<'p>(&self, conn: ConnId, path: &'p str) -> Result<Cow<'p, str>, XsErr> {
        if path.starts_with('@') {
            return Ok(Cow::Borrowed(path));
        }
        let abs = if path.starts_with('/') {
            Cow::Borrowed(path)
        } else {
            if path.len() > 2048 {
                return Err(XsErr::EINVAL);
            }
            Cow::Owned(domain_path(self.conn(conn).domid, path))
        };
        if valid_path(&abs) {
            Ok(abs)
        } else {
            Err(XsErr::EINVAL)
        }
    }

    pub(crate) fn lookup(&self, path: &str) -> Option<u32> {
        self.walk(path).ok()
    }

    /// Resolves an absolute path in one pass: the node, or else the deepest
    /// existing ancestor and the byte offset in `path` of the first missing
    /// component. Every request resolves its path, so this is the hot loop
    /// of the whole store.
    pub(crate) fn walk(&self, path: &str) -> Result<u32, (u32, usize)> {
        let b = path.as_bytes();
        if b.len() <= 1 {
            return Ok(Tree::ROOT);
        }
        if let Some(id) = self.paths.get(&self.tree, path) {
            return Ok(id);
        }
        // Most paths asked for the first time are a new entry (or a missing
        // one) in a directory already known, or a path in a subtree a
        // transaction is making, below a node already known: start from
        // the deepest ancestor remembered rather than from the root.
        let (mut id, mut start) = (Tree::ROOT, 1);
        let mut cut = b.len();
        while let Some(j) = last_slash(&path[..cut]).filter(|&j| j > 0) {
            if let Some(a) = self.paths.get(&self.tree, &path[..j]) {
                (id, start) = (a, j + 1);
                break;
            }
            cut = j;
        }
        let from = start;
        let parent = last_slash(path).unwrap_or(0);
        while start <= b.len() {
            let end = b[start..]
                .iter()
                .position(|&c| c == b'/')
                .map_or(b.len(), |i| start + i);
            match self.tree.child(id, &path[start..end]) {
                Some(c) => id = c,
                None => {
                    if start > from {
                        // The deepest node there is: the other paths of
                        // the subtree being made start from it.
                        self.paths.put(&path[..start - 1], id, self.tree.live);
                    }
                    return Err((id, start));
                }
            }
            if end == parent {
                // The parent is reached: remember it for its other entries.
                self.paths.put(&path[..end], id, self.tree.live);
            }
            start = end + 1;
        }
        self.paths.put(path, id, self.tree.live);
        Ok(id)
    }

    /// `found`, a `walk` answered just now, with the store's removal count.
    pub(crate) fn resolved(&self, found: Result<u32, (u32, usize)>) -> Resolved {
        Resolved {
            found,
            removals: self.tree.removals,
        }
    }

    /// `walk(path)`, answered from `earlier` — what this path, or a
    /// directory of it (`start_from`), resolved to — while that still
    /// holds: if no node was freed since, a node found is still that path's
    /// node, and an ancestor found still exists — the walk goes on from it
    /// through whatever was created below it since (a commit creating a
    /// subtree creates each op's parents in the ops before).
    pub(super) fn walk_from(
        &self,
        path: &str,
        earlier: Option<Resolved>,
    ) -> Result<u32, (u32, usize)> {
        let Some(r) = earlier.filter(|r| r.removals == self.tree.removals) else {
            return self.walk(path);
        };
        let (mut id, mut at) = match r.found {
            Ok(id) => return Ok(id),
            Err(missing) => missing,
        };
        loop {
            let end = path.as_bytes()[at..]
                .iter()
                .position(|&c| c == b'/')
                .map_or(path.len(), |i| at + i);
            match self.tree.child(id, &path[at..end]) {
                None => return Err((id, at)),
                Some(c) if end == path.len() => return Ok(c),
                Some(c) => (id, at) = (c, end + 1),
            }
        }
    }

    /// Where a walk of `other` can start from `r`, what `path` resolved to:
    /// the deepest node `r` names — the path's node, its parent, or the
    /// ancestor a missing path stopped at — whose path is a directory of
    /// `other`, as `walk_from` takes it. A transaction's ops mostly name
    /// entries of the directory the op before named.
    pub(crate) fn start_from(&self, r: Resolved, path: &str, other: &str) -> Option<Resolved> {
        let (node, len) = match r.found {
            Ok(id) if is_dir_of(path, other) => (id, path.len()),
            Ok(id) if id == Tree::ROOT => return None,
            Ok(id) => (self.tree.node(id).parent, last_slash(path).unwrap_or(0)),
            Err((anc, at)) => (anc, at - 1),
        };
        is_dir_of(&path[..len], other).then_some(Resolved {
            found: Err((node, len + 1)),
            removals: r.removals,
        })
    }

    fn perm_for_conn(&self, conn: ConnId, perms: u32) -> u8 {
        let c = self.conn(conn);
        let mask = if c.readonly { !PERM_WRITE } else { 0xff };
        let p = self.perms.get(perms);
        let all = PERM_READ | PERM_WRITE | PERM_OWNER;
        if c.privileged() || p[0].0 == c.domid || c.target.is_some_and(|t| p[0].0 == t) {
            return all & mask;
        }
        for &(d, bits) in &p[1..] {
            if d == c.domid || c.target == Some(d) {
                return bits & mask;
            }
        }
        p[0].1 & mask
    }

    /// `get_node` for a request that creates what is missing: `Ok(Err(..))`
    /// where `get_node` would say ENOENT, with what `walk` found (the
    /// deepest ancestor and where the missing part starts), so the caller
    /// creates from there without walking the path again. The walk starts
    /// from `earlier` if that still holds (`walk_from`); the permission
    /// check is made in any case.
    pub(super) fn get_or_missing_from(
        &self,
        conn: ConnId,
        path: &str,
        perm: u8,
        earlier: Option<Resolved>,
    ) -> Result<Result<u32, (u32, usize)>, XsErr> {
        match self.walk_from(path, earlier) {
            Ok(id) => self.access(conn, id, perm).map(Ok),
            Err((anc, at)) => match self.errno_from_ancestor(conn, anc, XsErr::ENOENT, perm) {
                XsErr::ENOENT => Ok(Err((anc, at))),
                e => Err(e),
            },
        }
    }

    /// `get_node`: the node if `conn` may access it with `perm`; a missing
    /// node is ENOENT only if its parents would have let `conn` see it.
    pub(crate) fn get_node(&self, conn: ConnId, path: &str, perm: u8) -> Result<u32, XsErr> {
        self.get_node_from(conn, path, perm, None)
    }

    /// `get_node`, taking where the path led from `earlier` if that still
    /// holds (`walk_from`).
    fn get_node_from(
        &self,
        conn: ConnId,
        path: &str,
        perm: u8,
        earlier: Option<Resolved>,
    ) -> Result<u32, XsErr> {
        match self.walk_from(path, earlier) {
            Ok(id) => self.access(conn, id, perm),
            Err((anc, _)) => Err(self.errno_from_ancestor(conn, anc, XsErr::ENOENT, perm)),
        }
    }

    /// `get_node`'s permission check on an existing node.
    fn access(&self, conn: ConnId, id: u32, perm: u8) -> Result<u32, XsErr> {
        if self.perm_for_conn(conn, self.tree.node(id).perms) & perm == perm {
            Ok(id)
        } else {
            let parent = self.tree.node(id).parent;
            let anc = if parent == super::tree::NIL {
                Tree::ROOT
            } else {
                parent
            };
            Err(self.errno_from_ancestor(conn, anc, XsErr::EACCES, perm))
        }
    }

    fn errno_from_ancestor(&self, conn: ConnId, anc: u32, err: XsErr, perm: u8) -> XsErr {
        if self.perm_for_conn(conn, self.tree.node(anc).perms) & perm != 0 {
            err
        } else {
            XsErr::EACCES
        }
    }

    fn entry_count(&self, conn: ConnId) -> u32 {
        let c = self.conn(conn);
        if c.privileged() {
            0
        } else {
            self.entries.get(&c.domid).copied().unwrap_or(0)
        }
    }

    /// A WRITE's size limit. C: the node's whole record (perms, value,
    /// children's names) under `quota_max_entry_size` for an unprivileged
    /// writer, else ENOSPC (xenstored_core.c:452-457). oxenstored: the
    /// value alone at most `quota-maxsize`, for every writer, dom0 too,
    /// else `Data_too_big`, sent as E2BIG (quota.ml:_check, process.ml:348).
    fn value_size_ok(&self, conn: ConnId, id: u32, value: &str) -> Result<(), XsErr> {
        match self.quotas.kind {
            XenstoredKind::OCaml if value.len() > self.quotas.entry_size => Err(XsErr::E2BIG),
            XenstoredKind::OCaml => Ok(()),
            XenstoredKind::C if self.record_size_ok(conn, id, value.len()) => Ok(()),
            XenstoredKind::C => Err(XsErr::ENOSPC),
        }
    }

    fn record_size_ok(&self, conn: ConnId, id: u32, extra_value: usize) -> bool {
        if self.conn(conn).privileged() {
            return true;
        }
        let children: usize = self
            .tree
            .children(id)
            .map(|c| self.tree.name(c).len() + 1)
            .sum();
        let perms = self.perms.get(self.tree.node(id).perms).len() * 8;
        12 + perms + extra_value + children < self.quotas.entry_size
    }

    /// Creates `path` and any missing parents, each inheriting its parent's
    /// permissions; an unprivileged creator becomes the owner.
    /// Creates the missing components of `path` from byte `rest_at` on,
    /// below `anc`, its deepest existing ancestor (what `walk` found).
    fn create_below(
        &mut self,
        conn: ConnId,
        anc: u32,
        rest_at: usize,
        path: &str,
    ) -> Result<u32, XsErr> {
        let rest = &path[rest_at..];
        let count = rest.bytes().filter(|&b| b == b'/').count() + 1;
        let first_len = rest.bytes().position(|b| b == b'/').unwrap_or(rest.len());
        let c = self.conn(conn);
        let (unpriv, domid) = (!c.privileged(), c.domid);
        if self.quotas.kind == XenstoredKind::OCaml {
            // oxenstored's `Store.write`/`mkdir`: one `Quota.check` against
            // the owner of the deepest existing node, whoever asks; dom0's
            // nodes are not counted (store.ml:384-403, quota.ml:_check).
            let owner = self.perms.get(self.tree.node(anc).perms)[0].0;
            let held = self.entries.get(&owner).copied().unwrap_or(0);
            if owner > 0 && held >= self.quotas.entries_per_domain {
                return Err(self.quotas.entry_error());
            }
        } else {
            // C's `construct_node`: `domain_entry(conn) >= quota` before
            // each node it creates (xenstored_core.c:821).
            if unpriv && self.entry_count(conn) + count as u32 > self.quotas.entries_per_domain {
                return Err(self.quotas.entry_error());
            }
            if !self.record_size_ok(conn, anc, self.tree.value(anc).len() + first_len + 1) {
                return Err(XsErr::ENOSPC);
            }
        }
        let mut id = anc;
        for part in super::components(rest) {
            let parent_perms = self.tree.node(id).perms;
            // A child inherits its parent's permissions; an unprivileged
            // creator becomes its owner.
            let pid = if unpriv && self.perms.get(parent_perms)[0].0 != domid {
                let mut perms = self.perms.get(parent_perms).to_vec();
                perms[0].0 = domid;
                self.perms.intern(&perms)
            } else {
                parent_perms
            };
            let owner = self.perms.get(pid)[0].0;
            id = self.tree.add_child(id, part, pid);
            *self.entries.entry(owner).or_insert(0) += 1;
        }
        // A node is mostly made to be read: its watchers read it next.
        self.paths.put(path, id, self.tree.live);
        Ok(id)
    }

    pub(crate) fn free_subtree(&mut self, id: u32) {
        // (The path cache checks a hit against the tree: what it holds of
        // these nodes is never taken for them once they are freed.)
        let perms = &self.perms;
        let entries = &mut self.entries;
        let changed_at = &mut self.changed_at;
        self.tree.remove(id, &mut |x, n| {
            let owner = perms.get(n.perms)[0].0;
            if let Some(c) = entries.get_mut(&owner) {
                *c = c.saturating_sub(1);
            }
            if !changed_at.is_empty() {
                changed_at.remove(&x);
            }
        });
    }

    /// Records that node `id` changed (for oxenstored's coalescing check):
    /// the node, or for a removed one its parent, and every ancestor.
    ///
    /// Only an open transaction ever asks, and only about changes after it
    /// started: with none open (or under C xenstored, which never asks)
    /// there is nothing to record, and a transaction that starts later
    /// finds every earlier change at or before its start, as it would.
    pub(crate) fn touch_node(&mut self, mut id: u32) {
        if self.kind != crate::profile::XenstoredKind::OCaml || self.open_txn_count() == 0 {
            return;
        }
        let g = (self.generation + 1) as u32;
        while id != super::tree::NIL {
            // The ancestors of a node already at `g` were marked with it.
            if self.changed_at.insert(id, g) == Some(g) {
                break;
            }
            id = self.tree.node(id).parent;
        }
    }

    /// Has nothing at or below `path` changed since generation `since`?
    pub(crate) fn unchanged_since(&self, path: &str, since: u64) -> bool {
        let changed = |id: u32| self.changed_at.get(&id).map_or(0, |&g| g as u64);
        match self.lookup(path) {
            Some(id) => changed(id) <= since,
            None => {
                let parent = &path[..last_slash(path).unwrap_or(0).max(1)];
                self.lookup(parent).is_some_and(|p| changed(p) <= since)
            }
        }
    }

    /// Transactions started and not yet ended.
    pub(crate) fn open_txn_count(&self) -> usize {
        self.txns.len() - self.free_txns.len()
    }

    /// After a transaction ends: forgets the changes no open transaction
    /// can ask about (all of them once none is open).
    pub(crate) fn forget_old_changes(&mut self) {
        if self.open_txn_count() == 0 {
            // (Every transaction's end comes here: a table already empty is
            // left alone rather than cleared of the room it grew.)
            if !self.changed_at.is_empty() {
                self.changed_at.clear();
            }
            return;
        }
        if self.changed_at.len() < self.changed_prune_at {
            return;
        }
        let oldest = self
            .txns
            .iter()
            .flatten()
            .map(|t| t.start_gen)
            .min()
            .unwrap_or(0);
        self.changed_at.retain(|_, g| *g as u64 > oldest);
        self.changed_prune_at = (self.changed_at.len() * 2).max(4096);
    }

    // ---- non-transactional primitives (the transaction code reuses them at commit) ----
    // The writers take `earlier`: where a transaction found the path when it
    // checked the op, which its commit walks from while that still holds
    // (`walk_from`); `None` walks the path now. A WRITE answers the node it
    // wrote, where a commit's next op may start.

    pub(crate) fn do_read(&self, conn: ConnId, path: &str) -> Result<String, XsErr> {
        let id = self.get_node(conn, path, PERM_READ)?;
        Ok(value_text(self.tree.value(id)))
    }

    pub(crate) fn do_write(
        &mut self,
        conn: ConnId,
        path: &str,
        value: &str,
        earlier: Option<Resolved>,
    ) -> Result<u32, XsErr> {
        if self.conn(conn).readonly {
            return Err(XsErr::EROFS);
        }
        let id = match self.get_or_missing_from(conn, path, PERM_WRITE, earlier)? {
            Ok(id) => id,
            Err((anc, rest_at)) => self.create_below(conn, anc, rest_at, path)?,
        };
        self.value_size_ok(conn, id, value)?;
        self.tree.set_value(id, value.as_bytes());
        self.touch_node(id);
        Ok(id)
    }

    /// Returns whether a node was created (only then does MKDIR fire watches).
    pub(crate) fn do_mkdir(
        &mut self,
        conn: ConnId,
        path: &str,
        earlier: Option<Resolved>,
    ) -> Result<bool, XsErr> {
        match self.get_or_missing_from(conn, path, PERM_WRITE, earlier)? {
            Ok(_) => Ok(false),
            Err((anc, rest_at)) => {
                let id = self.create_below(conn, anc, rest_at, path)?;
                self.touch_node(id);
                Ok(true)
            }
        }
    }

    /// Returns whether something was removed (a missing node with an existing
    /// parent is fine and fires nothing).
    pub(crate) fn do_rm(
        &mut self,
        conn: ConnId,
        path: &str,
        earlier: Option<Resolved>,
    ) -> Result<bool, XsErr> {
        let id = match self.get_node_from(conn, path, PERM_WRITE, earlier) {
            Ok(id) => id,
            Err(XsErr::ENOENT) => {
                let parent = &path[..last_slash(path).unwrap_or(0).max(1)];
                return if self.lookup(parent).is_some() {
                    Ok(false)
                } else {
                    Err(XsErr::ENOENT)
                };
            }
            Err(e) => return Err(e),
        };
        if path == "/" {
            return Err(XsErr::EINVAL);
        }
        // The change is recorded on the parent, which the removed path now
        // resolves to (`touch`).
        let parent = self.tree.node(id).parent;
        self.free_subtree(id);
        self.touch_node(parent);
        Ok(true)
    }

    pub(crate) fn do_directory(&self, conn: ConnId, path: &str) -> Result<Vec<Rc<str>>, XsErr> {
        let id = self.get_node(conn, path, PERM_READ)?;
        Ok(self
            .tree
            .children(id)
            .map(|c| self.tree.shared_name(c))
            .collect())
    }

    /// How many entries DIRECTORY of `path` gives, without listing them.
    pub(crate) fn do_directory_len(&self, conn: ConnId, path: &str) -> Result<usize, XsErr> {
        let id = self.get_node(conn, path, PERM_READ)?;
        Ok(self.tree.nchild(id))
    }

    pub(crate) fn do_get_perms(&self, conn: ConnId, path: &str) -> Result<PermSet, XsErr> {
        let id = self.get_node(conn, path, PERM_READ)?;
        Ok(self
            .perms
            .get(self.tree.node(id).perms)
            .iter()
            .map(|&(d, b)| (d, perm_char(b)))
            .collect())
    }

    pub(crate) fn do_set_perms(
        &mut self,
        conn: ConnId,
        path: &str,
        perms: &PermSet,
        earlier: Option<Resolved>,
    ) -> Result<(), XsErr> {
        if perms.is_empty() {
            return Err(XsErr::EINVAL);
        }
        let mut bits = Vec::with_capacity(perms.len());
        for &(d, c) in perms {
            bits.push((d, perm_bits(c).ok_or(XsErr::EINVAL)?));
        }
        let id = self.get_node_from(conn, path, PERM_WRITE, earlier)?;
        let c = self.conn(conn);
        if !c.privileged() {
            let cur_owner = self.perms.get(self.tree.node(id).perms)[0].0;
            // Only the owner (or its stub domain) may change permissions, and
            // an unprivileged domain may not give the node away.
            if cur_owner != c.domid && c.target != Some(cur_owner) {
                return Err(XsErr::EACCES);
            }
            if bits[0].0 != cur_owner {
                return Err(XsErr::EPERM);
            }
        }
        let old_owner = self.perms.get(self.tree.node(id).perms)[0].0;
        let pid = self.perms.intern(&bits);
        self.tree.set_perms(id, pid);
        self.touch_node(id);
        if old_owner != bits[0].0 {
            if let Some(n) = self.entries.get_mut(&old_owner) {
                *n = n.saturating_sub(1);
            }
            *self.entries.entry(bits[0].0).or_insert(0) += 1;
        }
        Ok(())
    }

    /// Does `path` exist (ignoring permissions)?
    pub fn exists_raw(&self, path: &str) -> bool {
        valid_path(path) && self.lookup(path).is_some()
    }

    /// The value at `path` (ignoring permissions): for the model's own
    /// bookkeeping and for tests, never for a client's request.
    pub fn peek(&self, path: &str) -> Option<String> {
        if !valid_path(path) {
            return None;
        }
        self.lookup(path).map(|id| value_text(self.tree.value(id)))
    }

    /// The children of `path` (ignoring permissions).
    pub fn peek_dir(&self, path: &str) -> Vec<String> {
        match valid_path(path).then(|| self.lookup(path)).flatten() {
            Some(id) => self
                .tree
                .children(id)
                .map(|c| self.tree.name(c).to_string())
                .collect(),
            None => Vec::new(),
        }
    }

    pub(crate) fn is_tx_of(&self, tx: TxId, conn: ConnId) -> bool {
        self.txns
            .get(tx.0 as usize)
            .and_then(|t| t.as_ref())
            .is_some_and(|t| t.conn == conn)
    }
}

/// Is `node` equal to `dir` or below it?
pub(crate) fn is_child(node: &str, dir: &str) -> bool {
    if dir == "/" {
        return node.starts_with('/');
    }
    node == dir
        || (node.len() > dir.len() && node.starts_with(dir) && node.as_bytes()[dir.len()] == b'/')
}

#[cfg(test)]
mod tests {
    use super::valid_path;

    /// Starting a walk from where another path led gives the walk's own
    /// answer, for paths that share a directory, that do not, that exist
    /// and that do not — and stops giving a start once a node is freed.
    #[test]
    fn a_walk_started_from_another_paths_answer_is_the_walk() {
        let mut xs = crate::xenstore::Xenstore::new();
        let c = xs.connect(0, false, "test", crate::xenstore::Sink::Queue);
        for p in ["/a/b/c", "/a/b/d/e", "/a/x", "/top"] {
            xs.do_write(c, p, "v", None).unwrap();
        }
        let paths = [
            "/",
            "/a",
            "/a/b",
            "/a/b/c",
            "/a/b/c/new",
            "/a/b/d",
            "/a/b/d/e",
            "/a/b/n/m",
            "/a/x",
            "/a/y/z",
            "/top",
            "/no/such",
            "/a/b/cc",
        ];
        for from in paths {
            let r = xs.resolved(xs.walk(from));
            for to in paths {
                if let Some(start) = xs.start_from(r, from, to) {
                    assert_eq!(xs.walk_from(to, Some(start)), xs.walk(to), "{from} -> {to}");
                }
            }
        }
        let r = xs.resolved(xs.walk("/a/b/c"));
        xs.do_rm(c, "/a/x", None).unwrap();
        let start = xs.start_from(r, "/a/b/c", "/a/b/d");
        assert!(start.is_some_and(|s| s.removals != xs.tree.removals));
        assert_eq!(xs.walk_from("/a/b/d", start), xs.walk("/a/b/d"));
        // What an earlier walk found was freed since, and its ids taken by
        // new nodes elsewhere: the walk is made again.
        let found = xs.resolved(xs.walk("/a/b/d/e"));
        let missing = xs.resolved(xs.walk("/a/b/d/e/f"));
        xs.do_rm(c, "/a/b/d", None).unwrap();
        xs.do_write(c, "/q/r/s", "", None).unwrap();
        for p in ["/a/b/d/e", "/a/b/d/e/f"] {
            for r in [found, missing] {
                assert_eq!(xs.walk_from(p, Some(r)), xs.walk(p), "{p}");
            }
        }
    }

    #[test]
    fn a_relative_path_is_under_the_domains_home() {
        for (domid, rel) in [(0, "a"), (8, "device/vif/0/state"), (4294967295, "x")] {
            assert_eq!(
                super::domain_path(domid, rel),
                format!("/local/domain/{domid}/{rel}")
            );
        }
    }

    #[test]
    fn paths_are_checked_as_xenstored_checks_them() {
        for ok in ["/", "/local/domain/8/device/vif/0/state", "/a-b_c@d/1"] {
            assert!(valid_path(ok), "{ok}");
        }
        for bad in ["", "local", "/a/", "/a//b", "//", "/a b", "/a.b", "/ä"] {
            assert!(!valid_path(bad), "{bad:?}");
        }
    }

    /// xenstored's rules as they read: every byte allowed, no empty
    /// component, a leading '/' and no trailing one, at most 3072 bytes.
    fn valid_as_written(s: &str) -> bool {
        let allowed = |c: u8| c.is_ascii_alphanumeric() || b"-_@/".contains(&c);
        if s == "/" {
            return true;
        }
        !s.is_empty()
            && s.len() <= 3072
            && s.starts_with('/')
            && !s.ends_with('/')
            && s.bytes().all(allowed)
            && !s.contains("//")
    }

    #[test]
    fn the_one_pass_check_gives_the_rules_answer() {
        let mut cases: Vec<String> = [
            "",
            "/",
            "//",
            "///",
            "/a",
            "/a/",
            "/a//b",
            "/a/b//",
            "//a",
            "/a/b/c",
            "a",
            "a/",
            "/\u{80}",
            "/a\u{ff}b",
            "/é/b",
            "/a/\u{7f}",
            "/a.b",
            "/ab ",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for n in [3070, 3071, 3072, 3073, 3074] {
            let long = "/a".repeat(n / 2 + 1)[..n].to_string();
            cases.push(long.clone());
            cases.push(format!("{}/", &long[..n - 1]));
            cases.push(format!("{}//b", &long[..n - 3]));
        }
        // Every string of up to five bytes from an alphabet with each class
        // in it, then longer ones from a fixed pseudo-random sequence.
        let alphabet = ["/", "a", "Z", "9", "-", "_", "@", ".", " ", "\0", "\u{80}"];
        let mut level = vec![String::new()];
        for _ in 0..5 {
            level = level
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            cases.extend(level.iter().cloned());
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut s = String::from("/");
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for k in 0..(x % 64) {
                s.push_str(alphabet[((x >> (k % 56)) as usize + k as usize) % 4 % alphabet.len()]);
                if (x >> k) & 31 == 0 {
                    s.push_str(alphabet[(x >> 3) as usize % alphabet.len()]);
                }
            }
            cases.push(s);
        }
        for s in &cases {
            assert_eq!(valid_path(s), valid_as_written(s), "{s:?}");
        }
    }
}
