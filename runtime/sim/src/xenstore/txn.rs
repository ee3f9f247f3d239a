//! Transactions, as C xenstored 4.4 runs them (xenstored_transaction.c):
//! reads and writes go to the transaction's own view, no watch fires until
//! commit, and a commit fails with EAGAIN if the store's global generation
//! moved since the start ("FIXME: Merge, rather failing on any change") —
//! any other change anywhere, or any other successful commit.
//!
//! The daemon copies the whole database per transaction; xsh keeps a shadow
//! of the transaction's own changes over the live tree instead. The two differ
//! only for a read of a node someone else changed meanwhile, and such a
//! transaction fails its commit with EAGAIN either way (docs/fidelity.md).

use super::{components, join};
use std::rc::Rc;

use super::ops::{is_child, last_slash, PermSet, Resolved, PERM_READ};
use super::{ConnId, TxId, Xenstore, XsErr};
use crate::fxhash::FxHashSet;
use crate::stack::HopId;
use crate::time::SimTime;

#[derive(Clone, Debug)]
pub(crate) enum Shadow {
    /// The value written, where it is in the transaction's `text`.
    Written(Span),
    Created,
    Removed,
    Perms(PermSet),
}

/// Where a path or value is in a transaction's `text`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    start: u32,
    end: u32,
}

/// One change: the path (in `text`), what it became, and where the path
/// led when the op was checked (for the commit).
struct Op {
    path: Span,
    shadow: Shadow,
    at: Resolved,
}

pub(crate) struct Txn {
    pub conn: ConnId,
    pub start_gen: u64,
    /// The changes in order.
    ops: Vec<Op>,
    /// The ops' paths and written values, end to end. Most of xend's
    /// transactions are one `xstransact.Read` or `Write`, and a store's
    /// ended transactions hand their room to the next (`spare_txns`), so a
    /// change is copied into room already there rather than into two new
    /// strings of its own.
    text: String,
    /// oxenstored's `read_lowpath`: the common prefix of everything read
    /// (empty: nothing read yet).
    read_low: String,
    /// oxenstored's `write_lowpath`: the common prefix of what was written
    /// (a new node counts as its parent; empty: nothing written yet).
    write_low: String,
}

impl Default for Txn {
    fn default() -> Txn {
        Txn {
            conn: ConnId(0),
            start_gen: 0,
            ops: Vec::new(),
            text: String::new(),
            read_low: String::new(),
            write_low: String::new(),
        }
    }
}

impl Txn {
    /// The text of `s`. (Each op's scan of the ops before it reads every
    /// path, so without the check of a slice's ends against characters,
    /// which `keep` made sure of.)
    #[inline]
    fn text(&self, s: Span) -> &str {
        // SAFETY: a span is the bounds of one whole `&str` that `keep`
        // pushed, so both ends are within `text` and on character
        // boundaries.
        unsafe { self.text.get_unchecked(s.start as usize..s.end as usize) }
    }

    /// Keeps `s` in `text`.
    fn keep(&mut self, s: &str) -> Span {
        let start = self.text.len() as u32;
        self.text.push_str(s);
        Span {
            start,
            end: self.text.len() as u32,
        }
    }

    /// The changes in order, as (path, what it became, where it led).
    fn changes(&self) -> impl DoubleEndedIterator<Item = (&str, &Shadow, Resolved)> + '_ {
        self.ops
            .iter()
            .map(|op| (self.text(op.path), &op.shadow, op.at))
    }

    /// Empties the transaction, keeping its room for the next.
    fn clear(&mut self) {
        self.ops.clear();
        self.text.clear();
        self.read_low.clear();
        self.write_low.clear();
    }
}

/// Byte length of the longest common path prefix of `a` and `b` on
/// component boundaries (`"/"`, length 1, when they share no component).
fn common_prefix_len(a: &str, b: &str) -> usize {
    super::shared_dirs(a.as_bytes(), b.as_bytes()).max(1)
}

/// Narrows a lowpath to what it shares with `p`, in place (an empty one
/// becomes `p`).
fn lowest(cur: &mut String, p: &str) {
    if cur.is_empty() {
        cur.push_str(p);
    } else {
        let n = common_prefix_len(cur, p);
        cur.truncate(n);
    }
}

fn parent_of(p: &str) -> &str {
    &p[..last_slash(p).unwrap_or(0).max(1)]
}

impl Xenstore {
    /// TRANSACTION_START.
    pub fn txn_start(&mut self, conn: ConnId) -> Result<TxId, XsErr> {
        let c = self.conn(conn);
        // `conn->transaction_started > quota_max_transaction` (C) and
        // `Hashtbl.length con.transactions > maxtransaction` (oxenstored):
        // one past the quota is still allowed.
        if !c.privileged() && c.open_txns > self.quotas.transactions {
            return Err(self.quotas.transaction_error());
        }
        self.conn_mut(conn).open_txns += 1;
        let mut t = self.spare_txns.pop().unwrap_or_default();
        t.conn = conn;
        t.start_gen = self.generation;
        let id = match self.free_txns.pop() {
            Some(std::cmp::Reverse(i)) => {
                let i = i as usize;
                self.txns[i] = Some(t);
                i
            }
            None => {
                self.txns.push(Some(t));
                self.txns.len() - 1
            }
        };
        Ok(TxId(id as u32))
    }

    fn txn(&self, tx: TxId) -> Result<&Txn, XsErr> {
        self.txns
            .get(tx.0 as usize)
            .and_then(|t| t.as_ref())
            .ok_or(XsErr::ENOENT)
    }

    /// Does `path` exist as the transaction sees it? `Some(true)` created or
    /// written in it, `Some(false)` removed in it, `None` not touched.
    fn txn_view(&self, tx: TxId, path: &str) -> Result<Option<bool>, XsErr> {
        let t = self.txn(tx)?;
        for (p, s, _) in t.changes().rev() {
            match s {
                Shadow::Removed if is_child(path, p) => return Ok(Some(false)),
                Shadow::Written(_) | Shadow::Created if is_child(p, path) => return Ok(Some(true)),
                _ => {}
            }
        }
        Ok(None)
    }

    fn txn_exists(&self, tx: TxId, path: &str) -> Result<bool, XsErr> {
        Ok(match self.txn_view(tx, path)? {
            Some(b) => b,
            None => self.lookup(path).is_some(),
        })
    }

    fn note_read(&mut self, tx: TxId, path: &str) {
        if let Some(Some(t)) = self.txns.get_mut(tx.0 as usize) {
            lowest(&mut t.read_low, path);
        }
    }

    /// Narrows the write lowpath; `live` says whether `path` exists in the
    /// store (a new node counts as its parent).
    fn note_write(&mut self, tx: TxId, path: &str, live: bool) {
        let target = if live { path } else { parent_of(path) };
        if let Some(Some(t)) = self.txns.get_mut(tx.0 as usize) {
            lowest(&mut t.write_low, target);
        }
    }

    /// READ inside a transaction.
    pub fn txn_read(&mut self, conn: ConnId, tx: TxId, path: &str) -> Result<String, XsErr> {
        self.note_read(tx, path);
        let t = self.txn(tx)?;
        for (p, s, _) in t.changes().rev() {
            match s {
                Shadow::Written(v) if p == path => return Ok(t.text(*v).to_string()),
                Shadow::Removed if is_child(path, p) => return Err(XsErr::ENOENT),
                Shadow::Created | Shadow::Written(_) if is_child(p, path) => {
                    return Ok(self.peek(path).unwrap_or_default());
                }
                _ => {}
            }
        }
        self.do_read(conn, path)
    }

    /// WRITE inside a transaction.
    pub fn txn_write(
        &mut self,
        conn: ConnId,
        tx: TxId,
        path: &str,
        value: &str,
    ) -> Result<(), XsErr> {
        let at = self.txn_check_write(conn, tx, path)?;
        let t = self.txn_mut(tx)?;
        let v = t.keep(value);
        self.txn_push(tx, path, Shadow::Written(v), at)
    }

    /// May `conn` write `path` in the transaction? `Ok` says where the path
    /// leads in the store itself (one walk serves the check, the lowpath
    /// and the commit).
    fn txn_check_write(&self, conn: ConnId, tx: TxId, path: &str) -> Result<Resolved, XsErr> {
        if self.conn(conn).readonly {
            return Err(XsErr::EROFS);
        }
        // Start from where the op before led, if it names a directory of
        // this path.
        let start = self
            .txn(tx)?
            .changes()
            .next_back()
            .and_then(|(q, _, r)| self.start_from(r, q, path));
        // A path the transaction itself wrote or made something below is
        // writable whatever the store's permissions say. Where the check
        // passes, both ways give the walk's answer, so the transaction's
        // ops (dozens in xend's `storeVm`) are scanned only for a refusal.
        match self.get_or_missing_from(conn, path, super::ops::PERM_WRITE, start) {
            Ok(found) => Ok(self.resolved(found)),
            Err(_) if self.txn_view(tx, path)? == Some(true) => {
                Ok(self.resolved(self.walk_from(path, start)))
            }
            Err(e) => Err(e),
        }
    }

    fn txn_mut(&mut self, tx: TxId) -> Result<&mut Txn, XsErr> {
        self.txns
            .get_mut(tx.0 as usize)
            .and_then(|t| t.as_mut())
            .ok_or(XsErr::ENOENT)
    }

    fn txn_push(
        &mut self,
        tx: TxId,
        path: &str,
        shadow: Shadow,
        at: Resolved,
    ) -> Result<(), XsErr> {
        self.note_write(tx, path, at.found.is_ok());
        let t = self.txn_mut(tx)?;
        let path = t.keep(path);
        t.ops.push(Op { path, shadow, at });
        Ok(())
    }

    /// MKDIR inside a transaction.
    pub fn txn_mkdir(&mut self, conn: ConnId, tx: TxId, path: &str) -> Result<(), XsErr> {
        if self.txn_exists(tx, path)? {
            return Ok(());
        }
        let at = self.txn_check_write(conn, tx, path)?;
        self.txn_push(tx, path, Shadow::Created, at)
    }

    /// RM inside a transaction.
    pub fn txn_rm(&mut self, conn: ConnId, tx: TxId, path: &str) -> Result<(), XsErr> {
        if !self.txn_exists(tx, path)? {
            let parent = &path[..last_slash(path).unwrap_or(0).max(1)];
            return if self.txn_exists(tx, parent)? {
                Ok(())
            } else {
                Err(XsErr::ENOENT)
            };
        }
        if path == "/" {
            return Err(XsErr::EINVAL);
        }
        let at = self.txn_check_write(conn, tx, path)?;
        self.txn_push(tx, path, Shadow::Removed, at)
    }

    /// DIRECTORY inside a transaction.
    pub fn txn_directory(
        &mut self,
        conn: ConnId,
        tx: TxId,
        path: &str,
    ) -> Result<Vec<Rc<str>>, XsErr> {
        self.note_read(tx, path);
        if self.txn(tx)?.ops.is_empty() {
            // Nothing shadowed: the transaction sees the live directory.
            return self.do_directory(conn, path);
        }
        if !self.txn_exists(tx, path)? {
            return Err(XsErr::ENOENT);
        }
        let mut out: Vec<Rc<str>> = Vec::new();
        let prefix = if path == "/" {
            "/".to_string()
        } else {
            join(path, "")
        };
        if self.lookup(path).is_some() && self.txn_view(tx, path)? != Some(false) {
            // A live child can only be hidden by a removal in the transaction:
            // of the child itself (then an op names it), or of this directory
            // or above (then every child must be checked).
            let t = self.txn(tx)?;
            let removed_above = t
                .changes()
                .any(|(p, s, _)| matches!(s, Shadow::Removed) && is_child(path, p));
            // The children ops name, as the store's interned symbols: a name
            // never interned is no live child. Comparing symbols, not text,
            // keeps a listing of `backend/vif` under 10,000 domains linear.
            let named: Vec<u32> = t
                .changes()
                .filter_map(|(p, _, _)| p.strip_prefix(prefix.as_str()))
                .filter_map(|rest| {
                    self.tree
                        .names
                        .lookup(components(rest).next().unwrap_or(""))
                })
                .collect();
            let id = self.get_node(conn, path, PERM_READ)?;
            for c in self.tree.children(id) {
                if !removed_above && !named.contains(&self.tree.node(c).name) {
                    out.push(self.tree.shared_name(c));
                    continue;
                }
                let name = self.tree.shared_name(c);
                let child = format!("{prefix}{name}");
                if self.txn_exists(tx, &child)? {
                    out.push(name);
                }
            }
        }
        for (p, s, _) in self.txn(tx)?.changes() {
            if matches!(s, Shadow::Removed | Shadow::Perms(_)) || !p.starts_with(&prefix) {
                continue;
            }
            let name = components(&p[prefix.len()..]).next().unwrap_or("");
            let child = format!("{prefix}{name}");
            if !name.is_empty()
                && !out.iter().any(|o| **o == *name)
                && self.txn_exists(tx, &child)?
            {
                out.push(name.into());
            }
        }
        Ok(out)
    }

    /// How many entries DIRECTORY inside a transaction gives, without
    /// listing them: `txn_directory(...).len()`, in time that grows with
    /// the transaction's own changes rather than with the directory (only a
    /// child the transaction names can be hidden or added, unless it
    /// removed the directory or above, which is checked child by child).
    pub fn txn_directory_len(
        &mut self,
        conn: ConnId,
        tx: TxId,
        path: &str,
    ) -> Result<usize, XsErr> {
        let n = self.txn_directory_count(conn, tx, path)?;
        debug_assert_eq!(
            Ok(n),
            self.txn_directory(conn, tx, path).map(|l| l.len()),
            "the counted listing of {path} is the listing's length"
        );
        Ok(n)
    }

    fn txn_directory_count(&mut self, conn: ConnId, tx: TxId, path: &str) -> Result<usize, XsErr> {
        self.note_read(tx, path);
        if self.txn(tx)?.ops.is_empty() {
            return self.do_directory_len(conn, path);
        }
        if !self.txn_exists(tx, path)? {
            return Err(XsErr::ENOENT);
        }
        let prefix = if path == "/" {
            "/".to_string()
        } else {
            join(path, "")
        };
        // The children the transaction's ops reach (each once), and those
        // it writes or creates something in.
        let (mut reached, mut made): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
        for (p, s, _) in self.txn(tx)?.changes() {
            let Some(rest) = p.strip_prefix(prefix.as_str()) else {
                continue;
            };
            let name = components(rest).next().unwrap_or("");
            if name.is_empty() {
                continue;
            }
            if !reached.contains(&name) {
                reached.push(name);
            }
            if matches!(s, Shadow::Written(_) | Shadow::Created) && !made.contains(&name) {
                made.push(name);
            }
        }
        let mut n = 0;
        let mut listed = None;
        if self.lookup(path).is_some() && self.txn_view(tx, path)? != Some(false) {
            let t = self.txn(tx)?;
            let removed_above = t
                .changes()
                .any(|(p, s, _)| matches!(s, Shadow::Removed) && is_child(path, p));
            let id = self.get_node(conn, path, PERM_READ)?;
            listed = Some(id);
            if removed_above {
                for c in self.tree.children(id) {
                    let child = format!("{prefix}{}", self.tree.name(c));
                    if self.txn_exists(tx, &child)? {
                        n += 1;
                    }
                }
            } else {
                // Every live child shows but one the transaction hides.
                n = self.tree.nchild(id);
                for name in &reached {
                    if self.tree.child(id, name).is_some()
                        && !self.txn_exists(tx, &format!("{prefix}{name}"))?
                    {
                        n -= 1;
                    }
                }
            }
        }
        // A child the transaction made that the live listing did not show.
        for name in &made {
            let live = listed.is_some_and(|id| self.tree.child(id, name).is_some());
            if !live && self.txn_exists(tx, &format!("{prefix}{name}"))? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// SET_PERMS inside a transaction.
    pub fn txn_set_perms(
        &mut self,
        conn: ConnId,
        tx: TxId,
        path: &str,
        perms: &PermSet,
    ) -> Result<(), XsErr> {
        if !self.txn_exists(tx, path)? {
            return Err(XsErr::ENOENT);
        }
        let at = self.txn_check_write(conn, tx, path)?;
        self.txn_push(tx, path, Shadow::Perms(perms.clone()), at)
    }

    /// TRANSACTION_END: commit (or abort with `commit == false`).
    pub fn txn_end(
        &mut self,
        conn: ConnId,
        tx: TxId,
        commit: bool,
        now: SimTime,
        hop: Option<HopId>,
    ) -> Result<(), XsErr> {
        let mut t = match self.txns.get_mut(tx.0 as usize) {
            Some(slot) if slot.as_ref().is_some_and(|t| t.conn == conn) => {
                let t = slot.take().expect("checked");
                self.free_txns.push(std::cmp::Reverse(tx.0));
                t
            }
            _ => return Err(XsErr::ENOENT),
        };
        let c = self.conn_mut(conn);
        c.open_txns = c.open_txns.saturating_sub(1);
        let ended = self.commit_txn(conn, &t, commit, now, hop);
        self.forget_old_changes();
        t.clear();
        self.spare_txns.push(t);
        ended
    }

    /// The end of transaction `t`, taken from its slot: with `commit`,
    /// its changes applied and their watches fired, or EAGAIN.
    fn commit_txn(
        &mut self,
        conn: ConnId,
        t: &Txn,
        commit: bool,
        now: SimTime,
        hop: Option<HopId>,
    ) -> Result<(), XsErr> {
        if !commit {
            return Ok(());
        }
        let ocaml = self.kind == crate::profile::XenstoredKind::OCaml;
        if t.start_gen != self.generation {
            // C xenstored fails on any change anywhere; oxenstored commits
            // anyway if nothing at or below the transaction's lowest read
            // and write paths changed (coalescing).
            let unchanged = |low: &str| low.is_empty() || self.unchanged_since(low, t.start_gen);
            let merge = ocaml && unchanged(&t.read_low) && unchanged(&t.write_low);
            if !merge {
                return Err(XsErr::EAGAIN);
            }
        }
        if ocaml && t.ops.is_empty() {
            // A read-only transaction leaves oxenstored's root as it was.
            return Ok(());
        }
        // Each changed path fires once, in the order it first changed (a
        // set only for a transaction of many changes: most change a few).
        // The list is the store's, kept between commits for its room.
        let mut changed = std::mem::take(&mut self.txn_changed);
        let many = t.ops.len() > 16;
        // Sized for every op at once: grown from empty, it is rebuilt
        // several times over (xend's `storeVm` writes dozens of paths).
        let mut seen: FxHashSet<&str> = if many {
            FxHashSet::with_capacity_and_hasher(t.ops.len(), Default::default())
        } else {
            FxHashSet::default()
        };
        // Where the write before led. Its check found this op's path from
        // above the nodes this commit has created since; an op that names
        // an entry of the directory the write before wrote in (most do:
        // xend fills one directory after another) walks from there.
        let mut prev: Option<(&str, Resolved)> = None;
        for (op, (p, s, at)) in t.ops.iter().zip(t.changes()) {
            let at = Some(nearer(at, prev.and_then(|(q, r)| self.start_from(r, q, p))));
            prev = None;
            let fired = match s {
                Shadow::Written(v) => self.do_write(conn, p, t.text(*v), at).map(|id| {
                    prev = Some((p, self.resolved(Ok(id))));
                    true
                }),
                Shadow::Created => self.do_mkdir(conn, p, at),
                Shadow::Removed => self.do_rm(conn, p, at),
                Shadow::Perms(ps) => self.do_set_perms(conn, p, ps, at).map(|_| true),
            };
            // Permission checks already passed on the transaction's view; a
            // failure here means the store changed under it, which the
            // generation check above rules out.
            if !fired.unwrap_or(false) {
                continue;
            }
            let first = if many {
                seen.insert(p)
            } else {
                !changed.iter().any(|(q, _)| t.text(*q) == p)
            };
            if first {
                changed.push((op.path, matches!(s, Shadow::Removed)));
            }
        }
        for &(p, recurse) in &changed {
            self.fire_watches(t.text(p), recurse, now, hop);
        }
        changed.clear();
        self.txn_changed = changed;
        self.generation += 1;
        Ok(())
    }
}

/// Of two starts for a walk of one path, the nearer the path's node: the
/// node itself if `a` found it, else the deeper ancestor.
fn nearer(a: Resolved, b: Option<Resolved>) -> Resolved {
    match (a.found, b) {
        (Err((_, at_a)), Some(b)) if matches!(b.found, Err((_, at_b)) if at_b > at_a) => b,
        _ => a,
    }
}

#[cfg(test)]
mod tests {
    use super::common_prefix_len;

    fn common(a: &str, b: &str) -> String {
        a[..common_prefix_len(a, b)].to_string()
    }

    fn names(l: Result<Vec<std::rc::Rc<str>>, crate::xenstore::XsErr>) -> Vec<String> {
        l.expect("listed").iter().map(|s| s.to_string()).collect()
    }

    fn store() -> (crate::xenstore::Xenstore, crate::xenstore::ConnId) {
        let mut xs = crate::xenstore::Xenstore::new();
        let c = xs.connect(0, false, "test", crate::xenstore::Sink::Queue);
        for p in ["/d/a", "/d/b", "/d/c"] {
            xs.do_write(c, p, "x", None).unwrap();
        }
        (xs, c)
    }

    /// A write outside any transaction, as a client's request makes it
    /// (the request bumps the store's generation).
    fn write_now(xs: &mut crate::xenstore::Xenstore, c: crate::xenstore::ConnId, p: &str) {
        xs.do_write(c, p, "n", None).unwrap();
        xs.generation += 1;
    }

    /// oxenstored commits a transaction when nothing at or below its
    /// lowest written path changed since it started, and fails it with
    /// EAGAIN when something did, however many other transactions started
    /// and ended in between; C xenstored fails it on any change at all.
    #[test]
    fn oxenstored_coalesces_only_a_transaction_whose_subtree_stood_still() {
        use crate::profile::XenstoredKind;
        use crate::xenstore::XsErr;
        let now = crate::time::SimTime::ZERO;
        for kind in [XenstoredKind::OCaml, XenstoredKind::C] {
            let (mut xs, c) = store();
            xs.kind = kind;
            let t = xs.txn_start(c).unwrap();
            xs.txn_write(c, t, "/d/a", "1").unwrap();
            write_now(&mut xs, c, "/e/z");
            let elsewhere = xs.txn_end(c, t, true, now, None);
            let t = xs.txn_start(c).unwrap();
            xs.txn_write(c, t, "/d/a", "2").unwrap();
            write_now(&mut xs, c, "/d/a/below");
            // Enough other transactions, and changes, to make the store
            // forget what no open transaction can ask about.
            for i in 0..3000 {
                let u = xs.txn_start(c).unwrap();
                write_now(&mut xs, c, &format!("/f/{i}/x"));
                xs.txn_end(c, u, false, now, None).unwrap();
            }
            let below = xs.txn_end(c, t, true, now, None);
            match kind {
                XenstoredKind::OCaml => {
                    assert_eq!(elsewhere, Ok(()));
                    assert_eq!(below, Err(XsErr::EAGAIN));
                    assert_eq!(xs.do_read(c, "/d/a").unwrap(), "1");
                }
                XenstoredKind::C => {
                    assert_eq!(elsewhere, Err(XsErr::EAGAIN));
                    assert_eq!(below, Err(XsErr::EAGAIN));
                    assert_eq!(xs.do_read(c, "/d/a").unwrap(), "x");
                }
            }
            // With no transaction open nothing is kept, and one started
            // now finds every earlier change behind it.
            assert!(xs.changed_at.is_empty());
            let t = xs.txn_start(c).unwrap();
            xs.txn_write(c, t, "/d/a", "3").unwrap();
            let quiet = xs.txn_end(c, t, true, now, None);
            assert_eq!(quiet, Ok(()));
        }
    }

    #[test]
    fn a_transactions_directory_shows_its_own_changes() {
        let (mut xs, c) = store();
        let t = xs.txn_start(c).unwrap();
        xs.txn_rm(c, t, "/d/b").unwrap();
        xs.txn_write(c, t, "/d/e/f", "1").unwrap();
        assert_eq!(names(xs.txn_directory(c, t, "/d")), ["a", "c", "e"]);
        // The live store is untouched until commit.
        assert_eq!(names(xs.do_directory(c, "/d")), ["a", "b", "c"]);
    }

    #[test]
    fn a_removed_directory_recreated_in_the_transaction_shows_only_the_new() {
        let (mut xs, c) = store();
        let t = xs.txn_start(c).unwrap();
        xs.txn_rm(c, t, "/d").unwrap();
        xs.txn_write(c, t, "/d/a/z", "1").unwrap();
        assert_eq!(names(xs.txn_directory(c, t, "/d")), ["a"]);
    }

    /// A directory with more children than the tree keeps in a list (as
    /// `backend/vif` on a busy host): only the children the transaction
    /// names can change, and a removal below a child leaves it listed.
    #[test]
    fn a_big_directory_in_a_transaction_hides_only_what_it_removed() {
        let (mut xs, c) = store();
        let all: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        for k in &all {
            xs.do_write(c, &format!("/big/{k}/sub"), "x", None).unwrap();
        }
        let t = xs.txn_start(c).unwrap();
        xs.txn_rm(c, t, "/big/k7").unwrap();
        xs.txn_rm(c, t, "/big/k12/sub").unwrap();
        xs.txn_write(c, t, "/big/new", "1").unwrap();
        xs.txn_write(c, t, "/big/k3/more", "1").unwrap();
        let mut want: Vec<String> = all.iter().filter(|k| *k != "k7").cloned().collect();
        want.push("new".into());
        assert_eq!(names(xs.txn_directory(c, t, "/big")), want);
        assert_eq!(names(xs.do_directory(c, "/big")), all);
    }

    /// A counted listing agrees with the listing in every case the
    /// transaction tests above build.
    #[test]
    fn a_counted_directory_is_the_listings_length() {
        let (mut xs, c) = store();
        for k in 0..40 {
            xs.do_write(c, &format!("/big/k{k}/sub"), "x", None)
                .unwrap();
        }
        let t = xs.txn_start(c).unwrap();
        for path in ["/d", "/big", "/big/k3"] {
            let n = xs.txn_directory_count(c, t, path).unwrap();
            assert_eq!(n, names(xs.txn_directory(c, t, path)).len(), "{path}");
        }
        xs.txn_rm(c, t, "/d/b").unwrap();
        xs.txn_write(c, t, "/d/e/f", "1").unwrap();
        xs.txn_write(c, t, "/d/e/g", "1").unwrap();
        xs.txn_rm(c, t, "/big/k7").unwrap();
        xs.txn_rm(c, t, "/big/k12/sub").unwrap();
        xs.txn_write(c, t, "/big/new", "1").unwrap();
        xs.txn_write(c, t, "/big/k3/more", "1").unwrap();
        for path in ["/d", "/big", "/big/k3", "/big/k12", "/d/e"] {
            let n = xs.txn_directory_count(c, t, path).unwrap();
            assert_eq!(n, names(xs.txn_directory(c, t, path)).len(), "{path}");
        }
        xs.txn_rm(c, t, "/d").unwrap();
        xs.txn_write(c, t, "/d/a/z", "1").unwrap();
        let n = xs.txn_directory_count(c, t, "/d").unwrap();
        assert_eq!(n, names(xs.txn_directory(c, t, "/d")).len());
        assert_eq!(n, 1);
    }

    /// The definition, one byte at a time: the last position where both
    /// paths end a component, with everything before it equal.
    fn by_definition(a: &str, b: &str) -> usize {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        let (mut i, mut last) = (1, 1);
        loop {
            let (ca, cb) = (a.get(i), b.get(i));
            let a_end = matches!(ca, None | Some(b'/'));
            let b_end = matches!(cb, None | Some(b'/'));
            if a_end && b_end {
                last = i;
                if ca.is_none() || cb.is_none() {
                    break;
                }
            } else if ca != cb {
                break;
            }
            i += 1;
        }
        last
    }

    #[test]
    fn the_fast_common_prefix_agrees_with_the_definition() {
        let parts = [
            "a", "ab", "local", "domain", "1", "12", "backend", "vif", "x",
        ];
        let mut paths = vec!["/".to_string()];
        for p in parts {
            for q in parts {
                paths.push(format!("/{p}/{q}"));
                for r in ["1", "12", "state", "backend-id"] {
                    paths.push(format!("/{p}/{q}/{r}"));
                    paths.push(format!("/{p}/{q}/{r}/{p}"));
                }
            }
            paths.push(format!("/{p}"));
        }
        for a in &paths {
            for b in &paths {
                assert_eq!(common_prefix_len(a, b), by_definition(a, b), "{a} {b}");
            }
        }
    }

    #[test]
    fn lowpaths_meet_on_component_boundaries() {
        assert_eq!(
            common("/local/domain/1", "/local/domain/1"),
            "/local/domain/1"
        );
        assert_eq!(
            common("/local/domain/1", "/local/domain/12"),
            "/local/domain"
        );
        assert_eq!(
            common("/local/domain", "/local/domain/1/x"),
            "/local/domain"
        );
        assert_eq!(common("/local/domain/1/x", "/local"), "/local");
        assert_eq!(common("/vm/a", "/local/domain"), "/");
        assert_eq!(common("/loc", "/local"), "/");
        assert_eq!(common("/", "/local"), "/");
    }
}
