//! Sharing an exploration's variants among its threads.
//!
//! The calling thread runs the root path first: its choice points decide
//! what the work is (a walk of the tree or a set of samples). The other
//! threads do not wait idle for it: each compiles the script and builds its
//! first world meanwhile, then waits at a gate for the work. Once the work
//! is known every thread runs it, the calling one too, with the engine and
//! world its root run left; a small thread reports progress.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};

use super::report::Variant;
use super::runner::{FixedUse, Progress, Worker};
use super::space::{children, Frontier, Split};
use super::{mix, Plan, Rest};
use crate::ScriptError;

/// What the threads found, gathered as they go.
#[derive(Default)]
pub struct Tally {
    /// Variants run.
    pub done: AtomicUsize,
    /// Variants that failed a check.
    pub failed: AtomicUsize,
    /// An exhaustive walk stopped at `--max-variants`.
    pub truncated: AtomicBool,
    /// A walk's variants, in the order they ended.
    pub results: Mutex<Vec<Variant>>,
    /// Samples' variants with their sample numbers.
    pub sampled: Mutex<Vec<(usize, Variant)>>,
    /// The `--choose` names' fate, over every thread's variants.
    pub uses: Mutex<FixedUse>,
}

impl Tally {
    /// Counts a variant of a walk and keeps it.
    pub fn record(&self, v: Variant) {
        self.count(&v);
        lock(&self.results).push(v);
    }

    fn count(&self, v: &Variant) {
        if v.failure.is_some() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        self.done.fetch_add(1, Ordering::Relaxed);
    }

    fn progress(&self, total: usize) -> Progress {
        let done = self.done.load(Ordering::Relaxed);
        Progress {
            done,
            total: total.max(done),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

/// The variants left once the root path has run.
pub enum Work {
    /// Every combination: prefixes to run, each opening its own children.
    Walk {
        /// Prefixes not yet taken, and how many taken ones are still running
        /// (their children are not in the frontier yet).
        queue: Mutex<(Frontier, usize)>,
        /// Signalled when a running prefix ends.
        ended: Condvar,
        /// Which paths are this shard's.
        split: Split,
        /// Where the walk stops.
        cap: usize,
    },
    /// Seeded samples: this shard's sample numbers, taken in order.
    Samples {
        /// The sample numbers.
        mine: Vec<usize>,
        /// The next one to take.
        next: AtomicUsize,
        /// The samples' seed.
        seed: u64,
    },
}

impl Work {
    /// A walk below the root path's children.
    pub fn walk(split: Split, cap: usize, first: Vec<Vec<usize>>) -> Work {
        let mut f = Frontier::default();
        f.extend(first);
        Work::Walk {
            queue: Mutex::new((f, 0)),
            ended: Condvar::new(),
            split,
            cap,
        }
    }

    /// The samples numbered `mine`.
    pub fn samples(mine: Vec<usize>, seed: u64) -> Work {
        Work::Samples {
            mine,
            next: AtomicUsize::new(0),
            seed,
        }
    }

    /// Runs variants with `w` until none are left.
    fn run(&self, w: &mut Worker, tally: &Tally) {
        match self {
            Work::Walk {
                queue,
                ended,
                split,
                cap,
            } => loop {
                let Some(prefix) = take_prefix(queue, ended, split, *cap, tally) else {
                    ended.notify_all();
                    break;
                };
                let (trail, v) = w.run(Plan {
                    prefix: prefix.clone(),
                    rest: Rest::First,
                    ..Plan::default()
                });
                let kids = children(prefix.len(), &trail);
                if split.keeps(&v.path) {
                    tally.record(v);
                }
                let mut q = lock(queue);
                q.0.extend(kids);
                q.1 -= 1;
                drop(q);
                ended.notify_all();
            },
            Work::Samples { mine, next, seed } => loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&k) = mine.get(i) else { break };
                let (_, v) = w.run(Plan {
                    rest: Rest::Random(mix(seed ^ mix(k as u64))),
                    ..Plan::default()
                });
                tally.count(&v);
                lock(&tally.sampled).push((k, v));
            },
        }
    }
}

/// The next prefix of a walk, waiting while running ones may still open
/// more; `None` when the walk is over.
fn take_prefix(
    queue: &Mutex<(Frontier, usize)>,
    ended: &Condvar,
    split: &Split,
    cap: usize,
    tally: &Tally,
) -> Option<Vec<usize>> {
    let mut q = lock(queue);
    loop {
        if let Some(p) = q.0.pop() {
            if split.skips(&p) {
                continue;
            }
            if tally.done.load(Ordering::Relaxed) + q.1 >= cap {
                tally.truncated.store(true, Ordering::Relaxed);
                continue;
            }
            q.1 += 1;
            return Some(p);
        }
        if q.1 == 0 {
            return None;
        }
        q = ended.wait(q).unwrap_or_else(|e| e.into_inner());
    }
}

/// Runs an exploration on `jobs` threads. `root` runs on this thread with
/// `w` and returns the work it found, the number of variants expected and
/// what the caller keeps; meanwhile the other threads prepare. Then every
/// thread runs the work.
pub fn share<'j, T>(
    jobs: usize,
    w: &mut Worker<'j>,
    tally: &Tally,
    progress: &(dyn Fn(Progress) + Sync),
    root: impl FnOnce(&mut Worker<'j>) -> Result<(Work, usize, T), ScriptError>,
) -> Result<T, ScriptError> {
    let job = w.job();
    let work: OnceLock<Option<Work>> = OnceLock::new();
    let running = Mutex::new(jobs);
    let stopped = Condvar::new();
    let absorb = |uses: FixedUse| lock(&tally.uses).absorb(uses);
    std::thread::scope(|s| {
        for _ in 1..jobs {
            // The stack every script thread has (deep.rs), so a variant
            // stops deep recursion where `xsh run` would.
            crate::deep::spawn_scoped(s, || {
                let _out = Running(&running, &stopped);
                let mut helper = Worker::new(job);
                // A script that does not compile fails the root run too,
                // which reports it.
                let _ = helper.prepare();
                if let Some(work) = work.wait() {
                    work.run(&mut helper, tally);
                }
                absorb(helper.uses);
            });
        }
        let _out = Running(&running, &stopped);
        // Whatever happens to the root run, the helpers are not left
        // waiting at the gate (the scope would wait for them for ever).
        let gate = Gate(&work);
        let (shared, total, kept) = w.prepare().and_then(|()| root(w))?;
        let _ = work.set(Some(shared));
        drop(gate);
        let (running, stopped) = (&running, &stopped);
        s.spawn(move || {
            let mut left = lock(running);
            while *left > 0 {
                // Not holding the count while reporting: a worker ending
                // then does not wait for the terminal.
                drop(left);
                progress(tally.progress(total));
                left = lock(running);
                if *left > 0 {
                    left = stopped
                        .wait_timeout(left, std::time::Duration::from_millis(50))
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        });
        if let Some(Some(work)) = work.get() {
            work.run(w, tally);
        }
        absorb(std::mem::take(&mut w.uses));
        Ok(kept)
    })
}

/// Counts a working thread out when it ends, however it ends: the
/// reporter runs until every one has.
struct Running<'a>(&'a Mutex<usize>, &'a Condvar);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        *lock(self.0) -= 1;
        self.1.notify_all();
    }
}

/// Opens the gate with no work if nothing else opened it.
struct Gate<'a>(&'a OnceLock<Option<Work>>);

impl Drop for Gate<'_> {
    fn drop(&mut self) {
        let _ = self.0.set(None);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
