//! Issue 14: the rough edges a new user and a Xen engineer meet in the
//! first hour — the clock, the errors, the entry points. Each test here
//! failed before its fix.

use crate::util::{ok, run};

/// `sim.run_for(s)` ends with the clock at now + s, as SimPy's
/// `run(until=)` does, even when the world goes idle before then.
#[test]
fn run_for_ends_at_now_plus_s_even_when_idle() {
    ok(r#"
let t = sim.now();
sim.run_for(5.0);
assert_eq(sim.now(), t + 5.0, "an idle world still advances");
let dom = xm.create(#{ name: "h", type: "hvm", guest: "ubuntu-16.04" });
xm.shutdown(dom);
let t0 = sim.now();
sim.run_for(1000.0);           // xend's 300 s timer is the last event
assert_eq(dom.state, "destroyed");
assert_eq(sim.now(), t0 + 1000.0, "the clock ends at the deadline, not at the last event");
"#);
    let (_, r) = run("sim.run_for(-1.0);");
    assert!(r.is_err(), "a negative duration is still refused");
}

/// `cargo run`, a bare `xsh` and `xsh run` print the same run: one default
/// seed (a derived `Default` once gave seed 0 where clap's gave 1, so the
/// qemu-dm pid in the README's chain was not the one `xsh` printed).
#[test]
fn bare_xsh_and_xsh_run_print_the_same_run() {
    let (c1, bare, _) = crate::util::xsh_in(None, &[]);
    let (c2, run, _) = crate::util::xsh_in(None, &["run"]);
    let (c3, seeded, _) = crate::util::xsh_in(None, &["run", "--seed", "1"]);
    assert_eq!((c1, c2, c3), (0, 0, 0));
    assert_eq!(bare, run, "bare xsh and xsh run differ");
    assert_eq!(run, seeded, "xsh run's default seed is 1");
}

/// `xsh completions <shell>` prints a completion script naming the commands.
#[test]
fn completions_for_bash_and_zsh() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = crate::util::xsh_in(None, &["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        for word in ["explore", "logs", "seed"] {
            assert!(out.contains(word), "{shell} completion lacks {word}");
        }
    }
    let (code, _, _) = crate::util::xsh_in(None, &["completions", "tcsh"]);
    assert_eq!(code, 2, "an unknown shell is a usage error");
}

/// `--color always|never` decide colour whatever stderr is (auto: a
/// terminal and NO_COLOR unset, which a test's pipe never is).
#[test]
fn color_flag_forces_or_removes_colour() {
    let s = crate::util::Scratch::new("color", &[("bad.rhai", "xm.shutdown(\"ghost\");\n")]);
    let bad = s.0.join("bad.rhai");
    let bad = bad.to_str().unwrap();
    let (_, _, always) = crate::util::xsh_in(None, &["--color", "always", "run", bad]);
    let (_, _, never) = crate::util::xsh_in(None, &["run", bad, "--color", "never"]);
    let (_, _, auto) = crate::util::xsh_in(None, &["run", bad]);
    assert!(always.contains("\x1b["), "always: {always}");
    assert!(!never.contains("\x1b["), "never: {never}");
    assert!(!auto.contains("\x1b["), "auto into a pipe: {auto}");
}

/// Each output flag says on stderr what it wrote: the path and its size.
#[test]
fn output_flags_say_what_they_wrote() {
    let s = crate::util::Scratch::new("wrote", &[]);
    let trace = s.0.join("run.jsonl");
    let seq = s.0.join("run.svg");
    let logs = s.0.join("logs");
    let (code, _, err) = crate::util::xsh_in(
        None,
        &[
            "run",
            "--trace",
            trace.to_str().unwrap(),
            "--sequence",
            seq.to_str().unwrap(),
            "--log-dir",
            logs.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    for p in [&trace, &seq] {
        let len = std::fs::metadata(p).unwrap().len();
        assert!(len > 1024, "{} is not empty", p.display());
        let kib = format!("wrote {} ({:.1} KiB)", p.display(), len as f64 / 1024.0);
        assert!(err.contains(&kib), "stderr lacks `{kib}`:\n{err}");
    }
    let line = format!("wrote 4 logs to {} (", logs.display());
    assert!(err.contains(&line), "stderr lacks `{line}`:\n{err}");
    assert!(
        err.contains("): xend.log, xen.log, qemu-dm-ubuntu-kdump.log, console-ubuntu-kdump.log"),
        "{err}"
    );
}

const THREE: &str = r#"fn test_first_passes() { assert_eq(1 + 1, 2); }
fn test_then_one_fails() { assert_eq(1, 2, "fails"); }
fn test_last_passes() { assert(true); }
fn test_with_a_parameter(dom) { assert(false); }
"#;

/// `xsh test NAME` filters by name as `cargo test NAME` does; `--list`
/// lists without running; `--durations` times each test; the result line
/// ends with the run's time, as cargo's does.
#[test]
fn xsh_test_filters_by_name_lists_and_times() {
    let f = crate::util::Scratch::new("testname", &[("tests/three.rhai", THREE)]);
    let (code, out, err) = f.xsh(&["test", "last"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("test tests/three.rhai::test_last_passes ... ok"),
        "{out}"
    );
    assert!(!out.contains("test_first_passes"), "{out}");
    assert!(
        out.contains("test result: ok. 1 passed, 0 failed; 3 filtered out; finished in "),
        "{out}"
    );
    // A word naming a file is still a path; a missing .rhai is an error.
    let (code, _, err) = f.xsh(&["test", "tests/missing.rhai"]);
    assert_eq!(code, 2, "{err}");

    let (code, out, _) = f.xsh(&["test", "--list"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "tests/three.rhai::test_first_passes: test\ntests/three.rhai::test_then_one_fails: test\n\
         tests/three.rhai::test_last_passes: test\ntests/three.rhai::test_with_a_parameter: test\n\n4 tests\n"
    );
    let (_, out, _) = f.xsh(&["test", "--list", "passes"]);
    assert!(out.ends_with("\n2 tests\n"), "{out}");

    let (_, out, _) = f.xsh(&["test", "first", "--durations"]);
    let line = out
        .lines()
        .find(|l| l.contains("test_first_passes"))
        .unwrap();
    let t = line
        .strip_prefix("test tests/three.rhai::test_first_passes ... ok (")
        .and_then(|r| r.strip_suffix("s)"))
        .unwrap_or_else(|| panic!("{line}"));
    assert!(t.parse::<f64>().is_ok(), "{line}");
}

/// A `fn test_*` with parameters is reported as a failure at its line, not
/// skipped; `--fail-fast` says how many tests it left unrun.
#[test]
fn a_test_with_parameters_is_reported_and_fail_fast_counts_the_rest() {
    let f = crate::util::Scratch::new("testparams", &[("tests/three.rhai", THREE)]);
    let (code, out, _) = f.xsh(&["test", "parameter"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("test tests/three.rhai::test_with_a_parameter ... FAILED"),
        "{out}"
    );
    assert!(
        out.contains("test_with_a_parameter takes 1 parameter, so it was not run"),
        "{out}"
    );
    assert!(
        out.contains("tests/three.rhai:4:"),
        "points at its definition:\n{out}"
    );

    let (code, out, _) = f.xsh(&["test", "--fail-fast"]);
    assert_eq!(code, 1);
    assert!(
        out.contains(
            "test result: FAILED. 1 passed, 1 failed; 2 not run (--fail-fast); finished in "
        ),
        "{out}"
    );
}

/// The report of `src`, uncoloured.
fn report(src: &str) -> String {
    match run(src).1 {
        Ok(()) => panic!("expected an error from:\n{src}"),
        Err(e) => e.render(false),
    }
}

/// "Did you mean" for a property, a method and a variable that do not
/// exist; the type's members are listed.
#[test]
fn unknown_names_get_a_did_you_mean() {
    let r = report("let dom = xm.create(#{ name: \"h\" });\nprint(dom.status);\n");
    assert!(r.contains("Help: did you mean `dom.state`?"), "{r}");
    assert!(r.contains("Domain has the properties "), "{r}");

    let r = report("let dom = xm.create(#{ name: \"h\" });\ndom.poweroff();\n");
    assert!(r.contains("did you mean `xm.shutdown(dom)`?"), "{r}");
    assert!(
        r.contains("Domain has the methods console(), hook(), on()"),
        "{r}"
    );

    let r = report("let dom = xm.create(#{ name: \"h\" });\nxm.shutdown(domm);\n");
    assert!(r.contains("Help: did you mean `dom`?"), "{r}");
}

/// `ctx.args` is strict: an unknown key is an error naming the valid keys
/// (with the closest), not `()`; it still reads and prints as a map.
#[test]
fn ctx_args_is_strict_about_names() {
    let r = report(
        "let dom = xm.create(#{ name: \"h\" });\non(\"xm:shutdown\", |ctx| print(ctx.args.domm));\nxm.shutdown(dom);\n",
    );
    assert!(
        r.contains(
            "xm:shutdown has no argument `domm` (did you mean `dom`?): its arguments are dom, mode"
        ),
        "{r}"
    );
    assert!(
        r.contains("2 │ on(\"xm:shutdown\""),
        "reported in the hook:\n{r}"
    );
    let h = ok(r#"
let dom = xm.create(#{ name: "h" });
on("xm:shutdown", |ctx| {
    print(ctx.args);
    print(ctx.args["mode"]);
    print(ctx.args.keys());
    print("dom" in ctx.args);
    print(ctx.args.to_map().len());
});
xm.shutdown(dom);
"#);
    let out = h.state.output.borrow().clone();
    assert!(out.starts_with("#{\"dom\": "), "{out}");
    assert!(out.contains("\n[\"dom\", \"mode\"]\ntrue\n2\n"), "{out}");
}

/// A wrong call lists the function's script signatures and what it was
/// called with, never Rust's types.
#[test]
fn a_wrong_call_lists_script_signatures() {
    let r = report("xs.write(\"/a\");\n");
    assert!(
        r.contains("Function not found: write (Xenstore, string)"),
        "{r}"
    );
    assert!(r.contains("xs.write(path: string, value: string)"), "{r}");
    assert!(r.contains("called with (string)"), "{r}");
    for rust in ["ImmutableString", "&str", "i64"] {
        assert!(!r.contains(rust), "{rust} in:\n{r}");
    }
}

/// `xm.create` reports every bad key at once, each with its closest key; a
/// bad enum value lists the valid ones.
#[test]
fn xm_create_reports_every_bad_key_and_enum_values_are_listed() {
    let r = report(
        "let dom = xm.create(#{ nmae: \"h\", tpye: \"hvm\", init: \"upstart\", vcpus: 0 });\n",
    );
    for line in [
        "xm.create: 4 problems in the config:",
        "- unknown config key `nmae` (did you mean `name`?)",
        "- unknown config key `tpye` (did you mean `type`?)",
        "- unknown config key `init` (it is the running guest's: `dom.kernel.init = ...` after xm.create)",
        "- `vcpus` must be 1..128, got 0",
        "the keys are: name, id, type,",
    ] {
        assert!(r.contains(line), "{line} missing in:\n{r}");
    }
    let r = report("let dom = xm.create(#{ name: \"h\" });\ndom.kernel.init = \"upstart\";\n");
    assert!(r.contains("\"upstart\" is not one of \"hung\""), "{r}");
    assert!(r.contains("\"systemd\" or \"sysvinit\""), "{r}");
}

/// A hook that returns a value of the wrong type is reported at the hook,
/// not only at the `sim.run()` that ran the world.
#[test]
fn a_hooks_wrong_return_type_is_reported_at_the_hook() {
    let r = report(
        "let dom = xm.create(#{ name: \"h\" });\nhook(\"xen:vcpu_start_shutdown_deferral\", |ctx| \"yes\");\nxm.shutdown(dom);\nsim.run();\n",
    );
    assert!(
        r.contains("returned the wrong type: expected a bool, the hook returned string"),
        "{r}"
    );
    assert!(r.contains("[ test.rhai:2:"), "positioned in the hook:\n{r}");
    assert!(r.contains("the world was running from this call"), "{r}");
}

/// The timeline and the sequence focus on the shutdown: milestones are
/// marked, hypercall, domctl and port numbers are named, xend's 300 s timer
/// tail is folded instead of stretching the view, and a call that took no
/// virtual time is still a slice with width.
#[test]
fn timeline_and_sequence_mark_decode_and_fold() {
    use xsh_script::output::{render, Kind};
    let src = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/hvm_poweroff.rhai"),
    )
    .unwrap();
    let h = ok(&src);
    let doc = render(
        h.sim(),
        "s.rhai",
        Kind::Timeline,
        std::path::Path::new("t.json"),
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let evs = v["traceEvents"].as_array().unwrap();
    let names: Vec<&str> = evs.iter().filter_map(|e| e["name"].as_str()).collect();
    for m in [
        "milestone: xm shutdown",
        "milestone: Xen: domain_shutdown(SHUTDOWN_poweroff)",
        "milestone: Xen: domain shut down",
        "milestone: Xen: domain_kill (dying)",
    ] {
        assert!(names.contains(&m), "{m} missing");
    }
    assert!(
        names.contains(&"xen:do_sched_op SCHEDOP_remote_shutdown"),
        "named sub-op"
    );
    assert!(
        names.iter().any(|n| n.starts_with("guest:outw PM1a_CNT")),
        "named port"
    );
    // The 300 s tail: folded, so the view ends a few seconds in.
    let fold = evs
        .iter()
        .find(|e| e["cat"] == "fold")
        .expect("the idle stretch before xend's timer is folded");
    assert!(fold["name"]
        .as_str()
        .unwrap()
        .contains("s with nothing running"));
    let last = evs
        .iter()
        .filter(|e| e["ph"] == "X")
        .map(|e| e["ts"].as_f64().unwrap() + e["dur"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert!(
        last < 10_000_000.0,
        "the view ends at {last} µs, not past 300 s"
    );
    // Every slice has width, those of zero virtual time included.
    let zero: Vec<&serde_json::Value> = evs
        .iter()
        .filter(|e| e["ph"] == "X" && e["args"]["t"] == e["args"]["end"])
        .collect();
    assert!(!zero.is_empty(), "some calls take no virtual time");
    assert!(
        zero.iter().all(|e| e["dur"].as_f64().unwrap() > 0.0),
        "all drawn with width"
    );
    crate::outputs::validate_trace_events(&doc).unwrap_or_else(|e| panic!("{e}"));

    let seq = render(
        h.sim(),
        "s.rhai",
        Kind::Sequence,
        std::path::Path::new("s.mmd"),
    )
    .unwrap();
    assert!(seq.contains("SCHEDOP_remote_shutdown"), "{seq}");
    assert!(
        seq.contains("◆ Xen: domain_shutdown(SHUTDOWN_poweroff)"),
        "{seq}"
    );
}
