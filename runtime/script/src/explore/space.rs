//! The choice tree and how it is walked.
//!
//! Choices are discovered by running: a variant is a *path* — the index
//! taken at each choice point, in the order the script made them — and a
//! later choice may exist only under some earlier values (ask for
//! `pm_power_off` only for HVM guests). Exhaustive exploration is the
//! classic stateless walk: run a prefix with the first option everywhere
//! after it; the trail it leaves names each new choice point and how many
//! options it had; every other option at those points is a new prefix.
//! Each path is run exactly once, whatever the tree's shape.
//!
//! Sharding (`--shard i/n`) must split that walk between machines that do
//! not talk. All shards run the root path first and see the same choice
//! points on it; the first `depth` of them (the fewest whose option counts
//! multiply to at least n) pick the shard: a path belongs to the shard
//! `rank(path[..depth]) % n`. A shard skips every prefix at least that
//! deep that is not its own, and runs the few shallower ones (which every
//! shard needs to find its subtrees), keeping only its own paths' results.

use std::collections::VecDeque;

use super::Made;

/// Where one variant went: the index taken at each choice point.
pub type Path = Vec<usize>;

/// How the shards split the tree (see the module doc).
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// This shard (0-based).
    pub index: usize,
    /// Shards in all.
    pub count: usize,
    /// Choice points that decide the shard.
    pub depth: usize,
    /// Their option counts on the root path (the ranks' radices).
    pub radices: Vec<usize>,
}

impl Split {
    /// The split for `index` of `count`, given the root path's trail.
    pub fn new(index: usize, count: usize, root: &[Made]) -> Split {
        let mut depth = 0;
        let mut product = 1usize;
        let mut radices = Vec::new();
        while product < count && depth < root.len() {
            product = product.saturating_mul(root[depth].branches.max(1));
            radices.push(root[depth].branches.max(1));
            depth += 1;
        }
        Split {
            index,
            count,
            depth,
            radices,
        }
    }

    /// The shard a path (or a prefix at least `depth` long) belongs to.
    pub fn owner(&self, path: &[usize]) -> usize {
        if self.count <= 1 {
            return 0;
        }
        let mut rank = 0usize;
        for (d, &radix) in self.radices.iter().enumerate() {
            let v = path.get(d).copied().unwrap_or(0);
            rank = rank.wrapping_mul(radix).wrapping_add(v);
        }
        rank % self.count
    }

    /// Is a whole subtree below `prefix` someone else's?
    pub fn skips(&self, prefix: &[usize]) -> bool {
        prefix.len() >= self.depth && self.owner(prefix) != self.index
    }

    /// Is this path's result ours?
    pub fn keeps(&self, path: &[usize]) -> bool {
        self.owner(path) == self.index
    }
}

/// The path a trail took.
pub fn path_of(trail: &[Made]) -> Path {
    trail.iter().map(|m| m.index).collect()
}

/// The prefixes a run of `prefix` opened: every other option at each
/// choice point it reached past the prefix.
pub fn children(prefix_len: usize, trail: &[Made]) -> Vec<Path> {
    let mut out = Vec::new();
    for d in prefix_len..trail.len() {
        for j in 1..trail[d].branches {
            let mut p: Path = trail[..d].iter().map(|m| m.index).collect();
            p.push(j);
            out.push(p);
        }
    }
    out
}

/// The order "smallest choice vector" means: fewest choices away from
/// their first option, then the earliest in the walk's order.
pub fn size_key(path: &[usize]) -> (usize, Vec<usize>) {
    (path.iter().filter(|&&i| i != 0).count(), path.to_vec())
}

/// A work queue of prefixes, walked depth-first so memory stays small and
/// the first results come from the leftmost paths.
#[derive(Default, Debug)]
pub struct Frontier {
    items: VecDeque<Path>,
}

impl Frontier {
    /// A frontier holding the root.
    pub fn root() -> Frontier {
        Frontier {
            items: VecDeque::from([Vec::new()]),
        }
    }

    /// Adds the prefixes a run opened (the leftmost first out).
    pub fn extend(&mut self, mut paths: Vec<Path>) {
        paths.reverse();
        for p in paths {
            self.items.push_front(p);
        }
    }

    /// The next prefix.
    pub fn pop(&mut self) -> Option<Path> {
        self.items.pop_front()
    }

    /// Prefixes waiting.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// The number of paths in a product of choices, or `None` past `usize`.
pub fn product(trail: &[Made]) -> Option<usize> {
    trail
        .iter()
        .try_fold(1usize, |acc, m| acc.checked_mul(m.branches.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn made(name: &str, n: usize, index: usize) -> Made {
        Made {
            name: name.into(),
            options: (0..n).map(|i| i.to_string()).collect(),
            index,
            branches: n,
            fixed: false,
        }
    }

    /// Walks a tree where "b" exists only when a == 1: every path once.
    #[test]
    fn the_walk_visits_each_path_of_a_dependent_tree_once() {
        let run = |prefix: &[usize]| -> Vec<Made> {
            let a = prefix.first().copied().unwrap_or(0);
            let mut t = vec![made("a", 3, a)];
            if a == 1 {
                t.push(made("b", 2, prefix.get(1).copied().unwrap_or(0)));
            }
            t.push(made("c", 2, prefix.get(t.len()).copied().unwrap_or(0)));
            t
        };
        let mut f = Frontier::root();
        let mut seen = Vec::new();
        while let Some(p) = f.pop() {
            let t = run(&p);
            seen.push(path_of(&t));
            f.extend(children(p.len(), &t));
        }
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), seen.len(), "no path twice");
        assert_eq!(seen.len(), 2 + 4 + 2);
        assert_eq!(seen[0], vec![0, 0], "leftmost first");
    }

    #[test]
    fn shards_partition_paths_and_skip_foreign_subtrees() {
        let root = vec![made("a", 3, 0), made("b", 2, 0), made("c", 2, 0)];
        let splits: Vec<Split> = (0..4).map(|i| Split::new(i, 4, &root)).collect();
        assert_eq!(splits[0].depth, 2, "3 × 2 ≥ 4");
        let mut counts = [0; 4];
        for a in 0..3 {
            for b in 0..2 {
                for c in 0..2 {
                    let p = [a, b, c];
                    let owners: Vec<usize> = (0..4).filter(|&i| splits[i].keeps(&p)).collect();
                    assert_eq!(owners.len(), 1, "{p:?}");
                    counts[owners[0]] += 1;
                    assert!(!splits[owners[0]].skips(&p[..2]));
                }
            }
        }
        assert_eq!(counts, [4, 4, 2, 2]);
        assert!(!splits[3].skips(&[2]), "shallower prefixes are everyone's");
    }

    #[test]
    fn smaller_means_fewer_changes_then_earlier() {
        let mut v = vec![vec![0, 2, 0], vec![1, 1, 0], vec![0, 0, 1], vec![0, 0, 0]];
        v.sort_by_key(|p| size_key(p));
        assert_eq!(
            v,
            [vec![0, 0, 0], vec![0, 0, 1], vec![0, 2, 0], vec![1, 1, 0]]
        );
    }
}
