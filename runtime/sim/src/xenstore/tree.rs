//! The node tree, stored compactly: a host with ten thousand domains holds
//! about two million nodes, so a node is six `u32`s in chunked arrays,
//! names are interned, and values live in chunks of bytes, each behind its
//! length. Children keep creation order (a singly linked sibling list),
//! which is the order both xenstoreds list them in. Nearly every directory
//! is small (a device's backend has a dozen entries), so finding its last
//! child or a child's predecessor walks the list; the few big ones
//! (`/local/domain`, `backend/vif`: one entry per domain) get a side record
//! with their count, last child, a name index and each child's predecessor,
//! so lookups, appends and removals there stay O(1).

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
    pub perms: u32,
    /// Where the value's length and bytes are in the arena (`NIL`: empty).
    val: u32,
}

/// Writes the LEB128 length that goes before each value in the arena;
/// returns how many bytes it took.
fn put_len_into(out: &mut [u8; 10], mut n: usize) -> usize {
    let mut i = 0;
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out[i] = b;
            return i + 1;
        }
        out[i] = b | 0x80;
        i += 1;
    }
}

/// Bytes `put_len` writes for `n`.
fn len_width(n: usize) -> usize {
    (usize::BITS - (n | 1).leading_zeros()).div_ceil(7) as usize
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
pub(crate) struct Names {
    by_name: FxHashMap<Rc<str>, u32>,
    names: Vec<Rc<str>>,
}

/// Names a world of one domain interns (the seed's: 83): room for them
/// from the start (112 fill a table of 128 slots), so the table is not
/// rebuilt as it fills — `xsh explore` and `xsh bench` make thousands of
/// such worlds.
const NAMES_AT_START: usize = 112;

impl Default for Names {
    fn default() -> Self {
        Names {
            by_name: FxHashMap::with_capacity_and_hasher(NAMES_AT_START, Default::default()),
            names: Vec::with_capacity(NAMES_AT_START),
        }
    }
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
    /// Values, each its LEB128 length and bytes, in chunks of `VAL_CHUNK`
    /// (a value longer than that has a chunk of its own). A value's place
    /// is its chunk's index times `VAL_CHUNK` plus its offset there.
    vals: Vec<Vec<u8>>,
    /// Per chunk: the bytes of values no node holds any more.
    val_garbage: Vec<u32>,
    /// The chunk new values go at the end of.
    val_cur: usize,
    /// Chunks emptied by compaction, to fill before adding one.
    val_free: Vec<usize>,
    /// Chunks found half garbage, to compact when the change is done.
    val_due: Vec<usize>,
    /// Name index of directories with many children: (parent, name) → child.
    big: FxHashMap<(u32, u32), u32>,
    /// Those directories' child count and last child.
    big_dirs: FxHashMap<u32, BigDir>,
    /// Each of their children's previous sibling (`NIL`: the first).
    big_prev: FxHashMap<u32, u32>,
    /// One bit per node id: is it one of those directories? Tested on every
    /// step of a walk, so a bit, not a lookup.
    big_bits: Vec<u64>,
    pub names: Names,
    /// The small directory last added to, its last child and child count
    /// then, and `removals` then (only a removal takes a child out).
    appended: (u32, u32, u32, u64),
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
            val_garbage: Vec::new(),
            val_cur: 0,
            val_free: Vec::new(),
            val_due: Vec::new(),
            big: FxHashMap::default(),
            big_dirs: FxHashMap::default(),
            big_prev: FxHashMap::default(),
            big_bits: Vec::new(),
            names: Names::default(),
            appended: (NIL, NIL, 0, 0),
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
            perms,
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
        let old = self.value(id).len();
        // A frontend or backend walks its `state` through 1..6 with writes
        // of one byte: a value no longer than the one it replaces (and with
        // a length of the same width) is rewritten where it is, so a host's
        // worth of state changes leaves no garbage to compact.
        let at = self.node(id).val;
        if at != NIL && !v.is_empty() && v.len() <= old && len_width(v.len()) == len_width(old) {
            let mut len = [0u8; 10];
            let w = put_len_into(&mut len, v.len());
            let start = at as usize % VAL_CHUNK;
            let bytes = &mut self.vals[at as usize / VAL_CHUNK][start..start + w + v.len()];
            bytes[..w].copy_from_slice(&len[..w]);
            bytes[w..].copy_from_slice(v);
            self.add_garbage(at, old - v.len());
            self.compact_due();
            return;
        }
        if at != NIL {
            self.add_garbage(at, len_width(old) + old);
        }
        let at = if v.is_empty() {
            NIL
        } else {
            self.store_bytes(v)
        };
        self.node_mut(id).val = at;
        self.compact_due();
    }

    /// Counts `n` bytes of the chunk holding `at` as garbage; a chunk
    /// other than the one being filled is due for compaction once half of
    /// it is.
    fn add_garbage(&mut self, at: u32, n: usize) {
        let ci = at as usize / VAL_CHUNK;
        let g = &mut self.val_garbage[ci];
        let was_due = *g as usize * 2 >= self.vals[ci].len();
        *g += n as u32;
        if !was_due && *g as usize * 2 >= self.vals[ci].len() && ci != self.val_cur {
            self.val_due.push(ci);
        }
    }

    fn store_bytes(&mut self, v: &[u8]) -> u32 {
        let need = v.len() + 5;
        if self
            .vals
            .get(self.val_cur)
            .is_none_or(|c| c.len() + need > VAL_CHUNK)
        {
            // The chunk being filled is done: on to an emptied one, or a new.
            let done = self.val_cur;
            self.val_cur = self.val_free.pop().unwrap_or_else(|| {
                self.vals.push(Vec::new());
                self.val_garbage.push(0);
                self.vals.len() - 1
            });
            if self
                .val_garbage
                .get(done)
                .is_some_and(|&g| g as usize * 2 >= self.vals[done].len() && g > 0)
            {
                self.val_due.push(done);
            }
        }
        let ci = self.val_cur;
        let chunk = &mut self.vals[ci];
        // Grow by doubling, but not past `VAL_CHUNK`: left to `Vec`, a
        // chunk that a long value once pushed off a power of two ends up to
        // twice its size, and a host's values are a dozen chunks. (A value
        // longer than a chunk starts a chunk of its own, as long as it.)
        if chunk.capacity() - chunk.len() < need {
            let cap = (chunk.capacity() * 2)
                .clamp(64, VAL_CHUNK)
                .max(chunk.len() + need);
            chunk.reserve_exact(cap - chunk.len());
        }
        let off = ci * VAL_CHUNK + chunk.len();
        let mut len = [0u8; 10];
        let w = put_len_into(&mut len, v.len());
        chunk.extend_from_slice(&len[..w]);
        chunk.extend_from_slice(v);
        off as u32
    }

    /// Moves the live values out of each chunk that is half garbage and
    /// frees it. One chunk at a time, so a host shutting down hands its
    /// values' memory back as its domains go, without ever holding a
    /// second copy of them.
    fn compact_due(&mut self) {
        let mut bytes = Vec::new();
        while let Some(ci) = self.val_due.pop() {
            if ci == self.val_cur || self.vals[ci].is_empty() {
                continue;
            }
            for id in 0..self.len {
                let n = *self.node(id);
                if n.val == NIL || n.val as usize / VAL_CHUNK != ci {
                    continue;
                }
                bytes.clear();
                bytes.extend_from_slice(self.value(id));
                let at = self.store_bytes(&bytes);
                self.node_mut(id).val = at;
            }
            self.vals[ci] = Vec::new();
            self.val_garbage[ci] = 0;
            self.val_free.push(ci);
        }
    }

    pub fn child(&self, parent: u32, name: &str) -> Option<u32> {
        if self.is_big(parent) {
            let sym = self.names.lookup(name)?;
            return self.big.get(&(parent, sym)).copied();
        }
        // A small directory's few names are compared as they are: hashing
        // the name to find its symbol costs more than the list's scan (a
        // name is interned once, so equal text is the same symbol).
        let name = name.as_bytes();
        let mut c = self.node(parent).first;
        while c != NIL {
            let n = self.node(c);
            let have = self.names.get(n.name).as_bytes();
            if have.len() == name.len() && same_bytes(have, name) {
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
            left: self.nchild(parent),
        }
    }

    /// How many children `id` has.
    pub fn nchild(&self, id: u32) -> usize {
        if self.is_big(id) {
            return self.big_dirs[&id].nchild as usize;
        }
        let mut n = 0;
        let mut c = self.node(id).first;
        while c != NIL {
            n += 1;
            c = self.node(c).next;
        }
        n
    }

    fn is_big(&self, id: u32) -> bool {
        let (word, bit) = (id as usize / 64, id % 64);
        self.big_bits.get(word).is_some_and(|w| w >> bit & 1 == 1)
    }

    fn set_big(&mut self, id: u32, big: bool) {
        let (word, bit) = (id as usize / 64, id % 64);
        if self.big_bits.len() <= word {
            self.big_bits.resize(word + 1, 0);
        }
        if big {
            self.big_bits[word] |= 1 << bit;
        } else {
            self.big_bits[word] &= !(1 << bit);
        }
    }

    /// Adds a child at the end of `parent`'s list.
    pub fn add_child(&mut self, parent: u32, name: &str, perms: u32) -> u32 {
        let sym = self.names.intern(name);
        let id = self.alloc(sym, parent, perms);
        if self.is_big(parent) {
            let dir = self
                .big_dirs
                .get_mut(&parent)
                .expect("a big directory has its record");
            let last = std::mem::replace(&mut dir.last, id);
            dir.nchild += 1;
            self.node_mut(last).next = id;
            self.big_prev.insert(id, last);
            self.big.insert((parent, sym), id);
            return id;
        }
        let (mut last, mut count) = (NIL, 1);
        match self.appended {
            // Filling one directory, as a commit of xend's does, entry after
            // entry: its last child is the one added before, unless a node
            // was freed since.
            (p, prev, n, removals) if p == parent && removals == self.removals => {
                (last, count) = (prev, n + 1);
            }
            _ => {
                let mut c = self.node(parent).first;
                while c != NIL {
                    (last, count) = (c, count + 1);
                    c = self.node(c).next;
                }
            }
        }
        self.appended = (parent, id, count, self.removals);
        if last == NIL {
            self.node_mut(parent).first = id;
        } else {
            self.node_mut(last).next = id;
        }
        if count > BIG_DIR {
            self.index_children(parent, count, id);
        }
        id
    }

    /// `parent` grew past `BIG_DIR` children: give it its side record.
    fn index_children(&mut self, parent: u32, nchild: u32, last: u32) {
        self.set_big(parent, true);
        self.big_dirs.insert(parent, BigDir { nchild, last });
        let mut prev = NIL;
        let mut c = self.node(parent).first;
        while c != NIL {
            self.big.insert((parent, self.node(c).name), c);
            self.big_prev.insert(c, prev);
            prev = c;
            c = self.node(c).next;
        }
    }

    /// `parent` shrank back to `BIG_DIR` children, or is being freed: drop
    /// its side record.
    fn unindex_children(&mut self, parent: u32) {
        self.set_big(parent, false);
        self.big_dirs.remove(&parent);
        let mut c = self.node(parent).first;
        while c != NIL {
            self.big.remove(&(parent, self.node(c).name));
            self.big_prev.remove(&c);
            c = self.node(c).next;
        }
    }

    pub fn set_perms(&mut self, id: u32, perms: u32) {
        self.node_mut(id).perms = perms;
    }

    /// Unlinks `id` from its parent and frees it and everything below it.
    /// Calls `on_free(id, node)` for each freed node (for quota accounting).
    pub fn remove(&mut self, id: u32, on_free: &mut dyn FnMut(u32, &Node)) {
        self.removals += 1;
        let n = *self.node(id);
        if n.parent != NIL {
            self.unlink(n.parent, id, n.name, n.next);
        }
        let mut stack = vec![id];
        while let Some(x) = stack.pop() {
            let node = *self.node(x);
            let mut c = node.first;
            while c != NIL {
                stack.push(c);
                c = self.node(c).next;
            }
            if self.is_big(x) {
                self.unindex_children(x);
            }
            on_free(x, &node);
            if node.val != NIL {
                let n = self.value(x).len();
                self.add_garbage(node.val, len_width(n) + n);
            }
            let next_free = self.free;
            let m = self.node_mut(x);
            m.parent = NIL;
            m.val = NIL;
            m.first = NIL;
            m.next = next_free;
            self.free = x;
            self.live -= 1;
        }
        self.compact_due();
    }

    /// Takes `id` (named `name`, followed by `next`) out of `parent`'s list.
    fn unlink(&mut self, parent: u32, id: u32, name: u32, next: u32) {
        if !self.is_big(parent) {
            let mut prev = NIL;
            let mut c = self.node(parent).first;
            while c != id {
                prev = c;
                c = self.node(c).next;
            }
            match prev {
                NIL => self.node_mut(parent).first = next,
                p => self.node_mut(p).next = next,
            }
            return;
        }
        let prev = self.big_prev.remove(&id).unwrap_or(NIL);
        match prev {
            NIL => self.node_mut(parent).first = next,
            p => self.node_mut(p).next = next,
        }
        self.big.remove(&(parent, name));
        let dir = self
            .big_dirs
            .get_mut(&parent)
            .expect("a big directory has its record");
        dir.nchild -= 1;
        if next == NIL {
            dir.last = prev;
        } else {
            self.big_prev.insert(next, prev);
        }
        if dir.nchild <= BIG_DIR {
            self.unindex_children(parent);
        }
    }
}

/// `a == b` for two slices of the same length, without a call to the
/// library's `memcmp` for the short names a path is made of (most are a
/// few bytes: `device`, `vif`, `0`, `state`), which costs more to call
/// than to compare them: two overlapping 8-byte loads cover up to 16.
#[inline(always)]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    debug_assert_eq!(n, b.len());
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().expect("4 bytes"));
    match n {
        0 => true,
        1..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

/// A big directory's side record.
struct BigDir {
    nchild: u32,
    last: u32,
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
    fn names_compare_as_bytes_do_at_every_length() {
        for n in 0..40 {
            let a: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(same_bytes(&a, &a.clone()), "{n}");
            for at in 0..n {
                let mut b = a.clone();
                b[at] = b'-';
                assert!(!same_bytes(&a, &b), "{n} differing at {at}");
            }
        }
    }

    #[test]
    fn children_keep_their_order_through_removals_at_either_end() {
        let mut t = Tree::new(0);
        let d = t.add_child(Tree::ROOT, "d", 0);
        let ids: Vec<u32> = ["a", "b", "c", "e"]
            .iter()
            .map(|n| t.add_child(d, n, 0))
            .collect();
        t.remove(ids[0], &mut |_, _| {});
        assert_eq!(names(&t, d), ["b", "c", "e"]);
        t.remove(ids[3], &mut |_, _| {});
        assert_eq!(names(&t, d), ["b", "c"]);
        t.add_child(d, "f", 0);
        assert_eq!(names(&t, d), ["b", "c", "f"]);
        t.remove(ids[2], &mut |_, _| {});
        t.remove(ids[1], &mut |_, _| {});
        assert_eq!(names(&t, d), ["f"]);
        t.add_child(d, "g", 0);
        assert_eq!(names(&t, d), ["f", "g"]);
        // Past the name index's threshold and back.
        let many: Vec<u32> = (0..40).map(|i| t.add_child(d, &i.to_string(), 0)).collect();
        assert_eq!(t.child(d, "39"), Some(many[39]));
        for &c in &many[..30] {
            t.remove(c, &mut |_, _| {});
        }
        assert_eq!(names(&t, d)[..3], ["f", "g", "30"]);
        assert_eq!(t.child(d, "35"), Some(many[35]));
    }

    #[test]
    fn a_directory_growing_and_shrinking_across_the_index_threshold_keeps_its_children() {
        // Adds and removes at random (removing anywhere in the list, and
        // whole subtrees) while checking the order, the count and every
        // lookup against a plain list of (name, id).
        let mut rng = crate::rng::Rng::new(7);
        let mut t = Tree::new(0);
        let d = t.add_child(Tree::ROOT, "d", 0);
        let mut model: Vec<(String, u32)> = Vec::new();
        let mut fresh = 0;
        for step in 0..3000 {
            let grow = model.len() < 5 || (rng.below(100) < 55 && model.len() < 60);
            if grow {
                let name = format!("n{fresh}");
                fresh += 1;
                let id = t.add_child(d, &name, 0);
                // Some children are directories themselves, big or not.
                for k in 0..rng.below(30) {
                    t.add_child(id, &k.to_string(), 0);
                }
                model.push((name, id));
            } else {
                let (_, id) = model.remove(rng.below(model.len() as u64) as usize);
                t.remove(id, &mut |_, _| {});
            }
            let want: Vec<&str> = model.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names(&t, d), want, "step {step}");
            assert_eq!(t.nchild(d), model.len());
            for (name, id) in &model {
                assert_eq!(t.child(d, name), Some(*id));
            }
            assert_eq!(t.child(d, "gone"), None);
        }
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

    #[test]
    fn an_overwrite_in_place_leaves_the_neighbours_alone() {
        let mut t = Tree::new(0);
        let ids: Vec<u32> = ["a", "b", "c"]
            .iter()
            .map(|n| t.add_child(Tree::ROOT, n, 0))
            .collect();
        let long = vec![b'x'; 300];
        t.set_value(ids[0], b"1");
        t.set_value(ids[1], &long);
        t.set_value(ids[2], b"connected");
        // Same length, shorter with the same width of length, shorter with a
        // narrower one, then longer again.
        t.set_value(ids[0], b"3");
        t.set_value(ids[1], &long[..200]);
        t.set_value(ids[2], b"on");
        assert_eq!(t.value(ids[0]), b"3");
        assert_eq!(t.value(ids[1]), &long[..200]);
        assert_eq!(t.value(ids[2]), b"on");
        t.set_value(ids[1], &long[..5]);
        t.set_value(ids[2], b"closing");
        assert_eq!(t.value(ids[0]), b"3");
        assert_eq!(t.value(ids[1]), &long[..5]);
        assert_eq!(t.value(ids[2]), b"closing");
    }

    /// A host's domains come and go: their values fill chunks, and as they
    /// are removed or rewritten each chunk that is half garbage gives its
    /// live values to the chunk being filled and is freed. Every value
    /// stays what was last written, and the memory held follows the live
    /// values down.
    #[test]
    fn values_survive_chunks_compacted_as_domains_go() {
        let mut t = Tree::new(0);
        let mut rng = crate::rng::Rng::new(12);
        let mut live: Vec<(u32, u32, Vec<u8>)> = Vec::new();
        let value = |rng: &mut crate::rng::Rng, i: usize| -> Vec<u8> {
            let n = 1 + rng.below(if i.is_multiple_of(97) { 3000 } else { 40 }) as usize;
            (0..n).map(|k| b'a' + ((i + k) % 26) as u8).collect()
        };
        for d in 0..3000 {
            let dom = t.add_child(Tree::ROOT, &format!("d{d}"), 0);
            for k in 0..40 {
                let id = t.add_child(dom, &format!("k{k}"), 0);
                let v = value(&mut rng, d * 40 + k);
                t.set_value(id, &v);
                live.push((dom, id, v));
            }
        }
        let held = |t: &Tree| t.vals.iter().map(Vec::capacity).sum::<usize>();
        let at_peak = held(&t);
        // Nine domains in ten go (whole subtrees), and a third of what
        // stays is rewritten.
        for d in 0..3000u32 {
            if d % 10 != 0 {
                let dom = t.child(Tree::ROOT, &format!("d{d}")).expect("domain");
                t.remove(dom, &mut |_, _| {});
            }
        }
        live.retain(|(dom, _, _)| t.node(*dom).parent != NIL);
        for (i, (_, id, v)) in live.iter_mut().enumerate() {
            if rng.below(3) == 0 {
                *v = value(&mut rng, i + 7);
                t.set_value(*id, v);
            }
        }
        for (_, id, v) in &live {
            assert_eq!(t.value(*id), v.as_slice());
        }
        let stays: usize = live.iter().map(|(_, _, v)| v.len() + 2).sum();
        assert!(
            held(&t) < at_peak / 3 && held(&t) < 3 * stays + 2 * VAL_CHUNK,
            "held {} of {} at the peak for {} live",
            held(&t),
            at_peak,
            stays
        );
    }
}
