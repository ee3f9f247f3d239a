//! A diagnosis: per domain, the variant of the model closest to its logs
//! and the alignment with it; as a story for people (a dozen lines a
//! domain) and as one JSON document for tools (docs/diagnose.md has the
//! schema).

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::align::{Alignment, At, Divergence, Label, Missing};
use super::history::{Domain, Fact, Host};
use super::{clock, wall_time};
use crate::explain::Build;

/// How a domain's logs compare with the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A variant of the model writes them.
    Fits,
    /// The closest variant differs from them.
    Diverges,
    /// The model cannot replay this domain (the reason).
    NotModelled(String),
}

impl Verdict {
    /// The name in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Fits => "fits",
            Verdict::Diverges => "diverges",
            Verdict::NotModelled(_) => "not modelled",
        }
    }
}

/// The variant chosen for a domain.
#[derive(Clone, Debug, Default)]
pub struct Variant {
    /// Its choices, in the order the replay made them.
    pub choices: Vec<(String, String)>,
    /// Variants run.
    pub runs: usize,
    /// Other variants exactly as close (their choices).
    pub ties: Vec<Vec<(String, String)>>,
    /// The replay script (run it with `xsh run`, adding
    /// `--choose` with the choices, to see the model's logs).
    pub script: String,
}

/// One domain's diagnosis.
#[derive(Clone, Debug)]
pub struct DomainDiagnosis {
    /// Index into the host's domains.
    pub domain: usize,
    /// The verdict.
    pub verdict: Verdict,
    /// The closest variant (none when not modelled).
    pub variant: Option<Variant>,
    /// Its alignment (empty when not modelled).
    pub alignment: Alignment,
}

/// Every domain's diagnosis.
#[derive(Clone, Debug)]
pub struct Diagnosis {
    /// The history.
    pub host: Host,
    /// Per domain, in the host's order.
    pub domains: Vec<DomainDiagnosis>,
}

impl Diagnosis {
    /// Every replayed domain fits, and at least one was.
    pub fn fits(&self) -> bool {
        self.domains.iter().any(|d| d.verdict == Verdict::Fits)
            && self.domains.iter().all(|d| d.verdict != Verdict::Diverges)
    }

    /// The label of a real record, with its domain's diagnosis.
    pub fn label(&self, at: At) -> Option<(&DomainDiagnosis, &Label)> {
        self.domains
            .iter()
            .find_map(|d| d.alignment.label(at).map(|l| (d, l)))
    }

    /// The domain a record belongs to.
    pub fn domain_of(&self, at: At) -> Option<&DomainDiagnosis> {
        self.domains
            .iter()
            .find(|d| self.host.domains[d.domain].records.contains(&at))
    }

    fn place(&self, at: At) -> String {
        let src = &self.host.sources[at.0];
        format!("{}:{}", src.name, src.records[at.1].line())
    }

    fn head(&self, at: At) -> String {
        self.host.sources[at.0].records[at.1]
            .head()
            .trim()
            .chars()
            .take(100)
            .collect()
    }

    fn time(&self, at: At) -> Option<i64> {
        self.host.sources[at.0].records[at.1]
            .time
            .as_deref()
            .and_then(wall_time)
    }

    /// What a label means, in words: its step, the state, the `on_*`
    /// action the log shows (or the default it assumes).
    pub fn describe(&self, dd: &DomainDiagnosis, l: &Label) -> String {
        let mut s = String::new();
        if let Some(n) = l.step {
            let _ = write!(s, "step {n}: ");
        }
        s.push_str(l.probe.unwrap_or("model code outside probes"));
        if let Some(p) = l.via.first() {
            let _ = write!(s, " (from {p})");
        }
        if let Some(st) = l.state {
            let _ = write!(s, "; domain {}", st.name());
        }
        if let Some(r) = &l.restart_reason {
            let key = format!("on_{r}");
            let set = self.host.domains[dd.domain].inferred.setting(&key);
            let _ = write!(
                s,
                "; {key} = {}{}",
                set.value,
                if set.from_log {
                    ""
                } else {
                    " (xend's default: the log does not show the config)"
                }
            );
        }
        if l.moved {
            s.push_str("; out of order");
        }
        s
    }

    /// The text report.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let names: Vec<&str> = self.host.sources.iter().map(|f| f.name.as_str()).collect();
        let _ = writeln!(s, "diagnose: {}", names.join(", "));
        for e in &self.host.events {
            let _ = writeln!(
                s,
                "  host: {} {} {}",
                e.time.map(clock).unwrap_or_else(|| "--:--:--".into()),
                self.place((e.src, e.rec)),
                e.fact.describe()
            );
        }
        for dd in &self.domains {
            s.push('\n');
            self.render_domain(dd, &mut s);
        }
        let diverging = self
            .domains
            .iter()
            .filter(|d| d.verdict == Verdict::Diverges)
            .count();
        let _ = writeln!(
            s,
            "\nverdict: {}",
            if self.fits() {
                "the logs fit the model".to_string()
            } else if diverging > 0 {
                format!("{diverging} domain(s) diverge from the model")
            } else {
                "nothing in these logs could be replayed".to_string()
            }
        );
        s
    }

    fn render_domain(&self, dd: &DomainDiagnosis, s: &mut String) {
        let d = &self.host.domains[dd.domain];
        let _ = writeln!(s, "{} — {}", d.title(), setup(d));
        if let Verdict::NotModelled(why) = &dd.verdict {
            let _ = writeln!(s, "  not modelled: {why}");
        }
        if let Some(v) = &dd.variant {
            let ch: Vec<String> = v.choices.iter().map(|(k, x)| format!("{k}={x}")).collect();
            let _ = writeln!(
                s,
                "  closest variant: {} ({} run{}{})",
                if ch.is_empty() {
                    "the only one".into()
                } else {
                    ch.join(", ")
                },
                v.runs,
                if v.runs == 1 { "" } else { "s" },
                if v.ties.is_empty() {
                    String::new()
                } else {
                    format!(", {} as close", v.ties.len())
                }
            );
        }
        self.render_story(dd, d, s);
        let a = &dd.alignment;
        let lines = d.records.len();
        let _ = writeln!(
            s,
            "  aligned {} of {lines} lines with the model; {} expected but missing, {} not produced, {} out of order, {} time gaps",
            a.matched(),
            a.missing.len(),
            a.not_produced.len(),
            a.labels.iter().filter(|l| l.moved).count(),
            a.gaps.len()
        );
        if let Some(f) = &a.first {
            let _ = writeln!(s, "  first divergence: {}", self.divergence(dd, f));
        }
        if !a.missing.is_empty() {
            let _ = writeln!(s, "  expected but missing: {}", missing_list(&a.missing));
        }
        if !a.not_produced.is_empty() {
            let shown: Vec<String> = a
                .not_produced
                .iter()
                .take(3)
                .map(|&at| format!("{} `{}`", self.place(at), self.head(at)))
                .collect();
            let more = a.not_produced.len().saturating_sub(3);
            let _ = writeln!(
                s,
                "  not produced by the model: {}{}",
                shown.join("; "),
                if more > 0 {
                    format!(" (and {more} more)")
                } else {
                    String::new()
                }
            );
        }
        for g in a.gaps.iter().take(3) {
            let _ = writeln!(s, "  gap: {}", self.gap(g));
        }
        if let Some(m) = a.continues.first() {
            let _ = writeln!(
                s,
                "  the log ends here; the model goes on ({} more lines), next {}",
                a.continues.len(),
                show_missing(m)
            );
        }
        let _ = writeln!(s, "  verdict: {}", dd.verdict.name());
    }

    fn render_story(&self, dd: &DomainDiagnosis, d: &Domain, s: &mut String) {
        let mut i = 0;
        let ev = &d.events;
        while i < ev.len() {
            let e = &ev[i];
            let at = (e.src, e.rec);
            // A run of device releases is one line of the story.
            let mut j = i + 1;
            let mut what = e.fact.describe();
            if let Fact::DeviceReleased(first) = &e.fact {
                let mut devs = vec![first.clone()];
                while let Some(Fact::DeviceReleased(dv)) = ev.get(j).map(|x| &x.fact) {
                    devs.push(dv.clone());
                    j += 1;
                }
                what = format!("devices released: {}", devs.join(" "));
            }
            let label = match dd.alignment.label(at) {
                Some(l) => self.describe(dd, l),
                None if dd.variant.is_some() => "not modelled here".into(),
                None => "not modelled".into(),
            };
            let _ = writeln!(
                s,
                "    {} {:<24} {:<34} {}",
                e.time.map(clock).unwrap_or_else(|| "        ".into()),
                self.place(at),
                what,
                label
            );
            i = j;
        }
    }

    fn divergence(&self, dd: &DomainDiagnosis, f: &Divergence) -> String {
        let a = &dd.alignment;
        match *f {
            Divergence::Missing(n) => {
                let m = &a.missing[n];
                let after = m
                    .after
                    .map(|at| format!("after {} `{}`, ", self.place(at), self.head(at)))
                    .unwrap_or_default();
                format!(
                    "{after}the model writes {} and the log does not",
                    show_missing(m)
                )
            }
            Divergence::NotProduced(at) => format!(
                "{} `{}`: the model does not write this here",
                self.place(at),
                self.head(at)
            ),
            Divergence::Moved(at) => {
                let l = a
                    .label(at)
                    .map(|l| self.describe(dd, l))
                    .unwrap_or_default();
                format!(
                    "{} `{}` is out of the model's order ({l})",
                    self.place(at),
                    self.head(at)
                )
            }
            Divergence::Gap(n) => self.gap(&a.gaps[n]),
        }
    }

    fn gap(&self, g: &super::Gap) -> String {
        format!(
            "{} → {}: {} in the log, {} in the model",
            self.place(g.from),
            self.place(g.to),
            secs(g.log_secs),
            secs(g.model_secs)
        )
    }
}

fn secs(n: i64) -> String {
    if n >= 120 {
        format!("{} min {} s", n / 60, n % 60)
    } else {
        format!("{n} s")
    }
}

fn show_missing(m: &Missing) -> String {
    format!(
        "{}`{}` ({}{}:{})",
        m.wall.map(|w| format!("{} ", clock(w))).unwrap_or_default(),
        m.text.chars().take(90).collect::<String>(),
        m.step.map(|n| format!("step {n}, ")).unwrap_or_default(),
        m.model_file,
        m.model_line
    )
}

fn missing_list(ms: &[Missing]) -> String {
    let mut out: Vec<String> = ms
        .iter()
        .take(4)
        .map(|m| {
            format!(
                "{}`{}`",
                m.step.map(|n| format!("step {n} ")).unwrap_or_default(),
                m.text.chars().take(60).collect::<String>()
            )
        })
        .collect();
    if ms.len() > 4 {
        out.push(format!("and {} more", ms.len() - 4));
    }
    out.join(", ")
}

/// The replay's inputs in a line.
fn setup(d: &Domain) -> String {
    let inf = &d.inferred;
    let build = match inf.build {
        Some(Build::Ovm) => "ovm-4.4.4 line numbers",
        Some(Build::Upstream) => "upstream-4.4.4 line numbers",
        Some(Build::Both) => "line numbers of either build",
        Some(Build::Neither) => "line numbers of neither build",
        None => "no xend line numbers",
    };
    let kind = match inf.hvm {
        Some(true) => "HVM",
        Some(false) => "PV",
        None => "type not shown",
    };
    let devices = if inf.devices.is_empty() {
        "devices not shown".to_string()
    } else {
        format!("devices {}", inf.devices.join(" "))
    };
    let on: Vec<String> = ["on_poweroff", "on_reboot", "on_crash"]
        .iter()
        .map(|k| {
            let st = inf.setting(k);
            format!("{k}={}{}", st.value, if st.from_log { "" } else { "*" })
        })
        .collect();
    format!(
        "{}, {build}, {kind}; {devices}; {} (* default)",
        d.toolstack().name(),
        on.join(" ")
    )
}

impl Diagnosis {
    fn at_json(&self, at: At) -> Value {
        json!({
            "file": self.host.sources[at.0].name,
            "line": self.host.sources[at.0].records[at.1].line(),
            "time": self.time(at).map(xsh_sim::time::format_datetime),
            "text": self.head(at),
        })
    }

    fn label_json(&self, dd: &DomainDiagnosis, l: &Label) -> Value {
        let mut v = self.at_json(l.at);
        let o = v.as_object_mut().expect("an object");
        o.insert("probe".into(), json!(l.probe));
        o.insert("step".into(), json!(l.step));
        o.insert("state".into(), json!(l.state.map(|s| s.name())));
        o.insert("via".into(), json!(l.via));
        o.insert(
            "model".into(),
            json!({"file": l.model_file, "line": l.model_line,
                   "time": l.model_wall.map(xsh_sim::time::format_datetime)}),
        );
        o.insert("label".into(), json!(self.describe(dd, l)));
        o.insert("moved".into(), json!(l.moved));
        if let Some(r) = &l.restart_reason {
            let key = format!("on_{r}");
            let set = self.host.domains[dd.domain].inferred.setting(&key);
            o.insert(
                "action".into(),
                json!({"setting": key, "value": set.value, "from_log": set.from_log}),
            );
        }
        v
    }

    fn missing_json(&self, m: &Missing) -> Value {
        json!({
            "model": {"file": m.model_file, "line": m.model_line},
            "text": m.text,
            "probe": m.probe,
            "step": m.step,
            "time": m.wall.map(xsh_sim::time::format_datetime),
            "after": m.after.map(|at| self.at_json(at)),
        })
    }

    /// The JSON document (docs/diagnose.md).
    pub fn render_json(&self) -> String {
        let domains: Vec<Value> = self.domains.iter().map(|dd| self.domain_json(dd)).collect();
        let host: Vec<Value> = self
            .host
            .events
            .iter()
            .map(|e| {
                let mut v = self.at_json((e.src, e.rec));
                v["what"] = json!(e.fact.describe());
                v
            })
            .collect();
        let doc = json!({
            "schema": "xsh-diagnose/1",
            "files": self.host.sources.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
            "verdict": if self.fits() { "fits" } else { "diverges" },
            "host": host,
            "domains": domains,
        });
        let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
        s.push('\n');
        s
    }

    fn domain_json(&self, dd: &DomainDiagnosis) -> Value {
        let d = &self.host.domains[dd.domain];
        let a = &dd.alignment;
        let inf = &d.inferred;
        let settings: serde_json::Map<String, Value> = ["on_poweroff", "on_reboot", "on_crash"]
            .iter()
            .map(|k| {
                let st = inf.setting(k);
                (
                    k.to_string(),
                    json!({"value": st.value, "from_log": st.from_log}),
                )
            })
            .collect();
        let story: Vec<Value> = d
            .events
            .iter()
            .map(|e| {
                let at = (e.src, e.rec);
                let mut v = self.at_json(at);
                v["what"] = json!(e.fact.describe());
                v["label"] = json!(a.label(at).map(|l| self.describe(dd, l)));
                v
            })
            .collect();
        let first = a.first.as_ref().map(|f| {
            let kind = match f {
                Divergence::Missing(_) => "missing",
                Divergence::NotProduced(_) => "not_produced",
                Divergence::Moved(_) => "out_of_order",
                Divergence::Gap(_) => "gap",
            };
            json!({"kind": kind, "text": self.divergence(dd, f)})
        });
        json!({
            "name": d.name,
            "uuid": d.uuid,
            "domids": d.domids,
            "toolstack": d.toolstack().name(),
            "build": inf.build.map(|b| b.name()),
            "type": inf.hvm.map(|h| if h { "hvm" } else { "pv" }),
            "devices": inf.devices,
            "settings": settings,
            "verdict": dd.verdict.name(),
            "not_modelled": match &dd.verdict { Verdict::NotModelled(w) => Some(w.clone()), _ => None },
            "variant": dd.variant.as_ref().map(|v| json!({
                "choices": v.choices.iter().map(|(k, x)| json!([k, x])).collect::<Vec<_>>(),
                "runs": v.runs,
                "ties": v.ties.iter().map(|t| t.iter().map(|(k, x)| json!([k, x])).collect::<Vec<_>>()).collect::<Vec<_>>(),
                "script": v.script,
            })),
            "story": story,
            "lines": a.labels.iter().map(|l| self.label_json(dd, l)).collect::<Vec<_>>(),
            "first_divergence": first,
            "missing": a.missing.iter().map(|m| self.missing_json(m)).collect::<Vec<_>>(),
            "not_produced": a.not_produced.iter().map(|&at| self.at_json(at)).collect::<Vec<_>>(),
            "outside": a.outside.len(),
            "gaps": a.gaps.iter().map(|g| json!({
                "from": self.at_json(g.from), "to": self.at_json(g.to),
                "log_seconds": g.log_secs, "model_seconds": g.model_secs,
            })).collect::<Vec<_>>(),
            "continues": a.continues.iter().map(|m| self.missing_json(m)).collect::<Vec<_>>(),
        })
    }
}

impl Diagnosis {
    /// `xsh logs explain` from the model: every record of source `si`
    /// with the probe and step the closest variant's run wrote it at, the
    /// domain's state and the `on_*` action it carries out — or "not
    /// modelled" where no run wrote it. `tally` is the line-number check
    /// of the same records (which build's xend numbers they carry).
    pub fn explain_text(&self, si: usize, tally: &crate::explain::Tally) -> String {
        let src = &self.host.sources[si];
        let mut modelled = 0;
        let mut lines_mapped = 0;
        let mut lines = 0;
        let mut body = String::new();
        for (ri, r) in src.records.iter().enumerate() {
            let Some(first) = r.lines.first() else {
                continue;
            };
            lines += r.lines.len();
            let (who, what, layer) = match self.label((si, ri)) {
                Some((dd, l)) => {
                    modelled += 1;
                    if l.probe.is_some() {
                        lines_mapped += r.lines.len();
                    }
                    let layer = l
                        .probe
                        .and_then(xsh_sim::probe::Probe::by_name)
                        .map_or("-", |p| p.layer().prefix());
                    (
                        l.probe.unwrap_or("(model code outside probes)").to_string(),
                        self.describe(dd, l),
                        layer,
                    )
                }
                None => {
                    let why = match self.domain_of((si, ri)) {
                        Some(dd) => match &dd.verdict {
                            Verdict::NotModelled(w) => format!("not modelled: {w}"),
                            _ => "not modelled: the closest variant does not write it".into(),
                        },
                        None => "not modelled: no domain's story".into(),
                    };
                    ("not modelled".into(), why, "-")
                }
            };
            let place = r
                .module
                .as_ref()
                .zip(r.lineno)
                .map(|(m, n)| format!(" ({m}:{n})"))
                .unwrap_or_default();
            let _ = write!(
                body,
                "{:>5}  {:<6} {:<46} {}{}\n       {}\n",
                first.line,
                layer,
                who,
                what,
                place,
                first.text.trim_end()
            );
            for l in r.lines.iter().skip(1) {
                let _ = writeln!(body, "{:>5}  | {}", l.line, l.text.trim_end());
            }
        }
        let mut s = format!(
            "{}: {} records, {lines} lines; {modelled} records modelled, {lines_mapped} lines mapped to a probe (labels from the model's closest variant)\n",
            src.name,
            src.records.len()
        );
        if tally.builds.iter().sum::<usize>() > 0 {
            let _ = writeln!(s, "line numbers: {}", tally.build().name());
        }
        s.push_str(&body);
        s
    }

    /// `xsh logs explain --json` from the model: one object per record.
    pub fn explain_json(&self, si: usize) -> String {
        let mut s = String::new();
        for ri in 0..self.host.sources[si].records.len() {
            let v = match self.label((si, ri)) {
                Some((dd, l)) => self.label_json(dd, l),
                None => {
                    let mut v = self.at_json((si, ri));
                    v["label"] = json!("not modelled");
                    v
                }
            };
            s.push_str(&v.to_string());
            s.push('\n');
        }
        s
    }
}
