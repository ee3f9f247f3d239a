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
    stdout_failure_is_an_error();
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

/// Rust's `println!` panics when stdout cannot take the text (a full disk,
/// `> /dev/full`). Whichever command was printing, that is not a bug in
/// xsh but an output that failed: say so and exit 2, as a write error
/// anywhere else does, instead of a panic message and exit 101.
fn stdout_failure_is_an_error() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if let Some(why) = msg.strip_prefix("failed printing to stdout: ") {
            eprintln!("error: cannot write to stdout: {why}");
            std::process::exit(2);
        }
        default(info);
    }));
}
