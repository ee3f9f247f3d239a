//! `xsh explore`: scripts/explore_shutdown.rhai against the reference, one
//! prediction per combination; its table in docs/; the walk itself (every
//! path of a dependent tree once, threads and shards changing nothing);
//! invariants, failures, minimising, replaying; faults; the CLI.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use xsh_script::explore::faults;
use xsh_script::explore::report::{FailureKind, Mode, Report, Variant};
use xsh_script::explore::runner::{explore, Job};
use xsh_sim::Config;

use crate::util::*;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn job_of(name: &str, src: &str) -> Job {
    Job::new(name, src, Config::default())
}

fn explore_src(src: &str, f: impl FnOnce(&mut Job)) -> Report {
    let mut job = job_of("test.rhai", src);
    f(&mut job);
    explore(&job, &|_| {}).unwrap_or_else(|e| panic!("{}", e.render(false)))
}

fn shutdown_job(jobs: usize) -> Job {
    let name = "scripts/explore_shutdown.rhai";
    let src = std::fs::read_to_string(root().join(name)).expect("script");
    let mut job = job_of(name, &src);
    job.jobs = jobs;
    job
}

fn get<'a>(v: &'a [(String, String)], k: &str) -> &'a str {
    v.iter()
        .find(|(n, _)| n == k)
        .map_or("", |(_, x)| x.as_str())
}

/// What the reference predicts for one combination: the state 60 s after
/// `xm shutdown` and at the end, lines that must and must not be logged.
struct Prediction {
    at_60s: &'static str,
    end: &'static str,
    present: Vec<&'static str>,
    absent: Vec<&'static str>,
}

/// guest-and-qemu.md §8 and xen-toolstack-hypervisor.md §2, per combination.
fn predict(guest: &str, pm: &str, fault: &str) -> Prediction {
    const POWER_DOWN: &str = "guest: Power down";
    const HALTED: &str = "guest: System halted";
    const QEMU_S5: &str = "qemu-dm: shutdown requested";
    const XEN_OFF: &str = "xen: all vCPUs offline";
    const REMOTE: &str = "xend: remote shutdown";
    const TIMEOUT: &str = "xend: shutdown timeout";
    const POWEROFF: &str = "xend: shutdown reason=poweroff";
    const CRASHED: &str = "xend: crashed";
    const DM_FAILED: &str = "xend: device model failure";
    let late = fault == "drop-release-watch";
    // xend learns of the shutdown only from its 300 s timer (§2.8: the
    // refresh finds the domain shut down and destroys it), so at 60 s Xen
    // holds it shut down.
    let gone = if late { "shutdown" } else { "destroyed" };
    let timeout = |extra: Vec<&'static str>| Prediction {
        at_60s: "running",
        end: "running",
        present: [vec![TIMEOUT], extra].concat(),
        absent: vec![POWEROFF, CRASHED, POWER_DOWN, HALTED, QEMU_S5],
    };
    // §2.11: qemu-dm dies → device model failure → SHUTDOWN_crash → on_crash
    // (destroy here), whatever the guest is.
    if fault == "kill-qemu-dm" {
        return Prediction {
            at_60s: "destroyed",
            end: "destroyed",
            present: vec![DM_FAILED, CRASHED],
            absent: vec![POWEROFF, POWER_DOWN, HALTED, QEMU_S5, TIMEOUT],
        };
    }
    match guest {
        // §8.3: HVM_PARAM_CALLBACK_IRQ = 0, xend stops it hard at once; the
        // guest is never told, so nothing in it matters.
        "hvm-no-pv-drivers" => Prediction {
            at_60s: gone,
            end: "destroyed",
            present: vec![REMOTE, POWEROFF],
            absent: vec![POWER_DOWN, HALTED, QEMU_S5, XEN_OFF, TIMEOUT],
        },
        // §8.3: no xenbus, no control/shutdown watch: the 300 s timeout.
        "pvhvm-no-platform-pci" => timeout(vec![]),
        // §2.3/§8.1: a lost watch event or a hung init leaves the request
        // unserved: the timeout, the domain running.
        _ if fault == "drop-shutdown-watch" || fault == "hang-init" => timeout(vec![]),
        // §8.4: PV: halt → xen_machine_halt → SCHEDOP_shutdown(poweroff).
        "pv" => Prediction {
            at_60s: gone,
            end: "destroyed",
            present: vec![HALTED, POWEROFF],
            absent: vec![POWER_DOWN, QEMU_S5, XEN_OFF, REMOTE, TIMEOUT],
        },
        // §1: ACPI S5 through qemu-dm (a slow one only delays it).
        "pvhvm" if pm == "acpi_power_off" => Prediction {
            at_60s: gone,
            end: "destroyed",
            present: vec![POWER_DOWN, QEMU_S5, POWEROFF],
            absent: vec![HALTED, XEN_OFF, REMOTE, TIMEOUT],
        },
        // §8.2: NULL pm_power_off: halt, every vCPU HLTs, Xen powers it off;
        // qemu-dm sees no ioreq; xend's reason is poweroff.
        "pvhvm" => Prediction {
            at_60s: gone,
            end: "destroyed",
            present: vec![HALTED, XEN_OFF, POWEROFF],
            absent: vec![POWER_DOWN, QEMU_S5, REMOTE, TIMEOUT],
        },
        g => panic!("unknown guest {g}"),
    }
}

fn check(v: &Variant) -> Result<(), String> {
    let c = &v.choices;
    let (guest, pm, fault) = (get(c, "guest"), get(c, "pm_power_off"), get(c, "fault"));
    if let Some(f) = &v.failure {
        return Err(format!("failed: {}", f.label()));
    }
    let p = predict(guest, pm, fault);
    let lines: Vec<&str> = get(&v.outcome, "lines").split("; ").collect();
    let mut wrong = Vec::new();
    if get(&v.outcome, "at_60s") != p.at_60s {
        wrong.push(format!(
            "at 60 s {} (predicted {})",
            get(&v.outcome, "at_60s"),
            p.at_60s
        ));
    }
    if get(&v.outcome, "end") != p.end {
        wrong.push(format!(
            "at the end {} (predicted {})",
            get(&v.outcome, "end"),
            p.end
        ));
    }
    for l in p.present.iter().filter(|l| !lines.contains(l)) {
        wrong.push(format!("no {l:?}"));
    }
    for l in p.absent.iter().filter(|l| lines.contains(l)) {
        wrong.push(format!("unexpected {l:?}"));
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join(", "))
    }
}

#[test]
fn every_combination_of_the_shutdown_ends_as_the_reference_predicts() {
    let r = explore(&shutdown_job(2), &|_| {}).expect("explores");
    // The combinations, from the script's choice points as the reference
    // names them, independent of what the run found.
    let mut expected = BTreeSet::new();
    for g in ["pvhvm", "hvm-no-pv-drivers", "pvhvm-no-platform-pci", "pv"] {
        let pms: &[&str] = if g == "pv" {
            &[""]
        } else {
            &["acpi_power_off", "null"]
        };
        for pm in pms {
            for f in faults::ALL {
                if g == "pv" && faults::QEMU.contains(f) {
                    continue;
                }
                expected.insert((g.to_string(), pm.to_string(), f.to_string()));
            }
        }
    }
    let got: BTreeSet<(String, String, String)> = r
        .variants
        .iter()
        .map(|v| {
            let c = &v.choices;
            (
                get(c, "guest").into(),
                get(c, "pm_power_off").into(),
                get(c, "fault").into(),
            )
        })
        .collect();
    assert_eq!(got, expected, "every combination, once");
    assert_eq!(r.variants.len(), expected.len());
    let wrong: Vec<String> = r
        .variants
        .iter()
        .filter_map(|v| check(v).err().map(|e| format!("{}: {e}", v.choices_text())))
        .collect();
    assert!(wrong.is_empty(), "not as predicted:\n{}", wrong.join("\n"));
}

/// docs/explore-shutdown.md keeps the table between these markers.
const BEGIN: &str = "<!-- xsh explore scripts/explore_shutdown.rhai --markdown -->\n";
const END: &str = "<!-- end of generated table -->\n";

#[test]
fn the_outcome_table_in_docs_is_what_xsh_explore_prints() {
    let r = explore(&shutdown_job(2), &|_| {}).expect("explores");
    let table = r.markdown();
    let path = root().join("docs/explore-shutdown.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("docs/explore-shutdown.md lacks the markers {BEGIN:?} … {END:?}");
    };
    let kept = &doc[b + BEGIN.len()..e];
    if std::env::var_os("XSH_BLESS").is_some() {
        let new = format!("{}{BEGIN}{table}{}", &doc[..b], &doc[e..]);
        std::fs::write(&path, new).expect("written");
        return;
    }
    assert!(
        kept == table,
        "docs/explore-shutdown.md is stale: paste `xsh explore scripts/explore_shutdown.rhai --markdown` between its markers (or XSH_BLESS=1 cargo test --test it explore)"
    );
}

#[test]
fn threads_and_shards_do_not_change_the_results() {
    let one = explore(&shutdown_job(1), &|_| {}).unwrap();
    let two = explore(&shutdown_job(2), &|_| {}).unwrap();
    assert_eq!(one.variants, two.variants);
    assert_eq!(one.text(), two.text());
    // Three shards, each through its JSON, merged: the same table.
    let parts: Vec<Report> = (0..3)
        .map(|i| {
            let mut j = shutdown_job(1);
            j.shard = (i, 3);
            let r = explore(&j, &|_| {}).unwrap();
            Report::from_json(&r.json()).expect("reads its own JSON")
        })
        .collect();
    let sizes: Vec<usize> = parts.iter().map(|p| p.variants.len()).collect();
    assert!(
        sizes.iter().all(|&n| n > 0),
        "each shard has work: {sizes:?}"
    );
    assert_eq!(
        sizes.iter().sum::<usize>(),
        one.variants.len(),
        "no variant in two shards"
    );
    let merged = Report::merge(parts.clone()).unwrap();
    assert_eq!(merged.variants, one.variants);
    assert_eq!(merged.rows().len(), one.rows().len());
    // A shard twice, or a shard of something else, is refused.
    let e = Report::merge(vec![parts[0].clone(), parts[0].clone()]).unwrap_err();
    assert!(e.contains("given twice"), "{e}");
    let mut other = parts[1].clone();
    other.seed = 2;
    assert!(Report::merge(vec![parts[0].clone(), other]).is_err());
}

#[test]
fn a_dependent_choice_tree_is_walked_path_by_path() {
    let r = explore_src(
        r#"let kind = sim.choose("kind", ["a", "b", "c"]);
if kind == "b" { sim.choose("extra", [1, 2, 3]); }
sim.choose("last", [true, false]);
sim.outcome(`${sim.choices()}`);"#,
        |_| {},
    );
    // a: 2, b: 3 × 2, c: 2.
    assert_eq!(r.variants.len(), 10);
    assert_eq!(r.rows().len(), 10);
    assert!(r.variants.iter().all(|v| v.failure.is_none()));
    assert!(r
        .variants
        .iter()
        .filter(|v| get(&v.choices, "kind") != "b")
        .all(|v| get(&v.choices, "extra").is_empty()));
    let paths: BTreeSet<&Vec<usize>> = r.variants.iter().map(|v| &v.path).collect();
    assert_eq!(paths.len(), 10, "each path once");
}

const FRAGILE: &str = r#"let a = sim.choose("a", [0, 1, 2]);
let b = sim.choose("b", ["x", "y", "z"]);
let c = sim.choose("c", [false, true]);
let dom = xm.create(#{ name: "f", devices: ["vif/0"] });
sim.invariant("never a 2 with z", || !(a == 2 && b == "z"));
xm.shutdown(dom);
sim.run();
assert(!(a == 1 && c), "a=1 must not meet c");
"#;

#[test]
fn failures_are_reported_smallest_first_with_a_replay_command() {
    let r = explore_src(FRAGILE, |_| {});
    assert_eq!(r.variants.len(), 18);
    let f = r.failures();
    assert_eq!(f.len(), 2, "{}", r.text());
    let inv = f
        .iter()
        .find(|f| f.failure.kind == FailureKind::Invariant)
        .unwrap();
    assert_eq!(inv.failure.name, "never a 2 with z");
    assert_eq!(inv.count, 2, "a=2, b=z, either c");
    assert_eq!(inv.smallest.choices_text(), "a=2, b=z, c=false");
    let asr = f
        .iter()
        .find(|f| f.failure.kind == FailureKind::Assertion)
        .unwrap();
    assert_eq!(asr.count, 3);
    assert_eq!(asr.smallest.choices_text(), "a=1, b=x, c=true");
    assert!(
        asr.failure.name.contains("a=1 must not meet c"),
        "{}",
        asr.failure.name
    );
    assert_eq!(
        r.replay(&inv.smallest),
        "xsh run test.rhai --choose a=2,b=z,c=false"
    );
    assert!(r.failed());
    assert!(r
        .text()
        .contains("replay: xsh run test.rhai --choose a=1,b=x,c=true"));
}

#[test]
fn sampled_failures_are_shrunk_to_the_choices_that_matter() {
    // Fails whenever b is "q"; the other choices are noise to shrink away.
    let src = r#"let n = sim.choose("n", [0, 1, 2, 3, 4, 5, 6, 7]);
let b = sim.choose("b", ["p", "q"]);
let m = sim.choose("m", [0, 1, 2, 3, 4, 5, 6, 7]);
sim.invariant("b is never q", || b != "q");
sim.run();"#;
    let r = explore_src(src, |j| {
        j.samples = Some(40);
        j.sample_seed = 7;
    });
    assert!(matches!(r.mode, Mode::Sampled { samples: 40, .. }));
    assert!(
        r.variants.len() <= 40 && r.variants.len() > 20,
        "{}",
        r.variants.len()
    );
    let f = r.failures();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].smallest.choices_text(), "n=0, b=q, m=0");
    // Too many combinations for --max-variants: sampled instead, and said so.
    let r = explore_src(src, |j| j.max_variants = 10);
    assert!(matches!(
        r.mode,
        Mode::Sampled {
            samples: 10,
            auto: true,
            ..
        }
    ));
    assert!(r
        .summary()
        .contains("more combinations than --max-variants"));
}

#[test]
fn invariants_are_checked_after_each_instant_and_at_the_end() {
    let h = ok(r#"let dom = xm.create(#{ name: "i", devices: ["vif/0"] });
let seen = [];
sim.invariant("record", || { seen.push(sim.now()); true });
xm.shutdown(dom);
sim.run();
assert(seen.len() > 10, `checked ${seen.len()} times`);
for i in 1..seen.len() { assert(seen[i] >= seen[i - 1]); }
let distinct = 0;
for i in 1..seen.len() { if seen[i] > seen[i - 1] { distinct += 1; } }
assert(distinct >= seen.len() - 3, "one check per instant (plus the run's ends)");
print(seen.len());"#);
    let checks: usize = h.state.output.borrow().trim().parse().unwrap();
    assert!(checks > 10);
    // A violation stops the world at once, positioned at the run that found it.
    let (_, r) = run(r#"let dom = xm.create(#{ name: "i", devices: ["vif/0"] });
sim.invariant("stays up", || dom.state == "running");
xm.shutdown(dom);
sim.run();
print("not reached");"#);
    let e = r.unwrap_err().render(false);
    assert!(e.contains("invariant \"stays up\" violated at 1."), "{e}");
    assert!(e.contains("sim.run()"), "{e}");
    // One violated only by the final state is caught at the end, at its declaration.
    let (_, r) = run(r#"let done = false;
sim.invariant("unfinished", || !done);
done = true;"#);
    let e = r.unwrap_err().render(false);
    assert!(
        e.contains("invariant \"unfinished\" violated")
            && e.contains("sim.invariant(\"unfinished\""),
        "{e}"
    );
    // A check must answer true or false.
    let (_, r) = run(r#"sim.invariant("odd", || 1); sim.run();"#);
    assert!(r
        .unwrap_err()
        .render(false)
        .contains("must return true or false"));
}

#[test]
fn choices_in_xsh_run_are_seeded_or_fixed_and_checked() {
    let pick = |seed| {
        let (h, r) = run_seeded(
            r#"print(sim.choose("k", ["a", "b", "c", "d", "e", "f", "g", "h"]));"#,
            seed,
        );
        r.unwrap();
        let s = h.state.output.borrow().trim().to_string();
        s
    };
    assert_eq!(pick(3), pick(3));
    assert!(
        (1..20).map(pick).collect::<BTreeSet<_>>().len() > 3,
        "seeds pick differently"
    );
    let (_, r) = run(r#"sim.choose("k", []);"#);
    assert!(r.unwrap_err().render(false).contains("at least one option"));
    let (_, r) = run(r#"sim.choose("k", ["a", "a"]);"#);
    assert!(r.unwrap_err().render(false).contains("appears twice"));
    // --choose with a value that is not an option: an error at the choice.
    let h = xsh_script::Host::new(Config::default(), xsh_script::Limits::default());
    h.state.explore.plan.borrow_mut().fixed = BTreeMap::from([("k".to_string(), "z".to_string())]);
    let e = h
        .run("t.rhai", "let v = 1;\nsim.choose(\"k\", [\"a\", \"b\"]);")
        .unwrap_err();
    let e = e.render(false);
    assert!(e.contains("--choose k=z") && e.contains("t.rhai:2:"), "{e}");
}

#[test]
fn every_fault_applies_and_a_pv_guest_has_no_qemu_faults() {
    for f in faults::ALL {
        let (_, r) = run(&format!(
            r#"let dom = xm.create(#{{ name: "f", devices: ["vif/0"], on_crash: "destroy" }});
sim.run_for(1);
sim.fault(dom, "{f}");
sim.run_for(5);
if dom.state == "running" {{ xm.shutdown(dom); }}
sim.run();"#
        ));
        r.unwrap_or_else(|e| panic!("{f}: {}", e.render(false)));
    }
    let (_, r) = run(r#"let dom = xm.create(#{ name: "p", type: "pv" });
assert(!sim.faults(dom).contains("kill-qemu-dm"));
assert(sim.faults().contains("kill-qemu-dm"));
sim.fault(dom, "kill-qemu-dm");"#);
    assert!(r.unwrap_err().render(false).contains("has no qemu-dm"));
    let (_, r) = run(r#"let dom = xm.create(#{ name: "p" }); sim.fault(dom, "meteor");"#);
    assert!(r
        .unwrap_err()
        .render(false)
        .contains("unknown fault \"meteor\""));
}

#[test]
fn a_closure_may_use_sim_after_the_script_did() {
    // `sim` used at top level, then captured by a hook that runs while
    // `sim.run()` is running: no "Data race detected".
    let h = ok(r#"sim.start_time = "2019-06-05 09:23:27";
let d = sim.choose("d", [2]);
let dom = xm.create(#{ name: "s", devices: ["vif/0"] });
hook("qemu:destroy_hvm_domain", |ctx| sim.after(d, || ctx.orig()));
xm.shutdown(dom);
sim.run();
assert_eq(dom.state, "destroyed");
print(sim.now());"#);
    assert!(h.state.output.borrow().trim().parse::<f64>().unwrap() > 300.0);
}

fn xsh(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xsh"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("xsh runs")
}

#[test]
fn the_cli_explores_shards_merges_and_replays() {
    let dir = std::env::temp_dir().join(format!("xsh-explore-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("fragile.rhai");
    std::fs::write(&script, FRAGILE).unwrap();
    let s = script.display().to_string();
    let o = xsh(&["explore", &s, "-j", "2"]);
    assert_eq!(o.status.code(), Some(1), "a failed check exits 1");
    assert!(
        o.stderr.is_empty(),
        "no progress bar off a terminal: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let table = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(table.contains("18 variants (every combination)"), "{table}");
    // The replay command it prints reproduces the failure.
    let replay = table
        .lines()
        .find_map(|l| l.trim().strip_prefix("replay: xsh run "))
        .expect("a replay line")
        .to_string();
    let args: Vec<&str> = replay.split(' ').collect();
    let o = xsh(&[&["run"], args.as_slice()].concat());
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("violated") || err.contains("must not meet"),
        "{err}"
    );
    // Two shards as JSON, merged: the same table.
    let mut files = Vec::new();
    for i in 1..=2 {
        let o = xsh(&["explore", &s, "--shard", &format!("{i}/2"), "--json"]);
        let f = dir.join(format!("s{i}.json"));
        std::fs::write(&f, &o.stdout).unwrap();
        files.push(f.display().to_string());
    }
    let o = xsh(&["explore", "--merge", &files[0], &files[1]]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), table);
    let o = xsh(&["explore", "--merge", &files[0]]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("1 of 2 shards merged"));
    // Usage errors exit 2.
    assert_eq!(
        xsh(&["explore", &s, "--shard", "3/2"]).status.code(),
        Some(2)
    );
    assert_eq!(
        xsh(&["explore", &s, "--choose", "novalue"]).status.code(),
        Some(2)
    );
    let o = xsh(&["run", &s, "--choose", "a=7"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("has no option \"7\""));
    let _ = std::fs::remove_dir_all(&dir);
}
