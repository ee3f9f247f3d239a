//! Records as events: what happened, without when, by which process, to
//! which domid or uuid — so that a real host's log and a simulated one (or
//! two real ones) can be compared step by step.
//!
//! An event's key is its format, level, module and message with times,
//! pids, domids and uuids replaced by placeholders. A stack dump's key is
//! its frames' symbols (addresses differ between builds). xend's line
//! numbers are left out: ovm-4.4.4 and upstream log the same event at
//! different lines (`explain` reports those).

use crate::format::{Format, Kind};
use crate::record::Record;

/// One event of a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The comparison key.
    pub key: String,
    /// Line of the record.
    pub line: u64,
    /// Format.
    pub format: Format,
    /// The record's first line, for display.
    pub text: String,
}

/// The events of a log's records (blank lines, markup and unparsed text
/// are not events).
pub fn events(records: &[Record]) -> Vec<Event> {
    let mut names = Names::default();
    records
        .iter()
        .filter_map(|r| event(r, &mut names))
        .collect()
}

/// A record as an event, or `None` for what is not one (blank lines,
/// markup, unparsed text). `names` carries the domain names the log has
/// named so far, so that later mentions of them are normalised too.
pub fn event(r: &Record, names: &mut Names) -> Option<Event> {
    if matches!(r.kind, Kind::Blank | Kind::Markup | Kind::Unparsed) {
        return None;
    }
    Some(Event {
        key: key(r, names),
        line: r.line(),
        format: r.format,
        text: r.head().trim_end().to_string(),
    })
}

fn key(r: &Record, names: &mut Names) -> String {
    let head = names.normalize(r.head().trim());
    key_with_head(r, &head)
}

/// A record's key with its message already normalised: (format, level,
/// module, message; a dump by its frames, innermost first). `diff` and
/// `diagnose`'s alignment each normalise the message their own way.
pub(crate) fn key_with_head(r: &Record, head: &str) -> String {
    let frames: Vec<&str> = r
        .lines
        .iter()
        .filter(|l| l.kind == Kind::Frame)
        .filter_map(|l| l.func.as_deref())
        .map(|f| f.rsplit('#').next().unwrap_or(f))
        .collect();
    let level = r.level.map_or("-", |l| l.name());
    let module = r.module.as_deref().unwrap_or("-");
    let body = if frames.is_empty() {
        head.to_string()
    } else {
        format!("{head} {}", frames.join(" < "))
    };
    format!("{}|{level}|{module}|{body}", r.format.name())
}

/// Words after which a number is a domid.
const DOMID_BEFORE: &[&str] = &[
    "domid=",
    "domid: ",
    "domid ",
    "id=",
    "dom ",
    "domain ",
    "Domain ",
    "/local/domain/",
    "[domid:",
    "Adding Domain: ",
    ":d",
    "(d",
    "initDomain: ",
];

/// Words after which a number is a pid.
const PID_BEFORE: &[&str] = &["pid: ", "pid ", "PID ", "pid=", "DeviceModel ", "(pid "];

/// Words after which a word is a domain's name (`name=ubuntu-kdump`,
/// `'name': 'ol5u4'`, `(name ol5u4)`, qemu-dm's `-name ol5u4`).
const NAME_BEFORE: &[&str] = &["name=", "'name': '", "['name', '", "(name ", "-name "];

/// The most names one log's normalisation remembers (a host runs a few
/// hundred domains over a log's life; past that, a log that seems to name
/// more is not naming domains).
const MAX_NAMES: usize = 4096;

/// The domain names a log has named so far: a name is learned where a
/// message says it is one (`name=…`, `Domain NAME (8)`), and every later
/// mention of it, anywhere, is `<name>` too — a domain keeps its name
/// through the log, as a domid or a uuid is not kept across two runs.
#[derive(Default, Debug)]
pub struct Names {
    known: std::collections::HashSet<String>,
}

impl Names {
    /// A message with its times, pids, domids, uuids and domain names
    /// replaced by `<time>`, `<pid>`, `<domid>`, `<uuid>` and `<name>`.
    pub fn normalize(&mut self, msg: &str) -> String {
        self.learn(msg);
        let plain = normalize_ids(msg);
        if self.known.is_empty() {
            return plain;
        }
        self.replace(&plain)
    }

    fn learn(&mut self, msg: &str) {
        let b = msg.as_bytes();
        for w in NAME_BEFORE {
            let mut from = 0;
            while let Some(at) = msg.get(from..).and_then(|m| m.find(w)) {
                let start = from + at + w.len();
                self.add(name_at(b, start));
                from = start;
            }
        }
        // `Domain ubuntu-kdump (8)`: xend's and xl's way of naming one.
        for w in ["Domain ", "domain "] {
            let mut from = 0;
            while let Some(at) = msg.get(from..).and_then(|m| m.find(w)) {
                let start = from + at + w.len();
                let name = name_at(b, start);
                let after = msg.get(start + name.len()..).unwrap_or_default();
                let id = after.strip_prefix(" (").is_some_and(|r| {
                    r.starts_with(|c: char| c.is_ascii_digit()) || r.starts_with("domid")
                });
                if id {
                    self.add(name);
                }
                from = start;
            }
        }
    }

    fn add(&mut self, name: &str) {
        // A number is a domid, not a name; Domain-0 is always there.
        let real = name.len() >= 2
            && !name.bytes().all(|c| c.is_ascii_digit())
            && !matches!(name, "None" | "null" | "Domain-0");
        if real && self.known.len() < MAX_NAMES && !self.known.contains(name) {
            self.known.insert(name.to_string());
        }
    }

    /// Every whole-word mention of a known name replaced by `<name>`: each
    /// word that could be a name is looked up once.
    fn replace(&self, msg: &str) -> String {
        let b = msg.as_bytes();
        let mut out = String::with_capacity(msg.len());
        let mut i = 0;
        while i < b.len() {
            let starts = i == 0 || !is_name_byte(b[i - 1]);
            if starts && is_name_byte(b[i]) {
                let name = name_at(b, i);
                if !name.is_empty() && self.known.contains(name) {
                    out.push_str("<name>");
                    i += name.len();
                    // `NAME (8)`: the number beside a domain's name is its domid.
                    let digits = b
                        .get(i + 2..)
                        .map_or(0, |r| r.iter().take_while(|c| c.is_ascii_digit()).count());
                    if b.get(i..i + 2) == Some(b" (")
                        && digits > 0
                        && b.get(i + 2 + digits) == Some(&b')')
                    {
                        out.push_str(" (<domid>)");
                        i += 3 + digits;
                    }
                    continue;
                }
                // Not a name: copy the whole word (ASCII by construction).
                let n = b[i..].iter().take_while(|&&c| is_name_byte(c)).count();
                out.push_str(&msg[i..i + n]);
                i += n;
                continue;
            }
            let ch = msg[i..].chars().next().unwrap_or('\u{fffd}');
            out.push(ch);
            i += ch.len_utf8().max(1);
        }
        out
    }
}

fn is_name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'+')
}

/// The name starting at `i`: letters, digits, `-`, `_`, `.`, `+` (not a
/// sentence's closing dot).
fn name_at(b: &[u8], i: usize) -> &str {
    let rest = b.get(i..).unwrap_or_default();
    let n = rest.iter().take_while(|&&c| is_name_byte(c)).count();
    let n = n - rest[..n].iter().rev().take_while(|&&c| c == b'.').count();
    std::str::from_utf8(&rest[..n]).unwrap_or_default()
}

/// A message with its times, pids, domids, uuids and the domain names it
/// itself names replaced by placeholders (see [`Names::normalize`]).
pub fn normalize(msg: &str) -> String {
    Names::default().normalize(msg)
}

/// A message with its times, pids, domids, uuids and heap addresses
/// replaced by `<time>`, `<pid>`, `<domid>`, `<uuid>` and `<addr>`.
fn normalize_ids(msg: &str) -> String {
    let b = msg.as_bytes();
    let mut out = String::with_capacity(msg.len());
    let mut i = 0;
    while i < b.len() {
        if let Some(n) = uuid_at(b, i) {
            out.push_str("<uuid>");
            i += n;
            continue;
        }
        if let Some(n) = time_at(b, i) {
            out.push_str("<time>");
            i += n;
            continue;
        }
        // A number starts a word, or follows Xen's `d` of `:d8 ` / `(d8)`.
        let starts = i == 0
            || !b[i - 1].is_ascii_alphanumeric()
            || out.ends_with(":d")
            || out.ends_with("(d");
        // A heap address (libxl's `ao 0x1325e30`, `w=0x1325708`): one
        // process's, like a pid. Short hex numbers (`0xb004`, a frame's
        // `+0x1a/0x30`) are values, kept.
        if starts && b[i] == b'0' && b.get(i + 1) == Some(&b'x') {
            let n = b[i + 2..]
                .iter()
                .take_while(|c| c.is_ascii_hexdigit())
                .count();
            let ends = !b.get(i + 2 + n).is_some_and(|c| c.is_ascii_alphanumeric());
            if n >= 6 && ends {
                out.push_str("<addr>");
                i += 2 + n;
                continue;
            }
        }
        if b[i].is_ascii_digit() && starts {
            let n = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            let after_alnum = b.get(i + n).is_some_and(|c| c.is_ascii_alphabetic());
            if !after_alnum {
                if let Some(tag) = number_kind(&out, b, i, n) {
                    out.push_str(tag);
                    i += n;
                    continue;
                }
            }
            out.push_str(&msg[i..i + n]);
            i += n;
            continue;
        }
        let ch = msg[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8().max(1);
    }
    out
}

/// The domain a message is about: the first number in it that stands for
/// a domid (`domid=8`, `Domain 8:` of libxl's `LOGD`, `(domid 8)`, Xen's
/// `:d8 ` and `d8v0`, `/local/domain/8`, `backend/vif/8/`), skipping the
/// `0` of dom0's `/local/domain/0/backend/…`, which names the backend.
pub fn domid_of(msg: &str) -> Option<u32> {
    let b = msg.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let n = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        let before = &msg[..i];
        let word_start = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        // `d8v0`: a vcpu of domain 8, as Xen names it.
        let vcpu = i >= 1
            && b[i - 1] == b'd'
            && (i == 1 || !b[i - 2].is_ascii_alphanumeric())
            && b.get(i + n) == Some(&b'v');
        let after_alpha = b.get(i + n).is_some_and(|c| c.is_ascii_alphabetic());
        let tagged = (word_start || before.ends_with(":d") || before.ends_with("(d"))
            && !after_alpha
            && number_kind(before, b, i, n) == Some("<domid>");
        if vcpu || tagged {
            let backend0 = &msg[i..i + n] == "0" && msg[i + n..].starts_with("/backend");
            if !backend0 {
                return msg[i..i + n].parse().ok();
            }
        }
        i += n;
    }
    None
}

fn number_kind(before: &str, b: &[u8], i: usize, n: usize) -> Option<&'static str> {
    if DOMID_BEFORE.iter().any(|w| before.ends_with(w)) || backend_path(before) {
        return Some("<domid>");
    }
    if PID_BEFORE.iter().any(|w| before.ends_with(w)) {
        return Some("<pid>");
    }
    // `systemd-journald[303]:`: a process tag.
    let tag = before.ends_with('[')
        && before[..before.len() - 1]
            .ends_with(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && b.get(i + n) == Some(&b']');
    tag.then_some("<pid>")
}

/// `backend/vif/` or `device/vbd/`: the next number is a domid.
fn backend_path(before: &str) -> bool {
    let Some(rest) = before.strip_suffix('/') else {
        return false;
    };
    let Some((head, class)) = rest.rsplit_once('/') else {
        return false;
    };
    !class.is_empty()
        && class.bytes().all(|c| c.is_ascii_alphanumeric())
        && head.ends_with("backend")
}

/// `127d0d24-c417-4953-baff-8a5f32205721` at `i`.
fn uuid_at(b: &[u8], i: usize) -> Option<usize> {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    if i > 0 && b[i - 1].is_ascii_hexdigit() {
        return None;
    }
    let mut at = i;
    for (k, g) in GROUPS.iter().enumerate() {
        let s = b.get(at..at + g)?;
        if !s.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        at += g;
        if k < 4 {
            if b.get(at) != Some(&b'-') {
                return None;
            }
            at += 1;
        }
    }
    (!b.get(at).is_some_and(u8::is_ascii_hexdigit)).then_some(at - i)
}

/// `09:23:27` (with an optional date before it) or `1559726607.00`-style
/// epoch seconds, at `i`.
fn time_at(b: &[u8], i: usize) -> Option<usize> {
    if i > 0 && b[i - 1].is_ascii_digit() {
        return None;
    }
    let digits = |at: usize, n: usize| {
        b.get(at..at + n)
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    if digits(i, 2)
        && b.get(i + 2) == Some(&b':')
        && digits(i + 3, 2)
        && b.get(i + 5) == Some(&b':')
        && digits(i + 6, 2)
    {
        return Some(8);
    }
    if digits(i, 4)
        && b.get(i + 4) == Some(&b'-')
        && digits(i + 5, 2)
        && b.get(i + 7) == Some(&b'-')
        && digits(i + 8, 2)
    {
        return Some(10);
    }
    // Epoch seconds with a fraction (xend's start_time).
    let n = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 10 && b.get(i + n) == Some(&b'.') {
        let f = b[i + n + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if f > 0 {
            return Some(n + 1 + f);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{normalize, Names};

    #[test]
    fn a_domains_name_is_learned_where_it_is_named_and_normalised_after() {
        let mut n = Names::default();
        assert_eq!(
            n.normalize("Domain ubuntu-kdump (8) unpaused."),
            "Domain <name> (<domid>) unpaused."
        );
        assert_eq!(
            n.normalize("Storing VM details: {'name': 'ubuntu-kdump', 'vcpus': '2'}"),
            "Storing VM details: {'name': '<name>', 'vcpus': '2'}"
        );
        // Learned, the name is normalised wherever it stands alone.
        assert_eq!(
            n.normalize("Destroying ubuntu-kdump now; ubuntu-kdump2 stays"),
            "Destroying <name> now; ubuntu-kdump2 stays"
        );
        // Numbers are domids, and Domain-0 is always there.
        assert_eq!(
            n.normalize("Domain 0 (Domain-0) and Domain-0 (0)"),
            "Domain <domid> (Domain-0) and Domain-0 (0)"
        );
    }

    #[test]
    fn heap_addresses_are_normalised_and_short_hex_values_kept() {
        let w = normalize("watch w=0x1325708 wpath=@releaseDomain token=3/0: register");
        assert!(w.starts_with("watch w=<addr> wpath=@releaseDomain"), "{w}");
        assert_eq!(normalize("ao 0x13259c0: create:"), "ao <addr>: create:");
        // PM1a_CNT's port, a frame's offsets, a short reason code: values.
        assert_eq!(
            normalize("write 0x2005 to 0xb004"),
            "write 0x2005 to 0xb004"
        );
        assert_eq!(normalize("do_domctl+0x1a5/0x2b0"), "do_domctl+0x1a5/0x2b0");
        assert!(normalize("reason code 0 0x0").ends_with(" 0x0"));
    }

    #[test]
    fn a_message_names_its_domain() {
        use super::domid_of;
        for (msg, want) in [
            ("XendDomainInfo.destroy: domid=8", Some(8)),
            (
                "Domain has shutdown: name=ubuntu-kdump id=8 reason=poweroff.",
                Some(8),
            ),
            ("Domain 12:Device Model already exited", Some(12)),
            ("hvm.c:1345:d8 All CPUs offline -- powering off.", Some(8)),
            (
                "d8v0 Triple fault - invoking HVM shutdown action 1",
                Some(8),
            ),
            (
                "hotplugStatusCallback /local/domain/0/backend/vif/8/0/hotplug-status.",
                Some(8),
            ),
            ("Removing vbd/51712", None),
            ("Domain 0 (Domain-0) running", Some(0)),
        ] {
            assert_eq!(domid_of(msg), want, "{msg}");
        }
    }

    #[test]
    fn times_pids_domids_and_uuids_become_placeholders() {
        assert_eq!(
            normalize("Domain has shutdown: name=ubuntu-kdump id=8 reason=poweroff."),
            "Domain has shutdown: name=<name> id=<domid> reason=poweroff."
        );
        assert_eq!(
            normalize("Issued domain 8 poweroff"),
            "Issued domain <domid> poweroff"
        );
        assert_eq!(
            normalize("hotplugStatusCallback /local/domain/0/backend/vif/8/0/hotplug-status."),
            "hotplugStatusCallback /local/domain/<domid>/backend/vif/<domid>/0/hotplug-status."
        );
        assert_eq!(
            normalize("device model pid: 6259"),
            "device model pid: <pid>"
        );
        assert_eq!(
            normalize("systemd-journald[303]: Received SIGTERM"),
            "systemd-journald[<pid>]: Received SIGTERM"
        );
        assert_eq!(
            normalize("Guest uuid = 127d0d24-c417-4953-baff-8a5f32205721 at 09:23:27"),
            "Guest uuid = <uuid> at <time>"
        );
        // Device ids and sizes are what happened, not who or when.
        assert_eq!(normalize("Removing vbd/51712"), "Removing vbd/51712");
        assert_eq!(
            normalize("hvm.c:1345:d8 All CPUs offline"),
            "hvm.c:1345:d<domid> All CPUs offline"
        );
    }
}
