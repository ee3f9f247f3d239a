//! `xsh run [SCRIPT] [--seed N] [--log-dir DIR]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use xsh_script::{Host, Limits};
use xsh_sim::Config;

/// The seed's scenario, run when no script is given.
pub const DEFAULT_SCRIPT: &str = include_str!("../../../scripts/hvm_poweroff.rhai");

/// Flags of `xsh run`.
#[derive(Args, Clone)]
pub struct Flags {
    /// The script (default: scripts/hvm_poweroff.rhai, built in).
    pub script: Option<PathBuf>,
    /// Seed of the world's random generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write the host's logs here: xen.log, xend.log (when xend runs),
    /// xl-<name>.log, qemu-dm-<name>.log and console-<name>.log.
    #[arg(long)]
    pub log_dir: Option<PathBuf>,
    /// Fix choices the script makes with sim.choose: name=value[,name=value...]
    /// (repeatable; a backslash escapes `,` `=` `\` in a value); the others
    /// are picked from the seed.
    #[arg(long, value_name = "NAME=VALUE,...")]
    pub choose: Vec<String>,
    /// Set the script's own parameters, read with sim.param(name, default):
    /// name=value[,name=value...] (repeatable; escapes as for --choose).
    #[arg(long, value_name = "NAME=VALUE,...")]
    pub param: Vec<String>,
    #[command(flatten)]
    pub outputs: super::explore::OutputFlags,
    #[command(flatten)]
    pub limits: LimitFlags,
}

impl Flags {
    /// The flags of `xsh run` with nothing given, from clap's own defaults:
    /// a bare `xsh` (and so `cargo run`) runs the very world `xsh run` runs,
    /// with one default seed rather than a second one kept in step by hand.
    pub fn bare() -> Flags {
        use clap::FromArgMatches;
        let cmd = Flags::augment_args(clap::Command::new("run"));
        let m = cmd.get_matches_from(["run"]);
        Flags::from_arg_matches(&m).expect("run's flags all have defaults")
    }
}

/// Events in one run of the world, by default. The seed's scenario takes
/// under 400; an endless chain of `sim.after` reaches this in well under a
/// second (release) or two (debug build).
pub const DEFAULT_MAX_EVENTS: u64 = 250_000;

/// Virtual seconds a run may reach, by default (100 days).
pub const DEFAULT_MAX_VIRTUAL_TIME: f64 = 8_640_000.0;

/// Limits, each with its own message and exit code 3 (docs/limits.md).
#[derive(Args, Clone)]
pub struct LimitFlags {
    /// Rhai operations in one evaluation (the script, or one hook call).
    #[arg(long, default_value_t = Limits::default().max_operations)]
    pub max_operations: u64,
    /// Nested script calls (at most 20000).
    #[arg(long, default_value_t = Limits::default().max_call_levels)]
    pub max_call_depth: usize,
    /// Bytes in one string.
    #[arg(long, default_value_t = Limits::default().max_string_size)]
    pub max_string_size: usize,
    /// Elements in one array.
    #[arg(long, default_value_t = Limits::default().max_array_size)]
    pub max_array_size: usize,
    /// Entries in one map.
    #[arg(long, default_value_t = Limits::default().max_map_size)]
    pub max_map_size: usize,
    /// Events in one run of the world (one `sim.run()`).
    #[arg(long, default_value_t = DEFAULT_MAX_EVENTS)]
    pub max_events: u64,
    /// Virtual seconds a run may reach.
    #[arg(long, default_value_t = DEFAULT_MAX_VIRTUAL_TIME)]
    pub max_virtual_time: f64,
    /// Wall-clock seconds for the whole script (for `xsh test`: per test).
    #[arg(long, default_value_t = Limits::default().max_wall_secs)]
    pub max_wall_time: f64,
}

impl Default for LimitFlags {
    fn default() -> Self {
        let l = Limits::default();
        LimitFlags {
            max_operations: l.max_operations,
            max_call_depth: l.max_call_levels,
            max_string_size: l.max_string_size,
            max_array_size: l.max_array_size,
            max_map_size: l.max_map_size,
            max_events: DEFAULT_MAX_EVENTS,
            max_virtual_time: DEFAULT_MAX_VIRTUAL_TIME,
            max_wall_time: l.max_wall_secs,
        }
    }
}

impl LimitFlags {
    /// The script limits.
    pub fn limits(&self) -> Limits {
        Limits {
            max_operations: self.max_operations,
            max_call_levels: self.max_call_depth,
            max_string_size: self.max_string_size,
            max_array_size: self.max_array_size,
            max_map_size: self.max_map_size,
            max_wall_secs: self.max_wall_time,
        }
    }

    /// The flags whose value is not the default, as command-line words
    /// (`--max-operations 5000`): what a replay command must repeat for
    /// a variant to meet the same limits.
    pub fn changed(&self) -> Vec<String> {
        let defaults = LimitFlags::default().words();
        self.words()
            .into_iter()
            .zip(defaults)
            .filter(|(now, default)| now.1 != default.1)
            .map(|((flag, v), _)| format!("{flag} {v}"))
            .collect()
    }

    /// Each flag with its value as it is written on a command line.
    fn words(&self) -> [(&'static str, String); 8] {
        [
            ("--max-operations", self.max_operations.to_string()),
            ("--max-call-depth", self.max_call_depth.to_string()),
            ("--max-string-size", self.max_string_size.to_string()),
            ("--max-array-size", self.max_array_size.to_string()),
            ("--max-map-size", self.max_map_size.to_string()),
            ("--max-events", self.max_events.to_string()),
            ("--max-virtual-time", self.max_virtual_time.to_string()),
            ("--max-wall-time", self.max_wall_time.to_string()),
        ]
    }

    /// Rejects values no run could use (a usage error, exit 2). Every
    /// limit must be above zero: zero would mean "unlimited" to Rhai's own
    /// limits but "nothing may run" to the world's, so it means neither
    /// (docs/limits.md); a limit is lifted by giving it a large value.
    pub fn check(&self) -> Result<(), String> {
        let counts = [
            ("--max-operations", self.max_operations),
            ("--max-call-depth", self.max_call_depth as u64),
            ("--max-string-size", self.max_string_size as u64),
            ("--max-array-size", self.max_array_size as u64),
            ("--max-map-size", self.max_map_size as u64),
            ("--max-events", self.max_events),
        ];
        for (flag, v) in counts {
            if v == 0 {
                return Err(format!(
                    "{flag} must be at least 1 (to lift a limit, give it a large value)"
                ));
            }
        }
        // Each nested call takes room on the thread's stack; past this
        // depth a script could exhaust it and abort the process instead of
        // stopping with a report (xsh_script::deep).
        if self.max_call_depth > xsh_script::deep::MAX_CALL_DEPTH {
            return Err(format!(
                "--max-call-depth must be at most {}, got {}",
                xsh_script::deep::MAX_CALL_DEPTH,
                self.max_call_depth
            ));
        }
        for (flag, v) in [
            ("--max-virtual-time", self.max_virtual_time),
            ("--max-wall-time", self.max_wall_time),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("{flag} must be a number of seconds > 0, got {v}"));
            }
        }
        Ok(())
    }

    /// The world's settings for `seed`.
    pub fn config(&self, seed: u64) -> Config {
        Config {
            seed,
            max_events: self.max_events,
            max_virtual_time: xsh_sim::time::SimTime(
                xsh_sim::time::SimDuration::from_secs_f64(self.max_virtual_time).0,
            ),
            ..Config::default()
        }
    }
}

/// Runs a script; prints what it prints; reports errors at their position.
pub fn main(f: Flags) -> ExitCode {
    if let Err(msg) = f.limits.check() {
        eprintln!("error: {msg}");
        return ExitCode::from(2);
    }
    let (name, src) = match &f.script {
        None => (
            "scripts/hvm_poweroff.rhai".to_string(),
            DEFAULT_SCRIPT.to_string(),
        ),
        Some(p) => match std::fs::read_to_string(p) {
            Ok(s) => (p.display().to_string(), s),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", p.display());
                return ExitCode::from(2);
            }
        },
    };
    if let Err(e) = f.outputs.check() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let host = Host::new(f.limits.config(f.seed), f.limits.limits());
    host.state.echo.set(true);
    // The world records what the script and the asked-for outputs read,
    // nothing more (logs go to --log-dir as they are written, kept or not).
    host.state.observe_extra.set(f.outputs.observe());
    if f.outputs.report.is_some() {
        xsh_script::output::report::prepare(host.sim());
    }
    if let Some(dir) = &f.log_dir {
        if let Err(e) = host.sim().logs.borrow_mut().stream_to_dir(dir) {
            eprintln!("error: cannot write logs to {}: {e}", dir.display());
            return ExitCode::from(2);
        }
    }
    match xsh_script::explore::parse_choose(&f.choose) {
        Ok(fixed) => host.state.explore.plan.borrow_mut().fixed = fixed,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    match xsh_script::params::Params::parse(&f.param) {
        Ok(p) => *host.state.params.borrow_mut() = p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    // A long run on a terminal shows how far it has come (progress_line.rs).
    let line = super::progress_line::TerminalLine::if_terminal();
    if let Some(l) = &line {
        *host.state.progress.borrow_mut() = Some(l.clone());
    }
    let r = host.run(&name, &src);
    if let Some(l) = line {
        xsh_script::progress::Progress::clear(&*l);
        *host.state.progress.borrow_mut() = None;
    }
    for name in host.state.params.borrow().unused() {
        eprintln!(
            "warning: --param {name}=...: the script never asked for sim.param({name:?}, ...)"
        );
    }
    let echoed = host.state.echo_error.borrow_mut().take();
    let wrote = f.outputs.write(&host, &name).and_then(|_| {
        let failure = r.as_ref().err().map(|e| e.render(false));
        f.outputs
            .write_report(&host, &super::report::run_info(&f, &host, &name, failure))
    });
    super::explore::report_choices(&host);
    let flushed = host.sim().logs.borrow_mut().flush();
    match (&flushed, &f.log_dir) {
        (Err(e), _) => eprintln!("error: writing logs: {e}"),
        (Ok(()), Some(dir)) => eprintln!("{}", logs_written(&host, dir)),
        (Ok(()), None) => {}
    }
    if let Err(e) = wrote {
        eprintln!("error: {e}");
        if r.is_ok() {
            return ExitCode::from(2);
        }
    }
    if let Some(e) = echoed {
        eprintln!("error: {e}");
        if r.is_ok() {
            return ExitCode::from(2);
        }
    }
    match r {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprint!("{}", e.render(super::color()));
            ExitCode::from(e.exit_code())
        }
    }
}

/// `wrote N logs to DIR (SIZE): a, b, ...`: the files this run streamed
/// into `--log-dir`, in the order the world made them. Only files that
/// exist are named: a host that runs xl has no xend.log.
fn logs_written(host: &Host, dir: &std::path::Path) -> String {
    let logs = host.sim().logs.borrow();
    let host_logs: Vec<&str> = [("xend.log", &logs.xend), ("xen.log", &logs.xen)]
        .into_iter()
        .filter(|(_, sink)| sink.exists())
        .map(|(name, _)| name)
        .collect();
    let mut names: Vec<&str> = host_logs.clone();
    names.extend(logs.files.keys().map(String::as_str));
    let total: u64 = names
        .iter()
        .filter_map(|n| std::fs::metadata(dir.join(n)).ok())
        .map(|m| m.len())
        .sum();
    // A host's worth of domains would make one very long line: past a
    // handful, the per-domain files are counted instead of named.
    let list = if names.len() <= 6 {
        names.join(", ")
    } else {
        format!(
            "{} and {} per-domain logs",
            host_logs.join(", "),
            logs.files.len()
        )
    };
    format!(
        "wrote {} log{} to {} ({}): {list}",
        names.len(),
        if names.len() == 1 { "" } else { "s" },
        dir.display(),
        super::explore::size(total),
    )
}
