//! `xsh logs diagnose FILE...` and the model's labels of `xsh logs explain`:
//! each domain's history replayed by the model's variants
//! (`xsh_script::diagnose`), the closest variant's alignment told as a
//! story or as JSON (docs/diagnose.md).

use std::path::PathBuf;

use clap::Args;
use xsh_log::diagnose::Source;
use xsh_script::diagnose::{diagnose as run, Options};
use xsh_script::output::report::diagnosis::{self, RealLog};

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
    /// Write one self-contained HTML page: the real logs aligned with the
    /// closest variant's run, the first divergence and the missing steps
    /// marked (docs/report.md).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

/// Files the model is run over must fit in memory with their records.
pub(super) const MAX_BYTES: u64 = 64 << 20;

/// `explain` replays files up to this size; above it, message patterns.
pub(super) const EXPLAIN_MAX_BYTES: u64 = 8 << 20;

/// Each file as parsed, and its text as read (the report shows it).
fn sources(files: &[PathBuf]) -> Res<Vec<Source>> {
    Ok(read_all(files)?.into_iter().map(|(s, _)| s).collect())
}

fn read_all(files: &[PathBuf]) -> Res<Vec<(Source, RealLog)>> {
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
        let name = p.display().to_string();
        let bytes = read(p)?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        out.push((Source::parse(&name, &bytes), RealLog { name, text }));
    }
    Ok(out)
}

pub(super) fn diagnose(f: DiagnoseFlags) -> Res<u8> {
    let opts = Options {
        seed: f.seed,
        max_variants: f.max_variants.max(1),
    };
    // Refused before the replays spend their time.
    if let Some(p) = &f.report {
        xsh_script::output::check_destination(p).map_err(|e| fail!("--report {e}"))?;
    }
    let (srcs, real): (Vec<Source>, Vec<RealLog>) = read_all(&f.files)?.into_iter().unzip();
    let d = run(srcs, &opts);
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
    if let Some(path) = &f.report {
        write_report(&f, &d, &real, path)?;
    }
    Ok(u8::from(!d.fits()))
}

/// The command that makes the same diagnosis again.
fn command(f: &DiagnoseFlags) -> String {
    use xsh_script::explore::report::shell_word;
    let mut cmd = String::from("xsh logs diagnose");
    if f.seed != 1 {
        cmd.push_str(&format!(" --seed {}", f.seed));
    }
    if f.max_variants != 400 {
        cmd.push_str(&format!(" --max-variants {}", f.max_variants));
    }
    for p in &f.files {
        cmd.push(' ');
        cmd.push_str(&shell_word(&p.display().to_string()));
    }
    cmd
}

/// `--report FILE`: the page of the diagnosis, from its JSON and the files.
fn write_report(
    f: &DiagnoseFlags,
    d: &xsh_log::diagnose::Diagnosis,
    real: &[RealLog],
    path: &PathBuf,
) -> Res<()> {
    let json: serde_json::Value = serde_json::from_str(&d.render_json())
        .map_err(|e| fail!("the diagnosis's JSON does not read back: {e}"))?;
    let html = diagnosis::render(&json, real, &command(f), f.seed)
        .map_err(|e| fail!("cannot make the report: {e}"))?;
    std::fs::write(path, html).map_err(|e| fail!("cannot write {}: {e}", path.display()))
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
