//! The `xsh` binary: exit codes and what reaches stdout and stderr.

fn xsh(args: &[&str]) -> (i32, String, String) {
    crate::util::xsh_in(None, args)
}

#[test]
fn run_without_a_script_prints_the_seeds_xend_log() {
    let (code, out, _) = xsh(&["run"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("destroyed\n"));
    assert!(out.contains("[2019-06-05 09:23:28 2164] INFO (XendDomainInfo:2211) Domain has shutdown: name=ubuntu-kdump id=8 reason=poweroff."));
}

#[test]
fn log_dir_gets_the_four_outputs() {
    let dir = std::env::temp_dir().join(format!("xsh-cli-logs-{}", std::process::id()));
    let (code, _, _) = xsh(&["run", "--log-dir", dir.to_str().unwrap()]);
    assert_eq!(code, 0);
    for f in [
        "xend.log",
        "xen.log",
        "qemu-dm-ubuntu-kdump.log",
        "console-ubuntu-kdump.log",
    ] {
        let t = std::fs::read_to_string(dir.join(f)).unwrap_or_else(|_| panic!("{f} written"));
        assert!(!t.is_empty() || f == "xen.log", "{f} is empty");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn script_error_exits_1_with_a_report() {
    let p = std::env::temp_dir().join(format!("xsh-cli-bad-{}.rhai", std::process::id()));
    std::fs::write(&p, "let a = 1;\nxm.shutdown(\"ghost\");\n").unwrap();
    let (code, _, err) = xsh(&["run", p.to_str().unwrap()]);
    let _ = std::fs::remove_file(&p);
    assert_eq!(code, 1);
    assert!(err.contains("Domain 'ghost' does not exist."), "{err}");
    assert!(err.contains(":2:"), "the report points at line 2: {err}");
}

#[test]
fn missing_script_is_a_usage_error() {
    let (code, _, err) = xsh(&["run", "/nonexistent/x.rhai"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"));
}

#[test]
fn probes_lists_matching_probes() {
    let (code, out, _) = xsh(&["probes", "destroyDevice"]);
    assert_eq!(code, 0);
    assert!(out.contains("xend:XendDomainInfo.destroyDevice(class, dev, force)"));
    assert!(out.contains("xend:DevController.destroyDevice"));
}

/// `xsh bench` at small sizes runs every part through child processes and
/// prints each table: the seed scenario (plain and hooked), a scaling row
/// per size asked, explored variants with 1 and 2 jobs. The peer is in it
/// when it can run here; when it cannot, the report says why.
#[test]
fn the_benchmark_prints_every_part_at_small_sizes() {
    let (code, out, err) = xsh(&[
        "bench",
        "--domains",
        "3,6",
        "--loops",
        "2",
        "--variants",
        "4",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("seed scenario, 2 times, each in a fresh world, 702 events each"),
        "{out}"
    );
    assert!(
        out.contains("xsh run scripts/seed_scenarios.rhai --param loops=2"),
        "{out}"
    );
    assert!(out.contains("every probe hooked:"), "{out}");
    // What one hook call costs: the hooked script counted its calls.
    let calls = out
        .lines()
        .find_map(|l| l.trim().split_once(" hook calls per scenario, "))
        .unwrap_or_else(|| panic!("the cost of a hook call: {out}"));
    assert!(calls.0.parse::<u64>().is_ok_and(|n| n > 0), "{out}");
    assert!(calls.1.contains(" us of CPU each"), "{out}");
    let row = |n: &str| {
        out.lines()
            .find(|l| l.split('|').next().is_some_and(|c| c.trim() == n))
            .unwrap_or_else(|| panic!("a row for {n} domains: {out}"))
    };
    for n in ["3", "6"] {
        // wall, CPU, peak RSS and CPU per domain for xsh.
        let xsh_cells = row(n).split('|').nth(1).unwrap();
        assert_eq!(xsh_cells.matches(" s").count(), 2, "{xsh_cells}");
        assert!(
            xsh_cells.contains("MiB") && xsh_cells.contains("ms"),
            "{xsh_cells}"
        );
    }
    assert!(out.contains("CPU per domain at 6 over 3: xsh "), "{out}");
    // The shutdown alone: the same script timed again stopping after its
    // creation, one row per size, after the scaling table.
    let (_, alone) = out
        .split_once("the shutdown alone")
        .unwrap_or_else(|| panic!("the shutdown-alone table: {out}"));
    assert!(alone.contains("--param shutdown=false"), "{out}");
    for n in ["3", "6"] {
        let cells = alone
            .lines()
            .find(|l| l.split('|').next().is_some_and(|c| c.trim() == n))
            .unwrap_or_else(|| panic!("a shutdown-alone row for {n}: {out}"));
        assert!(cells.contains(" us |"), "{cells}");
    }
    assert!(out.contains("-j 1: 4 variants in"), "{out}");
    assert!(out.contains("-j 2: 4 variants in"), "{out}");
    // Each job count's figure is the median of its runs, their spread shown.
    assert!(out.contains("(median of 5 runs each)"), "{out}");
    let spread = out
        .lines()
        .find(|l| l.contains("-j 2: "))
        .and_then(|l| l.rsplit_once("; runs "))
        .and_then(|(_, r)| r.strip_suffix("/s)"))
        .and_then(|r| r.split_once('-'))
        .unwrap_or_else(|| panic!("the runs' spread: {out}"));
    let (lo, hi): (f64, f64) = (spread.0.parse().unwrap(), spread.1.parse().unwrap());
    assert!(0.0 < lo && lo <= hi, "{out}");
    // Either the peer ran beside xsh, or the report says why it did not.
    let peer_ran = out.contains("simpy_shutdown.py scenario --loops 2 --reps 1");
    assert!(peer_ran || out.contains("peer (SimPy): "), "{out}");
    if peer_ran {
        assert!(
            row("6").split('|').count() == 4,
            "xsh, the peer and the ratios: {out}"
        );
    }
}

/// `--json` gives the same figures as one object; a peer that is not there
/// is named as absent and xsh's side is still measured.
#[test]
fn the_benchmark_reports_json_without_the_peer() {
    let (code, out, err) = xsh(&[
        "bench",
        "--only",
        "scaling",
        "--domains",
        "2",
        "--peer",
        "/nonexistent/simpy_shutdown.py",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    let absent = v["peer"]["absent"]
        .as_str()
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        absent.contains("not found at /nonexistent/simpy_shutdown.py"),
        "{out}"
    );
    let row = &v["scaling"][0];
    assert_eq!(row["domains"], 2, "{out}");
    for k in ["wall_s", "cpu_s", "peak_rss_mib"] {
        assert!(
            row["xsh"][k].as_f64().is_some_and(|x| x > 0.0),
            "{k}: {out}"
        );
    }
    assert!(row["peer"].is_null(), "{out}");
    // Created only, timed on its own; the shutdown alone is the difference.
    let created = row["xsh_create_only"]["wall_s"].as_f64().unwrap_or(0.0);
    assert!(created > 0.0, "{out}");
    let alone = row["xsh_shutdown_alone_wall_s"].as_f64().unwrap_or(-1.0);
    let whole = row["xsh"]["wall_s"].as_f64().unwrap_or(0.0);
    assert!((alone - (whole - created).max(0.0)).abs() < 1e-3, "{out}");
    assert!(
        v["seed"].is_null() && v["explore"].is_null(),
        "only the scaling part: {out}"
    );
}

/// A peer whose Python has no SimPy is named as such, and xsh's side of
/// the seed scenario is still measured (a `python3` on PATH that cannot
/// import anything stands in for one without SimPy).
#[test]
fn the_benchmark_without_simpy_says_so_and_measures_xsh() {
    use std::os::unix::fs::PermissionsExt;
    let dir = crate::util::Scratch::new(
        "bench-nosimpy",
        &[("bin/python3", "#!/bin/sh\nexit 1\n"), ("peer.py", "")],
    );
    let py = dir.path("bin/python3");
    std::fs::set_permissions(&py, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xsh"))
        .args(["bench", "--only", "seed", "--loops", "1", "--peer"])
        .arg(dir.path("peer.py"))
        .env("PATH", dir.path("bin"))
        .output()
        .expect("xsh runs");
    let (code, out) = (out.status.code(), String::from_utf8_lossy(&out.stdout));
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("peer (SimPy): python3 cannot import simpy (pip install simpy)"),
        "{out}"
    );
    assert!(
        out.contains("xsh run scripts/seed_scenarios.rhai --param loops=1"),
        "{out}"
    );
    assert!(!out.contains("simpy_shutdown.py scenario"), "{out}");
}

/// The one part of a host's shutdown that grows with the square of the
/// domains: each `xenstore-rm -t` lists the parent of the backend it removed
/// (`backend/vif`, `backend/vbd`), which holds an entry per domain still
/// there. Read from what scripts/host_shutdown.rhai prints (`sim.stats()`).
#[test]
fn listings_grow_with_the_square_of_domains() {
    let per_domain = |n: u32| {
        let (code, out, err) = xsh(&[
            "run",
            "scripts/host_shutdown.rhai",
            "--param",
            &format!("domains={n}"),
        ]);
        assert_eq!(code, 0, "{err}");
        // "all shut down by T s: E events, R xenstore requests, D directory entries listed"
        let line = out
            .lines()
            .find(|l| l.starts_with("all shut down by"))
            .unwrap_or_else(|| panic!("{out}"));
        let words: Vec<&str> = line.split_whitespace().collect();
        let before = |w: &str| -> f64 {
            let i = words
                .iter()
                .position(|x| x.trim_end_matches(',') == w)
                .unwrap();
            words[i - 1].parse().unwrap_or_else(|_| panic!("{line}"))
        };
        (before("events") / n as f64, before("directory") / n as f64)
    };
    let (events4, listed4) = per_domain(4);
    let (events32, listed32) = per_domain(32);
    // Events per domain stay about the same: the rest of the shutdown is linear.
    assert!(
        events32 < 1.5 * events4,
        "{events4} vs {events32} events per domain"
    );
    // Entries listed per domain grow with the number of domains.
    assert!(
        listed32 > 3.0 * listed4,
        "{listed4} vs {listed32} entries per domain"
    );
}

#[test]
fn the_benchmark_refuses_an_empty_run() {
    for args in [
        ["bench", "--domains", "0"],
        ["bench", "--loops", "0"],
        ["bench", "--domains", "10,0"],
    ] {
        let (code, _, err) = xsh(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("is not in 1.."), "{err}");
    }
}
