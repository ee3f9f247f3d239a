//! The nodes of recently resolved paths. xenstored walks every request's
//! path from the root, component by component; a shutdown asks for the same
//! few hundred paths again and again (a device's `state`, a domain's
//! `control/shutdown`, xend's `/vm/<uuid>` entries), so xsh remembers where
//! each led. Only how fast a path is found changes: a hit is the node the
//! walk would reach.
//!
//! A node id stays valid until the node is freed (ids are reused), and a
//! path that exists keeps its node while nothing on it is removed, so the
//! cache is emptied whenever any node is freed. Missing paths are never
//! cached: creating a node cannot make an entry wrong.

use std::cell::RefCell;

use crate::fxhash::FxHashMap;

/// Beyond this many paths the cache starts again, so a world with many
/// domains does not keep a copy of every path it ever resolved.
const CAPACITY: usize = 4096;

#[derive(Default)]
pub(crate) struct PathCache {
    map: RefCell<FxHashMap<Box<str>, u32>>,
}

impl PathCache {
    /// The node `path` led to, if remembered.
    #[inline]
    pub fn get(&self, path: &str) -> Option<u32> {
        self.map.borrow().get(path).copied()
    }

    /// Remembers that `path` leads to node `id`.
    pub fn put(&self, path: &str, id: u32) {
        let mut m = self.map.borrow_mut();
        if m.len() >= CAPACITY {
            m.clear();
        }
        m.insert(path.into(), id);
    }

    /// Forgets everything (a node was freed).
    pub fn clear(&self) {
        let mut m = self.map.borrow_mut();
        if !m.is_empty() {
            m.clear();
        }
    }
}
