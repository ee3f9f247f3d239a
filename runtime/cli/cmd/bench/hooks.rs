//! `xsh bench`, hooks part: the seed scenario through the Rhai host, plain
//! and with an `on` hook on every probe, to show what observing everything
//! costs. Each run is a fresh host (world and engine), as `xsh run` makes.

use std::time::Instant;

use xsh_script::{Host, Limits};
use xsh_sim::probe::Probe;
use xsh_sim::Config;

/// The seed's scenario, without printing.
const SCENARIO: &str = r#"sim.start_time = "2019-06-05 09:23:27";
xend.pid = 2164;
let dom = xm.create(#{ name: "ubuntu-kdump", id: 8, type: "hvm", guest: "ubuntu-16.04",
                      devices: ["vif/0", "vkbd/0", "console/0", "vbd/51712", "vfb/0"] });
xm.shutdown(dom);
sim.run();
if dom.state != "destroyed" { throw "the domain should be gone"; }
"#;

/// One `on` per probe, each counting its calls.
fn every_probe_hooked() -> String {
    let mut s = String::from("let calls = 0;\n");
    for p in Probe::ALL {
        s.push_str(&format!("on(\"{}\", |ctx| calls += 1);\n", p.name()));
    }
    s.push_str(SCENARIO);
    s.push_str("if calls == 0 { throw \"no hook ran\"; }\n");
    s
}

/// A host as `xsh run` makes one: it records what the script can observe.
fn host(seed: u64) -> Host {
    let h = Host::new(
        Config {
            seed,
            ..Config::default()
        },
        Limits::default(),
    );
    h.state.observe_extra.set(Default::default());
    h
}

/// Runs `src` `loops` times, each in a fresh host; returns scenarios per
/// second. The script is compiled once, as a test runner or an exploration
/// does: what is measured is running it.
fn rate(src: &str, loops: u32) -> Result<f64, String> {
    let ast = host(1)
        .compile("bench.rhai", src)
        .map_err(|e| e.render(false))?;
    let t0 = Instant::now();
    for i in 0..loops {
        host(1 + i as u64)
            .run_ast("bench.rhai", src, ast.clone())
            .map(drop)
            .map_err(|e| e.render(false))?;
    }
    Ok(loops as f64 / t0.elapsed().as_secs_f64())
}

/// Prints plain and all-hooked scenarios/s and their ratio.
pub fn report(loops: u32) -> Result<(), String> {
    let hooked_src = every_probe_hooked();
    // Warm up once each, then measure alternately so load drifts hit both.
    rate(SCENARIO, 1)?;
    rate(&hooked_src, 1)?;
    let (mut plain, mut hooked) = (0.0, 0.0);
    for _ in 0..3 {
        plain += rate(SCENARIO, loops)?;
        hooked += rate(&hooked_src, loops)?;
    }
    let (plain, hooked) = (plain / 3.0, hooked / 3.0);
    println!(
        "seed scenario through the Rhai host: {plain:.0} scenarios/s plain, {hooked:.0} with an `on` hook on each of the {} probes: {:.2}x the plain speed (target >= 0.33)",
        Probe::ALL.len(),
        hooked / plain
    );
    Ok(())
}
