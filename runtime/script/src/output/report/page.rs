//! The HTML of a report: `assets/report.html` with its style, script,
//! diagram and data put in, and the run's settings written out as HTML so
//! the page says how to reproduce the run even where scripts do not run
//! (a mail client's preview, a printout made without them).

use std::fmt::Write;

use serde_json::Value as Json;

use super::RunInfo;
use crate::output::svg::esc;

const TEMPLATE: &str = include_str!("assets/report.html");
const CSS: &str = include_str!("assets/report.css");
const JS: &str = include_str!("assets/report.js");

/// Puts `values` in place of the `{{KEY}}` markers of `template`. Only the
/// template is searched, so a value holding `{{...}}` (a log line) stays
/// as it is.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let extra: usize = values.iter().map(|(_, v)| v.len()).sum();
    let mut out = String::with_capacity(template.len() + extra);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let key = &rest[start + 2..start + len];
        match values.iter().find(|(k, _)| *k == key) {
            Some((_, v)) => {
                out.push_str(&rest[..start]);
                out.push_str(v);
            }
            None => out.push_str(&rest[..start + len + 2]),
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

/// JSON inside `<script type="application/json">`: a `<` only occurs in
/// strings, where `\u003c` reads back the same, so no `</script>` or
/// `<!--` in a log line can end the block.
pub fn script_json(doc: &Json) -> String {
    serde_json::to_string(doc)
        .unwrap_or_else(|_| "{}".into())
        .replace('<', "\\u003c")
}

fn text(j: &Json, key: &str) -> String {
    match &j[key] {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// The settings block.
fn settings_html(s: &Json) -> String {
    let mut o = String::new();
    let row = |o: &mut String, k: &str, v: &str| {
        let _ = write!(o, "<dt>{}</dt><dd>{v}</dd>", esc(k));
    };
    o.push_str("<dl class=\"settings\">");
    row(
        &mut o,
        "script",
        &format!("<code>{}</code>", esc(&text(s, "script"))),
    );
    row(&mut o, "seed", &esc(&text(s, "seed")));
    row(&mut o, "profile", &esc(&text(s, "profile")));
    row(&mut o, "start time", &esc(&text(s, "start_time")));
    let list = |key: &str, f: &dyn Fn(&Json) -> String| -> String {
        let items: Vec<String> = s[key]
            .as_array()
            .map(|a| a.iter().map(f).collect())
            .unwrap_or_default();
        if items.is_empty() {
            "none".into()
        } else {
            format!("<ul>{}</ul>", items.concat())
        }
    };
    let choices = list("choices", &|c| {
        let how = if c[2].as_bool() == Some(true) {
            "fixed by --choose"
        } else {
            "picked from the seed"
        };
        format!(
            "<li><code>{} = {}</code> <span class=\"muted\">({how})</span></li>",
            esc(c[0].as_str().unwrap_or("")),
            esc(c[1].as_str().unwrap_or(""))
        )
    });
    row(&mut o, "choices", &choices);
    let params = list("params", &|p| {
        format!("<li><code>{}</code></li>", esc(p.as_str().unwrap_or("")))
    });
    row(&mut o, "parameters", &params);
    let hooks = list("hooks", &|h| {
        let dom = h[2]
            .as_u64()
            .map_or(String::new(), |d| format!(" on domain {d}"));
        let f = h[3].as_str().unwrap_or("");
        let f = if f.is_empty() {
            String::new()
        } else {
            format!(" → <code>{}</code>", esc(f))
        };
        format!(
            "<li><code>{}(\"{}\")</code>{dom}{f}</li>",
            esc(h[0].as_str().unwrap_or("")),
            esc(h[1].as_str().unwrap_or(""))
        )
    });
    row(&mut o, "hooks installed at the end", &hooks);
    o.push_str("</dl>");
    let _ = write!(
        o,
        "<p class=\"repro\">Reproduce: <code id=\"command\">{}</code></p>",
        esc(&text(s, "command"))
    );
    if let Some(f) = s["failure"].as_str() {
        let _ = write!(
            o,
            "<h3 class=\"bad\">It failed</h3><pre class=\"failure\">{}</pre>",
            esc(f)
        );
    }
    let printed = text(s, "printed");
    if !printed.is_empty() {
        let n = printed.lines().count();
        let _ = write!(
            o,
            "<details><summary>What the script printed ({n} line{})</summary><pre class=\"printed\">{}</pre></details>",
            if n == 1 { "" } else { "s" },
            esc(&printed)
        );
    }
    o
}

/// What the page's heading says: which command made it, its verdict, and
/// a section of its own (a diagnosis) placed before the logs.
pub struct Head {
    /// `xsh run`, `xsh test`, `xsh logs diagnose`.
    pub what: String,
    /// The badge after the title.
    pub status: String,
    /// HTML placed before the logs.
    pub extra: String,
    /// A script run after the page's own (`<script>` included).
    pub script: String,
}

/// The whole page of a run.
pub fn html(info: &RunInfo, settings: &Json, svg: &str, doc: &Json) -> String {
    let status = if info.failure.is_some() {
        "<span class=\"badge bad\">failed</span>"
    } else {
        "<span class=\"badge ok\">ran to the end</span>"
    };
    let what = if info.index.is_some() {
        "xsh test"
    } else {
        "xsh run"
    };
    let head = Head {
        what: what.into(),
        status: status.into(),
        extra: String::new(),
        script: String::new(),
    };
    html_with(info, settings, svg, doc, &head)
}

/// The whole page, with `head` saying what made it.
pub fn html_with(info: &RunInfo, settings: &Json, svg: &str, doc: &Json, head: &Head) -> String {
    let index = match &info.index {
        Some(href) => format!("<a class=\"index\" href=\"{}\">all failures</a>", esc(href)),
        None => String::new(),
    };
    let what = head.what.as_str();
    fill(
        TEMPLATE,
        &[
            ("TITLE", &esc(&format!("{what}: {}", info.title))),
            ("HEADING", &esc(&info.title)),
            ("WHAT", what),
            ("STATUS", &head.status),
            ("EXTRA", &head.extra),
            ("INDEX", &index),
            ("CSS", CSS),
            ("SETTINGS", &settings_html(settings)),
            ("SVG", svg),
            ("DATA", &script_json(doc)),
            ("JS", JS),
            ("MORE_JS", &head.script),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_only_the_templates_markers() {
        let out = fill("a {{X}} b {{Y}} {{unknown}}", &[("X", "{{Y}}"), ("Y", "y")]);
        assert_eq!(out, "a {{Y}} b y {{unknown}}");
    }

    #[test]
    fn json_in_a_script_block_cannot_close_it() {
        let doc = serde_json::json!({"line": "</script><!-- x"});
        let s = script_json(&doc);
        assert!(!s.contains('<'));
        let back: Json = serde_json::from_str(&s).unwrap();
        assert_eq!(back, doc);
    }
}
