//! `xsh logs timeline` on one host's logs (`tests/logs/host-hvm/`), the
//! filters, and `-` for standard input.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::logs::root;

fn host() -> std::path::PathBuf {
    root().join("tests/logs/host-hvm")
}

fn xsh(args: &[&str]) -> (i32, String, String) {
    crate::util::xsh_in(Some(&host()), args)
}

const FILES: [&str; 5] = [
    "xend.log",
    "qemu-dm-ubuntu-kdump.log",
    "xen.log",
    "console-ubuntu-kdump.log",
    "messages",
];

#[test]
fn undated_logs_are_left_out_and_named_until_anchored() {
    let (code, out, err) = xsh(&[&["logs", "timeline"][..], &FILES].concat());
    assert_eq!(code, 1, "{out}{err}");
    for f in [
        "qemu-dm-ubuntu-kdump.log",
        "xen.log",
        "console-ubuntu-kdump.log",
    ] {
        assert!(
            err.contains(&format!("{f}: ")) && err.contains("--anchor"),
            "{f}: {err}"
        );
    }
    // Syslog's year-less stamps take the year of the dated xend.log.
    assert!(
        out.contains("messages (journal): 2 of 2 records placed; syslog stamps in 2019, the year of file [1]'s first dated record"),
        "{out}"
    );
    assert!(!out.contains("Powering off"), "{out}");
}

#[test]
fn anchored_logs_merge_in_time_order() {
    let args = [
        &["logs", "timeline"][..],
        &FILES,
        &[
            "--anchor",
            "xen.log=2019-06-05T09:17:48",
            "--anchor",
            "console-ubuntu-kdump.log=2019-06-05T08:26:21",
            "--anchor",
            "qemu-dm-ubuntu-kdump.log=2019-06-05T09:23:27.5",
        ],
    ]
    .concat();
    let (code, out, err) = xsh(&args);
    assert_eq!(code, 0, "{out}{err}");
    let order: Vec<&str> = out.lines().skip(6).collect();
    let at = |needle: &str| {
        order
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle}: {out}"))
    };
    // The guest powers off (uptime 3426.1 after its boot at 08:26:21),
    // qemu-dm sees the ACPI write, xend the shutdown, Xen's console says
    // so at uptime 340.1 after its own boot.
    assert!(at("reboot: Power down") < at("shutdown requested in cpu_handle_ioreq"));
    assert!(at("shutdown requested") < at("Domain has shutdown"));
    assert!(at("Domain has shutdown") < at("All CPUs offline"));
    assert!(at("All CPUs offline") < at("vif-bridge: offline"));
    let power = order[at("reboot: Power down")];
    assert!(
        power.starts_with("2019-06-05T09:23:27.101  [4] console-ubuntu-kdump.log:2"),
        "{power}"
    );
    // Xen's banner has no stamp: it takes the time of the record after it.
    let banner = order[at("Xen version")];
    assert!(
        banner.starts_with("2019-06-05T09:23:28.118~ [3] xen.log:1"),
        "{banner}"
    );

    // The same as trace events: one track per file, one instant per record.
    let (code, json, _) = xsh(&[&args[..], &["--json"]].concat());
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let ev = v["traceEvents"].as_array().expect("events");
    let threads: Vec<&str> = ev
        .iter()
        .filter(|e| e["name"] == "thread_name")
        .filter_map(|e| e["args"]["name"].as_str())
        .collect();
    assert_eq!(threads, FILES);
    let instants: Vec<&serde_json::Value> = ev.iter().filter(|e| e["ph"] == "i").collect();
    assert_eq!(instants.len(), order.len());
    let ts: Vec<f64> = instants.iter().filter_map(|e| e["ts"].as_f64()).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{ts:?}");
    assert_eq!(ts[0], 0.0);

    // Only domain 8, from warnings up: none at that level here; then
    // domain 8 alone, qemu-dm's lines included (its log names it once).
    let (_, d8, _) = xsh(&[&args[..], &["--domain", "8"]].concat());
    assert!(
        d8.contains("shutdown requested in cpu_handle_ioreq"),
        "{d8}"
    );
    assert!(!d8.contains("grant_table.c:289:d0"), "{d8}");
    assert!(
        !d8.contains("Powering off"),
        "the guest's console names no domid: {d8}"
    );
}

#[test]
fn parse_filters_records_whole() {
    let (code, out, err) = xsh(&[
        "logs",
        "parse",
        "--records",
        "--domain",
        "8",
        "--since",
        "2019-06-05T09:23:28",
        "xend.log",
    ]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].contains("Domain has shutdown"));
    let (_, out, _) = xsh(&["logs", "parse", "--level", "info", "xend.log"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    let (code, _, err) = xsh(&["logs", "parse", "--since", "noon", "xend.log"]);
    assert_eq!(code, 2);
    assert!(err.contains("--since \"noon\""), "{err}");
}

#[test]
fn records_carry_iso_time_domid_and_every_header_field() {
    let (_, out, _) = xsh(&[
        "logs",
        "parse",
        "--records",
        "--json",
        "xend.log",
        "messages",
        "xen.log",
    ]);
    let objs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(objs[2]["ts"], "2019-06-05T09:23:28");
    assert_eq!(objs[2]["domid"], 8);
    let syslog = &objs[5];
    assert_eq!(syslog["host"], "ovs01");
    assert_eq!(
        syslog["ts"],
        serde_json::Value::Null,
        "a syslog stamp has no year"
    );
    let xen = objs
        .iter()
        .find(|o| {
            o["message"]
                .as_str()
                .is_some_and(|m| m.contains("All CPUs"))
        })
        .expect("xen");
    assert_eq!(xen["uptime"], 340.118231);
    assert_eq!(xen["domid"], 8);
}

#[test]
fn a_dash_reads_standard_input() {
    let text = std::fs::read(host().join("xend.log")).expect("fixture");
    let run = |args: &[&str]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_xsh"))
            .args(args)
            .current_dir(host())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("xsh runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(&text)
            .expect("write");
        let out = child.wait_with_output().expect("xsh ends");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, out) = run(&["logs", "parse", "-"]);
    assert_eq!(code, Some(0));
    assert!(
        out.starts_with("<stdin>:1 xend record DEBUG XendDomainInfo:568"),
        "{out}"
    );
    let (code, out) = run(&["logs", "stats", "-"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("xend: 5 records"), "{out}");
    // diff reads standard input twice: it is kept in a temporary file.
    let (code, out) = run(&["logs", "diff", "xend.log", "-"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("5 in order, 0 missing"), "{out}");
}
