//! Log sinks, one per output file a real host would have: `xend.log`,
//! `qemu-dm-<name>.log`, `console-<name>.log` and the Xen console
//! (`xen.log`). Each sink keeps its text in memory (what `xend.log()`
//! returns) and can also stream to a file as lines are written, so a run
//! that fails part-way has flushed what it wrote.
//!
//! A file comes into existence the way the real one does: when the program
//! that writes it opens it (xend's logging at xend's start, the hypervisor's
//! console at boot, qemu-dm's log when it is spawned), or at its first line.
//! A host that runs xl never starts xend, so it has no `xend.log`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use std::hash::BuildHasherDefault;

use crate::fxhash::FxHasher;

use crate::trace::{CallId, NO_CALL};

/// Which probe call wrote a stretch of a log: every line from `line` (a
/// 0-based index into the sink's lines) up to the next origin's was written
/// by trace call `call` (`NO_CALL`: code outside any probe, or the trace
/// was off). Recorded only when asked (`Logs::record_origins`): it is what
/// ties a line of a model's log back to the function that wrote it, for
/// `xsh logs diagnose` and reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The first line of the write.
    pub line: u64,
    /// The call that wrote it.
    pub call: CallId,
}

/// One output file.
///
/// What is written goes where something can read it: kept in memory (what
/// `xend.log()` returns), streamed to a file (`--log-dir`), or tied to the
/// call that wrote it (origins). A sink nobody reads takes nothing: writers
/// ask `Logs::discards()` first and skip even formatting their line.
#[derive(Default)]
pub struct LogSink {
    text: String,
    keep: bool,
    scratch: String,
    /// Where the sink streams (`--log-dir`): the file is created there
    /// when the sink opens, not before.
    path: Option<PathBuf>,
    out: Option<BufWriter<File>>,
    /// Has the file come into existence (opened by its writer, or a line
    /// written)?
    opened: bool,
    /// Why the file could not be created or written, reported at `flush`:
    /// a failed log write must not stop the model.
    failed: Option<std::io::Error>,
    /// Lines written while anything read them (for origins), up to byte
    /// `counted` of the kept text: a kept line is counted only when a
    /// count is asked for, as most runs never ask.
    lines: u64,
    counted: usize,
    /// Origins of the lines, when recorded.
    origins: Option<Vec<Origin>>,
}

/// The newlines in what a sink is given: one for most lines, found a
/// vector at a time rather than a byte at a time.
fn newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

impl LogSink {
    fn new(keep: bool) -> Self {
        LogSink {
            keep,
            ..Default::default()
        }
    }

    /// Does anything read what is written here?
    pub fn wanted(&self) -> bool {
        self.keep || self.path.is_some() || self.origins.is_some()
    }

    /// The file's writer opens it (as xend's logging opens `xend.log` when
    /// xend starts): from now on it exists, empty until a line comes.
    pub fn open(&mut self) {
        if self.opened {
            return;
        }
        self.opened = true;
        if let Some(p) = self.path.take() {
            if let Err(e) = self.create(&p) {
                self.failed.get_or_insert(e);
            }
            self.path = Some(p);
        }
    }

    /// Has the file come into existence: opened by its writer, or written to?
    pub fn exists(&self) -> bool {
        self.opened
    }

    /// Creates the streamed file with what the sink kept so far.
    fn create(&mut self, path: &Path) -> std::io::Result<()> {
        let mut f = BufWriter::new(File::create(path)?);
        f.write_all(self.text.as_bytes())?;
        self.out = Some(f);
        Ok(())
    }

    /// Appends `text` (which should end in a newline).
    pub fn write(&mut self, text: &str) {
        self.write_from(NO_CALL, text);
    }

    /// Appends `text`, written by trace call `call` (kept only when
    /// origins are recorded).
    pub fn write_from(&mut self, call: CallId, text: &str) {
        if !self.wanted() {
            return;
        }
        if !self.opened {
            self.open();
        }
        if self.origins.is_some() {
            self.count_kept();
            if let Some(o) = &mut self.origins {
                o.push(Origin {
                    line: self.lines,
                    call,
                });
            }
        }
        if self.keep {
            self.text.push_str(text);
        } else {
            self.lines += newlines(text.as_bytes());
        }
        if let Some(o) = &mut self.out {
            if let Err(e) = o.write_all(text.as_bytes()) {
                self.failed.get_or_insert(e);
            }
        }
    }

    /// Keeps (or stops keeping) what is written from now on; what is kept
    /// already stays readable.
    pub fn set_keep(&mut self, keep: bool) {
        self.count_kept();
        self.keep = keep;
    }

    /// Counts the lines kept since the last count.
    fn count_kept(&mut self) {
        if let Some(rest) = self.text.get(self.counted..) {
            self.lines += newlines(rest.as_bytes());
            self.counted = self.text.len();
        }
    }

    /// Appends a formatted line without allocating a `String` for it: the
    /// model writes thousands of lines per scenario.
    pub fn write_fmt(&mut self, args: std::fmt::Arguments<'_>) {
        self.write_fmt_from(NO_CALL, args);
    }

    /// `write_fmt` by trace call `call` (see `write_from`).
    pub fn write_fmt_from(&mut self, call: CallId, args: std::fmt::Arguments<'_>) {
        use std::fmt::Write as _;
        self.write_with(call, |buf| {
            let _ = buf.write_fmt(args);
        });
    }

    /// Appends the line `fill` writes into the sink's buffer (by trace call
    /// `call`, as `write_from`): for a line whose fixed fields its writer
    /// puts down itself, where `format_args!` would go through the
    /// formatter for each of them.
    pub fn write_with(&mut self, call: CallId, fill: impl FnOnce(&mut String)) {
        if !self.wanted() {
            return;
        }
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        fill(&mut buf);
        self.write_from(call, &buf);
        self.scratch = buf;
    }

    /// The origins of the lines written since they were first recorded
    /// (`None` unless `Logs::record_origins` asked for them).
    pub fn origins(&self) -> Option<&[Origin]> {
        self.origins.as_deref()
    }

    /// The call that wrote line `line` (0-based), if origins are recorded.
    pub fn origin_of_line(&self, line: u64) -> Option<CallId> {
        let o = self.origins.as_ref()?;
        let i = o.partition_point(|x| x.line <= line);
        (i > 0).then(|| o[i - 1].call)
    }

    fn set_origins(&mut self, on: bool) {
        match (on, self.origins.is_some()) {
            (true, false) => self.origins = Some(Vec::new()),
            (false, true) => self.origins = None,
            _ => {}
        }
    }

    /// Everything written, if the sink keeps its text.
    pub fn text(&self) -> &str {
        &self.text
    }
    /// Lines written while something read them (all of them, for a sink
    /// kept or streamed from the start).
    pub fn lines(&self) -> u64 {
        let rest = self.text.get(self.counted..).unwrap_or_default();
        self.lines + newlines(rest.as_bytes())
    }

    /// Streams to `path` from now on: a file that exists already is
    /// created there at once, with what was kept; one that does not, when
    /// it opens.
    fn stream_to(&mut self, path: &Path) -> std::io::Result<()> {
        if self.opened {
            self.create(path)?;
        }
        self.path = Some(path.to_path_buf());
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        match &mut self.out {
            Some(o) => o.flush(),
            None => Ok(()),
        }
    }
}

/// What a log line says after the fields its writer puts down itself
/// (xend's record prefix, printk's time): a plain string is copied in as
/// it is, and a `format_args!` goes through the formatter once rather than
/// wrapped in one more `{}` — xend and a guest's console write hundreds of
/// lines a domain.
pub trait Message {
    /// Appends the message to `line`.
    fn put(self, line: &mut String);
}

impl Message for &str {
    fn put(self, line: &mut String) {
        line.push_str(self);
    }
}

impl Message for &String {
    fn put(self, line: &mut String) {
        line.push_str(self);
    }
}

/// A line of fixed words around a name (systemd's `Stopping <unit>...`):
/// its pieces copied in one after another.
impl<const N: usize> Message for [&str; N] {
    fn put(self, line: &mut String) {
        for piece in self {
            line.push_str(piece);
        }
    }
}

impl Message for std::fmt::Arguments<'_> {
    fn put(self, line: &mut String) {
        use std::fmt::Write as _;
        match self.as_str() {
            Some(s) => line.push_str(s),
            None => {
                let _ = line.write_fmt(self);
            }
        }
    }
}

/// What `Logs::mark` measures.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct LogsMark {
    written: usize,
    files: usize,
    rotations: usize,
}

/// All log outputs of a world.
pub struct Logs {
    /// `/var/log/xen/xend.log`.
    pub xend: LogSink,
    /// The Xen console (`xm dmesg`, the serial line).
    pub xen: LogSink,
    /// `qemu-dm-<name>.log`, by file name, in creation order.
    pub files: IndexMap<String, LogSink, BuildHasherDefault<FxHasher>>,
    keep: bool,
    dir: Option<PathBuf>,
    /// How many times each file name was rotated: a writer that opened
    /// `name` when it had been rotated `g` times finds its file, after
    /// later rotations, at `name.(now - g)` (`Logs::generation`).
    rotations: IndexMap<String, usize>,
    /// The last `YYYY-MM-DD HH:MM:SS` stamp made, by its second.
    stamp: (i64, std::rc::Rc<str>),
    origins: bool,
}

impl Default for Logs {
    fn default() -> Self {
        Logs {
            xend: LogSink::new(true),
            xen: LogSink::new(true),
            files: IndexMap::default(),
            keep: true,
            dir: None,
            rotations: IndexMap::new(),
            stamp: (i64::MIN, "".into()),
            origins: false,
        }
    }
}

/// The stamp of `secs` from `last`'s when both fall on the same day: its
/// date is kept and only `HH:MM:SS` written anew.
fn same_day_stamp(last: &(i64, std::rc::Rc<str>), secs: i64) -> Option<String> {
    const DAY: i64 = 86_400;
    let date = last.1.len().checked_sub("HH:MM:SS".len())?;
    if last.0.div_euclid(DAY) != secs.div_euclid(DAY) || date == 0 {
        return None;
    }
    let rem = secs.rem_euclid(DAY);
    let mut text = String::with_capacity(last.1.len());
    text.push_str(&last.1[..date]);
    for (i, v) in [rem / 3600, rem % 3600 / 60, rem % 60]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            text.push(':');
        }
        text.push(char::from(b'0' + (v / 10) as u8));
        text.push(char::from(b'0' + (v % 10) as u8));
    }
    Some(text)
}

impl Logs {
    /// `YYYY-MM-DD HH:MM:SS` of wall-clock second `secs`; most lines of a
    /// scenario share a handful of seconds, so the last one is kept, and
    /// shared with each line that shows it.
    pub fn stamp(&mut self, secs: i64) -> std::rc::Rc<str> {
        if self.stamp.0 != secs {
            let text = match same_day_stamp(&self.stamp, secs) {
                Some(t) => t,
                None => crate::time::format_datetime(secs),
            };
            self.stamp = (secs, text.into());
        }
        self.stamp.1.clone()
    }

    /// Does every sink drop what is written (nothing kept, streamed or
    /// traced)? Writers check this before formatting a line at all.
    pub fn discards(&self) -> bool {
        !self.keep && self.dir.is_none() && !self.origins
    }

    /// Do the sinks keep what is written (for `text()`)?
    pub fn keeps(&self) -> bool {
        self.keep
    }

    /// Stop keeping text in memory (benchmarks): only counts and hashes.
    pub fn set_keep(&mut self, keep: bool) {
        self.keep = keep;
        self.xend.set_keep(keep);
        self.xen.set_keep(keep);
        for s in self.files.values_mut() {
            s.set_keep(keep);
        }
    }

    /// Records which probe call writes each line, in every sink, from now
    /// on (off by default: it costs a little per line).
    pub fn record_origins(&mut self, on: bool) {
        self.origins = on;
        self.xend.set_origins(on);
        self.xen.set_origins(on);
        for s in self.files.values_mut() {
            s.set_origins(on);
        }
    }

    /// Are origins recorded?
    pub fn recording_origins(&self) -> bool {
        self.origins
    }

    /// The sink for a per-domain file (`qemu-dm-ubuntu.log`), opened on
    /// first use: the process that writes it opens it when it starts.
    pub fn file(&mut self, name: &str) -> &mut LogSink {
        // One lookup per line written (files are few, lines many).
        let i = match self.files.get_index_of(name) {
            Some(i) => i,
            None => {
                let mut sink = LogSink::new(self.keep);
                sink.set_origins(self.origins);
                sink.path = self.dir.as_ref().map(|d| d.join(name));
                sink.open();
                self.files.insert_full(name.to_string(), sink).0
            }
        };
        &mut self.files[i]
    }

    /// Where the logs stand: equal marks mean nothing was written, opened
    /// or rotated in between (text is only appended, and a rotation, the
    /// one thing that drops or renames text, is counted), so what was read
    /// from them then still holds.
    pub fn mark(&self) -> LogsMark {
        let written = self.files.values().map(|s| s.text.len()).sum::<usize>()
            + self.xend.text.len()
            + self.xen.text.len();
        LogsMark {
            written,
            files: self.files.len(),
            rotations: self.rotations.values().sum(),
        }
    }

    /// How many times `name` has been rotated so far: a process that
    /// opens `name` now keeps this, to find its own file later.
    pub fn generation(&self, name: &str) -> usize {
        self.rotations.get(name).copied().unwrap_or(0)
    }

    /// The name the file opened as `name` at `generation` has now: `name`
    /// itself, or `name.N` after N rotations since (`None` once rotated
    /// out of the kept ones). Not rotated since, as nearly always, it is
    /// `name` itself, not a copy: qemu-dm asks at every line it writes.
    pub fn name_of_generation<'n>(
        &self,
        name: &'n str,
        generation: usize,
    ) -> Option<std::borrow::Cow<'n, str>> {
        match self.generation(name).checked_sub(generation)? {
            0 => Some(name.into()),
            n => Some(format!("{name}.{n}"))
                .filter(|f| self.files.contains_key(f))
                .map(Into::into),
        }
    }

    /// Renames a file the way a log rotation does (`x.log` → `x.log.1`, ...).
    ///
    /// Only this run's own files move, on disk as in memory: a numbered
    /// file that an earlier run left in `--log-dir` is not this run's to
    /// shift, or the same script and seed would leave a different folder
    /// each time it is reused. A file this run rotates onto such a name
    /// replaces it.
    pub fn rotate(&mut self, name: &str, keep_count: usize) {
        if !self.files.contains_key(name) || keep_count == 0 {
            return;
        }
        let mut moved = Vec::new();
        for i in (1..keep_count).rev() {
            let (from, to) = (format!("{name}.{i}"), format!("{name}.{}", i + 1));
            if let Some(s) = self.files.shift_remove(&from) {
                self.files.insert(to.clone(), s);
                moved.push((from, to));
            }
        }
        if let Some(s) = self.files.shift_remove(name) {
            *self.rotations.entry(name.to_string()).or_insert(0) += 1;
            let to = format!("{name}.1");
            self.files.insert(to.clone(), s);
            moved.push((name.to_string(), to));
        }
        if let Some(d) = &self.dir {
            // Oldest first, as above, so no rename lands on a file that
            // has yet to move. A streamed sink's open file follows it.
            for (from, to) in moved {
                let _ = std::fs::rename(d.join(from), d.join(to));
            }
        }
    }

    /// Writes every log, so far and from now on, into `dir`: the files
    /// that exist now at once, the others when they open.
    pub fn stream_to_dir(&mut self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        self.xend.stream_to(&dir.join("xend.log"))?;
        self.xen.stream_to(&dir.join("xen.log"))?;
        for (name, s) in self.files.iter_mut() {
            s.stream_to(&dir.join(name))?;
        }
        self.dir = Some(dir.to_path_buf());
        Ok(())
    }

    /// Flushes streamed files.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.xend.flush()?;
        self.xen.flush()?;
        for s in self.files.values_mut() {
            s.flush()?;
        }
        Ok(())
    }
}

/// The trace call a log line written now comes from: the innermost frame
/// of the running context — the modelled function whose code is writing.
/// `NO_CALL` unless origins are recorded (so writers pay one flag check).
pub fn origin(sim: &crate::Sim) -> CallId {
    if !sim.logs.borrow().origins {
        return NO_CALL;
    }
    let ctx = sim.current_ctx();
    let ctxs = sim.ctxs.borrow();
    ctxs.get(ctx).stack.last().map_or(NO_CALL, |f| f.rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mark moves with anything that changes what the logs hold (a line,
    /// a new file, a rotation, even one that leaves the byte count as it
    /// was) and with nothing else.
    #[test]
    fn a_mark_moves_when_the_logs_change() {
        let mut logs = Logs::default();
        let start = logs.mark();
        assert_eq!(logs.mark(), start, "nothing written");
        logs.xend.write("[xend] one\n");
        let after_xend = logs.mark();
        assert_ne!(after_xend, start);
        logs.file("qemu-dm-a.log");
        let opened = logs.mark();
        assert_ne!(opened, after_xend, "a new file, empty");
        logs.file("qemu-dm-a.log").write("domid: 1\n");
        let written = logs.mark();
        assert_ne!(written, opened);
        logs.file("qemu-dm-a.log")
            .write_with(NO_CALL, |l| l.push_str("x\n"));
        assert_ne!(logs.mark(), written, "a line put down by its writer");
        let before = logs.mark();
        logs.rotate("qemu-dm-a.log", 1);
        assert_ne!(logs.mark(), before, "the same bytes under another name");
        let rotated = logs.mark();
        assert_eq!(logs.mark(), rotated);
        logs.rotate("no-such.log", 3);
        assert_eq!(logs.mark(), rotated, "rotating a file that is not there");
    }

    /// A sink's line count is the newlines it was given, however they
    /// fall: none, one at the end, several, far into a long text.
    #[test]
    fn a_stamp_kept_from_the_last_is_the_stamp_made_afresh() {
        // Within a day, across midnight, back in time, and before 1970.
        let secs = [
            1_559_726_607,
            1_559_726_608,
            1_559_779_199,
            1_559_779_200,
            1_559_779_201,
            1_559_692_800,
            86_399,
            0,
            -1,
            -86_401,
            1_559_726_607,
        ];
        let mut logs = Logs::default();
        for s in secs {
            assert_eq!(&*logs.stamp(s), crate::time::format_datetime(s), "{s}");
        }
    }

    #[test]
    fn lines_are_counted_wherever_the_newlines_fall() {
        let mut sink = LogSink::new(true);
        let long = format!("{}\n{}\n", "x".repeat(100), "y".repeat(70));
        for (text, total) in [("", 0), ("no newline", 0), ("one\n", 1), ("\n\n\n", 4)] {
            sink.write_from(NO_CALL, text);
            assert_eq!(sink.lines(), total, "after {text:?}");
        }
        sink.write_from(NO_CALL, &long);
        assert_eq!(sink.lines(), 6);
        assert_eq!(newlines(long.as_bytes()), 2);
    }

    /// A reused log folder: a numbered file an earlier run left stays as
    /// it was, and the files this run rotates replace theirs.
    #[test]
    fn rotation_moves_only_this_runs_files() {
        let dir = std::env::temp_dir().join(format!("xsh-rotate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("q.log.1"), "earlier .1\n").unwrap();
        std::fs::write(dir.join("q.log.5"), "earlier .5\n").unwrap();
        let mut logs = Logs::default();
        logs.stream_to_dir(&dir).unwrap();
        logs.file("q.log").write("first\n");
        logs.rotate("q.log", 10);
        logs.file("q.log").write("second\n");
        logs.flush().unwrap();
        let read = |n: &str| std::fs::read_to_string(dir.join(n)).ok();
        assert_eq!(read("q.log").as_deref(), Some("second\n"));
        assert_eq!(read("q.log.1").as_deref(), Some("first\n"));
        assert_eq!(read("q.log.2"), None, "the earlier .1 is not shifted");
        assert_eq!(read("q.log.5").as_deref(), Some("earlier .5\n"));
        assert_eq!(read("q.log.6"), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A streamed file comes into existence when its writer opens it or
    /// writes its first line, never before: streaming into a folder
    /// creates only the files that exist already, with what they kept.
    #[test]
    fn a_log_file_exists_once_opened_or_written() {
        let dir = std::env::temp_dir().join(format!("xsh-open-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut logs = Logs::default();
        logs.xen.open();
        logs.xen.write("(XEN) before\n");
        logs.stream_to_dir(&dir).unwrap();
        let read = |n: &str| std::fs::read_to_string(dir.join(n)).ok();
        logs.flush().unwrap();
        assert_eq!(read("xen.log").as_deref(), Some("(XEN) before\n"));
        assert_eq!(read("xend.log"), None, "xend never opened its log");
        assert!(!logs.xend.exists());
        logs.xend.open();
        logs.flush().unwrap();
        assert_eq!(read("xend.log").as_deref(), Some(""), "opened, still empty");
        let mut written = Logs::default();
        written.stream_to_dir(&dir.join("w")).unwrap();
        written.xend.write("[x] first\n");
        written.flush().unwrap();
        assert!(written.xend.exists() && !written.xen.exists());
        assert_eq!(
            std::fs::read_to_string(dir.join("w/xend.log"))
                .ok()
                .as_deref(),
            Some("[x] first\n")
        );
        assert!(!dir.join("w/xen.log").exists());
        // A file that cannot be made when it opens is reported at flush.
        let mut gone = Logs::default();
        gone.stream_to_dir(&dir.join("gone")).unwrap();
        std::fs::remove_dir_all(dir.join("gone")).unwrap();
        gone.xend.write("[x] lost\n");
        assert!(gone.flush().is_err(), "the failed create is reported");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A sink keeps what is written while it keeps, and one nobody reads
    /// takes nothing.
    #[test]
    fn a_sink_keeps_only_while_asked_and_one_nobody_reads_takes_nothing() {
        let writes = ["[09:23:27] a\n", "b\nc\n", "", "dd\n", "e\n"];
        let mut switched = LogSink::new(true);
        for (i, w) in writes.iter().enumerate() {
            switched.set_keep(i % 2 == 1);
            switched.write(w);
        }
        assert_eq!(switched.text(), "b\nc\ndd\n");
        let mut logs = Logs::default();
        logs.set_keep(false);
        assert!(logs.discards());
        logs.xend.write("x\n");
        assert_eq!((logs.xend.text(), logs.xend.lines()), ("", 0));
        logs.record_origins(true);
        assert!(!logs.discards());
    }
}
