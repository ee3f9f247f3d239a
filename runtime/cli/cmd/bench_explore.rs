//! `xsh bench --explore`: explored variants of the seed's scenario per
//! second (scripts/explore_seed.rhai, every combination) with one thread
//! and with two, and the speed-up between them. Each variant is a fresh
//! world and engine; the script is compiled once per thread and the trace
//! is off, as in `xsh explore`.

use std::process::ExitCode;
use std::time::Instant;

use xsh_script::explore::runner::{explore, Job};
use xsh_sim::Config;

/// The explored scenario, built in.
pub const SCRIPT: &str = include_str!("../../../scripts/explore_seed.rhai");

/// One exploration with `jobs` threads: (variants, wall seconds).
fn once(jobs: usize) -> Result<(usize, f64), String> {
    let mut job = Job::new("scripts/explore_seed.rhai", SCRIPT, Config::default());
    job.jobs = jobs;
    let t0 = Instant::now();
    let r = explore(&job, &|_| {}).map_err(|e| e.render(false))?;
    let wall = t0.elapsed().as_secs_f64();
    if r.failed() {
        return Err(format!("a variant failed:\n{}", r.text()));
    }
    Ok((r.variants.len(), wall))
}

/// Runs the benchmark.
pub fn main() -> ExitCode {
    println!("xsh bench --explore: scripts/explore_seed.rhai, every combination, trace off");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut rates = Vec::new();
    for jobs in [1, 2] {
        match once(jobs) {
            Ok((n, wall)) => {
                let rate = n as f64 / wall;
                println!("--jobs {jobs}: {n} variants in {wall:.3} s: {rate:.0} variants/s");
                rates.push(rate);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        }
    }
    println!(
        "speed-up 1 -> 2 jobs: {:.2}x ({cores} cores available; target: 5000 variants/s on 2 cores)",
        rates[1] / rates[0]
    );
    ExitCode::SUCCESS
}
