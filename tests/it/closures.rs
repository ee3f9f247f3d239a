//! A closure shares the variables it captures with the script, whatever the
//! script did first: counting calls with `on` after `xm.create` is the
//! first thing many scripts do. The globals (`sim`, `xm`, ...) are resolved
//! by xsh, never added to the script's variables behind its back, so Rhai's
//! own bookkeeping of where each variable is stays right.

use crate::util::*;

#[test]
fn a_counter_declared_before_the_first_global_is_shared_with_the_hook() {
    ok(r#"
let writes = 0;
let reads = 0;
let dom = xm.create(#{ name: "a", devices: ["vif/0"] });
on("xs:write", |ctx| writes += 1);
on("xs:read", |ctx| reads += 1);
let bump = || reads += 1000;
bump.call();
xm.shutdown(dom);
sim.run();
assert(writes > 5, `writes: ${writes}`);
assert(reads > 1000, `reads: ${reads}`);
"#);
}

#[test]
fn the_same_holds_inside_a_function() {
    ok(r#"
fn count_reads() {
    let n = 0;
    let dom = xm.create(#{ name: "a", devices: ["vif/0"] });
    on("xs:read", |ctx| n += 1);
    xm.shutdown(dom);
    sim.run();
    n
}
let n = count_reads();
assert(n > 10, `reads: ${n}`);
"#);
}

#[test]
fn a_function_sets_a_globals_property() {
    ok(r#"
fn configure() {
    sim.xenstored = "c";
    xend.pid = 4242;
}
configure();
assert_eq(sim.xenstored, "c");
assert_eq(xend.pid, 4242);
"#);
}

#[test]
fn a_helper_closure_called_in_a_new_world_acts_on_that_world() {
    // `helper` captured this world's `xm` and `sim` when it was made; called
    // inside `sim.in_new_world` it must create, run and hook there.
    ok(r#"
let helper = |name| {
    let writes = 0;
    on("xs:write", |ctx| writes += 1);
    let d = xm.create(#{ name: name, devices: ["vif/0"] });
    xm.shutdown(d);
    sim.run();
    [writes, d.state, xm.list().len()]
};
let inside = sim.in_new_world(|| helper.call("inner"));
assert(inside[0] > 10, `writes seen inside: ${inside[0]}`);
assert_eq(inside[1], "destroyed");
assert_eq(xm.list().len(), 1, "nothing was created out here");
"#);
}
