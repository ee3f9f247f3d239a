//! Issue 14: the rough edges a new user and a Xen engineer meet in the
//! first hour — the clock, the errors, the entry points. Each test here
//! failed before its fix.

use crate::util::{ok, run};

/// `sim.run_for(s)` ends with the clock at now + s, as SimPy's
/// `run(until=)` does, even when the world goes idle before then.
#[test]
fn run_for_ends_at_now_plus_s_even_when_idle() {
    ok(r#"
let t = sim.now();
sim.run_for(5.0);
assert_eq(sim.now(), t + 5.0, "an idle world still advances");
let dom = xm.create(#{ name: "h", type: "hvm", guest: "ubuntu-16.04" });
xm.shutdown(dom);
let t0 = sim.now();
sim.run_for(1000.0);           // xend's 300 s timer is the last event
assert_eq(dom.state, "destroyed");
assert_eq(sim.now(), t0 + 1000.0, "the clock ends at the deadline, not at the last event");
"#);
    let (_, r) = run("sim.run_for(-1.0);");
    assert!(r.is_err(), "a negative duration is still refused");
}
