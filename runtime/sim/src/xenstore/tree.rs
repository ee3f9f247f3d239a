//! The node tree, stored compactly: a host with ten thousand domains holds
//! about two million nodes, so a node is nine `u32`s in chunked arrays,
//! names are interned, and values live in a byte arena, each behind its
//! length. Children keep creation order (a doubly linked sibling list whose
//! first `prev` points at the last child, so appending needs no `last`
//! field), which is the order both xenstoreds list them in; directories with
//! many children also get a name index so lookups stay cheap under
//! `/local/domain`.

use std::rc::Rc;

use crate::fxhash::FxHashMap;

pub(crate) const NIL: u32 = u32::MAX;
const CHUNK: usize = 4096;
const BIG_DIR: u32 = 24;

#[derive(Clone, Copy)]
pub(crate) struct Node {
    pub name: u32,
    pub parent: u32,
    pub first: u32,
    pub next: u32,
    /// The previous sibling; the first child's is the last child.
    pub prev: u32,
    pub perms: u32,
    pub nchild: u32,
    /// The store generation when this node or anything below it last changed
    /// (oxenstored's node identity, for transaction coalescing).
    pub mgen: u32,
    /// Where the value's length and bytes are in the arena (`NIL`: empty).
    val: u32,
}

/// Bytes of the LEB128 length before each value in the arena.
fn put_len(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// (length, bytes of the length) at the start of `b`.
fn get_len(b: &[u8]) -> (usize, usize) {
    let (mut n, mut shift) = (0usize, 0);
    for (i, &x) in b.iter().enumerate() {
        n |= ((x & 0x7f) as usize) << shift;
        if x & 0x80 == 0 {
            return (n, i + 1);
        }
        shift += 7;
    }
    (n, b.len())
}

/// Interned node-name components. Shared (`Rc<str>`), so a DIRECTORY
/// reply hands out the names instead of copying each: `xenstore-rm -t`
/// lists `backend/vif`, one entry per domain, for every device it removes.
#[derive(Default)]
pub(crate) struct Names {
    by_name: FxHashMap<Rc<str>, u32>,
    names: Vec<Rc<str>>,
}

impl Names {
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.by_name.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        let name: Rc<str> = s.into();
        self.names.push(name.clone());
        self.by_name.insert(name, i);
        i
    }
    pub fn lookup(&self, s: &str) -> Option<u32> {
        self.by_name.get(s).copied()
    }
    /// The shared name of symbol `i`.
    pub fn shared(&self, i: u32) -> &Rc<str> {
        &self.names[i as usize]
    }
    pub fn get(&self, i: u32) -> &str {
        &self.names[i as usize]
    }
}

/// The arena of nodes and values.
pub(crate) struct Tree {
    /// Chunks of up to `CHUNK` nodes, each growing by doubling: a small
    /// world (one benchmark scenario) touches a few pages, a large one never
    /// copies more than one chunk at a time.
    chunks: Vec<Vec<Node>>,
    /// The most recently freed node (`NIL`: none); each freed node's `next`
    /// is the one freed before it. Kept in the nodes themselves: a host
    /// whose domains all went away has freed two million of them.
    free: u32,
    len: u32,
    vals: Vec<Vec<u8>>,
    val_used: u64,
    val_garbage: u64,
    /// Name index of directories with many children: (parent, name) → child.
    big: FxHashMap<(u32, u32), u32>,
    pub names: Names,
    pub live: u32,
    /// How many times nodes were freed: while it stands still, a node id
    /// names the node it named, at the path it had (nodes never move).
    pub removals: u64,
}

const VAL_CHUNK: usize = 1 << 20;

impl Tree {
    pub fn new(root_perms: u32) -> Tree {
        let mut t = Tree {
            chunks: Vec::new(),
            free: NIL,
            len: 0,
            vals: Vec::new(),
            val_used: 0,
            val_garbage: 0,
            big: FxHashMap::default(),
            names: Names::default(),
            live: 0,
            removals: 0,
        };
        let empty = t.names.intern("");
        let root = t.alloc(empty, NIL, root_perms);
        debug_assert_eq!(root, 0);
        t
    }

    pub const ROOT: u32 = 0;

    fn alloc(&mut self, name: u32, parent: u32, perms: u32) -> u32 {
        let n = Node {
            name,
            parent,
            first: NIL,
            next: NIL,
            prev: NIL,
            perms,
            nchild: 0,
            mgen: 0,
            val: NIL,
        };
        self.live += 1;
        match self.free {
            id if id != NIL => {
                self.free = self.node(id).next;
                *self.node_mut(id) = n;
                id
            }
            _ => {
                let id = self.len;
                if id as usize / CHUNK == self.chunks.len() {
                    self.chunks.push(Vec::new());
                }
                if let Some(c) = self.chunks.last_mut() {
                    c.push(n);
                }
                self.len += 1;
                id
            }
        }
    }

    pub fn node(&self, id: u32) -> &Node {
        &self.chunks[id as usize / CHUNK][id as usize % CHUNK]
    }

    fn node_mut(&mut self, id: u32) -> &mut Node {
        &mut self.chunks[id as usize / CHUNK][id as usize % CHUNK]
    }

    /// A node's name, shared.
    pub fn shared_name(&self, id: u32) -> Rc<str> {
        self.names.shared(self.node(id).name).clone()
    }

    pub fn name(&self, id: u32) -> &str {
        self.names.get(self.node(id).name)
    }

    pub fn value(&self, id: u32) -> &[u8] {
        let v = self.node(id).val;
        if v == NIL {
            return &[];
        }
        let chunk = &self.vals[v as usize / VAL_CHUNK][v as usize % VAL_CHUNK..];
        let (len, at) = get_len(chunk);
        &chunk[at..at + len]
    }

    pub fn set_value(&mut self, id: u32, v: &[u8]) {
        let old = self.value(id).len() as u64;
        self.val_garbage += old;
        let at = if v.is_empty() {
            NIL
        } else {
            self.store_bytes(v)
        };
        self.node_mut(id).val = at;
        if self.val_garbage > (8 << 20) && self.val_garbage * 2 > self.val_used {
            self.compact_values();
        }
    }

    fn store_bytes(&mut self, v: &[u8]) -> u32 {
        let need = v.len() + 5;
        if self.vals.last().is_none_or(|c| c.len() + need > VAL_CHUNK) {
            self.vals.push(Vec::new());
        }
        let ci = self.vals.len() - 1;
        let chunk = &mut self.vals[ci];
        let off = ci * VAL_CHUNK + chunk.len();
        put_len(chunk, v.len());
        chunk.extend_from_slice(v);
        self.val_used += v.len() as u64;
        off as u32
    }

    /// Rewrites every live value into fresh chunks, dropping overwritten bytes.
    fn compact_values(&mut self) {
        let mut bytes = Vec::new();
        let old = std::mem::take(&mut self.vals);
        self.val_used = 0;
        self.val_garbage = 0;
        for id in 0..self.len {
            let n = *self.node(id);
            if n.val == NIL || n.parent == NIL && id != Self::ROOT {
                continue;
            }
            let chunk = &old[n.val as usize / VAL_CHUNK][n.val as usize % VAL_CHUNK..];
            let (len, at) = get_len(chunk);
            bytes.clear();
            bytes.extend_from_slice(&chunk[at..at + len]);
            let o = self.store_bytes(&bytes);
            self.node_mut(id).val = o;
        }
    }

    pub fn child(&self, parent: u32, name: &str) -> Option<u32> {
        let sym = self.names.lookup(name)?;
        let p = self.node(parent);
        if p.nchild > BIG_DIR {
            return self.big.get(&(parent, sym)).copied();
        }
        let mut c = p.first;
        while c != NIL {
            let n = self.node(c);
            if n.name == sym {
                return Some(c);
            }
            c = n.next;
        }
        None
    }

    pub fn children(&self, parent: u32) -> ChildIter<'_> {
        let p = self.node(parent);
        ChildIter {
            tree: self,
            cur: p.first,
            left: p.nchild as usize,
        }
    }

    /// Adds a child at the end of `parent`'s list.
    pub fn add_child(&mut self, parent: u32, name: &str, perms: u32) -> u32 {
        let sym = self.names.intern(name);
        let id = self.alloc(sym, parent, perms);
        let first = self.node(parent).first;
        if first == NIL {
            self.node_mut(parent).first = id;
            self.node_mut(id).prev = id;
        } else {
            let last = self.node(first).prev;
            self.node_mut(last).next = id;
            self.node_mut(id).prev = last;
            self.node_mut(first).prev = id;
        }
        let p = self.node_mut(parent);
        p.nchild += 1;
        let count = p.nchild;
        if count == BIG_DIR + 1 {
            let kids: Vec<(u32, u32)> = self
                .children(parent)
                .map(|c| (self.node(c).name, c))
                .collect();
            for (s, c) in kids {
                self.big.insert((parent, s), c);
            }
        } else if count > BIG_DIR + 1 {
            self.big.insert((parent, sym), id);
        }
        id
    }

    /// Marks `id` and its ancestors as changed at generation `g`.
    pub fn touch(&mut self, mut id: u32, g: u32) {
        while id != NIL {
            let n = self.node_mut(id);
            n.mgen = g;
            id = n.parent;
        }
    }

    pub fn set_perms(&mut self, id: u32, perms: u32) {
        self.node_mut(id).perms = perms;
    }

    /// Unlinks `id` from its parent and frees it and everything below it.
    /// Calls `on_free(node)` for each freed node (for quota accounting).
    pub fn remove(&mut self, id: u32, on_free: &mut dyn FnMut(&Node)) {
        self.removals += 1;
        let n = *self.node(id);
        if n.parent != NIL {
            let first = self.node(n.parent).first;
            if first == id {
                // n.prev is the last child (itself if alone).
                self.node_mut(n.parent).first = n.next;
            } else {
                self.node_mut(n.prev).next = n.next;
            }
            if n.next != NIL {
                self.node_mut(n.next).prev = n.prev;
            } else if first != id {
                // The last child goes: the first's `prev` moves back.
                self.node_mut(first).prev = n.prev;
            }
            let p = self.node_mut(n.parent);
            let was_big = p.nchild > BIG_DIR;
            p.nchild -= 1;
            let now_small = p.nchild <= BIG_DIR;
            if was_big {
                self.big.remove(&(n.parent, n.name));
                if now_small {
                    let kids: Vec<u32> =
                        self.children(n.parent).map(|c| self.node(c).name).collect();
                    for s in kids {
                        self.big.remove(&(n.parent, s));
                    }
                }
            }
        }
        let mut stack = vec![id];
        while let Some(x) = stack.pop() {
            let node = *self.node(x);
            let mut c = node.first;
            while c != NIL {
                stack.push(c);
                c = self.node(c).next;
            }
            if node.nchild > BIG_DIR {
                let mut c = node.first;
                while c != NIL {
                    self.big.remove(&(x, self.node(c).name));
                    c = self.node(c).next;
                }
            }
            on_free(&node);
            self.val_garbage += self.value(x).len() as u64;
            let next_free = self.free;
            let m = self.node_mut(x);
            m.parent = NIL;
            m.val = NIL;
            m.first = NIL;
            m.nchild = 0;
            m.next = next_free;
            self.free = x;
            self.live -= 1;
        }
    }
}

pub(crate) struct ChildIter<'a> {
    tree: &'a Tree,
    cur: u32,
    /// Children not yet returned: a listing of `backend/vif` on a big host
    /// is collected into one allocation of the right size.
    left: usize,
}

impl Iterator for ChildIter<'_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        if self.cur == NIL {
            return None;
        }
        let c = self.cur;
        self.cur = self.tree.node(c).next;
        self.left = self.left.saturating_sub(1);
        Some(c)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(t: &Tree, p: u32) -> Vec<String> {
        t.children(p).map(|c| t.name(c).to_string()).collect()
    }

    #[test]
    fn children_keep_their_order_through_removals_at_either_end() {
        let mut t = Tree::new(0);
        let d = t.add_child(Tree::ROOT, "d", 0);
        let ids: Vec<u32> = ["a", "b", "c", "e"]
            .iter()
            .map(|n| t.add_child(d, n, 0))
            .collect();
        t.remove(ids[0], &mut |_| {});
        assert_eq!(names(&t, d), ["b", "c", "e"]);
        t.remove(ids[3], &mut |_| {});
        assert_eq!(names(&t, d), ["b", "c"]);
        t.add_child(d, "f", 0);
        assert_eq!(names(&t, d), ["b", "c", "f"]);
        t.remove(ids[2], &mut |_| {});
        t.remove(ids[1], &mut |_| {});
        assert_eq!(names(&t, d), ["f"]);
        t.add_child(d, "g", 0);
        assert_eq!(names(&t, d), ["f", "g"]);
        // Past the name index's threshold and back.
        let many: Vec<u32> = (0..40).map(|i| t.add_child(d, &i.to_string(), 0)).collect();
        assert_eq!(t.child(d, "39"), Some(many[39]));
        for &c in &many[..30] {
            t.remove(c, &mut |_| {});
        }
        assert_eq!(names(&t, d)[..3], ["f", "g", "30"]);
        assert_eq!(t.child(d, "35"), Some(many[35]));
    }

    #[test]
    fn values_of_any_length_round_trip() {
        let mut t = Tree::new(0);
        let a = t.add_child(Tree::ROOT, "a", 0);
        let b = t.add_child(Tree::ROOT, "b", 0);
        let long = vec![b'x'; 300];
        t.set_value(a, &long);
        t.set_value(b, b"1");
        assert_eq!(t.value(a), &long[..]);
        assert_eq!(t.value(b), b"1");
        t.set_value(a, b"");
        assert_eq!(t.value(a), b"");
        assert_eq!(t.value(b), b"1");
    }
}
