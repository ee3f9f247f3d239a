//! The structural diff of two logs' events (`events.rs`): which of A's
//! events B misses, which B adds, which it has in another order. And
//! `check`: does a simulated run produce a real log's sequence of events?
//!
//! The alignment is a longest common subsequence of event keys
//! (Hirschberg's: linear memory), cut at anchors first when the logs are
//! long (`align.rs`); a missing event whose key B has among its extras is
//! reported once, as reordered.

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::align::{align, GREEDY_WINDOW};
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

/// One side's events: all of them (a diff of logs in memory), or only
/// those the report shows (a diff of files streamed from disk, whose other
/// events were never kept), with the side's count either way.
#[derive(Clone, Debug, Default)]
pub struct Side {
    len: usize,
    all: Vec<Event>,
    shown: BTreeMap<usize, Event>,
}

impl Side {
    /// Every event of a side.
    pub fn whole(events: Vec<Event>) -> Side {
        Side {
            len: events.len(),
            all: events,
            shown: BTreeMap::new(),
        }
    }

    /// A side of `len` events of which only `shown` (by index) are kept.
    pub fn sparse(len: usize, shown: BTreeMap<usize, Event>) -> Side {
        Side {
            len,
            all: Vec::new(),
            shown,
        }
    }

    /// How many events the side has.
    pub fn len(&self) -> usize {
        self.len
    }

    /// No events.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Event `i`, if it is kept.
    pub fn get(&self, i: usize) -> Option<&Event> {
        self.all.get(i).or_else(|| self.shown.get(&i))
    }
}

impl std::ops::Index<usize> for Side {
    type Output = Event;
    /// Event `i`; a sparse side keeps every event its diff's report names.
    fn index(&self, i: usize) -> &Event {
        match self.get(i) {
            Some(e) => e,
            None => panic!("event {i} of {} is not kept", self.len),
        }
    }
}

/// A diff of two event sequences.
pub struct Diff {
    /// A's events.
    pub a: Side,
    /// B's events.
    pub b: Side,
    /// The alignment, in A's order (B's extras where they fall).
    pub ops: Vec<Op>,
    /// Events of A and of B in stretches too long to align exactly that
    /// had no anchor: matched greedily, so in-order events there may be
    /// reported as missing, extra or reordered. (0, 0) when exact.
    pub approximate: (usize, usize),
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

    /// The text report: the counts, then each difference in a hunk with
    /// [`CONTEXT`] in-order events around it, as `diff -u` shows lines.
    pub fn render(&self, name_a: &str, name_b: &str) -> String {
        let (same, missing, extra, moved) = self.counts();
        let mut s = format!(
            "A: {name_a} ({} events)\nB: {name_b} ({} events)\n{same} in order, {missing} missing from B, {extra} extra in B, {moved} reordered\n",
            self.a.len(),
            self.b.len()
        );
        if self.approximate != (0, 0) {
            // Said before the list, so that no one reads it as exact.
            s.push_str(&format!(
                "approximate: {} events of A and {} of B lie in stretches too long to align exactly and with no event unique to both; they were matched greedily (within {GREEDY_WINDOW} events), so some in-order events there may be listed as missing, extra or reordered\n",
                self.approximate.0, self.approximate.1
            ));
        }
        for h in hunks(&self.ops, CONTEXT) {
            s.push_str(&self.render_hunk(&self.ops[h]));
        }
        s
    }

    fn render_hunk(&self, ops: &[Op]) -> String {
        // `@@ -first,count +first,count @@` in events (1-based), as diff -u
        // counts lines; then the physical lines where the hunk starts.
        let (mut ra, mut rb) = (None::<(usize, usize)>, None::<(usize, usize)>);
        let widen = |r: &mut Option<(usize, usize)>, i: usize| {
            *r = Some(r.map_or((i, i), |(lo, hi)| (lo.min(i), hi.max(i))));
        };
        for o in ops {
            match *o {
                Op::Same(i, j) => {
                    widen(&mut ra, i);
                    widen(&mut rb, j);
                }
                Op::Missing(i) | Op::Moved(i, _) => widen(&mut ra, i),
                Op::Extra(j) => widen(&mut rb, j),
            }
        }
        let span = |r: Option<(usize, usize)>| r.map_or((0, 0), |(lo, hi)| (lo + 1, hi - lo + 1));
        let line = |side: &Side, r: Option<(usize, usize)>| {
            r.and_then(|(lo, _)| side.get(lo)).map_or(0, |e| e.line)
        };
        let ((a0, an), (b0, bn)) = (span(ra), span(rb));
        let mut s = format!(
            "@@ -{a0},{an} +{b0},{bn} @@ A:{} B:{}\n",
            line(&self.a, ra),
            line(&self.b, rb)
        );
        for o in ops {
            match *o {
                Op::Same(i, _) => {
                    s.push_str(&format!("  A:{:<6} {}\n", self.a[i].line, show(&self.a[i])))
                }
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

/// In-order events shown before and after each difference.
pub const CONTEXT: usize = 3;

/// The hunks of a diff: ranges of `ops` holding its differences with up to
/// `context` in-order events on each side; differences closer than twice
/// that share a hunk (as `diff -u`'s do).
pub fn hunks(ops: &[Op], context: usize) -> Vec<std::ops::Range<usize>> {
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    for (k, o) in ops.iter().enumerate() {
        if matches!(o, Op::Same(..)) {
            continue;
        }
        let lo = k.saturating_sub(context);
        let hi = (k + 1 + context).min(ops.len());
        match out.last_mut() {
            Some(h) if lo <= h.end => h.end = hi,
            _ => out.push(lo..hi),
        }
    }
    out
}

/// The events of each side that a diff's report shows: those of its hunks
/// (missing, extra, reordered and context), by index, in order.
pub fn shown(ops: &[Op]) -> (Vec<usize>, Vec<usize>) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for h in hunks(ops, CONTEXT) {
        for o in &ops[h] {
            match *o {
                Op::Missing(i) => a.push(i),
                Op::Extra(j) => b.push(j),
                Op::Same(i, j) | Op::Moved(i, j) => {
                    a.push(i);
                    b.push(j);
                }
            }
        }
    }
    // Hunks are in A's order; B's moved events may come from anywhere.
    a.sort_unstable();
    a.dedup();
    b.sort_unstable();
    b.dedup();
    (a, b)
}

impl Diff {
    /// The report as one JSON object: the counts, `approximate` (null, or
    /// how many events of A and B were matched greedily) and the
    /// differences in A's order.
    pub fn render_json(&self, name_a: &str, name_b: &str) -> String {
        use crate::json::string;
        let (same, missing, extra, moved) = self.counts();
        let mut o = b"{\"a\":{\"file\":".to_vec();
        string(&mut o, name_a.as_bytes());
        o.extend_from_slice(format!(",\"events\":{}}},\"b\":{{\"file\":", self.a.len()).as_bytes());
        string(&mut o, name_b.as_bytes());
        o.extend_from_slice(format!(",\"events\":{}}},\"in_order\":{same},\"missing\":{missing},\"extra\":{extra},\"reordered\":{moved},\"approximate\":", self.b.len()).as_bytes());
        match self.approximate {
            (0, 0) => o.extend_from_slice(b"null"),
            (a, b) => o.extend_from_slice(format!("{{\"a\":{a},\"b\":{b}}}").as_bytes()),
        }
        o.extend_from_slice(b",\"ops\":[");
        let mut first = true;
        for op in &self.ops {
            let (kind, a, b) = match *op {
                Op::Same(..) => continue,
                Op::Missing(i) => ("missing", Some(i), None),
                Op::Extra(j) => ("extra", None, Some(j)),
                Op::Moved(i, j) => ("reordered", Some(i), Some(j)),
            };
            if !first {
                o.push(b',');
            }
            first = false;
            o.extend_from_slice(format!("{{\"op\":\"{kind}\"").as_bytes());
            if let Some(i) = a {
                o.extend_from_slice(format!(",\"a_line\":{}", self.a[i].line).as_bytes());
            }
            if let Some(j) = b {
                o.extend_from_slice(format!(",\"b_line\":{}", self.b[j].line).as_bytes());
            }
            let e = a.map_or_else(|| b.map(|j| &self.b[j]), |i| Some(&self.a[i]));
            if let Some(e) = e {
                o.extend_from_slice(b",\"format\":");
                string(&mut o, e.format.name().as_bytes());
                o.extend_from_slice(b",\"text\":");
                string(&mut o, e.text.as_bytes());
            }
            o.push(b'}');
        }
        o.extend_from_slice(b"]}\n");
        String::from_utf8_lossy(&o).into_owned()
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
    // Keys as numbers: the alignment compares them billions of times.
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let ka = intern(a.iter().map(|e| e.key.as_str()), &mut ids);
    let kb = intern(b.iter().map(|e| e.key.as_str()), &mut ids);
    let (ops, approximate) = align_ops(&ka, &kb);
    Diff {
        a: Side::whole(a),
        b: Side::whole(b),
        ops,
        approximate,
    }
}

/// The alignment of two key sequences as ops, moves paired, and the
/// extent of its greedy stretches.
pub fn align_ops(ka: &[u32], kb: &[u32]) -> (Vec<Op>, (usize, usize)) {
    let al = align(ka, kb);
    let mut ops = Vec::with_capacity(ka.len().max(kb.len()));
    let (mut i, mut j) = (0, 0);
    for &(pi, pj) in &al.pairs {
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
    let approx = (al.approx_a, al.approx_b);
    drop(al);
    ops.extend((i..ka.len()).map(Op::Missing));
    ops.extend((j..kb.len()).map(Op::Extra));
    pair_moves(&mut ops, ka, kb);
    (ops, approx)
}

/// Keys as numbers, the same number for the same key.
pub fn intern<K: std::hash::Hash + Eq>(
    keys: impl Iterator<Item = K>,
    ids: &mut HashMap<K, u32>,
) -> Vec<u32> {
    let mut out = Vec::with_capacity(keys.size_hint().0);
    for k in keys {
        let n = ids.len() as u32;
        out.push(*ids.entry(k).or_insert(n));
    }
    out
}

/// A missing event whose key is also among the extras moved: each missing
/// one, in order, takes the first unclaimed extra with its key.
fn pair_moves(ops: &mut Vec<Op>, ka: &[u32], kb: &[u32]) {
    let mut extras: HashMap<u32, VecDeque<(usize, usize)>> = HashMap::new();
    for (k, o) in ops.iter().enumerate() {
        if let Op::Extra(j) = *o {
            extras.entry(kb[j]).or_default().push_back((k, j));
        }
    }
    let mut drop = vec![false; ops.len()];
    for op in ops.iter_mut() {
        if let Op::Missing(i) = *op {
            if let Some((ek, j)) = extras.get_mut(&ka[i]).and_then(VecDeque::pop_front) {
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
