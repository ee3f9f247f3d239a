//! The `xsh` command: parse, dispatch, map the outcome to an exit code.

mod cmd;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cmd::Cli::parse();
    cmd::dispatch(cli)
}
