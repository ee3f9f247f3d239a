//! Where a seed scenario's time goes, phase by phase: building the world,
//! `xm create`, and the shutdown. For profiling the core without Rhai:
//!
//!     cargo build --release -p xsh-sim --example phases
//!     valgrind --tool=callgrind ./target/release/examples/phases 50
//!
//! Instruction counts under callgrind do not depend on the machine's load,
//! unlike the wall times this prints.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Instant;
use xsh_sim::host::{self, CreateSpec};
use xsh_sim::Config;

fn seed_devices() -> Vec<(String, String)> {
    ["vif/0", "vkbd/0", "console/0", "vbd/51712", "vfb/0"]
        .iter()
        .filter_map(|d| d.split_once('/'))
        .map(|(c, d)| (c.to_string(), d.to_string()))
        .collect()
}

/// `phases concurrent N`: N domains created, then shut down together.
fn concurrent(n: usize) {
    let t0 = Instant::now();
    let sim = host::build(Config::default());
    sim.logs.borrow_mut().set_keep(false);
    sim.tracing.set(false);
    sim.ctxs.borrow_mut().record_hops = false;
    let names: Vec<String> = (0..n).map(|i| format!("vm{i}")).collect();
    for name in &names {
        let mut s = CreateSpec::new(name);
        s.devices = seed_devices();
        host::xm_create(&sim, &s).expect("xm create");
    }
    let t1 = Instant::now();
    let e1 = sim.exec.events_run();
    host::xm_shutdown_all(&sim, &names).expect("xm shutdown");
    sim.run_until(None);
    println!(
        "create {:.3} s ({} events), shutdown {:.3} s ({} events)",
        (t1 - t0).as_secs_f64(),
        e1,
        t1.elapsed().as_secs_f64(),
        sim.exec.events_run() - e1
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let first = args.next();
    if first.as_deref() == Some("concurrent") {
        let n = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
        return concurrent(n);
    }
    let n: u64 = first.and_then(|a| a.parse().ok()).unwrap_or(1000);
    let (mut t_build, mut t_create, mut t_shut) = (0.0, 0.0, 0.0);
    let (mut ev_create, mut ev_shut) = (0, 0);
    for i in 0..n {
        let t0 = Instant::now();
        let sim = host::build(Config {
            seed: 1 + i,
            ..Config::default()
        });
        sim.logs.borrow_mut().set_keep(false);
        sim.tracing.set(false);
        sim.ctxs.borrow_mut().record_hops = false;
        let t1 = Instant::now();
        let mut s = CreateSpec::new("ubuntu-kdump");
        s.id = Some(8);
        s.devices = seed_devices();
        host::xm_create(&sim, &s).expect("xm create");
        let e1 = sim.exec.events_run();
        let t2 = Instant::now();
        host::xm_shutdown(&sim, "ubuntu-kdump", "poweroff", false).expect("xm shutdown");
        sim.run_until(None);
        let t3 = Instant::now();
        ev_create += e1;
        ev_shut += sim.exec.events_run() - e1;
        t_build += (t1 - t0).as_secs_f64();
        t_create += (t2 - t1).as_secs_f64();
        t_shut += (t3 - t2).as_secs_f64();
        sim.dispose();
    }
    let n = n as f64;
    println!(
        "build {:.1} us, create {:.1} us ({:.0} events), shutdown {:.1} us ({:.0} events), total {:.1} us",
        t_build / n * 1e6,
        t_create / n * 1e6,
        ev_create as f64 / n,
        t_shut / n * 1e6,
        ev_shut as f64 / n,
        (t_build + t_create + t_shut) / n * 1e6
    );
}
