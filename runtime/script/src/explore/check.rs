//! Invariants: `sim.invariant(name, || bool)` is checked after every
//! *instant* of virtual time the world runs through — once all events due
//! at that instant have run, before the clock moves on — and once more when
//! the script ends.
//!
//! Why instants, not single events: within one instant the model is often
//! half-way through a step that real code does atomically (a xenstore
//! transaction's writes, a hypercall's effects and the notify that follows);
//! between instants nothing is in flight, so a check sees a state the real
//! system could be observed in. It is also cheap: the seed's scenario has a
//! few hundred events but far fewer instants.

use rhai::{Dynamic, EvalAltResult};
use xsh_sim::time::SimTime;
use xsh_sim::RunEnd;

use super::{Invariant, Violation};
use crate::HostState;

/// Runs the world to `deadline` (or idle) an instant at a time, checking
/// the invariants after each; a violation stops it as an abort.
pub fn run_checked(st: &HostState, deadline: Option<SimTime>) -> RunEnd {
    let sim = &st.sim;
    let max_events = sim.cfg().max_events;
    let start = sim.exec.events_run();
    loop {
        let Some(next) = sim.exec.next_time() else {
            // `run_until` reports a pending abort; nothing to run otherwise.
            return sim.run_until(deadline);
        };
        if deadline.is_some_and(|d| next > d) {
            return sim.run_until(deadline);
        }
        // Every event at `next`, including those it schedules for `next`.
        match sim.run_until(Some(next)) {
            RunEnd::Aborted(m) => return RunEnd::Aborted(m),
            RunEnd::Idle | RunEnd::Deadline => {}
        }
        if let Err(end) = check(st) {
            return end;
        }
        // `run_until`'s own event limit counts one instant; this one counts
        // the whole run, as an unchecked run would.
        if sim.exec.events_run() - start >= max_events {
            return RunEnd::Aborted(format!(
                "event limit reached: {max_events} events in one run (--max-events); something keeps scheduling work"
            ));
        }
    }
}

/// Checks every invariant now; the first false one is recorded and stops
/// the world (its message names it and the virtual time).
pub fn check(st: &HostState) -> Result<(), RunEnd> {
    if st.explore.violation.borrow().is_some() {
        return Ok(());
    }
    let invariants: Vec<Invariant> = st.explore.invariants.borrow().clone();
    for inv in &invariants {
        match eval(st, inv) {
            Ok(true) => {}
            Ok(false) => {
                let msg = violated(st, inv);
                st.sim.abort(msg.clone());
                return Err(RunEnd::Aborted(msg));
            }
            // The closure threw: `call_ptr` kept its error (reported at its
            // position) and stopped the world.
            Err(None) => return Err(RunEnd::Aborted(pending(st))),
            // Not a bool: the mistake is in the invariant, so the error is
            // reported there rather than at the `sim.run()` it stopped.
            Err(Some(msg)) => {
                let mut p = st.pending_error.borrow_mut();
                if p.is_none() {
                    *p = Some(Box::new(EvalAltResult::ErrorRuntime(
                        Dynamic::from(msg.clone()),
                        inv.pos,
                    )));
                }
                drop(p);
                st.sim.abort(msg.clone());
                return Err(RunEnd::Aborted(msg));
            }
        }
    }
    Ok(())
}

/// The end-of-script check: a violation is an error at the invariant's
/// declaration.
pub fn at_end(st: &HostState) -> Result<(), Box<EvalAltResult>> {
    if !st.explore.has_invariants() || st.explore.violation.borrow().is_some() {
        return Ok(());
    }
    let invariants: Vec<Invariant> = st.explore.invariants.borrow().clone();
    for inv in &invariants {
        let r = eval(st, inv);
        let msg = match r {
            Ok(true) => continue,
            Ok(false) => violated(st, inv),
            Err(Some(m)) => m,
            Err(None) => {
                st.sim.take_abort();
                return match st.take_pending() {
                    Some(e) => Err(e),
                    None => crate::rt_err(format!("invariant \"{}\" failed", inv.name)),
                };
            }
        };
        return Err(Box::new(EvalAltResult::ErrorRuntime(
            Dynamic::from(msg),
            inv.pos,
        )));
    }
    Ok(())
}

/// `Ok(holds)`, `Err(None)` when the closure threw, `Err(Some(message))`
/// when it returned something other than a bool.
fn eval(st: &HostState, inv: &Invariant) -> Result<bool, Option<String>> {
    let v = st.call_ptr(&inv.f, ()).ok_or(None)?;
    v.as_bool().map_err(|_| {
        Some(format!(
            "sim.invariant(\"{}\") must return true or false, got {}",
            inv.name,
            a_value_of(&v)
        ))
    })
}

/// What kind of value `v` is, in words ("an integer", not Rhai's "i64").
fn a_value_of(v: &Dynamic) -> String {
    if v.is_int() {
        "an integer".into()
    } else if v.is_float() {
        "a decimal number".into()
    } else if v.is_string() {
        "a string".into()
    } else if v.is_char() {
        "a character".into()
    } else if v.is_unit() {
        "() (nothing: is a `;` after the last expression?)".into()
    } else if v.is_array() {
        "an array".into()
    } else if v.is_map() {
        "a map".into()
    } else if v.is_fnptr() {
        "a function".into()
    } else {
        format!("a {}", v.type_name())
    }
}

fn violated(st: &HostState, inv: &Invariant) -> String {
    let at = st.sim.now().as_secs_f64();
    *st.explore.violation.borrow_mut() = Some(Violation {
        name: inv.name.clone(),
        at,
    });
    format!("invariant \"{}\" violated at {at:.6} s", inv.name)
}

fn pending(st: &HostState) -> String {
    st.pending_error
        .borrow()
        .as_ref()
        .map(|e| e.to_string())
        .unwrap_or_else(|| "an invariant failed".into())
}
