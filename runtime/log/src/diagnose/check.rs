//! `xsh logs check` without `--partial`: does the real log go as far as
//! the script's run? A log that stops while the model is still writing —
//! the same burst of work, with no wait of a minute or more before the
//! next line — is an excerpt that leaves steps out, not a run that holds.
//! A wait that long is a timer (xend's 300 s shutdown timer): a log copied
//! during it is complete so far.

use xsh_sim::trace::NO_CALL;
use xsh_sim::Sim;

use crate::diff::{diff_events, Op};
use crate::events::events;
use crate::record::Record;

use super::steps::Steps;
use super::wall_time;

/// The model's lines the log stops before.
#[derive(Clone, Debug)]
pub struct Unfinished {
    /// The model's log.
    pub model_file: String,
    /// (line, text, probe, step) of each, in order.
    pub lines: Vec<(u64, String, Option<&'static str>, Option<u8>)>,
}

impl Unfinished {
    /// The report's lines.
    pub fn render(&self, real_name: &str) -> String {
        let mut s = String::new();
        let Some(first) = self.lines.first() else {
            return s;
        };
        s.push_str(&format!(
            "stops early: {real_name} ends before the run is over; first missing: `{}` ({}{}:{}{})\n",
            first.1,
            first.3.map(|n| format!("step {n}, ")).unwrap_or_default(),
            self.model_file,
            first.0,
            first.2.map(|p| format!(", {p}")).unwrap_or_default()
        ));
        // The steps left out, each once, in order.
        let mut seen = Vec::new();
        for (line, text, probe, step) in &self.lines {
            let k = (*step, *probe);
            if seen.contains(&k) {
                continue;
            }
            seen.push(k);
            s.push_str(&format!(
                "  - {}:{line:<5} {}{}\n",
                self.model_file,
                step.map(|n| format!("step {n}: ")).unwrap_or_default(),
                text
            ));
        }
        s.push_str("  (--partial: the log is an excerpt; compare only the stretch it covers)\n");
        s
    }
}

/// A minute of silence in the model ends the run's burst of work.
pub const QUIET_SECS: i64 = 60;

/// The model lines of `sim_name` after the last one the real records
/// match, up to the model's first silence of a minute: `None` when the
/// real log goes that far.
pub fn unfinished(real: &[Record], sim: &Sim, sim_name: &str) -> Option<Unfinished> {
    let logs = sim.logs.borrow();
    let sink = match sim_name {
        "xend.log" => &logs.xend,
        "xen.log" => &logs.xen,
        n => logs.files.get(n)?,
    };
    let keep = |r: &Record| {
        !matches!(
            r.kind,
            crate::format::Kind::Blank
                | crate::format::Kind::Markup
                | crate::format::Kind::Unparsed
        )
    };
    let model: Vec<Record> = crate::records_of(sink.text().as_bytes(), sim_name, None)
        .into_iter()
        .filter(keep)
        .collect();
    let real: Vec<Record> = real.iter().filter(|r| keep(r)).cloned().collect();
    let d = diff_events(events(&real), events(&model));
    let last = d
        .ops
        .iter()
        .filter_map(|o| match o {
            Op::Same(_, j) | Op::Moved(_, j) => Some(*j),
            _ => None,
        })
        .max()?;
    let trace = sim.trace.borrow();
    let steps = Steps::of(&trace.calls);
    let epoch = sim.cfg().epoch;
    let call_of = |r: &Record| sink.origin_of_line(r.line().saturating_sub(1));
    let time_of = |r: &Record| {
        r.time.as_deref().and_then(wall_time).or_else(|| {
            let c = call_of(r).filter(|&c| c != NO_CALL)?;
            Some(epoch.wall_secs(trace.calls.get(c as usize)?.time))
        })
    };
    let calls: Vec<_> = model
        .iter()
        .map(|r| call_of(r).unwrap_or(NO_CALL))
        .collect();
    let nth = super::align::nth_of(&calls);
    let mut prev = time_of(&model[last]);
    let mut out = Vec::new();
    for (k, r) in model.iter().enumerate().skip(last + 1) {
        let t = time_of(r);
        if let (Some(p), Some(t)) = (prev, t) {
            if t - p >= QUIET_SECS {
                break;
            }
        }
        prev = t.or(prev);
        let (probe, step) =
            match call_of(r).and_then(|c| trace.calls.get(c as usize).map(|x| (c, x))) {
                Some((c, x)) => (Some(x.probe.name()), steps.step(c, x.probe, nth[k])),
                None => (None, None),
            };
        out.push((r.line(), r.head().trim_end().to_string(), probe, step));
    }
    (!out.is_empty()).then(|| Unfinished {
        model_file: sim_name.to_string(),
        lines: out,
    })
}
