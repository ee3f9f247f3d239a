//! `xsh bench`: xsh beside the SimPy peer (../shared/peers/simpy_shutdown.py),
//! process to process, in one invocation. Every figure is a child process
//! doing what a user does (`xsh run SCRIPT`, `xsh explore SCRIPT`, the
//! peer's own commands), timed from outside: wall time, CPU (user + system)
//! and peak RSS as the kernel counted them (child.rs). There is no
//! bench-only way through the model: what is measured is what a user's
//! script costs, start-up included.
//!
//! 1. the seed's scenario again and again, each in a fresh world
//!    (scripts/seed_scenarios.rhai), beside the peer's `scenario` loop;
//!    and the same with an `on` hook on every probe;
//! 2. N HVM domains created and shut down (scripts/host_shutdown.rhai)
//!    beside the peer's `concurrent --domains N`, for each N; and the same
//!    script stopped after its creation, so the shutdown alone (the whole
//!    of the peer's run, whose domains exist from its first step) is the
//!    difference;
//! 3. explored variants of the seed's scenario per second
//!    (`xsh explore scripts/explore_seed.rhai`) with 1 and 2 jobs.

mod child;
mod peer;
mod runs;

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde_json::{json, Value};

use child::Measured;
use peer::Peer;
use runs::{Explored, Scale, Scripts, Seed};

/// The parts of `xsh bench`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Part {
    /// The seed's scenario beside the peer's, plain and with every probe hooked.
    Seed,
    /// N domains created and shut down, for each of --domains.
    Scaling,
    /// Explored variants per second, 1 and 2 jobs.
    Explore,
}

/// Flags of `xsh bench`.
#[derive(Args)]
pub struct Flags {
    /// Sizes of the scaling table: domains created and shut down together
    /// (Xen gives domids 1 to 32751 to guests).
    #[arg(long, value_delimiter = ',', default_value = "1000,2000,5000,10000",
          value_parser = clap::value_parser!(u32).range(1..=32_751))]
    pub domains: Vec<u32>,
    /// Seed scenarios in one run (each in a fresh world), for xsh and the peer.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..))]
    pub loops: u32,
    /// Explore this many sampled variants instead of all 864 combinations.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub variants: Option<u32>,
    /// Only these parts (comma-separated; default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<Part>,
    /// Only the explored variants (the same as --only explore).
    #[arg(long)]
    pub explore: bool,
    /// The SimPy peer (default: ../shared/peers/simpy_shutdown.py); `none` leaves it out.
    #[arg(long)]
    pub peer: Option<String>,
    /// Print the figures as one JSON object instead of the tables.
    #[arg(long)]
    pub json: bool,
}

impl Flags {
    fn runs(&self, part: Part) -> bool {
        if self.explore {
            return part == Part::Explore;
        }
        self.only.is_empty() || self.only.contains(&part)
    }
}

/// Runs the benchmarks.
pub fn main(f: Flags) -> ExitCode {
    match run(&f) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(f: &Flags) -> Result<(), String> {
    let scripts = Scripts::write()?;
    let peer = Peer::find(f.peer.as_deref());
    let text = !f.json;
    let mut out = json!({ "machine": machine() });
    if text {
        print_head(&peer, &out["machine"]);
    }
    out["peer"] = match peer.absent() {
        Some(why) => json!({ "absent": why }),
        None => json!("simpy_shutdown.py"),
    };
    if f.runs(Part::Seed) {
        let s = runs::seed(&scripts, &peer, f.loops)?;
        if text {
            print_seed(&s);
        }
        out["seed"] = seed_json(&s);
    }
    if f.runs(Part::Scaling) {
        let mut rows = Vec::new();
        if text {
            print_scaling_head();
        }
        for &n in &f.domains {
            let row = runs::scale(&scripts, &peer, n)?;
            if text {
                print_scaling_row(&row);
            }
            rows.push(row);
        }
        if text {
            print_linearity(&rows);
            print_shutdown_alone(&rows);
        }
        out["scaling"] = rows.iter().map(scale_json).collect();
    }
    if f.runs(Part::Explore) {
        let all = runs::explore(&scripts, &[1, 2], f.variants)?;
        if text {
            print_explore(&all);
        }
        out["explore"] = all.iter().map(explore_json).collect();
    }
    if f.json {
        println!("{out}");
    }
    Ok(())
}

/// Cores and load: how busy the machine was, beside every figure.
fn machine() -> Value {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok());
    json!({ "cores": cores, "load_average": load })
}

fn side_json(m: &Measured) -> Value {
    json!({ "wall_s": round(m.wall_s, 4), "cpu_s": round(m.cpu_s, 4), "peak_rss_mib": round(m.peak_rss_mib, 1) })
}

fn round(x: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (x * p).round() / p
}

fn print_head(peer: &Peer, machine: &Value) {
    println!("xsh bench: each figure is one child process, timed from outside (wall; CPU = user + system; peak RSS = ru_maxrss)");
    println!(
        "{} cores, load average {} at the start",
        machine["cores"], machine["load_average"]
    );
    if let Some(why) = peer.absent() {
        println!("peer (SimPy): {why}");
    }
}

fn seed_json(s: &Seed) -> Value {
    let mut v = json!({
        "loops": s.loops,
        "runs_each": runs::SEED_RUNS,
        "events_each": runs::events_each(&s.xsh.stdout),
        "xsh": side_json(&s.xsh),
        "xsh_scenarios_per_s": round(s.loops as f64 / s.xsh.wall_s, 1),
        "hooked_loops": s.hooked_loops,
        "hooked": side_json(&s.hooked),
        "hooked_scenarios_per_s": round(s.hooked_loops as f64 / s.hooked.wall_s, 1),
        "hook_calls_per_scenario": runs::hook_calls(&s.hooked.stdout)
            .map(|c| round(c as f64 / s.hooked_loops as f64, 1)),
        "us_per_hook_call": s.us_per_hook_call().map(|u| round(u, 3)),
    });
    if let Some((m, own)) = &s.peer {
        v["peer"] = side_json(m);
        v["peer_scenarios_per_s"] = json!(round(s.loops as f64 / m.wall_s, 1));
        v["peer_scenarios_per_s_in_its_loop"] = json!(own);
    }
    v
}

fn print_seed(s: &Seed) {
    let rate = |n: u32, m: &Measured| n as f64 / m.wall_s;
    let each =
        runs::events_each(&s.xsh.stdout).map_or(String::new(), |e| format!(", {e} events each"));
    println!();
    println!(
        "seed scenario, {} times, each in a fresh world{each} (each side's median of {} runs)",
        s.loops,
        runs::SEED_RUNS
    );
    let row = |who: &str, m: &Measured, n: u32, cmd: &str| {
        println!(
            "  {who:<6} {:>8.3} s wall {:>8.3} s CPU {:>7.1} MiB  {:>7.0} scenarios/s  {:>6.0} us CPU each   {cmd}",
            m.wall_s,
            m.cpu_s,
            m.peak_rss_mib,
            rate(n, m),
            m.cpu_s / n as f64 * 1e6
        )
    };
    let xsh_rate = rate(s.loops, &s.xsh);
    row(
        "xsh",
        &s.xsh,
        s.loops,
        &format!(
            "xsh run scripts/seed_scenarios.rhai --param loops={}",
            s.loops
        ),
    );
    row(
        "hooked",
        &s.hooked,
        s.hooked_loops,
        &format!(
            "the same with `on` on each of the {} probes, loops={}",
            xsh_sim::probe::Probe::ALL.len(),
            s.hooked_loops
        ),
    );
    if let Some((m, own)) = &s.peer {
        row(
            "peer",
            m,
            s.loops,
            &format!("simpy_shutdown.py scenario --loops {} --reps 1", s.loops),
        );
        println!(
            "  xsh: {:.2}x the peer's scenarios/s process to process; {:.2}x the {own:.0}/s the peer timed inside its loop (its start-up left out)",
            xsh_rate / rate(s.loops, m),
            xsh_rate / own.max(1e-9)
        );
    }
    println!(
        "  every probe hooked: {:.2}x the plain speed (start-up included in both)",
        rate(s.hooked_loops, &s.hooked) / xsh_rate
    );
    if let (Some(calls), Some(us)) = (runs::hook_calls(&s.hooked.stdout), s.us_per_hook_call()) {
        println!(
            "  {:.0} hook calls per scenario, {us:.2} us of CPU each (the hooked run's CPU per scenario less the plain run's)",
            calls as f64 / s.hooked_loops as f64
        );
    }
}

fn print_scaling_head() {
    let (events, wall) = runs::scale_limits(10_000);
    println!();
    println!("N HVM domains (five devices each) created, then all shut down at once:");
    println!("  xsh:  xsh run scripts/host_shutdown.rhai --param domains=N --max-events 2000*N --max-wall-time {wall}   (N=10,000: --max-events {events})");
    println!("  peer: simpy_shutdown.py concurrent --domains N   (its domains exist from its first step: it creates none)");
    println!(
        "  {:>7} | {:>9} {:>9} {:>9} {:>10} | {:>9} {:>9} {:>9} {:>10} | {:>7} {:>7}",
        "domains",
        "xsh wall",
        "CPU",
        "peak RSS",
        "CPU/dom",
        "peer wall",
        "CPU",
        "peak RSS",
        "CPU/dom",
        "speed",
        "memory"
    );
}

fn cells(m: &Measured, domains: u32) -> String {
    format!(
        "{:>7.3} s {:>7.3} s {:>5.1} MiB {:>7.3} ms",
        m.wall_s,
        m.cpu_s,
        m.peak_rss_mib,
        m.cpu_s / domains as f64 * 1e3
    )
}

fn print_scaling_row(r: &Scale) {
    let peer = r
        .peer
        .as_ref()
        .map_or(format!("{:>41}", "-"), |p| cells(p, r.domains));
    let ratios = r.peer.as_ref().map_or(String::new(), |p| {
        format!(
            " | {:>6.2}x {:>6.2}x",
            p.wall_s / r.xsh.wall_s,
            r.xsh.peak_rss_mib / p.peak_rss_mib
        )
    });
    println!(
        "  {:>7} | {} | {peer}{ratios}",
        r.domains,
        cells(&r.xsh, r.domains)
    );
}

/// CPU per domain at the largest size over that at the smallest.
fn print_linearity(rows: &[Scale]) {
    let (Some(a), Some(b)) = (
        rows.iter().min_by_key(|r| r.domains),
        rows.iter().max_by_key(|r| r.domains),
    ) else {
        return;
    };
    if a.domains == b.domains {
        return;
    }
    let per = |m: &Measured, n: u32| m.cpu_s / n as f64;
    let mut s = format!(
        "  speed = peer wall / xsh wall; memory = xsh peak RSS / peer's. CPU per domain at {} over {}: xsh {:.2}x",
        b.domains,
        a.domains,
        per(&b.xsh, b.domains) / per(&a.xsh, a.domains)
    );
    if let (Some(pa), Some(pb)) = (&a.peer, &b.peer) {
        s.push_str(&format!(
            ", peer {:.2}x",
            per(pb, b.domains) / per(pa, a.domains)
        ));
    }
    println!("{s}");
}

/// The peer creates no domain; xsh's creation is timed on its own, and
/// the shutdown alone is the difference.
fn print_shutdown_alone(rows: &[Scale]) {
    println!();
    println!("the shutdown alone (the peer's whole run: its domains exist from its first step):");
    println!(
        "  xsh: the run above less the same script with --param shutdown=false (creation only)"
    );
    println!(
        "  {:>7} | {:>11} {:>9} {:>13} | {:>9} | {:>7}",
        "domains", "create only", "shutdown", "per domain", "peer wall", "speed"
    );
    for r in rows {
        let shut = r.shutdown_wall_s();
        let peer = r.peer.as_ref();
        println!(
            "  {:>7} | {:>9.3} s {:>7.3} s {:>10.1} us | {:>9} | {:>7}",
            r.domains,
            r.created.wall_s,
            shut,
            shut / r.domains as f64 * 1e6,
            peer.map_or("-".into(), |p| format!("{:.3} s", p.wall_s)),
            peer.filter(|_| shut > 0.0)
                .map_or("-".into(), |p| format!("{:.2}x", p.wall_s / shut)),
        );
    }
}

fn scale_json(r: &Scale) -> Value {
    let mut v = json!({
        "domains": r.domains,
        "xsh": side_json(&r.xsh),
        "xsh_cpu_ms_per_domain": round(r.xsh.cpu_s / r.domains as f64 * 1e3, 4),
        "xsh_create_only": side_json(&r.created),
        "xsh_shutdown_alone_wall_s": round(r.shutdown_wall_s(), 4),
    });
    if let Some(p) = &r.peer {
        v["peer"] = side_json(p);
        v["peer_cpu_ms_per_domain"] = json!(round(p.cpu_s / r.domains as f64 * 1e3, 4));
        if r.shutdown_wall_s() > 0.0 {
            v["shutdown_alone_speed"] = json!(round(p.wall_s / r.shutdown_wall_s(), 3));
        }
    }
    v
}

fn print_explore(all: &[Explored]) {
    println!();
    println!(
        "explored variants of the seed's scenario: xsh explore scripts/explore_seed.rhai -j J -q --json (median of {} runs each)",
        runs::EXPLORE_RUNS
    );
    for e in all {
        println!(
            "  -j {}: {} variants in {:.3} s wall, {:.3} s CPU, {:.1} MiB: {:.0} variants/s ({:.0} us of CPU each; runs {:.0}-{:.0}/s)",
            e.jobs,
            e.variants,
            e.m.wall_s,
            e.m.cpu_s,
            e.m.peak_rss_mib,
            e.variants as f64 / e.m.wall_s,
            e.m.cpu_s / e.variants as f64 * 1e6,
            e.range.0,
            e.range.1
        );
    }
    if let [one, two] = all {
        println!(
            "  speed-up 1 -> 2 jobs: {:.2}x",
            one.m.wall_s / two.m.wall_s * two.variants as f64 / one.variants as f64
        );
    }
}

fn explore_json(e: &Explored) -> Value {
    json!({
        "jobs": e.jobs,
        "variants": e.variants,
        "run": side_json(&e.m),
        "variants_per_s": round(e.variants as f64 / e.m.wall_s, 1),
        "variants_per_s_range": [round(e.range.0, 1), round(e.range.1, 1)],
        "runs_each": runs::EXPLORE_RUNS,
    })
}
