//! An exploration's results: every variant's choices, outcome and failure;
//! the outcome table; failures with their smallest choice vector and the
//! command that replays it; JSON that shards write and `--merge` reads.

use std::collections::{BTreeMap, BTreeSet};

use super::outcome;
use super::runner::Job;
use super::space::{size_key, Path};
use crate::diag::ErrorKind;
use crate::output::json::quoted;
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
    fn name(self) -> &'static str {
        match self {
            FailureKind::Invariant => "invariant",
            FailureKind::Assertion => "assertion",
            FailureKind::Error => "error",
        }
    }

    fn parse(s: &str) -> Result<FailureKind, String> {
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
        let mut all: Vec<(String, String)> = v.choices.clone();
        for (k, val) in &self.fixed {
            if !all.iter().any(|(n, _)| n == k) {
                all.push((k.clone(), val.clone()));
            }
        }
        if !all.is_empty() {
            let arg = all
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",");
            cmd.push_str(&format!(" --choose {}", shell_word(&arg)));
        }
        cmd
    }

    /// "47 variants, every combination" and the like.
    pub fn summary(&self) -> String {
        let n = self.variants.len();
        let what = match &self.mode {
            Mode::Exhaustive => "every combination".to_string(),
            Mode::Sampled {
                samples,
                seed,
                auto: false,
            } => format!("{samples} seeded samples (sample seed {seed})"),
            Mode::Sampled { samples, seed, .. } => format!(
                "{samples} seeded samples (sample seed {seed}): more combinations than --max-variants"
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
            s.push_str("; stopped at --max-variants");
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

// ---- JSON ----

fn pairs(o: &mut String, v: &[(String, String)]) {
    o.push('[');
    for (i, (k, x)) in v.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push_str(&format!("[{},{}]", quoted(k), quoted(x)));
    }
    o.push(']');
}

fn variant_json(o: &mut String, v: &Variant) {
    o.push_str("{\"path\":[");
    o.push_str(
        &v.path
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(","),
    );
    o.push_str("],\"choices\":");
    pairs(o, &v.choices);
    o.push_str(",\"outcome\":");
    pairs(o, &v.outcome);
    o.push_str(",\"failure\":");
    match &v.failure {
        None => o.push_str("null"),
        Some(f) => o.push_str(&format!(
            "{{\"kind\":{},\"name\":{},\"message\":{}}}",
            quoted(f.kind.name()),
            quoted(&f.name),
            quoted(&f.message)
        )),
    }
    o.push('}');
}

/// Version of the results format (docs/explore.md).
pub const JSON_VERSION: u64 = 1;

impl Report {
    /// The results as JSON (one variant a line, so shards diff well).
    pub fn json(&self) -> String {
        let mut o = format!(
            "{{\"format\":\"xsh-explore\",\"version\":{JSON_VERSION},\"script\":{},\"script_hash\":{},\"seed\":{},",
            quoted(&self.script),
            quoted(&self.script_hash),
            self.seed
        );
        match &self.mode {
            Mode::Exhaustive => o.push_str(
                "\"mode\":\"exhaustive\",\"samples\":null,\"sample_seed\":null,\"auto\":false,",
            ),
            Mode::Sampled {
                samples,
                seed,
                auto,
            } => o.push_str(&format!(
                "\"mode\":\"sampled\",\"samples\":{samples},\"sample_seed\":{seed},\"auto\":{auto},"
            )),
        }
        o.push_str("\"fixed\":{");
        for (i, (k, v)) in self.fixed.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            o.push_str(&format!("{}:{}", quoted(k), quoted(v)));
        }
        o.push_str(&format!(
            "}},\"shards\":[{}],\"shard_count\":{},\"truncated\":{},\n\"variants\":[\n",
            self.shards
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(","),
            self.shard_count,
            self.truncated
        ));
        for (i, v) in self.variants.iter().enumerate() {
            variant_json(&mut o, v);
            o.push_str(if i + 1 < self.variants.len() {
                ",\n"
            } else {
                "\n"
            });
        }
        o.push_str("],\n\"minimised\":[\n");
        for (i, v) in self.minimised.iter().enumerate() {
            variant_json(&mut o, v);
            o.push_str(if i + 1 < self.minimised.len() {
                ",\n"
            } else {
                "\n"
            });
        }
        o.push_str("]}\n");
        o
    }

    /// Reads results written by [`Report::json`].
    pub fn from_json(text: &str) -> Result<Report, String> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if v["format"] != "xsh-explore" {
            return Err("not xsh explore results (no \"format\": \"xsh-explore\")".into());
        }
        if v["version"].as_u64() != Some(JSON_VERSION) {
            return Err(format!(
                "results version {} (this xsh reads {JSON_VERSION})",
                v["version"]
            ));
        }
        let s = |k: &str| -> Result<String, String> {
            v[k].as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("\"{k}\" is missing or not a string"))
        };
        let u = |k: &str| -> Result<u64, String> {
            v[k].as_u64()
                .ok_or_else(|| format!("\"{k}\" is missing or not a number"))
        };
        let mode = match s("mode")?.as_str() {
            "exhaustive" => Mode::Exhaustive,
            "sampled" => Mode::Sampled {
                samples: u("samples")? as usize,
                seed: u("sample_seed")?,
                auto: v["auto"].as_bool().unwrap_or(false),
            },
            m => return Err(format!("unknown mode {m:?}")),
        };
        let fixed = v["fixed"]
            .as_object()
            .ok_or("\"fixed\" is not an object")?
            .iter()
            .map(|(k, x)| {
                Ok((
                    k.clone(),
                    x.as_str()
                        .ok_or("a fixed value is not a string")?
                        .to_string(),
                ))
            })
            .collect::<Result<BTreeMap<_, _>, String>>()?;
        let shards = v["shards"]
            .as_array()
            .ok_or("\"shards\" is not an array")?
            .iter()
            .map(|x| {
                x.as_u64()
                    .map(|x| x as usize)
                    .ok_or("a shard is not a number")
            })
            .collect::<Result<BTreeSet<_>, _>>()?;
        let list = |k: &str| -> Result<Vec<Variant>, String> {
            v[k].as_array()
                .ok_or_else(|| format!("\"{k}\" is not an array"))?
                .iter()
                .enumerate()
                .map(|(i, x)| variant_from(x).map_err(|e| format!("{k}[{i}]: {e}")))
                .collect()
        };
        Ok(Report {
            script: s("script")?,
            script_hash: s("script_hash")?,
            seed: u("seed")?,
            fixed,
            mode,
            shards,
            shard_count: u("shard_count")? as usize,
            truncated: v["truncated"].as_bool().unwrap_or(false),
            variants: list("variants")?,
            minimised: list("minimised")?,
        })
    }

    /// Merges shards of one exploration: same script, seed, mode and
    /// fixed choices; each shard once; a variant found twice must agree.
    pub fn merge(parts: Vec<Report>) -> Result<Report, String> {
        let mut it = parts.into_iter();
        let mut m = it.next().ok_or("nothing to merge")?;
        for p in it {
            let same = p.script_hash == m.script_hash
                && p.seed == m.seed
                && p.mode == m.mode
                && p.fixed == m.fixed
                && p.shard_count == m.shard_count;
            if !same {
                return Err(format!(
                    "{} and {} are not shards of the same exploration (script, seed, mode, --choose and shard count must match)",
                    m.script, p.script
                ));
            }
            if let Some(i) = p.shards.iter().find(|i| m.shards.contains(i)) {
                return Err(format!(
                    "shard {} of {} is given twice",
                    i + 1,
                    m.shard_count
                ));
            }
            m.shards.extend(p.shards);
            m.truncated |= p.truncated;
            m.minimised.extend(p.minimised);
            let mut by: BTreeMap<Path, Variant> =
                m.variants.drain(..).map(|v| (v.path.clone(), v)).collect();
            for v in p.variants {
                match by.get(&v.path) {
                    Some(old) if *old != v => {
                        return Err(format!(
                            "the variant {} ended differently in two shards: is the script deterministic?",
                            v.choices_text()
                        ))
                    }
                    _ => {
                        by.insert(v.path.clone(), v);
                    }
                }
            }
            m.variants = by.into_values().collect();
        }
        m.minimised.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(m)
    }
}

fn variant_from(x: &serde_json::Value) -> Result<Variant, String> {
    let path = x["path"]
        .as_array()
        .ok_or("no path")?
        .iter()
        .map(|i| {
            i.as_u64()
                .map(|i| i as usize)
                .ok_or("a path index is not a number")
        })
        .collect::<Result<Vec<_>, _>>()?;
    let pairs = |k: &str| -> Result<Vec<(String, String)>, String> {
        x[k].as_array()
            .ok_or_else(|| format!("no {k}"))?
            .iter()
            .map(|p| match (p[0].as_str(), p[1].as_str()) {
                (Some(a), Some(b)) => Ok((a.to_string(), b.to_string())),
                _ => Err(format!("{k}: expected [name, value] pairs")),
            })
            .collect()
    };
    let failure = match &x["failure"] {
        serde_json::Value::Null => None,
        f => Some(Failure {
            kind: FailureKind::parse(f["kind"].as_str().unwrap_or(""))?,
            name: f["name"]
                .as_str()
                .ok_or("failure without name")?
                .to_string(),
            message: f["message"].as_str().unwrap_or("").to_string(),
        }),
    };
    Ok(Variant {
        path,
        choices: pairs("choices")?,
        outcome: pairs("outcome")?,
        failure,
    })
}
