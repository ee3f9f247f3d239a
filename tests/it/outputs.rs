//! `--trace`, `--timeline` and `--sequence` of the seed's run: the trace's
//! ids all resolve, the timeline passes a validator of Chrome's
//! trace-event format, and the sequence diagram in docs/ is well-formed
//! XML that xsh regenerates byte for byte.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;
use xsh_script::output::{render, Kind};

use crate::util::*;

const SEED_SCRIPT: &str = "scripts/hvm_poweroff.rhai";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The seed's run, traced.
fn seed_host() -> xsh_script::Host {
    let src = std::fs::read_to_string(root().join(SEED_SCRIPT)).expect("seed script");
    let (h, r) = run(&src);
    if let Err(e) = r {
        panic!("{}", e.render(false));
    }
    h
}

fn out(h: &xsh_script::Host, kind: Kind, file: &str) -> String {
    render(h.sim(), SEED_SCRIPT, kind, Path::new(file)).expect("renders")
}

// ---- a validator of the trace-event format (the parts xsh uses) ----

fn num(e: &Value, k: &str) -> Result<f64, String> {
    e[k].as_f64()
        .filter(|x| x.is_finite())
        .ok_or_else(|| format!("{k} is not a finite number in {e}"))
}

/// One end of a flow: (phase, pid, tid, ts in ns, name, cat).
type FlowEnd = (String, i64, i64, i64, String, String);

/// Microseconds as integer nanoseconds.
fn ns(us: f64) -> i64 {
    (us * 1000.0).round() as i64
}

fn int(e: &Value, k: &str) -> Result<i64, String> {
    e[k].as_i64()
        .ok_or_else(|| format!("{k} is not an integer in {e}"))
}

fn text<'a>(e: &'a Value, k: &str) -> Result<&'a str, String> {
    e[k].as_str()
        .ok_or_else(|| format!("{k} is not a string in {e}"))
}

/// Checks a trace-event JSON document: the keys each phase needs, numeric
/// times, metadata naming every process and thread used, slices properly
/// nested on each thread, and every flow an `s` and an `f` with one id,
/// each inside a slice of its thread (where the viewer binds it), `f` not
/// before `s`. Returns (slices, flows) counted.
pub fn validate_trace_events(doc: &str) -> Result<(usize, usize), String> {
    let v: Value = serde_json::from_str(doc).map_err(|e| format!("not JSON: {e}"))?;
    let events = v["traceEvents"]
        .as_array()
        .ok_or("no traceEvents array at the top level")?;
    if let Some(u) = v.get("displayTimeUnit") {
        if u != "ms" && u != "ns" {
            return Err(format!("displayTimeUnit must be \"ms\" or \"ns\", not {u}"));
        }
    }
    let mut process_names: BTreeSet<i64> = BTreeSet::new();
    let mut thread_names: BTreeSet<(i64, i64)> = BTreeSet::new();
    let mut used: BTreeSet<(i64, i64)> = BTreeSet::new();
    let mut slices: BTreeMap<(i64, i64), Vec<(i64, i64)>> = BTreeMap::new();
    let mut flows: BTreeMap<String, Vec<FlowEnd>> = BTreeMap::new();
    for e in events {
        let ph = text(e, "ph")?;
        match ph {
            "M" => {
                let pid = int(e, "pid")?;
                match text(e, "name")? {
                    "process_name" => {
                        text(&e["args"], "name")?;
                        process_names.insert(pid);
                    }
                    "thread_name" => {
                        text(&e["args"], "name")?;
                        thread_names.insert((pid, int(e, "tid")?));
                    }
                    "process_sort_index" => {
                        int(&e["args"], "sort_index")?;
                    }
                    "thread_sort_index" => {
                        int(e, "tid")?;
                        int(&e["args"], "sort_index")?;
                    }
                    other => return Err(format!("unknown metadata event {other:?}")),
                }
            }
            "X" => {
                text(e, "name")?;
                let (pid, tid) = (int(e, "pid")?, int(e, "tid")?);
                let (ts, dur) = (num(e, "ts")?, num(e, "dur")?);
                if ts < 0.0 || dur < 0.0 {
                    return Err(format!("negative ts or dur in {e}"));
                }
                // Viewers turn microseconds into integer nanoseconds.
                let (ts, dur) = (ns(ts), ns(dur));
                if !e["args"].is_null() && !e["args"].is_object() {
                    return Err(format!("args is not an object in {e}"));
                }
                used.insert((pid, tid));
                slices.entry((pid, tid)).or_default().push((ts, ts + dur));
            }
            "s" | "f" => {
                let id = match &e["id"] {
                    Value::Number(n) => n.to_string(),
                    Value::String(s) => s.clone(),
                    other => return Err(format!("flow id {other} is neither number nor string")),
                };
                if ph == "f" {
                    if let Some(bp) = e.get("bp") {
                        if bp != "e" {
                            return Err(format!("a flow end's bp must be \"e\", not {bp}"));
                        }
                    }
                }
                let (pid, tid) = (int(e, "pid")?, int(e, "tid")?);
                used.insert((pid, tid));
                flows.entry(id).or_default().push((
                    ph.to_string(),
                    pid,
                    tid,
                    ns(num(e, "ts")?),
                    text(e, "name")?.to_string(),
                    text(e, "cat")?.to_string(),
                ));
            }
            "i" => {
                // An instant: a milestone or a fold, across the view (`g`)
                // or on its thread (`t`).
                text(e, "name")?;
                num(e, "ts")?;
                let scope = text(e, "s")?;
                if !matches!(scope, "g" | "p" | "t") {
                    return Err(format!("instant scope {scope:?} is not g, p or t"));
                }
                if scope == "t" {
                    used.insert((int(e, "pid")?, int(e, "tid")?));
                }
            }
            other => return Err(format!("phase {other:?} is not one xsh writes")),
        }
    }
    for (pid, tid) in &used {
        if !process_names.contains(pid) {
            return Err(format!("process {pid} has no process_name"));
        }
        if !thread_names.contains(&(*pid, *tid)) {
            return Err(format!("thread {pid}/{tid} has no thread_name"));
        }
    }
    for ((pid, tid), list) in &mut slices {
        list.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut stack: Vec<(i64, i64)> = Vec::new();
        for &(b, e) in list.iter() {
            while stack
                .last()
                .is_some_and(|&(_, top_end)| b >= top_end && !(b == top_end && e == b))
            {
                stack.pop();
            }
            if let Some(&(tb, te)) = stack.last() {
                if e > te {
                    return Err(format!(
                        "slices overlap on thread {pid}/{tid}: [{tb}, {te}] and [{b}, {e}]"
                    ));
                }
            }
            stack.push((b, e));
        }
    }
    let inside = |pid: i64, tid: i64, ts: i64| {
        slices
            .get(&(pid, tid))
            .is_some_and(|l| l.iter().any(|&(b, e)| b <= ts && ts <= e))
    };
    for (id, ends) in &flows {
        let s: Vec<_> = ends.iter().filter(|x| x.0 == "s").collect();
        let f: Vec<_> = ends.iter().filter(|x| x.0 == "f").collect();
        if s.len() != 1 || f.len() != 1 {
            return Err(format!(
                "flow {id} has {} start(s) and {} end(s), not one of each",
                s.len(),
                f.len()
            ));
        }
        let (s, f) = (s[0], f[0]);
        if (&s.4, &s.5) != (&f.4, &f.5) {
            return Err(format!("flow {id}: start and end differ in name or cat"));
        }
        if f.3 < s.3 {
            return Err(format!("flow {id} ends before it starts"));
        }
        if !inside(s.1, s.2, s.3) || !inside(f.1, f.2, f.3) {
            return Err(format!("flow {id} is not inside a slice at both ends"));
        }
    }
    Ok((slices.values().map(Vec::len).sum(), flows.len()))
}

#[test]
fn the_timeline_is_valid_trace_event_json_with_a_track_per_layer() {
    let h = seed_host();
    let doc = out(&h, Kind::Timeline, "t.json");
    let (slices, flows) = validate_trace_events(&doc).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        slices,
        h.sim().trace.borrow().calls.len(),
        "a slice per call"
    );
    assert!(flows > 20, "causal hops become flows: {flows}");
    let v: Value = serde_json::from_str(&doc).unwrap();
    let processes: BTreeSet<&str> = v["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "process_name")
        .filter_map(|e| e["args"]["name"].as_str())
        .collect();
    for layer in [
        "xm",
        "xend",
        "xenstored",
        "guest",
        "qemu-dm",
        "Xen",
        "dom0 kernel",
    ] {
        assert!(
            processes.contains(layer),
            "{layer} has its own process: {processes:?}"
        );
    }
}

#[test]
fn the_validator_rejects_what_a_viewer_would_misdraw() {
    let h = seed_host();
    let doc = out(&h, Kind::Timeline, "t.json");
    let mut v: Value = serde_json::from_str(&doc).unwrap();
    let events = v["traceEvents"].as_array().unwrap().clone();
    let with = |evs: Vec<Value>| {
        let mut d = v.clone();
        d["traceEvents"] = Value::Array(evs);
        validate_trace_events(&d.to_string())
    };
    // A thread without its name.
    let no_names: Vec<Value> = events
        .iter()
        .filter(|e| e["name"] != "thread_name")
        .cloned()
        .collect();
    assert!(with(no_names).unwrap_err().contains("thread_name"));
    // A flow that never ends.
    let no_f: Vec<Value> = events.iter().filter(|e| e["ph"] != "f").cloned().collect();
    assert!(with(no_f).unwrap_err().contains("end(s)"));
    // A slice sticking out of its parent.
    let mut grown = events.clone();
    let i = grown
        .iter()
        .position(|e| e["ph"] == "X" && e["name"] == "xend:XendDomainInfo.destroyDevice")
        .unwrap();
    grown[i]["dur"] = Value::from(1e12);
    assert!(with(grown).unwrap_err().contains("overlap"));
    // A time that is not a number.
    let mut bad = events;
    let i = bad.iter().position(|e| e["ph"] == "X").unwrap();
    bad[i]["ts"] = Value::from("soon");
    assert!(with(bad).unwrap_err().contains("ts"));
    v["traceEvents"] = Value::Null;
    assert!(validate_trace_events(&v.to_string()).is_err());
}

#[test]
fn the_trace_lists_every_call_and_hop_with_ids_that_resolve() {
    let h = seed_host();
    let doc = out(&h, Kind::Trace, "t.jsonl");
    let lines: Vec<Value> = doc
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let meta = &lines[0];
    assert_eq!(meta["kind"], "meta");
    assert_eq!(meta["script"], SEED_SCRIPT);
    let (nc, ncall, nhop) = (
        meta["contexts"].as_u64().unwrap() as usize,
        meta["calls"].as_u64().unwrap() as usize,
        meta["hops"].as_u64().unwrap() as usize,
    );
    assert_eq!(lines.len(), 1 + nc + ncall + nhop);
    let mut calls_seen = BTreeSet::new();
    let mut hops_seen = BTreeSet::new();
    let mut contexts = BTreeSet::new();
    let mut cause_of: BTreeMap<u64, Option<u64>> = BTreeMap::new();
    for l in &lines[1..] {
        match l["kind"].as_str().unwrap() {
            "context" => {
                contexts.insert(l["ctx"].as_u64().unwrap());
            }
            "call" => {
                let id = l["id"].as_u64().unwrap();
                assert!(contexts.contains(&l["ctx"].as_u64().unwrap()));
                if let Some(c) = l["caller"].as_u64() {
                    assert!(
                        calls_seen.contains(&c),
                        "a caller is listed before its callees"
                    );
                }
                assert!(l["probe"]
                    .as_str()
                    .unwrap()
                    .starts_with(l["layer"].as_str().unwrap()));
                assert!(l["args"].is_object());
                assert!(l["t"].as_f64().unwrap() <= l["end"].as_f64().unwrap_or(f64::MAX));
                cause_of.insert(id, l["cause"].as_u64());
                calls_seen.insert(id);
            }
            "hop" => {
                let id = l["id"].as_u64().unwrap();
                if let Some(c) = l["call"].as_u64() {
                    assert!(
                        calls_seen.contains(&c),
                        "a hop follows the call it was taken in"
                    );
                }
                if let Some(p) = l["cause"].as_u64() {
                    assert!(p < id, "a hop's cause is an earlier hop");
                }
                hops_seen.insert(id);
            }
            k => panic!("unknown kind {k}"),
        }
    }
    assert_eq!((calls_seen.len(), hops_seen.len()), (ncall, nhop));
    // Every hop's `started` calls name it as their cause, and every cause exists.
    for l in lines.iter().filter(|l| l["kind"] == "hop") {
        for c in l["started"].as_array().unwrap() {
            assert_eq!(cause_of[&c.as_u64().unwrap()], l["id"].as_u64());
        }
    }
    assert!(cause_of.values().flatten().all(|h| hops_seen.contains(h)));
    // The seed's question, answered from the file: qemu-dm's poweroff came
    // from the guest's S5 write through Xen's ioreq.
    let sched = lines
        .iter()
        .find(|l| {
            l["probe"] == "xen:do_sched_op" && l["context"].as_str().unwrap().contains("qemu")
        })
        .expect("qemu-dm's SCHEDOP_remote_shutdown");
    assert_eq!(sched["domid"], 8);
}

#[test]
fn the_seed_sequence_diagram_in_docs_is_xml_and_regenerates_identically() {
    let h = seed_host();
    let svg = out(&h, Kind::Sequence, "s.svg");
    let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("not XML: {e}"));
    let root_el = doc.root_element();
    assert_eq!(root_el.tag_name().name(), "svg");
    assert_eq!(
        root_el.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    let all = texts.join("\n");
    for step in [
        "write control/shutdown",
        "ioreq event channel",
        "VIRQ_DOM_EXC",
        "@releaseDomain",
    ] {
        assert!(all.contains(step), "the diagram shows {step}");
    }
    for lane in ["xend", "xenstored", "guest", "qemu-dm", "Xen"] {
        assert!(texts.contains(&lane), "a lane for {lane}");
    }
    let path = root().join("docs/sequence-hvm_poweroff.svg");
    let kept = std::fs::read_to_string(&path).unwrap_or_default();
    if std::env::var_os("XSH_BLESS").is_some() {
        std::fs::write(&path, &svg).expect("written");
    } else {
        assert!(
            kept == svg,
            "docs/sequence-hvm_poweroff.svg is stale: xsh run scripts/hvm_poweroff.rhai --sequence docs/sequence-hvm_poweroff.svg (or XSH_BLESS=1)"
        );
    }
}

#[test]
fn outputs_are_deterministic_and_the_sequence_speaks_mermaid_too() {
    let (a, b) = (seed_host(), seed_host());
    for (kind, file) in [
        (Kind::Trace, "t.jsonl"),
        (Kind::Timeline, "t.json"),
        (Kind::Sequence, "s.svg"),
        (Kind::Sequence, "s.mmd"),
    ] {
        assert_eq!(out(&a, kind, file), out(&b, kind, file), "{file}");
    }
    let mmd = out(&a, Kind::Sequence, "s.mmd");
    assert!(mmd.starts_with("sequenceDiagram\n"));
    assert!(mmd.contains("participant xs as xenstored"));
    assert!(mmd
        .lines()
        .any(|l| l.trim_start().starts_with("xend->>xs:") && l.contains("write control/shutdown")));
    let e = render(a.sim(), SEED_SCRIPT, Kind::Sequence, Path::new("s.png")).unwrap_err();
    assert!(e.contains(".svg or .mmd"), "{e}");
}

#[test]
fn a_script_writes_its_own_outputs() {
    let dir = std::env::temp_dir().join(format!("xsh-outputs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = |f: &str| dir.join(f).display().to_string();
    ok(&format!(
        r#"let dom = xm.create(#{{ name: "w", devices: ["vif/0"] }});
xm.shutdown(dom); sim.run();
sim.write_trace("{}"); sim.write_timeline("{}"); sim.write_sequence("{}");"#,
        p("t.jsonl"),
        p("t.json"),
        p("s.mmd")
    ));
    let timeline = std::fs::read_to_string(dir.join("t.json")).unwrap();
    validate_trace_events(&timeline).unwrap();
    assert!(std::fs::read_to_string(dir.join("t.jsonl"))
        .unwrap()
        .starts_with("{\"kind\":\"meta\""));
    assert!(std::fs::read_to_string(dir.join("s.mmd"))
        .unwrap()
        .contains("qemu->>xen"));
    let (_, r) = run(r#"sim.write_sequence("/nonexistent-dir/x.svg");"#);
    let e = r.unwrap_err().render(false);
    assert!(e.contains("cannot write /nonexistent-dir/x.svg"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_cli_writes_every_output_and_refuses_an_unknown_kind_before_running() {
    let dir = std::env::temp_dir().join(format!("xsh-cli-outputs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = |n: &str| dir.join(n).display().to_string();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_xsh"))
        .args([
            "run",
            SEED_SCRIPT,
            "--trace",
            &f("t.jsonl"),
            "--timeline",
            &f("t.json"),
            "--sequence",
            &f("s.svg"),
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let h = seed_host();
    // The files are the library's renderings of the same run.
    assert_eq!(
        std::fs::read_to_string(f("t.json")).unwrap(),
        out(&h, Kind::Timeline, "t.json")
    );
    assert_eq!(
        std::fs::read_to_string(f("s.svg")).unwrap(),
        out(&h, Kind::Sequence, "s.svg")
    );
    assert_eq!(
        std::fs::read_to_string(f("t.jsonl")).unwrap(),
        out(&h, Kind::Trace, "t.jsonl")
    );
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_xsh"))
        .args(["run", SEED_SCRIPT, "--sequence", &f("s.png")])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        o.stdout.is_empty(),
        "refused before the run printed anything"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains(".svg or .mmd"));
    let _ = std::fs::remove_dir_all(&dir);
}
