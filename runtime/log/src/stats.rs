//! `xsh logs stats`: records by format, level and module, unparsed lines,
//! damage. Counting runs on every entry of a 200 MB log, so modules are
//! kept in a short list searched from the last hit (a log has a handful).

use crate::damage::DamageKind;
use crate::format::{Format, Kind, Level};
use crate::parser::Entry;

/// Counts of one format.
#[derive(Clone, Debug, Default)]
pub struct FormatStats {
    /// Records started.
    pub records: u64,
    /// Lines that continue a record.
    pub continuation_lines: u64,
    /// Records by level (indexed like `Level::ALL`), and records without one.
    pub levels: [u64; 12],
    /// Records without a level.
    pub no_level: u64,
    /// Records by module, in order of first appearance.
    pub modules: Vec<(String, u64)>,
    last_module: usize,
}

impl FormatStats {
    fn module(&mut self, m: &[u8]) {
        if let Some((name, n)) = self.modules.get_mut(self.last_module) {
            if name.as_bytes() == m {
                *n += 1;
                return;
            }
        }
        match self
            .modules
            .iter()
            .position(|(name, _)| name.as_bytes() == m)
        {
            Some(i) => {
                self.modules[i].1 += 1;
                self.last_module = i;
            }
            None => {
                self.modules
                    .push((String::from_utf8_lossy(m).into_owned(), 1));
                self.last_module = self.modules.len() - 1;
            }
        }
    }
}

/// Counts of a parse.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Bytes read.
    pub bytes: u64,
    /// Physical lines.
    pub lines: u64,
    /// Entries (a glued line gives two).
    pub entries: u64,
    /// Per format, indexed like `Format::ALL`.
    pub formats: [FormatStats; 7],
    /// Lines outside any record, or of no known format.
    pub unparsed: u64,
    /// Blank and markup-only lines.
    pub blank: u64,
    /// Damage by kind, indexed like `DamageKind::ALL`.
    pub damage: [u64; 10],
    /// Lines with any damage.
    pub damaged_lines: u64,
    last_damaged_line: u64,
}

impl Stats {
    /// Counts one entry.
    #[inline]
    pub fn add(&mut self, e: &Entry<'_>) {
        self.entries += 1;
        if !e.damage.is_empty() {
            for d in e.damage {
                self.damage[d.kind as usize] += 1;
            }
            if e.line != self.last_damaged_line {
                self.damaged_lines += 1;
                self.last_damaged_line = e.line;
            }
        }
        match e.kind {
            Kind::Unparsed => {
                self.unparsed += 1;
                return;
            }
            Kind::Blank | Kind::Markup if !e.continuation => {
                self.blank += 1;
                return;
            }
            _ => {}
        }
        let f = &mut self.formats[e.format as usize];
        if e.continuation {
            f.continuation_lines += 1;
            return;
        }
        f.records += 1;
        match e.fields.level {
            Some(l) => f.levels[l as usize] += 1,
            None => f.no_level += 1,
        }
        if let Some(m) = e.fields.module {
            f.module(m);
        }
    }

    /// Records of every format.
    pub fn records(&self) -> u64 {
        self.formats.iter().map(|f| f.records).sum()
    }

    /// Adds another file's counts.
    pub fn merge(&mut self, o: &Stats) {
        self.bytes += o.bytes;
        self.lines += o.lines;
        self.entries += o.entries;
        self.unparsed += o.unparsed;
        self.blank += o.blank;
        self.damaged_lines += o.damaged_lines;
        for (a, b) in self.damage.iter_mut().zip(o.damage) {
            *a += b;
        }
        for (a, b) in self.formats.iter_mut().zip(&o.formats) {
            a.records += b.records;
            a.continuation_lines += b.continuation_lines;
            a.no_level += b.no_level;
            for (x, y) in a.levels.iter_mut().zip(b.levels) {
                *x += y;
            }
            for (m, n) in &b.modules {
                match a.modules.iter_mut().find(|(x, _)| x == m) {
                    Some((_, k)) => *k += n,
                    None => a.modules.push((m.clone(), *n)),
                }
            }
        }
    }

    /// The human-readable report.
    pub fn render(&self, seconds: f64) -> String {
        let mut s = String::new();
        let mb = self.bytes as f64 / 1e6;
        s.push_str(&format!(
            "{} bytes, {} lines, {} records, {} unparsed lines, {} blank\n",
            self.bytes,
            self.lines,
            self.records(),
            self.unparsed,
            self.blank
        ));
        for (f, st) in Format::ALL.iter().zip(&self.formats) {
            if st.records == 0 && st.continuation_lines == 0 {
                continue;
            }
            s.push_str(&format!(
                "{}: {} records, {} continuation lines\n",
                f.name(),
                st.records,
                st.continuation_lines
            ));
            let levels: Vec<String> = Level::ALL
                .iter()
                .zip(st.levels)
                .filter(|(_, n)| *n > 0)
                .map(|(l, n)| format!("{} {n}", l.name()))
                .chain((st.no_level > 0).then(|| format!("(none) {}", st.no_level)))
                .collect();
            s.push_str(&format!("  levels: {}\n", levels.join(", ")));
            if !st.modules.is_empty() {
                let mut mods = st.modules.clone();
                mods.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                let shown: Vec<String> = mods
                    .iter()
                    .take(12)
                    .map(|(m, n)| format!("{m} {n}"))
                    .collect();
                let more = mods.len().saturating_sub(12);
                s.push_str(&format!(
                    "  modules: {}{}\n",
                    shown.join(", "),
                    if more > 0 {
                        format!(", ... {more} more")
                    } else {
                        String::new()
                    }
                ));
            }
        }
        let dmg: Vec<String> = DamageKind::ALL
            .iter()
            .zip(self.damage)
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{} {n}", k.name()))
            .collect();
        s.push_str(&format!(
            "damage: {} lines{}{}\n",
            self.damaged_lines,
            if dmg.is_empty() { "" } else { ": " },
            dmg.join(", ")
        ));
        if seconds > 0.0 {
            s.push_str(&format!(
                "speed: {:.1} MB in {:.3} s = {:.0} MB/s\n",
                mb,
                seconds,
                mb / seconds
            ));
        }
        s
    }
}
