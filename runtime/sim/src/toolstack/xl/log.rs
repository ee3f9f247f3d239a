//! What an xl process writes: libxl's messages through xentoollog's stdio
//! logger on stderr (`libxl: <level>: <file>:<line>:<function>: <message>`,
//! libxl_internal.c:173-201, xtl_logger_stdio.c:46-85), xl's own `LOG` lines
//! (the message alone, xl_cmdimpl.c:340-356) and its `fprintf`s. A command's
//! stdout and stderr are the terminal (kept for `xl.output()`); the monitor's
//! are `/var/log/xen/xl-<name>.log` after `do_daemonize`.

use crate::Sim;

use super::lines::L;

/// xentoollog's levels (xentoollog.h), lowest first.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Level {
    /// `debug`: shown from `xl -vvv`.
    Debug = 1,
    /// `verbose`: from `-vv`.
    Verbose,
    /// `detail`: from `-v`.
    Detail,
    /// `progress`: xl's default threshold.
    Progress,
    /// `info`.
    Info,
    /// `notice`.
    Notice,
    /// `warning`.
    Warn,
    /// `error`.
    Error,
    /// `critical`.
    Critical,
}

impl Level {
    /// `xtl_level_to_string`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Verbose => "verbose",
            Level::Detail => "detail",
            Level::Progress => "progress",
            Level::Info => "info",
            Level::Notice => "notice",
            Level::Warn => "warning",
            Level::Error => "error",
            Level::Critical => "critical",
        }
    }

    /// xl's threshold for `-v` given `n` times (xl.c:52, 297-299).
    pub fn threshold(verbose: u8) -> Level {
        match verbose {
            0 => Level::Progress,
            1 => Level::Detail,
            2 => Level::Verbose,
            _ => Level::Debug,
        }
    }
}

/// Where a process's stdout and stderr go.
#[derive(Clone, Debug, PartialEq)]
pub enum Out {
    /// The terminal of the user who ran the command.
    Terminal,
    /// A log file (`xl-<name>.log`), once daemonised.
    File(String),
}

/// Writes text to the process's stdout/stderr (both are one stream here:
/// the terminal, or the log file they were both dup2'd onto).
pub fn write(sim: &Sim, pid: u32, text: &str) {
    let out = match sim.xl.borrow().proc(pid) {
        Some(p) => p.out.clone(),
        None => return,
    };
    match out {
        Out::Terminal => {
            if let Some(p) = sim.xl.borrow_mut().proc_mut(pid) {
                p.terminal.push_str(text);
            }
        }
        Out::File(name) => {
            if sim.logs.borrow().discards() {
                return;
            }
            // The probe call whose code wrote the line (when recorded).
            let call = crate::logs::origin(sim);
            sim.logs.borrow_mut().file(&name).write_from(call, text)
        }
    }
}

/// `fprintf(stderr, ...)` / `printf(...)` of one line.
pub fn eprint(sim: &Sim, pid: u32, line: &str) {
    write(sim, pid, &format!("{line}\n"));
}

/// xl's `LOG(...)`: the message alone, to `logfile` (stderr, or the log
/// file once daemonised — the same stream here).
pub fn xl_log(sim: &Sim, pid: u32, msg: &str) {
    eprint(sim, pid, msg);
}

/// `LIBXL__LOG` at a source line: printed if at or above the process's
/// threshold.
pub fn libxl_log(sim: &Sim, pid: u32, level: Level, at: L, msg: &str) {
    log_errno(sim, pid, level, at, msg, None);
}

/// `LIBXL__LOG_ERRNO`/`LOGE`: the message, then `: <strerror(errno)>`.
pub fn log_errno(sim: &Sim, pid: u32, level: Level, at: L, msg: &str, errno: Option<&str>) {
    let shown = match sim.xl.borrow().proc(pid) {
        Some(p) => level >= p.min_level,
        None => false,
    };
    if !shown {
        return;
    }
    let loc = at.loc();
    let tail = errno.map(|e| format!(": {e}")).unwrap_or_default();
    eprint(
        sim,
        pid,
        &format!(
            "libxl: {}: {}:{}:{}: {msg}{tail}",
            level.name(),
            loc.file,
            loc.line,
            loc.func
        ),
    );
}

/// `%p` of a pointer (glibc prints NULL as `(nil)`).
pub fn ptr(p: u64) -> String {
    if p == 0 {
        "(nil)".into()
    } else {
        format!("{p:#x}")
    }
}
