//! The structural diff of two logs' events (`events.rs`): which of A's
//! events B misses, which B adds, which it has in another order. And
//! `check`: does a simulated run produce a real log's sequence of events?
//!
//! The alignment is a longest common subsequence of event keys
//! (Hirschberg's: linear memory); a missing event whose key B has among its
//! extras is reported once, as reordered.

use crate::events::{events, Event};
use crate::format::Format;
use crate::record::Record;

/// One step of the alignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// In both, in order (A index, B index).
    Same(usize, usize),
    /// In A only.
    Missing(usize),
    /// In B only.
    Extra(usize),
    /// In both, out of order (A index, B index).
    Moved(usize, usize),
}

/// A diff of two event sequences.
pub struct Diff {
    /// A's events.
    pub a: Vec<Event>,
    /// B's events.
    pub b: Vec<Event>,
    /// The alignment, in A's order (B's extras where they fall).
    pub ops: Vec<Op>,
}

impl Diff {
    /// No event missing, extra or moved.
    pub fn same(&self) -> bool {
        self.ops.iter().all(|o| matches!(o, Op::Same(..)))
    }

    /// Counts: (in order, missing, extra, reordered).
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let mut c = (0, 0, 0, 0);
        for o in &self.ops {
            match o {
                Op::Same(..) => c.0 += 1,
                Op::Missing(_) => c.1 += 1,
                Op::Extra(_) => c.2 += 1,
                Op::Moved(..) => c.3 += 1,
            }
        }
        c
    }

    /// The text report.
    pub fn render(&self, name_a: &str, name_b: &str) -> String {
        let (same, missing, extra, moved) = self.counts();
        let mut s = format!(
            "A: {name_a} ({} events)\nB: {name_b} ({} events)\n{same} in order, {missing} missing from B, {extra} extra in B, {moved} reordered\n",
            self.a.len(),
            self.b.len()
        );
        for o in &self.ops {
            match *o {
                Op::Same(..) => {}
                Op::Missing(i) => {
                    s.push_str(&format!("- A:{:<6} {}\n", self.a[i].line, show(&self.a[i])))
                }
                Op::Extra(j) => {
                    s.push_str(&format!("+ B:{:<6} {}\n", self.b[j].line, show(&self.b[j])))
                }
                Op::Moved(i, j) => s.push_str(&format!(
                    "~ A:{} → B:{}  {}\n",
                    self.a[i].line,
                    self.b[j].line,
                    show(&self.a[i])
                )),
            }
        }
        s
    }
}

fn show(e: &Event) -> String {
    format!("[{}] {}", e.format.name(), e.text)
}

/// Diffs two logs' records.
pub fn diff(a: &[Record], b: &[Record]) -> Diff {
    diff_events(events(a), events(b))
}

/// Diffs two event sequences.
pub fn diff_events(a: Vec<Event>, b: Vec<Event>) -> Diff {
    let ka: Vec<&str> = a.iter().map(|e| e.key.as_str()).collect();
    let kb: Vec<&str> = b.iter().map(|e| e.key.as_str()).collect();
    let mut pairs = Vec::new();
    lcs(&ka, &kb, 0, 0, &mut pairs);
    let mut ops = Vec::new();
    let (mut i, mut j) = (0, 0);
    for &(pi, pj) in &pairs {
        while i < pi {
            ops.push(Op::Missing(i));
            i += 1;
        }
        while j < pj {
            ops.push(Op::Extra(j));
            j += 1;
        }
        ops.push(Op::Same(pi, pj));
        i += 1;
        j += 1;
    }
    ops.extend((i..a.len()).map(Op::Missing));
    ops.extend((j..b.len()).map(Op::Extra));
    pair_moves(&mut ops, &ka, &kb);
    Diff { a, b, ops }
}

/// A missing event whose key is also among the extras moved.
fn pair_moves(ops: &mut Vec<Op>, ka: &[&str], kb: &[&str]) {
    let mut extras: Vec<(usize, usize)> = ops
        .iter()
        .enumerate()
        .filter_map(|(k, o)| match o {
            Op::Extra(j) => Some((k, *j)),
            _ => None,
        })
        .collect();
    let mut drop = vec![false; ops.len()];
    for op in ops.iter_mut() {
        if let Op::Missing(i) = *op {
            if let Some(pos) = extras.iter().position(|&(_, j)| kb[j] == ka[i]) {
                let (ek, j) = extras.remove(pos);
                *op = Op::Moved(i, j);
                drop[ek] = true;
            }
        }
    }
    let mut k = 0;
    ops.retain(|_| {
        k += 1;
        !drop[k - 1]
    });
}

/// Hirschberg's longest common subsequence: pairs of indices (offset by
/// `oa`, `ob`), in order, in O(len a + len b) memory.
fn lcs(a: &[&str], b: &[&str], oa: usize, ob: usize, out: &mut Vec<(usize, usize)>) {
    // Common prefix and suffix cost nothing to match.
    let pre = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    for k in 0..pre {
        out.push((oa + k, ob + k));
    }
    let (a, b) = (&a[pre..], &b[pre..]);
    let (oa, ob) = (oa + pre, ob + pre);
    let suf = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a_mid, b_mid) = (&a[..a.len() - suf], &b[..b.len() - suf]);
    if a_mid.is_empty() || b_mid.is_empty() {
    } else if a_mid.len().saturating_mul(b_mid.len()) > EXACT_LIMIT {
        greedy(a_mid, b_mid, oa, ob, out);
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
    for k in 0..suf {
        out.push((oa + a_mid.len() + k, ob + b_mid.len() + k));
    }
}

/// Beyond this many key comparisons, the alignment is greedy.
const EXACT_LIMIT: usize = 200_000_000;

/// A cheap alignment of very long, very different logs: each of A's events
/// matches the next equal one of B within a window.
fn greedy(a: &[&str], b: &[&str], oa: usize, ob: usize, out: &mut Vec<(usize, usize)>) {
    let mut j = 0;
    for (i, x) in a.iter().enumerate() {
        let end = (j + 1000).min(b.len());
        if let Some(k) = b.get(j..end).and_then(|w| w.iter().position(|y| y == x)) {
            out.push((oa + i, ob + j + k));
            j += k + 1;
        }
    }
}

/// The last row of the LCS length table of `a` against `b` (both reversed
/// when `rev`): entry k is the LCS length of `a` and the first k of `b`.
fn row<'s>(a: &[&'s str], b: &[&'s str], rev: bool) -> Vec<usize> {
    let get = |s: &[&'s str], k: usize| -> &'s str {
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

/// The outcome of `xsh logs check`.
pub struct Check {
    /// The real log.
    pub real_name: String,
    /// The simulated log it was compared with.
    pub sim_name: String,
    /// The diff, restricted to the simulated events between the first and
    /// last that match the real log (a real log is usually a window).
    pub diff: Diff,
}

impl Check {
    /// The simulated run produces the real log's events, in order.
    pub fn holds(&self) -> bool {
        !self.diff.a.is_empty() && self.diff.same()
    }

    /// The report.
    pub fn render(&self) -> String {
        let mut s = String::new();
        if self.diff.a.is_empty() {
            return format!("{}: no events to check\n", self.real_name);
        }
        if self.holds() {
            s.push_str(&format!(
                "holds: the simulated {} produces the {} events of {} in order\n",
                self.sim_name,
                self.diff.a.len(),
                self.real_name
            ));
            return s;
        }
        let first = self.diff.ops.iter().find(|o| !matches!(o, Op::Same(..)));
        if let Some(o) = first {
            let at = match *o {
                Op::Missing(i) | Op::Moved(i, _) => format!(
                    "at {}:{}, the real log has `{}`, which the simulation {}",
                    self.real_name,
                    self.diff.a[i].line,
                    self.diff.a[i].text,
                    if matches!(o, Op::Moved(..)) {
                        "writes elsewhere"
                    } else {
                        "does not write"
                    }
                ),
                Op::Extra(j) => format!(
                    "at {}:{}, the simulation writes `{}`, which the real log does not have there",
                    self.sim_name, self.diff.b[j].line, self.diff.b[j].text
                ),
                Op::Same(..) => String::new(),
            };
            s.push_str(&format!("departs: {at}\n"));
        }
        s.push_str(&self.diff.render(&self.real_name, &self.sim_name));
        s
    }
}

/// Checks a real log against the simulated logs of a run (name, text),
/// choosing the simulated log of the same format that matches it best.
pub fn check(real: &[u8], real_name: &str, sims: &[(String, String)]) -> Check {
    let real_records = crate::records_of(real, real_name, None);
    let real_format = dominant(&real_records);
    let real_events = events(&real_records);
    let mut best: Option<(usize, Check)> = None;
    for (name, text) in sims {
        let recs = crate::records_of(text.as_bytes(), name, None);
        if dominant(&recs) != real_format {
            continue;
        }
        let sim_events = events(&recs);
        let full = diff_events(real_events.clone(), sim_events.clone());
        // The window of the simulated log the real one covers.
        let matched: Vec<usize> = full
            .ops
            .iter()
            .filter_map(|o| match o {
                Op::Same(_, j) | Op::Moved(_, j) => Some(*j),
                _ => None,
            })
            .collect();
        let (lo, hi) = match (matched.iter().min(), matched.iter().max()) {
            (Some(&lo), Some(&hi)) => (lo, hi + 1),
            _ => (0, 0),
        };
        let window: Vec<Event> = sim_events[lo..hi].to_vec();
        let d = diff_events(real_events.clone(), window);
        let score = d.counts().0;
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((
                score,
                Check {
                    real_name: real_name.to_string(),
                    sim_name: name.clone(),
                    diff: d,
                },
            ));
        }
    }
    best.map(|(_, c)| c).unwrap_or_else(|| Check {
        real_name: real_name.to_string(),
        sim_name: format!("(no simulated {} log)", real_format.name()),
        diff: diff_events(real_events, Vec::new()),
    })
}

/// The format most of a log's records have.
fn dominant(records: &[Record]) -> Format {
    let mut n = [0usize; 7];
    for r in records {
        n[r.format as usize] += 1;
    }
    let i = (0..7)
        .max_by_key(|&i| (n[i], std::cmp::Reverse(i)))
        .unwrap_or(6);
    Format::ALL[i]
}
