//! Error reports, as golden files: each `tests/errors/<name>.rhai` is a kind
//! of mistake, run with `xsh run` (no colour); its exit code and stderr must
//! equal `tests/errors/<name>.report`. `XSH_BLESS=1 cargo test reports`
//! rewrites the reports after a deliberate change — read the diff before
//! committing it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `xsh run tests/errors/<file>` from the repository root: (exit, stdout, stderr).
fn run(rel: &str, no_color: bool) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xsh"));
    cmd.arg("run").arg(rel).current_dir(root());
    if no_color {
        cmd.env("NO_COLOR", "1");
    } else {
        cmd.env_remove("NO_COLOR");
    }
    let out = cmd.output().expect("xsh runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("tests/errors"))
        .expect("tests/errors exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "rhai"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_kind_of_mistake_has_its_report() {
    let bless = std::env::var_os("XSH_BLESS").is_some();
    let mut wrong = Vec::new();
    let all = cases();
    assert!(
        all.len() >= 10,
        "ten or more kinds of mistakes: {}",
        all.len()
    );
    for case in &all {
        let name = case
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name");
        let (code, _, stderr) = run(&format!("tests/errors/{name}"), true);
        let got = format!("exit code: {code}\n\n{stderr}");
        let golden = case.with_extension("report");
        if bless {
            std::fs::write(&golden, &got).expect("report written");
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_default();
        if got != want {
            wrong.push(format!(
                "--- {} ---\nexpected:\n{want}\ngot:\n{got}",
                golden.display()
            ));
        }
        assert_ne!(code, 0, "{name} is a mistake: it must not exit 0");
        assert!(
            !stderr.contains('\u{1b}'),
            "{name}: no colour with NO_COLOR"
        );
    }
    assert!(
        wrong.is_empty(),
        "{}\n\n{} report(s) differ; if the change is deliberate, rerun with XSH_BLESS=1 and read the diff",
        wrong.join("\n"),
        wrong.len()
    );
}

#[test]
fn every_report_points_into_its_script() {
    for case in cases() {
        let report = std::fs::read_to_string(case.with_extension("report")).unwrap_or_default();
        let name = case.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // An ariadne header names the script with a line and a column.
        assert!(
            report.contains(&format!("╭─[ tests/errors/{name}:")),
            "{name}: the report has a source position\n{report}"
        );
    }
}

#[test]
fn reports_are_plain_when_stderr_is_not_a_terminal() {
    // NO_COLOR unset, but stderr is a pipe here.
    let (code, _, stderr) = run("tests/errors/assert_eq_fails.rhai", false);
    assert_eq!(code, 1);
    assert!(!stderr.contains('\u{1b}'), "{stderr}");
}

#[test]
fn reports_are_coloured_when_asked() {
    let (_, r) = crate::util::run("let a = 1;\nassert_eq(a, 2);\n");
    let e = r.expect_err("fails");
    assert!(e.render(true).contains('\u{1b}'));
    assert!(!e.render(false).contains('\u{1b}'));
}
