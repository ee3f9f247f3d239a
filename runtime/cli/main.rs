//! The `xsh` command: parse, dispatch, map the outcome to an exit code.

mod cmd;

use clap::Parser;
use std::process::ExitCode;

/// See Cargo.toml: the model's many small allocations.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = cmd::Cli::parse();
    // Scripts recurse on the stack; a big one lets --max-call-depth go high
    // and deep values be printed without aborting (xsh_script::deep).
    xsh_script::deep::on_big_stack(move || cmd::dispatch(cli))
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`xsh probes | head`)
/// would panic; a command-line filter should instead just stop.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL
    // is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
