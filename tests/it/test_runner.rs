//! `xsh test`: the project's own Rhai tests through the runner, and the
//! runner's behaviour (lines, failures, flags, exit codes) on fixtures.

use std::path::Path;

use xsh_script::testing::{self, Options};

use crate::util::Scratch;

/// The project's tests/rhai/*.rhai, through the same runner as `xsh test`.
#[test]
fn the_projects_rhai_tests_pass() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rhai");
    let summary = testing::run_paths(&[dir], &Options::default()).expect("tests/rhai is readable");
    assert!(
        summary.results.len() >= 30,
        "found {} tests",
        summary.results.len()
    );
    assert!(summary.empty_files.is_empty(), "{:?}", summary.empty_files);
    if summary.failed() > 0 {
        panic!("{}", testing::summary_text(&summary, false));
    }
}

/// `xsh test ARGS` run inside the folder: (exit code, stdout, stderr),
/// with the wall-clock `; finished in 0.12s` cut from the result line so
/// the rest can be compared exactly.
fn xsh_test(f: &Scratch, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["test"];
    all.extend_from_slice(args);
    let (code, out, err) = f.xsh(&all);
    (code, without_time(&out), err)
}

/// `out` with the result line's `; finished in N.NNs` removed (it must be there).
pub fn without_time(out: &str) -> String {
    out.lines()
        .map(|l| {
            if l.starts_with("test result: ") {
                let (line, time) = l.rsplit_once("; finished in ").expect("a time");
                assert!(time.ends_with('s'), "{l}");
                line.to_string()
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect()
}

const MIXED: &str = r#"//! Two passing tests around a failing one.
sim.start_time = "2019-06-05 09:23:27";

fn test_first_passes() {
    assert_eq(1 + 1, 2);
}

fn test_then_one_fails() {
    let dom = xm.create(#{ name: "a", devices: ["vif/0"] });
    print("before the assertion");
    xm.shutdown(dom);
    sim.run();
    assert_eq(dom.state, "running", "still up");
}

fn test_last_passes() {
    let dom = xm.create(#{ name: "a", devices: ["vif/0"] });
    assert_eq(dom.id, 1, "a fresh world each test: the domid starts again");
}
"#;

#[test]
fn one_line_per_test_then_the_failure_then_the_result() {
    let f = Scratch::new("mixed", &[("tests/mixed.rhai", MIXED)]);
    let (code, out, err) = xsh_test(&f, &[]);
    assert_eq!(code, 1, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.contains(&"running 3 tests"), "{out}");
    for (name, verdict) in [
        ("test_first_passes", "ok"),
        ("test_then_one_fails", "FAILED"),
        ("test_last_passes", "ok"),
    ] {
        let line = format!("test tests/mixed.rhai::{name} ... {verdict}");
        assert!(lines.contains(&line.as_str()), "{line}\n{out}");
    }
    assert_eq!(
        lines.last(),
        Some(&"test result: FAILED. 2 passed, 1 failed")
    );
    for part in [
        "---- tests/mixed.rhai::test_then_one_fails ----",
        "assertion failed: still up\n  expected: \"running\"\n    actual: \"destroyed\"",
        "╭─[ tests/mixed.rhai:13:5 ]",
        " 13 │     assert_eq(dom.state, \"running\", \"still up\");",
        "-- output --\nbefore the assertion\n",
        "-- xend.log (last lines) --\n[2019-06-05 09:23:2",
        "-- console-a.log (last lines) --",
        "failures:\n    tests/mixed.rhai::test_then_one_fails\n",
    ] {
        assert!(out.contains(part), "missing {part:?} in\n{out}");
    }
}

#[test]
fn all_passing_exits_0() {
    let f = Scratch::new(
        "pass",
        &[(
            "tests/ok.rhai",
            "fn test_a() { assert(true); }\nfn test_b() {}\n",
        )],
    );
    let (code, out, _) = xsh_test(&f, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.ends_with("test result: ok. 2 passed, 0 failed\n"),
        "{out}"
    );
}

#[test]
fn filter_quiet_and_fail_fast() {
    let f = Scratch::new("flags", &[("tests/mixed.rhai", MIXED)]);
    let (code, out, _) = xsh_test(&f, &["--filter", "last"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.ends_with("test result: ok. 1 passed, 0 failed; 2 filtered out\n"),
        "{out}"
    );

    let (code, out, _) = xsh_test(&f, &["-q"]);
    assert_eq!(code, 1);
    assert!(out.contains("\n.F.\n"), "one character per test:\n{out}");
    assert!(!out.contains("test tests/mixed.rhai::test_first_passes ... ok"));

    let (code, out, _) = xsh_test(&f, &["--fail-fast"]);
    assert_eq!(code, 1);
    assert!(
        !out.contains("test_last_passes"),
        "stopped at the failure:\n{out}"
    );
    assert!(
        out.ends_with("test result: FAILED. 1 passed, 1 failed; 1 not run (--fail-fast)\n"),
        "{out}"
    );
}

#[test]
fn junit_report() {
    let f = Scratch::new("junit", &[("tests/mixed.rhai", MIXED)]);
    let (code, _, _) = xsh_test(&f, &["--junit", "report.xml"]);
    assert_eq!(code, 1);
    let xml = std::fs::read_to_string(f.0.join("report.xml")).expect("report.xml written");
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"xsh test\" tests=\"3\" failures=\"1\">"), "{xml}");
    assert!(
        xml.contains("<testsuite name=\"tests/mixed.rhai\" tests=\"3\" failures=\"1\">"),
        "{xml}"
    );
    assert!(
        xml.contains("<testcase classname=\"tests/mixed.rhai\" name=\"test_first_passes\"/>"),
        "{xml}"
    );
    assert!(
        xml.contains("<failure message=\"assertion failed: still up\">"),
        "{xml}"
    );
    assert!(xml.contains("expected: &quot;running&quot;"), "{xml}");
    assert!(
        xml.contains("<system-out>before the assertion\n</system-out>"),
        "{xml}"
    );
}

#[test]
fn a_file_that_does_not_parse_fails_as_a_whole() {
    let f = Scratch::new(
        "parse",
        &[
            ("tests/a_good.rhai", "fn test_fine() {}\n"),
            ("tests/b_bad.rhai", "fn test_x() {\n    let = 1;\n}\n"),
        ],
    );
    let (code, out, _) = xsh_test(&f, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("test tests/b_bad.rhai ... FAILED"), "{out}");
    assert!(out.contains("syntax error"), "{out}");
    assert!(out.contains("╭─[ tests/b_bad.rhai:2:"), "{out}");
    assert!(
        out.ends_with("test result: FAILED. 1 passed, 1 failed\n"),
        "{out}"
    );
}

#[test]
fn a_test_that_reaches_a_limit_exits_3() {
    let f = Scratch::new(
        "limit",
        &[("tests/loop.rhai", "fn test_spins() {\n    loop { }\n}\n")],
    );
    let (code, out, _) = xsh_test(&f, &["--max-operations", "10000"]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("operation limit reached: the script ran more than 10000 operations"),
        "{out}"
    );
    // Rhai drops the position of a limit reached in a function called from
    // Rust; the report points at the test function that was running.
    assert!(out.contains("╭─[ tests/loop.rhai:1:17 ]"), "{out}");
    assert!(out.contains("reached while running test_spins()"), "{out}");
}

#[test]
fn usage_errors_exit_2() {
    let f = Scratch::new("usage", &[("tests/ok.rhai", "fn test_a() {}\n")]);
    let (code, _, err) = xsh_test(&f, &["no/such/dir"]);
    assert_eq!(code, 2);
    assert!(err.contains("no such file or folder: no/such/dir"), "{err}");
    let (code, _, _) = xsh_test(&f, &["--no-such-flag"]);
    assert_eq!(code, 2);
    let empty = Scratch::new("no-tests-dir", &[("x.txt", "")]);
    let (code, _, err) = xsh_test(&empty, &[]);
    assert_eq!(code, 2, "no tests/ here: {err}");
}

#[test]
fn folders_hold_other_scripts_but_a_named_file_without_tests_is_warned_of() {
    let f = Scratch::new(
        "empty",
        &[
            ("tests/helpers.rhai", "fn helper() {}\n"),
            ("tests/broken_example.rhai", "let = ;\n"),
            ("tests/real.rhai", "fn test_a() {}\n"),
        ],
    );
    let (code, out, err) = xsh_test(&f, &[]);
    assert_eq!(
        code, 0,
        "only files with a fn test_ are run from a folder: {out}"
    );
    assert!(
        out.ends_with("test result: ok. 1 passed, 0 failed\n"),
        "{out}"
    );
    assert!(err.is_empty(), "{err}");
    let (code, _, err) = xsh_test(&f, &["tests/helpers.rhai"]);
    assert_eq!(code, 0);
    assert!(
        err.contains("warning: tests/helpers.rhai has no fn test_*()"),
        "{err}"
    );
}

#[test]
fn log_dir_keeps_each_tests_logs() {
    let f = Scratch::new("logdir", &[("tests/mixed.rhai", MIXED)]);
    let (code, _, _) = xsh_test(&f, &["--log-dir", "out"]);
    assert_eq!(code, 1);
    let xend =
        std::fs::read_to_string(f.0.join("out/tests/mixed.rhai/test_then_one_fails/xend.log"))
            .expect("the failing test's xend.log");
    assert!(
        xend.contains("Domain has shutdown: name=a id=1 reason=poweroff."),
        "{xend}"
    );
}
