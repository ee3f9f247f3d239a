//! What a run leaves behind, at its edges: outputs refused when the trace
//! is off or their folder is missing (before the run), a reused
//! `--log-dir` that ends as a fresh one does, `xsh test --log-dir` with two
//! files of one name, and a stdout that cannot be written.

use std::path::Path;

use crate::util::Scratch;

const TRACE_OFF: &str = r#"sim.tracing = false;
let d = xm.create(#{ name: "a", devices: ["vif/0"] });
xm.shutdown(d);
sim.run();
"#;

#[test]
fn writers_refuse_when_the_trace_is_off() {
    let s = Scratch::new(
        "off",
        &[
            ("off.rhai", TRACE_OFF),
            (
                "write.rhai",
                "sim.tracing = false;\nsim.write_timeline(\"z.json\");\n",
            ),
        ],
    );
    // From a script: an error at the call, and no file.
    let (code, _, err) = s.xsh(&["run", "write.rhai"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("write.rhai:2:"), "{err}");
    assert!(err.contains("the trace is off"), "{err}");
    assert!(!s.0.join("z.json").exists());
    // From the command line: an error, exit 2, no files.
    for (flag, file) in [
        ("--trace", "t.jsonl"),
        ("--timeline", "t.json"),
        ("--sequence", "t.svg"),
    ] {
        let (code, _, err) = s.xsh(&["run", "off.rhai", flag, file]);
        assert_eq!(code, 2, "{flag}: {err}");
        assert!(
            err.contains(&format!("error: {file}: the trace is off")),
            "{err}"
        );
        assert!(!s.0.join(file).exists(), "{file} not written");
    }
}

#[test]
fn an_output_in_a_missing_folder_is_refused_before_the_run() {
    let s = Scratch::new("missing", &[("p.rhai", "print(\"ran\");\n")]);
    for flag in ["--trace", "--timeline", "--sequence"] {
        let (code, out, err) = s.xsh(&["run", "p.rhai", flag, "missing/t.svg"]);
        assert_eq!(code, 2, "{flag}");
        assert!(out.is_empty(), "the script did not run: {out}");
        assert!(
            err.contains(&format!(
                "error: {flag} missing/t.svg: cannot write there: no folder missing"
            )),
            "{err}"
        );
    }
}

/// Every file of a folder, by name, with its bytes.
fn contents(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("the log dir")
        .map(|e| {
            let p = e.expect("an entry").path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read_to_string(&p).unwrap_or_default())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_reused_log_dir_ends_as_a_fresh_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("scripts/reboot.rhai").display().to_string();
    let s = Scratch::new("reuse", &[]);
    let mut runs = Vec::new();
    for _ in 0..3 {
        let (code, _, err) = s.xsh(&["run", &script, "--log-dir", "L"]);
        assert_eq!(code, 0, "{err}");
        runs.push(contents(&s.0.join("L")));
    }
    assert!(
        runs[0].iter().any(|(n, _)| n == "qemu-dm-web.log.1"),
        "the reboot rotates qemu-dm's log: {:?}",
        runs[0].iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    assert_eq!(runs[1], runs[0]);
    assert_eq!(runs[2], runs[0]);
}

const SAME: &str = r#"fn test_a() {
    let d = xm.create(#{ name: "NAME", devices: ["vif/0"] });
    xm.shutdown(d);
    sim.run();
}
"#;

#[test]
fn test_files_of_one_name_keep_their_logs_apart() {
    let s = Scratch::new(
        "same",
        &[
            ("d1/same.rhai", &SAME.replace("NAME", "first")),
            ("d2/same.rhai", &SAME.replace("NAME", "second")),
        ],
    );
    let (code, out, err) = s.xsh(&["test", "d1/same.rhai", "d2/same.rhai", "--log-dir", "ld"]);
    assert_eq!(code, 0, "{out}{err}");
    for (dir, name) in [("d1", "first"), ("d2", "second")] {
        let base = s.0.join(format!("ld/{dir}/same.rhai/test_a"));
        let xend = std::fs::read_to_string(base.join("xend.log")).expect("xend.log");
        assert!(xend.contains(&format!("name={name} ")), "{dir}: {xend}");
        assert!(base.join(format!("qemu-dm-{name}.log")).exists(), "{dir}");
    }
}

/// `/dev/full` as stdout: every write fails with "No space left on device".
#[cfg(target_os = "linux")]
fn to_dev_full(dir: &Path, args: &[&str]) -> Option<(i32, String)> {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .ok()?;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xsh"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(full)
        .output()
        .expect("xsh runs");
    Some((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_stdout_is_an_error_not_a_panic() {
    let s = Scratch::new(
        "full",
        &[
            ("p.rhai", "print(\"hello\");\n"),
            ("c.rhai", "sim.choose(\"a\", [1, 2]);\n"),
            ("t.rhai", "fn test_a() { assert(true); }\n"),
            (
                "x.log",
                "[2019-06-05 09:23:27 2164] INFO (XendDomain:1234) hello\n",
            ),
        ],
    );
    for args in [
        &["run", "p.rhai"][..],
        &["run"][..],
        &["explore", "c.rhai"][..],
        &["test", "t.rhai"][..],
        // Commands printing with println!: a central handler, not a panic.
        &["probes"][..],
        &["definitions", "--markdown"][..],
        &["logs", "stats", "x.log"][..],
        &["logs", "diff", "x.log", "x.log"][..],
    ] {
        let Some((code, err)) = to_dev_full(&s.0, args) else {
            return; // no /dev/full here
        };
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("cannot write to stdout"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// A piped REPL session whose output cannot be written says so and exits
/// 2, whether the text was a value it echoed or the script's own `print`.
#[cfg(target_os = "linux")]
#[test]
fn a_repl_with_a_full_stdout_says_so() {
    for input in ["1 + 1\n", "print(1);\n"] {
        let s = Scratch::new("full-repl", &[("in.txt", input)]);
        let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
            return; // no /dev/full here
        };
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_xsh"))
            .arg("repl")
            .env("NO_COLOR", "1")
            .stdin(std::fs::File::open(s.path("in.txt")).expect("input"))
            .stdout(full)
            .output()
            .expect("xsh runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{input}: {err}");
        assert!(err.contains("cannot write to stdout"), "{input}: {err}");
        assert!(!err.contains("panicked"), "{input}: {err}");
    }
}
