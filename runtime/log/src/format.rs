//! What a line is: the log format it belongs to, its level, its kind, and
//! the format a whole file is presumed to be (from its name and first lines).

/// The log a line comes from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// `/var/log/xen/xend.log` (also xend-debug.log and xend's stderr form).
    Xend,
    /// `/var/log/xen/qemu-dm-<name>.log`.
    QemuDm,
    /// The hypervisor's console: `xm dmesg`, `xl dmesg`, a serial capture.
    XenConsole,
    /// xl and libxl: `xl-<name>.log`, `libxl: error: ...`.
    Xl,
    /// A guest's or dom0's Linux console (printk lines, init's status lines).
    LinuxConsole,
    /// syslog / journalctl lines of a guest or of dom0.
    Journal,
    /// Nothing recognisable.
    Unknown,
}

impl Format {
    /// Every format, in display order.
    pub const ALL: [Format; 7] = [
        Format::Xend,
        Format::QemuDm,
        Format::XenConsole,
        Format::Xl,
        Format::LinuxConsole,
        Format::Journal,
        Format::Unknown,
    ];

    /// The name in JSON and reports.
    pub fn name(self) -> &'static str {
        match self {
            Format::Xend => "xend",
            Format::QemuDm => "qemu-dm",
            Format::XenConsole => "xen-console",
            Format::Xl => "xl",
            Format::LinuxConsole => "linux-console",
            Format::Journal => "journal",
            Format::Unknown => "unknown",
        }
    }

    /// The format of a name.
    pub fn from_name(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == s)
    }

    /// The format a file's name says it is, if it says (through the
    /// suffixes of a copy, [`log_name`]).
    pub fn from_file_name(path: &str) -> Option<Format> {
        let b = log_name(path).to_ascii_lowercase();
        if b.starts_with("qemu-dm") || b.starts_with("qemu-") {
            Some(Format::QemuDm)
        } else if b.starts_with("xend") {
            Some(Format::Xend)
        } else if b.starts_with("xl-") || b.starts_with("xl.") || b.starts_with("libxl") {
            Some(Format::Xl)
        } else if b.starts_with("console-") || b.starts_with("guest-") || b.starts_with("kmsg") {
            Some(Format::LinuxConsole)
        } else if b.starts_with("messages") || b.starts_with("syslog") || b.starts_with("journal") {
            Some(Format::Journal)
        } else if b.starts_with("xen.log")
            || b.starts_with("xen-console")
            || b.starts_with("hypervisor")
            || b.starts_with("xen-dmesg")
        {
            Some(Format::XenConsole)
        } else {
            None
        }
    }
}

/// The name a log file had on its host: `path`'s last component without
/// the suffixes its copies and rotations add — logrotate's `.1`, `.2`, ...,
/// and a copy's `.mail`, `.eml`, `.forum` or `.txt` (what the copy went
/// through), in any order and number: `qemu-dm-web.log.1.mail` was
/// `qemu-dm-web.log`.
pub fn log_name(path: &str) -> &str {
    const COPY: [&str; 4] = ["mail", "eml", "forum", "txt"];
    let mut name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    while let Some((stem, ext)) = name.rsplit_once('.') {
        let rotated = !ext.is_empty() && ext.bytes().all(|c| c.is_ascii_digit());
        let copied = COPY.iter().any(|c| ext.eq_ignore_ascii_case(c));
        if stem.is_empty() || !(rotated || copied) {
            break;
        }
        name = stem;
    }
    name
}

/// A record's level, across formats (xend's Python names, printk's eight,
/// libxl's lower-case ones).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// xend's `TRACE` (DEBUG-1).
    Trace,
    /// `DEBUG`, printk 7, libxl `debug`.
    Debug,
    /// libxl `verbose`.
    Verbose,
    /// libxl `detail`.
    Detail,
    /// libxl `progress`.
    Progress,
    /// `INFO`, printk 6, systemd `[  OK  ]`.
    Info,
    /// printk 5, libxl `notice`.
    Notice,
    /// `WARNING`, printk 4.
    Warning,
    /// `ERROR`, printk 3, systemd `[FAILED]`.
    Error,
    /// `CRITICAL`, printk 2.
    Critical,
    /// printk 1.
    Alert,
    /// printk 0.
    Emerg,
}

impl Level {
    /// The name in JSON and reports.
    pub fn name(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Verbose => "VERBOSE",
            Level::Detail => "DETAIL",
            Level::Progress => "PROGRESS",
            Level::Info => "INFO",
            Level::Notice => "NOTICE",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
            Level::Critical => "CRITICAL",
            Level::Alert => "ALERT",
            Level::Emerg => "EMERG",
        }
    }

    /// Every level, in order.
    pub const ALL: [Level; 12] = [
        Level::Trace,
        Level::Debug,
        Level::Verbose,
        Level::Detail,
        Level::Progress,
        Level::Info,
        Level::Notice,
        Level::Warning,
        Level::Error,
        Level::Critical,
        Level::Alert,
        Level::Emerg,
    ];

    /// A Python logging level name (`WARN` and `FATAL` are its aliases).
    pub fn from_python(s: &[u8]) -> Option<Level> {
        Some(match s {
            b"TRACE" => Level::Trace,
            b"DEBUG" => Level::Debug,
            b"INFO" => Level::Info,
            b"WARNING" | b"WARN" => Level::Warning,
            b"ERROR" => Level::Error,
            b"CRITICAL" | b"FATAL" => Level::Critical,
            _ => return None,
        })
    }

    /// libxl's level word (without its colon).
    pub fn from_xl(s: &[u8]) -> Option<Level> {
        Some(match s {
            b"debug" => Level::Debug,
            b"verbose" => Level::Verbose,
            b"detail" => Level::Detail,
            b"progress" => Level::Progress,
            b"info" => Level::Info,
            b"notice" => Level::Notice,
            b"warning" => Level::Warning,
            b"error" => Level::Error,
            b"critical" => Level::Critical,
            _ => return None,
        })
    }

    /// A printk level digit.
    pub fn from_printk(n: u8) -> Level {
        match n {
            0 => Level::Emerg,
            1 => Level::Alert,
            2 => Level::Critical,
            3 => Level::Error,
            4 => Level::Warning,
            5 => Level::Notice,
            6 => Level::Info,
            _ => Level::Debug,
        }
    }
}

/// What a line is within its record.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// The first line of a record: a message with its own prefix.
    Record,
    /// A further line of a multi-line message (a dict or SXP dump, a
    /// `format_stack()` listing, text after a newline).
    Continuation,
    /// A line of a Python traceback.
    Traceback,
    /// `Xen call trace:`, `Call Trace:`, `Call trace:`.
    CallTrace,
    /// One frame of a call trace (x86 or arm64, with or without address).
    Frame,
    /// A line of a register dump (`rax: ...`, `RIP: ...`, `x29: ...`).
    Registers,
    /// `Xen stack trace from rsp=...:` and the raw stack words after it.
    Stack,
    /// A panic or oops banner or footer.
    Panic,
    /// An init status line: `[  OK  ] Stopped ...`, `         Stopping ...`.
    Status,
    /// A journal marker: `-- Logs begin at ...`, `-- Reboot --`.
    Marker,
    /// An empty line (or an empty console line: `(XEN) `).
    Blank,
    /// A line holding only forum markup (`[code]`, `[/quote]`).
    Markup,
    /// Text that belongs to no record (before the first record of a file).
    Unparsed,
}

impl Kind {
    /// The name in JSON and reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Record => "record",
            Kind::Continuation => "continuation",
            Kind::Traceback => "traceback",
            Kind::CallTrace => "call-trace",
            Kind::Frame => "frame",
            Kind::Registers => "registers",
            Kind::Stack => "stack",
            Kind::Panic => "panic",
            Kind::Status => "status",
            Kind::Marker => "marker",
            Kind::Blank => "blank",
            Kind::Markup => "markup",
            Kind::Unparsed => "unparsed",
        }
    }

    /// Part of a dump (register dump, stack, call trace, panic footer): such
    /// lines continue the dump's record rather than start their own.
    pub fn in_dump(self) -> bool {
        matches!(
            self,
            Kind::Frame | Kind::Registers | Kind::Stack | Kind::CallTrace | Kind::Panic
        )
    }
}

/// Guesses a file's format from its first lines: the format most of its
/// prefixed lines have, or qemu-dm when its lines are qemu-dm's known
/// phrases (its log has no prefix at all).
pub fn sniff(first_lines: &[&[u8]]) -> Format {
    let mut votes = [0usize; 7];
    for l in first_lines {
        let h = crate::line::scan(l, &mut crate::lexer::NoTokens);
        match h.format {
            Some(f) => votes[f as usize] += 1,
            None if crate::body::is_qemu_phrase(l) => votes[Format::QemuDm as usize] += 1,
            None => {}
        }
    }
    let (i, n) = votes
        .iter()
        .enumerate()
        .max_by_key(|(i, n)| (**n, std::cmp::Reverse(*i)))
        .unwrap_or((6, &0));
    if *n == 0 {
        Format::Unknown
    } else {
        Format::ALL[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copys_and_a_rotations_suffixes_are_seen_through() {
        for (path, name) in [
            ("qemu-dm-x.log.mail", "qemu-dm-x.log"),
            ("/tmp/xend.log.1.forum", "xend.log"),
            ("xend.log.1", "xend.log"),
            ("xend.log.1.mail", "xend.log"),
            ("xl-web.log.forum.2", "xl-web.log"),
            ("C:\\logs\\xen.log.TXT", "xen.log"),
            ("xend.log.eml", "xend.log"),
            // Not a copy's suffix: kept.
            ("xend.log.gz", "xend.log.gz"),
            ("qemu-dm-web.log", "qemu-dm-web.log"),
            // A name that is only a suffix stays what it is.
            (".mail", ".mail"),
            ("1", "1"),
        ] {
            assert_eq!(log_name(path), name, "{path}");
        }
    }

    #[test]
    fn a_damaged_or_rotated_copy_is_the_format_of_its_log() {
        for (path, f) in [
            ("qemu-dm-x.log.mail", Format::QemuDm),
            ("xend.log.1.forum", Format::Xend),
            ("xend.log.1", Format::Xend),
            ("xl-web.log.1.mail", Format::Xl),
            ("xen.log.forum", Format::XenConsole),
            ("console-web.log.2.txt", Format::LinuxConsole),
            ("messages.1.mail", Format::Journal),
        ] {
            assert_eq!(Format::from_file_name(path), Some(f), "{path}");
        }
        assert_eq!(Format::from_file_name("notes.mail"), None);
    }
}
