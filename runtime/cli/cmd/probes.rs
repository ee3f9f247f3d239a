//! `xsh probes [PATTERN]`: every modelled function, with its site,
//! arguments and result (docs/probes.md is generated from the same table).

use std::process::ExitCode;

use clap::Args;
use xsh_sim::probe::PROBE_DEFS;

/// Flags of `xsh probes`.
#[derive(Args)]
pub struct Flags {
    /// Only probes whose name contains this.
    pub pattern: Option<String>,
    /// Print the Markdown table of docs/probes.md.
    #[arg(long)]
    pub markdown: bool,
}

/// Lists probes.
pub fn main(f: Flags) -> ExitCode {
    if f.markdown {
        print!("{}", xsh_script::api::probes_markdown());
        return ExitCode::SUCCESS;
    }
    let pat = f.pattern.unwrap_or_default();
    let mut n = 0;
    for d in PROBE_DEFS.iter().filter(|d| d.name.contains(&pat)) {
        let site = if d.entry_log {
            "after its entry log line"
        } else {
            "at entry"
        };
        println!(
            "{}({}) -> {}    [site: {site}]",
            d.name,
            d.args.join(", "),
            d.result
        );
        println!("    {}", d.doc);
        n += 1;
    }
    if n == 0 {
        eprintln!("no probe matches {pat:?}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
