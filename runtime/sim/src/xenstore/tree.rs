//! The node tree, stored compactly: a host with ten thousand domains holds
//! about two million nodes, so a node is nine `u32`s in chunked arrays,
//! names are interned, and values live in a byte arena. Children keep
//! creation order (a doubly linked sibling list), which is the order both
//! xenstoreds list them in; directories with many children also get a name
//! index so lookups stay cheap under `/local/domain`.

use crate::fxhash::FxHashMap;

pub(crate) const NIL: u32 = u32::MAX;
const CHUNK: usize = 4096;
const BIG_DIR: u32 = 24;

#[derive(Clone, Copy)]
pub(crate) struct Node {
    pub name: u32,
    pub parent: u32,
    pub first: u32,
    pub last: u32,
    pub next: u32,
    pub prev: u32,
    pub perms: u32,
    pub nchild: u32,
    /// The store generation when this node or anything below it last changed
    /// (oxenstored's node identity, for transaction coalescing).
    pub mgen: u32,
    val_off: u32,
    val_len: u32,
}

/// Interned node-name components.
#[derive(Default)]
pub(crate) struct Names {
    by_name: FxHashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Names {
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.by_name.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.into());
        self.by_name.insert(s.into(), i);
        i
    }
    pub fn lookup(&self, s: &str) -> Option<u32> {
        self.by_name.get(s).copied()
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
    free: Vec<u32>,
    len: u32,
    vals: Vec<Vec<u8>>,
    val_used: u64,
    val_garbage: u64,
    /// Name index of directories with many children: (parent, name) → child.
    big: FxHashMap<(u32, u32), u32>,
    pub names: Names,
    pub live: u32,
}

const VAL_CHUNK: usize = 1 << 20;

impl Tree {
    pub fn new(root_perms: u32) -> Tree {
        let mut t = Tree {
            chunks: Vec::new(),
            free: Vec::new(),
            len: 0,
            vals: Vec::new(),
            val_used: 0,
            val_garbage: 0,
            big: FxHashMap::default(),
            names: Names::default(),
            live: 0,
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
            last: NIL,
            next: NIL,
            prev: NIL,
            perms,
            nchild: 0,
            mgen: 0,
            val_off: 0,
            val_len: 0,
        };
        self.live += 1;
        match self.free.pop() {
            Some(id) => {
                *self.node_mut(id) = n;
                id
            }
            None => {
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

    pub fn name(&self, id: u32) -> &str {
        self.names.get(self.node(id).name)
    }

    pub fn value(&self, id: u32) -> &[u8] {
        let n = self.node(id);
        if n.val_len == 0 {
            return &[];
        }
        let off = n.val_off as usize;
        let chunk = &self.vals[off / VAL_CHUNK];
        let start = off % VAL_CHUNK;
        &chunk[start..start + n.val_len as usize]
    }

    pub fn set_value(&mut self, id: u32, v: &[u8]) {
        let old = self.node(id).val_len as u64;
        self.val_garbage += old;
        if v.is_empty() {
            let n = self.node_mut(id);
            n.val_off = 0;
            n.val_len = 0;
            return;
        }
        let (off, len) = self.store_bytes(v);
        let n = self.node_mut(id);
        n.val_off = off;
        n.val_len = len;
        if self.val_garbage > (8 << 20) && self.val_garbage * 2 > self.val_used {
            self.compact_values();
        }
    }

    fn store_bytes(&mut self, v: &[u8]) -> (u32, u32) {
        let need = v.len();
        if self.vals.last().is_none_or(|c| c.len() + need > VAL_CHUNK) {
            self.vals.push(Vec::new());
        }
        let ci = self.vals.len() - 1;
        let chunk = &mut self.vals[ci];
        let off = ci * VAL_CHUNK + chunk.len();
        chunk.extend_from_slice(v);
        self.val_used += need as u64;
        (off as u32, need as u32)
    }

    /// Rewrites every live value into fresh chunks, dropping overwritten bytes.
    fn compact_values(&mut self) {
        let old = std::mem::take(&mut self.vals);
        self.val_used = 0;
        self.val_garbage = 0;
        for id in 0..self.len {
            let n = *self.node(id);
            if n.val_len == 0 || n.parent == NIL && id != Self::ROOT {
                continue;
            }
            let off = n.val_off as usize;
            let start = off % VAL_CHUNK;
            let bytes = old[off / VAL_CHUNK][start..start + n.val_len as usize].to_vec();
            let (o, l) = self.store_bytes(&bytes);
            let m = self.node_mut(id);
            m.val_off = o;
            m.val_len = l;
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
        ChildIter {
            tree: self,
            cur: self.node(parent).first,
        }
    }

    /// Adds a child at the end of `parent`'s list.
    pub fn add_child(&mut self, parent: u32, name: &str, perms: u32) -> u32 {
        let sym = self.names.intern(name);
        let id = self.alloc(sym, parent, perms);
        let last = self.node(parent).last;
        {
            let n = self.node_mut(id);
            n.prev = last;
        }
        if last == NIL {
            self.node_mut(parent).first = id;
        } else {
            self.node_mut(last).next = id;
        }
        let p = self.node_mut(parent);
        p.last = id;
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
        let n = *self.node(id);
        if n.parent != NIL {
            if n.prev == NIL {
                self.node_mut(n.parent).first = n.next;
            } else {
                self.node_mut(n.prev).next = n.next;
            }
            if n.next == NIL {
                self.node_mut(n.parent).last = n.prev;
            } else {
                self.node_mut(n.next).prev = n.prev;
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
            self.val_garbage += node.val_len as u64;
            let m = self.node_mut(x);
            m.parent = NIL;
            m.val_len = 0;
            m.first = NIL;
            m.last = NIL;
            m.nchild = 0;
            self.free.push(x);
            self.live -= 1;
        }
    }
}

pub(crate) struct ChildIter<'a> {
    tree: &'a Tree,
    cur: u32,
}

impl Iterator for ChildIter<'_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        if self.cur == NIL {
            return None;
        }
        let c = self.cur;
        self.cur = self.tree.node(c).next;
        Some(c)
    }
}
