//! A host's worth of domains through the path a user takes (`xsh run` of
//! `scripts/host_shutdown.rhai`): however the simulator computes it, the
//! model must do the same work and write the same bytes. The figures were
//! taken from the model before it was made to scale (2026-12-06) and pin
//! what a faster core must keep: events run, xenstore requests served,
//! the virtual time the last domain was gone, and every log file.

use std::path::Path;
use std::process::Command;

use crate::util::Scratch;

/// FNV-1a over every log file, in name order: name, NUL, bytes, NUL.
fn digest(dir: &Path) -> (usize, u64, u64) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("log dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: &[u8]| {
        for &x in b {
            h ^= u64::from(x);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    let mut bytes = 0u64;
    for n in &names {
        let data = std::fs::read(dir.join(n)).expect("log readable");
        bytes += data.len() as u64;
        eat(n.as_bytes());
        eat(&[0]);
        eat(&data);
        eat(&[0]);
    }
    (names.len(), bytes, h)
}

#[test]
fn two_thousand_domains_do_the_same_work_and_write_the_same_logs() {
    let dir = Scratch::new("scale-2000", &[]);
    let out = Command::new(env!("CARGO_BIN_EXE_xsh"))
        .args([
            "run",
            "scripts/host_shutdown.rhai",
            "--param",
            "domains=2000",
            "--max-events",
            "20000000",
            "--max-wall-time",
            "3000",
            "--log-dir",
        ])
        .arg(&dir.0)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("xsh runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout,
        "2000 domains created: 659978 events, 571984 xenstore requests\n\
         all shut down by 307.276355876 s: 735786 events, 490268 xenstore requests, 6605603 directory entries listed\n\
         domains left: 0\n"
    );
    assert_eq!(digest(&dir.0), (4002, 25_539_057, 0x306f_c794_9a94_12a7));
}
