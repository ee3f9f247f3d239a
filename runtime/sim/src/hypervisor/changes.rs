//! Which domains changed since a dom0 daemon last looked, and what Xen's
//! domain list looked like when a daemon took its snapshot.
//!
//! Both of dom0's daemons that poll Xen loop over every domain: xend's
//! `_refresh` over `xc.domain_getinfo()` on each `@releaseDomain`, and
//! xenstored's `domain_cleanup` over its introduced domains on each
//! VIRQ_DOM_EXC. On a host of thousands of domains that is quadratic, and
//! nearly every step finds a domain that simply runs and does nothing with
//! it. So Xen keeps, per daemon, the set of domids whose domain was created,
//! changed or freed since that daemon drained its set; the daemons visit
//! those (and what their own state says they must) and skip the rest,
//! which the full loop would have visited to no effect.
//!
//! Every change goes through `Hypervisor::domain_mut`, `insert_domain` or
//! `remove_domain`, which is what makes the sets complete. A change counts
//! even when it touches nothing a daemon reads (a vCPU blocking): a domain
//! visited for nothing costs a step, a domain missed would change the run.
//!
//! A snapshot (`xc.domain_getinfo()` taken once, read while the daemon's
//! thread waits in between) is the live list plus an undo log: while one is
//! open, each change first records the domain's info as it was, so the
//! snapshot answers for any domid as of the moment it was taken.

use std::collections::BTreeSet;

use super::domctl::{info_of, DomInfo};
use super::Hypervisor;
use crate::Sim;

/// A daemon that polls Xen's domain list.
#[derive(Copy, Clone, Debug)]
pub enum Reader {
    /// xend's `_refresh`.
    Xend = 0,
    /// xenstored's `domain_cleanup`.
    Xenstored = 1,
}

/// Every reader's bit.
const ALL: u8 = 0b11;

/// The change sets and the undo log of open snapshots.
#[derive(Default)]
pub struct Changes {
    dirty: [BTreeSet<u32>; 2],
    /// (domid, its info before the change) since the oldest open snapshot.
    undo: Vec<(u32, Option<DomInfo>)>,
    open: u32,
}

impl Hypervisor {
    /// Records that `domid` is about to change (`old`: its info now).
    pub(super) fn note_change(&mut self, domid: u32) {
        let d = self.domains.get_mut(&domid);
        // A domain already listed everywhere (the common case: it changes
        // many times between two looks) costs no set insertion.
        if d.as_ref().is_none_or(|d| d.listed != ALL) {
            for set in self.changes.dirty.iter_mut() {
                set.insert(domid);
            }
            if let Some(d) = d {
                d.listed = ALL;
            }
        }
        if self.changes.open > 0 {
            let old = self.domains.get(&domid).map(|d| info_of(d));
            self.changes.undo.push((domid, old));
        }
    }

    /// Takes the domids changed since `reader` last drained, in order.
    pub fn drain_changes(&mut self, reader: Reader) -> BTreeSet<u32> {
        let set = std::mem::take(&mut self.changes.dirty[reader as usize]);
        for d in &set {
            if let Some(d) = self.domains.get_mut(d) {
                d.listed &= !(1 << reader as u8);
            }
        }
        set
    }
}

/// `xc.domain_getinfo()` as of one instant, for a daemon that reads it
/// across waits. Closes itself when dropped.
pub struct Snapshot {
    sim: Sim,
    start: usize,
}

impl Snapshot {
    /// Opens a snapshot now.
    pub fn take(sim: &Sim) -> Snapshot {
        let mut xen = sim.xen.borrow_mut();
        xen.changes.open += 1;
        Snapshot {
            sim: sim.clone(),
            start: xen.changes.undo.len(),
        }
    }

    /// The domain as the snapshot saw it (`None`: it did not exist).
    pub fn info(&self, domid: u32) -> Option<DomInfo> {
        let xen = self.sim.xen.borrow();
        match xen.changes.undo[self.start..]
            .iter()
            .find(|(d, _)| *d == domid)
        {
            Some((_, old)) => old.clone(),
            None => xen.domain(domid).map(info_of),
        }
    }

    /// Was the domain gone or dying (`DOMDYING_dead`) when the snapshot was
    /// taken? `info(domid).is_none_or(|i| i.dying)`, without making the
    /// rest of the record: xend asks it of every domain it tracks as
    /// changing, on each refresh.
    pub fn gone_or_dying(&self, domid: u32) -> bool {
        let xen = self.sim.xen.borrow();
        let gone = match xen.changes.undo[self.start..]
            .iter()
            .find(|(d, _)| *d == domid)
        {
            Some((_, old)) => old.as_ref().is_none_or(|i| i.dying),
            None => xen
                .domain(domid)
                .is_none_or(|d| d.is_dying == super::Dying::Dead),
        };
        debug_assert_eq!(gone, self.info(domid).is_none_or(|i| i.dying));
        gone
    }

    /// Did the domain exist (dying or not) when the snapshot was taken?
    pub fn present(&self, domid: u32) -> bool {
        let xen = self.sim.xen.borrow();
        match xen.changes.undo[self.start..]
            .iter()
            .find(|(d, _)| *d == domid)
        {
            Some((_, old)) => old.is_some(),
            None => xen.domains.contains_key(&domid),
        }
    }

    /// Every domain of the snapshot, in domid order (the full list, for the
    /// checks that the change sets missed nothing).
    pub fn all(&self) -> Vec<DomInfo> {
        let xen = self.sim.xen.borrow();
        let mut ids: BTreeSet<u32> = xen.domains.keys().copied().collect();
        ids.extend(xen.changes.undo[self.start..].iter().map(|(d, _)| *d));
        drop(xen);
        ids.into_iter().filter_map(|d| self.info(d)).collect()
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if let Ok(mut xen) = self.sim.xen.try_borrow_mut() {
            let c = &mut xen.changes;
            c.open = c.open.saturating_sub(1);
            if c.open == 0 {
                c.undo.clear();
            }
        }
    }
}
