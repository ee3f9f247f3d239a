//! Subcommands, one file each; each owns its flags.

pub mod bench;
pub mod definitions;
pub mod explore;
pub mod logs;
pub mod probes;
pub mod progress_line;
pub mod repl;
pub mod report;
pub mod run;
pub mod test;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use std::process::ExitCode;
use std::sync::OnceLock;

/// Run, watch and rewrite the path a Xen domain takes when it shuts down.
#[derive(Parser)]
#[command(name = "xsh", version, about)]
pub struct Cli {
    /// Colour in reports: auto (a terminal, and NO_COLOR unset), always or never.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    color: Color,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

/// `--color`, as cargo, ripgrep and git spell it.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// When the output is a terminal and NO_COLOR is not set.
    Auto,
    /// Always, even into a pipe or a file.
    Always,
    /// Never.
    Never,
}

/// The `--color` given, read by every command's reports.
static COLOR: OnceLock<Color> = OnceLock::new();

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
    /// Print a completion script for a shell (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell: `xsh completions bash > /etc/bash_completion.d/xsh`.
        shell: clap_complete::Shell,
    },
}

impl Cli {
    /// `xsh bench`, which times the peer and xsh as child processes: what
    /// this process sets for itself (see `main`) must not reach them.
    pub fn spawns_measured_children(&self) -> bool {
        matches!(self.cmd, Some(Cmd::Bench(_)))
    }
}

/// Runs the chosen subcommand.
pub fn dispatch(cli: Cli) -> ExitCode {
    let _ = COLOR.set(cli.color);
    match cli.cmd {
        None => run::main(run::Flags::bare()),
        Some(Cmd::Run(f)) => run::main(f),
        Some(Cmd::Probes(f)) => probes::main(f),
        Some(Cmd::Bench(f)) => bench::main(f),
        Some(Cmd::Explore(f)) => explore::main(f),
        Some(Cmd::Test(f)) => test::main(f),
        Some(Cmd::Repl(f)) => repl::main(f),
        Some(Cmd::Definitions(f)) => definitions::main(f),
        Some(Cmd::Logs(f)) => logs::main(f),
        Some(Cmd::Completions { shell }) => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "xsh", &mut out);
            match print_stdout(&String::from_utf8_lossy(&out)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

/// Colour for reports on stderr: as `--color` says; for `auto`, off when
/// NO_COLOR is set or stderr is not a terminal.
pub fn color() -> bool {
    use std::io::IsTerminal;
    color_for(std::io::stderr().is_terminal())
}

/// Colour for an output that `is_terminal` or not, under `--color`.
pub fn color_for(is_terminal: bool) -> bool {
    match COLOR.get().copied().unwrap_or(Color::Auto) {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::env::var_os("NO_COLOR").is_none() && is_terminal,
    }
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
