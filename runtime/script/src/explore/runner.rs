//! Running variants: each in a fresh world and engine, on `--jobs` threads.
//!
//! A world (`Sim`) is `Rc`-based and never crosses threads: each thread
//! compiles the script once and builds every world it runs itself. Work is
//! a shared queue of prefixes (exhaustive) or sample numbers (sampled),
//! shared out by `threads.rs`; results are sorted by path at the end, so
//! the report does not depend on which thread ran what.

use crate::observe::Observe;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::atomic::Ordering;

use rhai::AST;
use xsh_sim::Config;

use super::report::{Failure, FailureKind, Mode, Report, Variant};
use super::space::{children, path_of, product, size_key, Split};
use super::threads::{share, Tally, Work};
use super::{Made, Plan, Rest};
use crate::{Host, Limits, ScriptError};

/// What to explore and how.
#[derive(Clone, Debug)]
pub struct Job {
    /// The script's name (for errors and replay commands).
    pub name: String,
    /// Its source.
    pub src: String,
    /// The world's settings (its seed is every variant's seed).
    pub config: Config,
    /// Script limits, per variant.
    pub limits: Limits,
    /// Choices fixed by `--choose`: not explored.
    pub fixed: BTreeMap<String, String>,
    /// Threads.
    pub jobs: usize,
    /// Run this many seeded samples instead of every combination.
    pub samples: Option<usize>,
    /// The samples' seed.
    pub sample_seed: u64,
    /// More variants than this: sample this many instead (exhaustive walks
    /// stop there).
    pub max_variants: usize,
    /// This shard and the number of shards.
    pub shard: (usize, usize),
    /// Keep the call trace on in every world (only for debugging: slower).
    pub trace: bool,
    /// Record which probe call wrote each log line (`xsh logs diagnose`
    /// aligns real logs with a variant's through them; turns the trace and
    /// frames on, which origins are read from).
    pub log_origins: bool,
}

impl Job {
    /// A job with one thread, no shards and default limits.
    pub fn new(name: &str, src: &str, config: Config) -> Job {
        Job {
            name: name.into(),
            src: src.into(),
            config,
            limits: Limits::default(),
            fixed: BTreeMap::new(),
            jobs: 1,
            samples: None,
            sample_seed: 1,
            max_variants: 20_000,
            shard: (0, 1),
            trace: false,
            log_origins: false,
        }
    }
}

/// How far an exploration has got, for a progress bar.
#[derive(Copy, Clone, Debug)]
pub struct Progress {
    /// Variants run.
    pub done: usize,
    /// Variants expected (a lower bound while a dependent tree unfolds).
    pub total: usize,
    /// Variants that failed a check.
    pub failed: usize,
}

/// What became of the `--choose` names over the variants a worker ran.
#[derive(Default, Debug)]
pub struct FixedUse {
    /// Names a variant's script chose with the fixed value.
    pub accepted: BTreeSet<String>,
    /// Names whose fixed value a choice did not offer, with the message.
    pub refused: BTreeMap<String, String>,
}

impl FixedUse {
    /// Adds another worker's findings.
    pub(super) fn absorb(&mut self, other: FixedUse) {
        self.accepted.extend(other.accepted);
        for (k, v) in other.refused {
            self.refused.entry(k).or_insert(v);
        }
    }
}

/// Runs variants of one job on one thread: each in a fresh world, all
/// through one engine and one compiled script.
pub struct Worker<'a> {
    job: &'a Job,
    /// The compiled script, and what its text can observe (both the same
    /// for every variant).
    ast: Option<(Rc<AST>, Observe)>,
    /// The last variant's host: its engine serves the next world.
    host: Option<Host>,
    /// Whether that host's world has run a variant (a prepared one has not).
    used: bool,
    /// The `--choose` names' fate in the variants run so far.
    pub uses: FixedUse,
}

impl<'a> Worker<'a> {
    /// A worker (compiles on its first run).
    pub fn new(job: &'a Job) -> Worker<'a> {
        Worker {
            job,
            ast: None,
            host: None,
            used: false,
            uses: FixedUse::default(),
        }
    }

    /// The job it runs.
    pub fn job(&self) -> &'a Job {
        self.job
    }

    /// Compiles the script and builds the first world, before any variant
    /// is asked for.
    pub fn prepare(&mut self) -> Result<(), ScriptError> {
        let host = match self.host.take() {
            Some(h) => h,
            None => Host::new(self.job.config.clone(), self.job.limits.clone()),
        };
        let compiled = self.ast(&host).map(|_| ());
        self.host = Some(host);
        compiled
    }

    /// Runs one variant; returns the choices it made and its result.
    pub fn run(&mut self, plan: Plan) -> (Vec<Made>, Variant) {
        let job = self.job;
        let host = match self.host.take() {
            Some(h) if self.used => h.renew(job.config.clone()),
            Some(h) => h,
            None => Host::new(job.config.clone(), job.limits.clone()),
        };
        self.used = true;
        let r = self.run_in(&host, plan);
        self.host = Some(host);
        r
    }

    fn run_in(&mut self, host: &Host, mut plan: Plan) -> (Vec<Made>, Variant) {
        let job = self.job;
        // A variant's outcome is read from its logs; its trace only when
        // its outputs are written, or when each log line is traced back to
        // the probe call that wrote it (an origin is a trace record, read
        // from the writer's frame).
        let logs = Observe {
            logs: true,
            ..Observe::default()
        };
        host.state
            .observe_extra
            .set(if job.trace || job.log_origins {
                logs.union(Observe::OUTPUTS)
            } else {
                logs
            });
        if job.log_origins {
            host.sim().logs.borrow_mut().record_origins(true);
        }
        for (k, v) in &job.fixed {
            plan.fixed.entry(k.clone()).or_insert_with(|| v.clone());
        }
        *host.state.explore.plan.borrow_mut() = plan;
        let r = self
            .ast(host)
            .and_then(|(ast, reads)| run_shared(host, job, ast, reads));
        let st = &host.state.explore;
        // Taken, not cloned: the world is done, and a trail of many large
        // choices would be copied once per variant.
        let trail = std::mem::take(&mut *st.trail.borrow_mut());
        for m in trail.iter().filter(|m| m.fixed) {
            self.uses.accepted.insert(m.name.clone());
        }
        for (name, msg) in st.refused.borrow().iter() {
            self.uses
                .refused
                .entry(name.clone())
                .or_insert_with(|| msg.clone());
        }
        let violation = st.violation.borrow().clone();
        let failure = match (violation, r) {
            (Some(v), _) => Some(Failure {
                kind: FailureKind::Invariant,
                name: v.name.clone(),
                message: format!("invariant \"{}\" violated at {:.6} s", v.name, v.at),
            }),
            (None, Ok(())) => None,
            (None, Err(e)) => Some(Failure::of_error(&e)),
        };
        let outcome = match &failure {
            Some(f) => vec![("stopped".to_string(), f.label())],
            None => super::outcome::signature(&host.state),
        };
        let variant = Variant {
            path: path_of(&trail),
            choices: trail
                .iter()
                .map(|m| (m.name.clone(), m.options[m.index].clone()))
                .collect(),
            outcome,
            failure,
        };
        (trail, variant)
    }

    /// The host of the variant run last (its world as the run left it).
    pub fn host(&self) -> Option<&Host> {
        self.host.as_ref()
    }

    fn ast(&mut self, host: &Host) -> Result<(Rc<AST>, Observe), ScriptError> {
        if let Some((a, reads)) = &self.ast {
            return Ok((a.clone(), *reads));
        }
        let a = Rc::new(host.compile(&self.job.name, &self.job.src)?);
        let reads = host.script_observes(&a);
        self.ast = Some((a.clone(), reads));
        Ok((a, reads))
    }
}

/// `Host::run_ast` for an AST shared by every world of a thread (cloning
/// an AST copies its statements; sharing it costs nothing).
fn run_shared(host: &Host, job: &Job, ast: Rc<AST>, reads: Observe) -> Result<(), ScriptError> {
    let st = &host.state;
    host.observe(reads);
    *st.ast.borrow_mut() = Some(ast.clone());
    st.wall_start.set(Some(std::time::Instant::now()));
    let _value = host
        .engine
        .eval_ast::<rhai::Dynamic>(&ast)
        .map_err(|e| host.error(&job.name, &job.src, *e))?;
    super::check::at_end(st).map_err(|e| host.error(&job.name, &job.src, *e))
}

/// Explores: every combination, or samples; then shrinks each failure to
/// its smallest choice vector. Fails only when the script does not compile.
pub fn explore(job: &Job, progress: &(dyn Fn(Progress) + Sync)) -> Result<Report, ScriptError> {
    let tally = Tally::default();
    let mut w = Worker::new(job);
    // The root path shows the choice points (for the size of the space and
    // the shards' split) and proves the script compiles.
    let (mode, all_of_samples) = share(job.jobs.max(1), &mut w, &tally, progress, |w| {
        let (root_trail, root) = w.run(Plan {
            rest: Rest::First,
            ..Plan::default()
        });
        let (si, sn) = job.shard;
        let split = Split::new(si, sn.max(1), &root_trail);
        let estimate = product(&root_trail).unwrap_or(usize::MAX);
        // Where an exhaustive walk stops; `--samples` that reach every
        // combination become a walk of them all, each once, rather than
        // that many draws repeating the same few paths.
        let mut cap = job.max_variants;
        let mut all_of_samples = None;
        let mode = match job.samples {
            Some(n) if n >= estimate => {
                cap = n;
                all_of_samples = Some(n);
                Mode::Exhaustive
            }
            Some(n) => Mode::Sampled {
                samples: n,
                seed: job.sample_seed,
                auto: false,
            },
            None if estimate > job.max_variants => Mode::Sampled {
                samples: job.max_variants,
                seed: job.sample_seed,
                auto: true,
            },
            None => Mode::Exhaustive,
        };
        let (work, total) = match &mode {
            Mode::Exhaustive => {
                if split.keeps(&root.path) {
                    tally.record(root);
                }
                let first = children(0, &root_trail);
                (Work::walk(split, cap, first), estimate.div_ceil(sn.max(1)))
            }
            Mode::Sampled { samples, seed, .. } => {
                let mine: Vec<usize> = (0..*samples).filter(|k| k % sn.max(1) == si).collect();
                let total = mine.len();
                (Work::samples(mine, *seed), total)
            }
        };
        Ok((work, total, (mode, all_of_samples)))
    })?;
    let mut variants = tally
        .results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    if let Mode::Sampled { .. } = mode {
        // The same path drawn twice counts once (the first draw).
        let mut s = tally
            .sampled
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        s.sort_by_key(|(k, _)| *k);
        let mut seen = std::collections::BTreeSet::new();
        for (_, v) in s {
            if seen.insert(v.path.clone()) {
                variants.push(v);
            }
        }
    }
    variants.sort_by(|a, b| a.path.cmp(&b.path));
    let mut report = Report::new(job, mode, variants);
    report.truncated = tally.truncated.load(Ordering::Relaxed);
    report.all_of_samples = all_of_samples;
    let uses = tally.uses.into_inner().unwrap_or_else(|e| e.into_inner());
    for name in job.fixed.keys() {
        if uses.accepted.contains(name) {
            continue;
        }
        match uses.refused.get(name) {
            Some(msg) => report.fixed_refused.push(msg.clone()),
            None => report.fixed_unused.push(name.clone()),
        }
    }
    if let Mode::Sampled { .. } = report.mode {
        report.minimised = minimise_all(&mut w, job, &report);
    }
    let done = tally.done.load(Ordering::Relaxed);
    progress(Progress {
        done,
        total: done,
        failed: tally.failed.load(Ordering::Relaxed),
    });
    Ok(report)
}

/// For sampled runs: each failure's smallest sampled vector, shrunk by
/// setting one choice at a time back to its first option while the same
/// check still fails. (An exhaustive run has already tried every smaller
/// vector, so its smallest failing one is minimal as it is.)
fn minimise_all(w: &mut Worker, job: &Job, report: &Report) -> Vec<Variant> {
    let mut out = Vec::new();
    for v in report.smallest_failures() {
        let want = v.failure.as_ref().map(|f| (f.kind, f.name.clone()));
        let mut cur = v.clone();
        'shrink: loop {
            for d in 0..cur.path.len() {
                let (name, _) = &cur.choices[d];
                if cur.path[d] == 0 || job.fixed.contains_key(name) {
                    continue;
                }
                let mut fixed: BTreeMap<String, String> = cur
                    .choices
                    .iter()
                    .filter(|(n, _)| n != name)
                    .cloned()
                    .collect();
                fixed.extend(job.fixed.clone());
                let (trail, mut t) = w.run(Plan {
                    fixed,
                    rest: Rest::First,
                    ..Plan::default()
                });
                t.path = path_of(&trail);
                let got = t.failure.as_ref().map(|f| (f.kind, f.name.clone()));
                if got == want && size_key(&t.path) < size_key(&cur.path) {
                    cur = t;
                    continue 'shrink;
                }
            }
            break;
        }
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every log of a world, as bytes.
    fn logs(host: &Host) -> Vec<(String, String)> {
        let sim = host.sim();
        let l = sim.logs.borrow();
        let mut out = vec![
            ("xend.log".to_string(), l.xend.text().to_string()),
            ("xen.log".to_string(), l.xen.text().to_string()),
        ];
        for (name, f) in l.files.iter() {
            out.push((name.to_string(), f.text().to_string()));
        }
        out
    }

    /// A world served by a renewed engine runs as one with its own: the
    /// last world's hooks, prints and choices do not carry over.
    #[test]
    fn a_renewed_host_runs_as_a_fresh_one() {
        let first = r#"
            on("xend:XendDomainInfo.shutdown", |ctx| print("hooked"));
            hook("guest:kernel_power_off", |ctx| ());
            let d = xm.create(#{ name: "a", type: "hvm", guest: "ubuntu-16.04" });
            xm.shutdown(d);
            sim.run();
        "#;
        let second = r#"
            let d = xm.create(#{ name: "b", type: "hvm", guest: "ubuntu-16.04",
                                 devices: ["vif/0", "vbd/51712"] });
            xm.shutdown(d);
            sim.run();
            print(d.state);
        "#;
        let cfg = Config::default;
        let fresh = Host::new(cfg(), Limits::default());
        let _ = fresh.run("second", second).expect("runs");
        let used = Host::new(cfg(), Limits::default());
        let _ = used.run("first", first).expect("runs");
        assert!(used.state.output.borrow().contains("hooked"));
        let renewed = used.renew(cfg());
        let _ = renewed.run("second", second).expect("runs");
        assert_eq!(*renewed.state.output.borrow(), *fresh.state.output.borrow());
        assert_eq!(logs(&renewed), logs(&fresh));
        assert!(renewed.state.hooks.borrow().is_empty());
    }

    /// A hook's closure that holds `sim`, and a deferred call waiting in the
    /// queue, do not keep a dropped host's world alive: an exploration's
    /// thousands of worlds do not pile up in memory.
    #[test]
    fn a_dropped_host_frees_its_world_even_when_closures_hold_it() {
        let host = Host::new(Config::default(), Limits::default());
        let _ = host
            .run(
                "held",
                r#"
                let d = xm.create(#{ name: "a", type: "hvm", guest: "ubuntu-16.04" });
                hook("qemu:destroy_hvm_domain", |ctx| sim.after(30.0, || ctx.orig()));
                xm.shutdown(d);
                sim.run_for(5.0);
                "#,
            )
            .expect("runs");
        let state = Rc::downgrade(&host.state);
        let world = host.sim().clone();
        assert!(world.handles() > 2);
        drop(host);
        assert!(state.upgrade().is_none(), "the host's state is freed");
        assert_eq!(world.handles(), 1, "only this test's handle is left");
    }
}
