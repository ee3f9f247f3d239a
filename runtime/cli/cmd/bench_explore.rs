//! `xsh bench --explore`: explored variants of the seed's scenario per
//! second (scripts/explore_seed.rhai, every combination) with one thread
//! and with two, and the speed-up between them. Each variant is a fresh
//! world and engine; the script is compiled once per thread and the trace
//! is off, as in `xsh explore`.

use std::process::ExitCode;
use std::time::Instant;

use xsh_log::bench::cpu_seconds;
use xsh_script::explore::runner::{explore, Job};
use xsh_sim::Config;

/// The explored scenario, built in.
pub const SCRIPT: &str = include_str!("../../../scripts/explore_seed.rhai");

/// One exploration with `jobs` threads: (variants, wall seconds, CPU seconds).
fn once(jobs: usize) -> Result<(usize, f64, f64), String> {
    let mut job = Job::new("scripts/explore_seed.rhai", SCRIPT, Config::default());
    job.jobs = jobs;
    let (t0, c0) = (Instant::now(), cpu_seconds());
    let r = explore(&job, &|_| {}).map_err(|e| e.render(false))?;
    let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - c0);
    if r.failed() {
        return Err(format!("a variant failed:\n{}", r.text()));
    }
    Ok((r.variants.len(), wall, cpu))
}

/// The load average, to say how busy the machine was.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// Runs the benchmark.
pub fn main() -> ExitCode {
    println!("xsh bench --explore: scripts/explore_seed.rhai, every combination, trace off");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut rates = Vec::new();
    for jobs in [1, 2] {
        match once(jobs) {
            Ok((n, wall, cpu)) => {
                let rate = n as f64 / wall;
                println!(
                    "--jobs {jobs}: {n} variants in {wall:.3} s: {rate:.0} variants/s ({:.0} per CPU-second, {:.0} us of CPU each)",
                    n as f64 / cpu.max(1e-9),
                    cpu / n as f64 * 1e6
                );
                rates.push(rate);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        }
    }
    println!(
        "speed-up 1 -> 2 jobs: {:.2}x ({cores} cores, load average {} now; target: 5000 variants/s on 2 cores)",
        rates[1] / rates[0],
        load()
    );
    ExitCode::SUCCESS
}
