//! `xsh definitions DIR`: the script API as Rhai definition files
//! (`__static__.d.rhai`, `__scope__.d.rhai`, one per stdlib module, and
//! Rhai's own built-ins), for an editor's completion and hover docs.
//! `xsh definitions --markdown` prints docs/api.md, from the same source.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use xsh_script::{apidoc, Host, Limits};
use xsh_sim::Config;

/// Flags of `xsh definitions`.
#[derive(Args, Clone)]
pub struct Flags {
    /// Where to write the `.d.rhai` files (created if missing).
    #[arg(required_unless_present = "markdown")]
    pub dir: Option<PathBuf>,
    /// Print the Markdown reference (docs/api.md) instead.
    #[arg(long)]
    pub markdown: bool,
}

/// Writes the definitions or prints the reference.
pub fn main(f: Flags) -> ExitCode {
    // The stdlib's testing module loaded as globals, as `xsh test` has it,
    // so editors know its functions in test files.
    let host = match Host::with_globals(Config::default(), Limits::default(), &["testing"]) {
        Ok(h) => h,
        Err(e) => {
            eprint!("{}", e.render(super::color()));
            return ExitCode::from(1);
        }
    };
    let api = apidoc::collect(&host);
    if f.markdown {
        print!("{}", apidoc::markdown(&api, &host));
        return ExitCode::SUCCESS;
    }
    let Some(dir) = f.dir else {
        return ExitCode::from(2);
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return ExitCode::from(2);
    }
    for (name, text) in apidoc::definitions(&api, &host) {
        let path = dir.join(&name);
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
        println!("{}", path.display());
    }
    ExitCode::SUCCESS
}
