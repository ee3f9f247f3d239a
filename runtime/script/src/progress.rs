//! How far a run has come, for two readers: a progress line the CLI draws
//! while a long run goes on, and the advice a limit's report gives
//! (`advice.rs`). Both read the same counts from the world, and only when
//! asked: the model's run loops already stop every 1024 events to ask
//! whether the run must end (`HostState::stop_reason`), and Rhai asks every
//! 4096 operations; a progress line is drawn from there, so watching a run
//! adds nothing to the cost of an event.

use std::time::Instant;

use crate::HostState;

/// Something that shows a run's progress (the CLI's terminal line).
pub trait Progress {
    /// Called every 1024 events and every 4096 script operations: may
    /// redraw, at most a few times a second (the callee looks at the clock).
    fn tick(&self, st: &HostState);
    /// Removes what is shown, before other output (a `print`) or at the end.
    fn clear(&self);
}

/// The world's counts at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tally {
    /// Events run since the world was built.
    pub events: u64,
    /// Virtual seconds since the start.
    pub virtual_s: f64,
    /// Domains the script created (`xm.create`, `xl.create`).
    pub created: u64,
    /// Guest domains Xen holds now.
    pub alive: u64,
    /// Of those, the ones whose shutdown has begun (Xen's `is_shutting_down`).
    pub shutting_down: u64,
}

impl Tally {
    /// The counts of `st`'s world now.
    pub fn of(st: &HostState) -> Tally {
        let sim = &st.sim;
        let xen = sim.xen.borrow();
        // Domain 0 is the host's own: it is never created nor shut down.
        let guests = || xen.domains.values().filter(|d| d.domid != 0);
        Tally {
            events: sim.exec.events_run(),
            virtual_s: sim.now().as_secs_f64(),
            created: st.created.get(),
            alive: guests().count() as u64,
            shutting_down: guests().filter(|d| d.is_shutting_down).count() as u64,
        }
    }

    /// Domains the script created that Xen no longer holds.
    pub fn gone(&self) -> u64 {
        self.created.saturating_sub(self.alive)
    }
}

/// The start of a run of the world (`sim.run()`, `sim.run_for`): what a
/// limit reached inside it measures the run's own work against.
#[derive(Clone, Copy, Debug)]
pub struct RunMark {
    /// The counts when it began.
    pub at_start: Tally,
    /// When it began.
    pub started: Instant,
}

impl RunMark {
    /// A run of `st`'s world beginning now.
    pub fn now(st: &HostState) -> RunMark {
        RunMark {
            at_start: Tally::of(st),
            started: Instant::now(),
        }
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut s = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            s.push(',');
        }
        s.push(c);
    }
    s
}
