//! Same script and seed: the same bytes in every output.

use crate::util::*;

fn outputs(seed: u64) -> Vec<(String, String)> {
    let (h, r) = run_seeded(&scenario("2019-06-05 09:23:27", 2164, 8, ""), seed);
    r.expect("scenario runs");
    let logs = h.sim().logs.borrow();
    let mut v = vec![
        ("xend.log".to_string(), logs.xend.text().to_string()),
        ("xen.log".to_string(), logs.xen.text().to_string()),
    ];
    for (n, s) in logs.files.iter() {
        v.push((n.clone(), s.text().to_string()));
    }
    v
}

#[test]
fn same_seed_same_bytes_in_every_log() {
    let (a, b) = (outputs(7), outputs(7));
    assert_eq!(a.len(), b.len());
    for ((na, ta), (nb, tb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        assert!(ta == tb, "{na} differs between two runs with seed 7");
    }
}

#[test]
fn the_seed_reaches_the_output() {
    // Guest uptime, unit stop times and qemu-dm's pid are drawn from the seed.
    let console = |s| {
        outputs(s)
            .into_iter()
            .find(|(n, _)| n == "console-ubuntu-kdump.log")
            .map(|(_, t)| t)
            .unwrap()
    };
    assert_ne!(console(1), console(2));
}
