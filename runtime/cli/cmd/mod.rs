//! Subcommands, one file each; each owns its flags.

pub mod bench;
pub mod bench_explore;
pub mod definitions;
pub mod explore;
pub mod logs;
pub mod probes;
pub mod repl;
pub mod report;
pub mod run;
pub mod test;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Run, watch and rewrite the path a Xen domain takes when it shuts down.
#[derive(Parser)]
#[command(name = "xsh", version, about)]
pub struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a script (default: the seed's scenario, scripts/hvm_poweroff.rhai).
    Run(run::Flags),
    /// List probes (`layer:function`), optionally those matching a pattern.
    Probes(probes::Flags),
    /// Benchmarks beside the SimPy peer.
    Bench(bench::Flags),
    /// Run every combination of a script's choices; table the outcomes.
    Explore(explore::Flags),
    /// Run the `fn test_*()` of Rhai test files, each in a fresh world.
    Test(test::Flags),
    /// An interactive session in one world (reads a piped session too).
    Repl(repl::Flags),
    /// Write the script API as Rhai definition files (or docs/api.md).
    Definitions(definitions::Flags),
    /// Real logs in: parse, stats, explain, diff, check.
    Logs(logs::Flags),
}

/// Runs the chosen subcommand.
pub fn dispatch(cli: Cli) -> ExitCode {
    match cli.cmd {
        None => run::main(run::Flags::default()),
        Some(Cmd::Run(f)) => run::main(f),
        Some(Cmd::Probes(f)) => probes::main(f),
        Some(Cmd::Bench(f)) => bench::main(f),
        Some(Cmd::Explore(f)) => explore::main(f),
        Some(Cmd::Test(f)) => test::main(f),
        Some(Cmd::Repl(f)) => repl::main(f),
        Some(Cmd::Definitions(f)) => definitions::main(f),
        Some(Cmd::Logs(f)) => logs::main(f),
    }
}

/// Colour for reports: off when NO_COLOR is set or stderr is not a terminal.
pub fn color() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// Writes `text` to stdout. A stdout that cannot take it (`> /dev/full`)
/// is reported as an error rather than the panic `print!` makes.
pub fn print_stdout(text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))
}
