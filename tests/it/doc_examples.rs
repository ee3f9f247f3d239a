//! Every ```rhai example of README.md and docs/*.md runs, and gives the
//! output the doc shows. A block's info string says what it is:
//!
//! - ` ```rhai ` — a whole script: it runs without error in a fresh world;
//! - ` ```rhai dom ` — a script that starts where the examples' domain
//!   exists: it runs after `let dom = xm.create(...)` of the seed's domain;
//! - ` ```rhai test ` — a test file: `xsh test` runs it and every test passes;
//! - ` ```rhai fragment ` — part of a script or a summary of forms: not run
//!   (the marking is the point: no example is skipped without saying so).
//!
//! What a doc shows the script printing is checked too: an ` ```output `
//! block right after the example holds lines its stdout has in that order
//! (a `...` line stands for any lines), and `print(x);   // text` says the
//! output has a line `text`.

use std::path::{Path, PathBuf};

use xsh_script::testing::{self, Options, TestFile};

/// The seed's domain, which the `rhai dom` examples start from.
const PRELUDE: &str = r#"sim.start_time = "2019-06-05 09:23:27";
xend.pid = 2164;
let dom = xm.create(#{ name: "ubuntu-kdump", id: 8, type: "hvm", guest: "ubuntu-16.04",
                      devices: ["vif/0", "vkbd/0", "console/0", "vbd/51712", "vfb/0"] });
"#;

/// One fenced block of a Markdown file.
struct Block {
    file: String,
    line: usize,
    info: String,
    text: String,
}

fn docs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

fn blocks(path: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(path).expect("readable doc");
    let file = path
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .display()
        .to_string();
    let mut out = Vec::new();
    let mut open: Option<(usize, String, String)> = None;
    for (i, l) in text.lines().enumerate() {
        match &mut open {
            None => {
                if let Some(info) = l.trim_start().strip_prefix("```") {
                    open = Some((i + 1, info.trim().to_string(), String::new()));
                }
            }
            Some((line, info, body)) => {
                if l.trim_start().starts_with("```") {
                    out.push(Block {
                        file: file.clone(),
                        line: *line,
                        info: std::mem::take(info),
                        text: std::mem::take(body),
                    });
                    open = None;
                } else {
                    body.push_str(l);
                    body.push('\n');
                }
            }
        }
    }
    out
}

/// `lines` appear in `out` in order; a `...` line skips any lines.
fn shows(out: &str, lines: &str) -> Result<(), String> {
    let have: Vec<&str> = out.lines().collect();
    let mut at = 0;
    let mut gap = true;
    for want in lines.lines() {
        if want.trim() == "..." {
            gap = true;
            continue;
        }
        let found = if gap {
            have[at..]
                .iter()
                .position(|h| h.trim_end() == want.trim_end())
        } else {
            (have
                .get(at)
                .is_some_and(|h| h.trim_end() == want.trim_end()))
            .then_some(0)
        };
        match found {
            Some(k) => {
                at += k + 1;
                gap = false;
            }
            None => {
                return Err(format!(
                    "the output has no line {want:?} where the doc shows it"
                ))
            }
        }
    }
    Ok(())
}

/// The `// text` a doc puts after `print(...);` as what it prints.
fn printed_comments(src: &str) -> Vec<String> {
    src.lines()
        .filter(|l| l.trim_start().starts_with("print("))
        .filter_map(|l| l.split_once(");").map(|(_, c)| c.trim()))
        .filter_map(|c| c.strip_prefix("//"))
        .map(|c| c.trim().trim_matches('"').to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

fn run_script(src: &str) -> Result<String, String> {
    let (host, r) = crate::util::run(src);
    r.map_err(|e| e.render(false))?;
    let out = host.state.output.borrow().clone();
    Ok(out)
}

fn check(b: &Block, next: Option<&Block>) -> Result<(), String> {
    let words: Vec<&str> = b.info.split_whitespace().collect();
    let output = next.filter(|n| n.info == "output").map(|n| n.text.as_str());
    let out = match words.get(1).copied() {
        Some("fragment") => return Ok(()),
        Some("test") => {
            let file = TestFile {
                path: PathBuf::from(format!("{}:{}", b.file, b.line)),
                name: format!("{}:{}", b.file, b.line),
                src: b.text.clone(),
            };
            let s = testing::run(&[file], &Options::default(), &mut |_| {});
            if s.results.is_empty() {
                return Err("a `rhai test` example with no fn test_*()".into());
            }
            if s.failed() > 0 {
                return Err(testing::summary_text(&s, false));
            }
            return Ok(());
        }
        Some("dom") => run_script(&format!("{PRELUDE}{}", b.text))?,
        None => run_script(&b.text)?,
        Some(other) => return Err(format!("unknown example kind `rhai {other}`")),
    };
    if let Some(lines) = output {
        shows(&out, lines)?;
    }
    for c in printed_comments(&b.text) {
        if !out.lines().any(|l| l.trim_end() == c) {
            return Err(format!("the doc says it prints {c:?}; it printed:\n{out}"));
        }
    }
    Ok(())
}

#[test]
fn every_doc_example_runs_and_shows_what_it_prints() {
    let mut failed = Vec::new();
    let mut counted = (0, 0);
    for doc in docs() {
        let bs = blocks(&doc);
        for (i, b) in bs.iter().enumerate() {
            if b.info.split_whitespace().next() != Some("rhai") {
                continue;
            }
            counted.0 += 1;
            if b.info.contains("fragment") {
                counted.1 += 1;
            }
            if let Err(e) = check(b, bs.get(i + 1)) {
                failed.push(format!("{}:{} (```{}):\n{e}", b.file, b.line, b.info));
            }
        }
    }
    assert!(counted.0 >= 30, "found only {} examples", counted.0);
    assert!(
        failed.is_empty(),
        "{} of {} doc examples fail ({} are fragments):\n\n{}",
        failed.len(),
        counted.0,
        counted.1,
        failed.join("\n\n")
    );
}

#[test]
fn the_output_check_follows_order_and_gaps() {
    let out = "a\nb\nc\nd\n";
    assert!(shows(out, "a\nb\n").is_ok());
    assert!(shows(out, "a\n...\nd\n").is_ok());
    assert!(
        shows(out, "a\nc\n").is_err(),
        "c does not follow a directly"
    );
    assert!(shows(out, "b\na\n").is_err());
    assert_eq!(
        printed_comments("print(dom.state);       // \"destroyed\"\nprint(1);\n"),
        vec!["destroyed"]
    );
}
