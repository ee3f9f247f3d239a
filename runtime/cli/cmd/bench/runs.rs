//! The benchmark's runs, each one child process doing what a user does:
//! `xsh run` of a script (this very binary), `xsh explore`, and the peer's
//! own commands. Nothing here reaches into the model; a figure is what the
//! kernel counted for the process.

use std::path::{Path, PathBuf};
use std::process::Command;

use xsh_sim::probe::Probe;

use super::child::{measure, Measured};
use super::peer::{json_num, Peer};

/// The scripts the runs use, as shipped in scripts/ (built in, so that
/// `xsh bench` runs from any directory).
pub const SEED_SCENARIOS: &str = include_str!("../../../../scripts/seed_scenarios.rhai");
pub const HOST_SHUTDOWN: &str = include_str!("../../../../scripts/host_shutdown.rhai");
pub const EXPLORE_SEED: &str = include_str!("../../../../scripts/explore_seed.rhai");

/// A folder of the scripts the children run, removed when dropped.
pub struct Scripts {
    dir: PathBuf,
}

impl Scripts {
    /// The scripts written to a fresh folder under the system's temp dir.
    pub fn write() -> Result<Scripts, String> {
        let dir = std::env::temp_dir().join(format!("xsh-bench-{}", std::process::id()));
        let hooked = every_probe_hooked()?;
        let files = [
            ("seed_scenarios.rhai", SEED_SCENARIOS),
            ("seed_scenarios_hooked.rhai", hooked.as_str()),
            ("host_shutdown.rhai", HOST_SHUTDOWN),
            ("explore_seed.rhai", EXPLORE_SEED),
        ];
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let s = Scripts { dir };
        for (name, text) in files {
            let p = s.path(name);
            std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        Ok(s)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Scripts {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// scripts/seed_scenarios.rhai with an `on` hook on every probe in each
/// world, each counting its calls: what observing everything costs.
fn every_probe_hooked() -> Result<String, String> {
    let changed = "scripts/seed_scenarios.rhai no longer reads as `xsh bench` expects";
    let (counter, open) = ("let events = 0;\n", "events += sim.in_new_world(|| {\n");
    let c = SEED_SCENARIOS.find(counter).ok_or(changed)? + counter.len();
    let o = SEED_SCENARIOS.find(open).ok_or(changed)? + open.len();
    let mut s = String::from(&SEED_SCENARIOS[..c]);
    s.push_str("let calls = 0;\n");
    s.push_str(&SEED_SCENARIOS[c..o]);
    for p in Probe::ALL {
        s.push_str(&format!(
            "        on(\"{}\", |ctx| calls += 1);\n",
            p.name()
        ));
    }
    s.push_str(&SEED_SCENARIOS[o..]);
    s.push_str("if calls == 0 { throw \"no hook ran\"; }\n");
    s.push_str("print(`hook calls: ${calls}`);\n");
    Ok(s)
}

/// This binary, to run as a user would.
fn xsh(args: &[&str]) -> Result<Command, String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find xsh's own path: {e}"))?;
    let mut c = Command::new(me);
    c.args(args).env("NO_COLOR", "1");
    Ok(c)
}

fn arg(p: &Path) -> String {
    p.display().to_string()
}

/// The seed's scenario `loops` times, each in a fresh world.
pub struct Seed {
    pub loops: u32,
    /// `xsh run scripts/seed_scenarios.rhai --param loops=N`.
    pub xsh: Measured,
    /// The same with every probe hooked, `hooked_loops` times.
    pub hooked: Measured,
    pub hooked_loops: u32,
    /// `simpy_shutdown.py scenario --loops N --reps 1`, and the rate it
    /// measured itself inside its loop (start-up left out).
    pub peer: Option<(Measured, f64)>,
}

/// Runs the seed scenario's part.
pub fn seed(s: &Scripts, peer: &Peer, loops: u32) -> Result<Seed, String> {
    let run = |name: &str, n: u32| {
        measure(&mut xsh(&[
            "run",
            &arg(&s.path(name)),
            "--param",
            &format!("loops={n}"),
        ])?)
    };
    // As many hooked scenarios as plain ones: each run's start-up (the
    // hooked script's is twice the plain one's, 194 `on` lines parsed) is
    // then spread over the same number of scenarios, and the run is long
    // enough that a shared machine's hiccup moves it less.
    let hooked_loops = loops;
    // Each side runs SEED_RUNS times, the three alternating, and its median
    // run (by wall time) is the one shown: a run of a tenth of a second on
    // a shared machine can be a third slower now and then for nothing it
    // did (2 of 20 runs of the hooked script, measured), and of three runs
    // two such would decide the median.
    let (mut plain, mut hooked, mut peers) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..SEED_RUNS {
        plain.push(run("seed_scenarios.rhai", loops)?);
        hooked.push(run("seed_scenarios_hooked.rhai", hooked_loops)?);
        if let Some(mut c) =
            peer.command(&["scenario", "--loops", &loops.to_string(), "--reps", "1"])
        {
            peers.push(measure(&mut c)?);
        }
    }
    let xsh_side = median(plain).ok_or("no run of the seed's scenario")?;
    let hooked = median(hooked).ok_or("no hooked run of the seed's scenario")?;
    let peer = median(peers).map(|m| {
        let own = json_num(&m.stdout, "scenarios_per_s_median").unwrap_or(0.0);
        (m, own)
    });
    Ok(Seed {
        loops,
        xsh: xsh_side,
        hooked,
        hooked_loops,
        peer,
    })
}

/// Runs of each side of the seed's part; the median is shown.
pub const SEED_RUNS: usize = 5;

/// The run with the median wall time.
fn median(mut runs: Vec<Measured>) -> Option<Measured> {
    runs.sort_by(|a, b| a.wall_s.total_cmp(&b.wall_s));
    let mid = runs.len() / 2;
    runs.into_iter().nth(mid)
}

/// Events each scenario ran, from the script's last line.
pub fn events_each(stdout: &str) -> Option<u64> {
    let l = stdout.lines().rev().find(|l| l.contains("events ("))?;
    let each = l.rsplit('(').next()?.split_whitespace().next()?;
    each.parse().ok()
}

/// How many hook calls the hooked run made, from its last line.
pub fn hook_calls(stdout: &str) -> Option<u64> {
    let l = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("hook calls: "))?;
    l["hook calls: ".len()..].trim().parse().ok()
}

impl Seed {
    /// What one `on` hook call costs, in CPU microseconds: the hooked
    /// run's CPU per scenario less the plain run's, over the hook calls
    /// each scenario made. The ratio to the plain speed falls as the model
    /// gets faster; this does not, so it is the figure to follow for hooks.
    pub fn us_per_hook_call(&self) -> Option<f64> {
        let calls = hook_calls(&self.hooked.stdout)? as f64 / self.hooked_loops as f64;
        let hooked = self.hooked.cpu_s / self.hooked_loops as f64;
        let plain = self.xsh.cpu_s / self.loops as f64;
        (calls > 0.0).then(|| (hooked - plain) / calls * 1e6)
    }
}

/// One size of the scaling table.
pub struct Scale {
    pub domains: u32,
    pub xsh: Measured,
    /// The same script stopped after its creation (`--param shutdown=false`).
    pub created: Measured,
    pub peer: Option<Measured>,
}

impl Scale {
    /// Wall seconds of xsh's shutdown alone: the whole run less the run
    /// that only creates. The peer's domains exist from its first step, so
    /// this is the part of xsh's run that answers the peer's question.
    pub fn shutdown_wall_s(&self) -> f64 {
        (self.xsh.wall_s - self.created.wall_s).max(0.0)
    }
}

/// The limits a host-scale run is given: room for ~2,000 events per
/// domain (about 700 are used) and an hour.
pub fn scale_limits(domains: u32) -> (u64, u32) {
    ((domains as u64 * 2_000).max(250_000), 3_600)
}

/// `domains` HVM domains created and shut down, by xsh and by the peer;
/// and by xsh created only.
pub fn scale(s: &Scripts, peer: &Peer, domains: u32) -> Result<Scale, String> {
    let (events, wall) = scale_limits(domains);
    let host = |shutdown: bool| -> Result<Measured, String> {
        measure(&mut xsh(&[
            "run",
            &arg(&s.path("host_shutdown.rhai")),
            "--param",
            &format!("domains={domains}"),
            "--param",
            &format!("shutdown={shutdown}"),
            "--max-events",
            &events.to_string(),
            "--max-wall-time",
            &wall.to_string(),
        ])?)
    };
    let m = host(true)?;
    if !m.stdout.contains("domains left: 0") {
        return Err(format!(
            "host_shutdown.rhai with {domains} domains did not shut them all down:\n{}",
            m.stdout
        ));
    }
    let created = host(false)?;
    if !created
        .stdout
        .contains(&format!("domains running: {domains}"))
    {
        return Err(format!(
            "host_shutdown.rhai --param shutdown=false did not leave {domains} domains running:\n{}",
            created.stdout
        ));
    }
    let peer = match peer.command(&["concurrent", "--domains", &domains.to_string()]) {
        Some(mut c) => Some(measure(&mut c)?),
        None => None,
    };
    Ok(Scale {
        domains,
        xsh: m,
        created,
        peer,
    })
}

/// One `xsh explore` of the seed's scenario: the median of its runs.
pub struct Explored {
    pub jobs: u32,
    pub variants: usize,
    /// The run with the median wall time.
    pub m: Measured,
    /// The slowest and fastest run's variants per second.
    pub range: (f64, f64),
}

/// Runs of each job count in the explore part; the median is shown. An
/// exploration is a few tenths of a second, which a shared machine's
/// neighbours can stretch by a third; five runs, the job counts taking
/// turns, give a median neither an unlucky nor a lucky run decides.
pub const EXPLORE_RUNS: usize = 5;

/// `xsh explore scripts/explore_seed.rhai -j J` for each of `jobs`,
/// EXPLORE_RUNS times each, alternating (`samples` of the combinations,
/// or all of them).
pub fn explore(s: &Scripts, jobs: &[u32], samples: Option<u32>) -> Result<Vec<Explored>, String> {
    let mut runs: Vec<Vec<(usize, Measured)>> = jobs.iter().map(|_| Vec::new()).collect();
    for _ in 0..EXPLORE_RUNS {
        for (j, &n) in jobs.iter().enumerate() {
            runs[j].push(explore_once(s, n, samples)?);
        }
    }
    jobs.iter()
        .zip(runs)
        .map(|(&jobs, mut r)| {
            let rate = |(v, m): &(usize, Measured)| *v as f64 / m.wall_s;
            let lo = r.iter().map(rate).fold(f64::INFINITY, f64::min);
            let hi = r.iter().map(rate).fold(0.0, f64::max);
            r.sort_by(|a, b| a.1.wall_s.total_cmp(&b.1.wall_s));
            let mid = r.len() / 2;
            let (variants, m) = r.into_iter().nth(mid).ok_or("no exploration ran")?;
            Ok(Explored {
                jobs,
                variants,
                m,
                range: (lo, hi),
            })
        })
        .collect()
}

/// One `xsh explore scripts/explore_seed.rhai -j JOBS`: its variants and cost.
fn explore_once(s: &Scripts, jobs: u32, samples: Option<u32>) -> Result<(usize, Measured), String> {
    let mut args = vec![
        "explore".to_string(),
        arg(&s.path("explore_seed.rhai")),
        "-j".into(),
        jobs.to_string(),
        "-q".into(),
        "--json".into(),
    ];
    if let Some(n) = samples {
        args.extend(["--samples".into(), n.to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let m = measure(&mut xsh(&args)?)?;
    let v: serde_json::Value = serde_json::from_str(&m.stdout)
        .map_err(|e| format!("xsh explore --json printed no JSON: {e}"))?;
    let variants = v["variants"]
        .as_array()
        .ok_or("xsh explore --json: no variants")?;
    if let Some(f) = variants.iter().find(|x| !x["failure"].is_null()) {
        return Err(format!("an explored variant failed: {f}"));
    }
    Ok((variants.len(), m))
}
