//! `xsh explore SCRIPT`: every combination of the script's `sim.choose`
//! points (or a seeded sample), on `--jobs` threads, tabled by outcome;
//! `--shard i/n` and `--json` split one exploration over machines and
//! `xsh explore --merge a.json b.json ...` joins them. Also the output
//! flags `xsh run` shares (`--trace`, `--timeline`, `--sequence`).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

use clap::Args;
use xsh_script::explore::report::Report;
use xsh_script::explore::runner::{explore, Job, Progress};
use xsh_script::output::{self, Kind};
use xsh_script::Host;

use super::run::LimitFlags;

/// `--trace`, `--timeline`, `--sequence` (docs/outputs.md), `--report`
/// (docs/report.md).
#[derive(Args, Default, Clone)]
pub struct OutputFlags {
    /// Write every probe call and causal hop as JSON lines.
    #[arg(long, value_name = "FILE.jsonl")]
    pub trace: Option<PathBuf>,
    /// Write a Chrome trace-event timeline (Perfetto, chrome://tracing).
    #[arg(long, value_name = "FILE.json")]
    pub timeline: Option<PathBuf>,
    /// Write a sequence diagram across the layers (.svg or .mmd).
    #[arg(long, value_name = "FILE.svg|.mmd")]
    pub sequence: Option<PathBuf>,
    /// Write the run as one self-contained HTML page: the diagram, every
    /// log linked to its steps, the milestones and how to reproduce it.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
}

impl OutputFlags {
    /// Refuses, before the run rather than after it, a sequence file of an
    /// unknown kind and a destination that cannot be a file (its folder is
    /// missing, or it is a folder).
    pub fn check(&self) -> Result<(), String> {
        for (flag, path) in [
            ("--trace", &self.trace),
            ("--timeline", &self.timeline),
            ("--sequence", &self.sequence),
            ("--report", &self.report),
        ] {
            if let Some(p) = path {
                output::check_destination(p).map_err(|e| format!("{flag} {e}"))?;
            }
        }
        if let Some(p) = &self.sequence {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !matches!(ext, "svg" | "mmd" | "mermaid") {
                return Err(format!(
                    "--sequence {}: a sequence diagram is written as .svg or .mmd",
                    p.display()
                ));
            }
        }
        Ok(())
    }

    /// What the asked-for outputs need the world to record. A report
    /// reads everything: the trace, its hops and frames, and the logs'
    /// text (with each line's writer, which `prepare` turns on).
    pub fn observe(&self) -> xsh_script::observe::Observe {
        let any = self.trace.is_some() || self.timeline.is_some() || self.sequence.is_some();
        if self.report.is_some() {
            output::report::OBSERVE
        } else if any {
            xsh_script::observe::Observe::OUTPUTS
        } else {
            Default::default()
        }
    }

    /// Writes the report of a finished (or failed) run, if one was asked for.
    pub fn write_report(&self, host: &Host, info: &output::report::RunInfo) -> Result<(), String> {
        match &self.report {
            Some(p) => output::report::write(host, info, p).map_err(|e| format!("--report {e}")),
            None => Ok(()),
        }
    }

    /// Writes the asked-for outputs of a finished (or failed) run.
    pub fn write(&self, host: &Host, script: &str) -> Result<(), String> {
        for (path, kind) in [
            (&self.trace, Kind::Trace),
            (&self.timeline, Kind::Timeline),
            (&self.sequence, Kind::Sequence),
        ] {
            if let Some(p) = path {
                output::write(host.sim(), script, kind, p)?;
                eprintln!("{}", wrote(p));
            }
        }
        Ok(())
    }
}

/// `wrote PATH (SIZE)`: what an output flag left on disk, so a user sees
/// where it went and that it is not empty.
pub fn wrote(p: &std::path::Path) -> String {
    let bytes = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    format!("wrote {} ({})", p.display(), size(bytes))
}

/// A byte count as people read it: `812 B`, `14.2 KiB`, `3.1 MiB`.
pub fn size(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} B")
    } else if b < KIB * KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{:.1} MiB", b / (KIB * KIB))
    }
}

/// Tells on stderr which choices a run made, so a seeded pick can be
/// replayed, and which `--choose` names the script never asked for.
pub fn report_choices(host: &Host) {
    let st = &host.state.explore;
    let made = st.trail.borrow();
    if !made.is_empty() {
        let list: Vec<String> = made
            .iter()
            .map(|m| {
                // As --choose reads it: a value holding ',' or '=' escaped.
                let pair = xsh_script::explore::choose_arg(&[(
                    m.name.clone(),
                    m.options[m.index].clone(),
                )]);
                if m.fixed {
                    pair
                } else {
                    format!("{pair} (seeded)")
                }
            })
            .collect();
        eprintln!("choices: {}", list.join(", "));
    }
    for name in st.unused_fixed() {
        eprintln!("warning: --choose {name}=...: the script made no choice named {name:?}");
    }
}

/// Flags of `xsh explore`.
#[derive(Args)]
pub struct Flags {
    /// The script declaring choices (sim.choose), checks (sim.invariant,
    /// assert) and optionally its outcome (sim.outcome).
    #[arg(required_unless_present = "merge")]
    pub script: Option<PathBuf>,
    /// Seed of every variant's world.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Threads, each running its own worlds.
    #[arg(long, short = 'j', default_value_t = default_jobs())]
    pub jobs: usize,
    /// Run this many seeded random combinations instead of all.
    #[arg(long)]
    pub samples: Option<usize>,
    /// Seed of the samples.
    #[arg(long, default_value_t = 1)]
    pub sample_seed: u64,
    /// Above this many combinations, sample this many instead.
    #[arg(long, default_value_t = 20_000)]
    pub max_variants: usize,
    /// Run only shard I of N (1-based), e.g. 2/8 in a batch array job.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Fix choices instead of exploring them: name=value[,...] (repeatable;
    /// a backslash escapes `,` `=` `\` in a value).
    #[arg(long, value_name = "NAME=VALUE,...")]
    pub choose: Vec<String>,
    /// Print the results as JSON (for --merge) instead of the table.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print the table as Markdown.
    #[arg(long)]
    pub markdown: bool,
    /// Merge JSON results of shards and print their table.
    #[arg(long, num_args = 1.., value_name = "FILE.json", conflicts_with = "script")]
    pub merge: Vec<PathBuf>,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[command(flatten)]
    pub limits: LimitFlags,
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `2/8` as (1, 8): 0-based shard index and count.
pub fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("--shard {s:?}: expected I/N with 1 <= I <= N, e.g. 2/8");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || i == 0 || i > n {
        return Err(bad());
    }
    Ok((i - 1, n))
}

/// Prints the results; a stdout that cannot take them (a full disk) is
/// an error to report, not a panic.
fn print(r: &Report, f: &Flags) -> Result<(), String> {
    let text = if f.json {
        r.json()
    } else if f.markdown {
        r.markdown()
    } else {
        r.text()
    };
    super::print_stdout(&text)
}

/// The results' exit code: 1 when a check failed, 2 when they could not
/// be printed.
fn finish(r: &Report, f: &Flags) -> ExitCode {
    if let Err(e) = print(r, f) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    if r.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs `xsh explore`.
pub fn main(f: Flags) -> ExitCode {
    if !f.merge.is_empty() {
        return merge(&f);
    }
    if let Err(msg) = f.limits.check() {
        eprintln!("error: {msg}");
        return ExitCode::from(2);
    }
    let Some(path) = &f.script else {
        eprintln!("error: give a script, or --merge FILE.json ...");
        return ExitCode::from(2);
    };
    let src = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let usage = |e: String| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    };
    let shard = match f.shard.as_deref().map(parse_shard).transpose() {
        Ok(s) => s.unwrap_or((0, 1)),
        Err(e) => return usage(e),
    };
    let fixed = match xsh_script::explore::parse_choose(&f.choose) {
        Ok(m) => m,
        Err(e) => return usage(e),
    };
    if f.jobs == 0 {
        return usage("--jobs must be at least 1".into());
    }
    if f.samples == Some(0) {
        return usage(
            "--samples must be at least 1 (a sample of 0 variants checks nothing)".into(),
        );
    }
    if f.max_variants == 0 {
        return usage("--max-variants must be at least 1".into());
    }
    let mut job = Job::new(&path.display().to_string(), &src, f.limits.config(f.seed));
    job.limits = f.limits.limits();
    job.fixed = fixed;
    job.jobs = f.jobs;
    job.samples = f.samples;
    job.sample_seed = f.sample_seed;
    job.max_variants = f.max_variants;
    job.shard = shard;
    let bar = Bar::new(!f.quiet && std::io::stderr().is_terminal());
    let r = explore(&job, &|p| bar.show(p));
    bar.finish();
    match r {
        Ok(mut report) => {
            report.replay_flags = f.limits.changed();
            // A --choose value the script's choice never offered is a
            // mistake on the command line, not a failing variant.
            if !report.fixed_refused.is_empty() {
                for msg in &report.fixed_refused {
                    eprintln!("error: {msg}");
                }
                return ExitCode::from(2);
            }
            for name in &report.fixed_unused {
                eprintln!("warning: --choose {name}=...: no variant made a choice named {name:?}");
            }
            finish(&report, &f)
        }
        Err(e) => {
            eprint!("{}", e.render(super::color()));
            ExitCode::from(e.exit_code())
        }
    }
}

fn merge(f: &Flags) -> ExitCode {
    let mut parts = Vec::new();
    for p in &f.merge {
        match read_report(p) {
            Ok(r) => parts.push((p.display().to_string(), r)),
            Err(e) => {
                eprintln!("error: {}: {e}", p.display());
                return ExitCode::from(2);
            }
        }
    }
    match Report::merge_named(parts) {
        Ok(mut r) => {
            // The shards' limits are not in their files: the merging
            // command's own flags are what its replays repeat.
            r.replay_flags = f.limits.changed();
            if r.shards.len() < r.shard_count {
                eprintln!(
                    "warning: {} of {} shards merged; the table covers only those",
                    r.shards.len(),
                    r.shard_count
                );
            }
            finish(&r, f)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn read_report(p: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(p).map_err(|e| e.to_string())?;
    Report::from_json(&text)
}

/// A progress bar on stderr, redrawn at most ten times a second. The wall
/// clock here only paces the drawing; nothing of it reaches the results.
struct Bar {
    on: bool,
    start: Instant,
    last: Mutex<Option<Instant>>,
}

impl Bar {
    fn new(on: bool) -> Bar {
        Bar {
            on,
            start: Instant::now(),
            last: Mutex::new(None),
        }
    }

    fn show(&self, p: Progress) {
        if !self.on {
            return;
        }
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| t.elapsed().as_millis() < 100) {
            return;
        }
        *last = Some(Instant::now());
        let width = 30;
        let filled = (p.done * width) / p.total.max(1);
        let rate = p.done as f64 / self.start.elapsed().as_secs_f64().max(1e-3);
        let failed = if p.failed > 0 {
            format!(", {} failed", p.failed)
        } else {
            String::new()
        };
        let mut err = std::io::stderr();
        let _ = write!(
            err,
            "\r[{}{}] {}/{} variants, {rate:.0}/s{failed}   ",
            "#".repeat(filled.min(width)),
            " ".repeat(width - filled.min(width)),
            p.done,
            p.total
        );
        let _ = err.flush();
    }

    fn finish(&self) {
        if self.on {
            eprint!("\r{}\r", " ".repeat(72));
        }
    }
}
