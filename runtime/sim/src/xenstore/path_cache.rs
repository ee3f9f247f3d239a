//! The nodes of recently resolved paths. xenstored walks every request's
//! path from the root, component by component; a shutdown asks for the same
//! few hundred paths per domain again and again (a device's `state`, a
//! domain's `control/shutdown`, xend's `/vm/<uuid>` entries), and most new
//! paths are an entry in a directory already resolved, so xsh remembers
//! where each path led. Only how fast a path is found changes: a hit is the
//! node the walk would reach.
//!
//! The cache is a fixed table of (part of the path's hash, node), one slot per
//! hash: a put takes no allocation and simply replaces what the slot held,
//! so a host with thousands of domains keeps its busiest paths without a
//! copy of every path it ever resolved. A hit is checked against the tree
//! itself — the node is live, and its name and its ancestors' spell the
//! path — so an entry left by a node since freed, or by another path with
//! the same slot, is never taken for the path asked.

use std::cell::RefCell;
use std::hash::Hasher;

use super::tree::{same_bytes, Tree, NIL};
use crate::fxhash::FxHasher;

/// Slots in the table at most (a power of two), eight bytes each: 256 KiB,
/// which stays in the processor's cache. (A table of a million slots, 8 MiB,
/// forgets less on a 10,000-domain host but was no faster: its lookups
/// miss the processor's cache instead.) The table starts small and grows
/// with the store, so a world of one domain — `xsh explore` makes
/// thousands — does not clear 256 KiB it never uses.
const MAX_SLOTS: usize = 1 << 15;
const MIN_SLOTS: usize = 1 << 10;

pub(crate) struct PathCache {
    /// (the high half of the path's hash, its node) per slot; node 0 (the
    /// root, which `walk` never looks up) marks an empty slot, so the table
    /// starts as zeroed memory the system hands out untouched.
    slots: RefCell<Box<[(u32, u32)]>>,
}

impl Default for PathCache {
    fn default() -> Self {
        PathCache {
            slots: RefCell::new(vec![(0, 0); MIN_SLOTS].into_boxed_slice()),
        }
    }
}

fn hash(path: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(path.as_bytes());
    h.finish()
}

impl PathCache {
    /// The node `path` leads to, if remembered.
    #[inline]
    pub fn get(&self, tree: &Tree, path: &str) -> Option<u32> {
        let h = hash(path);
        let slots = self.slots.borrow();
        let (k, id) = slots[h as usize & (slots.len() - 1)];
        (k == (h >> 32) as u32 && id != 0 && spells(tree, id, path)).then_some(id)
    }

    /// Remembers that `path` leads to node `id`, in a store of `live`
    /// nodes (the table grows to twice that, up to its limit, starting over
    /// empty when it does).
    #[inline]
    pub fn put(&self, path: &str, id: u32, live: u32) {
        let h = hash(path);
        let mut slots = self.slots.borrow_mut();
        let want = (2 * live as usize).next_power_of_two().min(MAX_SLOTS);
        if want > slots.len() {
            *slots = vec![(0, 0); want].into_boxed_slice();
        }
        let mask = slots.len() - 1;
        slots[h as usize & mask] = ((h >> 32) as u32, id);
    }
}

/// Is `id` a live node whose path is `path`? Compares the path's components
/// from the last with the names of the node and its ancestors.
fn spells(tree: &Tree, id: u32, path: &str) -> bool {
    let mut rest = path.as_bytes();
    let mut n = id;
    while n != Tree::ROOT {
        let node = tree.node(n);
        if node.parent == NIL {
            // Freed: only the root has no parent.
            return false;
        }
        let name = tree.names.get(node.name).as_bytes();
        let Some(cut) = rest.len().checked_sub(name.len() + 1) else {
            return false;
        };
        let (head, tail) = rest.split_at(cut);
        match tail.split_first() {
            Some((b'/', last)) if same_bytes(last, name) => {}
            _ => return false,
        }
        rest = head;
        n = node.parent;
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hit_is_checked_against_the_tree() {
        let mut t = Tree::new(0);
        let a = t.add_child(Tree::ROOT, "a", 0);
        let b = t.add_child(a, "b", 0);
        let c = PathCache::default();
        c.put("/a/b", b, t.live);
        assert_eq!(c.get(&t, "/a/b"), Some(b));
        // The slot's node is not the path asked for.
        c.put("/a/x", b, t.live);
        assert_eq!(c.get(&t, "/a/x"), None);
        // A freed node is never a hit, even in its own slot.
        c.put("/a/b", b, t.live);
        t.remove(b, &mut |_, _| {});
        assert_eq!(c.get(&t, "/a/b"), None);
        // Nor a reused one that now spells another path.
        let d = t.add_child(Tree::ROOT, "d", 0);
        assert_eq!(d, b, "the freed id is reused");
        assert_eq!(c.get(&t, "/a/b"), None);
        c.put("/d", d, t.live);
        assert_eq!(c.get(&t, "/d"), Some(d));
        assert_eq!(c.get(&t, "/d/"), None);
    }
}
