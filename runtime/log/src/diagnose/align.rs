//! One domain's real records aligned with the logs one model run wrote.
//!
//! Each real file is aligned with the model's log of the same kind
//! (xend.log, the Xen console, the domain's qemu-dm and console logs) by
//! the longest common subsequence of their events (`diff.rs`), keyed as
//! `diff` keys them but without the dumps a line carries (a create
//! request's SXP, a device's dict: configuration, not steps). Every model
//! line knows the probe call that wrote it (`xsh_sim::logs::Origin`), so
//! a matched real line gets that call's probe, its step on the seed's path,
//! the calls it was made from and the domain's state — from the run.
//!
//! Then what does not fit: model lines inside the stretch the real log
//! covers that it lacks (a step expected but missing), or after its last
//! matched line but before the file's last line (the log went on without
//! them); real lines inside that stretch the model did not write; lines
//! out of order; and time gaps one side has and the other cannot explain.

use xsh_sim::probe::Probe;
use xsh_sim::trace::{CallRecord, NO_CALL};
use xsh_sim::Sim;

use crate::diff::{diff_events, Op};
use crate::events::{normalize, Event};
use crate::format::{Format, Kind};
use crate::record::Record;

use super::history::{Domain, Host};
use super::steps::{callers, State, Steps};
use super::wall_time;

/// A real record, as (source, record).
pub type At = (usize, usize);

/// A real line the model wrote too.
#[derive(Clone, Debug)]
pub struct Label {
    /// The real record.
    pub at: At,
    /// The model's log and its 1-based line.
    pub model_file: String,
    /// The model line.
    pub model_line: u64,
    /// The probe whose code wrote it (`None`: model code outside probes).
    pub probe: Option<&'static str>,
    /// Its step on the seed's path.
    pub step: Option<u8>,
    /// The domain's state when the call began.
    pub state: Option<State>,
    /// The probes of the calls it was made from, innermost first.
    pub via: Vec<&'static str>,
    /// When the restart thread ran it: the shutdown reason whose `on_*`
    /// action it carries out.
    pub restart_reason: Option<String>,
    /// The model's wall-clock second of the line.
    pub model_wall: Option<i64>,
    /// In both, but in another order.
    pub moved: bool,
}

/// A model line the real log does not have.
#[derive(Clone, Debug)]
pub struct Missing {
    /// The model's log.
    pub model_file: String,
    /// Its line (1-based).
    pub model_line: u64,
    /// The line's text.
    pub text: String,
    /// Its probe.
    pub probe: Option<&'static str>,
    /// Its step.
    pub step: Option<u8>,
    /// Its wall-clock second, on the real log's clock.
    pub wall: Option<i64>,
    /// The real record matched just before it, in the same file.
    pub after: Option<At>,
    /// The real file it is missing from.
    pub src: usize,
    /// After the file's last matched line: the log stopped following
    /// the model there (one departure, however many lines follow).
    pub trailing: bool,
}

/// Time that passes on one side and not the other between two matched lines.
#[derive(Clone, Debug)]
pub struct Gap {
    /// The earlier real record.
    pub from: At,
    /// The later one.
    pub to: At,
    /// Seconds between them in the real log.
    pub log_secs: i64,
    /// Seconds between them in the model's run.
    pub model_secs: i64,
}

/// Where the log first leaves the model's path.
#[derive(Clone, Debug)]
pub enum Divergence {
    /// A model line it lacks (index into `missing`).
    Missing(usize),
    /// A real line the model does not write there.
    NotProduced(At),
    /// A real line the model writes elsewhere.
    Moved(At),
    /// An unexplained time gap (index into `gaps`).
    Gap(usize),
}

/// One domain against one model run.
#[derive(Clone, Debug, Default)]
pub struct Alignment {
    /// Real lines the model wrote, in real order per file.
    pub labels: Vec<Label>,
    /// Model lines expected but missing.
    pub missing: Vec<Missing>,
    /// Model lines after the real log's end: where the model goes on.
    pub continues: Vec<Missing>,
    /// Real lines inside the story the model did not write.
    pub not_produced: Vec<At>,
    /// Real lines outside the stretch the model's lines cover (before its
    /// first, or in a file the model writes nothing like).
    pub outside: Vec<At>,
    /// Unexplained time gaps.
    pub gaps: Vec<Gap>,
    /// Real lines after the last one the model wrote too, in a file that
    /// goes on where the model stopped following it (in `not_produced`
    /// too).
    pub trailing_real: Vec<At>,
    /// The first divergence.
    pub first: Option<Divergence>,
}

impl Alignment {
    /// Matched lines in order.
    pub fn matched(&self) -> usize {
        self.labels.iter().filter(|l| !l.moved).count()
    }

    /// Everything that does not fit.
    pub fn divergences(&self) -> usize {
        self.missing.len()
            + self.not_produced.len()
            + self.gaps.len()
            + self.labels.iter().filter(|l| l.moved).count()
    }

    /// Fits: no divergence.
    pub fn fits(&self) -> bool {
        self.divergences() == 0 && self.matched() > 0
    }

    /// The label of a real record, if the model wrote it.
    pub fn label(&self, at: At) -> Option<&Label> {
        self.labels.iter().find(|l| l.at == at)
    }

    /// How good a fit this is: more lines matched, fewer departures.
    /// The model lines a log lacks after its last matched one count once
    /// per file: where the log stops following the model is one departure
    /// (a xend killed before the cleanup), not one per line it skipped.
    pub fn score(&self) -> (i64, i64) {
        let m = self.matched() as i64;
        let mut files: Vec<usize> = self
            .missing
            .iter()
            .filter(|x| x.trailing)
            .map(|x| x.src)
            .collect();
        files.dedup();
        let inside = self.missing.iter().filter(|x| !x.trailing).count();
        // Real lines past the model's last are one departure per file.
        files.extend(self.trailing_real.iter().map(|at| at.0));
        files.sort_unstable();
        files.dedup();
        let d = (self.not_produced.len() - self.trailing_real.len()
            + self.gaps.len()
            + inside
            + files.len()
            + self.labels.iter().filter(|l| l.moved).count()) as i64;
        (m - d, -d)
    }
}

/// The key a record aligns by: `diff`'s (format, level, module, message
/// without times, pids, domids, uuids; a dump by its frames), with the
/// configuration dumps a message carries cut off.
pub fn key(r: &Record) -> String {
    crate::events::key_with_head(r, &normalize(cut_details(r.head().trim())))
}

fn cut_details(m: &str) -> &str {
    let cut = ["(['", "({", ": {", " {'", ": [", " ['"]
        .iter()
        .filter_map(|p| m.find(p))
        .min()
        .unwrap_or(m.len());
    m[..cut].trim_end()
}

fn event_of(r: &Record) -> Event {
    Event {
        key: key(r),
        line: r.line(),
        format: r.format,
        text: r.head().trim_end().to_string(),
    }
}

fn is_event(r: &Record) -> bool {
    !matches!(r.kind, Kind::Blank | Kind::Markup | Kind::Unparsed)
}

/// A model log, parsed, with each record's writer.
struct ModelLog {
    name: String,
    records: Vec<Record>,
    calls: Vec<xsh_sim::trace::CallId>,
    /// Each record's rank among the records its call wrote.
    nth: Vec<usize>,
}

fn model_logs(sim: &Sim, format: Format, domain: &Domain) -> Vec<ModelLog> {
    let logs = sim.logs.borrow();
    let mut picks: Vec<(&str, &xsh_sim::logs::LogSink)> = Vec::new();
    match format {
        Format::Xend => picks.push(("xend.log", &logs.xend)),
        Format::XenConsole => picks.push(("xen.log", &logs.xen)),
        Format::QemuDm | Format::LinuxConsole | Format::Xl => {
            let prefix = match format {
                Format::QemuDm => "qemu-dm-",
                Format::Xl => "xl-",
                _ => "console-",
            };
            for (n, s) in logs.files.iter() {
                let own = domain
                    .name
                    .as_deref()
                    .is_none_or(|d| n.strip_prefix(prefix).is_some_and(|r| r.starts_with(d)));
                if n.starts_with(prefix) && own {
                    picks.push((n.as_str(), s));
                }
            }
        }
        // Journals are not modelled.
        _ => {}
    }
    picks
        .into_iter()
        .map(|(name, sink)| {
            let records: Vec<Record> = crate::records_of(sink.text().as_bytes(), name, None)
                .into_iter()
                .filter(is_event)
                .collect();
            let calls: Vec<_> = records
                .iter()
                .map(|r| {
                    sink.origin_of_line(r.line().saturating_sub(1))
                        .unwrap_or(NO_CALL)
                })
                .collect();
            let nth = nth_of(&calls);
            ModelLog {
                name: name.to_string(),
                records,
                calls,
                nth,
            }
        })
        .collect()
}

/// Each line's rank among the lines its call wrote (a call's first line
/// and its later ones can be different steps).
pub(crate) fn nth_of(calls: &[xsh_sim::trace::CallId]) -> Vec<usize> {
    let mut seen: std::collections::HashMap<xsh_sim::trace::CallId, usize> = Default::default();
    calls
        .iter()
        .map(|c| {
            let n = seen.entry(*c).or_default();
            *n += 1;
            if *c == NO_CALL {
                0
            } else {
                *n - 1
            }
        })
        .collect()
}

/// Aligns domain `d` of `host` with the world `sim` after its run.
pub fn align(host: &Host, d: usize, sim: &Sim) -> Alignment {
    let domain = &host.domains[d];
    let trace = sim.trace.borrow();
    let calls = &trace.calls;
    let steps = Steps::of(calls);
    let epoch = sim.cfg().epoch;
    let mut out = Alignment::default();
    // The domain's records, file by file.
    let mut by_src: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for &(s, r) in &domain.records {
        by_src.entry(s).or_default().push(r);
    }
    let mut offset: Option<i64> = None;
    for (&si, recs) in &by_src {
        let src = &host.sources[si];
        let format = recs
            .first()
            .map_or(Format::Unknown, |&r| src.records[r].format);
        let last_wall = src
            .records
            .iter()
            .filter_map(|r| r.time.as_deref().and_then(wall_time))
            .max();
        let real: Vec<Event> = recs.iter().map(|&r| event_of(&src.records[r])).collect();
        let mut best: Option<Alignment> = None;
        for ml in model_logs(sim, format, domain) {
            let model: Vec<Event> = ml.records.iter().map(event_of).collect();
            let dif = diff_events(real.clone(), model);
            let mut a = Alignment::default();
            let ctx = FileCtx {
                si,
                recs,
                src_records: &src.records,
                ml: &ml,
                calls,
                steps: &steps,
                epoch,
                last_wall,
            };
            ctx.fill(&dif.ops, &mut a, &mut offset.clone());
            if best.as_ref().is_none_or(|b| a.score() > b.score()) {
                best = Some(a);
            }
        }
        match best {
            Some(a) if a.matched() > 0 || a.labels.iter().any(|l| l.moved) => {
                if offset.is_none() {
                    offset = first_offset(&a, &host.sources);
                }
                merge(&mut out, a)
            }
            // The model writes nothing like this file: outside the story.
            _ => out.outside.extend(recs.iter().map(|&r| (si, r))),
        }
    }
    out.first = first_divergence(&out, host);
    out
}

fn first_offset(a: &Alignment, sources: &[super::Source]) -> Option<i64> {
    a.labels.iter().find_map(|l| {
        let real = sources[l.at.0].records[l.at.1]
            .time
            .as_deref()
            .and_then(wall_time)?;
        Some(real - l.model_wall?)
    })
}

fn merge(out: &mut Alignment, a: Alignment) {
    out.labels.extend(a.labels);
    out.missing.extend(a.missing);
    out.continues.extend(a.continues);
    out.not_produced.extend(a.not_produced);
    out.outside.extend(a.outside);
    out.gaps.extend(a.gaps);
    out.trailing_real.extend(a.trailing_real);
}

struct FileCtx<'a> {
    si: usize,
    recs: &'a [usize],
    src_records: &'a [Record],
    ml: &'a ModelLog,
    calls: &'a [CallRecord],
    steps: &'a Steps,
    epoch: xsh_sim::time::Epoch,
    last_wall: Option<i64>,
}

impl FileCtx<'_> {
    fn model_wall(&self, j: usize) -> Option<i64> {
        let r = &self.ml.records[j];
        r.time.as_deref().and_then(wall_time).or_else(|| {
            let c = self.calls.get(self.ml.calls[j] as usize)?;
            Some(self.epoch.wall_secs(c.time))
        })
    }

    /// An xl line the model writes outside any probe call is the monitor's:
    /// create_domain's code after do_daemonize, which the model runs
    /// outside the `xl create` command's call. The reference's table
    /// (docs/reference-xl.md §9) names the function. (Elsewhere a line
    /// outside probes is code the model has no probe for.)
    fn monitor_probe(&self, j: usize) -> Option<&'static str> {
        let r = &self.ml.records[j];
        if r.format != Format::Xl {
            return None;
        }
        crate::explain::pattern_probe(r)
    }

    fn probe(&self, j: usize) -> Option<Probe> {
        self.calls.get(self.ml.calls[j] as usize).map(|c| c.probe)
    }

    fn label(&self, i: usize, j: usize, moved: bool) -> Label {
        let id = self.ml.calls[j];
        let probe = self.probe(j);
        let chain = if id == NO_CALL {
            Vec::new()
        } else {
            callers(self.calls, id)
        };
        let restart_reason = chain.iter().find_map(|&c| {
            let r = &self.calls[c as usize];
            (r.probe.name() == "xend:XendDomainInfo._maybeRestart")
                .then(|| r.args.first().map(|v| v.to_string()))
                .flatten()
        });
        Label {
            at: (self.si, self.recs[i]),
            model_file: self.ml.name.clone(),
            model_line: self.ml.records[j].line(),
            // A line written outside any probe call: the function the
            // reference says writes it (xl's monitor is create_domain's
            // code after do_daemonize, docs/reference-xl.md §9), if any.
            probe: probe.map(|p| p.name()).or_else(|| self.monitor_probe(j)),
            step: probe.and_then(|p| self.steps.step(id, p, self.ml.nth[j])),
            state: self.state_of(id, j),
            via: chain
                .iter()
                .skip(1)
                .map(|&c| self.calls[c as usize].probe.name())
                .collect(),
            restart_reason: restart_reason.map(|r| r.trim_matches('"').to_string()),
            model_wall: self.model_wall(j),
            moved,
        }
    }

    /// The domain's state when the model wrote line `j`: after every
    /// call that began before it (a long-lived call — a sentinel thread,
    /// a watch loop — writes long after it began).
    fn state_of(&self, id: xsh_sim::trace::CallId, j: usize) -> Option<State> {
        let c = self.calls.get(id as usize)?;
        if c.domid == xsh_sim::stack::NO_DOM {
            return None;
        }
        let wall = self.model_wall(j)?;
        let by_time = self
            .calls
            .partition_point(|x| self.epoch.wall_secs(x.time) < wall);
        // The calls that wrote the lines before it had begun by then.
        let before = self.ml.calls[..j]
            .iter()
            .filter(|&&k| k != NO_CALL)
            .map(|&k| k as usize + 1)
            .max()
            .unwrap_or(0);
        let at = (id as usize).max(by_time).max(before);
        Some(self.steps.state_at(c.domid, at))
    }

    fn missing(&self, j: usize, after: Option<At>, offset: Option<i64>) -> Missing {
        let probe = self.probe(j);
        Missing {
            model_file: self.ml.name.clone(),
            model_line: self.ml.records[j].line(),
            text: self.ml.records[j].head().trim_end().to_string(),
            probe: probe.map(|p| p.name()),
            step: probe.and_then(|p| self.steps.step(self.ml.calls[j], p, self.ml.nth[j])),
            wall: self.model_wall(j).map(|w| w + offset.unwrap_or(0)),
            after,
            src: self.si,
            trailing: false,
        }
    }

    fn real_wall(&self, i: usize) -> Option<i64> {
        self.src_records[self.recs[i]]
            .time
            .as_deref()
            .and_then(wall_time)
    }

    fn fill(&self, ops: &[Op], a: &mut Alignment, offset: &mut Option<i64>) {
        let first_real = ops.iter().find_map(|o| match o {
            Op::Same(i, _) => Some(*i),
            _ => None,
        });
        let last_real = ops.iter().rev().find_map(|o| match o {
            Op::Same(i, _) => Some(*i),
            _ => None,
        });
        let (Some(lo), Some(hi)) = (first_real, last_real) else {
            a.outside.extend(self.recs.iter().map(|&r| (self.si, r)));
            return;
        };
        let first_model = ops.iter().find_map(|o| match o {
            Op::Same(_, j) => Some(*j),
            _ => None,
        });
        let last_model = ops.iter().rev().find_map(|o| match o {
            Op::Same(_, j) => Some(*j),
            _ => None,
        });
        if offset.is_none() {
            *offset = ops.iter().find_map(|o| match o {
                Op::Same(i, j) => Some(self.real_wall(*i)? - self.model_wall(*j)?),
                _ => None,
            });
        }
        let mut prev: Option<(usize, usize)> = None;
        let mut after: Option<At> = None;
        for o in ops {
            match *o {
                Op::Same(i, j) => {
                    if let Some((pi, pj)) = prev {
                        self.gap(a, pi, pj, i, j);
                    }
                    a.labels.push(self.label(i, j, false));
                    prev = Some((i, j));
                    after = Some((self.si, self.recs[i]));
                }
                Op::Moved(i, j) => a.labels.push(self.label(i, j, true)),
                Op::Missing(i) => {
                    let at = (self.si, self.recs[i]);
                    if i > lo && i < hi {
                        a.not_produced.push(at);
                    } else if i > hi {
                        // The log goes on where the model's run stopped
                        // following it (one departure per file).
                        a.not_produced.push(at);
                        a.trailing_real.push(at);
                    } else {
                        a.outside.push(at);
                    }
                }
                Op::Extra(j) => {
                    let before_first = first_model.is_none_or(|f| j < f);
                    if before_first {
                        continue;
                    }
                    let mut m = self.missing(j, after, *offset);
                    let inside = last_model.is_some_and(|l| j < l);
                    // After the last matched line: missing only if the
                    // real file goes on past the time the model wrote it.
                    let demanded =
                        inside || matches!((m.wall, self.last_wall), (Some(w), Some(l)) if w < l);
                    if demanded {
                        m.trailing = !inside;
                        a.missing.push(m);
                    } else {
                        a.continues.push(m);
                    }
                }
            }
        }
    }

    /// Two matched lines whose spacing one side cannot explain: the log
    /// is silent for much longer than the model, or much shorter (a
    /// cleanup the model puts 300 s later).
    fn gap(&self, a: &mut Alignment, pi: usize, pj: usize, i: usize, j: usize) {
        let (Some(r0), Some(r1)) = (self.real_wall(pi), self.real_wall(i)) else {
            return;
        };
        let (Some(m0), Some(m1)) = (self.model_wall(pj), self.model_wall(j)) else {
            return;
        };
        let (log, model) = (r1 - r0, m1 - m0);
        let slack = 5;
        if (log > model + slack && log > 3 * model) || (model > log + slack && model > 3 * log) {
            a.gaps.push(Gap {
                from: (self.si, self.recs[pi]),
                to: (self.si, self.recs[i]),
                log_secs: log,
                model_secs: model,
            });
        }
    }
}

/// The divergence met first: by the real log's time where it has one,
/// then by file and line.
fn first_divergence(a: &Alignment, host: &Host) -> Option<Divergence> {
    let time_of = |at: At| {
        host.sources[at.0].records[at.1]
            .time
            .as_deref()
            .and_then(wall_time)
    };
    // (time, source, record position ×2, +1 for "just after")
    let mut best: Option<((i64, usize, usize), Divergence)> = None;
    let mut consider = |k: (i64, usize, usize), d: Divergence| {
        if best.as_ref().is_none_or(|(b, _)| k < *b) {
            best = Some((k, d));
        }
    };
    for (n, m) in a.missing.iter().enumerate() {
        let k = match m.after {
            Some(at) => (
                time_of(at).or(m.wall).unwrap_or(i64::MAX),
                at.0,
                at.1 * 2 + 1,
            ),
            None => (m.wall.unwrap_or(i64::MAX), m.src, 0),
        };
        consider(k, Divergence::Missing(n));
    }
    for &at in &a.not_produced {
        consider(
            (time_of(at).unwrap_or(i64::MAX), at.0, at.1 * 2),
            Divergence::NotProduced(at),
        );
    }
    for l in a.labels.iter().filter(|l| l.moved) {
        consider(
            (time_of(l.at).unwrap_or(i64::MAX), l.at.0, l.at.1 * 2),
            Divergence::Moved(l.at),
        );
    }
    for (n, g) in a.gaps.iter().enumerate() {
        consider(
            (time_of(g.to).unwrap_or(i64::MAX), g.to.0, g.to.1 * 2),
            Divergence::Gap(n),
        );
    }
    best.map(|(_, d)| d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_dumps_are_not_part_of_a_step() {
        assert_eq!(
            cut_details("XendDomainInfo.create(['vm', ['name', 'x']])"),
            "XendDomainInfo.create"
        );
        assert_eq!(
            cut_details("Storing VM details: {'uuid': 'x'}"),
            "Storing VM details"
        );
        assert_eq!(
            cut_details("createDevice: vif : {'bridge': 'xenbr0'}"),
            "createDevice: vif"
        );
        assert_eq!(cut_details("Removing vif/0"), "Removing vif/0");
    }
}
