//! `--domain`, `--since`, `--until`, `--level`: which records a command
//! shows. A record is kept or dropped whole, continuation lines with it,
//! and the decision is made on its first line: its stamp, its level, the
//! domain it names (`events::domid_of`; a guest's `(d8)` on the Xen
//! console; in qemu-dm's log, which names its domain once at the top as
//! `domid: 8`, that domain for every line after).

use crate::format::{Format, Level};
use crate::time::{self, When};

/// A domain, by domid or by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Domain {
    /// `--domain 8`.
    Id(u32),
    /// `--domain ubuntu-kdump`: records whose first line names it.
    Name(String),
}

/// What to keep.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only records about this domain.
    pub domain: Option<Domain>,
    /// Only records at or after this wall time (ns since the epoch, local).
    pub since: Option<i64>,
    /// Only records at or before this wall time.
    pub until: Option<i64>,
    /// Only records of this level or above.
    pub level: Option<Level>,
    /// The domain of the qemu-dm log being read.
    qemu_domid: Option<u32>,
}

/// A record's first line, as the filter sees it.
pub struct Head<'a> {
    /// Format.
    pub format: Format,
    /// Time as written.
    pub time: Option<&'a [u8]>,
    /// Level.
    pub level: Option<Level>,
    /// Module (a guest's `d8` on the Xen console).
    pub module: Option<&'a [u8]>,
    /// The first line's message.
    pub message: &'a [u8],
}

impl Filter {
    /// Reads the flags' values; an error names the flag.
    pub fn new(
        domain: Option<&str>,
        since: Option<&str>,
        until: Option<&str>,
        level: Option<&str>,
    ) -> Result<Filter, String> {
        let wall = |flag: &str, s: &str| match time::parse(s.as_bytes()) {
            Some(When::Wall { ns, .. }) => Ok(ns),
            _ => Err(format!(
                "{flag} {s:?}: expected a time YYYY-MM-DDTHH:MM:SS[.frac] (the logs' local time)"
            )),
        };
        let level = match level {
            None => None,
            Some(l) => Some(
                Level::from_python(l.to_ascii_uppercase().as_bytes())
                    .or_else(|| Level::from_xl(l.to_ascii_lowercase().as_bytes()))
                    .ok_or_else(|| {
                        format!("--level {l:?}: expected debug, info, notice, warning, error or critical")
                    })?,
            ),
        };
        Ok(Filter {
            domain: domain.map(|d| match d.parse() {
                Ok(n) => Domain::Id(n),
                Err(_) => Domain::Name(d.to_string()),
            }),
            since: since.map(|s| wall("--since", s)).transpose()?,
            until: until.map(|s| wall("--until", s)).transpose()?,
            level,
            qemu_domid: None,
        })
    }

    /// Keeps everything.
    pub fn is_empty(&self) -> bool {
        self.domain.is_none()
            && self.since.is_none()
            && self.until.is_none()
            && self.level.is_none()
    }

    /// Starts a new file (qemu-dm's domain is per file).
    pub fn new_file(&mut self) {
        self.qemu_domid = None;
    }

    /// Is the record whose first line is `h` kept?
    pub fn keep(&mut self, h: &Head<'_>) -> bool {
        let msg = String::from_utf8_lossy(h.message);
        let mut domid = None;
        if h.format == Format::XenConsole {
            domid = h
                .module
                .and_then(|m| m.strip_prefix(b"d"))
                .and_then(|d| std::str::from_utf8(d).ok())
                .and_then(|d| d.parse().ok());
        }
        if domid.is_none() {
            domid = crate::events::domid_of(&msg);
        }
        if h.format == Format::QemuDm {
            if msg.starts_with("domid: ") {
                self.qemu_domid = domid;
            }
            domid = domid.or(self.qemu_domid);
        }
        if self.is_empty() {
            return true;
        }
        let when = h.time.and_then(time::parse);
        self.keep_placed(
            domid,
            &msg,
            h.level,
            when.and_then(|w| self.place(w)),
            when.is_some(),
        )
    }

    /// Is a record with these fields kept? `at` is its wall time, if known;
    /// `timed` whether it has a stamp at all.
    pub fn keep_placed(
        &self,
        domid: Option<u32>,
        msg: &str,
        level: Option<Level>,
        at: Option<i64>,
        timed: bool,
    ) -> bool {
        let domain_ok = match &self.domain {
            None => true,
            Some(Domain::Id(d)) => domid == Some(*d),
            Some(Domain::Name(n)) => names(msg, n),
        };
        let level_ok = self.level.is_none_or(|min| level.is_some_and(|l| l >= min));
        let time_ok = (self.since.is_none() && self.until.is_none())
            || (timed
                && at.is_some_and(|t| {
                    self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u)
                }));
        domain_ok && level_ok && time_ok
    }

    /// A stamp on the wall clock: a year-less syslog stamp in the year of
    /// the bound it is compared with; an uptime not at all.
    fn place(&self, w: When) -> Option<i64> {
        let year = self
            .since
            .or(self.until)
            .map(|ns| time::civil_from_days(ns.div_euclid(86_400 * 1_000_000_000)).0 as i32);
        w.place(year, None)
    }
}

/// `msg` mentions `name` as a whole word.
fn names(msg: &str, name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+');
    msg.match_indices(name)
        .any(|(i, _)| !msg[..i].ends_with(word) && !msg[i + name.len()..].starts_with(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head<'a>(format: Format, time: &'a str, level: Option<Level>, msg: &'a str) -> Head<'a> {
        Head {
            format,
            time: Some(time.as_bytes()),
            level,
            module: None,
            message: msg.as_bytes(),
        }
    }

    #[test]
    fn records_are_kept_by_domain_time_and_level() {
        let mut f =
            Filter::new(Some("8"), Some("2019-06-05T09:23:28"), None, Some("info")).unwrap();
        let t = "2019-06-05 09:23:28";
        assert!(f.keep(&head(
            Format::Xend,
            t,
            Some(Level::Info),
            "destroy: domid=8"
        )));
        assert!(!f.keep(&head(
            Format::Xend,
            t,
            Some(Level::Debug),
            "destroy: domid=8"
        )));
        assert!(!f.keep(&head(
            Format::Xend,
            t,
            Some(Level::Info),
            "destroy: domid=9"
        )));
        assert!(!f.keep(&head(
            Format::Xend,
            "2019-06-05 09:23:27",
            Some(Level::Info),
            "domid=8"
        )));
        // A syslog stamp takes the bound's year.
        assert!(f.keep(&head(
            Format::Journal,
            "Jun  5 09:23:29",
            Some(Level::Info),
            "Domain 8:gone"
        )));
        let mut q = Filter::new(Some("8"), None, None, None).unwrap();
        assert!(q.keep(&head(Format::QemuDm, "", None, "domid: 8")));
        assert!(q.keep(&head(
            Format::QemuDm,
            "",
            None,
            "shutdown requested in cpu_handle_ioreq"
        )));
        let mut n = Filter::new(Some("ubuntu-kdump"), None, None, None).unwrap();
        assert!(n.keep(&head(
            Format::Xend,
            t,
            None,
            "Domain ubuntu-kdump (8) unpaused."
        )));
        assert!(!n.keep(&head(
            Format::Xend,
            t,
            None,
            "Domain ubuntu-kdump2 (9) unpaused."
        )));
        assert!(Filter::new(None, Some("yesterday"), None, None).is_err());
        assert!(Filter::new(None, None, None, Some("loud")).is_err());
    }
}
