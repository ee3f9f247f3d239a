//! How a run of tests reads: the cargo-style text `xsh test` prints after
//! its per-test lines, and JUnit XML for CI dashboards.

use super::{Summary, TestResult};

/// One failure, as the report shows it after the list of tests: the
/// message (expected and actual for a comparison), the ariadne report at
/// the script position, then the test's output and its logs' last lines.
pub fn failure_text(r: &TestResult, color: bool) -> String {
    let mut s = format!("---- {} ----\n", r.id());
    if let Some(e) = &r.error {
        s.push_str(&e.message);
        s.push('\n');
        if let Some(x) = &e.expected {
            s.push_str(&format!("  expected: {x}\n"));
        }
        if let Some(x) = &e.actual {
            s.push_str(&format!("    actual: {x}\n"));
        }
        s.push('\n');
        // The report repeats neither the message's extra lines nor the
        // values just shown.
        let mut brief = e.clone();
        brief.expected = None;
        brief.actual = None;
        s.push_str(&brief.render(color));
    }
    if !r.output.is_empty() {
        s.push_str("\n-- output --\n");
        s.push_str(&r.output);
        if !r.output.ends_with('\n') {
            s.push('\n');
        }
    }
    for (name, tail) in &r.log_tails {
        s.push_str(&format!("\n-- {name} (last lines) --\n{tail}\n"));
    }
    s
}

/// The whole report of a finished run, as `xsh test` prints it after the
/// per-test lines: each failure in full, their list, and the result line.
pub fn summary_text(summary: &Summary, color: bool) -> String {
    let mut s = String::new();
    if summary.failed() > 0 {
        s.push_str("\nfailures:\n\n");
        for r in summary.failures() {
            s.push_str(&failure_text(r, color));
            s.push('\n');
        }
        s.push_str("failures:\n");
        for r in summary.failures() {
            s.push_str(&format!("    {}\n", r.id()));
        }
    }
    s.push('\n');
    s.push_str(&summary.result_line());
    s.push('\n');
    s
}

/// The run as JUnit XML (one `<testsuite>` per file), for CI dashboards.
pub fn junit(summary: &Summary) -> String {
    let mut files: Vec<&str> = Vec::new();
    for r in &summary.results {
        if !files.contains(&r.file.as_str()) {
            files.push(&r.file);
        }
    }
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str(&format!(
        "<testsuites name=\"xsh test\" tests=\"{}\" failures=\"{}\">\n",
        summary.results.len(),
        summary.failed()
    ));
    for file in files {
        let rs: Vec<&TestResult> = summary.results.iter().filter(|r| r.file == file).collect();
        let failed = rs.iter().filter(|r| !r.passed()).count();
        s.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\">\n",
            xml(file),
            rs.len()
        ));
        for r in rs {
            let name = if r.name.is_empty() { "(file)" } else { &r.name };
            s.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml(file),
                xml(name)
            ));
            if r.passed() && r.output.is_empty() {
                s.push_str("/>\n");
                continue;
            }
            s.push_str(">\n");
            if let Some(e) = &r.error {
                s.push_str(&format!(
                    "      <failure message=\"{}\">{}</failure>\n",
                    xml(e.message.lines().next().unwrap_or("")),
                    xml(&failure_text(r, false))
                ));
            }
            if !r.output.is_empty() {
                s.push_str(&format!(
                    "      <system-out>{}</system-out>\n",
                    xml(&r.output)
                ));
            }
            s.push_str("    </testcase>\n");
        }
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}

fn xml(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&apos;"),
            // XML 1.0 allows no other control characters.
            '\t' | '\n' | '\r' => s.push(c),
            c if (c as u32) < 0x20 => {}
            c => s.push(c),
        }
    }
    s
}
