//! A limit reached by real work says which flag to raise and to what: the
//! event limit in the shutdown's `sim.run()` of scripts/host_shutdown.rhai,
//! the wall-time limit while it creates its domains. The suggested value is
//! checked by using it: the same run with it goes through.

fn xsh(args: &[&str]) -> (i32, String, String) {
    crate::util::xsh_in(None, args)
}

/// The number right after `marker` in `text`.
fn number_after(text: &str, marker: &str) -> Option<f64> {
    let at = text.find(marker)? + marker.len();
    let digits: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    digits.trim_end_matches('.').parse().ok()
}

#[test]
fn the_event_limit_says_how_many_events_the_shutdown_needs() {
    let base = ["run", "scripts/host_shutdown.rhai", "--param", "domains=20"];
    let (code, _, err) = xsh(&[&base[..], &["--max-events", "2000"]].concat());
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("event limit reached"), "{err}");
    // Reported at the script's `sim.run()`, as every limit is at its line.
    assert!(err.contains("scripts/host_shutdown.rhai:23:9"), "{err}");
    // How far the run came, and what it scaled by.
    assert!(err.contains("this run did 2,000 events"), "{err}");
    assert!(err.contains("with 20 domains in the world"), "{err}");
    assert!(err.contains("events per domain created"), "{err}");
    // The flag to raise, with a value.
    assert!(err.contains("raise --max-events"), "{err}");
    let value = number_after(&err, "; --max-events ")
        .unwrap_or_else(|| panic!("a suggested --max-events: {err}"));
    assert!(value > 2000.0, "{err}");
    // Terminal escapes (the progress line) never reach a pipe.
    assert!(!err.contains('\x1b'), "{err:?}");
    // The suggestion is enough: the same run with it goes through.
    let (code, out, err) = xsh(&[&base[..], &["--max-events", &value.to_string()]].concat());
    assert_eq!(code, 0, "--max-events {value}: {err}");
    assert!(out.contains("domains left: 0"), "{out}");
}

#[test]
fn the_wall_time_limit_while_creating_estimates_the_whole_run() {
    let (code, _, err) = xsh(&[
        "run",
        "scripts/host_shutdown.rhai",
        "--param",
        "domains=100000",
        "--max-wall-time",
        "0.3",
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("wall-time limit reached"), "{err}");
    // Inside the creating loop's statement, which spans lines 14 and 15:
    // where the limit is seen depends on how far the run got in 0.3 s.
    assert!(
        err.contains("scripts/host_shutdown.rhai:14:")
            || err.contains("scripts/host_shutdown.rhai:15:"),
        "{err}"
    );
    // Counted against what the script was asked to create.
    assert!(
        err.contains("of the 100,000 asked (--param domains=100000)"),
        "{err}"
    );
    let wall = number_after(&err, "; --max-wall-time ")
        .unwrap_or_else(|| panic!("a suggested --max-wall-time: {err}"));
    // 100,000 domains take far more than the 0.3 s given.
    assert!(wall > 10.0, "{err}");
    // Their shutdown's one run needs more than the default 250,000 events.
    let events = number_after(&err, ": --max-events ")
        .unwrap_or_else(|| panic!("a suggested --max-events: {err}"));
    assert!(events > 10_000_000.0, "{err}");
}

#[test]
fn a_runaway_without_domains_keeps_the_plain_help() {
    let dir = crate::util::Scratch::new(
        "advice",
        &[(
            "again.rhai",
            "fn again() { sim.after(0.1, || again()) }\nagain();\nsim.run();\n",
        )],
    );
    let p = dir.0.join("again.rhai");
    let (code, _, err) = xsh(&["run", p.to_str().unwrap(), "--max-events", "5000"]);
    assert_eq!(code, 3, "{err}");
    // Nothing to scale by: no estimate is made up.
    assert!(
        err.contains("If the work is real, raise --max-events."),
        "{err}"
    );
    assert!(!err.contains("An estimate"), "{err}");
}

/// The wall-time limit reached after every domain was created (here in the
/// script's own work; in a host run, while `xm.shutdown` after `xm.shutdown`
/// runs the world) still names a value to raise it to, from the work so far.
#[test]
fn the_wall_time_limit_after_creating_names_a_value() {
    let dir = crate::util::Scratch::new(
        "wall-after-create",
        &[(
            "after.rhai",
            r#"for i in 0..3 {
    xm.create(#{ name: `vm${i}`, type: "hvm", guest: "ubuntu-16.04" });
}
let spins = 0;
loop { spins += 1; }
"#,
        )],
    );
    let (code, _, err) = dir.xsh(&[
        "run",
        "after.rhai",
        "--max-wall-time",
        "0.3",
        "--max-operations",
        "1000000000000",
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("wall-time limit reached"), "{err}");
    assert!(err.contains("the script had created 3 domains"), "{err}");
    assert!(err.contains("the script's work so far took"), "{err}");
    let wall = number_after(&err, "; --max-wall-time ")
        .unwrap_or_else(|| panic!("a suggested --max-wall-time: {err}"));
    assert!(wall > 0.3, "{err}");
}
