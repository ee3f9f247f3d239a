//! `xsh run [SCRIPT] [--seed N] [--log-dir DIR]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use xsh_script::{Host, Limits};
use xsh_sim::Config;

/// The seed's scenario, run when no script is given.
pub const DEFAULT_SCRIPT: &str = include_str!("../../../scripts/hvm_poweroff.rhai");

/// Flags of `xsh run`.
#[derive(Args, Default, Clone)]
pub struct Flags {
    /// The script (default: scripts/hvm_poweroff.rhai, built in).
    pub script: Option<PathBuf>,
    /// Seed of the world's random generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write xend.log, xen.log, qemu-dm-<name>.log and console-<name>.log here.
    #[arg(long)]
    pub log_dir: Option<PathBuf>,
    #[command(flatten)]
    pub limits: LimitFlags,
}

/// Limits, each with its own message and exit code 3.
#[derive(Args, Clone)]
pub struct LimitFlags {
    /// Rhai operations per evaluation.
    #[arg(long, default_value_t = 50_000_000)]
    pub max_operations: u64,
    /// Nested script calls.
    #[arg(long, default_value_t = 64)]
    pub max_call_depth: usize,
    /// Bytes in one string.
    #[arg(long, default_value_t = 16 << 20)]
    pub max_string_size: usize,
    /// Elements in one array.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_array_size: usize,
    /// Entries in one map.
    #[arg(long, default_value_t = 1 << 16)]
    pub max_map_size: usize,
    /// Events in one run of the world.
    #[arg(long, default_value_t = 50_000_000)]
    pub max_events: u64,
    /// Virtual seconds a run may reach.
    #[arg(long, default_value_t = 8_640_000.0)]
    pub max_virtual_time: f64,
    /// Wall-clock seconds for the whole script.
    #[arg(long, default_value_t = 60.0)]
    pub max_wall_time: f64,
}

impl Default for LimitFlags {
    fn default() -> Self {
        LimitFlags {
            max_operations: 50_000_000,
            max_call_depth: 64,
            max_string_size: 16 << 20,
            max_array_size: 1 << 20,
            max_map_size: 1 << 16,
            max_events: 50_000_000,
            max_virtual_time: 8_640_000.0,
            max_wall_time: 60.0,
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
    let host = Host::new(f.limits.config(f.seed), f.limits.limits());
    host.state.echo.set(true);
    if let Some(dir) = &f.log_dir {
        if let Err(e) = host.sim().logs.borrow_mut().stream_to_dir(dir) {
            eprintln!("error: cannot write logs to {}: {e}", dir.display());
            return ExitCode::from(2);
        }
    }
    let r = host.run(&name, &src);
    let flushed = host.sim().logs.borrow_mut().flush();
    if let Err(e) = flushed {
        eprintln!("error: writing logs: {e}");
    }
    match r {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprint!("{}", e.render(super::color()));
            ExitCode::from(e.exit_code())
        }
    }
}
