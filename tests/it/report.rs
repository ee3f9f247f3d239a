//! `--report`: the page of a run holds the logs exactly as `--log-dir`
//! writes them, links each line to the call that wrote it and that call to
//! its step, marks the seed's milestones where the reference puts them,
//! fetches nothing, and stays small; `xsh test --report` writes a page per
//! failure and an index. The page's behaviour in a browser is
//! `report_page.rs`.

use std::path::Path;

use serde_json::Value;
use xsh_script::output::report::{self, RunInfo};

use crate::util::*;

/// The JSON block of a page.
pub fn page_data(html: &str) -> Value {
    let open = "<script type=\"application/json\" id=\"xsh-data\">";
    let start = html.find(open).expect("the data block") + open.len();
    let end = start + html[start..].find("</script>").expect("its end");
    serde_json::from_str(&html[start..end]).expect("the data is JSON")
}

/// The seed's run with a report asked for before it.
pub fn seed_report_host() -> xsh_script::Host {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(root.join("scripts/hvm_poweroff.rhai")).expect("seed");
    let host = xsh_script::Host::new(Default::default(), Default::default());
    report::prepare(host.sim());
    if let Err(e) = host.run("scripts/hvm_poweroff.rhai", &src) {
        panic!("{}", e.render(false));
    }
    host
}

fn info(title: &str) -> RunInfo {
    RunInfo {
        title: title.into(),
        script: title.into(),
        command: format!("xsh run {title}"),
        ..Default::default()
    }
}

/// The line of `log` equal to `text` (or ending in it): its index.
fn line_of(data: &Value, log: &str, text: &str) -> (usize, usize) {
    let logs = data["logs"].as_array().unwrap();
    let li = logs
        .iter()
        .position(|l| l["name"] == log)
        .unwrap_or_else(|| panic!("no log {log}"));
    let t = logs[li]["text"].as_str().unwrap();
    let n = t
        .lines()
        .position(|l| l.ends_with(text))
        .unwrap_or_else(|| panic!("no line {text:?} in {log}"));
    (li, n)
}

/// The call (as the page's record) that wrote line `n` of log `li`.
fn writer(data: &Value, li: usize, n: usize) -> Value {
    let origins = data["logs"][li]["origins"].as_array().unwrap();
    let k = origins.partition_point(|o| o[0].as_u64().unwrap() as usize <= n);
    assert!(k > 0, "line {n} has no origin");
    let id = origins[k - 1][1].as_i64().unwrap();
    data["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c[0].as_i64() == Some(id))
        .cloned()
        .unwrap_or_else(|| panic!("call {id} is not in the page"))
}

fn probe(data: &Value, call: &Value) -> String {
    data["probes"][call[4].as_u64().unwrap() as usize]
        .as_str()
        .unwrap()
        .to_string()
}

fn step_text(data: &Value, place: i64) -> String {
    data["steps"][place as usize][3]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn each_seed_line_links_to_the_call_and_step_that_wrote_it() {
    let host = seed_report_host();
    let html = report::render(&host, &info("scripts/hvm_poweroff.rhai")).expect("renders");
    let d = page_data(&html);
    // qemu-dm's `Issued domain 8 poweroff` is destroy_hvm_domain's, in the
    // step where Xen's ioreq event channel woke qemu-dm for the S5 write.
    let (li, n) = line_of(&d, "qemu-dm-ubuntu-kdump.log", "Issued domain 8 poweroff");
    let c = writer(&d, li, n);
    assert_eq!(probe(&d, &c), "qemu:destroy_hvm_domain");
    let qemu_step = c[7].as_i64().unwrap();
    assert_eq!(
        step_text(&d, qemu_step),
        "ioreq event channel: cpu_handle_ioreq"
    );
    // xend's `Domain has shutdown` is refreshShutdown's, run by the Watcher
    // on @releaseDomain after Xen's VIRQ_DOM_EXC (seed-path.md, step 22).
    let (li, n) = line_of(
        &d,
        "xend.log",
        "Domain has shutdown: name=ubuntu-kdump id=8 reason=poweroff.",
    );
    let c = writer(&d, li, n);
    assert_eq!(probe(&d, &c), "xend:XendDomainInfo.refreshShutdown");
    let xend_step = c[7].as_i64().unwrap();
    assert!(xend_step > qemu_step);
    assert_eq!(
        step_text(&d, xend_step),
        "@releaseDomain: XendDomain._on_domains_changed"
    );
    let before: Vec<String> = (qemu_step..xend_step).map(|s| step_text(&d, s)).collect();
    assert!(
        before.iter().any(|t| t == "VIRQ_DOM_EXC: domain_cleanup"),
        "xenstored heard VIRQ_DOM_EXC before: {before:?}"
    );
    // Its causal chain starts at the user's `xm shutdown`.
    let mut hop = c[6].as_i64().unwrap();
    let hops = d["hops"].as_array().unwrap();
    let mut whats = Vec::new();
    while hop >= 0 {
        let h = hops
            .iter()
            .find(|h| h[0].as_i64() == Some(hop))
            .expect("hop in page");
        whats.push(h[4].as_str().unwrap().to_string());
        hop = h[5].as_i64().unwrap();
    }
    whats.reverse();
    assert_eq!(whats.first().map(String::as_str), Some("thread start"));
    assert!(
        whats.iter().any(|w| w == "ioreq event channel"),
        "{whats:?}"
    );
    assert!(whats.iter().any(|w| w == "VIRQ_DOM_EXC"), "{whats:?}");
    assert_eq!(whats.last().map(String::as_str), Some("@releaseDomain"));
    // Every line from the first one written after the domain was built
    // has a writer. (While it is built, xend's waitForDevices thread logs
    // from outside any modelled function, and the guest's boot summary is
    // printed at once: those lines have none.)
    let place_of = |id: i64| -> i64 {
        let c = d["calls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c[0].as_i64() == Some(id));
        c.expect("writer in page")[7].as_i64().unwrap()
    };
    let mut checked = 0;
    for l in d["logs"].as_array().unwrap() {
        let text = l["text"].as_str().unwrap();
        let origins = l["origins"].as_array().unwrap();
        let mut built = false;
        for (n, line) in text.lines().enumerate() {
            let k = origins.partition_point(|o| o[0].as_u64().unwrap() as usize <= n);
            let id = (k > 0).then(|| origins[k - 1][1].as_i64().unwrap());
            built |= matches!(id, Some(i) if i >= 0 && place_of(i) >= 0);
            if built {
                checked += 1;
                assert!(
                    matches!(id, Some(i) if i >= 0),
                    "{}:{} has no writer: {line}",
                    l["name"],
                    n + 1
                );
            }
        }
    }
    assert!(checked > 100, "{checked} lines checked");
}

#[test]
fn the_seeds_milestones_are_the_reference_steps_in_order() {
    let host = seed_report_host();
    let d = page_data(&report::render(&host, &info("seed")).unwrap());
    let ms = d["milestones"].as_array().unwrap();
    assert_eq!(ms.len(), 1);
    assert_eq!(ms[0]["domid"], 8);
    let items = ms[0]["items"].as_array().unwrap();
    let by: Vec<(String, String)> = items
        .iter()
        .map(|m| {
            let id = m[2].as_i64().unwrap();
            let c = d["calls"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c[0].as_i64() == Some(id))
                .expect("milestone call in page")
                .clone();
            (m[0].as_str().unwrap().to_string(), probe(&d, &c))
        })
        .collect();
    let want = [
        ("request", "xm:shutdown"),
        ("guest acknowledges", "xs:write"),
        ("power-off write", "guest:outw"),
        ("domain shut down", "xen:__domain_finalise_shutdown"),
        ("destroyed", "xen:domain_kill"),
        ("devices released", "xend:XendDomainInfo._releaseDevices"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(by, want);
    let times: Vec<u64> = items.iter().map(|m| m[1].as_u64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    // The guest's shutdown takes between one and two virtual seconds
    // (seed-path.md): from its acknowledgement to its power-off write.
    let guest = times[2] - times[1];
    assert!((1_000_000_000..2_000_000_000).contains(&guest), "{guest}");
}

#[test]
fn without_pv_drivers_there_is_no_acknowledgement() {
    let src = scenario("2019-06-05 09:23:27", 2164, 8, "").replace(
        "guest: \"ubuntu-16.04\",",
        "guest: \"ubuntu-16.04\", pv_drivers: false,",
    );
    assert!(src.contains("pv_drivers: false"));
    let host = xsh_script::Host::new(Default::default(), Default::default());
    report::prepare(host.sim());
    if let Err(e) = host.run("t.rhai", &src) {
        panic!("{}", e.render(false));
    }
    let d = page_data(&report::render(&host, &info("t.rhai")).unwrap());
    let names: Vec<&str> = d["milestones"][0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m[0].as_str().unwrap())
        .collect();
    assert_eq!(names.first(), Some(&"request"));
    assert!(!names.contains(&"guest acknowledges"), "{names:?}");
    assert!(names.contains(&"destroyed"), "{names:?}");
}

#[test]
fn a_run_records_no_line_origins_unless_a_report_asks() {
    let h = ok(&scenario("2019-06-05 09:23:27", 2164, 8, ""));
    let logs = h.sim().logs.borrow();
    assert!(logs.xend.origins().is_none());
    assert!(logs.files.values().all(|s| s.origins().is_none()));
}

/// The page's logs against the files `--log-dir` wrote in the same run,
/// byte for byte, and no file left out.
fn logs_match_log_dir(script: &str) -> usize {
    let s = Scratch::new("report-logs", &[]);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join(script);
    let (code, _, err) = s.xsh(&[
        "run",
        script.to_str().unwrap(),
        "--log-dir",
        "logs",
        "--report",
        "run.html",
    ]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(s.path("run.html")).unwrap();
    let d = page_data(&html);
    let mut names: Vec<String> = Vec::new();
    for l in d["logs"].as_array().unwrap() {
        let name = l["name"].as_str().unwrap();
        let file = std::fs::read(s.path("logs").join(name)).unwrap();
        assert!(
            file == l["text"].as_str().unwrap().as_bytes(),
            "{name} differs from the --log-dir file"
        );
        names.push(name.to_string());
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(s.path("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    on_disk.sort();
    assert_eq!(names, on_disk);
    html.len()
}

#[test]
fn the_reports_logs_are_the_log_dir_files_byte_for_byte() {
    let size = logs_match_log_dir("scripts/hvm_poweroff.rhai");
    println!("the seed's report: {size} bytes");
    assert!(size < 1_000_000, "the seed's report is {size} bytes");
    // A reboot rotates qemu-dm's log: both files, each whole.
    logs_match_log_dir("scripts/reboot.rhai");
}

#[test]
fn the_page_loads_nothing_from_anywhere() {
    let host = seed_report_host();
    let html = report::render(&host, &info("seed")).unwrap();
    for needle in [
        "<link",
        "src=",
        "@import",
        "url(http",
        "fetch(",
        "XMLHttpRequest",
    ] {
        assert!(!html.contains(needle), "the page holds {needle:?}");
    }
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
}

#[test]
fn xsh_test_report_writes_a_page_per_failure_and_an_index() {
    let s = Scratch::new(
        "report-tests",
        &[(
            "t/some.rhai",
            "fn test_fine() { assert(true); }\n\
             fn test_broken() {\n\
                 let dom = xm.create(#{ name: \"w\", type: \"hvm\" });\n\
                 xm.shutdown(dom);\n\
                 sim.run();\n\
                 assert_eq(dom.state, \"running\", \"still up\");\n\
             }\n",
        )],
    );
    let (code, _, err) = s.xsh(&["test", "t", "--report", "out"]);
    assert_eq!(code, 1, "{err}");
    let index = std::fs::read_to_string(s.path("out/index.html")).unwrap();
    assert!(index.contains("1 passed, 1 failed"), "{index}");
    assert!(
        index.contains("href=\"t/some.rhai/test_broken.html\""),
        "{index}"
    );
    assert!(!index.contains("test_fine.html"));
    let page = std::fs::read_to_string(s.path("out/t/some.rhai/test_broken.html")).unwrap();
    let d = page_data(&page);
    assert!(d["meta"]["failure"].as_str().unwrap().contains("still up"));
    assert_eq!(d["meta"]["index"], "../../index.html");
    assert!(d["meta"]["command"]
        .as_str()
        .unwrap()
        .contains("--filter t/some.rhai::test_broken"));
    assert!(d["logs"][0]["text"]
        .as_str()
        .unwrap()
        .contains("Domain has shutdown"));
    assert!(!s.path("out/t/some.rhai/test_fine.html").exists());
}

#[test]
fn report_paths_are_checked_before_the_run() {
    let s = Scratch::new("report-dest", &[]);
    let (code, _, err) = s.xsh(&["run", "--report", "no/such/dir/r.html"]);
    assert_eq!(code, 2);
    assert!(err.contains("--report"), "{err}");
}

#[test]
fn a_failed_run_gets_its_page_with_the_error_choices_and_hooks() {
    let s = Scratch::new(
        "report-fail",
        &[(
            "bad.rhai",
            "let pv = sim.choose(\"pv\", [true, false]);\n\
             on(\"qemu:destroy_hvm_domain\", |ctx| ());\n\
             let dom = xm.create(#{ name: \"w\", type: \"hvm\", pv_drivers: pv });\n\
             xm.shutdown(dom);\n\
             sim.run();\n\
             throw \"stopped here\";\n",
        )],
    );
    let (code, _, err) = s.xsh(&["run", "bad.rhai", "--seed", "3", "--report", "r.html"]);
    assert_eq!(code, 1, "{err}");
    let html = std::fs::read_to_string(s.path("r.html")).unwrap();
    let d = page_data(&html);
    let m = &d["meta"];
    assert!(m["failure"].as_str().unwrap().contains("stopped here"));
    let pv = m["choices"][0][1].as_str().unwrap().to_string();
    assert_eq!(m["choices"][0][0], "pv");
    assert_eq!(
        m["command"],
        format!("xsh run bad.rhai --seed 3 --choose pv={pv}")
    );
    assert_eq!(
        m["hooks"][0],
        serde_json::json!(["on", "qemu:destroy_hvm_domain", null, ""])
    );
    // The settings are in the page's own HTML too, for readers without scripts.
    assert!(html.contains(&format!("xsh run bad.rhai --seed 3 --choose pv={pv}")));
    assert!(html.contains("qemu:destroy_hvm_domain"));
    assert!(d["logs"][0]["text"]
        .as_str()
        .unwrap()
        .contains("Domain has shutdown"));
}

#[test]
fn a_run_that_turns_the_trace_off_gets_no_page_and_says_why() {
    let s = Scratch::new(
        "report-notrace",
        &[(
            "t.rhai",
            "sim.tracing = false;\nxm.create(#{ name: \"w\" });\n",
        )],
    );
    let (code, _, err) = s.xsh(&["run", "t.rhai", "--report", "r.html"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--report") && err.contains("sim.tracing"),
        "{err}"
    );
    assert!(!s.path("r.html").exists());
}

/// A diagnosis as `xsh logs diagnose --json` writes it (schema
/// `xsh-diagnose/1`) of a "real" qemu-dm log that is the seed's own with
/// `Issued domain 8 poweroff` cut out: every other line produced by the
/// model at the same line, the cut one missing after the line before it.
/// (The page's input, made here: the diagnose command is not in this tree.)
pub fn seed_diagnosis() -> (serde_json::Value, Vec<report::diagnosis::RealLog>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = std::fs::read_to_string(root.join("scripts/hvm_poweroff.rhai")).unwrap();
    let host = seed_report_host();
    let model = file(&host, "qemu-dm-ubuntu-kdump.log");
    let cut = "Issued domain 8 poweroff";
    let model_lines: Vec<&str> = model.lines().collect();
    let gone = model_lines
        .iter()
        .position(|l| *l == cut)
        .expect("the line");
    let mut real = String::new();
    let mut lines = Vec::new();
    for (i, l) in model_lines.iter().enumerate().filter(|(i, _)| *i != gone) {
        real.push_str(l);
        real.push('\n');
        let n = real.lines().count();
        lines.push(serde_json::json!({
            "file": "qemu-dm-ubuntu-kdump.log", "line": n, "time": null, "text": l,
            "probe": null, "step": null, "state": null, "via": [],
            "model": {"file": "qemu-dm-ubuntu-kdump.log", "line": i + 1, "time": null},
            "label": "produced", "moved": false
        }));
    }
    let after = &lines[gone - 1];
    let diag = serde_json::json!({
        "schema": "xsh-diagnose/1",
        "files": ["qemu-dm-ubuntu-kdump.log"],
        "verdict": "diverges",
        "host": [],
        "domains": [{
            "name": "ubuntu-kdump", "uuid": null, "domids": [8], "toolstack": "xend",
            "build": "ovm-4.4.4", "type": "hvm", "devices": [], "settings": {},
            "verdict": "diverges", "not_modelled": null,
            "variant": {"choices": [], "runs": 1, "ties": [], "script": script},
            "story": [],
            "lines": lines,
            "first_divergence": {"kind": "missing", "text": format!("the model writes {cut:?} here")},
            "missing": [{
                "model": {"file": "qemu-dm-ubuntu-kdump.log", "line": gone + 1},
                "text": cut, "probe": "qemu:destroy_hvm_domain", "step": 19, "time": null,
                "after": {"file": "qemu-dm-ubuntu-kdump.log", "line": after["line"], "time": null, "text": after["text"]}
            }],
            "not_produced": [], "outside": 0, "gaps": [], "continues": []
        }]
    });
    let files = vec![report::diagnosis::RealLog {
        name: "qemu-dm-ubuntu-kdump.log".into(),
        text: real,
    }];
    (diag, files)
}

#[test]
fn a_diagnosis_page_marks_the_missing_line_where_the_model_wrote_it() {
    let (diag, files) = seed_diagnosis();
    let html = report::diagnosis::render(
        &diag,
        &files,
        "xsh logs diagnose qemu-dm-ubuntu-kdump.log",
        1,
    )
    .expect("renders");
    let d = page_data(&html);
    let g = &d["diagnosis"];
    let real = &g["real"][0];
    // The missing line sits after `shutdown requested in cpu_handle_ioreq`
    // (0-based line 14 of the real file) and is the first divergence.
    let ghosts = real["ghosts"].as_array().unwrap();
    assert_eq!(ghosts.len(), 1);
    assert_eq!(ghosts[0][0], 14);
    assert_eq!(ghosts[0][2], "Issued domain 8 poweroff");
    assert_eq!(
        real["text"].as_str().unwrap().lines().nth(14),
        Some("shutdown requested in cpu_handle_ioreq")
    );
    assert_eq!(g["first"], serde_json::json!([0, 14, 0]));
    // The model's run is the replayed variant's: its qemu-dm log has the line.
    let model = d["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "qemu-dm-ubuntu-kdump.log")
        .expect("the model's qemu-dm log");
    assert!(model["text"]
        .as_str()
        .unwrap()
        .contains("Issued domain 8 poweroff"));
    assert!(html.contains("First divergence (missing)"));
    // A document of another schema is refused, not drawn.
    let mut other = diag.clone();
    other["schema"] = "xsh-diagnose/2".into();
    assert!(report::diagnosis::render(&other, &files, "x", 1).is_err());
}

#[test]
fn an_xl_shutdown_has_the_same_milestones_through_libxl() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(root.join("scripts/xl_poweroff.rhai")).unwrap();
    let host = xsh_script::Host::new(Default::default(), Default::default());
    report::prepare(host.sim());
    if let Err(e) = host.run("scripts/xl_poweroff.rhai", &src) {
        panic!("{}", e.render(false));
    }
    let d = page_data(&report::render(&host, &info("xl")).unwrap());
    let items = d["milestones"][0]["items"].as_array().unwrap();
    let by: Vec<(&str, String)> = items
        .iter()
        .map(|m| {
            let id = m[2].as_i64().unwrap();
            let c = d["calls"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c[0].as_i64() == Some(id))
                .expect("milestone call in page");
            (m[0].as_str().unwrap(), probe(&d, c))
        })
        .collect();
    // libxl tears the devices down first and destroys the domain from
    // their callback (libxl__destroy_domid -> devices_destroy_cb ->
    // xc_domain_destroy), the other way round from xend.
    assert_eq!(
        by.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [
            "request",
            "guest acknowledges",
            "power-off write",
            "domain shut down",
            "devices released",
            "destroyed"
        ]
    );
    assert_eq!(by[0].1, "xl:main_shutdown");
    assert_eq!(by[4].1, "libxl:devices_destroy_cb");
    // xl's own log is a toolstack column of the page.
    assert!(d["logs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["name"] == "xl-ubuntu-kdump.log" && l["kind"] == "toolstack"));
}

/// `xsh logs diagnose FILE... --report`: the page of a real diagnosis (the
/// corpus's xend that stopped after the destroy), written by the command.
pub fn corpus_diagnosis_page(s: &Scratch) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let log = root.join("tests/diagnose/xend-restart/xend.log");
    let log = log.to_str().unwrap();
    let (plain, text, _) = s.xsh(&["logs", "diagnose", log]);
    let (code, out, err) = s.xsh(&["logs", "diagnose", log, "--report", "diag.html"]);
    // The page is written beside the story, not instead of it.
    assert_eq!((code, plain), (1, 1), "{err}");
    assert_eq!(out, text);
    std::fs::read_to_string(s.path("diag.html")).expect("the page is written")
}

#[test]
fn diagnose_report_writes_one_page_marking_the_first_divergence() {
    let s = Scratch::new("diag-report", &[]);
    let html = corpus_diagnosis_page(&s);
    // Self-contained: nothing loaded from anywhere.
    for needle in [
        "<link",
        "src=",
        "@import",
        "url(http",
        "fetch(",
        "XMLHttpRequest",
    ] {
        assert!(!html.contains(needle), "the page holds {needle:?}");
    }
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    let d = page_data(&html);
    let g = &d["diagnosis"];
    assert_eq!(g["verdict"], "diverges");
    let real = &g["real"][0];
    let text = real["text"].as_str().unwrap();
    // Every line of the real file, as it was read.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let on_disk =
        std::fs::read_to_string(root.join("tests/diagnose/xend-restart/xend.log")).unwrap();
    assert_eq!(text, on_disk);
    // The first divergence: after the destroy (0-based line 33), the
    // model's `Destroying device model` (step 25), the first of the
    // cleanup the log lacks.
    let destroy = text
        .lines()
        .position(|l| l.ends_with("XendDomainInfo.destroy: domid=23"))
        .unwrap();
    assert_eq!(g["first"], serde_json::json!([0, destroy, 0]));
    let ghosts = real["ghosts"].as_array().unwrap();
    assert_eq!(ghosts[0][0], destroy);
    assert_eq!(ghosts[0][2], "Destroying device model");
    assert_eq!(ghosts[0][4], 25);
    let missing: Vec<&str> = ghosts.iter().filter_map(|g| g[2].as_str()).collect();
    assert!(missing.contains(&"Releasing devices"), "{missing:?}");
    // The lines before it are the model's own, each marked produced.
    let marks = real["marks"].as_array().unwrap();
    assert_eq!(marks.len(), destroy + 1);
    assert!(marks.iter().all(|m| m[1] == "matched"), "{marks:?}");
    // The replayed variant wrote the lines the real log lacks.
    let model = d["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "xend.log")
        .expect("the model's xend.log");
    assert!(model["text"]
        .as_str()
        .unwrap()
        .contains("Destroying device model"));
    assert!(html.contains("First divergence (missing)"));
    assert!(d["meta"]["command"]
        .as_str()
        .unwrap()
        .starts_with("xsh logs diagnose "));
}

#[test]
fn diagnose_report_paths_are_checked_before_the_replays() {
    let s = Scratch::new("diag-report-dest", &[("x.log", "")]);
    let (code, _, err) = s.xsh(&["logs", "diagnose", "x.log", "--report", "no/dir/d.html"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--report") && err.contains("no folder"),
        "{err}"
    );
}
