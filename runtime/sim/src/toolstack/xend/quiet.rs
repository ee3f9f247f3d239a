//! Which tracked domains `_refresh` has to visit.
//!
//! `_refreshTxn` walks every domain xend tracks on each `@releaseDomain` and
//! `@introduceDomain` (quadratic on a big host, in the real xend as here),
//! and for a domain that simply runs, `refreshShutdown` changes nothing
//! (`info::refresh_changes_nothing`). A domain stays that way until
//! something it depends on changes: Xen's view of it (`hypervisor/changes.rs`
//! reports those), xend's own state of it (`_stateSet`, the shutdown start
//! time, its refresh_shutdown_lock taken) or the clock passing its shutdown
//! deadline. `Quiet` keeps the tracked domids for which one of those may
//! have happened since a refresh last found them quiet; a refresh visits
//! those and skips the others, whose visits would have done nothing.

use std::collections::BTreeSet;

use super::{VmRef, Xend};
use crate::fxhash::FxHashMap;

const NONE: u32 = u32::MAX;

/// The visiting state `_refresh` keeps beside `XendDomain.domains`.
#[derive(Default)]
pub struct Quiet {
    /// Tracked domids a refresh must look at (and some no longer tracked,
    /// dropped when met).
    pub(super) unquiet: BTreeSet<u32>,
    /// VMs with a shutdown under way and not yet timed out, by start time
    /// (as an order-preserving key) then VM.
    deadlines: BTreeSet<(u64, u32)>,
    /// The domid each VM is tracked under in `XendDomain.domains`.
    key_of: Vec<u32>,
    /// Tracked domids by their VM's name, for `domain_lookup_nr` by name
    /// (a scan of every domain per `xm create` would be quadratic).
    by_name: FxHashMap<Box<str>, BTreeSet<u32>>,
}

/// `f64` as a key whose order is the numbers' order.
fn order_key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | 1 << 63
    }
}

fn from_order_key(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

impl Xend {
    /// `self.domains[domid] = vm`.
    pub fn track(&mut self, domid: u32, vm: VmRef) {
        if let Some(old) = self.domains.insert(domid, vm) {
            self.unname(domid, old);
        }
        let name: &str = &self.vms[vm.0 as usize].cfg.name;
        let q = &mut self.quiet;
        match q.by_name.get_mut(name) {
            Some(ids) => {
                ids.insert(domid);
            }
            None => {
                q.by_name.insert(name.into(), BTreeSet::from([domid]));
            }
        }
        let i = vm.0 as usize;
        if q.key_of.len() <= i {
            q.key_of.resize(i + 1, NONE);
        }
        q.key_of[i] = domid;
        q.unquiet.insert(domid);
    }

    /// `del self.domains[domid]`.
    pub fn untrack(&mut self, domid: u32) {
        if let Some(vm) = self.domains.remove(&domid) {
            self.unname(domid, vm);
            if let Some(k) = self.quiet.key_of.get_mut(vm.0 as usize) {
                if *k == domid {
                    *k = NONE;
                }
            }
        }
    }

    fn unname(&mut self, domid: u32, vm: VmRef) {
        let name: &str = &self.vms[vm.0 as usize].cfg.name;
        if let Some(ids) = self.quiet.by_name.get_mut(name) {
            ids.remove(&domid);
            if ids.is_empty() {
                self.quiet.by_name.remove(name);
            }
        }
    }

    /// Renames a VM (its config's name), keeping the name index.
    pub fn rename(&mut self, vm: VmRef, name: String) {
        let key = self.quiet.key_of.get(vm.0 as usize).copied();
        let tracked = key.filter(|&k| k != NONE && self.domains.get(&k) == Some(&vm));
        if let Some(k) = tracked {
            self.unname(k, vm);
        }
        self.vms[vm.0 as usize].cfg.name = name;
        if let Some(k) = tracked {
            self.track(k, vm);
        }
    }

    /// The first tracked domain, in domid order, whose VM is named `name`.
    pub fn tracked_named(&self, name: &str) -> Option<VmRef> {
        let found = self
            .quiet
            .by_name
            .get(name)
            .and_then(|ids| ids.first())
            .map(|d| self.domains[d]);
        debug_assert_eq!(
            found,
            self.domains
                .values()
                .copied()
                .find(|&v| self.vm(v).cfg.name == name),
            "the name index of {name}"
        );
        found
    }

    /// Something `refreshShutdown` depends on changed for `vm`: the next
    /// refresh looks at it.
    pub fn mark(&mut self, vm: VmRef) {
        if let Some(&k) = self.quiet.key_of.get(vm.0 as usize) {
            if k != NONE {
                self.quiet.unquiet.insert(k);
            }
        }
    }

    /// `shutdownStartTime` was set: a deadline to watch.
    pub fn note_shutdown_start(&mut self, vm: VmRef, start: f64) {
        self.quiet.deadlines.insert((order_key(start), vm.0));
        self.mark(vm);
    }

    /// Marks the VMs whose shutdown has timed out by wall time `now`
    /// (`timed_out(start)`, monotone in `start`), so the earliest come first.
    pub fn expire(&mut self, timed_out: impl Fn(f64) -> bool) {
        while let Some(&(k, vm)) = self.quiet.deadlines.first() {
            if !timed_out(from_order_key(k)) {
                break;
            }
            self.quiet.deadlines.pop_first();
            self.mark(VmRef(vm));
        }
    }

    /// A refresh found `domid` (`vm`) quiet: skip it until it changes.
    pub fn verified_quiet(&mut self, domid: u32, vm: VmRef) {
        self.quiet.unquiet.remove(&domid);
        if let Some(start) = self.vm(vm).shutdown_start {
            // Its deadline may have been taken out for a timeout that a
            // longer one set since has undone.
            self.quiet.deadlines.insert((order_key(start), vm.0));
        }
    }

    /// The first tracked domid after `after` a refresh must look at.
    pub fn next_unquiet(&mut self, after: u32, present: impl Fn(u32) -> bool) -> Option<u32> {
        let mut from = after;
        loop {
            let d = *self.quiet.unquiet.range(from.checked_add(1)?..).next()?;
            from = d;
            if !self.domains.contains_key(&d) {
                self.quiet.unquiet.remove(&d);
                continue;
            }
            if d != 0 && present(d) {
                return Some(d);
            }
        }
    }

    /// Is `domid` among those a refresh must look at?
    pub fn is_unquiet(&self, domid: u32) -> bool {
        self.quiet.unquiet.contains(&domid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_keys_keep_the_order_and_the_value() {
        let xs = [-3.5, -0.0, 0.0, 1e-9, 1.5, 1.56e9, 1.56e9 + 0.000001];
        for w in xs.windows(2) {
            assert!(order_key(w[0]) <= order_key(w[1]));
        }
        for x in xs {
            assert_eq!(from_order_key(order_key(x)).to_bits(), x.to_bits());
        }
    }
}
