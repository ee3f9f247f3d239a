//! What a report of the event or wall-time limit advises: which flag to
//! raise and to about what, from what the run had measured when it stopped.
//!
//! A limit is a guard against a runaway, and a host's worth of domains is
//! real work that meets it: 10,000 domains shut down in one `sim.run()`
//! take millions of events. The report says how far the run had come (its
//! events, their rate, the domains in the world and how many were gone) and
//! estimates what the whole would need. The estimate is only as good as
//! what it scales by, and says which:
//! - the events per domain the script's work took before this run (its
//!   `xm.create`s), times the domains in the world: a run that does about
//!   as much per domain again (a shutdown of each does: 330-390 events per
//!   domain created, 340-600 per domain shut down, from 40 to 10,000);
//! - or, with no such yardstick (or one the run has gone past), a factor.
//!
//! The suggestion is twice the estimate, for room, rounded up to two
//! significant digits; the wall time follows from the run's own rate.

use std::time::Instant;

use crate::diag::Limit;
use crate::progress::{thousands, RunMark, Tally};
use crate::HostState;

/// How much above the estimate a suggestion goes: events per domain
/// shut down vary with how the shutdowns interleave (docs/benchmarks.md).
const ROOM: f64 = 2.0;

/// Wall time of a host's shutdown over that of creating its domains, at
/// most, in the runs of docs/benchmarks.md (1-3x).
const SHUTDOWN_OVER_CREATE: f64 = 3.0;

/// The report's note (how far the run came) and help (what to raise).
pub struct Advice {
    /// How far the run came.
    pub note: String,
    /// The flag to raise, and an estimate of the value.
    pub help: String,
}

/// The advice for `limit`, reached in `st`'s world; `None` when there is
/// nothing measured to base it on (the generic help line stays).
pub fn for_limit(st: &HostState, limit: Limit) -> Option<Advice> {
    let started = st.wall_start.get()?;
    let mark = st.run_mark.get();
    match limit {
        Limit::Events => events(st, started, mark),
        Limit::WallTime => wall_time(st, started, mark),
        _ => None,
    }
}

/// The run's estimated events in all, and what the estimate scales by.
struct Estimate {
    events: f64,
    basis: String,
}

/// The whole run's events, from `done` so far with `domains` in the world
/// when it began; `before` events per domain the script's earlier work
/// took, if it created any.
///
/// Domains gone so far are no yardstick: a shutdown's run goes on after
/// the last domain is gone, until xend's 300 s shutdown timers have fired
/// for every one of them (about as many events again at 40 domains).
fn estimate(done: u64, domains: u64, before: Option<f64>) -> Estimate {
    let (done_f, m) = (done as f64, domains as f64);
    // A yardstick the run has already gone past says nothing.
    match before.map(|c| (c, c * m)).filter(|&(_, y)| y > done_f) {
        Some((c, y)) => Estimate {
            events: y,
            basis: format!(
                "if this run does about as much per domain as the script's work before it did ({} events per domain created), its {} domains need",
                thousands(c.round() as u64),
                thousands(domains)
            ),
        },
        None => Estimate {
            events: done_f * 4.0,
            basis: "with nothing to scale by, a factor of 4:".into(),
        },
    }
}

/// The event limit: one run did `max_events` events and was not done.
fn events(st: &HostState, started: Instant, mark: Option<RunMark>) -> Option<Advice> {
    let now = Tally::of(st);
    let done = st.sim.cfg().max_events;
    let start = mark.map_or(now, |m| m.at_start);
    if start.alive == 0 {
        // No domains to scale by: an endless chain of work, most likely.
        return None;
    }
    let total_wall = started.elapsed().as_secs_f64();
    let run_wall = mark.map_or(total_wall, |m| m.started.elapsed().as_secs_f64());
    let rate = done as f64 / run_wall.max(1e-6);
    let gone = start.alive.saturating_sub(now.alive);
    let before = mark.map_or(now.events.saturating_sub(done), |m| m.at_start.events);
    let per_domain = (now.created > 0 && before > 0).then(|| before as f64 / now.created as f64);
    let est = estimate(done, start.alive, per_domain);
    let suggest = round_up(est.events * ROOM).max(done * 2);
    let mut note = format!(
        "this run did {} events in {} ({} events/s) with {} domains in the world, {}",
        thousands(done),
        secs(run_wall),
        thousands(rate.round() as u64),
        thousands(start.alive),
        gone_words(gone),
    );
    if let Some(c) = per_domain {
        note.push_str(&format!(
            "; before it, the script's work took {} events for the {} domains it created ({} each)",
            thousands(before),
            thousands(now.created),
            thousands(c.round() as u64)
        ));
    }
    let mut help = format!(
        "If the work is real, raise --max-events. An estimate: {} ~{} events; --max-events {} leaves room.",
        est.basis,
        thousands(round_up(est.events)),
        suggest
    );
    // The wall time the suggestion takes at this run's rate, after what the
    // script had already spent.
    let needed = total_wall - run_wall + suggest as f64 / rate.max(1.0);
    let max_wall = st.limits.max_wall_secs;
    help.push_str(&format!(
        " At {} events/s that is ~{}",
        thousands(rate.round() as u64),
        secs(needed)
    ));
    if needed > max_wall {
        help.push_str(&format!(
            ", past --max-wall-time {max_wall}: raise it too, to {}.",
            round_up(needed * ROOM)
        ));
    } else {
        help.push_str(&format!(", within --max-wall-time {max_wall}."));
    }
    Some(Advice { note, help })
}

/// The wall-time limit: in a run (`mark`), or in the script's own code.
fn wall_time(st: &HostState, started: Instant, mark: Option<RunMark>) -> Option<Advice> {
    let now = Tally::of(st);
    let total_wall = started.elapsed().as_secs_f64();
    let Some(mark) = mark else {
        return outside_run(st, now, total_wall);
    };
    let start = mark.at_start;
    let run_wall = mark.started.elapsed().as_secs_f64();
    let done = now.events.saturating_sub(start.events);
    let rate = done as f64 / run_wall.max(1e-6);
    let mut note = format!(
        "the run had done {} events in {} ({} events/s)",
        thousands(done),
        secs(run_wall),
        thousands(rate.round() as u64)
    );
    if start.alive == 0 || done == 0 {
        return Some(Advice {
            note,
            help: format!(
                "The world ran {} events/s: if the work is real, raise --max-wall-time (how much it needs, nothing here can tell).",
                thousands(rate.round() as u64)
            ),
        });
    }
    let gone = start.alive.saturating_sub(now.alive);
    let per_domain =
        (start.created > 0 && start.events > 0).then(|| start.events as f64 / start.created as f64);
    let est = estimate(done, start.alive, per_domain);
    note.push_str(&format!(
        " with {} domains in the world, {}: about {}% of the ~{} estimated below",
        thousands(start.alive),
        gone_words(gone),
        (done as f64 / est.events * 100.0).round().min(99.0),
        thousands(round_up(est.events))
    ));
    let needed = total_wall - run_wall + est.events / rate.max(1.0);
    let mut help = format!(
        "If the work is real, raise --max-wall-time. An estimate: {} ~{} events, ~{} at this run's rate: --max-wall-time {} leaves room.",
        est.basis,
        thousands(round_up(est.events)),
        secs(needed),
        round_up(needed * ROOM)
    );
    let max_events = st.sim.cfg().max_events;
    if est.events * ROOM > max_events as f64 {
        help.push_str(&format!(
            " Raise --max-events too, to {}.",
            round_up(est.events * ROOM)
        ));
    }
    Some(Advice { note, help })
}

/// The wall-time limit outside a run: while the script created domains
/// (or asked them, one `xm.shutdown` after another, to shut down). How many
/// it means to create is the `--param` it reads for that (`domains`, as in
/// scripts/host_shutdown.rhai), when given.
fn outside_run(st: &HostState, now: Tally, wall: f64) -> Option<Advice> {
    if now.created == 0 {
        return None;
    }
    let each = wall / now.created as f64;
    let events_each = now.events as f64 / now.created as f64;
    let asked = st.params.borrow().asked_count("domain");
    let mut note = format!("the script had created {} domains", thousands(now.created));
    if let Some((name, n)) = &asked {
        note.push_str(&format!(
            " of the {} asked (--param {name}={n})",
            thousands(*n)
        ));
    }
    note.push_str(&format!(
        " in {} ({} and {} events each)",
        secs(wall),
        secs(each),
        thousands(events_each.round() as u64)
    ));
    if now.shutting_down > 0 {
        note.push_str(&format!(
            ", {} of them shutting down",
            thousands(now.shutting_down)
        ));
    }
    if now.gone() > 0 {
        note.push_str(&format!(", {} gone", thousands(now.gone())));
    }
    // Shutting the domains down takes about as many events again as
    // creating them (see the module's comment), and up to three times as
    // long: the host-scale runs of docs/benchmarks.md took 1-3x.
    // Still creating: the whole creation at the rate so far. Every domain
    // created (or no count asked for): the limit came while they were
    // asked to shut down, one `xm.shutdown` (which runs the world) after
    // another, and the work so far stands for the creation.
    let still_creating = asked.filter(|&(_, n)| n > now.created).map(|(_, n)| n);
    let n = still_creating.unwrap_or(now.created);
    let create = each * n as f64;
    let needed = create * (1.0 + SHUTDOWN_OVER_CREATE);
    let start = match still_creating {
        Some(_) => format!(
            "at {} per domain, creating {} takes ~{}",
            secs(each),
            thousands(n),
            secs(create)
        ),
        None => format!(
            "the script's work so far took {} for its {} domains",
            secs(wall),
            thousands(n)
        ),
    };
    let mut help = format!(
        "If the work is real, raise --max-wall-time. An estimate: {start}, and shutting them down up to {SHUTDOWN_OVER_CREATE} times as long as creating them: ~{} in all; --max-wall-time {} leaves room.",
        secs(needed),
        round_up(needed * ROOM)
    );
    let run_events = events_each * n as f64;
    if run_events * ROOM > st.sim.cfg().max_events as f64 {
        help.push_str(&format!(
            " The shutdown's run needs ~{} events too: --max-events {}.",
            thousands(round_up(run_events)),
            round_up(run_events * ROOM)
        ));
    }
    Some(Advice { note, help })
}

/// "none of them gone yet", "1,200 gone".
fn gone_words(gone: u64) -> String {
    match gone {
        0 => "none of them gone yet".into(),
        n => format!("{} gone", thousands(n)),
    }
}

/// Seconds as a reader wants them: `0.94 ms`, `18 ms`, `0.4 s`, `12 s`, `1,234 s`.
fn secs(s: f64) -> String {
    if s < 0.01 {
        format!("{:.2} ms", (s * 1000.0).max(0.0))
    } else if s < 0.1 {
        format!("{:.0} ms", s * 1000.0)
    } else if s < 10.0 {
        format!("{s:.1} s")
    } else {
        format!("{} s", thousands(s.round() as u64))
    }
}

/// `x` rounded up to two significant digits: 4,950,000 → 5,000,000, 163 → 170.
pub fn round_up(x: f64) -> u64 {
    if !(x.is_finite() && x > 0.0) {
        return 1;
    }
    let x = x.ceil() as u64;
    let mut step = 1u64;
    while x / step >= 100 {
        step *= 10;
    }
    x.div_ceil(step) * step
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_round_up_to_two_digits() {
        assert_eq!(round_up(4_950_000.0), 5_000_000);
        assert_eq!(round_up(163.2), 170);
        assert_eq!(round_up(99.0), 99);
        assert_eq!(round_up(100.5), 110);
        assert_eq!(round_up(0.2), 1);
    }

    #[test]
    fn the_estimate_scales_by_what_is_known() {
        // Creation took 330 per domain: 10,000 domains need ~3.3 M.
        let e = estimate(250_000, 10_000, Some(330.0));
        assert_eq!(e.events.round() as u64, 3_300_000);
        assert!(
            e.basis.contains("330 events per domain created"),
            "{}",
            e.basis
        );
        // Already past the yardstick: a factor.
        let e = estimate(4_000_000, 10_000, Some(330.0));
        assert_eq!(e.events.round() as u64, 16_000_000);
        // Nothing created before the run: a factor.
        let e = estimate(1_000, 10, None);
        assert_eq!(e.events.round() as u64, 4_000);
    }
}
