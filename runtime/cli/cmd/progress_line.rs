//! The progress line `xsh run` draws on a terminal while a long run goes
//! on: domains created, shutting down and gone, the virtual time, events
//! and events per second. Drawn on stderr only when stderr is a terminal
//! (a pipe, a file or a test sees nothing of it), redrawn at most four
//! times a second, erased before anything else is written and at the end.
//!
//! The world calls `tick` every 1024 events and the script engine every
//! 4096 operations (xsh_script::progress); the wall clock read here is the
//! display's own, never the model's.

use std::cell::{Cell, RefCell};
use std::io::{IsTerminal, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use xsh_script::progress::{thousands, Progress, Tally};
use xsh_script::HostState;

/// A run shorter than this shows no line at all.
const FIRST_AFTER: Duration = Duration::from_secs(1);
/// The least time between two redraws.
const EVERY: Duration = Duration::from_millis(250);

/// The line on stderr.
pub struct TerminalLine {
    started: Instant,
    /// When the line was last drawn and the event count then (the rate).
    last: RefCell<Option<(Instant, u64)>>,
    /// Whether a line is on the screen now.
    shown: Cell<bool>,
}

impl TerminalLine {
    /// A line for a run starting now, if stderr is a terminal.
    pub fn if_terminal() -> Option<Rc<TerminalLine>> {
        std::io::stderr().is_terminal().then(|| {
            Rc::new(TerminalLine {
                started: Instant::now(),
                last: RefCell::new(None),
                shown: Cell::new(false),
            })
        })
    }
}

/// The text of the line for `t`, at `rate` events per second.
pub fn text(t: &Tally, rate: Option<f64>) -> String {
    let mut s = format!("xsh: {} domains created", thousands(t.created));
    if t.shutting_down > 0 {
        s.push_str(&format!(", {} shutting down", thousands(t.shutting_down)));
    }
    if t.gone() > 0 {
        s.push_str(&format!(", {} gone", thousands(t.gone())));
    }
    s.push_str(&format!(
        " | virtual {:.1} s | {} events",
        t.virtual_s,
        thousands(t.events)
    ));
    if let Some(r) = rate {
        s.push_str(&format!(", {}/s", thousands(r.round() as u64)));
    }
    s
}

impl Progress for TerminalLine {
    fn tick(&self, st: &HostState) {
        let now = Instant::now();
        if now.duration_since(self.started) < FIRST_AFTER {
            return;
        }
        let last = *self.last.borrow();
        if last.is_some_and(|(at, _)| now.duration_since(at) < EVERY) {
            return;
        }
        let t = Tally::of(st);
        let rate = last.map(|(at, events)| {
            t.events.saturating_sub(events) as f64 / now.duration_since(at).as_secs_f64()
        });
        *self.last.borrow_mut() = Some((now, t.events));
        let mut err = std::io::stderr().lock();
        // Carriage return and "erase line": the new text replaces the old.
        let _ = write!(err, "\r\x1b[2K{}", text(&t, rate));
        let _ = err.flush();
        self.shown.set(true);
    }

    fn clear(&self) {
        if self.shown.replace(false) {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_what_is_known() {
        let t = Tally {
            events: 1_234_567,
            virtual_s: 12.34,
            created: 10_000,
            alive: 9_000,
            shutting_down: 2_500,
        };
        assert_eq!(
            text(&t, Some(812_345.4)),
            "xsh: 10,000 domains created, 2,500 shutting down, 1,000 gone | virtual 12.3 s | 1,234,567 events, 812,345/s"
        );
        let t = Tally {
            created: 3,
            alive: 3,
            shutting_down: 0,
            ..t
        };
        assert_eq!(
            text(&t, None),
            "xsh: 3 domains created | virtual 12.3 s | 1,234,567 events"
        );
    }
}
