//! Real logs against the model: every log the scripts write lexes without
//! damage and is explained; explain on the seed's goldens (every line to a
//! probe, ovm-4.4.4's line numbers) and on an upstream run; diff; check;
//! and `logs.parse`, `logs.diff`, `logs.explain` in scripts.

use std::path::PathBuf;

use xsh_log::explain::{explain, Build};
use xsh_log::{records_of, Kind};

use crate::logs::{root, seed};
use crate::util;

/// Every log of a host, by file name.
fn host_logs(h: &xsh_script::Host) -> Vec<(String, String)> {
    let logs = h.sim().logs.borrow();
    let mut v = vec![
        ("xend.log".to_string(), logs.xend.text().to_string()),
        ("xen.log".to_string(), logs.xen.text().to_string()),
    ];
    v.extend(
        logs.files
            .iter()
            .map(|(n, s)| (n.clone(), s.text().to_string())),
    );
    v
}

#[test]
fn every_log_the_scripts_write_lexes_without_damage_and_is_explained() {
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(root().join("scripts"))
        .expect("scripts/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rhai"))
        .collect();
    scripts.sort();
    assert!(!scripts.is_empty());
    let mut problems = Vec::new();
    let mut lines = 0;
    for path in &scripts {
        let src = std::fs::read_to_string(path).expect("script");
        let (host, result) = util::run(&src);
        if let Err(e) = result {
            panic!("{}: {}", path.display(), e.render(false));
        }
        for (name, text) in host_logs(&host) {
            let at = format!("{} {name}", path.display());
            xsh_log::parse_bytes(text.as_bytes(), &name, None, |e| {
                lines += 1;
                if !e.damage.is_empty() || e.kind == Kind::Unparsed {
                    problems.push(format!("{at}:{} {:?} {:?}", e.line, e.kind, e.damage));
                }
            });
            let ex = explain(&records_of(text.as_bytes(), &name, None));
            for r in ex
                .records
                .iter()
                .filter(|r| !r.modelled && r.kind != Kind::Blank)
            {
                let l = &r.lines[0];
                problems.push(format!("{at}:{} not modelled: {}", l.line, l.text));
            }
        }
    }
    assert!(lines > 1000, "the scripts write {lines} lines");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn explain_maps_every_line_of_the_seed_goldens_to_a_probe() {
    for golden in [
        "xend-poweroff.log",
        "xend-callstack.log",
        "qemu-dm.log",
        "xen-call-trace.log",
    ] {
        let ex = explain(&records_of(&seed(golden), golden, None));
        assert!(ex.lines() > 0);
        assert_eq!(ex.lines_with_probe(), ex.lines(), "{golden}");
        if golden.starts_with("xend") {
            assert_eq!(ex.build(), Build::Ovm, "{golden}");
        }
    }
    let ex = explain(&records_of(&seed("xend-poweroff.log"), "x", None));
    let probes: Vec<&str> = ex.records.iter().filter_map(|r| r.probe).collect();
    assert_eq!(probes[0], "xend:XendDomainInfo.shutdown");
    assert_eq!(probes[3], "xend:XendDomainInfo.refreshShutdown");
    assert_eq!(probes[6], "xend:image._sentinel_watch");
    assert_eq!(probes[21], "xend:XendDomainInfo._releaseRunningLock");
    assert!(ex.records[1].step.starts_with("4:") && ex.records[2].step.starts_with("7:"));
    let trace = explain(&records_of(&seed("xen-call-trace.log"), "t", None));
    assert_eq!(
        trace.records[0].probe,
        Some("xen:__domain_finalise_shutdown")
    );
    let frames: Vec<_> = trace.records[0]
        .lines
        .iter()
        .filter_map(|l| l.frame_probe)
        .collect();
    assert_eq!(frames.len(), 10);
    assert_eq!(frames[2], "xen:hvm_do_resume");
    let stack = explain(&records_of(&seed("xend-callstack.log"), "s", None));
    assert_eq!(
        stack.records[1].probe,
        Some("xend:XendDomainInfo.destroyDevice")
    );
    assert_eq!(xsh_log::explain::unknown_probes(), Vec::<&str>::new());
}

#[test]
fn explain_tells_upstream_line_numbers_from_ovms() {
    let h = util::ok(&format!(
        "sim.profile = \"upstream-4.4.4\";\n{}",
        util::scenario("2019-06-05 09:23:27", 2164, 8, "")
    ));
    let ex = explain(&records_of(util::xend_log(&h).as_bytes(), "xend.log", None));
    assert_eq!(ex.build(), Build::Upstream);
    let mixed = format!(
        "{}[2019-06-05 09:23:28 2164] DEBUG (XendDomainInfo:3082) XendDomainInfo.destroy: domid=8\n",
        String::from_utf8_lossy(&seed("xend-poweroff.log"))
    );
    assert_eq!(
        explain(&records_of(mixed.as_bytes(), "m", None)).build(),
        Build::Neither
    );
}

fn edit(text: &str, f: impl Fn(&str) -> Option<String>) -> String {
    text.lines().filter_map(f).map(|l| l + "\n").collect()
}

#[test]
fn diff_ignores_times_pids_domids_and_uuids_and_finds_missing_extra_and_moved_events() {
    let a = String::from_utf8_lossy(&seed("xend-poweroff.log")).into_owned();
    let b = edit(&a, |l| {
        Some(
            l.replace("2019-06-05 09:23:2", "2020-01-01 17:00:0")
                .replace(" 2164]", " 31337]")
                .replace("id=8", "id=12")
                .replace("domid=8", "domid=12"),
        )
    });
    let ra = records_of(a.as_bytes(), "a", None);
    let d = xsh_log::diff::diff(&ra, &records_of(b.as_bytes(), "b", None));
    assert!(d.same(), "{}", d.render("a", "b"));
    let lines: Vec<&str> = a.lines().collect();
    let mut c: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.contains("Release running lock"))
        .collect();
    c.swap(0, 1);
    c.push("[2019-06-05 09:23:29 2164] DEBUG (XendDomainInfo:2589) No device model");
    let c = c.join("\n") + "\n";
    let d = xsh_log::diff::diff(&ra, &records_of(c.as_bytes(), "c", None));
    assert_eq!(d.counts().1, 1, "one missing:\n{}", d.render("a", "c"));
    assert_eq!(d.counts().2, 1, "one extra");
    assert_eq!(d.counts().3, 1, "one reordered");
    let r = d.render("a", "c");
    assert!(
        r.contains("- A:22") && r.contains("Release running lock"),
        "{r}"
    );
}

#[test]
fn check_holds_for_the_seed_and_says_where_an_upstream_run_departs() {
    let seed_run = util::ok(&util::scenario("2019-06-05 09:23:27", 2164, 8, ""));
    let golden = seed("xend-poweroff.log");
    let c = xsh_log::diff::check(&golden, "xend-poweroff.log", &host_logs(&seed_run));
    assert!(c.holds(), "{}", c.render());
    assert_eq!(c.sim_name, "xend.log");
    let qemu = xsh_log::diff::check(&seed("qemu-dm.log"), "qemu-dm.log", &host_logs(&seed_run));
    assert!(qemu.holds(), "domids are ignored: {}", qemu.render());
    let up = util::ok(&format!(
        "sim.profile = \"upstream-4.4.4\";\n{}",
        util::scenario("2019-06-05 09:23:27", 2164, 8, "")
    ));
    let c = xsh_log::diff::check(&golden, "xend-poweroff.log", &host_logs(&up));
    assert!(!c.holds());
    let report = c.render();
    assert!(
        report.starts_with("departs: at xend-poweroff.log:13"),
        "{report}"
    );
}

#[test]
fn scripts_parse_and_diff_logs() {
    let h = util::ok(
        r#"
let recs = logs.parse("[2019-06-05 09:23:27 2164] DEBUG (XendDomainInfo:568) XendDomainInfo.shutdown(poweroff)\n(XEN) Xen call trace:\n(XEN)    [<ffff82d08020ddde>] domain.c#__domain_finalise_shutdown+0x5e/0xa0\n");
assert_eq(recs.len(), 2);
assert_eq(recs[0].format, "xend");
assert_eq(recs[0]["module"], "XendDomainInfo");
assert_eq(recs[0].lineno, 568);
assert_eq(recs[0].pid, 2164);
assert_eq(recs[1].format, "xen-console");
assert_eq(recs[1].continuation, 1);
fn count(t) { logs.parse(t).len() }
assert_eq(count("domid: 8\n"), 1);
let d = logs.diff(xend.log(), xend.log());
assert(d.same);
let e = logs.explain("shutdown requested in cpu_handle_ioreq\n");
assert_eq(e[0].probe, "qemu:cpu_handle_ioreq");
"#,
    );
    drop(h);
}
