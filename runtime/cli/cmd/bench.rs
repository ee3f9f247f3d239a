//! `xsh bench`: the seed scenario in a loop (scenarios/s, events/s) and N
//! HVM domains shut down in one world (wall time, peak RSS), each beside the
//! SimPy peer (../shared/peers/simpy_shutdown.py) run in the same invocation.

mod hooks;

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Instant;

use clap::Args;
use xsh_sim::host::{self, CreateSpec};
use xsh_sim::{Config, Sim};

/// Flags of `xsh bench`.
#[derive(Args)]
pub struct Flags {
    /// Domains shut down together in the concurrent run (Xen gives domids
    /// 1 to 32751 to guests).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=32_751))]
    pub domains: u32,
    /// Seed scenarios run back to back.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..))]
    pub loops: u32,
    /// The SimPy peer (default: ../shared/peers/simpy_shutdown.py); `none` skips it.
    #[arg(long)]
    pub peer: Option<String>,
    /// Only the concurrent run, in this process (used to measure its peak RSS alone).
    #[arg(long, hide = true)]
    pub concurrent_only: bool,
    /// Explored variants of the seed's scenario per second, 1 and 2 jobs.
    #[arg(long)]
    pub explore: bool,
}

const SEED_DEVICES: [(&str, &str); 5] = [
    ("vif", "0"),
    ("vkbd", "0"),
    ("console", "0"),
    ("vbd", "51712"),
    ("vfb", "0"),
];

fn spec(name: &str, id: Option<u32>) -> CreateSpec {
    let mut s = CreateSpec::new(name);
    s.id = id;
    s.devices = SEED_DEVICES
        .iter()
        .map(|(c, d)| (c.to_string(), d.to_string()))
        .collect();
    s
}

fn quiet(sim: &Sim) {
    sim.logs.borrow_mut().set_keep(false);
    sim.tracing.set(false);
    sim.ctxs.borrow_mut().record_hops = false;
}

/// One seed scenario; returns the events it ran.
fn seed_once(seed: u64) -> u64 {
    let sim = host::build(Config {
        seed,
        ..Config::default()
    });
    quiet(&sim);
    sim.xend.borrow_mut().pid = 2164;
    host::xm_create(&sim, &spec("ubuntu-kdump", Some(8))).expect("create");
    host::xm_shutdown(&sim, "ubuntu-kdump", "poweroff", false).expect("shutdown");
    sim.run_until(None);
    let events = sim.exec.events_run();
    sim.dispose();
    events
}

/// A memory line of /proc/self/status in MiB (`VmHWM:` is the peak RSS).
fn status_mib(key: &str) -> f64 {
    xsh_log::bench::status_kib(key) as f64 / 1024.0
}

/// What the N-domain run measured.
struct Concurrent {
    /// Seconds to build the world and `xm create` every domain.
    create_s: f64,
    /// Seconds from `xm shutdown` of all of them until the last is gone.
    shutdown_s: f64,
    /// Events the world ran, creation included.
    events: u64,
    /// Resident MiB once every domain runs (before the shutdown).
    running_rss_mib: f64,
    /// Virtual seconds from the shutdown request to the last domain gone.
    virtual_s: f64,
    /// The shutdown's work: events, xenstore requests, and DIRECTORY
    /// entries listed (what the wall time is spent on).
    shutdown_events: u64,
    shutdown_xs_requests: u64,
    shutdown_dir_entries: u64,
}

/// N domains, created, then all shut down at once.
fn concurrent(n: u32) -> Result<Concurrent, String> {
    let t0 = Instant::now();
    let sim = host::build(Config::default());
    quiet(&sim);
    let names: Vec<String> = (0..n).map(|i| format!("vm{i}")).collect();
    for name in &names {
        host::xm_create(&sim, &spec(name, None))?;
    }
    let create_s = t0.elapsed().as_secs_f64();
    let running_rss_mib = status_mib("VmRSS:");
    let t1 = Instant::now();
    let v1 = sim.now();
    let events_before = sim.exec.events_run();
    let (requests_before, listed_before) = {
        let xs = sim.xs.borrow();
        (xs.requests, xs.listed)
    };
    host::xm_shutdown_all(&sim, &names)?;
    sim.run_until(None);
    let shutdown_s = t1.elapsed().as_secs_f64();
    let left = sim.xen.borrow().domains.len();
    if left != 1 {
        return Err(format!("{} domains still exist after the run", left - 1));
    }
    let xs = sim.xs.borrow();
    Ok(Concurrent {
        create_s,
        shutdown_s,
        events: sim.exec.events_run(),
        running_rss_mib,
        virtual_s: sim.now().since(v1).as_secs_f64(),
        shutdown_events: sim.exec.events_run() - events_before,
        shutdown_xs_requests: xs.requests - requests_before,
        shutdown_dir_entries: xs.listed - listed_before,
    })
}

fn peer_path(f: &Flags) -> Option<PathBuf> {
    match f.peer.as_deref() {
        Some("none") => None,
        Some(p) => Some(PathBuf::from(p)),
        None => {
            let p = PathBuf::from("../shared/peers/simpy_shutdown.py");
            p.exists().then_some(p)
        }
    }
}

fn run_peer(path: &PathBuf, args: &[&str]) -> Option<String> {
    let out = Command::new("python3").arg(path).args(args).output().ok()?;
    if !out.status.success() {
        eprintln!(
            "peer failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn json_num(s: &str, key: &str) -> Option<f64> {
    let v: serde_json::Value =
        serde_json::from_str(s.lines().rev().find(|l| l.trim_start().starts_with('{'))?).ok()?;
    v.get(key)?.as_f64()
}

/// Runs the benchmarks.
pub fn main(f: Flags) -> ExitCode {
    if f.explore {
        return super::bench_explore::main();
    }
    if f.concurrent_only {
        return match concurrent(f.domains) {
            Ok(c) => {
                println!(
                    "{{\"wall_s\": {:.3}, \"create_s\": {:.3}, \"shutdown_s\": {:.3}, \"events\": {}, \"running_rss_mib\": {:.1}, \"peak_rss_mib\": {:.1}, \"virtual_s\": {:.6}, \"shutdown_events\": {}, \"shutdown_xs_requests\": {}, \"shutdown_dir_entries\": {}}}",
                    c.create_s + c.shutdown_s,
                    c.create_s,
                    c.shutdown_s,
                    c.events,
                    c.running_rss_mib,
                    status_mib("VmHWM:"),
                    c.virtual_s,
                    c.shutdown_events,
                    c.shutdown_xs_requests,
                    c.shutdown_dir_entries
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        };
    }
    let peer = peer_path(&f);
    println!("xsh bench (release build recommended: cargo run --release -- bench)");
    // (a) the seed scenario in a loop.
    let t0 = Instant::now();
    let mut events = 0;
    for i in 0..f.loops {
        events += seed_once(1 + i as u64);
    }
    let wall = t0.elapsed().as_secs_f64();
    let (sps, eps) = (f.loops as f64 / wall, events as f64 / wall);
    println!("seed scenario: {} runs in {wall:.3} s: {sps:.0} scenarios/s, {eps:.0} events/s ({} events/scenario)", f.loops, events / f.loops.max(1) as u64);
    if let Some(p) = &peer {
        if let Some(out) = run_peer(p, &["scenario"]) {
            let num = |k: &str| json_num(&out, k).unwrap_or(0.0);
            let (peer_sps, peer_eps) = (num("scenarios_per_s_median"), num("events_per_s_median"));
            println!(
                "  peer (SimPy): {peer_sps:.0} scenarios/s, {peer_eps:.0} events/s ({} steps/scenario; median of {} runs)",
                num("events_per_scenario"),
                num("reps")
            );
            if peer_sps > 0.0 && peer_eps > 0.0 {
                println!(
                    "  ratio: {:.2}x the peer's scenarios/s, {:.1}x its events/s",
                    sps / peer_sps,
                    eps / peer_eps
                );
            }
        }
    }
    // (b) the same through the Rhai host, plain and with every probe hooked.
    if let Err(e) = hooks::report((f.loops / 3).max(10)) {
        eprintln!("hooks benchmark failed: {e}");
        return ExitCode::from(1);
    }
    // (c) N domains in one world, in a child process so its RSS is its own.
    let me = std::env::current_exe().expect("own path");
    let child = Command::new(me)
        .args([
            "bench",
            "--concurrent-only",
            "--domains",
            &f.domains.to_string(),
        ])
        .output();
    let ours = match child {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        Ok(o) => {
            eprintln!(
                "concurrent run failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("cannot start the concurrent run: {e}");
            return ExitCode::from(1);
        }
    };
    let num = |k: &str| json_num(&ours, k).unwrap_or(0.0);
    let (w, ev, rss) = (num("wall_s"), num("events"), num("peak_rss_mib"));
    let (create, shutdown) = (num("create_s"), num("shutdown_s"));
    println!("{} HVM domains (5 devices each), created and shut down in one world: {w:.3} s wall, {:.0} events/s, peak RSS {rss:.1} MiB", f.domains, ev / w.max(1e-9));
    println!(
        "  created in {create:.3} s (RSS then {:.1} MiB), shut down in {shutdown:.3} s ({:.1} s of virtual time)",
        num("running_rss_mib"),
        num("virtual_s")
    );
    println!(
        "  the shutdown's work: {:.0} events, {:.0} xenstore requests, {:.0} directory entries listed (xenstore-rm -t lists each removed backend's parent)",
        num("shutdown_events"),
        num("shutdown_xs_requests"),
        num("shutdown_dir_entries")
    );
    if let Some(p) = &peer {
        if let Some(out) = run_peer(p, &["concurrent", "--domains", &f.domains.to_string()]) {
            let (pw, prss) = (
                json_num(&out, "wall_s").unwrap_or(0.0),
                json_num(&out, "peak_rss_mib").unwrap_or(0.0),
            );
            // The peer's domains exist from its first step: it has no
            // creation to time, so the shutdown alone is the like-for-like.
            println!("  peer (SimPy): {pw:.3} s wall (shutdown only), peak RSS {prss:.1} MiB");
            if w > 0.0 && shutdown > 0.0 {
                println!(
                    "  ratio: {:.2}x the peer's speed counting our creation, {:.2}x the shutdown alone; {:.2}x its memory",
                    pw / w,
                    pw / shutdown,
                    rss / prss.max(1e-9)
                );
            }
        }
    }
    ExitCode::SUCCESS
}
