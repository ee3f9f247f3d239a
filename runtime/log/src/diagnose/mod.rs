//! `xsh logs diagnose`: what happened to each domain in a set of real logs,
//! and where it left the path the model takes.
//!
//! The work is split by what it needs:
//! - `history.rs` (here, no model run) — each domain's history rebuilt from
//!   the parsed records of every file: its domids, name and uuid, its
//!   create, shutdown request, has-shutdown, crash, restart, restore,
//!   destroy and device release, the toolstack's restarts; and what the
//!   model needs to replay it (type, devices, `on_*` actions, which build's
//!   line numbers, the stacks an engineer's instrumentation printed);
//! - `align.rs` — one domain's real records aligned with the logs a model
//!   run wrote, each model line traced to the probe call that wrote it
//!   (`xsh_sim::logs::Origin`): labels, the first divergence, steps
//!   expected but missing, lines the model did not produce, time gaps;
//! - `steps.rs` — a model call's step on the seed's path
//!   (`reference/seed-path.md`) and the domain's state at it, read from the
//!   model's trace;
//! - `render.rs` — the text story and the `--json` document.
//!
//! Running the model's variants needs Rhai, so it lives in xsh-script
//! (`xsh_script::diagnose`), which calls back into this module.

pub mod align;
pub mod check;
pub mod history;
pub mod render;
pub mod steps;

pub use align::{Alignment, Divergence, Gap, Label, Missing};
pub use history::{reconstruct, Domain, Fact, HistoryEvent, Host, Toolstack};
pub use render::{Diagnosis, DomainDiagnosis, Variant, Verdict};

use crate::record::Record;

/// One file given to diagnose, parsed.
#[derive(Clone, Debug)]
pub struct Source {
    /// Its name as given.
    pub name: String,
    /// Its records, in file order.
    pub records: Vec<Record>,
}

impl Source {
    /// Parses a file's bytes.
    pub fn parse(name: &str, bytes: &[u8]) -> Source {
        Source {
            name: name.to_string(),
            records: crate::records_of(bytes, name, None),
        }
    }
}

/// A record's wall-clock time in seconds since 1970 (UTC as written), for
/// xend's `YYYY-MM-DD HH:MM:SS[,mmm]` and journalctl's ISO form; `None`
/// for times a line does not carry as a date (printk uptimes).
pub fn wall_time(time: &str) -> Option<i64> {
    let t = time.trim().trim_start_matches('[');
    let head = t.get(..19)?;
    let head: String = head
        .chars()
        .enumerate()
        .map(|(i, c)| if i == 10 && c == 'T' { ' ' } else { c })
        .collect();
    xsh_sim::time::Epoch::parse(&head).ok().map(|e| e.0)
}

/// `HH:MM:SS` of a wall-clock second.
pub fn clock(secs: i64) -> String {
    let s = xsh_sim::time::format_datetime(secs);
    s.get(11..).unwrap_or(&s).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xend_and_journal_times_read_as_seconds() {
        assert_eq!(wall_time("2019-06-05 09:23:27"), Some(1_559_726_607));
        assert_eq!(wall_time("2019-06-05 09:23:27,041"), Some(1_559_726_607));
        assert_eq!(
            wall_time("2019-06-05T09:23:28.123456+0000"),
            Some(1_559_726_608)
        );
        assert_eq!(wall_time("  1234.567890"), None);
        assert_eq!(clock(1_559_726_607), "09:23:27");
    }
}
