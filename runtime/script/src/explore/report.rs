//! An exploration's results: every variant's choices, outcome and failure;
//! the outcome table; failures with their smallest choice vector and the
//! command that replays it (the JSON of shards is in `shards.rs`).

use std::collections::{BTreeMap, BTreeSet};

use super::outcome;
use super::runner::Job;
use super::space::{size_key, Path};
use crate::diag::ErrorKind;
use crate::ScriptError;

/// What went wrong in a variant.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailureKind {
    /// A `sim.invariant` was false.
    Invariant,
    /// An `assert` (or stdlib assertion) failed.
    Assertion,
    /// Any other script error or a limit.
    Error,
}

impl FailureKind {
    /// Its name in the results file.
    pub(super) fn name(self) -> &'static str {
        match self {
            FailureKind::Invariant => "invariant",
            FailureKind::Assertion => "assertion",
            FailureKind::Error => "error",
        }
    }

    /// A name from the results file.
    pub(super) fn parse(s: &str) -> Result<FailureKind, String> {
        Ok(match s {
            "invariant" => FailureKind::Invariant,
            "assertion" => FailureKind::Assertion,
            "error" => FailureKind::Error,
            _ => return Err(format!("unknown failure kind {s:?}")),
        })
    }
}

/// A failed check.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// Which kind.
    pub kind: FailureKind,
    /// The invariant's name, or the error's first line.
    pub name: String,
    /// The full message (with its line in the script).
    pub message: String,
}

impl Failure {
    /// A script error as a failure: an assertion or an error, named by its
    /// first line and the script line it was raised at.
    pub fn of_error(e: &ScriptError) -> Failure {
        let kind = if e.kind == ErrorKind::Assertion {
            FailureKind::Assertion
        } else {
            FailureKind::Error
        };
        let at = e
            .pos
            .map(|(l, _)| format!(" (line {l})"))
            .unwrap_or_default();
        let title = e.title();
        Failure {
            kind,
            name: format!("{title}{at}"),
            message: format!("{title}{at}"),
        }
    }

    /// "invariant qemu_gone", "assertion: ... (line 40)".
    pub fn label(&self) -> String {
        match self.kind {
            FailureKind::Invariant => format!("invariant {} violated", self.name),
            _ => format!("{}: {}", self.kind.name(), self.name),
        }
    }
}

/// One variant's result.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// The option index taken at each choice point.
    pub path: Path,
    /// The same as `name=value`, in the order the choices were made.
    pub choices: Vec<(String, String)>,
    /// The outcome signature.
    pub outcome: Vec<(String, String)>,
    /// A failed invariant, assertion or error.
    pub failure: Option<Failure>,
}

impl Variant {
    /// `a=x, b=y`.
    pub fn choices_text(&self) -> String {
        if self.choices.is_empty() {
            return "(no choices)".into();
        }
        self.choices
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Every combination, or a sample.
#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    /// Every path of the choice tree.
    Exhaustive,
    /// Seeded random paths.
    Sampled {
        /// Draws.
        samples: usize,
        /// Their seed.
        seed: u64,
        /// Chosen because the space was larger than `--max-variants`.
        auto: bool,
    },
}

/// An exploration's (or a merge of shards') results.
#[derive(Clone, Debug)]
pub struct Report {
    /// The script's name.
    pub script: String,
    /// A hash of its source (merging refuses different scripts).
    pub script_hash: String,
    /// The world seed.
    pub seed: u64,
    /// Choices fixed by `--choose`.
    pub fixed: BTreeMap<String, String>,
    /// Exhaustive or sampled.
    pub mode: Mode,
    /// Shards these results cover, and of how many.
    pub shards: BTreeSet<usize>,
    /// Shard count.
    pub shard_count: usize,
    /// The walk stopped at `--max-variants`.
    pub truncated: bool,
    /// Variants, by path.
    pub variants: Vec<Variant>,
    /// Sampled runs: each failure shrunk to its smallest vector.
    pub minimised: Vec<Variant>,
    /// `--samples N` that reached every combination: N, and the walk
    /// ran each combination once instead.
    pub all_of_samples: Option<usize>,
    /// `--choose` values that no variant's choice offered (the message of
    /// the first refusal): a usage error. Not in the results file.
    pub fixed_refused: Vec<String>,
    /// `--choose` names no variant asked for. Not in the results file.
    pub fixed_unused: Vec<String>,
    /// Limit flags the exploration ran with that a replay must repeat
    /// (`--max-operations 5000`), set by the command line. Not in the
    /// results file.
    pub replay_flags: Vec<String>,
}

/// A row of the outcome table.
pub struct Row<'a> {
    /// The outcome.
    pub outcome: String,
    /// Variants ending so.
    pub count: usize,
    /// The smallest choice vector reaching it.
    pub smallest: &'a Variant,
}

/// A violated check, with its smallest vector.
pub struct FailureRow {
    /// The failure.
    pub failure: Failure,
    /// Variants failing it.
    pub count: usize,
    /// Its smallest choice vector.
    pub smallest: Variant,
}

impl Report {
    /// A report of one job's variants.
    pub fn new(job: &Job, mode: Mode, variants: Vec<Variant>) -> Report {
        Report {
            script: job.name.clone(),
            script_hash: format!("{:016x}", super::fnv(&job.src)),
            seed: job.config.seed,
            fixed: job.fixed.clone(),
            mode,
            shards: BTreeSet::from([job.shard.0]),
            shard_count: job.shard.1.max(1),
            truncated: false,
            variants,
            minimised: Vec::new(),
            all_of_samples: None,
            fixed_refused: Vec::new(),
            fixed_unused: Vec::new(),
            replay_flags: Vec::new(),
        }
    }

    /// Distinct outcomes, most frequent first (then by text).
    pub fn rows(&self) -> Vec<Row<'_>> {
        let mut by: BTreeMap<String, (usize, &Variant)> = BTreeMap::new();
        for v in &self.variants {
            let key = outcome::text(&v.outcome);
            let e = by.entry(key).or_insert((0, v));
            e.0 += 1;
            if size_key(&v.path) < size_key(&e.1.path) {
                e.1 = v;
            }
        }
        let mut rows: Vec<Row> = by
            .into_iter()
            .map(|(outcome, (count, smallest))| Row {
                outcome,
                count,
                smallest,
            })
            .collect();
        rows.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.outcome.cmp(&b.outcome))
        });
        rows
    }

    /// Each failing variant with the smallest vector per distinct failure.
    pub fn smallest_failures(&self) -> Vec<Variant> {
        self.failure_rows_from(&self.variants)
            .into_iter()
            .map(|r| r.smallest)
            .collect()
    }

    fn failure_rows_from(&self, vs: &[Variant]) -> Vec<FailureRow> {
        let mut by: BTreeMap<(FailureKind, String), FailureRow> = BTreeMap::new();
        for v in vs {
            let Some(f) = &v.failure else { continue };
            let e = by
                .entry((f.kind, f.name.clone()))
                .or_insert_with(|| FailureRow {
                    failure: f.clone(),
                    count: 0,
                    smallest: v.clone(),
                });
            e.count += 1;
            if size_key(&v.path) < size_key(&e.smallest.path) {
                e.smallest = v.clone();
            }
        }
        by.into_values().collect()
    }

    /// Failures, each with its count and smallest (for samples: shrunk)
    /// choice vector.
    pub fn failures(&self) -> Vec<FailureRow> {
        let mut rows = self.failure_rows_from(&self.variants);
        for r in &mut rows {
            let key = (r.failure.kind, &r.failure.name);
            for m in &self.minimised {
                let Some(f) = &m.failure else { continue };
                if (f.kind, &f.name) == key && size_key(&m.path) < size_key(&r.smallest.path) {
                    r.smallest = m.clone();
                }
            }
        }
        rows
    }

    /// The command that replays a variant.
    pub fn replay(&self, v: &Variant) -> String {
        let mut cmd = format!("xsh run {}", shell_word(&self.script));
        if self.seed != 1 {
            cmd.push_str(&format!(" --seed {}", self.seed));
        }
        for f in &self.replay_flags {
            cmd.push(' ');
            cmd.push_str(f);
        }
        let mut all: Vec<(String, String)> = v.choices.clone();
        for (k, val) in &self.fixed {
            if !all.iter().any(|(n, _)| n == k) {
                all.push((k.clone(), val.clone()));
            }
        }
        if !all.is_empty() {
            // Escaped so a value holding `,` `=` or `\` reads back as itself.
            let arg = super::choose_arg(&all);
            cmd.push_str(&format!(" --choose {}", shell_word(&arg)));
        }
        cmd
    }

    /// "47 variants, every combination" and the like.
    pub fn summary(&self) -> String {
        let n = self.variants.len();
        let samples = |n: usize| format!("{n} seeded sample{}", if n == 1 { "" } else { "s" });
        let what = match &self.mode {
            Mode::Exhaustive => match self.all_of_samples {
                None => "every combination".to_string(),
                Some(n) => format!("every combination, each once: --samples {n} reaches them all"),
            },
            Mode::Sampled {
                samples: n,
                seed,
                auto: false,
            } => format!("{} (sample seed {seed})", samples(*n)),
            Mode::Sampled {
                samples: n, seed, ..
            } => format!(
                "{} (sample seed {seed}): more combinations than --max-variants",
                samples(*n)
            ),
        };
        let mut s = format!(
            "{n} variant{} ({what}), {} outcome{}",
            if n == 1 { "" } else { "s" },
            self.rows().len(),
            if self.rows().len() == 1 { "" } else { "s" }
        );
        if self.shard_count > 1 && self.shards.len() < self.shard_count {
            s.push_str(&format!(
                "; shard{} {} of {}",
                if self.shards.len() == 1 { "" } else { "s" },
                self.shards
                    .iter()
                    .map(|i| (i + 1).to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                self.shard_count
            ));
        }
        if self.truncated {
            // A walk that --samples turned into one stops at that many.
            match self.all_of_samples {
                Some(n) => s.push_str(&format!("; stopped at --samples {n}")),
                None => s.push_str("; stopped at --max-variants"),
            }
        }
        s
    }

    /// The table as plain text.
    pub fn text(&self) -> String {
        let mut o = format!(
            "xsh explore {} (seed {}): {}\n",
            self.script,
            self.seed,
            self.summary()
        );
        for (i, r) in self.rows().iter().enumerate() {
            o.push_str(&format!(
                "\n#{:<3} {} variant{}\n     outcome:  {}\n     smallest: {}\n",
                i + 1,
                r.count,
                if r.count == 1 { "" } else { "s" },
                r.outcome,
                r.smallest.choices_text()
            ));
        }
        o.push_str(&self.failures_text(false));
        o
    }

    /// The table as Markdown (what docs/ keeps).
    pub fn markdown(&self) -> String {
        let mut o = format!(
            "Generated by `xsh explore {} --markdown` (seed {}): {}.\n\n| # | variants | outcome | smallest choice vector |\n|---|---|---|---|\n",
            self.script,
            self.seed,
            self.summary()
        );
        for (i, r) in self.rows().iter().enumerate() {
            o.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                i + 1,
                r.count,
                md(&r.outcome),
                md(&r.smallest.choices_text())
            ));
        }
        o.push_str(&self.failures_text(true));
        o
    }

    fn failures_text(&self, markdown: bool) -> String {
        let rows = self.failures();
        if rows.is_empty() {
            return "\nNo invariant or assertion failed.\n".into();
        }
        let mut o = format!(
            "\n{} check{} failed:\n",
            rows.len(),
            if rows.len() == 1 { "" } else { "s" }
        );
        for r in rows {
            let how = match self.mode {
                Mode::Exhaustive => "smallest",
                Mode::Sampled { .. } => "minimised",
            };
            if markdown {
                o.push_str(&format!(
                    "\n- **{}** in {} variant{}; {how}: {}\n  replay: `{}`\n",
                    md(&r.failure.label()),
                    r.count,
                    if r.count == 1 { "" } else { "s" },
                    md(&r.smallest.choices_text()),
                    self.replay(&r.smallest)
                ));
            } else {
                o.push_str(&format!(
                    "\n  {} in {} variant{}\n     {how}: {}\n     replay: {}\n",
                    r.failure.label(),
                    r.count,
                    if r.count == 1 { "" } else { "s" },
                    r.smallest.choices_text(),
                    self.replay(&r.smallest)
                ));
            }
        }
        o
    }

    /// Did anything fail?
    pub fn failed(&self) -> bool {
        self.variants.iter().any(|v| v.failure.is_some())
    }
}

/// Quotes a word for a POSIX shell when it needs it.
pub fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-=,./:+@%".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Text safe in a Markdown table cell.
fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
