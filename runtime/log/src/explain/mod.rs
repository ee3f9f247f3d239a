//! `xsh logs explain`: each record of a real log mapped to the probe of the
//! model that writes it, its layer and the causal step it stands for — by
//! message pattern (`patterns.rs`), not by line number — and, for xend.log,
//! whether its `(module:line)` numbers are those of ovm-4.4.4,
//! upstream-4.4.4, or neither.
//!
//! Stacks printed by a script's hook are explained frame by frame: a Xen or
//! Linux call trace through the model's symbol tables, a Python stack
//! through the probes' function names.

pub mod patterns;
mod render;
pub mod xl_patterns;

pub use render::{header, record_json, record_text, render, render_json};

use xsh_sim::probe::{Probe, PROBE_DEFS};
use xsh_sim::toolstack::xend::lines::site_of;

use crate::format::{Format, Kind};
use crate::record::Record;
use patterns::{matches, Pattern, PATTERNS};
use xl_patterns::XL_PATTERNS;

/// Which build's line numbers a record's `(module:line)` has.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Build {
    /// Only ovm-4.4.4's.
    Ovm,
    /// Only upstream-4.4.4's.
    Upstream,
    /// Both builds log it at the same line.
    Both,
    /// Neither's.
    Neither,
}

impl Build {
    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Build::Ovm => "ovm-4.4.4",
            Build::Upstream => "upstream-4.4.4",
            Build::Both => "both",
            Build::Neither => "neither",
        }
    }
}

/// One line, explained.
#[derive(Clone, Debug)]
pub struct LineExplained {
    /// Physical line.
    pub line: u64,
    /// What the line is.
    pub kind: Kind,
    /// The probe of a stack frame on this line (its symbol's function).
    pub frame_probe: Option<&'static str>,
    /// The line's text.
    pub text: String,
}

/// One record, explained.
#[derive(Clone, Debug)]
pub struct Explained {
    /// The record.
    pub format: Format,
    /// Its kind.
    pub kind: Kind,
    /// `(module:line)` as logged.
    pub place: Option<(String, u32)>,
    /// The probe that writes it (`None` with `modelled`: code outside probes).
    pub probe: Option<&'static str>,
    /// Its layer (`xend`, `qemu`, `xen`, `guest`, ...).
    pub layer: &'static str,
    /// The causal step it stands for.
    pub step: &'static str,
    /// The model writes this message.
    pub modelled: bool,
    /// Which build's line numbers it has (xend records only).
    pub build: Option<Build>,
    /// Its lines.
    pub lines: Vec<LineExplained>,
}

/// A whole log, explained.
pub struct Explanation {
    /// File.
    pub file: String,
    /// Records.
    pub records: Vec<Explained>,
}

impl Explanation {
    /// The counts of its records.
    pub fn tally(&self) -> Tally {
        let mut t = Tally::default();
        for r in &self.records {
            t.add(r);
        }
        t
    }

    /// Records the model writes.
    pub fn modelled(&self) -> usize {
        self.tally().modelled
    }

    /// Lines whose record maps to a probe.
    pub fn lines_with_probe(&self) -> usize {
        self.tally().lines_with_probe
    }

    /// Lines in all.
    pub fn lines(&self) -> usize {
        self.tally().lines
    }

    /// The verdict on line numbers (see [`Tally::build`]).
    pub fn build(&self) -> Build {
        self.tally().build()
    }
}

/// What the summary of an explanation counts: kept as records go by, so
/// that a log can be explained without holding its records.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tally {
    /// Records.
    pub records: usize,
    /// Lines in all.
    pub lines: usize,
    /// Records the model writes.
    pub modelled: usize,
    /// Lines whose record maps to a probe.
    pub lines_with_probe: usize,
    /// xend records whose line numbers are ovm's, upstream's, both, neither.
    pub builds: [usize; 4],
}

impl Tally {
    /// Counts one more record.
    pub fn add(&mut self, r: &Explained) {
        self.records += 1;
        self.lines += r.lines.len();
        self.modelled += usize::from(r.modelled);
        if r.probe.is_some() {
            self.lines_with_probe += r.lines.len();
        }
        if let Some(b) = r.build {
            self.builds[b as usize] += 1;
        }
    }

    /// Records whose line numbers are `b`'s.
    pub fn count(&self, b: Build) -> usize {
        self.builds[b as usize]
    }

    /// The verdict on line numbers: the build whose numbers every xend
    /// record that tells the builds apart has.
    pub fn build(&self) -> Build {
        let [ovm, up, both, neither] = self.builds;
        match (ovm > 0, up > 0) {
            (true, false) if neither == 0 => Build::Ovm,
            (false, true) if neither == 0 => Build::Upstream,
            (false, false) if both > 0 && neither == 0 => Build::Both,
            _ => Build::Neither,
        }
    }
}

/// Explains records one at a time, in file order (a record's step can
/// depend on the ones before), counting as it goes.
#[derive(Default)]
pub struct Explainer {
    seq: Sequence,
    /// The counts so far.
    pub tally: Tally,
}

impl Explainer {
    /// Explains the next record.
    pub fn next(&mut self, r: &Record) -> Explained {
        let e = explain_record(r, &mut self.seq);
        self.tally.add(&e);
        e
    }
}

fn layer_of(probe: Option<&str>, format: Format) -> &'static str {
    match probe.and_then(Probe::by_name) {
        Some(p) => p.layer().prefix(),
        None => match format {
            Format::Xend => "xend",
            Format::Xl => "xl",
            Format::QemuDm => "qemu",
            Format::XenConsole => "xen",
            Format::LinuxConsole | Format::Journal => "guest",
            Format::Unknown => "-",
        },
    }
}

/// Explains the records of one log.
pub fn explain(records: &[Record]) -> Explanation {
    let mut x = Explainer::default();
    Explanation {
        file: records.first().map(|r| r.file.clone()).unwrap_or_default(),
        records: records.iter().map(|r| x.next(r)).collect(),
    }
}

/// What the records before tell about this one (which firing of a watch
/// it is; whether the late cleanup is under way).
#[derive(Default)]
struct Sequence {
    since_shutdown: Option<u32>,
    late_cleanup: bool,
}

fn find(format: Format, module: Option<&str>, msg: &str) -> Option<&'static Pattern> {
    let msg = msg.trim_start();
    PATTERNS.iter().chain(XL_PATTERNS).find(|p| {
        p.format == format && p.module.is_none_or(|m| module == Some(m)) && matches(p.template, msg)
    })
}

/// A libxl line the model writes: the probe of the function it names
/// (`libxl: error: libxl_dm.c:1499:kill_device_model: ...` is
/// `libxl:kill_device_model`, docs/reference-xl.md §9), or `Some(None)` for
/// a function of the model's line table with no probe of its own
/// (`do_domain_create`'s `ao ...: create:`).
fn libxl_line(r: &Record) -> Option<Option<&'static str>> {
    if r.format != Format::Xl || r.logger.as_deref() != Some("libxl") {
        return None;
    }
    let func = r.func.as_deref()?;
    if let Some(p) = Probe::by_name(&format!("libxl:{func}")) {
        return Some(Some(p.name()));
    }
    xsh_sim::toolstack::xl::lines::LINES
        .iter()
        .any(|l| l.func == func)
        .then_some(None)
}

/// The probe the model's pattern table gives a record's message, without
/// what the records before it tell: what a model line written outside any
/// probe call (xl's monitor, after `do_daemonize`) is labelled with.
pub fn pattern_probe(r: &Record) -> Option<&'static str> {
    match libxl_line(r) {
        Some(p) => p,
        None => find(r.format, r.module.as_deref(), r.head())?.probe,
    }
}

fn explain_record(r: &Record, seq: &mut Sequence) -> Explained {
    let lines: Vec<LineExplained> = r
        .lines
        .iter()
        .map(|l| LineExplained {
            line: l.line,
            kind: l.kind,
            frame_probe: frame_probe(r.format, l),
            text: l.text.clone(),
        })
        .collect();
    let place = r.module.clone().zip(r.lineno);
    let mut e = Explained {
        format: r.format,
        kind: r.kind,
        place: place.clone(),
        probe: None,
        layer: layer_of(None, r.format),
        step: "not modelled",
        modelled: false,
        build: None,
        lines,
    };
    let pattern = find(r.format, r.module.as_deref(), r.head());
    let stack = match pattern {
        Some(_) if r.kind != Kind::CallTrace => None,
        _ => stack_record(r, &e.lines),
    };
    if let Some((probe, step)) = stack {
        e.probe = Some(probe);
        e.step = step;
        e.modelled = true;
        e.build = place.as_ref().and_then(|(m, n)| site_build(probe, m, *n));
    } else if let Some(probe) = libxl_line(r) {
        e.probe = probe;
        e.step = xl_patterns::LIBXL;
        e.modelled = true;
    } else if let Some(p) = pattern {
        e.probe = p.probe;
        e.step = p.step;
        e.modelled = true;
        e.build = p.line.zip(place.as_ref()).map(|(l, (m, n))| {
            let e = l.line();
            build_of(e.file.module() == m, e.ovm, e.up, *n)
        });
    }
    e.layer = layer_of(e.probe, r.format);
    refine_step(&mut e, r, seq);
    e
}

/// Steps that depend on what came before.
fn refine_step(e: &mut Explained, r: &Record, seq: &mut Sequence) {
    match e.probe {
        Some("xend:XendDomainInfo.shutdown") => seq.since_shutdown = Some(0),
        Some("xend:XendDomainInfo._handleShutdownWatch") => match seq.since_shutdown.as_mut() {
            Some(n) => {
                *n += 1;
                if *n >= 2 {
                    e.step = patterns::S7;
                }
            }
            None => e.step = patterns::WATCH_REGISTERED,
        },
        _ => {}
    }
    if r.head() == "No device model" {
        seq.late_cleanup = true;
    } else if seq.late_cleanup && r.head() == "Releasing devices" {
        e.step = patterns::LATE;
    } else if r.format == Format::Xend {
        seq.late_cleanup = false;
    }
}

fn build_of(same_module: bool, ovm: u32, up: u32, n: u32) -> Build {
    match (
        same_module && ovm == n && ovm != 0,
        same_module && up == n && up != 0,
    ) {
        (true, true) => Build::Both,
        (true, false) => Build::Ovm,
        (false, true) => Build::Upstream,
        (false, false) => Build::Neither,
    }
}

/// The build whose site of `probe` is `module:n` (a hook logs at the site).
fn site_build(probe: &str, module: &str, n: u32) -> Option<Build> {
    let p = Probe::by_name(probe)?;
    if p.layer() != xsh_sim::probe::Layer::Xend {
        return None;
    }
    let (file, ovm, up, _) = site_of(p);
    Some(build_of(file.module() == module, ovm, up, n))
}

/// A stack printed by a hook: a Python `format_stack()` listing, a
/// `Xen call trace:` or a Linux `Call Trace:` — explained by its innermost
/// modelled frame, which is the probe whose site printed it.
fn stack_record(r: &Record, lines: &[LineExplained]) -> Option<(&'static str, &'static str)> {
    let head = r.head();
    if r.format == Format::Xend && (head.starts_with("  File \"") || head.starts_with("Traceback"))
    {
        // The site: the probe whose site is this record's (module:line), in
        // either build; else the innermost frame that is a probe.
        if let Some((m, n)) = r.module.as_deref().zip(r.lineno) {
            for p in Probe::ALL {
                let (file, ovm, up, _) = site_of(*p);
                if file.module() == m && (ovm == n || up == n) && ovm != 0 {
                    return Some((p.name(), patterns::STACK));
                }
            }
        }
        let first = python_frame_probe(head);
        return lines
            .iter()
            .rev()
            .find_map(|l| l.frame_probe)
            .or(first)
            .map(|p| (p, patterns::STACK));
    }
    if r.kind == Kind::CallTrace
        || (r.kind.in_dump() && lines.iter().any(|l| l.frame_probe.is_some()))
    {
        // Innermost first: the first frame that is a probe.
        return lines
            .iter()
            .find_map(|l| l.frame_probe)
            .map(|p| (p, patterns::STACK));
    }
    None
}

/// The probe of a stack frame on a line: a Xen or Linux frame's symbol, or
/// a Python `File "...", line N, in f` of a modelled function.
fn frame_probe(format: Format, l: &crate::record::RecLine) -> Option<&'static str> {
    if l.kind == Kind::Frame {
        let f = l.func.as_deref()?;
        let f = f.rsplit('#').next().unwrap_or(f);
        return match format {
            Format::XenConsole => probe_named("xen", f),
            _ => linux_probe(f),
        };
    }
    if l.kind == Kind::Traceback || l.text.trim_start().starts_with("File \"") {
        return python_frame_probe(&l.text);
    }
    None
}

fn probe_named(layer: &str, function: &str) -> Option<&'static str> {
    PROBE_DEFS
        .iter()
        .find(|d| d.name.strip_prefix(layer).and_then(|r| r.strip_prefix(':')) == Some(function))
        .map(|d| d.name)
}

/// A Linux symbol's probe, through the model's symbol table (which names
/// `native_machine_shutdown` for `guest:machine_shutdown`, ...).
fn linux_probe(sym: &str) -> Option<&'static str> {
    Probe::ALL
        .iter()
        .find(|p| xsh_sim::guest::symbols::symbol(**p).is_some_and(|s| s.name == sym))
        .map(|p| p.name())
        .or_else(|| probe_named("guest", sym))
}

/// `File ".../xen/xend/XendDomainInfo.py", line 2305, in _maybeRestart`
/// → `xend:XendDomainInfo._maybeRestart`.
fn python_frame_probe(text: &str) -> Option<&'static str> {
    let t = text.trim_start().strip_prefix("File \"")?;
    let (path, rest) = t.split_once('"')?;
    let func = rest.rsplit_once(", in ")?.1.trim();
    let file = path.rsplit('/').next()?.strip_suffix(".py")?;
    let name = format!("xend:{file}.{func}");
    PROBE_DEFS.iter().find(|d| d.name == name).map(|d| d.name)
}

/// Probe names the pattern table uses that the model does not have (a test
/// keeps this empty).
pub fn unknown_probes() -> Vec<&'static str> {
    PATTERNS
        .iter()
        .chain(XL_PATTERNS)
        .filter_map(|p| p.probe)
        .filter(|n| Probe::by_name(n).is_none())
        .collect()
}
