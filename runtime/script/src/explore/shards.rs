//! The results file of `xsh explore --json`: what a shard writes and
//! `--merge` reads back (every variant, one a line, so shards diff well),
//! and the merge of shards into one report.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::report::{Failure, FailureKind, Mode, Report, Variant};
use super::space::Path;
use crate::output::json::{quoted, string};

fn pairs(o: &mut String, v: &[(String, String)]) {
    o.push('[');
    for (i, (k, x)) in v.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push('[');
        string(o, k);
        o.push(',');
        string(o, x);
        o.push(']');
    }
    o.push(']');
}

fn variant_json(o: &mut String, v: &Variant) {
    o.push_str("{\"path\":[");
    for (i, step) in v.path.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        let _ = write!(o, "{step}");
    }
    o.push_str("],\"choices\":");
    pairs(o, &v.choices);
    o.push_str(",\"outcome\":");
    pairs(o, &v.outcome);
    o.push_str(",\"failure\":");
    match &v.failure {
        None => o.push_str("null"),
        Some(f) => {
            o.push_str("{\"kind\":");
            string(o, f.kind.name());
            o.push_str(",\"name\":");
            string(o, &f.name);
            o.push_str(",\"message\":");
            string(o, &f.message);
            o.push('}');
        }
    }
    o.push('}');
}

/// Variants one a line, comma-separated.
fn variants_json(o: &mut String, vs: &[Variant]) {
    for (i, v) in vs.iter().enumerate() {
        variant_json(o, v);
        o.push_str(if i + 1 < vs.len() { ",\n" } else { "\n" });
    }
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
            // An exhaustive walk's "samples" is the `--samples` that reached
            // every combination, if that is why it walked them all.
            Mode::Exhaustive => o.push_str(&format!(
                "\"mode\":\"exhaustive\",\"samples\":{},\"sample_seed\":null,\"auto\":false,",
                self.all_of_samples
                    .map_or("null".to_string(), |n| n.to_string())
            )),
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
        variants_json(&mut o, &self.variants);
        o.push_str("],\n\"minimised\":[\n");
        variants_json(&mut o, &self.minimised);
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
        let shards: BTreeSet<usize> =
            indices(&v["shards"], "\"shards\" is not an array", "a shard")?
                .into_iter()
                .collect();
        let list = |k: &str| -> Result<Vec<Variant>, String> {
            v[k].as_array()
                .ok_or_else(|| format!("\"{k}\" is not an array"))?
                .iter()
                .enumerate()
                .map(|(i, x)| variant_from(x).map_err(|e| format!("{k}[{i}]: {e}")))
                .collect()
        };
        let shard_count = u("shard_count")? as usize;
        if shard_count == 0 {
            return Err("\"shard_count\" is 0: results cover shards of at least 1".into());
        }
        if shards.is_empty() {
            return Err("\"shards\" is empty: results cover at least one shard".into());
        }
        if let Some(i) = shards.iter().find(|&&i| i >= shard_count) {
            // Shards are 0-based in the file, 1-based on the command line.
            return Err(format!(
                "\"shards\" holds {i}, but shards of {shard_count} are numbered 0 to {}",
                shard_count - 1
            ));
        }
        let all_of_samples = match mode {
            Mode::Exhaustive => v["samples"].as_u64().map(|n| n as usize),
            Mode::Sampled { .. } => None,
        };
        Ok(Report {
            script: s("script")?,
            script_hash: s("script_hash")?,
            seed: u("seed")?,
            fixed,
            mode,
            shards,
            shard_count,
            truncated: v["truncated"].as_bool().unwrap_or(false),
            variants: list("variants")?,
            minimised: list("minimised")?,
            all_of_samples,
            fixed_refused: Vec::new(),
            fixed_unused: Vec::new(),
            replay_flags: Vec::new(),
        })
    }

    /// [`Report::merge_named`] with the parts named by their place.
    pub fn merge(parts: Vec<Report>) -> Result<Report, String> {
        Report::merge_named(
            parts
                .into_iter()
                .enumerate()
                .map(|(i, r)| (format!("part {}", i + 1), r))
                .collect(),
        )
    }

    /// Merges shards of one exploration, each named (its file) for the
    /// errors: same script, seed, mode and fixed choices; each shard once;
    /// a variant found twice must agree.
    pub fn merge_named(parts: Vec<(String, Report)>) -> Result<Report, String> {
        let mut it = parts.into_iter();
        let (first, mut m) = it.next().ok_or("nothing to merge")?;
        let mut owner: BTreeMap<usize, String> =
            m.shards.iter().map(|&i| (i, first.clone())).collect();
        for (name, p) in it {
            let diffs = differences(&m, &p);
            if !diffs.is_empty() {
                return Err(format!(
                    "{first} and {name} are not shards of the same exploration: {}",
                    diffs
                        .iter()
                        .map(|(what, a, b)| format!("{what} {a} in {first}, {b} in {name}"))
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
            }
            if let Some(i) = p.shards.iter().find(|i| m.shards.contains(i)) {
                return Err(format!(
                    "shard {} of {} is given twice: in {} and in {name}",
                    i + 1,
                    m.shard_count,
                    owner.get(i).map_or(first.as_str(), String::as_str)
                ));
            }
            for &i in &p.shards {
                owner.insert(i, name.clone());
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

/// What differs between two results that must be of one exploration:
/// (field, the first's value, the second's).
fn differences(a: &Report, b: &Report) -> Vec<(&'static str, String, String)> {
    let mut d = Vec::new();
    if a.script_hash != b.script_hash {
        let what = if a.script == b.script {
            "the script's text (hash)"
        } else {
            "the script"
        };
        d.push((
            what,
            format!("{} ({})", a.script, a.script_hash),
            format!("{} ({})", b.script, b.script_hash),
        ));
    }
    if a.seed != b.seed {
        d.push(("--seed", a.seed.to_string(), b.seed.to_string()));
    }
    if a.mode != b.mode {
        d.push(("the mode", mode_text(&a.mode), mode_text(&b.mode)));
    }
    if a.fixed != b.fixed {
        let text = |r: &Report| {
            let pairs: Vec<(String, String)> = r
                .fixed
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if pairs.is_empty() {
                "none".to_string()
            } else {
                super::choose_arg(&pairs)
            }
        };
        d.push(("--choose", text(a), text(b)));
    }
    if a.shard_count != b.shard_count {
        d.push((
            "the shard count",
            a.shard_count.to_string(),
            b.shard_count.to_string(),
        ));
    }
    d
}

fn mode_text(m: &Mode) -> String {
    match m {
        Mode::Exhaustive => "every combination".into(),
        Mode::Sampled {
            samples,
            seed,
            auto,
        } => format!(
            "--samples {samples} --sample-seed {seed}{}",
            if *auto { " (past --max-variants)" } else { "" }
        ),
    }
}

/// A JSON array of non-negative integers (`missing` if it is no array;
/// `what` names an element that is no number).
fn indices(x: &serde_json::Value, missing: &str, what: &str) -> Result<Vec<usize>, String> {
    x.as_array()
        .ok_or(missing)?
        .iter()
        .map(|i| {
            i.as_u64()
                .map(|i| i as usize)
                .ok_or_else(|| format!("{what} is not a number"))
        })
        .collect()
}

fn variant_from(x: &serde_json::Value) -> Result<Variant, String> {
    let path = indices(&x["path"], "no path", "a path index")?;
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
