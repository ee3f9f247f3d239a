//! `xsh logs diagnose`: each domain of a set of real logs replayed by the
//! model under every variant its logs leave open, and the variant whose
//! logs align best chosen.
//!
//! `xsh_log::diagnose` rebuilds the histories and aligns; this module turns
//! a history into a replay script (`replay.rs`: the domain as the logs
//! describe it, the user's or guest's action at its time, `sim.choose`
//! points for what the logs do not tell — PV drivers, the model's faults,
//! the build, the initiator), runs its variants with explore's worker
//! (each in a fresh world with the trace and log origins on), and aligns
//! each run.

pub mod replay;

use std::collections::BTreeMap;

use xsh_log::diagnose::align::align;
use xsh_log::diagnose::{
    reconstruct, Alignment, Diagnosis, DomainDiagnosis, Source, Variant, Verdict,
};
use xsh_sim::Config;

use crate::explore::runner::{Job, Worker};
use crate::explore::space::children;
use crate::explore::{Plan, Rest};

/// How far a diagnosis may go.
#[derive(Clone, Debug)]
pub struct Options {
    /// The worlds' seed.
    pub seed: u64,
    /// Variants run per domain at most (an exhaustive walk stops there).
    pub max_variants: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: 1,
            max_variants: 400,
        }
    }
}

/// Diagnoses a set of parsed files.
pub fn diagnose(sources: Vec<Source>, opts: &Options) -> Diagnosis {
    let host = reconstruct(sources);
    let mut domains = Vec::new();
    for d in 0..host.domains.len() {
        domains.push(diagnose_domain(&host, d, opts));
    }
    Diagnosis { host, domains }
}

fn diagnose_domain(host: &xsh_log::diagnose::Host, d: usize, opts: &Options) -> DomainDiagnosis {
    let not = |why: String| DomainDiagnosis {
        domain: d,
        verdict: Verdict::NotModelled(why),
        variant: None,
        alignment: Alignment::default(),
    };
    let script = match replay::script(host, d) {
        Ok(s) => s,
        Err(why) => return not(why),
    };
    let mut job = Job::new(
        "replay",
        &script,
        Config {
            seed: opts.seed,
            ..Config::default()
        },
    );
    job.log_origins = true;
    let mut worker = Worker::new(&job);
    let mut queue: Vec<Vec<usize>> = vec![Vec::new()];
    let mut runs = 0;
    let mut best: Option<(Alignment, Vec<(String, String)>)> = None;
    let mut ties: Vec<Vec<(String, String)>> = Vec::new();
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();
    while let Some(prefix) = queue.pop() {
        if runs >= opts.max_variants {
            break;
        }
        let (trail, v) = worker.run(Plan {
            prefix: prefix.clone(),
            rest: Rest::First,
            ..Plan::default()
        });
        runs += 1;
        // Later options first off the stack: the walk runs in path order.
        let mut kids = children(prefix.len(), &trail);
        kids.reverse();
        queue.extend(kids);
        if let Some(f) = &v.failure {
            *failures.entry(f.message.clone()).or_default() += 1;
            continue;
        }
        let Some(h) = worker.host() else { continue };
        let a = align(host, d, h.sim());
        match &best {
            Some((b, _)) if a.score() < b.score() => {}
            Some((b, _)) if a.score() == b.score() => ties.push(v.choices.clone()),
            _ => {
                ties.clear();
                best = Some((a, v.choices.clone()));
            }
        }
    }
    let Some((alignment, choices)) = best else {
        let why = failures
            .keys()
            .next()
            .cloned()
            .unwrap_or_else(|| "no variant ran".into());
        return not(format!("the replay did not run: {why}"));
    };
    let verdict = if alignment.matched() == 0 {
        Verdict::NotModelled("no line of this domain is one the model writes".into())
    } else if alignment.fits() {
        Verdict::Fits
    } else {
        Verdict::Diverges
    };
    DomainDiagnosis {
        domain: d,
        verdict,
        variant: Some(Variant {
            choices,
            runs,
            ties,
            script,
        }),
        alignment,
    }
}
