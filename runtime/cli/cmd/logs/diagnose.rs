//! `xsh logs diagnose FILE...` and the model's labels of `xsh logs explain`:
//! each domain's history replayed by the model's variants
//! (`xsh_script::diagnose`), the closest variant's alignment told as a
//! story or as JSON (docs/diagnose.md).

use std::path::PathBuf;

use clap::Args;
use xsh_log::diagnose::Source;
use xsh_script::diagnose::{diagnose as run, Options};

use super::{read, Failure, Res};

/// Flags of `xsh logs diagnose`.
#[derive(Args)]
pub(super) struct DiagnoseFlags {
    /// Log files, any mix: xend.log, xl-<name>.log, qemu-dm-<name>.log, the Xen console, guest consoles.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// One JSON document (schema in docs/diagnose.md).
    #[arg(long)]
    json: bool,
    /// Seed of the replays' worlds.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Variants run per domain at most.
    #[arg(long, default_value_t = 400)]
    max_variants: usize,
    /// Print each domain's replay script after its story.
    #[arg(long)]
    scripts: bool,
}

/// Files the model is run over must fit in memory with their records.
pub(super) const MAX_BYTES: u64 = 64 << 20;

/// `explain` replays files up to this size; above it, message patterns.
pub(super) const EXPLAIN_MAX_BYTES: u64 = 8 << 20;

fn sources(files: &[PathBuf]) -> Res<Vec<Source>> {
    let mut out = Vec::new();
    for p in files {
        let size = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        if size > MAX_BYTES {
            return Err(fail!(
                "{}: {} MB is more than diagnose reads ({} MB): cut the stretch of interest out first",
                p.display(),
                size >> 20,
                MAX_BYTES >> 20
            ));
        }
        out.push(Source::parse(&p.display().to_string(), &read(p)?));
    }
    Ok(out)
}

pub(super) fn diagnose(f: DiagnoseFlags) -> Res<u8> {
    let opts = Options {
        seed: f.seed,
        max_variants: f.max_variants.max(1),
    };
    let d = run(sources(&f.files)?, &opts);
    if f.json {
        print!("{}", d.render_json());
    } else {
        print!("{}", d.render());
        if f.scripts {
            for dd in &d.domains {
                if let Some(v) = &dd.variant {
                    println!("\n// {}\n{}", d.host.domains[dd.domain].title(), v.script);
                }
            }
        }
    }
    Ok(u8::from(!d.fits()))
}

/// `xsh logs explain FILE` labelled from the model: `None` when the file
/// is too big to replay (the caller explains it by message pattern).
pub(super) fn explain(file: &PathBuf, json: bool) -> Res<Option<u8>> {
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    // Bigger files stream by pattern in bounded memory (docs/logs.md).
    if size > EXPLAIN_MAX_BYTES {
        return Ok(None);
    }
    let src = sources(std::slice::from_ref(file))?;
    let damaged = src[0].records.iter().any(|r| !r.damage.is_empty());
    let tally = xsh_log::explain::explain(&src[0].records).tally();
    let d = run(src, &Options::default());
    if json {
        print!("{}", d.explain_json(0));
    } else {
        print!("{}", d.explain_text(0, &tally));
    }
    Ok(Some(u8::from(damaged)))
}
