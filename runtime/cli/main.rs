//! The `xsh` command: parse, dispatch, map the outcome to an exit code.

mod cmd;
#[cfg(feature = "mimalloc")]
mod heap;

use clap::Parser;
use std::process::ExitCode;

/// See Cargo.toml: the model's many small allocations.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: heap::Heap = heap::Heap;

fn main() -> ExitCode {
    restore_sigpipe();
    stdout_failure_is_an_error();
    let cli = cmd::Cli::parse();
    if !cli.spawns_measured_children() {
        heap_in_small_pages();
    }
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

/// A world's heap is millions of small objects (xenstore nodes, watches,
/// suspended threads) freed in no particular order. With transparent huge
/// pages each 2 MiB region mimalloc asks the kernel to back with a huge page
/// is resident as soon as one object in it lives: `xsh run
/// scripts/host_shutdown.rhai` peaks at 191 MiB instead of 158 MiB with
/// 5,000 domains, and 331 MiB instead of 291 MiB with 10,000, for no
/// measurable gain in speed. The flag is checked when a page is faulted in, so
/// it also covers the arena mimalloc reserved before `main`; it is inherited
/// by children, which is why `xsh bench` (whose children are the measured
/// processes, the peer among them) does not set it.
fn heap_in_small_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes an integer flag and changes only this
    // process's memory policy; a failure (an old kernel) leaves it as it was.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
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
