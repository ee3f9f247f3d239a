//! `diff` of logs far longer than one exact alignment can afford: known
//! edits must come out exactly, and a stretch that can only be matched
//! greedily must say so.

use xsh_log::diff::{diff_events, Op};
use xsh_log::events::Event;
use xsh_log::Format;

fn event(key: String, line: u64) -> Event {
    Event {
        text: key.clone(),
        key,
        line,
        format: Format::Xend,
    }
}

/// A deterministic generator (the test must not depend on a seed file).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

#[test]
fn long_logs_with_known_edits_diff_exactly() {
    // 30,000 events: 30,000² is 4.5× the comparisons one exact alignment
    // is allowed. Every fourth event is one of a kind (a VM's name, a MAC),
    // the others cycle through 13 messages, as a real xend.log's do.
    let n = 30_000;
    let key = |i: usize| {
        if i.is_multiple_of(4) {
            format!("xend|DEBUG|XendDomainInfo|vm{i} created")
        } else {
            format!("xend|DEBUG|XendDomainInfo|step {}", (i * 7) % 13)
        }
    };
    let a: Vec<String> = (0..n).map(key).collect();
    // Disjoint edits: delete 400 repeated and 300 one-of-a-kind events,
    // move 200 one-of-a-kind ones 3,000 to 6,000 events away, copy 250
    // one-of-a-kind ones elsewhere.
    let mut rng = Lcg(7);
    let mut role = vec![0u8; n]; // 0 kept, 1 deleted, 2 moved, 3 copied
    let mut pick = |want: usize, unique: bool, r: u8, role: &mut Vec<u8>| {
        let mut got = 0;
        while got < want {
            let i = 8 + rng.below(n - 16);
            if role[i] == 0 && (i.is_multiple_of(4)) == unique {
                role[i] = r;
                got += 1;
            }
        }
    };
    pick(400, false, 1, &mut role);
    pick(300, true, 1, &mut role);
    pick(200, true, 2, &mut role);
    pick(250, true, 3, &mut role);
    // B as (position in A's numbering, key), sorted by position: a moved or
    // copied event is placed at a far position.
    let mut rng = Lcg(11);
    let mut b: Vec<(f64, String)> = Vec::new();
    for (i, k) in a.iter().enumerate() {
        let d = 3000 + rng.below(3000);
        let far = if i >= d { i - d } else { i + d } as f64 + 0.5;
        match role[i] {
            0 => b.push((i as f64, k.clone())),
            1 => {}
            2 => b.push((far, k.clone())),
            _ => {
                b.push((i as f64, k.clone()));
                b.push((far, k.clone()));
            }
        }
    }
    b.sort_by(|x, y| x.0.total_cmp(&y.0));
    let ea: Vec<Event> = a
        .iter()
        .enumerate()
        .map(|(i, k)| event(k.clone(), i as u64 + 1))
        .collect();
    let eb: Vec<Event> = b
        .iter()
        .enumerate()
        .map(|(j, (_, k))| event(k.clone(), j as u64 + 1))
        .collect();
    let d = diff_events(ea, eb);
    assert_eq!(d.approximate, (0, 0), "anchors leave no long gap here");
    assert_eq!(d.counts(), (n - 700 - 200, 700, 250, 200));
    // Exactly the deleted one-of-a-kind events are missing (which of two
    // equal repeated events is the missing one is a tie), the moved ones
    // reordered.
    let missing: Vec<usize> = d
        .ops
        .iter()
        .filter_map(|o| match o {
            Op::Missing(i) if i.is_multiple_of(4) => Some(*i),
            _ => None,
        })
        .collect();
    let deleted: Vec<usize> = (0..n)
        .filter(|&i| role[i] == 1 && i.is_multiple_of(4))
        .collect();
    assert_eq!(missing, deleted);
    let moved: Vec<usize> = d
        .ops
        .iter()
        .filter_map(|o| match o {
            Op::Moved(i, _) => Some(*i),
            _ => None,
        })
        .collect();
    assert_eq!(moved, (0..n).filter(|&i| role[i] == 2).collect::<Vec<_>>());
    assert!(!d.render("a", "b").contains("approximate"));
    let j: serde_json::Value = serde_json::from_str(&d.render_json("a", "b")).expect("JSON");
    assert!(j["approximate"].is_null());
    assert_eq!(j["reordered"], 200);
    let ops = j["ops"].as_array().expect("ops");
    assert_eq!(ops.len(), 700 + 250 + 200);
    assert!(ops.iter().all(|o| o["text"].is_string()));
}

#[test]
fn a_long_stretch_with_no_anchor_is_reported_as_approximate() {
    // Only three messages, 16,000 events each side: nothing is unique, the
    // product is over the exact limit, so the greedy fallback runs.
    let a: Vec<Event> = (0..16_000)
        .map(|i| event(format!("k{}", i % 3), i as u64 + 1))
        .collect();
    let b: Vec<Event> = (0..16_000)
        .map(|i| event(format!("k{}", (i / 2 + i % 2 * 5) % 3), i as u64 + 1))
        .collect();
    let d = diff_events(a, b);
    assert!(d.approximate.0 > 15_000 && d.approximate.1 > 15_000);
    let r = d.render("a", "b");
    let third = r.lines().nth(3).unwrap_or_default();
    assert!(third.starts_with("approximate: "), "{r}");
    let j: serde_json::Value = serde_json::from_str(&d.render_json("a", "b")).expect("JSON");
    assert_eq!(j["approximate"]["a"], d.approximate.0);
    assert_eq!(j["in_order"], d.counts().0);
}
