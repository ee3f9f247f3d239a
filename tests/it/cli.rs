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

/// The N-domain benchmark's report: the two phases add up to the wall
/// time, every domain ran events, and memory is reported for both points.
#[test]
fn the_concurrent_benchmark_reports_its_phases() {
    let (code, out, err) = xsh(&["bench", "--concurrent-only", "--domains", "3"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON line");
    let num = |k: &str| v[k].as_f64().unwrap_or_else(|| panic!("{k} in {out}"));
    assert!((num("create_s") + num("shutdown_s") - num("wall_s")).abs() < 0.002);
    assert!(num("shutdown_s") > 0.0 && num("create_s") > 0.0);
    // Three domains run hundreds of events each, creation included.
    assert!(num("events") > 3.0 * 300.0, "{out}");
    assert!(num("running_rss_mib") > 0.0 && num("peak_rss_mib") >= num("running_rss_mib"));
    // The world runs on until xend's 300 s shutdown timers have fired.
    assert!(num("virtual_s") >= 300.0, "{out}");
    // The shutdown's own work is part of the whole.
    assert!(num("shutdown_events") > 0.0 && num("shutdown_events") < num("events"));
    assert!(num("shutdown_xs_requests") > 0.0, "{out}");
}

/// What the N-domain run reports of its shutdown's work shows the one part
/// that grows with the square of the domains: each `xenstore-rm -t` lists
/// the parent of the backend it removed (`backend/vif`, `backend/vbd`),
/// which holds an entry per domain still there.
#[test]
fn the_concurrent_benchmark_shows_listings_grow_with_the_square_of_domains() {
    let per_domain = |n: u32| {
        let (code, out, err) = xsh(&["bench", "--concurrent-only", "--domains", &n.to_string()]);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON line");
        let num = |k: &str| v[k].as_f64().unwrap_or_else(|| panic!("{k} in {out}"));
        (
            num("shutdown_events") / n as f64,
            num("shutdown_dir_entries") / n as f64,
        )
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
    for args in [["bench", "--domains", "0"], ["bench", "--loops", "0"]] {
        let (code, _, err) = xsh(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("is not in 1.."), "{err}");
    }
}
