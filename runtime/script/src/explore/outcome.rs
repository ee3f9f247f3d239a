//! A run's outcome: what the outcome table groups variants by.
//!
//! A script states it with `sim.outcome(#{...})` / `sim.outcome(key, value)`
//! — the most reliable signature, since the script knows which domains and
//! facts matter. Without that, the default is every domain xend still lists
//! (besides Domain-0) with its state, and the key log lines found.
//!
//! Key lines are the lines of the reference's message catalogue that tell
//! one ending from another (who powered the domain off, whether xend timed
//! out, crashed or refused a restart), reduced to a fixed tag: timestamps,
//! pids and domids differ between variants and would split every outcome.

use std::collections::BTreeMap;

use memchr::memmem;
use xsh_sim::Sim;

use crate::HostState;

/// Where a key line is looked for.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum Source {
    Xend,
    Guest,
    Qemu,
    Xen,
    /// The xl monitors' `xl-<name>.log`.
    Xl,
}

/// (tag, where, text it contains) — in the order the tags are listed.
const KEY_LINES: &[(&str, Source, &str)] = &[
    (
        "xend: remote shutdown",
        Source::Xend,
        "HVM save:remote shutdown",
    ),
    (
        "xend: device model failure",
        Source::Xend,
        "device model failure",
    ),
    ("xend: crashed", Source::Xend, "Domain has crashed"),
    (
        "xend: shutdown timeout",
        Source::Xend,
        "Domain shutdown timeout expired",
    ),
    ("xend: restart refused", Source::Xend, "restarting too fast"),
    ("xend: preserved", Source::Xend, "Preserving dead domain"),
    ("xend: renamed", Source::Xend, "Renaming dead domain"),
    (
        "xend: device model SIGKILL",
        Source::Xend,
        "took more than 10s",
    ),
    (
        "xend: traceback",
        Source::Xend,
        "Traceback (most recent call last)",
    ),
    ("guest: Power down", Source::Guest, "reboot: Power down"),
    (
        "guest: System halted",
        Source::Guest,
        "reboot: System halted",
    ),
    (
        "guest: Restarting system",
        Source::Guest,
        "reboot: Restarting system",
    ),
    (
        "guest: Kernel panic",
        Source::Guest,
        "Kernel panic - not syncing",
    ),
    (
        "qemu-dm: shutdown requested",
        Source::Qemu,
        "shutdown requested in cpu_handle_ioreq",
    ),
    (
        "qemu-dm: reset requested",
        Source::Qemu,
        "reset requested in cpu_handle_ioreq",
    ),
    (
        "xen: all vCPUs offline",
        Source::Xen,
        "All CPUs offline -- powering off",
    ),
    ("xen: triple fault", Source::Xen, "Triple fault"),
    // xl's (docs/reference-xl.md §9): none of these appear on an xm host.
    ("xl: rebooting", Source::Xl, "Done. Rebooting now"),
    (
        "xl: destroyed by xl destroy",
        Source::Xl,
        "has been destroyed.",
    ),
    (
        "libxl: device model already exited",
        Source::Xl,
        "Device Model already exited",
    ),
    (
        "libxl: device not removed",
        Source::Xl,
        "unable to remove device with path",
    ),
    (
        "qemu-xen: terminated by a signal",
        Source::Qemu,
        "qemu: terminating on signal",
    ),
];

/// The key lines a run's logs hold, as tags in catalogue order. `Domain has
/// shutdown` is tagged with its reason ("xend: shutdown reason=poweroff").
pub fn key_lines(sim: &Sim) -> Vec<String> {
    let logs = sim.logs.borrow();
    let xend = logs.xend.text();
    let mut tags = Vec::new();
    let mut reasons: Vec<&str> = Vec::new();
    for i in memmem::find_iter(xend.as_bytes(), "Domain has shutdown: ") {
        let line = &xend[i..];
        let line = &line[..line.find('\n').unwrap_or(line.len())];
        let r = line
            .split("reason=")
            .nth(1)
            .map_or("?", |r| r.trim_end_matches('.'));
        if !reasons.contains(&r) {
            reasons.push(r);
        }
    }
    for r in reasons {
        tags.push(format!("xend: shutdown reason={r}"));
    }
    // xl's monitor: the action it took for each reason code.
    let mut actions: Vec<String> = Vec::new();
    for (name, f) in logs.files.iter().filter(|(n, _)| n.starts_with("xl-")) {
        let _ = name;
        let text = f.text();
        for i in memmem::find_iter(text.as_bytes(), "Action for shutdown reason code ") {
            let line = &text[i + "Action for shutdown reason code ".len()..];
            let line = &line[..line.find('\n').unwrap_or(line.len())];
            let tag = format!("xl: reason code {line}");
            if !actions.contains(&tag) {
                actions.push(tag);
            }
        }
    }
    tags.extend(actions);
    // Each needle's searcher is made once per process: an exploration asks
    // for the key lines of every variant, and setting up a search costs as
    // much as running it over a short log.
    static FINDERS: std::sync::OnceLock<Vec<memmem::Finder<'static>>> = std::sync::OnceLock::new();
    let finders = FINDERS.get_or_init(|| {
        KEY_LINES
            .iter()
            .map(|(_, _, needle)| memmem::Finder::new(needle.as_bytes()))
            .collect()
    });
    let has = |text: &str, f: &memmem::Finder| f.find(text.as_bytes()).is_some();
    let in_files = |prefix: &str, f: &memmem::Finder| {
        logs.files
            .iter()
            .any(|(name, file)| name.starts_with(prefix) && has(file.text(), f))
    };
    for ((tag, src, _), needle) in KEY_LINES.iter().zip(finders) {
        let found = match src {
            Source::Xend => has(xend, needle),
            Source::Guest => in_files("console-", needle),
            Source::Qemu => in_files("qemu-dm-", needle),
            Source::Xen => has(logs.xen.text(), needle),
            Source::Xl => in_files("xl-", needle),
        };
        if found {
            tags.push(tag.to_string());
        }
    }
    tags
}

/// The run's outcome as ordered key/value pairs.
pub fn signature(st: &HostState) -> Vec<(String, String)> {
    let stated = st.explore.outcome.borrow();
    if !stated.is_empty() {
        return stated.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    }
    default_signature(&st.sim)
}

/// Domains the toolstack lists (besides Domain-0) with their state, and
/// key lines.
pub fn default_signature(sim: &Sim) -> Vec<(String, String)> {
    let mut doms: BTreeMap<String, String> = BTreeMap::new();
    for (name, id) in xsh_sim::host::guest_domains(sim) {
        doms.insert(name, xsh_sim::host::domain_state(sim, id).into());
    }
    let mut out: Vec<(String, String)> = if doms.is_empty() {
        vec![("domains".into(), "none but Domain-0".into())]
    } else {
        doms.into_iter().collect()
    };
    out.push(("lines".into(), key_lines(sim).join("; ")));
    out
}

/// An outcome as one line: `state=destroyed, lines=...`.
pub fn text(o: &[(String, String)]) -> String {
    o.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
