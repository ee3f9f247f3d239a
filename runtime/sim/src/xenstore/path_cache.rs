//! The nodes of recently resolved paths. xenstored walks every request's
//! path from the root, component by component; a shutdown asks for the same
//! few hundred paths again and again (a device's `state`, a domain's
//! `control/shutdown`, xend's `/vm/<uuid>` entries), and most new paths are
//! an entry in a directory already resolved, so xsh remembers where each
//! path led. Only how fast a path is found changes: a hit is the node the
//! walk would reach.
//!
//! Nodes never move, so an entry stays right until its node is freed (ids
//! are reused): removing a subtree forgets exactly its nodes' entries.
//! Missing paths are never remembered, so creating a node cannot make an
//! entry wrong.

use std::cell::RefCell;
use std::rc::Rc;

use crate::fxhash::FxHashMap;

/// Beyond this many paths the cache starts again, so a world with many
/// domains does not keep a copy of every path it ever resolved.
const CAPACITY: usize = 4096;

#[derive(Default)]
struct Maps {
    by_path: FxHashMap<Rc<str>, u32>,
    by_node: FxHashMap<u32, Rc<str>>,
}

#[derive(Default)]
pub(crate) struct PathCache {
    maps: RefCell<Maps>,
}

impl PathCache {
    /// The node `path` led to, if remembered.
    #[inline]
    pub fn get(&self, path: &str) -> Option<u32> {
        self.maps.borrow().by_path.get(path).copied()
    }

    /// Remembers that `path` leads to node `id`.
    pub fn put(&self, path: &str, id: u32) {
        let mut m = self.maps.borrow_mut();
        if m.by_path.len() >= CAPACITY {
            m.by_path.clear();
            m.by_node.clear();
        }
        let key: Rc<str> = path.into();
        if let Some(old) = m.by_node.insert(id, key.clone()) {
            m.by_path.remove(&old);
        }
        m.by_path.insert(key, id);
    }

    /// Forgets the path of a node about to be freed.
    pub fn forget(&self, id: u32) {
        let mut m = self.maps.borrow_mut();
        if let Some(key) = m.by_node.remove(&id) {
            m.by_path.remove(&key);
        }
    }

    /// Is anything remembered?
    pub fn is_empty(&self) -> bool {
        self.maps.borrow().by_path.is_empty()
    }
}
