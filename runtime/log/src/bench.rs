//! `xsh logs bench`: xsh's parser beside a Python `re` parser of the same
//! records, on the same xend.log (made by the peer generator,
//! `gen_xendlog.py`), in the same invocation — absolute times drift with
//! the machine's load, so only runs side by side compare.
//!
//! Each side runs as its own process (`xsh logs stats --json`, and
//! `python3 runtime/log/bench/xend_re.py`), timed from spawn to exit: that
//! is "end to end", start-up and reading the file included. The best of
//! `runs` is reported, with every run's time, and each side's peak RSS
//! (its own `VmHWM` / `ru_maxrss`). The two must count the same records.

use std::io;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use crate::format::{Format, Level};
use crate::stats::Stats;

/// What to run.
pub struct BenchOpts {
    /// The xend.log (default: generate one).
    pub file: Option<PathBuf>,
    /// Size of a generated log, in MB.
    pub mb: f64,
    /// `gen_xendlog.py`.
    pub generator: PathBuf,
    /// The Python `re` parser.
    pub peer: PathBuf,
    /// Python interpreter.
    pub python: String,
    /// Runs of each side.
    pub runs: u32,
    /// The xsh binary.
    pub xsh: PathBuf,
}

/// One side's runs.
#[derive(Default)]
pub struct Side {
    /// Wall seconds of each run, spawn to exit.
    pub walls: Vec<f64>,
    /// Records counted.
    pub records: u64,
    /// Continuation lines counted.
    pub continuation_lines: u64,
    /// Peak RSS in KiB (the largest of the runs).
    pub peak_rss_kib: u64,
    /// CPU seconds of each run (user and system), as the side reports it.
    pub cpus: Vec<f64>,
}

impl Side {
    fn best(&self) -> f64 {
        self.walls.iter().copied().fold(f64::INFINITY, f64::min)
    }
    fn best_cpu(&self) -> f64 {
        self.cpus
            .iter()
            .copied()
            .filter(|c| *c > 0.0)
            .fold(f64::INFINITY, f64::min)
    }
    fn median(&self) -> f64 {
        let mut v = self.walls.clone();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    }
}

/// The outcome.
pub struct BenchReport {
    /// The log read.
    pub file: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// xsh, one thread.
    pub xsh1: Side,
    /// xsh, as many threads as cores (at most 4).
    pub xsh: Side,
    /// Python `re`.
    pub python: Side,
    /// Cores xsh saw.
    pub cores: usize,
}

const TARGET_MB_S: f64 = 1000.0;
const TARGET_RATIO: f64 = 8.0;
const TARGET_RSS_KIB: u64 = 64 << 10;

impl BenchReport {
    fn mb_s(&self, s: &Side) -> f64 {
        self.bytes as f64 / 1e6 / s.best()
    }

    /// The faster of xsh's two configurations.
    fn best_xsh(&self) -> &Side {
        if self.xsh.best() < self.xsh1.best() {
            &self.xsh
        } else {
            &self.xsh1
        }
    }

    /// ≥ 1 GB/s end to end, ≥ 8× Python, ≤ 64 MiB, same records.
    pub fn targets_met(&self) -> bool {
        let x = self.best_xsh();
        self.mb_s(x) >= TARGET_MB_S
            && self.python.best() / x.best() >= TARGET_RATIO
            && x.peak_rss_kib <= TARGET_RSS_KIB
            && self.agree()
    }

    fn agree(&self) -> bool {
        [&self.xsh1, &self.xsh].iter().all(|s| {
            s.records == self.python.records
                && s.continuation_lines == self.python.continuation_lines
        })
    }

    /// The text report.
    pub fn render(&self) -> String {
        let mut s = format!(
            "{}: {:.1} MB, {} records, {} continuation lines ({} cores)\n",
            self.file.display(),
            self.bytes as f64 / 1e6,
            self.python.records,
            self.python.continuation_lines,
            self.cores
        );
        let line = |name: &str, side: &Side| {
            let runs: Vec<String> = side.walls.iter().map(|w| format!("{w:.3}")).collect();
            format!(
                "  {name:<18} wall: best {:.3} s = {:>5.0} MB/s, median {:.3} s; CPU: best {:.3} s = {:>5.0} MB/s; peak RSS {:>5.1} MiB; runs [{}]\n",
                side.best(),
                self.mb_s(side),
                side.median(),
                side.best_cpu(),
                self.bytes as f64 / 1e6 / side.best_cpu(),
                side.peak_rss_kib as f64 / 1024.0,
                runs.join(", ")
            )
        };
        s.push_str(&line("xsh (1 thread)", &self.xsh1));
        s.push_str(&line(
            &format!("xsh ({} threads)", self.cores.min(4)),
            &self.xsh,
        ));
        s.push_str(&line("python3 re", &self.python));
        let x = self.best_xsh();
        let ratio = self.python.best() / x.best();
        s.push_str(&format!(
            "xsh: {:.0} MB/s end to end (target ≥ {TARGET_MB_S:.0}), {ratio:.1}× Python (target ≥ {TARGET_RATIO:.0}×), peak RSS {:.1} MiB (target ≤ 64), records {}\n",
            self.mb_s(x),
            x.peak_rss_kib as f64 / 1024.0,
            if self.agree() { "agree" } else { "DIFFER" }
        ));
        s.push_str(if self.targets_met() {
            "targets met\n"
        } else {
            "targets NOT met\n"
        });
        s
    }
}

fn generated(o: &BenchOpts) -> io::Result<PathBuf> {
    if let Some(f) = &o.file {
        return Ok(f.clone());
    }
    let path = std::env::temp_dir().join(format!("xsh-bench-xend-{}MB.log", o.mb));
    if std::fs::metadata(&path)
        .map(|m| m.len() > 0)
        .unwrap_or(false)
    {
        return Ok(path);
    }
    let st = Command::new(&o.python)
        .arg(&o.generator)
        .arg("--mb")
        .arg(o.mb.to_string())
        .arg(&path)
        .status()?;
    if !st.success() {
        return Err(io::Error::other(format!(
            "{} failed",
            o.generator.display()
        )));
    }
    Ok(path)
}

fn json_u64(v: &serde_json::Value, k: &str) -> u64 {
    v.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0)
}

fn run_side(cmd: &mut Command, runs: u32, side: &mut Side) -> io::Result<()> {
    for _ in 0..runs {
        let t0 = Instant::now();
        let out = cmd.output()?;
        side.walls.push(t0.elapsed().as_secs_f64());
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "{:?} failed: {}",
                cmd.get_program(),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| io::Error::other(format!("{:?}: not JSON: {e}", cmd.get_program())))?;
        side.records = json_u64(&v, "records");
        side.continuation_lines = json_u64(&v, "continuation_lines");
        side.peak_rss_kib = side.peak_rss_kib.max(json_u64(&v, "peak_rss_kib"));
        side.cpus.push(
            v.get("cpu_seconds")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(0.0),
        );
    }
    Ok(())
}

/// Runs the benchmark.
pub fn run(o: &BenchOpts) -> io::Result<BenchReport> {
    let file = generated(o)?;
    let bytes = std::fs::metadata(&file)?.len();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut r = BenchReport {
        file: file.clone(),
        bytes,
        xsh1: Side::default(),
        xsh: Side::default(),
        python: Side::default(),
        cores,
    };
    // Interleaved, so that a burst of load elsewhere hits every side alike.
    for _ in 0..o.runs {
        let mut one = Command::new(&o.xsh);
        one.args(["logs", "stats", "--json", "--threads", "1"])
            .arg(&file);
        run_side(&mut one, 1, &mut r.xsh1)?;
        let mut many = Command::new(&o.xsh);
        many.args(["logs", "stats", "--json"]).arg(&file);
        run_side(&mut many, 1, &mut r.xsh)?;
        let mut py = Command::new(&o.python);
        py.arg(&o.peer).arg(&file);
        run_side(&mut py, 1, &mut r.python)?;
    }
    Ok(r)
}

/// `xsh logs stats --json`: the counts, the time, and this process's peak RSS.
pub fn stats_json(s: &Stats, seconds: f64) -> String {
    let mut formats = serde_json::Map::new();
    for (f, st) in Format::ALL.iter().zip(&s.formats) {
        if st.records == 0 && st.continuation_lines == 0 {
            continue;
        }
        let levels: serde_json::Map<String, serde_json::Value> = Level::ALL
            .iter()
            .zip(st.levels)
            .filter(|(_, n)| *n > 0)
            .map(|(l, n)| (l.name().to_string(), n.into()))
            .collect();
        let modules: serde_json::Map<String, serde_json::Value> = st
            .modules
            .iter()
            .map(|(m, n)| (m.clone(), (*n).into()))
            .collect();
        formats.insert(
            f.name().to_string(),
            serde_json::json!({
                "records": st.records,
                "continuation_lines": st.continuation_lines,
                "levels": levels,
                "modules": modules,
            }),
        );
    }
    let damage: serde_json::Map<String, serde_json::Value> = crate::damage::DamageKind::ALL
        .iter()
        .zip(s.damage)
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| (k.name().to_string(), n.into()))
        .collect();
    serde_json::json!({
        "bytes": s.bytes,
        "lines": s.lines,
        "records": s.records(),
        "continuation_lines": s.formats.iter().map(|f| f.continuation_lines).sum::<u64>(),
        "unparsed": s.unparsed,
        "blank": s.blank,
        "damaged_lines": s.damaged_lines,
        "damage": damage,
        "formats": formats,
        "seconds": seconds,
        "mb_per_s": if seconds > 0.0 { s.bytes as f64 / 1e6 / seconds } else { 0.0 },
        "peak_rss_kib": peak_rss_kib(),
        "cpu_seconds": cpu_seconds(),
    })
    .to_string()
}

/// CPU time this process has used, user and system, all threads (a busy
/// machine's stolen time can then be told from the work itself).
pub fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0.0;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// This process's peak resident set (`VmHWM`), in KiB; 0 where /proc has none.
pub fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

/// A memory line of this process's /proc status (`VmHWM:`, `VmRSS:`), in
/// KiB; 0 where /proc has none.
pub fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
