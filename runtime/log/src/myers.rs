//! Myers' O(ND) difference algorithm in linear space (Myers 1986, §4b: the
//! "middle snake", divide and conquer), as GNU diff uses it. It finds a
//! longest common subsequence, like Hirschberg's, but its time grows with
//! the number of differences D rather than with the product of the
//! lengths: two 100 MB logs that differ by two deleted lines align in two
//! passes over their keys, where the product is 10^11 comparisons.
//!
//! Its time is still (N + M) · D when the logs differ a lot, so the search
//! runs on a budget of work and gives up past it (`None`): the caller then
//! cuts the logs at anchors instead (`align.rs`). Its memory is two arrays
//! of furthest-reaching points, one entry per diagonal searched: at most
//! [`MAX_D`] diagonals each side, whatever the logs' size.

/// The most edits one middle-snake search looks at before giving up.
pub const MAX_D: usize = 1 << 16;

/// Furthest-reaching x on each diagonal k (−d ≤ k ≤ d), stored at k + off.
struct V {
    x: Vec<usize>,
    off: isize,
}

impl V {
    fn new(dmax: usize) -> V {
        V {
            x: vec![0; 2 * dmax + 3],
            off: dmax as isize + 1,
        }
    }
    #[inline]
    fn get(&self, k: isize) -> usize {
        self.x[(k + self.off) as usize]
    }
    #[inline]
    fn set(&mut self, k: isize, x: usize) {
        let i = (k + self.off) as usize;
        self.x[i] = x;
    }
}

/// The search's state: its arrays, reused by every level of the recursion,
/// and the work left.
struct Search {
    fwd: V,
    bwd: V,
    dmax: usize,
    budget: u64,
}

/// A longest common subsequence of `a` and `b` as index pairs (offset by
/// `oa`, `ob`), in order, appended to `out`; `None` (with `out` as it was)
/// when finding it would cost more than `budget` steps.
pub fn lcs(
    a: &[u32],
    b: &[u32],
    oa: usize,
    ob: usize,
    budget: u64,
    out: &mut Vec<(usize, usize)>,
) -> Option<()> {
    let dmax = ((a.len() + b.len()).div_ceil(2) + 1).min(MAX_D);
    let mut s = Search {
        fwd: V::new(dmax),
        bwd: V::new(dmax),
        dmax,
        budget,
    };
    let keep = out.len();
    if conquer(&mut s, a, b, oa, ob, out).is_none() {
        out.truncate(keep);
        return None;
    }
    Some(())
}

fn conquer(
    s: &mut Search,
    a: &[u32],
    b: &[u32],
    oa: usize,
    ob: usize,
    out: &mut Vec<(usize, usize)>,
) -> Option<()> {
    // Common ends match at no cost.
    let pre = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suf = a[pre..]
        .iter()
        .rev()
        .zip(b[pre..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    s.budget = s.budget.checked_sub((pre + suf) as u64 + 1)?;
    out.extend((0..pre).map(|k| (oa + k, ob + k)));
    let (am, bm) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
    let (oam, obm) = (oa + pre, ob + pre);
    if !am.is_empty() && !bm.is_empty() {
        let (x, y) = middle_snake(s, am, bm)?;
        conquer(s, &am[..x], &bm[..y], oam, obm, out)?;
        conquer(s, &am[x..], &bm[y..], oam + x, obm + y, out)?;
    }
    out.extend((0..suf).map(|k| (oam + am.len() + k, obm + bm.len() + k)));
    Some(())
}

/// Where an optimal edit path of `a` → `b` crosses its middle: the start
/// of the middle snake, as (x, y). Both halves before and after it are
/// strictly smaller problems, since `a` and `b` share no first or last
/// element (the caller trimmed them).
fn middle_snake(s: &mut Search, a: &[u32], b: &[u32]) -> Option<(usize, usize)> {
    let (n, m) = (a.len(), b.len());
    let delta = n as isize - m as isize;
    let odd = delta & 1 != 0;
    let limit = (n + m).div_ceil(2) + 1;
    s.fwd.set(1, 0);
    s.bwd.set(1, 0);
    for d in 0..limit.min(s.dmax) as isize {
        s.budget = s.budget.checked_sub(2 * d as u64 + 2)?;
        // Forward: from (0, 0), furthest x on each diagonal k = x − y.
        let mut k = d;
        while k >= -d {
            let mut x = if k == -d || (k != d && s.fwd.get(k - 1) < s.fwd.get(k + 1)) {
                s.fwd.get(k + 1)
            } else {
                s.fwd.get(k - 1) + 1
            };
            let mut y = (x as isize - k) as usize;
            let (x0, y0) = (x, y);
            while x < n && y < m && a[x] == b[y] {
                x += 1;
                y += 1;
            }
            s.budget = s.budget.checked_sub((x - x0) as u64)?;
            s.fwd.set(k, x);
            // The backward path on the same diagonal (its k is delta − k).
            if odd && (k - delta).abs() < d && s.fwd.get(k) + s.bwd.get(delta - k) >= n {
                return Some((x0, y0));
            }
            k -= 2;
        }
        // Backward: from (n, m), x counted from the end.
        let mut k = d;
        while k >= -d {
            let mut x = if k == -d || (k != d && s.bwd.get(k - 1) < s.bwd.get(k + 1)) {
                s.bwd.get(k + 1)
            } else {
                s.bwd.get(k - 1) + 1
            };
            let mut y = (x as isize - k) as usize;
            let x0 = x;
            while x < n && y < m && a[n - x - 1] == b[m - y - 1] {
                x += 1;
                y += 1;
            }
            s.budget = s.budget.checked_sub((x - x0) as u64)?;
            s.bwd.set(k, x);
            if !odd && (k - delta).abs() <= d && s.bwd.get(k) + s.fwd.get(delta - k) >= n {
                return Some((n - x, m - y));
            }
            k -= 2;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The LCS length by the textbook table, for checking.
    fn lcs_len(a: &[u32], b: &[u32]) -> usize {
        let mut t = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for i in 0..a.len() {
            for j in 0..b.len() {
                t[i + 1][j + 1] = if a[i] == b[j] {
                    t[i][j] + 1
                } else {
                    t[i][j + 1].max(t[i + 1][j])
                };
            }
        }
        t[a.len()][b.len()]
    }

    fn check(a: &[u32], b: &[u32]) {
        let mut out = Vec::new();
        lcs(a, b, 0, 0, u64::MAX, &mut out).expect("unbounded");
        assert_eq!(out.len(), lcs_len(a, b), "{a:?} {b:?} {out:?}");
        for w in out.windows(2) {
            assert!(w[0].0 < w[1].0 && w[0].1 < w[1].1, "{out:?}");
        }
        for &(i, j) in &out {
            assert_eq!(a[i], b[j]);
        }
    }

    #[test]
    fn finds_a_longest_common_subsequence() {
        // A small generator, so the cases are many and the same every run.
        let mut seed = 0x2545f4914f6cdd1du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n) as u32
        };
        for _ in 0..2000 {
            let (la, lb, alpha) = (next(12) as usize, next(12) as usize, next(4) as u64 + 1);
            let a: Vec<u32> = (0..la).map(|_| next(alpha)).collect();
            let b: Vec<u32> = (0..lb).map(|_| next(alpha)).collect();
            check(&a, &b);
        }
        check(&[], &[1, 2]);
        check(&[1, 2, 3], &[3, 2, 1]);
    }

    #[test]
    fn a_few_deletions_from_a_long_sequence_cost_little() {
        let a: Vec<u32> = (0..200_000).map(|i| (i * 7 % 13) as u32).collect();
        let mut b = a.clone();
        b.remove(150_000);
        b.remove(40_000);
        let mut out = Vec::new();
        // Two passes' worth of work, far below the product of the lengths.
        lcs(&a, &b, 0, 0, 2_000_000, &mut out).expect("within budget");
        assert_eq!(out.len(), b.len());
    }

    #[test]
    fn gives_up_past_its_budget_and_leaves_nothing() {
        let a: Vec<u32> = (0..1000).collect();
        let b: Vec<u32> = (1000..2000).collect();
        let mut out = vec![(7, 7)];
        assert!(lcs(&a, &b, 0, 0, 10_000, &mut out).is_none());
        assert_eq!(out, vec![(7, 7)]);
    }
}
