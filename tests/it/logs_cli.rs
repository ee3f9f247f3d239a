//! `xsh logs`: exit codes (0 clean, 1 damage or a difference, 2 usage or
//! I/O), JSON lines, ariadne reports on stderr.

use crate::logs::{inputs, root};

fn xsh(args: &[&str]) -> (i32, String, String) {
    crate::util::xsh_in(Some(&root()), args)
}

fn input(name: &str) -> String {
    inputs().join(name).display().to_string()
}

#[test]
fn parse_json_gives_one_object_per_line_with_every_field() {
    let (code, out, err) = xsh(&["logs", "parse", "--json", &input("xend-multiline.log")]);
    assert_eq!(code, 0, "{err}");
    let objs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON object per line"))
        .collect();
    assert_eq!(objs.len(), 24);
    for key in [
        "format",
        "file",
        "line",
        "time",
        "pid",
        "level",
        "module",
        "lineno",
        "message",
        "continuation",
        "damage",
    ] {
        assert!(objs.iter().all(|o| o.get(key).is_some()), "{key}");
    }
    assert_eq!(objs[0]["format"], "xend");
    assert_eq!(objs[0]["time"], "2019-06-06 10:12:27");
    assert_eq!(objs[0]["pid"], 25301);
    assert_eq!(objs[2]["continuation"], true);
    assert_eq!(
        objs[2]["lineno"], 1350,
        "a continuation line carries its record's fields"
    );
}

#[test]
fn parse_reports_damage_with_its_position_and_exits_1() {
    let (code, out, err) = xsh(&["logs", "parse", &input("damage-glued.log")]);
    assert_eq!(code, 1);
    assert_eq!(out.lines().count(), 8, "every record is still printed");
    assert!(
        err.contains("[glued] Warning: two records on one line (split) at bytes 89..109"),
        "{err}"
    );
    assert!(
        err.contains("damage-glued.log:1:90"),
        "byte column 90 of line 1: {err}"
    );
}

#[test]
fn stats_counts_records_by_format_level_and_module() {
    let (code, out, err) = xsh(&[
        "logs",
        "stats",
        &input("xend-standard.log"),
        &input("console-ubuntu.log"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("xend: 10 records, 4 continuation lines"),
        "{out}"
    );
    assert!(
        out.contains("DEBUG 3, INFO 4, WARNING 1, ERROR 1, CRITICAL 1"),
        "{out}"
    );
    assert!(out.contains("linux-console:"), "{out}");
    assert!(out.contains("MB/s"), "{out}");
    let (code, out, _) = xsh(&["logs", "stats", "--json", &input("journal.log")]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!(v["records"], 7, "five lines and the two markers");
    assert!(v["peak_rss_kib"].as_u64().is_some());
}

#[test]
fn explain_diff_and_check_on_the_seed() {
    let golden = root()
        .join("../shared/seed/xend-poweroff.log")
        .display()
        .to_string();
    let (code, out, _) = xsh(&["logs", "explain", &golden]);
    assert_eq!(code, 0);
    assert!(out.contains("line numbers: ovm-4.4.4"), "{out}");
    assert!(out.contains("31 lines mapped to a probe"), "{out}");
    // Labelled from the model's run: the destroy carries out on_poweroff.
    assert!(out.contains("on_poweroff = destroy"), "{out}");
    // `check` of an excerpt of it: tests/it/diagnose.rs.
    let (code, out, _) = xsh(&["logs", "check", "scripts/hvm_poweroff.rhai", &golden]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("holds:"), "{out}");
    let (code, out, _) = xsh(&["logs", "diff", &golden, &input("xend-standard.log")]);
    assert_eq!(code, 1);
    assert!(out.contains("missing from B"), "{out}");
    let (code, _, _) = xsh(&["logs", "diff", &golden, &golden]);
    assert_eq!(code, 0);
    let (code, out, _) = xsh(&[
        "logs",
        "diff",
        "--json",
        &golden,
        &input("xend-standard.log"),
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert!(v["approximate"].is_null());
    assert!(v["missing"].as_u64().is_some_and(|n| n > 0));
    assert_eq!(v["a"]["file"], golden.as_str());
}

#[test]
fn unreadable_files_and_unknown_formats_are_usage_errors() {
    let (code, _, err) = xsh(&["logs", "parse", "/nonexistent/xend.log"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read /nonexistent/xend.log"), "{err}");
    let (code, _, err) = xsh(&[
        "logs",
        "parse",
        "--format",
        "syslog-ng",
        &input("journal.log"),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown format"), "{err}");
}

#[test]
fn stats_reads_a_pipe_as_the_file_itself() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let path = input("xend-standard.log");
    let text = std::fs::read(&path).expect("fixture");
    let (_, from_file, _) = xsh(&["logs", "stats", "--json", "--threads", "1", &path]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_xsh"))
        .args(["logs", "stats", "--json", "/dev/stdin"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xsh runs");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(&text).expect("write");
    drop(stdin);
    let out = child.wait_with_output().expect("xsh ends");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let piped: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let file: serde_json::Value = serde_json::from_str(from_file.trim()).expect("JSON");
    for k in ["records", "bytes", "lines"] {
        assert_eq!(piped[k], file[k], "{k}");
    }
    assert_eq!(piped["bytes"], text.len() as u64);
}

#[test]
fn every_subcommand_names_a_directory_it_cannot_read() {
    let dir = inputs().display().to_string();
    for args in [
        vec!["logs", "parse", &dir],
        vec!["logs", "parse", "--records", &dir],
        vec!["logs", "stats", &dir],
        vec!["logs", "explain", &dir],
        vec!["logs", "tokens", &dir],
        vec!["logs", "diff", &dir, &dir],
    ] {
        let (code, _, err) = xsh(&args);
        assert_eq!(code, 2, "{args:?}");
        assert!(
            err.contains(&format!("cannot read {dir}")),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_huge_line_gets_a_short_report_and_explain_counts_it_as_damage() {
    let p = std::env::temp_dir().join(format!("xsh-logs-overlong-{}.log", std::process::id()));
    let mut text = b"[2019-06-05 09:23:27 2164] DEBUG (XendDomainInfo:568) ".to_vec();
    text.resize(20 << 20, b'x');
    text.extend_from_slice(b"\n[2019-06-05 09:23:28 2164] DEBUG (XendDomainInfo:569) after\n");
    std::fs::write(&p, &text).expect("write");
    let path = p.display().to_string();
    let (code, out, err) = xsh(&["logs", "parse", &path]);
    assert_eq!(code, 1);
    assert!(out.len() > 20 << 20, "the line itself is still printed");
    // Two pieces, two reports of a few hundred bytes each, not 2 × 16 MiB.
    assert!(err.len() < 8 << 10, "{} bytes of reports", err.len());
    assert!(
        err.contains(
            "[overlong] Warning: line too long to keep (cut into pieces) at bytes 0..16777216"
        ),
        "{}",
        &err[..err.len().min(2000)]
    );
    assert!(err.contains("showing bytes 0..200 of the file only"));
    let (code, _, _) = xsh(&["logs", "explain", &path]);
    assert_eq!(code, 1, "explain exits 1 on damage, as parse does");
    let _ = std::fs::remove_file(&p);
}

#[test]
fn a_byte_order_mark_in_front_of_a_log_is_not_damage() {
    let orig = input("xend-standard.log");
    let text = std::fs::read(&orig).expect("fixture");
    let p = std::env::temp_dir().join(format!("xsh-logs-bom-{}.log", std::process::id()));
    std::fs::write(&p, [b"\xEF\xBB\xBF".as_slice(), &text].concat()).expect("write");
    let bom = p.display().to_string();
    let (code, out, err) = xsh(&["logs", "parse", &bom]);
    let (code0, out0, _) = xsh(&["logs", "parse", &orig]);
    assert_eq!(code, code0, "{err}");
    assert!(!err.contains("glued"), "{err}");
    assert_eq!(
        out.lines().count(),
        out0.lines().count(),
        "no phantom record"
    );
    let first = out.lines().next().unwrap_or_default();
    assert!(first.contains(" xend record "), "{first}");
    let (code, out, err) = xsh(&["logs", "explain", &bom]);
    let (code0, out0, _) = xsh(&["logs", "explain", &orig]);
    assert_eq!(code, code0, "{err}");
    assert_eq!(out.lines().count(), out0.lines().count());
    for threads in ["1", "2"] {
        let (_, out, _) = xsh(&["logs", "stats", "--json", "--threads", threads, &bom]);
        let (_, out0, _) = xsh(&["logs", "stats", "--json", "--threads", threads, &orig]);
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
        let v0: serde_json::Value = serde_json::from_str(out0.trim()).expect("JSON");
        assert_eq!(v["records"], v0["records"]);
        assert_eq!(v["damaged_lines"], v0["damaged_lines"]);
    }
    let _ = std::fs::remove_file(&p);
}

#[test]
fn explain_and_tokens_stream_the_same_output_as_the_whole_log_in_memory() {
    for name in [
        "xend-multiline.log",
        "damage-glued.log",
        "console-ubuntu.log",
    ] {
        let path = input(name);
        let text = std::fs::read(&path).expect("fixture");
        let records = xsh_log::records_of(&text, &path, None);
        let mut ex = xsh_log::explain::explain(&records);
        ex.file = path.clone();
        let (_, out, _) = xsh(&["logs", "explain", "--patterns", &path]);
        assert_eq!(out, xsh_log::explain::render(&ex), "{name}");
        let (_, out, _) = xsh(&["logs", "explain", "--patterns", "--json", &path]);
        assert_eq!(out, xsh_log::explain::render_json(&ex), "{name}");
        let (_, out, _) = xsh(&["logs", "tokens", &path]);
        assert_eq!(out, xsh_log::snapshot::tokens_of(&text), "{name}");
        let (_, out, _) = xsh(&["logs", "parse", "--records", "--json", &path]);
        assert_eq!(out.lines().count(), records.len(), "{name}");
    }
}
