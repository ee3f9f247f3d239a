//! Aligning two sequences of event keys (interned as numbers) for `diff`.
//!
//! A longest common subsequence by Hirschberg's algorithm is exact and
//! needs linear memory, but its time is the product of the lengths: two
//! logs of 100,000 events each would take 10^10 comparisons. So a stretch
//! longer than [`EXACT_LIMIT`] comparisons is aligned by Myers' O(ND)
//! search (`myers.rs`), exact and fast while the logs differ in a few
//! hundred places (a copy missing a few lines); past that it is first cut
//! at anchors, the way
//! patience diff does: the events that occur exactly once in the stretch of
//! A and once in that of B are matched, keeping the longest run of them
//! that is in the same order in both (a longest increasing subsequence);
//! the gaps between anchors are aligned the same way in turn (an event
//! repeated in the whole log is often unique within a gap), and exactly once
//! they are short enough. Only a gap that is still too long and has no
//! anchor at all is matched greedily, and the alignment then says how many
//! events it covered, so `diff` can tell its user the result is approximate
//! there.

use std::collections::HashMap;

/// Beyond this many key comparisons, a stretch is cut at anchors before the
/// exact alignment (a few tenths of a second of Hirschberg in a release
/// build).
pub const EXACT_LIMIT: usize = 200_000_000;

/// How far ahead in B the greedy fallback looks for each of A's events.
pub const GREEDY_WINDOW: usize = 1000;

/// Myers' search on a long stretch may do this many passes' worth of work
/// over it before the stretch is cut at anchors instead: enough for a few
/// hundred differences, and a bound on the time of every stretch alike.
const MYERS_PASSES: u64 = 256;

fn myers_budget(a: &[u32], b: &[u32]) -> u64 {
    ((a.len() + b.len()) as u64).saturating_mul(MYERS_PASSES)
}

/// Anchor refinement deeper than this (each level a smaller gap) gives up
/// on anchors: it bounds the recursion on adversarial input.
const MAX_DEPTH: usize = 64;

/// Matched index pairs, in order in both sequences, and the extent of the
/// stretches that were matched greedily rather than exactly.
#[derive(Debug, Default)]
pub struct Alignment {
    /// (A index, B index), increasing in both.
    pub pairs: Vec<(usize, usize)>,
    /// Events of A in greedily matched stretches.
    pub approx_a: usize,
    /// Events of B in greedily matched stretches.
    pub approx_b: usize,
}

/// Aligns `a` with `b`.
pub fn align(a: &[u32], b: &[u32]) -> Alignment {
    let mut al = Alignment::default();
    stretch(a, b, 0, 0, 0, &mut al);
    al
}

/// Aligns a stretch whose first events are at `oa` in A and `ob` in B.
fn stretch(a: &[u32], b: &[u32], oa: usize, ob: usize, depth: usize, al: &mut Alignment) {
    let (pre, suf) = common_ends(a, b);
    al.pairs.extend((0..pre).map(|k| (oa + k, ob + k)));
    let (a, b) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
    let (oa, ob) = (oa + pre, ob + pre);
    if a.is_empty() || b.is_empty() {
    } else if a.len().saturating_mul(b.len()) <= EXACT_LIMIT {
        lcs(a, b, oa, ob, &mut al.pairs);
    } else if crate::myers::lcs(a, b, oa, ob, myers_budget(a, b), &mut al.pairs).is_some() {
        // Few differences: exact, in time that grows with their number.
    } else {
        let anchors = if depth < MAX_DEPTH {
            unique_anchors(a, b)
        } else {
            Vec::new()
        };
        if anchors.is_empty() {
            greedy(a, b, oa, ob, &mut al.pairs);
            al.approx_a += a.len();
            al.approx_b += b.len();
        } else {
            let (mut i, mut j) = (0, 0);
            for &(ai, bj) in &anchors {
                stretch(&a[i..ai], &b[j..bj], oa + i, ob + j, depth + 1, al);
                al.pairs.push((oa + ai, ob + bj));
                (i, j) = (ai + 1, bj + 1);
            }
            stretch(&a[i..], &b[j..], oa + i, ob + j, depth + 1, al);
        }
    }
    al.pairs
        .extend((0..suf).map(|k| (oa + a.len() + k, ob + b.len() + k)));
}

/// The events unique in both `a` and `b`, as index pairs: the longest
/// chain of them in the same order in both.
fn unique_anchors(a: &[u32], b: &[u32]) -> Vec<(usize, usize)> {
    // key -> (count in a, index in a, count in b, index in b)
    let mut seen: HashMap<u32, (u32, usize, u32, usize)> = HashMap::new();
    for (i, &k) in a.iter().enumerate() {
        let e = seen.entry(k).or_insert((0, i, 0, 0));
        e.0 = e.0.saturating_add(1);
    }
    for (j, &k) in b.iter().enumerate() {
        if let Some(e) = seen.get_mut(&k) {
            e.2 = e.2.saturating_add(1);
            e.3 = j;
        }
    }
    // In A's order, so the result does not depend on the map's order.
    let cands: Vec<(usize, usize)> = a
        .iter()
        .enumerate()
        .filter_map(|(i, k)| match seen.get(k) {
            Some(&(1, _, 1, j)) => Some((i, j)),
            _ => None,
        })
        .collect();
    increasing(&cands)
}

/// The longest subsequence of `c` (increasing in `.0`) whose `.1` increase
/// too: patience sorting, O(n log n).
fn increasing(c: &[(usize, usize)]) -> Vec<(usize, usize)> {
    // tails[k]: index in `c` of the smallest last `.1` of a chain of k + 1.
    let mut tails: Vec<usize> = Vec::new();
    let mut back: Vec<Option<usize>> = Vec::with_capacity(c.len());
    for (n, &(_, j)) in c.iter().enumerate() {
        let k = tails.partition_point(|&t| c[t].1 < j);
        back.push(k.checked_sub(1).map(|p| tails[p]));
        if k == tails.len() {
            tails.push(n);
        } else {
            tails[k] = n;
        }
    }
    let mut out = Vec::with_capacity(tails.len());
    let mut at = tails.last().copied();
    while let Some(n) = at {
        out.push(c[n]);
        at = back[n];
    }
    out.reverse();
    out
}

/// A cheap alignment of a long stretch with no anchor: each of A's events
/// matches the next equal one of B within [`GREEDY_WINDOW`]. The pairs are
/// a common subsequence, but not always a longest one.
fn greedy(a: &[u32], b: &[u32], oa: usize, ob: usize, out: &mut Vec<(usize, usize)>) {
    let mut j = 0;
    for (i, x) in a.iter().enumerate() {
        let end = (j + GREEDY_WINDOW).min(b.len());
        if let Some(k) = b.get(j..end).and_then(|w| w.iter().position(|y| y == x)) {
            out.push((oa + i, ob + j + k));
            j += k + 1;
        }
    }
}

/// Lengths of the common prefix of `a` and `b`, and of the common suffix
/// of what follows it (the two never overlap).
fn common_ends(a: &[u32], b: &[u32]) -> (usize, usize) {
    let pre = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suf = a[pre..]
        .iter()
        .rev()
        .zip(b[pre..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    (pre, suf)
}

/// Hirschberg's longest common subsequence: pairs of indices (offset by
/// `oa`, `ob`), in order, in O(len a + len b) memory.
fn lcs(a: &[u32], b: &[u32], oa: usize, ob: usize, out: &mut Vec<(usize, usize)>) {
    // Common prefix and suffix cost nothing to match.
    let (pre, suf) = common_ends(a, b);
    out.extend((0..pre).map(|k| (oa + k, ob + k)));
    let (a_mid, b_mid) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
    let (oa, ob) = (oa + pre, ob + pre);
    if a_mid.is_empty() || b_mid.is_empty() {
    } else if a_mid.len() == 1 {
        if let Some(j) = b_mid.iter().position(|y| *y == a_mid[0]) {
            out.push((oa, ob + j));
        }
    } else {
        let mid = a_mid.len() / 2;
        let left = row(&a_mid[..mid], b_mid, false);
        let right = row(&a_mid[mid..], b_mid, true);
        let split = (0..=b_mid.len())
            .max_by_key(|&k| (left[k] + right[b_mid.len() - k], std::cmp::Reverse(k)))
            .unwrap_or(0);
        lcs(&a_mid[..mid], &b_mid[..split], oa, ob, out);
        lcs(&a_mid[mid..], &b_mid[split..], oa + mid, ob + split, out);
    }
    out.extend((0..suf).map(|k| (oa + a_mid.len() + k, ob + b_mid.len() + k)));
}

/// The last row of the LCS length table of `a` against `b` (both reversed
/// when `rev`): entry k is the LCS length of `a` and the first k of `b`.
fn row(a: &[u32], b: &[u32], rev: bool) -> Vec<usize> {
    let get = |s: &[u32], k: usize| -> u32 {
        if rev {
            s[s.len() - 1 - k]
        } else {
            s[k]
        }
    };
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for i in 0..a.len() {
        let x = get(a, i);
        for k in 0..b.len() {
            cur[k + 1] = if x == get(b, k) {
                prev[k] + 1
            } else {
                cur[k].max(prev[k + 1])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_increasing_chain_of_anchors() {
        let c = [(0, 5), (1, 1), (2, 2), (3, 9), (4, 3), (5, 4)];
        assert_eq!(increasing(&c), vec![(1, 1), (2, 2), (4, 3), (5, 4)]);
        assert!(increasing(&[]).is_empty());
    }

    #[test]
    fn anchors_are_events_unique_in_both() {
        // 7 is twice in b, 9 only in a; 3 and 4 cross: one of them is kept.
        let a = [1, 7, 3, 4, 9, 2, 2];
        let b = [7, 1, 4, 3, 7, 2];
        let got = unique_anchors(&a, &b);
        assert_eq!(got, vec![(0, 1), (3, 2)]);
    }
}
