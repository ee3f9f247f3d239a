//! `xsh logs parse|stats|explain|diff|check|tokens|bench`: real Xen logs in.
//! The work is in xsh-log; this file reads files, prints, and maps outcomes
//! to exit codes (0 clean, 1 damage or a difference, 2 usage or I/O).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Subcommand};
use xsh_log::report::{self, Excerpt};
use xsh_log::stats::Stats;
use xsh_log::{json, Entry, Format};

/// What stops a `xsh logs` command: a message for stderr, exit code 2.
struct Failure(String);

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure(e.to_string())
    }
}

type Res<T> = Result<T, Failure>;

macro_rules! fail {
    ($($t:tt)*) => { Failure(format!($($t)*)) };
}

/// Flags of `xsh logs`.
#[derive(Args)]
pub struct Flags {
    #[command(subcommand)]
    cmd: LogsCmd,
}

#[derive(Subcommand)]
enum LogsCmd {
    /// One line of output per log line (or record): format, time, pid, level, module, message, damage.
    Parse(ParseFlags),
    /// Records by format, level and module; unparsed lines; damage; MB/s.
    Stats(StatsFlags),
    /// Which probe of the model wrote each record, its layer and causal step.
    Explain(ExplainFlags),
    /// Missing, extra and reordered events of B against A (times, pids, domids, uuids ignored).
    Diff(DiffFlags),
    /// Does SCRIPT's simulated run produce REAL.log's sequence of events?
    Check(CheckFlags),
    /// The lexer's tokens of each line (what the snapshots in tests/lexer-inputs show).
    Tokens(TokensFlags),
    /// Throughput on a gen_xendlog.py xend.log beside a Python `re` parser.
    Bench(BenchFlags),
    /// Several logs of one host merged in time order (text, or trace events for Perfetto).
    Timeline(TimelineFlags),
}

/// Which records to show (a record is kept or dropped whole).
#[derive(Args, Clone, Default)]
struct FilterFlags {
    /// Only records about this domain: a domid, or a name its first line mentions.
    #[arg(long)]
    domain: Option<String>,
    /// Only records stamped at or after this time (YYYY-MM-DDTHH:MM:SS, the logs' local time).
    #[arg(long)]
    since: Option<String>,
    /// Only records stamped at or before this time.
    #[arg(long)]
    until: Option<String>,
    /// Only records of this level or above (debug, info, notice, warning, error, critical).
    #[arg(long)]
    level: Option<String>,
}

impl FilterFlags {
    fn filter(&self) -> Res<xsh_log::filter::Filter> {
        xsh_log::filter::Filter::new(
            self.domain.as_deref(),
            self.since.as_deref(),
            self.until.as_deref(),
            self.level.as_deref(),
        )
        .map_err(Failure)
    }
}

/// Flags of `xsh logs timeline`.
#[derive(Args)]
struct TimelineFlags {
    /// Log files of one host (`-`: standard input).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Chrome trace-event JSON (for Perfetto) on stdout instead of text.
    #[arg(long)]
    json: bool,
    /// Also write the trace-event JSON to this file.
    #[arg(long, value_name = "FILE")]
    perfetto: Option<PathBuf>,
    /// FILE=YYYY-MM-DDTHH:MM:SS: the wall time of FILE's boot (uptime 0), or of its first line if it has no stamps.
    #[arg(long = "anchor", value_name = "FILE=ISO")]
    anchors: Vec<String>,
    /// The year of syslog stamps (default: that of the earliest dated record of the other files).
    #[arg(long)]
    year: Option<i32>,
    #[command(flatten)]
    filter: FilterFlags,
}

/// Flags of `xsh logs parse`.
#[derive(Args)]
struct ParseFlags {
    /// Log files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// JSON lines.
    #[arg(long)]
    json: bool,
    /// One object per record (its lines joined) instead of one per line.
    #[arg(long)]
    records: bool,
    /// Presume this format for unprefixed lines (xend, qemu-dm, xen-console, xl, linux-console, journal).
    #[arg(long)]
    format: Option<String>,
    /// Damage reports shown on stderr (the rest are counted).
    #[arg(long, default_value_t = 20)]
    max_reports: usize,
    #[command(flatten)]
    filter: FilterFlags,
}

/// Flags of `xsh logs stats`.
#[derive(Args)]
struct StatsFlags {
    /// Log files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// One JSON object (with peak_rss_kib).
    #[arg(long)]
    json: bool,
    /// Presume this format for unprefixed lines.
    #[arg(long)]
    format: Option<String>,
    /// Threads (default: the cores available, at most 4; a file is cut at record starts).
    #[arg(long)]
    threads: Option<usize>,
}

/// Flags of `xsh logs explain`.
#[derive(Args)]
struct ExplainFlags {
    /// A log file.
    file: PathBuf,
    /// Presume this format for unprefixed lines.
    #[arg(long)]
    format: Option<String>,
    /// JSON lines.
    #[arg(long)]
    json: bool,
}

/// Flags of `xsh logs diff`.
#[derive(Args)]
struct DiffFlags {
    /// The reference log.
    a: PathBuf,
    /// The log compared with it.
    b: PathBuf,
    /// One JSON object: counts, `approximate`, and the differences.
    #[arg(long)]
    json: bool,
}

/// Flags of `xsh logs check`.
#[derive(Args)]
struct CheckFlags {
    /// The scenario to run.
    script: PathBuf,
    /// The real log.
    real: PathBuf,
    /// Seed of the world's random generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Flags of `xsh logs bench`.
#[derive(Args)]
struct BenchFlags {
    /// The xend.log to read (default: generate one with gen_xendlog.py).
    #[arg(long)]
    file: Option<PathBuf>,
    /// Size of the generated log in MB.
    #[arg(long, default_value_t = 200.0)]
    mb: f64,
    /// The peer generator.
    #[arg(long, default_value = "../shared/peers/gen_xendlog.py")]
    generator: PathBuf,
    /// The Python `re` parser of the same records.
    #[arg(long, default_value = "runtime/log/bench/xend_re.py")]
    peer: PathBuf,
    /// Python interpreter.
    #[arg(long, default_value = "python3")]
    python: String,
    /// Runs of each side (the best is reported).
    #[arg(long, default_value_t = 3)]
    runs: u32,
}

/// Flags of `xsh logs tokens`.
#[derive(Args)]
struct TokensFlags {
    /// A log file.
    file: PathBuf,
}

/// Runs `xsh logs ...`.
pub fn main(f: Flags) -> ExitCode {
    let r = match f.cmd {
        LogsCmd::Parse(p) => parse(p),
        LogsCmd::Stats(s) => stats(s),
        LogsCmd::Explain(e) => explain(e),
        LogsCmd::Diff(d) => diff(d),
        LogsCmd::Check(c) => check(c),
        LogsCmd::Tokens(t) => tokens(t),
        LogsCmd::Bench(b) => bench(b),
        LogsCmd::Timeline(t) => timeline(t),
    };
    match r {
        Ok(code) => ExitCode::from(code),
        Err(Failure(e)) => {
            eprintln!("xsh logs: {e}");
            ExitCode::from(2)
        }
    }
}

fn format_flag(s: &Option<String>) -> Res<Option<Format>> {
    match s {
        None => Ok(None),
        Some(n) => Format::from_name(n).map(Some).ok_or_else(|| {
            fail!("unknown format {n:?} (xend, qemu-dm, xen-console, xl, linux-console, journal)")
        }),
    }
}

/// Every I/O error names the file it is about: a directory opens fine and
/// only fails at the first read, far from the `open`.
fn cannot_read(p: &Path, e: io::Error) -> Failure {
    fail!("cannot read {}: {e}", p.display())
}

/// `-` stands for standard input, as it does for diff, grep and cat.
fn is_stdin(p: &Path) -> bool {
    p.as_os_str() == "-"
}

/// The name a file goes by in reports (`<stdin>` for `-`).
fn name_of(p: &Path) -> String {
    if is_stdin(p) {
        "<stdin>".to_string()
    } else {
        p.display().to_string()
    }
}

/// Opens a log, or standard input for `-` (a duplicate of its descriptor,
/// so that a pipe, a FIFO or a redirected file is read as it is).
fn open(p: &Path) -> Res<File> {
    if is_stdin(p) {
        use std::os::fd::AsFd;
        let fd = io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| cannot_read(p, e))?;
        return Ok(File::from(fd));
    }
    File::open(p).map_err(|e| cannot_read(p, e))
}

/// A log that can be read twice: a regular file as it is; standard input
/// (a pipe cannot be rewound) copied first into an unlinked temporary file.
fn open_twice(p: &Path) -> Res<File> {
    let mut f = open(p)?;
    if f.metadata().is_ok_and(|m| m.is_file()) {
        return Ok(f);
    }
    let Spool::File(w) = Spool::new() else {
        return Err(fail!(
            "cannot keep standard input in a temporary file in {}",
            std::env::temp_dir().display()
        ));
    };
    let mut t = w.into_inner().map_err(|e| e.into_error())?;
    io::copy(&mut f, &mut t).map_err(|e| cannot_read(p, e))?;
    use std::io::{Seek, SeekFrom};
    t.seek(SeekFrom::Start(0))?;
    Ok(t)
}

fn read(p: &Path) -> Res<Vec<u8>> {
    if is_stdin(p) {
        let mut v = Vec::new();
        io::Read::read_to_end(&mut open(p)?, &mut v).map_err(|e| cannot_read(p, e))?;
        return Ok(v);
    }
    std::fs::read(p).map_err(|e| cannot_read(p, e))
}

/// Prints damage reports as they come, keeping the previous line so that a
/// report about a wrap or a soft break can show both lines.
struct Reporter {
    shown: usize,
    max: usize,
    total: u64,
    prev: Vec<u8>,
    prev_offset: u64,
    prev_line: u64,
    color: bool,
}

impl Reporter {
    fn new(max: usize) -> Reporter {
        Reporter {
            shown: 0,
            max,
            total: 0,
            prev: Vec::new(),
            prev_offset: 0,
            prev_line: 0,
            color: super::color(),
        }
    }

    fn see(&mut self, e: &Entry<'_>) {
        for d in e.damage {
            self.total += 1;
            if self.shown >= self.max {
                continue;
            }
            self.shown += 1;
            let mut text;
            let ex = if d.start < e.raw_offset && self.prev_line + 1 == e.line {
                text = self.prev.clone();
                text.push(b'\n');
                text.extend_from_slice(e.raw);
                Excerpt {
                    text: &text,
                    offset: self.prev_offset,
                    line: self.prev_line,
                }
            } else {
                Excerpt {
                    text: e.raw,
                    offset: e.raw_offset,
                    line: e.line,
                }
            };
            eprint!("{}", report::render(e.file, &ex, d, self.color));
        }
        if self.prev_line != e.line {
            self.prev.clear();
            self.prev.extend_from_slice(e.raw);
            self.prev_offset = e.raw_offset;
            self.prev_line = e.line;
        }
    }

    fn summary(&self) {
        if self.total as usize > self.shown {
            eprintln!(
                "... {} more damage reports (--max-reports)",
                self.total as usize - self.shown
            );
        }
    }
}

fn parse(p: ParseFlags) -> Res<u8> {
    let hint = format_flag(&p.format)?;
    let out = io::stdout();
    let mut w = BufWriter::with_capacity(1 << 16, out.lock());
    let mut rep = Reporter::new(p.max_reports);
    let mut filter = p.filter.filter()?;
    for path in &p.files {
        filter.new_file();
        let name = name_of(path);
        let f = open(path)?;
        let mut buf = Vec::with_capacity(1 << 16);
        let mut failed: io::Result<()> = Ok(());
        if p.records {
            // Each record is written as soon as the next one starts: one
            // record is held at a time.
            let mut col = xsh_log::Collector::default();
            let unfiltered = filter.is_empty();
            let mut put = |r: &xsh_log::Record, buf: &mut Vec<u8>| {
                let head = xsh_log::filter::Head {
                    format: r.format,
                    time: r.time.as_deref().map(str::as_bytes),
                    level: r.level,
                    module: r.module.as_deref().map(str::as_bytes),
                    message: r.head().as_bytes(),
                };
                if !filter.keep(&head) {
                    return Ok(());
                }
                if p.json {
                    json::record(buf, r);
                } else {
                    buf.extend_from_slice(text_record(r).as_bytes());
                }
                json::flush_if(buf, &mut w, false)
            };
            xsh_log::parse_reader(f, &name, hint, |e| {
                if unfiltered {
                    rep.see(e);
                }
                col.push(e);
                for r in col.drain() {
                    if failed.is_ok() {
                        failed = put(&r, &mut buf);
                    }
                }
            })
            .map_err(|e| cannot_read(path, e))?;
            failed?;
            for r in col.finish() {
                put(&r, &mut buf)?;
            }
        } else {
            let mut keep = true;
            xsh_log::parse_reader(f, &name, hint, |e| {
                if !e.continuation {
                    keep = filter.keep(&xsh_log::filter::Head {
                        format: e.format,
                        time: e.fields.time,
                        level: e.fields.level,
                        module: e.fields.module,
                        message: e.message,
                    });
                }
                if !keep {
                    return;
                }
                rep.see(e);
                if p.json {
                    json::entry(&mut buf, e);
                } else {
                    text_entry(&mut buf, e);
                }
                if failed.is_ok() {
                    failed = json::flush_if(&mut buf, &mut w, false);
                }
            })
            .map_err(|e| cannot_read(path, e))?;
            failed?;
        }
        json::flush_if(&mut buf, &mut w, true)?;
    }
    w.flush()?;
    rep.summary();
    Ok(u8::from(rep.total > 0))
}

fn text_entry(out: &mut Vec<u8>, e: &Entry<'_>) {
    let _ = write!(
        out,
        "{}:{} {} {}{} {} {}{}",
        e.file,
        e.line,
        e.format.name(),
        e.kind.name(),
        if e.continuation { "+" } else { "" },
        e.fields.level.map_or("-", |l| l.name()),
        Entry::str(e.fields.module).unwrap_or("-"),
        e.fields.lineno.map(|n| format!(":{n}")).unwrap_or_default()
    );
    out.extend_from_slice(b" | ");
    out.extend_from_slice(&report::printable(e.message).into_bytes());
    for d in e.damage {
        let _ = write!(out, "  !{}@{}..{}", d.kind.name(), d.start, d.end);
    }
    out.push(b'\n');
}

fn text_record(r: &xsh_log::Record) -> String {
    format!(
        "{}:{} {} {} {} {}{} | {}\n",
        r.file,
        r.line(),
        r.format.name(),
        r.kind.name(),
        r.level.map_or("-", |l| l.name()),
        r.module.as_deref().unwrap_or("-"),
        r.lineno.map(|n| format!(":{n}")).unwrap_or_default(),
        r.message().replace('\n', "\n    ")
    )
}

fn stats(s: StatsFlags) -> Res<u8> {
    let hint = format_flag(&s.format)?;
    let t0 = Instant::now();
    let mut all = Stats::default();
    let threads = s
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(4)));
    for path in &s.files {
        let name = name_of(path);
        let st = xsh_log::split::stats_file(&open(path)?, &name, hint, threads)
            .map_err(|e| cannot_read(path, e))?;
        all.merge(&st);
    }
    let secs = t0.elapsed().as_secs_f64();
    if s.json {
        println!("{}", xsh_log::bench::stats_json(&all, secs));
    } else {
        print!("{}", all.render(secs));
    }
    Ok(0)
}

/// Explains records as the parse completes them, so that no more than one
/// record is held: `--json` lines are written at once; the text report's
/// records wait in a spool, since its summary, which counts them all, comes
/// first.
struct ExplainOut {
    x: xsh_log::explain::Explainer,
    file: String,
    json: bool,
    text: String,
    buf: Vec<u8>,
    spool: Spool,
    damaged: bool,
}

impl ExplainOut {
    fn take(&mut self, r: &xsh_log::Record, w: &mut impl Write) -> io::Result<()> {
        self.damaged |= !r.damage.is_empty();
        let e = self.x.next(r);
        if self.json {
            xsh_log::explain::record_json(&self.file, self.x.tally.records, &e, &mut self.buf);
            json::flush_if(&mut self.buf, w, false)
        } else {
            self.text.clear();
            xsh_log::explain::record_text(&e, &mut self.text);
            self.spool.write_all(self.text.as_bytes())
        }
    }
}

/// Text waiting to be printed: in a temporary file, unlinked as soon as it
/// is open (nothing is left behind, whatever happens), so that memory stays
/// bounded; in memory when no temporary file can be made.
enum Spool {
    File(BufWriter<File>),
    Mem(Vec<u8>),
}

impl Spool {
    fn new() -> Spool {
        // A name of this process's own; one left by a process that had the
        // same pid before is skipped (create_new never opens it).
        for n in 0..64 {
            let path =
                std::env::temp_dir().join(format!("xsh-explain-{}-{n}.txt", std::process::id()));
            let file = File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path);
            match file {
                Ok(f) => {
                    let _ = std::fs::remove_file(&path);
                    return Spool::File(BufWriter::with_capacity(1 << 16, f));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(_) => break,
            }
        }
        Spool::Mem(Vec::new())
    }

    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        match self {
            Spool::File(f) => f.write_all(b),
            Spool::Mem(v) => {
                v.extend_from_slice(b);
                Ok(())
            }
        }
    }

    /// Copies what was spooled to `w`.
    fn copy_to(self, w: &mut impl Write) -> io::Result<()> {
        use std::io::{Seek, SeekFrom};
        match self {
            Spool::File(f) => {
                let mut f = f.into_inner().map_err(|e| e.into_error())?;
                f.seek(SeekFrom::Start(0))?;
                io::copy(&mut f, w).map(drop)
            }
            Spool::Mem(v) => w.write_all(&v),
        }
    }
}

fn explain(e: ExplainFlags) -> Res<u8> {
    let hint = format_flag(&e.format)?;
    let name = name_of(&e.file);
    let f = open(&e.file)?;
    let stdout = io::stdout();
    let mut w = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut out = ExplainOut {
        x: xsh_log::explain::Explainer::default(),
        file: name.clone(),
        json: e.json,
        text: String::new(),
        buf: Vec::new(),
        spool: if e.json {
            Spool::Mem(Vec::new())
        } else {
            Spool::new()
        },
        damaged: false,
    };
    let mut col = xsh_log::Collector::default();
    let mut failed: io::Result<()> = Ok(());
    xsh_log::parse_reader(f, &name, hint, |en| {
        col.push(en);
        for r in col.drain() {
            if failed.is_ok() {
                failed = out.take(&r, &mut w);
            }
        }
    })
    .map_err(|err| cannot_read(&e.file, err))?;
    // Text mode writes records to the spool; JSON mode to stdout.
    let spooled = |err: io::Error| match e.json {
        true => Failure::from(err),
        false => fail!(
            "cannot keep the report in a temporary file in {}: {err}",
            std::env::temp_dir().display()
        ),
    };
    failed.map_err(spooled)?;
    for r in col.finish() {
        out.take(&r, &mut w).map_err(spooled)?;
    }
    if !e.json {
        w.write_all(xsh_log::explain::header(&name, &out.x.tally).as_bytes())?;
        out.spool.copy_to(&mut w)?;
    }
    json::flush_if(&mut out.buf, &mut w, true)?;
    w.flush()?;
    Ok(u8::from(out.damaged))
}

fn diff(d: DiffFlags) -> Res<u8> {
    if is_stdin(&d.a) && is_stdin(&d.b) {
        return Err(fail!("only one of A and B can be standard input (-)"));
    }
    let (na, nb) = (name_of(&d.a), name_of(&d.b));
    let (mut a, mut b) = (open_twice(&d.a)?, open_twice(&d.b)?);
    // Each file is read twice, keeping only its events' hashes and the
    // text of the events the report shows (xsh_log::keyed).
    let result = xsh_log::keyed::diff_files(&mut a, &na, &mut b, &nb).map_err(|e| fail!("{e}"))?;
    if d.json {
        print!("{}", result.render_json(&na, &nb));
    } else {
        print!("{}", result.render(&na, &nb));
    }
    Ok(u8::from(!result.same()))
}

fn check(c: CheckFlags) -> Res<u8> {
    let src = std::fs::read_to_string(&c.script).map_err(|e| cannot_read(&c.script, e))?;
    let real = read(&c.real)?;
    let real_name = name_of(&c.real);
    let host = xsh_script::Host::new(
        xsh_sim::Config {
            seed: c.seed,
            ..xsh_sim::Config::default()
        },
        xsh_script::Limits::default(),
    );
    let script_name = c.script.display().to_string();
    // The run's logs are compared, whatever the script itself reads.
    host.state.observe_extra.set(xsh_script::observe::Observe {
        logs: true,
        ..Default::default()
    });
    if let Err(e) = host.run(&script_name, &src) {
        eprint!("{}", e.render(super::color()));
        return Ok(1);
    }
    let logs = host.sim().logs.borrow();
    let mut sims: Vec<(String, String)> = vec![
        ("xend.log".into(), logs.xend.text().to_string()),
        ("xen.log".into(), logs.xen.text().to_string()),
    ];
    for (n, s) in &logs.files {
        sims.push((n.clone(), s.text().to_string()));
    }
    drop(logs);
    let outcome = xsh_log::diff::check(&real, &real_name, &sims);
    print!("{}", outcome.render());
    Ok(u8::from(!outcome.holds()))
}

fn tokens(t: TokensFlags) -> Res<u8> {
    let f = open(&t.file)?;
    let stdout = io::stdout();
    let mut w = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut failed: io::Result<()> = Ok(());
    xsh_log::snapshot::token_lines(f, |text| {
        if failed.is_ok() {
            failed = w.write_all(text.as_bytes());
        }
    })
    .map_err(|e| cannot_read(&t.file, e))?;
    failed?;
    w.flush()?;
    Ok(0)
}

fn bench(b: BenchFlags) -> Res<u8> {
    let opts = xsh_log::bench::BenchOpts {
        file: b.file,
        mb: b.mb,
        generator: b.generator,
        peer: b.peer,
        python: b.python,
        runs: b.runs.max(1),
        xsh: std::env::current_exe()?,
    };
    let report = xsh_log::bench::run(&opts).map_err(|e| fail!("{e}"))?;
    print!("{}", report.render());
    Ok(u8::from(!report.targets_met()))
}

fn timeline(t: TimelineFlags) -> Res<u8> {
    let filter = t.filter.filter()?;
    let mut opts = xsh_log::timeline::Options {
        year: t.year,
        ..Default::default()
    };
    for a in &t.anchors {
        let a = xsh_log::timeline::Anchor::parse(a).map_err(Failure)?;
        if !t.files.iter().any(|f| name_of(f) == a.file) {
            return Err(fail!(
                "--anchor names {}, which is not one of the files",
                a.file
            ));
        }
        opts.anchors.push(a);
    }
    if t.files.iter().filter(|f| is_stdin(f)).count() > 1 {
        return Err(fail!("standard input (-) can be read only once"));
    }
    let mut srcs = Vec::new();
    for f in &t.files {
        srcs.push((name_of(f), open(f)?));
    }
    let mut tl = xsh_log::timeline::merge(srcs, &opts).map_err(|e| fail!("{e}"))?;
    if !filter.is_empty() {
        tl.items
            .retain(|it| filter.keep_placed(it.domid, &it.text, it.level, Some(it.at), true));
    }
    // Files that could not be placed are said on stderr too: their records
    // are not in the view.
    for f in tl.unplaced() {
        eprintln!(
            "xsh logs timeline: {}: {} of {} records left out; {}",
            f.name,
            f.records - f.placed,
            f.records,
            f.how
        );
    }
    if let Some(p) = &t.perfetto {
        std::fs::write(p, tl.chrome_json())
            .map_err(|e| fail!("cannot write {}: {e}", p.display()))?;
    }
    let out = if t.json {
        tl.chrome_json()
    } else {
        tl.render()
    };
    let stdout = io::stdout();
    let mut w = stdout.lock();
    w.write_all(out.as_bytes())?;
    w.flush()?;
    let unplaced = tl.unplaced().next().is_some();
    Ok(u8::from(unplaced))
}
