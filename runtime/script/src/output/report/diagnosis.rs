//! The page of a diagnosis (`xsh logs diagnose FILE... --report`): the real
//! logs aligned with the closest model variant. It reads the diagnosis as
//! `xsh logs diagnose --json` writes it (schema `xsh-diagnose/1`,
//! docs/diagnose.md) and replays the closest variant of one domain (the
//! first that diverges, else the first with a variant) to draw its run:
//! its diagram, its logs and their links, as `xsh run --report` shows a
//! run. Beside them, every real file, each line marked with how it
//! aligned — produced by the model (a click selects the model's line and
//! so its step), produced out of order, or not produced — and each line the
//! model wrote that the real logs lack shown where it should have been,
//! after the real line the alignment puts before it. The first divergence
//! is marked and selected when the page opens.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};
use xsh_sim::Config;

use super::page::{html_with, Head};
use super::RunInfo;
use crate::output::svg::esc;
use crate::{Host, Limits};

/// The page's script for the real logs (after report.js, whose
/// `window.xshReport` it uses).
const DIAGNOSIS_JS: &str = include_str!("assets/diagnosis.js");

/// A real log file given to `diagnose`, by the name the diagnosis uses.
pub struct RealLog {
    /// Its name as the diagnosis's `files` lists it.
    pub name: String,
    /// Its text.
    pub text: String,
}

/// The domain whose closest variant the page replays.
fn focus(diag: &Json) -> Option<usize> {
    let domains = diag["domains"].as_array()?;
    let with_variant = |d: &&Json| d["variant"].is_object();
    domains
        .iter()
        .position(|d| with_variant(&d) && d["verdict"] == "diverges")
        .or_else(|| domains.iter().position(|d| with_variant(&d)))
}

/// A 1-based line of the diagnosis as a 0-based index (`-1`: none).
fn line0(v: &Json) -> i64 {
    v.as_i64().map_or(-1, |l| l - 1)
}

/// Which real file a reference (`{file, line}`) is in, by index.
fn file_index(files: &[RealLog], at: &Json) -> Option<usize> {
    let name = at["file"].as_str()?;
    files.iter().position(|f| f.name == name)
}

/// The marks of one domain on the real files: per file, its lines' marks
/// and the model's lines missing after them.
fn marks(dom: &Json, files: &[RealLog]) -> Vec<Json> {
    let mut lines: Vec<Vec<Json>> = vec![Vec::new(); files.len()];
    let mut ghosts: Vec<Vec<Json>> = vec![Vec::new(); files.len()];
    for l in dom["lines"].as_array().into_iter().flatten() {
        let Some(f) = file_index(files, l) else {
            continue;
        };
        let kind = if l["moved"].as_bool() == Some(true) {
            "moved"
        } else {
            "matched"
        };
        lines[f].push(json!([
            line0(&l["line"]),
            kind,
            l["model"]["file"],
            line0(&l["model"]["line"]),
            l["label"],
            l["probe"],
            l["step"],
        ]));
    }
    for l in dom["not_produced"].as_array().into_iter().flatten() {
        if let Some(f) = file_index(files, l) {
            lines[f].push(json!([
                line0(&l["line"]),
                "not_produced",
                null,
                -1,
                "",
                null,
                null
            ]));
        }
    }
    // A missing line with no real line before it goes at the top of the
    // first file.
    for (key, kind) in [("missing", "missing"), ("continues", "continues")] {
        for m in dom[key].as_array().into_iter().flatten() {
            let (f, after) = match file_index(files, &m["after"]) {
                Some(f) => (f, line0(&m["after"]["line"])),
                None => (0, -1),
            };
            if let Some(g) = ghosts.get_mut(f) {
                g.push(json!([
                    after,
                    kind,
                    m["text"],
                    m["probe"],
                    m["step"],
                    m["model"]["file"],
                    line0(&m["model"]["line"]),
                ]));
            }
        }
    }
    files
        .iter()
        .enumerate()
        .map(|(i, _)| json!({"marks": lines[i], "ghosts": ghosts[i]}))
        .collect()
}

/// Where the first divergence is on the page: `[file, line, ghost]` — a
/// real line (`ghost` -1), or the `ghost`-th missing line of that file.
fn first_at(dom: &Json, files: &[RealLog], per_file: &[Json]) -> Option<Json> {
    let kind = dom["first_divergence"]["kind"].as_str()?;
    match kind {
        "missing" => {
            let m = dom["missing"].as_array()?.first()?;
            let f = file_index(files, &m["after"]).unwrap_or(0);
            let after = line0(&m["after"]["line"]);
            let text = &m["text"];
            let ghosts = per_file.get(f)?["ghosts"].as_array()?;
            let g = ghosts
                .iter()
                .position(|g| g[0].as_i64() == Some(after) && g[1] == "missing" && g[2] == *text)?;
            Some(json!([f, after, g]))
        }
        "not_produced" => {
            let at = dom["not_produced"].as_array()?.first()?;
            Some(json!([file_index(files, at)?, line0(&at["line"]), -1]))
        }
        "out_of_order" => {
            let at = dom["lines"]
                .as_array()?
                .iter()
                .find(|l| l["moved"].as_bool() == Some(true))?;
            Some(json!([file_index(files, at)?, line0(&at["line"]), -1]))
        }
        "gap" => {
            let to = &dom["gaps"].as_array()?.first()?["to"];
            Some(json!([file_index(files, to)?, line0(&to["line"]), -1]))
        }
        _ => None,
    }
}

/// The summary of every domain, as HTML (readable without the script).
fn summary_html(diag: &Json, focus: Option<usize>) -> String {
    let mut o = String::new();
    o.push_str(
        "<section id=\"diagnosis\" class=\"panel\" aria-label=\"Diagnosis\"><h2>Diagnosis</h2>",
    );
    for (i, d) in diag["domains"].as_array().into_iter().flatten().enumerate() {
        let verdict = d["verdict"].as_str().unwrap_or("");
        let cls = match verdict {
            "fits" => "ok",
            "diverges" => "bad",
            _ => "muted",
        };
        o.push_str(&format!(
            "<h3>{} <span class=\"badge {cls}\">{}</span>{}</h3>",
            esc(d["name"].as_str().unwrap_or("(unnamed)")),
            esc(verdict),
            if Some(i) == focus {
                " <span class=\"muted hint\">(its closest variant is drawn below)</span>"
            } else {
                ""
            }
        ));
        if let Some(why) = d["not_modelled"].as_str() {
            o.push_str(&format!(
                "<p class=\"muted\">Not modelled: {}</p>",
                esc(why)
            ));
        }
        if let Some(v) = d["variant"].as_object() {
            let choices: Vec<String> = v
                .get("choices")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .map(|c| {
                    format!(
                        "<code>{} = {}</code>",
                        esc(c[0].as_str().unwrap_or("")),
                        esc(&text(&c[1]))
                    )
                })
                .collect();
            o.push_str(&format!(
                "<p>Closest variant ({} run{}): {}</p>",
                v.get("runs").and_then(Json::as_u64).unwrap_or(0),
                if v.get("runs").and_then(Json::as_u64) == Some(1) {
                    ""
                } else {
                    "s"
                },
                if choices.is_empty() {
                    "the model's default path".into()
                } else {
                    choices.join(", ")
                }
            ));
        }
        if let Some(f) = d["first_divergence"].as_object() {
            o.push_str(&format!(
                "<p class=\"bad\">First divergence ({}): {}</p>",
                esc(f.get("kind").and_then(Json::as_str).unwrap_or("")),
                esc(f.get("text").and_then(Json::as_str).unwrap_or(""))
            ));
        }
        if Some(i) == focus {
            if let Some(s) = d["variant"]["script"].as_str() {
                o.push_str(&format!(
                    "<details><summary>The replay script of its closest variant</summary><pre>{}</pre></details>",
                    esc(s)
                ));
            }
        }
        let story: Vec<String> = d["story"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                format!(
                    "<li><span class=\"muted\">{} {}:{}</span> {}{}</li>",
                    esc(&text(&s["time"])),
                    esc(&text(&s["file"])),
                    esc(&text(&s["line"])),
                    esc(&text(&s["what"])),
                    s["label"].as_str().map_or(String::new(), |l| format!(
                        " <span class=\"muted\">— {}</span>",
                        esc(l)
                    ))
                )
            })
            .collect();
        if !story.is_empty() {
            o.push_str(&format!(
                "<details><summary>Its story ({} facts)</summary><ol class=\"story\">{}</ol></details>",
                story.len(),
                story.concat()
            ));
        }
    }
    o.push_str("<h3>The real logs, aligned</h3><p class=\"muted hint\">Green: the model wrote it (click: its line and step in the model's run). Orange: out of order. Red: the model did not write it. Dashed: a line the model wrote that the logs lack, where it should have been.</p><div id=\"real-logs\"></div></section>");
    o
}

fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// The page: `diag` is the diagnosis's JSON, `real` the files it read,
/// `command` how to make it again, `seed` the seed its replays ran with.
pub fn render(diag: &Json, real: &[RealLog], command: &str, seed: u64) -> Result<String, String> {
    if diag["schema"] != "xsh-diagnose/1" {
        return Err(format!(
            "not a diagnosis this page can show (schema {}, wants xsh-diagnose/1)",
            diag["schema"]
        ));
    }
    let focus = focus(diag);
    let domains = diag["domains"].as_array().cloned().unwrap_or_default();
    let (script, name) = match focus {
        Some(i) => (
            domains[i]["variant"]["script"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            domains[i]["name"].as_str().unwrap_or("domain").to_string(),
        ),
        // Nothing replayable: an empty world, so the page still shows the
        // real logs and what was found in them.
        None => (String::new(), String::new()),
    };
    let host = Host::new(
        Config {
            seed,
            ..Config::default()
        },
        Limits::default(),
    );
    super::prepare(host.sim());
    let fixed: BTreeMap<String, String> = focus
        .and_then(|i| domains[i]["variant"]["choices"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|c| (text(&c[0]), text(&c[1])))
        .collect();
    host.state.explore.plan.borrow_mut().fixed = fixed;
    let replay = format!("replay of {name}");
    let failure = host.run(&replay, &script).err().map(|e| e.render(false));
    let files: Vec<String> = real.iter().map(|f| f.name.clone()).collect();
    let info = RunInfo {
        title: files.join(" "),
        script: replay,
        command: command.to_string(),
        failure,
        ..Default::default()
    };
    let (svg, settings, mut doc) = super::run_doc(&host, &info)?;
    let per_file = focus.map(|i| marks(&domains[i], real)).unwrap_or_default();
    let real_json: Vec<Json> = real
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let m = per_file
                .get(i)
                .cloned()
                .unwrap_or(json!({"marks": [], "ghosts": []}));
            json!({"name": f.name, "text": f.text, "marks": m["marks"], "ghosts": m["ghosts"]})
        })
        .collect();
    let first = focus.and_then(|i| first_at(&domains[i], real, &per_file));
    doc["diagnosis"] = json!({
        "verdict": diag["verdict"],
        "focus": focus,
        "first": first,
        "real": real_json,
    });
    let verdict = diag["verdict"].as_str().unwrap_or("");
    let head = Head {
        what: "xsh logs diagnose".into(),
        status: format!(
            "<span class=\"badge {}\">{}</span>",
            if verdict == "fits" { "ok" } else { "bad" },
            esc(verdict)
        ),
        extra: summary_html(diag, focus),
        script: format!("<script>\n{DIAGNOSIS_JS}</script>"),
    };
    Ok(html_with(&info, &settings, &svg, &doc, &head))
}
