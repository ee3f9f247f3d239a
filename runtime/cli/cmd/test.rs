//! `xsh test [PATH...]`: runs every `fn test_*()` of the `*.rhai` files
//! under PATH (default `tests/`), each in a fresh world, and reports like
//! `cargo test`. Exit 0 when all pass, 1 on a failure, 3 when the only
//! failures were limits reached, 2 on a usage error.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use xsh_script::testing::{self, Event, Options};

use super::run::LimitFlags;

/// Flags of `xsh test`.
#[derive(Args, Clone)]
pub struct Flags {
    /// Test files or folders (searched for `*.rhai`; default tests/), or
    /// names to filter by as `cargo test NAME` does: a word that is not an
    /// existing file or folder runs only the tests whose `file::name`
    /// contains it.
    #[arg(value_name = "PATH|NAME")]
    pub paths: Vec<PathBuf>,
    /// Run only tests whose `file::name` contains this (repeatable).
    #[arg(long)]
    pub filter: Vec<String>,
    /// List the tests (`file::name: test`) instead of running them.
    #[arg(long)]
    pub list: bool,
    /// Show how long each test took (wall clock).
    #[arg(long)]
    pub durations: bool,
    /// One character per test instead of one line.
    #[arg(short, long)]
    pub quiet: bool,
    /// Stop at the first failure.
    #[arg(long)]
    pub fail_fast: bool,
    /// Also write the results as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Seed of every test's world.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write each test's logs to DIR/<file>/<test>/.
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// Lines of each log shown for a failure.
    #[arg(long, default_value_t = 6)]
    pub log_lines: usize,
    /// Write a report page per failing test (its failure, logs and
    /// diagram) under DIR, linked from DIR/index.html (docs/report.md).
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub limits: LimitFlags,
}

/// Colour on stdout, as `--color` says (auto: a terminal, NO_COLOR unset).
fn stdout_color() -> bool {
    super::color_for(std::io::stdout().is_terminal())
}

fn paint(text: &str, color: bool, code: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// Runs the tests.
pub fn main(f: Flags) -> ExitCode {
    if let Err(msg) = f.limits.check() {
        eprintln!("error: {msg}");
        return ExitCode::from(2);
    }
    let (mut paths, mut filters) = (Vec::new(), f.filter.clone());
    for p in &f.paths {
        if is_name_filter(p) {
            filters.push(p.display().to_string());
        } else {
            paths.push(p.clone());
        }
    }
    if paths.is_empty() {
        paths.push(PathBuf::from("tests"));
    }
    let files = match testing::discover(&paths).and_then(|found| {
        found
            .iter()
            .map(|p| testing::read(p))
            .collect::<Result<Vec<_>, _>>()
    }) {
        Ok(files) => files,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = &f.report {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("error: cannot make {}: {e}", dir.display());
            return ExitCode::from(2);
        }
    }
    let opts = Options {
        config: f.limits.config(f.seed),
        limits: f.limits.limits(),
        filters,
        fail_fast: f.fail_fast,
        log_lines: f.log_lines,
        log_dir: f.log_dir.clone(),
        report_dir: f.report.clone(),
    };
    if f.list {
        let ids = testing::list(&files, &opts);
        let mut text: String = ids.iter().map(|id| format!("{id}: test\n")).collect();
        let s = if ids.len() == 1 { "" } else { "s" };
        text.push_str(&format!("\n{} test{s}\n", ids.len()));
        return match super::print_stdout(&text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        };
    }
    let started = std::time::Instant::now();
    let color = stdout_color();
    let mut out = std::io::stdout().lock();
    let mut column = 0;
    // The first write stdout refused (a full disk): reported at the end,
    // with exit 2, so a report nobody could read does not pass for one.
    let mut lost: Option<std::io::Error> = None;
    let summary = testing::run(&files, &opts, &mut |ev| {
        let wrote = match ev {
            Event::Plan { tests } => {
                let s = if tests == 1 { "" } else { "s" };
                writeln!(out, "\nrunning {tests} test{s}")
            }
            Event::Start { file, name } if !f.quiet => {
                let id = if name.is_empty() {
                    file.to_string()
                } else {
                    format!("{file}::{name}")
                };
                write!(out, "test {id} ... ").and_then(|_| out.flush())
            }
            Event::Start { .. } => Ok(()),
            Event::Done(r) if f.quiet => {
                column += 1;
                let mark = if r.passed() {
                    ".".to_string()
                } else {
                    paint("F", color, "31")
                };
                // cargo's -q wraps its dots at 88 columns.
                let wrap = if column % 88 == 0 { "\n" } else { "" };
                write!(out, "{mark}{wrap}").and_then(|_| out.flush())
            }
            Event::Done(r) => {
                let verdict = if r.passed() {
                    paint("ok", color, "32")
                } else {
                    paint("FAILED", color, "31")
                };
                if f.durations {
                    writeln!(out, "{verdict} ({:.2}s)", r.elapsed.as_secs_f64())
                } else {
                    writeln!(out, "{verdict}")
                }
            }
        };
        if let Err(e) = wrote {
            lost.get_or_insert(e);
        }
    });
    let mut end = String::new();
    if f.quiet && column % 88 != 0 {
        end.push('\n');
    }
    // As cargo test ends its result line: the run's wall-clock time.
    let text = testing::summary_text(&summary, color);
    end.push_str(text.trim_end_matches('\n'));
    end.push_str(&format!(
        "; finished in {:.2}s\n",
        started.elapsed().as_secs_f64()
    ));
    if let Err(e) = write!(out, "{end}").and_then(|_| out.flush()) {
        lost.get_or_insert(e);
    }
    drop(out);
    for file in &summary.empty_files {
        eprintln!("warning: {file} has no fn test_*()");
    }
    if let Some(path) = &f.junit {
        if let Err(e) = std::fs::write(path, testing::junit(&summary)) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if let Some(dir) = &f.report {
        if !super::report::write_test_index(&summary, dir) {
            return ExitCode::from(2);
        }
    }
    if let Some(e) = lost {
        eprintln!("error: cannot write to stdout: {e}");
        return ExitCode::from(2);
    }
    ExitCode::from(summary.exit_code())
}

/// Is a positional word of `xsh test` a name to filter by rather than a
/// path? Only when nothing of that name exists and it does not look like
/// a path (a `.rhai` file or one with a `/`), so a mistyped path is still
/// reported as missing.
fn is_name_filter(p: &std::path::Path) -> bool {
    let word = p.to_string_lossy();
    !p.exists() && !word.contains('/') && !word.ends_with(".rhai")
}
