//! `xsh test --report DIR`: a report page per failing test (its failure,
//! logs and diagram, written by the runner while the test's world is still
//! there) and `DIR/index.html` linking them.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::output::svg::esc;
use crate::testing::{log_folder, Summary};
use crate::ScriptError;

use super::page::fill;

const CSS: &str = include_str!("assets/report.css");
const TEMPLATE: &str = include_str!("assets/index.html");

/// Where the page of test `name` of `file` goes: `DIR/<file's path>/<name>.html`
/// (the same folders as `xsh test --log-dir`; a file that failed as a whole
/// — it does not compile — is `file.html` in its folder).
pub fn page_path(dir: &Path, file: &Path, name: &str) -> PathBuf {
    let name = if name.is_empty() { "file" } else { name };
    dir.join(log_folder(file)).join(format!("{name}.html"))
}

/// The index's link to a page under `dir`, with `/` on every system.
pub fn href(dir: &Path, page: &Path) -> String {
    let rel = page.strip_prefix(dir).unwrap_or(page);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

/// The page's link back to the index from `page` under `dir`.
pub fn back_href(dir: &Path, page: &Path) -> String {
    let depth = page
        .strip_prefix(dir)
        .map(|r| r.components().count().saturating_sub(1))
        .unwrap_or(0);
    format!("{}index.html", "../".repeat(depth))
}

/// A test's failure as the page shows it: the message, the values
/// compared, and the report at the script position.
pub fn failure_text(e: &ScriptError) -> String {
    let mut s = e.message.clone();
    s.push('\n');
    if let Some(x) = &e.expected {
        let _ = writeln!(s, "  expected: {x}");
    }
    if let Some(x) = &e.actual {
        let _ = writeln!(s, "    actual: {x}");
    }
    let mut brief = e.clone();
    brief.expected = None;
    brief.actual = None;
    s.push('\n');
    s.push_str(&brief.render(false));
    s
}

/// The index page: the result line, then each failure with a link to its
/// page (or why there is none).
pub fn index_html(summary: &Summary, dir: &Path) -> String {
    let mut list = String::new();
    for r in summary.failures() {
        let first = r
            .error
            .as_ref()
            .map(|e| e.message.lines().next().unwrap_or("").to_string())
            .unwrap_or_default();
        let link = match &r.page {
            Some(Ok(p)) => format!("<a href=\"{}\">{}</a>", esc(&href(dir, p)), esc(&r.id())),
            Some(Err(e)) => format!(
                "{} <span class=\"bad\">(no page: {})</span>",
                esc(&r.id()),
                esc(e)
            ),
            None => esc(&r.id()),
        };
        let _ = writeln!(
            list,
            "<li>{link}<pre class=\"failure\">{}</pre></li>",
            esc(&first)
        );
    }
    if list.is_empty() {
        list.push_str("<li class=\"ok\">No test failed.</li>");
    }
    let result = summary.result_line();
    fill(
        TEMPLATE,
        &[
            ("TITLE", &esc(&format!("xsh test: {result}"))),
            ("RESULT", &esc(&result)),
            ("CSS", CSS),
            ("LIST", &list),
        ],
    )
}
