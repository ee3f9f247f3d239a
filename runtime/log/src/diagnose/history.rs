//! Each domain's history, rebuilt from the records of every file given.
//!
//! A record belongs to a domain when it names one — a domid (`id=8`,
//! `domid=8`, `Adding Domain: 8`, `Issued domain 8`, `(domid 8)`), a name
//! (`name=ubuntu-kdump`, `['name', 'x']`) — or when its file is the
//! domain's own (`qemu-dm-<name>.log`, `console-<name>.log`,
//! `xl-<name>.log`). xend writes many lines that name nobody (`Releasing
//! devices`, `Removing vif/0`): those belong to the domain the same xend
//! process last named, as the thread that wrote them was working on it. A
//! new pid in xend.log is a new xend process: the toolstack restarted, and
//! nothing carries over.
//!
//! Facts are read from the few messages that state them (the create
//! request, the shutdown request, has-shutdown, crash, destroy, device
//! release, restore, xl's monitor); they make the story and the replay's
//! inputs, never a line's label — labels come from the model's run
//! (`align.rs`).

use std::collections::BTreeMap;

use crate::explain::{Build, Explainer};
use crate::format::{Format, Kind, Level};

use super::{wall_time, Source};

/// Which toolstack wrote a domain's history.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Toolstack {
    /// xm and xend (`xend.log`).
    Xend,
    /// xl and libxl (`xl-<name>.log`).
    Xl,
    /// No toolstack's log is among the files (a qemu-dm log, a console):
    /// the replay uses the model's, xend.
    NotShown,
}

impl Toolstack {
    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Toolstack::Xend => "xend",
            Toolstack::Xl => "xl",
            Toolstack::NotShown => "toolstack not shown",
        }
    }
}

/// What a record says happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fact {
    /// The toolstack built the domain (`xm create`; xl's monitor attached).
    Created,
    /// A shutdown was requested, with its reason (`xm shutdown`, `xm reboot`).
    ShutdownRequested(String),
    /// Xen reported the domain shut down, with the reason.
    HasShutdown(String),
    /// The domain crashed.
    Crashed,
    /// The guest kernel panicked.
    Panicked,
    /// The toolstack destroyed the domain.
    Destroyed,
    /// A device was released.
    DeviceReleased(String),
    /// The device model is gone.
    DeviceModelGone,
    /// The toolstack re-created the domain after a reboot or crash (xl's
    /// `Done. Rebooting now`).
    Restarting,
    /// `xm restore` (or an incoming migration) started building it.
    Restore,
    /// The restore failed.
    RestoreFailed,
    /// A toolstack process started (a new xend pid, `Xend Daemon started`).
    ToolstackStarted(u32),
    /// A stack printed by an engineer's instrumentation at a probe's site.
    Stack(&'static str),
    /// Xen shut an HVM domain down on a triple fault, with the reason
    /// (HVM_PARAM_TRIPLE_FAULT_REASON: reboot unless set).
    TripleFault(String),
    /// The hypervisor that wrote the file, by its version (its boot banner,
    /// `Xen version 4.16.2 (...)`, or a state dump's `----[ Xen-4.16.2 ...`).
    Hypervisor(String),
}

impl Fact {
    /// What it means, for the story.
    pub fn describe(&self) -> String {
        match self {
            Fact::Created => "created".into(),
            Fact::ShutdownRequested(r) => format!("shutdown requested ({r})"),
            Fact::HasShutdown(r) => format!("has shut down, reason {r}"),
            Fact::Crashed => "crashed".into(),
            Fact::Panicked => "the guest kernel panicked".into(),
            Fact::Destroyed => "destroyed".into(),
            Fact::DeviceReleased(d) => format!("device {d} released"),
            Fact::DeviceModelGone => "device model gone".into(),
            Fact::Restarting => "restarting".into(),
            Fact::Restore => "restore started".into(),
            Fact::RestoreFailed => "restore failed".into(),
            Fact::ToolstackStarted(pid) => format!("toolstack started (pid {pid})"),
            Fact::Stack(p) => format!("stack printed at {p}"),
            Fact::TripleFault(r) => format!("triple fault: Xen shuts it down, reason {r}"),
            Fact::Hypervisor(v) => format!("written by Xen {v}"),
        }
    }

    /// Facts the model has no mechanism for yet: what follows them in a
    /// domain's history is not replayed.
    pub fn unmodelled(&self) -> bool {
        matches!(
            self,
            Fact::Restore
                | Fact::RestoreFailed
                | Fact::ToolstackStarted(_)
                | Fact::TripleFault(_)
                | Fact::Hypervisor(_)
        )
    }
}

/// A fact at a place in a file.
#[derive(Clone, Debug)]
pub struct HistoryEvent {
    /// Source index.
    pub src: usize,
    /// Record index in that source.
    pub rec: usize,
    /// Wall-clock seconds, when the record has a date.
    pub time: Option<i64>,
    /// The domid it names, if any.
    pub domid: Option<u32>,
    /// What happened.
    pub fact: Fact,
}

/// An `on_*` setting and where its value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    /// The value (`destroy`, `restart`, ...).
    pub value: String,
    /// The log states it (a create request, `Storing VM details`, xl's
    /// `Action for shutdown reason code`); otherwise the toolstack's default.
    pub from_log: bool,
}

/// What the model needs to replay a domain, as far as the logs tell.
#[derive(Clone, Debug, Default)]
pub struct Inferred {
    /// HVM (`Some(true)`), PV, or not told.
    pub hvm: Option<bool>,
    /// Devices as `class/id`, in the order first seen.
    pub devices: Vec<String>,
    /// `on_poweroff`, `on_reboot`, `on_crash` as the log states them.
    pub on: BTreeMap<String, String>,
    /// The build whose xend line numbers the records carry.
    pub build: Option<Build>,
    /// The xend pid while the domain's story ran.
    pub pid: Option<u32>,
    /// When the domain was created, if the log shows it.
    pub created: Option<i64>,
    /// Probes at whose site the log shows a stack printed.
    pub stacks: Vec<&'static str>,
    /// The `-v`s xl ran with, from the lowest level of libxl's lines in
    /// its log (xl prints `progress` and up, each `-v` one level lower:
    /// xl.c:52, 297-299); `None` when no libxl line shows.
    pub xl_verbose: Option<u8>,
}

impl Inferred {
    /// `on_<reason>`: the log's value, or xend's default (DESIGN:
    /// on_poweroff destroy, on_reboot restart, on_crash restart).
    pub fn setting(&self, key: &str) -> Setting {
        match self.on.get(key) {
            Some(v) => Setting {
                value: v.clone(),
                from_log: true,
            },
            None => Setting {
                value: match key {
                    "on_poweroff" => "destroy",
                    _ => "restart",
                }
                .into(),
                from_log: false,
            },
        }
    }
}

/// One domain (all incarnations under one name: a restart gives a new domid).
#[derive(Clone, Debug, Default)]
pub struct Domain {
    /// Its name, if any record gives it.
    pub name: Option<String>,
    /// Its uuid, if any record gives it.
    pub uuid: Option<String>,
    /// Its domids, in the order seen.
    pub domids: Vec<u32>,
    /// Its records as (source, record), in each file's order.
    pub records: Vec<(usize, usize)>,
    /// Its history.
    pub events: Vec<HistoryEvent>,
    /// xl wrote it.
    pub xl: bool,
    /// xend wrote it.
    pub xend: bool,
    /// The replay's inputs.
    pub inferred: Inferred,
}

impl Domain {
    /// How reports name it.
    pub fn title(&self) -> String {
        match (&self.name, self.domids.first()) {
            (Some(n), Some(d)) => format!("{n} (domid {d})"),
            (Some(n), None) => n.clone(),
            (None, Some(d)) => format!("domid {d}"),
            (None, None) => "an unnamed domain".into(),
        }
    }

    /// Its toolstack.
    pub fn toolstack(&self) -> Toolstack {
        if self.xl {
            Toolstack::Xl
        } else if self.xend {
            Toolstack::Xend
        } else {
            Toolstack::NotShown
        }
    }

    /// The first fact the model cannot replay, if any.
    pub fn first_unmodelled(&self) -> Option<&HistoryEvent> {
        self.events.iter().find(|e| e.fact.unmodelled())
    }
}

/// Every domain of a set of logs, and what happened to the host.
#[derive(Clone, Debug, Default)]
pub struct Host {
    /// The files.
    pub sources: Vec<Source>,
    /// The domains, in the order first seen.
    pub domains: Vec<Domain>,
    /// Host-wide facts (toolstack restarts).
    pub events: Vec<HistoryEvent>,
    /// Records of no domain (as (source, record)).
    pub unattributed: Vec<(usize, usize)>,
}

/// Who a record names.
#[derive(Default, Debug)]
struct Ids {
    name: Option<String>,
    domid: Option<u32>,
    uuid: Option<String>,
}

/// Rebuilds every domain's history from the files.
pub fn reconstruct(sources: Vec<Source>) -> Host {
    let mut b = Builder::default();
    for (si, s) in sources.iter().enumerate() {
        b.source(si, s);
    }
    for d in &mut b.host.domains {
        d.events
            .sort_by_key(|e| (e.time.unwrap_or(i64::MIN), e.src, e.rec));
    }
    b.host.sources = sources;
    b.host
}

#[derive(Default)]
struct Builder {
    host: Host,
    by_name: BTreeMap<String, usize>,
    by_domid: BTreeMap<u32, usize>,
}

impl Builder {
    fn domain(&mut self, ids: &Ids) -> Option<usize> {
        let by_name = ids.name.as_ref().and_then(|n| self.by_name.get(n)).copied();
        let by_dom = ids.domid.and_then(|d| self.by_domid.get(&d)).copied();
        if ids.domid == Some(0) || ids.name.as_deref() == Some("Domain-0") {
            return None;
        }
        let i = match (by_name, by_dom) {
            (Some(i), _) => i,
            (None, Some(i)) => i,
            (None, None) if ids.name.is_some() || ids.domid.is_some() => {
                self.host.domains.push(Domain::default());
                self.host.domains.len() - 1
            }
            _ => return None,
        };
        let d = &mut self.host.domains[i];
        if let Some(n) = &ids.name {
            if d.name.is_none() {
                d.name = Some(n.clone());
                self.by_name.insert(n.clone(), i);
            }
        }
        if let Some(id) = ids.domid {
            if !d.domids.contains(&id) {
                d.domids.push(id);
            }
            // A domid is reused after a destroy: the newest holder wins.
            self.by_domid.insert(id, i);
        }
        if d.uuid.is_none() {
            d.uuid = ids.uuid.clone();
        }
        Some(i)
    }

    fn source(&mut self, si: usize, s: &Source) {
        let file_ids = file_domain(&s.name);
        // xend: the domain the process last named, by pid.
        let mut sticky: Option<usize> = None;
        let mut last_pid: Option<u32> = None;
        // xend lines of a process that has named no domain yet: the
        // domain it names next was the one they were about (its
        // `XendDomainInfo.shutdown(poweroff)` names nobody).
        let mut pending: Vec<usize> = Vec::new();
        let unattributed_before = self.host.unattributed.len();
        let mut attributed = false;
        let mut host_named = false;
        for (ri, r) in s.records.iter().enumerate() {
            // One process writes a xend.log stretch, a qemu-dm log or an
            // xl log (a domain's monitor, or one xl command's output).
            let one_process = matches!(r.format, Format::Xend | Format::QemuDm | Format::Xl);
            if matches!(r.kind, Kind::Blank | Kind::Markup | Kind::Unparsed) {
                continue;
            }
            let time = r.time.as_deref().and_then(wall_time);
            let head = r.head().trim();
            if r.format == Format::XenConsole {
                if let Some(v) = xen_version(head) {
                    let seen = self
                        .host
                        .events
                        .iter()
                        .any(|e| e.src == si && e.fact == Fact::Hypervisor(v.clone()));
                    if !seen {
                        self.host.events.push(HistoryEvent {
                            src: si,
                            rec: ri,
                            time,
                            domid: None,
                            fact: Fact::Hypervisor(v),
                        });
                    }
                    // The host's, no domain's.
                    self.host.unattributed.push((si, ri));
                    continue;
                }
            }
            let mut ids = ids_of(r.format, head);
            if r.format == Format::Xend {
                if let (Some(p), Some(q)) = (r.pid, last_pid) {
                    if p != q {
                        sticky = None;
                        self.host
                            .unattributed
                            .extend(pending.drain(..).map(|r| (si, r)));
                        self.host.events.push(HistoryEvent {
                            src: si,
                            rec: ri,
                            time,
                            domid: None,
                            fact: Fact::ToolstackStarted(p),
                        });
                    }
                }
                last_pid = r.pid.or(last_pid);
            }
            // A domain's own file (qemu-dm-<name>.log, xl-<name>.log) is
            // about that domain whatever domid a line names: a restart
            // gives it another.
            if ids.name.is_none() {
                if let Some(f) = &file_ids {
                    ids.name = f.name.clone();
                }
            }
            // A new domid right after a create request (`Adding Domain: 3`)
            // is the domain being created.
            if let (None, Some(id), Some(d)) = (&ids.name, ids.domid, sticky) {
                let dom = &self.host.domains[d];
                let creating = dom.domids.is_empty()
                    || dom.events.last().is_some_and(|e| e.fact == Fact::Created);
                if !self.by_domid.contains_key(&id) && creating {
                    ids.name = dom.name.clone();
                }
            }
            let named = ids.name.is_some() || ids.domid.is_some();
            let d = if named {
                self.domain(&ids)
            } else if one_process {
                sticky
            } else {
                None
            };
            if one_process && named {
                sticky = d;
                if let Some(d) = d {
                    for p in std::mem::take(&mut pending) {
                        self.attach(si, s, p, d, None);
                    }
                }
            }
            if one_process && !named && d.is_none() {
                pending.push(ri);
                continue;
            }
            let Some(d) = d else {
                if named {
                    // Domain-0: the host's own, and so are the lines before.
                    host_named = true;
                    sticky = None;
                    self.host
                        .unattributed
                        .extend(pending.drain(..).map(|r| (si, r)));
                }
                self.host.unattributed.push((si, ri));
                continue;
            };
            attributed = true;
            self.attach(si, s, ri, d, ids.domid);
        }
        self.host
            .unattributed
            .extend(pending.drain(..).map(|r| (si, r)));
        // A file that names no domain at all (an excerpt, a stack an
        // engineer printed) is about one domain all the same.
        if !attributed && !host_named && self.host.unattributed.len() > unattributed_before {
            let recs: Vec<(usize, usize)> = self
                .host
                .unattributed
                .drain(unattributed_before..)
                .collect();
            self.host.domains.push(Domain::default());
            let d = self.host.domains.len() - 1;
            for (_, ri) in recs {
                self.attach(si, s, ri, d, None);
            }
        }
    }
}

impl Builder {
    /// Gives record `ri` of source `si` to domain `d`: its facts, and what
    /// it tells of the replay's inputs.
    fn attach(&mut self, si: usize, s: &Source, ri: usize, d: usize, domid: Option<u32>) {
        let r = &s.records[ri];
        let explained = Explainer::default().next(r);
        let time = r.time.as_deref().and_then(wall_time);
        let msg = r.message();
        let head = r.head().trim();
        let dom = &mut self.host.domains[d];
        dom.records.push((si, ri));
        dom.xl |= r.format == Format::Xl;
        dom.xend |= r.format == Format::Xend;
        if r.format == Format::QemuDm {
            dom.inferred.hvm = Some(true);
        }
        if r.format == Format::Xl && r.logger.as_deref() == Some("libxl") {
            let v = match r.level {
                Some(Level::Debug) => 3,
                Some(Level::Verbose) => 2,
                Some(Level::Detail) => 1,
                _ => 0,
            };
            dom.inferred.xl_verbose = Some(dom.inferred.xl_verbose.unwrap_or(0).max(v));
        }
        if r.format == Format::Xend {
            dom.inferred.pid = dom.inferred.pid.or(r.pid);
            if let Some(b) = explained.build {
                dom.inferred.build = Some(merge_build(dom.inferred.build, b));
            }
        }
        let stack = stack_probe(r, explained.probe);
        if let Some(p) = stack {
            if !dom.inferred.stacks.contains(&p) {
                dom.inferred.stacks.push(p);
            }
        }
        infer(&mut dom.inferred, r.format, head, &msg, time);
        let fact = stack.map(Fact::Stack).or_else(|| fact_of(r.format, head));
        if let Some(fact) = fact {
            let same_restore =
                fact == Fact::Restore && dom.events.last().is_some_and(|e| e.fact == Fact::Restore);
            if same_restore {
                return;
            }
            if let Fact::DeviceReleased(dev) = &fact {
                if !dom.inferred.devices.contains(dev) {
                    dom.inferred.devices.push(dev.clone());
                }
            }
            dom.events.push(HistoryEvent {
                src: si,
                rec: ri,
                time,
                domid,
                fact,
            });
        }
    }
}

/// The verdict on line numbers over several records.
fn merge_build(a: Option<Build>, b: Build) -> Build {
    match (a, b) {
        (None, b) => b,
        (Some(a), Build::Both) => a,
        (Some(Build::Both), b) => b,
        (Some(a), b) if a == b => a,
        _ => Build::Neither,
    }
}

/// A stack printed by instrumentation: explain names its probe by the
/// innermost modelled frame, or by the site its `(module:line)` is.
fn stack_probe(r: &crate::record::Record, probe: Option<&'static str>) -> Option<&'static str> {
    let head = r.head();
    let is_stack = r.kind == Kind::CallTrace
        || (r.format == Format::Xend
            && (head.starts_with("  File \"") || head.starts_with("Traceback")));
    if is_stack {
        probe
    } else {
        None
    }
}

/// The domain a file is about, by its name: `qemu-dm-<name>.log`,
/// `xl-<name>.log`, ..., seen through a rotation's or a copy's suffixes
/// (`qemu-dm-web.log.1.mail` is web's).
fn file_domain(path: &str) -> Option<Ids> {
    let stem = crate::format::log_name(path).strip_suffix(".log")?;
    ["qemu-dm-", "console-", "xl-", "guest-"]
        .iter()
        .find_map(|p| stem.strip_prefix(p))
        .filter(|n| !n.is_empty())
        .map(|n| Ids {
            name: Some(n.to_string()),
            ..Ids::default()
        })
}

/// The domid of a guest message's `%pv` prefix (`d8v0 Triple fault ...`,
/// gprintk's form in Xen 4.5 and later).
fn vcpu_prefix(m: &str) -> Option<u32> {
    let rest = m.strip_prefix('d')?;
    let id: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let after = rest[id.len()..].strip_prefix('v')?;
    let vcpu_ends = after.find(' ')?;
    (!id.is_empty() && after[..vcpu_ends].bytes().all(|b| b.is_ascii_digit()))
        .then(|| id.parse().ok())
        .flatten()
}

/// The version a Xen console line gives: the boot banner's
/// (`Xen version 4.16.2 (mockbuild@) ...`) or a state dump's header
/// (`----[ Xen-4.16.2  x86_64  debug=n  Not tainted ]----`).
fn xen_version(m: &str) -> Option<String> {
    let rest = m
        .strip_prefix("Xen version ")
        .or_else(|| m.strip_prefix("----[ Xen-"))?;
    let v: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || ".-_".contains(*c))
        .collect();
    (v.starts_with(|c: char| c.is_ascii_digit())).then_some(v)
}

fn number_after(s: &str, key: &str) -> Option<u32> {
    let i = s.find(key)? + key.len();
    let rest = &s[i..];
    let n: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    n.parse().ok()
}

fn word_after(s: &str, key: &str) -> Option<String> {
    let i = s.find(key)? + key.len();
    let w: String = s[i..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .collect();
    let w = w.trim_end_matches('.').to_string();
    (!w.is_empty()).then_some(w)
}

/// `'key': 'value'` in a Python dict, or `['key', 'value']` in an SXP.
fn py_value(s: &str, key: &str) -> Option<String> {
    for pat in [format!("'{key}': '"), format!("['{key}', '")] {
        if let Some(i) = s.find(&pat) {
            let rest = &s[i + pat.len()..];
            return rest.split('\'').next().map(str::to_string);
        }
    }
    None
}

/// Who a message names.
fn ids_of(format: Format, m: &str) -> Ids {
    let mut ids = Ids::default();
    match format {
        Format::Xend => {
            ids.name = word_after(m, "name=").or_else(|| py_value(m, "name"));
            ids.domid = number_after(m, " id=")
                .or_else(|| number_after(m, "domid="))
                .or_else(|| number_after(m, "Adding Domain: "))
                .or_else(|| number_after(m, "initDomain: "))
                .or_else(|| number_after(m, "remote shutdown dom "))
                .or_else(|| py_value(m, "domid").and_then(|v| v.parse().ok()));
            ids.uuid = py_value(m, "uuid").filter(|u| u.len() == 36);
        }
        Format::QemuDm => {
            ids.domid = number_after(m, "Issued domain ").or_else(|| {
                m.strip_prefix("domid: ")
                    .and_then(|r| r.trim().parse().ok())
            });
        }
        Format::Xl => {
            // `Waiting for domain web (domid 3) to die [pid 2301]`.
            if let Some(rest) = m.strip_prefix("Waiting for domain ") {
                ids.name = rest.split(" (domid").next().map(str::to_string);
            }
            ids.domid = number_after(m, "(domid ")
                .or_else(|| number_after(m, "Domain "))
                .or_else(|| number_after(m, "domain "))
                .or_else(|| number_after(m, "domid "));
        }
        Format::XenConsole => {
            ids.domid = number_after(m, "Domain ")
                .or_else(|| number_after(m, "(d"))
                .or_else(|| number_after(m, "Dumping Dom"))
                .or_else(|| vcpu_prefix(m))
                .filter(|_| !m.contains("Domain 0 "));
        }
        _ => {}
    }
    ids
}

/// xl's shutdown reason codes (libxl: SHUTDOWN_*).
fn reason_name(code: u32) -> &'static str {
    match code {
        0 => "poweroff",
        1 => "reboot",
        2 => "suspend",
        3 => "crash",
        4 => "watchdog",
        _ => "?",
    }
}

/// What a message says happened.
fn fact_of(format: Format, m: &str) -> Option<Fact> {
    match format {
        Format::Xend => {
            if m.starts_with("XendDomainInfo.create(") {
                Some(Fact::Created)
            } else if let Some(r) = m.strip_prefix("XendDomainInfo.shutdown(") {
                Some(Fact::ShutdownRequested(r.trim_end_matches(')').to_string()))
            } else if m.starts_with("Domain has shutdown:") {
                Some(Fact::HasShutdown(
                    word_after(m, "reason=").unwrap_or_else(|| "?".into()),
                ))
            } else if m.starts_with("Domain has crashed:") {
                Some(Fact::Crashed)
            } else if m.starts_with("XendDomainInfo.destroy: domid=") {
                Some(Fact::Destroyed)
            } else if let Some(d) = m.strip_prefix("Removing ") {
                (d.contains('/') && !d.contains(' ')).then(|| Fact::DeviceReleased(d.to_string()))
            } else if m.ends_with("device model terminated") {
                Some(Fact::DeviceModelGone)
            } else if m.starts_with("XendDomainInfo.restore(")
                || m.starts_with("restore hvm domain")
                || m.starts_with("[xc_restore]")
            {
                // XendDomainInfo.restore, then XendCheckpoint.restore's own
                // lines: one restore (an excerpt may start at either).
                Some(Fact::Restore)
            } else if m.starts_with("Restore failed") {
                Some(Fact::RestoreFailed)
            } else {
                None
            }
        }
        Format::Xl => {
            if m.starts_with("Waiting for domain ") {
                Some(Fact::Created)
            } else if m.contains("has shut down, reason code ") {
                number_after(m, "reason code ")
                    .map(|c| Fact::HasShutdown(reason_name(c).to_string()))
            } else if m.contains("needs to be cleaned up: destroying the domain")
                || m.ends_with("has been destroyed.")
            {
                Some(Fact::Destroyed)
            } else if m.starts_with("Done. Rebooting now") {
                Some(Fact::Restarting)
            } else {
                None
            }
        }
        Format::XenConsole => {
            if m.contains(") crashed on cpu#") || m.contains("reported crashed by domain") {
                Some(Fact::Crashed)
            } else if m.contains("Triple fault - invoking HVM shutdown action ") {
                // hvm_triple_fault: domain_shutdown(d, reason).
                number_after(m, "shutdown action ")
                    .map(|c| Fact::TripleFault(reason_name(c).to_string()))
            } else {
                None
            }
        }
        Format::LinuxConsole => m
            .contains("Kernel panic - not syncing")
            .then_some(Fact::Panicked),
        _ => None,
    }
}

/// What a record tells about the replay's inputs.
fn infer(inf: &mut Inferred, format: Format, head: &str, msg: &str, time: Option<i64>) {
    match format {
        Format::Xend => {
            let restore = head.starts_with("XendDomainInfo.restore(");
            if head.starts_with("XendDomainInfo.create(") || restore {
                if !restore {
                    inf.created = inf.created.or(time);
                }
                if msg.contains("['hvm',") || msg.contains("['hvm', ") {
                    inf.hvm = Some(true);
                } else if msg.contains("['linux',") {
                    inf.hvm = Some(false);
                }
                create_devices(inf, msg);
            }
            // `XendDomainInfo.destroyDevice: deviceClass = vif, device = vif/0`.
            if let Some(rest) = head.strip_prefix("XendDomainInfo.destroyDevice: deviceClass = ") {
                if let Some(dev) = rest.split("device = ").nth(1) {
                    let dev = dev.trim().to_string();
                    if dev.contains('/') && !inf.devices.contains(&dev) {
                        inf.devices.push(dev);
                    }
                }
            }
            if head.starts_with("XendDomainInfo.create(")
                || restore
                || head.starts_with("Storing VM details")
            {
                for k in ["on_poweroff", "on_reboot", "on_crash"] {
                    if let Some(v) = py_value(msg, k) {
                        inf.on.entry(k.to_string()).or_insert(v);
                    }
                }
            }
            if head.starts_with("spawning device models")
                || head.starts_with("restore hvm domain")
                || head.contains("device model pid")
                || head == "Destroying device model"
                || head.ends_with("device model terminated")
            {
                inf.hvm = Some(true);
            }
        }
        Format::Xl => {
            // libxl's device lines name each backend's path:
            // `.../backend/vbd/1/51712/state` is the domain's vbd/51712.
            if let Some(dev) = backend_device(head) {
                if !inf.devices.contains(&dev) {
                    inf.devices.push(dev);
                }
            }
            // `Action for shutdown reason code 1 is restart`.
            if let Some(rest) = head.strip_prefix("Action for shutdown reason code ") {
                let mut it = rest.split(" is ");
                let code = it.next().and_then(|c| c.trim().parse::<u32>().ok());
                let action = it.next().map(str::trim);
                if let (Some(c), Some(a)) = (code, action) {
                    let key = match c {
                        0 => "on_poweroff",
                        1 => "on_reboot",
                        3 => "on_crash",
                        _ => return,
                    };
                    inf.on.entry(key.into()).or_insert_with(|| a.to_string());
                }
            }
        }
        // hvm_triple_fault's line and an HVM vCPU's state dump.
        Format::XenConsole
            if head.contains("invoking HVM shutdown action")
                || head.contains("CONTEXT: hvm guest") =>
        {
            inf.hvm = Some(true);
        }
        _ => {}
    }
}

/// The device of a xenstore backend path in a libxl line
/// (`/local/domain/0/backend/vif/1/0/state` is `vif/0`).
fn backend_device(m: &str) -> Option<String> {
    let rest = &m[m.find("/backend/")? + "/backend/".len()..];
    let mut parts = rest.split('/');
    let class = parts.next()?;
    let _domid = parts.next()?.parse::<u32>().ok()?;
    let devid: String = parts
        .next()?
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let known = ["vif", "vbd", "vkbd", "vfb", "console", "qdisk", "pci"];
    (known.contains(&class) && !devid.is_empty()).then(|| format!("{class}/{devid}"))
}

/// Devices of a create request's SXP: `['device', ['vif', ... ['devid', '0'] ...]]`.
fn create_devices(inf: &mut Inferred, msg: &str) {
    let mut rest = msg;
    let mut per_class: BTreeMap<String, u32> = BTreeMap::new();
    while let Some(i) = rest.find("['device', ['") {
        rest = &rest[i + "['device', ['".len()..];
        let class: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let end = rest.find("['device', ").unwrap_or(rest.len());
        let body = &rest[..end];
        let n = per_class.entry(class.clone()).or_default();
        let id = py_value(body, "devid")
            .or_else(|| py_value(body, "dev").and_then(|d| disk_number(&d)))
            .unwrap_or_else(|| n.to_string());
        *n += 1;
        let dev = format!("{class}/{id}");
        if !class.is_empty() && !inf.devices.contains(&dev) {
            inf.devices.push(dev);
        }
    }
}

/// A disk's device number (`xvda` 51712, `hda` 768, `sda` 2048), as xend
/// names vbds.
fn disk_number(dev: &str) -> Option<String> {
    let dev = dev.split(':').next().unwrap_or(dev);
    let (base, letter) = if let Some(l) = dev.strip_prefix("xvd") {
        (202 << 8, l)
    } else if let Some(l) = dev.strip_prefix("hd") {
        (3 << 8, l)
    } else if let Some(l) = dev.strip_prefix("sd") {
        (8 << 8, l)
    } else {
        return None;
    };
    let c = letter.bytes().next()?;
    if !c.is_ascii_lowercase() || letter.len() != 1 {
        return None;
    }
    let k = (c - b'a') as u32;
    let n = if base == 3 << 8 {
        base + k * 64
    } else {
        base + k * 16
    };
    Some(n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(files: &[(&str, &str)]) -> Host {
        reconstruct(
            files
                .iter()
                .map(|(n, t)| Source::parse(n, t.as_bytes()))
                .collect(),
        )
    }

    #[test]
    fn unnamed_xend_lines_belong_to_the_domain_the_process_last_named() {
        let h = host(&[(
            "xend.log",
            "[2019-06-05 09:23:28 2164] DEBUG (XendDomainInfo:3862) XendDomainInfo.destroy: domid=8\n\
             [2019-06-05 09:23:28 2164] DEBUG (XendDomainInfo:2591) Releasing devices\n\
             [2019-06-05 09:23:28 2164] DEBUG (XendDomainInfo:2597) Removing vif/0\n\
             [2019-06-05 09:30:00 4410] INFO (SrvDaemon:332) Xend Daemon started\n\
             [2019-06-05 09:30:00 4410] DEBUG (XendDomainInfo:2591) Releasing devices\n",
        )]);
        assert_eq!(h.domains.len(), 1);
        let d = &h.domains[0];
        assert_eq!(d.domids, vec![8]);
        assert_eq!(d.records.len(), 3, "the new process's lines are not its");
        assert_eq!(d.inferred.devices, vec!["vif/0".to_string()]);
        assert_eq!(h.events[0].fact, Fact::ToolstackStarted(4410));
        assert_eq!(h.unattributed.len(), 2);
    }

    #[test]
    fn a_create_request_gives_name_type_devices_and_actions() {
        let h = host(&[(
            "xend.log",
            "[2019-06-05 09:23:27 2164] DEBUG (XendDomainInfo:105) XendDomainInfo.create(['vm', ['name', 'web'], ['on_crash', 'restart'], ['image', ['hvm', ['kernel', '/x']]], ['device', ['vif', ['mac', 'x']]], ['device', ['vbd', ['dev', 'hda:disk'], ['uname', 'file:/x']]]])\n\
             [2019-06-05 09:23:27 2164] DEBUG (XendDomain:476) Adding Domain: 3\n",
        )]);
        let d = &h.domains[0];
        assert_eq!(d.name.as_deref(), Some("web"));
        assert_eq!(d.domids, vec![3]);
        assert_eq!(d.inferred.hvm, Some(true));
        assert_eq!(d.inferred.devices, vec!["vif/0", "vbd/768"]);
        assert_eq!(d.inferred.setting("on_crash").value, "restart");
        assert!(d.inferred.setting("on_crash").from_log);
        assert!(!d.inferred.setting("on_poweroff").from_log);
    }

    /// A domain's own file names its domain through a rotation's and a
    /// copy's suffixes: lines that name no domain are that domain's.
    #[test]
    fn a_domains_own_file_is_its_whatever_suffixes_its_copy_has() {
        for name in [
            "qemu-dm-web.log",
            "qemu-dm-web.log.1",
            "qemu-dm-web.log.mail",
            "qemu-dm-web.log.forum",
            "qemu-dm-web.log.1.mail",
            "/var/log/xen/qemu-dm-web.log.2.forum",
        ] {
            let ids = file_domain(name).map(|i| i.name);
            assert_eq!(ids, Some(Some("web".to_string())), "{name}");
            let h = host(&[(
                name,
                "shutdown requested in cpu_handle_ioreq\n\
                 Issued domain 8 poweroff\n",
            )]);
            assert_eq!(h.domains.len(), 1, "{name}");
            assert_eq!(h.domains[0].name.as_deref(), Some("web"), "{name}");
            assert_eq!(h.domains[0].records.len(), 2, "{name}");
        }
        for name in ["qemu-dm-web.log.gz", "qemu-dm-.log.mail", "xend.log.1.mail"] {
            assert!(file_domain(name).is_none(), "{name}");
        }
    }

    #[test]
    fn xl_monitor_lines_make_a_history() {
        let h = host(&[(
            "xl-web.log",
            "Waiting for domain web (domid 5) to die [pid 3120]\n\
             Domain 5 has shut down, reason code 1 0x1\n\
             Action for shutdown reason code 1 is restart\n\
             Domain 5 needs to be cleaned up: destroying the domain\n\
             Done. Rebooting now\n",
        )]);
        let d = &h.domains[0];
        assert!(d.xl);
        assert_eq!(d.name.as_deref(), Some("web"));
        let facts: Vec<Fact> = d.events.iter().map(|e| e.fact.clone()).collect();
        assert_eq!(
            facts,
            vec![
                Fact::Created,
                Fact::HasShutdown("reboot".into()),
                Fact::Destroyed,
                Fact::Restarting
            ]
        );
        assert_eq!(d.inferred.setting("on_reboot").value, "restart");
    }
}
