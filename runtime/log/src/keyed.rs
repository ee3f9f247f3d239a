//! `xsh logs diff` of files of any size, in bounded memory.
//!
//! An in-memory diff holds both logs' records and events, 7 to 9 times the
//! logs' size. The alignment needs none of their text, only whether two
//! events are equal, so a file is read twice instead:
//! 1. streamed once, record by record, each event kept as a 64-bit hash of
//!    its key (`events.rs`): 8 bytes an event, whatever its text;
//! 2. the hashes aligned (`diff::align_ops`), the report's hunks found, and
//!    each file streamed again to fetch the text of just the events the
//!    report shows (its differences and their context).
//!
//! Memory is then the two hash arrays, their interned ids and the
//! alignment (about 70 bytes an event in all), plus one record being read:
//! a 100 MB xend.log has about 660,000 events. The second pass checks each
//! shown event's hash against the first: a file that changed in between is
//! an error, not a wrong report. Two different keys with one hash would
//! be taken as equal; at 64 bits that is about one chance in 10^7 for two
//! logs of a million distinct messages each.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{self, Read, Seek, SeekFrom};

use crate::diff::{align_ops, intern, shown, Diff, Side};
use crate::events::{event, Event, Names};
use crate::record::{Collector, Record};

/// The hash of an event's key. SipHash with fixed keys: the same in every
/// run, so a diff is deterministic.
fn hash(key: &str) -> u64 {
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new();
    key.hash(&mut h);
    h.finish()
}

/// Streams `src`'s records, giving each event (with its index) to `each`.
fn for_each_event<R: Read>(
    src: R,
    name: &str,
    mut each: impl FnMut(usize, Event),
) -> io::Result<()> {
    let mut col = Collector::default();
    let mut names = Names::default();
    let mut n = 0usize;
    let mut take = |r: &Record| {
        if let Some(e) = event(r, &mut names) {
            each(n, e);
            n += 1;
        }
    };
    crate::parse_reader(src, name, None, |e| {
        col.push(e);
        for r in col.drain() {
            take(&r);
        }
    })?;
    for r in col.finish() {
        take(&r);
    }
    Ok(())
}

/// The hashes of a log's events, in order.
pub fn event_hashes<R: Read>(src: R, name: &str) -> io::Result<Vec<u64>> {
    let mut out = Vec::new();
    for_each_event(src, name, |_, e| out.push(hash(&e.key)))?;
    Ok(out)
}

/// The events at `wanted` (sorted indices), read again from `src`, each
/// checked against the hash the first pass gave it.
pub fn fetch<R: Read>(
    src: R,
    name: &str,
    wanted: &[usize],
    hashes: &[u64],
) -> io::Result<BTreeMap<usize, Event>> {
    let mut out = BTreeMap::new();
    let mut next = wanted.iter().peekable();
    let mut changed = false;
    for_each_event(src, name, |i, e| {
        if next.peek() == Some(&&i) {
            next.next();
            changed |= hashes.get(i) != Some(&hash(&e.key));
            out.insert(i, e);
        }
    })?;
    if changed || next.peek().is_some() {
        return Err(io::Error::other(format!(
            "{name} changed while it was read"
        )));
    }
    Ok(out)
}

/// Diffs two files, reading each twice (see the module's doc).
pub fn diff_files(a: &mut File, name_a: &str, b: &mut File, name_b: &str) -> io::Result<Diff> {
    let ha = event_hashes(&mut *a, name_a)?;
    let hb = event_hashes(&mut *b, name_b)?;
    let (ops, approximate) = {
        let mut ids: HashMap<u64, u32> = HashMap::new();
        let ka = intern(ha.iter().copied(), &mut ids);
        let kb = intern(hb.iter().copied(), &mut ids);
        drop(ids);
        align_ops(&ka, &kb)
    };
    let (wa, wb) = shown(&ops);
    a.seek(SeekFrom::Start(0))?;
    b.seek(SeekFrom::Start(0))?;
    let ea = fetch(&mut *a, name_a, &wa, &ha)?;
    let eb = fetch(&mut *b, name_b, &wb, &hb)?;
    Ok(Diff {
        a: Side::sparse(ha.len(), ea),
        b: Side::sparse(hb.len(), eb),
        ops,
        approximate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(lines: &[String]) -> Vec<u8> {
        lines
            .iter()
            .flat_map(|l| format!("{l}\n").into_bytes())
            .collect()
    }

    #[test]
    fn a_streamed_diff_reports_what_the_in_memory_one_does() {
        let lines: Vec<String> = (0..400)
            .map(|i| {
                format!(
                    "[2019-06-05 09:23:{:02} 2164] DEBUG (XendDomainInfo:{}) step {} of domain {}",
                    i % 60,
                    100 + i % 7,
                    i % 37,
                    i % 5
                )
            })
            .collect();
        let mut other = lines.clone();
        other.remove(300);
        other.remove(10);
        other.insert(
            200,
            "[2019-06-05 09:24:00 2164] INFO (XendDomain:1) new".into(),
        );
        let dir = std::env::temp_dir().join(format!("xsh-keyed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (pa, pb) = (dir.join("a.log"), dir.join("b.log"));
        std::fs::write(&pa, log(&lines)).unwrap();
        std::fs::write(&pb, log(&other)).unwrap();
        let mut fa = File::open(&pa).unwrap();
        let mut fb = File::open(&pb).unwrap();
        let streamed = diff_files(&mut fa, "a", &mut fb, "b").unwrap();
        let mem = crate::diff::diff(
            &crate::records_of(&log(&lines), "a", None),
            &crate::records_of(&log(&other), "b", None),
        );
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(streamed.ops, mem.ops);
        assert_eq!(streamed.render("a", "b"), mem.render("a", "b"));
        assert_eq!(streamed.counts(), (398, 2, 1, 0));
        // Only the hunks' events were kept.
        let kept = (0..streamed.a.len())
            .filter(|&i| streamed.a.get(i).is_some())
            .count();
        assert!(kept <= 3 * (2 * crate::diff::CONTEXT + 1), "{kept}");
    }

    /// A xend.log of `n` records in the shapes gen_xendlog.py writes: a
    /// few hundred distinct messages, most of them repeated many times
    /// (domids, times and pids differ, and are normalised away), with
    /// tracebacks.
    fn xend_log(n: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut x = 0x9e3779b97f4a7c15u64;
        for i in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let t = i / 40;
            let head = format!(
                "[2019-06-05 {:02}:{:02}:{:02} 2164]",
                t / 3600 % 24,
                t / 60 % 60,
                t % 60
            );
            match x % 10 {
                0 => {
                    out.push(format!("{head} ERROR (XendDomainInfo:2131) XendDomainInfo.destroy: xc.domain_destroy failed."));
                    out.push("Traceback (most recent call last):".into());
                    out.push("  File \"/usr/lib/python2.6/site-packages/xen/xend/XendDomainInfo.py\", line 2126, in destroyDomain".into());
                    out.push("    xc.domain_destroy(self.domid)".into());
                    out.push(format!("Error: (3, 'No such process {}')", x % 3));
                }
                k => out.push(format!(
                    "{head} DEBUG (DevController:{}) DevController: {} device {} for domain {}",
                    100 + k,
                    ["writing", "waiting for", "destroying", "releasing"][(x >> 8) as usize % 4],
                    ["vif/0", "vkbd/0", "console/0", "vbd/768", "vfb/0"][(x >> 16) as usize % 5],
                    (x >> 24) % 50
                )),
            }
        }
        out
    }

    #[test]
    fn diffing_big_files_holds_their_hashes_not_their_text() {
        // Long enough that the product of the event counts is past the
        // exact limit: the bounded path (hashes, Myers, a second pass).
        let lines = xend_log(40_000);
        let mut other = lines.clone();
        let gone = [other.remove(31_000), other.remove(9_000)];
        let (ta, tb) = (log(&lines), log(&other));
        let dir = std::env::temp_dir().join(format!("xsh-keyed-big-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (pa, pb) = (dir.join("a.log"), dir.join("b.log"));
        std::fs::write(&pa, &ta).unwrap();
        std::fs::write(&pb, &tb).unwrap();
        let mut fa = File::open(&pa).unwrap();
        let mut fb = File::open(&pb).unwrap();
        let (d, heap) = crate::heap::peak(|| diff_files(&mut fa, "a", &mut fb, "b").unwrap());
        let _ = std::fs::remove_dir_all(&dir);
        let events = d.a.len() + d.b.len();
        assert!(events > 2 * 30_000, "{events}");
        assert!(d.a.len() * d.b.len() > crate::align::EXACT_LIMIT);
        // The two deleted lines and nothing else: no false reorder.
        let (_, missing, extra, moved) = d.counts();
        assert_eq!((missing, extra, moved), (2, 0, 0), "{}", d.render("a", "b"));
        let r = d.render("a", "b");
        for g in gone {
            let text = g.split_once("] ").map_or(g.as_str(), |x| x.1);
            assert!(
                r.contains(text.split_once(") ").map_or(text, |x| x.1)),
                "{r}"
            );
        }
        // The memory bound: under 2x the larger input, and what it is
        // made of is per event, not per byte of text (a reader's chunk
        // and the search's arrays on top).
        let bound = 100 * events + (4 << 20);
        assert!(heap < bound, "{heap} bytes held for {events} events");
        assert!(
            heap < 2 * ta.len().max(tb.len()),
            "{heap} bytes for {} bytes",
            ta.len()
        );
    }
}
