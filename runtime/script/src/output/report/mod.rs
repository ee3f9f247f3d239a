//! `--report FILE.html`: a run on one self-contained page — the sequence
//! diagram with numbered steps, every log side by side with each line
//! linked to the step that wrote it (and that line's call stack and causal
//! chain), the milestones of each domain's shutdown with the virtual time
//! between them, and the settings that reproduce the run. Everything is
//! inlined (styles, script, data): the page opens from a mail attachment
//! and makes no request (docs/report.md).
//!
//! - `places.rs` — which diagram step each call belongs to;
//! - `milestones.rs` — request, acknowledgement, power-off write, shut
//!   down, destroyed, devices released, per domain;
//! - `data.rs` — the JSON document the page's script reads;
//! - `page.rs` — the HTML around it, from `assets/` (page, style, script).
//!
//! A report reads what the world keeps only when asked: the trace with its
//! hops and frames, the logs' text ([`OBSERVE`], asked for through the
//! host's `observe_extra` as the other outputs' flags do) and which call
//! wrote each log line ([`prepare`]).

mod data;
pub mod diagnosis;
mod milestones;
mod page;
mod places;
pub mod tests_index;

use std::path::Path;

use serde_json::{json, Value as Json};
use xsh_sim::Sim;

pub use data::log_kind;
pub use milestones::{milestones, DomainMilestones, Milestone};
pub use places::{places, Place, Places};

use crate::hooks::HookKind;
use crate::output::{sequence, with_view};
use crate::Host;

/// Steps per band of the diagram. The first band is in the page as it is;
/// the page's script adds the others as they scroll into view, so a run of
/// thousands of steps opens as fast as the seed's.
pub const STEPS_PER_BAND: usize = 80;

/// What the page says about how the run was made, beyond the world's own
/// settings (seed, profile, start time, which it reads from the world).
#[derive(Clone, Debug, Default)]
pub struct RunInfo {
    /// The heading: the script's name, or `file::test` for a test.
    pub title: String,
    /// The script's name as the trace's `meta` gives it.
    pub script: String,
    /// The command that reproduces the run.
    pub command: String,
    /// `--param` arguments as given.
    pub params: Vec<String>,
    /// Why the run failed (an error report without colour), if it did.
    pub failure: Option<String>,
    /// What the script printed.
    pub printed: String,
    /// A link back to an index page (`xsh test --report`), if any.
    pub index: Option<String>,
}

/// What a report needs the world to record: everything a script could
/// observe — the trace, its hops and frames, and the logs' text.
pub const OBSERVE: crate::observe::Observe = crate::observe::Observe::ALL;

/// Asks the world to note which call writes each log line (the rest of what
/// a report reads is [`OBSERVE`]). Call it before the script runs; lines
/// written before it have no writer.
pub fn prepare(sim: &Sim) {
    sim.logs.borrow_mut().record_origins(true);
}

/// The run's settings as the page's `meta`.
fn settings(host: &Host, info: &RunInfo) -> Json {
    let st = &host.state;
    let meta = crate::output::meta(host.sim(), &info.script);
    let choices: Vec<Json> = st
        .explore
        .trail
        .borrow()
        .iter()
        .map(|m| {
            json!([
                m.name,
                m.options.get(m.index).cloned().unwrap_or_default(),
                m.fixed
            ])
        })
        .collect();
    let hooks: Vec<Json> = st
        .hooks
        .borrow()
        .in_install_order()
        .into_iter()
        .map(|h| {
            let kind = match h.kind {
                HookKind::On => "on",
                HookKind::Hook => "hook",
            };
            let f = h.f.fn_name();
            // A closure's generated name says nothing; a named function does.
            let f = if f.starts_with("anon$") { "" } else { f };
            json!([kind, h.probe.name(), h.domid, f])
        })
        .collect();
    json!({
        "kind": if info.index.is_some() { "test" } else { "run" },
        "title": info.title,
        "script": meta.script,
        "seed": meta.seed,
        "profile": meta.profile,
        "start_time": meta.start_time,
        "command": info.command,
        "params": info.params,
        "choices": choices,
        "hooks": hooks,
        "failure": info.failure,
        "printed": info.printed,
        "index": info.index,
    })
}

/// Every log of the world with the calls that wrote its lines: xend.log
/// (when xend ran), the per-domain files in the order they were opened,
/// the Xen console: the files `--log-dir` holds.
fn logs(sim: &Sim) -> Vec<data::LogData> {
    let logs = sim.logs.borrow();
    let mut out = Vec::new();
    let mut add = |name: &str, sink: &xsh_sim::logs::LogSink| {
        out.push(data::LogData {
            name: name.to_string(),
            text: sink.text().to_string(),
            origins: sink
                .origins()
                .unwrap_or_default()
                .iter()
                .map(|o| (o.line as u32, o.call))
                .collect(),
        });
    };
    if logs.xend.exists() {
        add("xend.log", &logs.xend);
    }
    for (name, sink) in &logs.files {
        add(name, sink);
    }
    if logs.xen.exists() {
        add("xen.log", &logs.xen);
    }
    out
}

/// The page of a finished (or failed) run.
pub fn render(host: &Host, info: &RunInfo) -> Result<String, String> {
    let (svg, settings, doc) = run_doc(host, info)?;
    Ok(page::html(info, &settings, &svg, &doc))
}

/// A run's page parts: the diagram's first band, the settings and the data.
fn run_doc(host: &Host, info: &RunInfo) -> Result<(String, Json, Json), String> {
    let sim = host.sim();
    if !sim.tracing.get() {
        return Err(
            "the trace is off (sim.tracing = false), so the report would have no diagram and no links from lines to steps; leave sim.tracing on (the default) for runs whose report you want".into(),
        );
    }
    let settings = settings(host, info);
    let logs = logs(sim);
    let (svg, doc) = with_view(sim, &info.script, |v| {
        let steps = sequence::steps(v);
        let places = places(v, &steps);
        let ms = milestones(v);
        let mut bands = crate::output::svg::render_bands(&steps, STEPS_PER_BAND).into_iter();
        let (_, first) = bands.next().unwrap_or_default();
        let mut doc = data::build(v, &steps, &places, &ms, &logs, settings.clone());
        doc["bands"] = bands.map(|(from, svg)| json!([from, svg])).collect();
        doc["lane_x"] = json!(crate::output::svg::lane_centers(&steps));
        (first, doc)
    });
    Ok((svg, settings, doc))
}

/// Renders and writes the page.
pub fn write(host: &Host, info: &RunInfo, path: &Path) -> Result<(), String> {
    let html = render(host, info).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::write(path, html).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
