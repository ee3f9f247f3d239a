//! `xsh logs timeline`: the logs of one host (xend.log or xl's logs,
//! qemu-dm's, the Xen console, a guest's console, dom0's journal) merged
//! into one view in time order, as text or as Chrome trace events for
//! Perfetto.
//!
//! Every record is placed on the host's wall clock by its own stamp
//! (`time.rs`) or not at all; nothing is guessed silently:
//! - a wall-clock stamp is taken as written (one host's logs share its
//!   local time);
//! - a syslog stamp has no year: it takes `--year`, else the year of the
//!   earliest dated record of the other files (said in the file's line of
//!   the header), and a month that goes back (December → January) moves to
//!   the next year;
//! - an uptime stamp (printk, Xen's `console_timestamps=boot`) needs the
//!   wall time of that boot: `--anchor FILE=ISO` gives it;
//! - a file without any stamp (qemu-dm's log) is placed only by
//!   `--anchor FILE=ISO`, the time of its first line, and its records then
//!   keep their file order at that instant;
//! - a record without a stamp inside a stamped file (an xl line, a guest's
//!   `(d8)` line) takes the time of the stamped record before it (or, before
//!   the first, after it), and is marked `~`.
//!
//! A file that cannot be placed is listed in the header with the reason and
//! the option that would place it, and its records are left out.

use std::fmt::Write;
use std::io::{self, Read};

use crate::format::{Format, Level};
use crate::record::{Collector, Record};
use crate::time::{self, When};

/// The wall time of a log's boot (uptime 0), or of the first line of a
/// log without stamps.
#[derive(Clone, Debug)]
pub struct Anchor {
    /// The file, as named on the command line.
    pub file: String,
    /// Nanoseconds since the epoch, local time as written.
    pub at: i64,
}

impl Anchor {
    /// `FILE=2019-06-05T09:23:27` (or `FILE=2019-06-05 09:23:27.5`).
    pub fn parse(s: &str) -> Result<Anchor, String> {
        let (file, at) = s
            .rsplit_once('=')
            .ok_or_else(|| format!("--anchor {s:?}: expected FILE=YYYY-MM-DDTHH:MM:SS"))?;
        match time::parse(at.as_bytes()) {
            Some(When::Wall { ns, .. }) => Ok(Anchor {
                file: file.to_string(),
                at: ns,
            }),
            _ => Err(format!(
                "--anchor {s:?}: {at:?} is not a time of the form YYYY-MM-DDTHH:MM:SS[.frac]"
            )),
        }
    }
}

/// What the timeline shows of a record.
#[derive(Clone, Debug)]
pub struct Item {
    /// Where it is placed: nanoseconds since the epoch, local time.
    pub at: i64,
    /// Its time came from the record before or after it (it has no stamp).
    pub inherited: bool,
    /// Index of its file.
    pub file: usize,
    /// Record number in its file.
    pub seq: usize,
    /// First physical line.
    pub line: u64,
    /// Its format.
    pub format: Format,
    /// Level.
    pub level: Option<Level>,
    /// The domain it is about.
    pub domid: Option<u32>,
    /// Its time as written.
    pub raw_time: Option<String>,
    /// Its first line's message.
    pub text: String,
}

/// One input file, and how its records were placed.
#[derive(Clone, Debug)]
pub struct FileInfo {
    /// Name.
    pub name: String,
    /// The format most of its records have.
    pub format: Format,
    /// Records read.
    pub records: usize,
    /// Records placed on the timeline.
    pub placed: usize,
    /// How they were placed, or why not.
    pub how: String,
}

/// Several logs merged.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    /// The files, in command-line order.
    pub files: Vec<FileInfo>,
    /// Placed records, in time order (ties: file order, then record order).
    pub items: Vec<Item>,
}

/// Options of a merge.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Anchors of undated files.
    pub anchors: Vec<Anchor>,
    /// The year of syslog stamps.
    pub year: Option<i32>,
}

/// A file's records, read.
struct Read1 {
    name: String,
    records: Vec<(Option<When>, Item)>,
}

fn read_file<R: Read>(src: R, name: &str, file: usize) -> io::Result<Read1> {
    let mut col = Collector::default();
    let mut out = Vec::new();
    // qemu-dm's log names its domain once, on its first line.
    let mut file_domid = None;
    let mut take = |r: Record| {
        if matches!(
            r.kind,
            crate::Kind::Blank | crate::Kind::Markup | crate::Kind::Unparsed
        ) {
            return;
        }
        let text: String = r.head().trim_end().chars().take(300).collect();
        out.push((
            r.when(),
            Item {
                at: 0,
                inherited: false,
                file,
                seq: out.len(),
                line: r.line(),
                format: r.format,
                level: r.level,
                domid: {
                    let d = r.domid();
                    if r.format == Format::QemuDm && r.head().starts_with("domid: ") {
                        file_domid = d;
                    }
                    d.or(file_domid.filter(|_| r.format == Format::QemuDm))
                },
                raw_time: r.time.clone(),
                text,
            },
        ));
    };
    crate::parse_reader(src, name, None, |e| {
        col.push(e);
        let done: Vec<Record> = col.drain().collect();
        for r in done {
            take(r);
        }
    })?;
    for r in col.finish() {
        take(r);
    }
    Ok(Read1 {
        name: name.to_string(),
        records: out,
    })
}

/// Merges the logs `srcs` (name, reader), in the order given.
pub fn merge<R: Read>(srcs: Vec<(String, R)>, opts: &Options) -> io::Result<Timeline> {
    let mut files = Vec::new();
    for (i, (name, src)) in srcs.into_iter().enumerate() {
        files.push(read_file(src, &name, i)?);
    }
    // The year of year-less stamps: given, or the earliest dated record's.
    let dated_year = |skip: usize| {
        files
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .flat_map(|(i, f)| f.records.iter().map(move |r| (i, r)))
            .filter_map(|(i, (w, _))| match w {
                Some(When::Wall { ns, .. }) => Some((*ns, i)),
                _ => None,
            })
            .min()
            .map(|(ns, i)| {
                let (y, _, _) = time::civil_from_days(ns.div_euclid(86_400 * 1_000_000_000));
                (y as i32, i)
            })
    };
    let mut tl = Timeline::default();
    let years: Vec<Option<(i32, Option<usize>)>> = (0..files.len())
        .map(|i| match opts.year {
            Some(y) => Some((y, None)),
            None => dated_year(i).map(|(y, f)| (y, Some(f))),
        })
        .collect();
    for (i, f) in files.iter_mut().enumerate() {
        let anchor = opts
            .anchors
            .iter()
            .rev()
            .find(|a| a.file == f.name)
            .map(|a| a.at);
        tl.files.push(place(f, anchor, years[i]));
        tl.items.extend(
            f.records
                .drain(..)
                .map(|(_, it)| it)
                .filter(|it| it.at != i64::MIN),
        );
    }
    tl.items.sort_by_key(|it| (it.at, it.file, it.seq));
    Ok(tl)
}

/// Places one file's records; returns its header line. Records left
/// unplaced get `at == i64::MIN`.
fn place(f: &mut Read1, anchor: Option<i64>, year: Option<(i32, Option<usize>)>) -> FileInfo {
    let mut counts = [0usize; 7];
    for (_, it) in &f.records {
        counts[it.format as usize] += 1;
    }
    let format = Format::ALL[(0..7)
        .max_by_key(|&i| (counts[i], std::cmp::Reverse(i)))
        .unwrap_or(6)];
    let kinds = (
        f.records
            .iter()
            .any(|(w, _)| matches!(w, Some(When::Wall { .. }))),
        f.records
            .iter()
            .any(|(w, _)| matches!(w, Some(When::NoYear { .. }))),
        f.records
            .iter()
            .any(|(w, _)| matches!(w, Some(When::Uptime(_)))),
    );
    let mut how = Vec::new();
    let mut missing = Vec::new();
    if kinds.0 {
        how.push("wall-clock stamps as written".to_string());
    }
    if kinds.1 {
        match year {
            Some((y, None)) => how.push(format!("syslog stamps in {y} (--year)")),
            Some((y, Some(i))) => how.push(format!(
                "syslog stamps in {y}, the year of file [{}]'s first dated record",
                i + 1
            )),
            None => missing.push(
                "syslog stamps without a year and no dated file beside them: give --year YYYY",
            ),
        }
    }
    if kinds.2 {
        match anchor {
            Some(a) => how.push(format!(
                "uptime stamps after a boot at {} (--anchor)",
                time::iso(a, 0)
            )),
            None => {
                missing.push("uptime stamps: give --anchor FILE=ISO, the wall time of that boot")
            }
        }
    }
    let timeless = !kinds.0 && !kinds.1 && !kinds.2;
    if timeless {
        match anchor {
            Some(a) => how.push(format!(
                "no stamps: every record at {} (--anchor), in file order",
                time::iso(a, 0)
            )),
            None => missing.push("no stamps: give --anchor FILE=ISO, the time of its first line"),
        }
    }
    // Each stamped record's place.
    let mut year_now = year.map(|(y, _)| y);
    let mut last_month = 0u8;
    for (w, it) in f.records.iter_mut() {
        it.at = i64::MIN;
        let Some(w) = *w else { continue };
        if let When::NoYear { month, .. } = w {
            if month < last_month {
                year_now = year_now.map(|y| y + 1);
            }
            last_month = month;
        }
        if let Some(at) = w.place(year_now, anchor) {
            it.at = at;
        }
    }
    // Unstamped records: after the record before them, or (before the
    // first stamp) with the one after them; a timeless file at its anchor.
    let mut prev: Option<i64> = None;
    for (w, it) in f.records.iter_mut() {
        if w.is_none() {
            match (prev, timeless, anchor) {
                (Some(p), _, _) => {
                    it.at = p;
                    it.inherited = !timeless;
                }
                (None, true, Some(a)) => it.at = a,
                _ => {}
            }
        }
        if it.at != i64::MIN {
            prev = Some(it.at);
        }
    }
    let mut next: Option<i64> = None;
    for (_, it) in f.records.iter_mut().rev() {
        if it.at == i64::MIN && !timeless {
            if let Some(n) = next {
                it.at = n;
                it.inherited = true;
            }
        } else if it.at != i64::MIN {
            next = Some(it.at);
        }
    }
    let placed = f.records.iter().filter(|(_, it)| it.at != i64::MIN).count();
    let mut text = how.join("; ");
    if !missing.is_empty() {
        if !text.is_empty() {
            text.push_str("; ");
        }
        text.push_str("not placed: ");
        text.push_str(&missing.join("; "));
    }
    FileInfo {
        name: f.name.clone(),
        format,
        records: f.records.len(),
        placed,
        how: text,
    }
}

impl Timeline {
    /// Files some of whose records could not be placed.
    pub fn unplaced(&self) -> impl Iterator<Item = &FileInfo> {
        self.files.iter().filter(|f| f.placed < f.records)
    }

    /// The text view: a header with each file and how it was placed, then
    /// one line per record: ISO time (`~` where it is borrowed from a
    /// neighbour), `[file] name:line`, level, domid, message.
    pub fn render(&self) -> String {
        let mut s = format!(
            "timeline of {} files, {} records placed\n",
            self.files.len(),
            self.items.len()
        );
        for (i, f) in self.files.iter().enumerate() {
            let _ = writeln!(
                s,
                "  [{}] {} ({}): {} of {} records placed; {}",
                i + 1,
                f.name,
                f.format.name(),
                f.placed,
                f.records,
                f.how
            );
        }
        for it in &self.items {
            let _ = writeln!(
                s,
                "{}{} [{}] {}:{} {} {}| {}",
                time::iso(it.at, 3),
                if it.inherited { "~" } else { " " },
                it.file + 1,
                self.files[it.file].name,
                it.line,
                it.level.map_or("-", |l| l.name()),
                it.domid.map(|d| format!("d{d} ")).unwrap_or_default(),
                it.text
            );
        }
        s
    }

    /// Chrome trace-event JSON (Perfetto, chrome://tracing), in the
    /// conventions of `xsh run --timeline`: one process per layer, in the
    /// order a shutdown crosses them, one thread (track) per file, named
    /// and ordered by metadata events; each record an instant event at its
    /// time, in microseconds from the earliest record.
    pub fn chrome_json(&self) -> String {
        let t0 = self.items.first().map_or(0, |it| it.at);
        let mut ev: Vec<String> = Vec::new();
        let mut used = [false; LAYERS.len()];
        for f in &self.files {
            used[layer_pid(f.format) - 1] = true;
        }
        for (i, l) in LAYERS.iter().enumerate() {
            if !used[i] {
                continue;
            }
            let p = i + 1;
            let mut name = Vec::new();
            crate::json::string(&mut name, layer_title(*l).as_bytes());
            ev.push(format!(
                "{{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{p},\"tid\":0,\"args\":{{\"name\":{}}}}}",
                String::from_utf8_lossy(&name)
            ));
            ev.push(format!(
                "{{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":{p},\"tid\":0,\"args\":{{\"sort_index\":{p}}}}}"
            ));
        }
        for (i, f) in self.files.iter().enumerate() {
            let mut name = Vec::new();
            crate::json::string(&mut name, f.name.as_bytes());
            let p = layer_pid(f.format);
            ev.push(format!(
                "{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{p},\"tid\":{},\"args\":{{\"name\":{}}}}}",
                i + 1,
                String::from_utf8_lossy(&name)
            ));
            ev.push(format!(
                "{{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":{p},\"tid\":{},\"args\":{{\"sort_index\":{}}}}}",
                i + 1,
                i + 1
            ));
        }
        for it in &self.items {
            let mut o: Vec<u8> = b"{\"ph\":\"i\",\"s\":\"t\",\"name\":".to_vec();
            let short: String = it.text.chars().take(80).collect();
            crate::json::string(&mut o, short.as_bytes());
            o.extend_from_slice(b",\"cat\":");
            crate::json::string(&mut o, it.format.name().as_bytes());
            let us = (it.at - t0) as u64;
            let _ = write!(
                Bytes(&mut o),
                ",\"pid\":{},\"tid\":{},\"ts\":{}.{:03},\"args\":{{\"line\":{}",
                layer_pid(self.files[it.file].format),
                it.file + 1,
                us / 1_000,
                us % 1_000,
                it.line
            );
            o.extend_from_slice(b",\"time\":");
            crate::json::string(&mut o, time::iso(it.at, 6).as_bytes());
            if it.inherited {
                o.extend_from_slice(b",\"time_from_neighbour\":true");
            }
            if let Some(l) = it.level {
                let _ = write!(Bytes(&mut o), ",\"level\":\"{}\"", l.name());
            }
            if let Some(d) = it.domid {
                let _ = write!(Bytes(&mut o), ",\"domid\":{d}");
            }
            o.extend_from_slice(b",\"message\":");
            crate::json::string(&mut o, it.text.as_bytes());
            o.extend_from_slice(b"}}");
            ev.push(String::from_utf8_lossy(&o).into_owned());
        }
        let mut out = String::from("{\"displayTimeUnit\":\"ms\",\"otherData\":{\"generator\":\"xsh logs timeline\",\"start_time\":\"");
        out.push_str(&time::iso(t0, 6));
        out.push_str("\"},\"traceEvents\":[\n");
        for (i, e) in ev.iter().enumerate() {
            out.push_str(e);
            out.push_str(if i + 1 < ev.len() { ",\n" } else { "\n" });
        }
        out.push_str("]}\n");
        out
    }
}

/// `fmt::Write` onto bytes.
struct Bytes<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Layers in the order a shutdown crosses them, as `xsh run --timeline`
/// orders its processes: toolstack, device model, guest, hypervisor, dom0.
const LAYERS: [Format; 7] = [
    Format::Xend,
    Format::Xl,
    Format::QemuDm,
    Format::LinuxConsole,
    Format::XenConsole,
    Format::Journal,
    Format::Unknown,
];

fn layer_pid(f: Format) -> usize {
    LAYERS
        .iter()
        .position(|&l| l == f)
        .unwrap_or(LAYERS.len() - 1)
        + 1
}

fn layer_title(f: Format) -> &'static str {
    match f {
        Format::Xend => "xend",
        Format::Xl => "xl / libxl",
        Format::QemuDm => "qemu-dm",
        Format::LinuxConsole => "guest console",
        Format::XenConsole => "Xen",
        Format::Journal => "dom0 journal",
        Format::Unknown => "other",
    }
}
