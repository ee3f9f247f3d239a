//! Hook semantics (docs/hooks.md): a hook's value is the function's result,
//! `orig()` runs now, later or never, and every misuse is a positioned error
//! that leaves the world able to go on.

use crate::util::*;

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

const DOM: &str = "let dom = xm.create(#{ name: \"a\", devices: [\"vif/0\", \"vbd/51712\"] });\n";

#[test]
fn a_hooks_value_is_the_result_without_orig() {
    // The guest's xenbus handler reads control/shutdown (a relative path);
    // the hook answers "reboot" instead of asking xenstored, so the guest
    // reboots although xend asked for a poweroff.
    let h = ok(&format!(
        r#"{DOM}sim.run_for(120.0);
let id = hook("xs:read", |ctx| if ctx.args.path == "control/shutdown" {{ "reboot" }} else {{ ctx.orig() }});
on("guest:kernel_restart", |ctx| unhook(id));
xm.shutdown(dom);
sim.run();
let names = xm.list().map(|d| d.name);
assert_eq(names, ["Domain-0", "a"]);
assert_eq(xm.domain("a").id, 2);
"#
    ));
    let log = xend_log(&h);
    assert!(
        log.contains("Domain has shutdown: name=a id=1 reason=reboot."),
        "{log}"
    );
    assert!(!log.contains("reason=poweroff"), "{log}");
    // XendConfig gave the vif its MAC and uuid once: the restart keeps both.
    let vifs: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("createDevice: vif"))
        .map(|l| l.split_once("createDevice").unwrap().1)
        .collect();
    assert_eq!(vifs.len(), 2, "{log}");
    assert_eq!(vifs[0], vifs[1]);
}

#[test]
fn a_hook_without_orig_skips_the_function() {
    // _releaseDevices replaced by nothing: neither the device model nor any
    // device is destroyed. The backends still tidy up after their frontends
    // (netback/blkback see them vanish; udev runs xen-hotplug-cleanup), but
    // qemu-dm keeps running with the guest's memory mapped, so Xen cannot
    // free the domain: it stays dying — a zombie.
    let h = ok(&format!(
        r#"{DOM}hook("xend:XendDomainInfo._releaseDevices", |ctx| ());
xm.shutdown(dom);
sim.run();
assert_eq(dom.state, "dying");
assert(dom.qemu.alive, "qemu-dm still runs");
assert(xs.exists("/local/domain/0/device-model/1"));
assert(!xs.exists("/local/domain/0/backend/vif/1/0"), "hotplug cleanup removed the backend");
"#
    ));
    let log = xend_log(&h);
    assert_eq!(count(&log, "XendDomainInfo.destroyDevice"), 0, "{log}");
    assert!(log.contains("Domain has shutdown: name=a id=1 reason=poweroff."));
}

#[test]
fn orig_twice_is_an_error_at_the_second_call() {
    let (h, r) = run(&format!(
        r#"{DOM}hook("xend:XendDomainInfo._releaseDevices", |ctx| {{
    ctx.orig();
    ctx.orig();
}});
xm.shutdown(dom);
sim.run();
"#
    ));
    let e = r.expect_err("orig twice must fail");
    assert!(
        e.message.contains("ctx.orig() called twice"),
        "{}",
        e.message
    );
    assert_eq!(e.pos.map(|p| p.0), Some(4));
    // The function ran exactly once.
    let log = xend_log(&h);
    assert_eq!(count(&log, "deviceClass = vif"), 1, "{log}");
    assert_eq!(count(&log, "deviceClass = vbd"), 1, "{log}");
}

#[test]
fn orig_from_an_observer_is_an_error() {
    let (_h, r) = run(&format!(
        r#"{DOM}on("xend:XendDomainInfo._releaseDevices", |ctx| {{
    ctx.orig();
}});
xm.shutdown(dom);
sim.run();
"#
    ));
    let e = r.expect_err("orig from on() must fail");
    assert!(
        e.message.contains("ctx.orig() is for hook()"),
        "{}",
        e.message
    );
    assert_eq!(e.pos.map(|p| p.0), Some(3));
}

#[test]
fn a_throwing_hook_stops_the_world_and_it_can_go_on() {
    let (h, r) = run(&format!(
        r#"{DOM}hook("xend:XendDomainInfo.destroyDevice", |ctx| {{
    throw "no devices today";
}});
xm.shutdown(dom);
sim.run();
"#
    ));
    let e = r.expect_err("throw must fail");
    assert_eq!(e.message, "no devices today");
    assert_eq!(e.pos.map(|p| p.0), Some(3));
    let at_error = h.sim().now();
    // The hooked call ran on unhooked: the first device went as usual.
    let log = xend_log(&h);
    assert_eq!(count(&log, "deviceClass = vif"), 1, "{log}");
    assert_eq!(count(&log, "deviceClass = vbd"), 0, "{log}");
    // The world stopped, consistent: remove the hook and run it to its end.
    h.run(
        "more.rhai",
        "assert(unhook(1));\nassert(!unhook(1));\nsim.run();\nassert_eq(xm.list().len(), 1);\nassert(!xs.exists(\"/local/domain/1\"));\n",
    )
    .map(drop)
    .unwrap_or_else(|e| panic!("{}", e.render(false)));
    assert!(h.sim().now() >= at_error);
    let log = xend_log(&h);
    assert_eq!(count(&log, "deviceClass = vbd"), 1, "{log}");
}

#[test]
fn a_deferred_orig_keeps_the_call_suspended_until_it_runs() {
    // qemu-dm's destroy_hvm_domain five seconds late: until then the domain
    // is only shutting down, and xend sees nothing.
    let h = ok(&format!(
        r#"{DOM}hook("qemu:destroy_hvm_domain", |ctx| sim.after(5.0, || ctx.orig()));
let t0 = sim.now();
xm.shutdown(dom);
sim.run_for(4.0);
assert_eq(dom.state, "running");
sim.run();
assert_eq(dom.state, "destroyed");
"#
    ));
    let log = xend_log(&h);
    let shutdown = log
        .lines()
        .find(|l| l.contains("Domain has shutdown"))
        .expect("xend saw the shutdown");
    let first = log
        .lines()
        .find(|l| l.contains("handleShutdownWatch"))
        .unwrap();
    // The seconds field of `[YYYY-MM-DD HH:MM:SS pid]`.
    let secs = |l: &str| -> u32 {
        let t = &l[12..20];
        t[0..2].parse::<u32>().unwrap() * 3600
            + t[3..5].parse::<u32>().unwrap() * 60
            + t[6..8].parse::<u32>().unwrap()
    };
    assert!(secs(shutdown) - secs(first) >= 5, "{log}");
}

#[test]
fn a_kept_ctx_dropped_without_orig_returns_unit() {
    // The hook keeps ctx in a callback that never calls orig(): when the
    // callback has run and ctx is dropped, run_cmd returns () (0 as an int),
    // so /sbin/poweroff never ran and the guest keeps running.
    let h = ok(&format!(
        r#"{DOM}hook("guest:run_cmd", |ctx| sim.after(1.0, || {{ let p = ctx.probe; }}));
xm.shutdown(dom);
sim.run();
assert_eq(dom.state, "running");
"#
    ));
    let log = xend_log(&h);
    assert!(!log.contains("Domain has shutdown"), "{log}");
}

#[test]
fn a_domains_hook_only_sees_that_domain() {
    let h = ok(r#"let a = xm.create(#{ name: "a", devices: ["vif/0"] });
let b = xm.create(#{ name: "b", devices: ["vif/0"] });
let seen = [];
a.hook("guest:run_cmd", |ctx| ());
xm.shutdown(a);
xm.shutdown(b);
sim.run();
assert_eq(a.state, "running");
assert_eq(b.state, "destroyed");
"#);
    let log = xend_log(&h);
    assert!(log.contains("Domain has shutdown: name=b"), "{log}");
    assert!(!log.contains("Domain has shutdown: name=a"), "{log}");
}

#[test]
fn a_hook_of_the_wrong_type_is_an_error() {
    let (_h, r) = run(&format!(
        "{DOM}hook(\"guest:run_cmd\", |ctx| \"hello\");\nxm.shutdown(dom);\nsim.run();\n"
    ));
    let e = r.expect_err("wrong type must fail");
    assert!(
        e.message
            .contains("hook on guest:run_cmd returned the wrong type: expected an int"),
        "{}",
        e.message
    );
    // Reported in the hook (line 2), with the sim.run() that ran the
    // world (line 4) as the call it came through.
    assert_eq!(e.pos.map(|p| p.0), Some(2));
    assert!(e.calls.iter().any(|c| c.1 == 4), "{:?}", e.calls);
}

#[test]
fn observers_see_the_same_calls_whether_or_not_a_hook_boxes_them() {
    // An `on` observer alone lets each call run in place; with a `hook` on
    // the same probe every call is kept on the heap for it. The observer
    // must see the same calls, with the same arguments at the same times,
    // and the world must end the same way. (Within one instant the order
    // may differ: the hook's `orig()` runs the call now, the world running
    // on until it returns. A pass-through hook on a function that blocks
    // after its site would shift later times the same way, so the hooks
    // here are on requests, whose site is their entry.)
    ok(r#"
fn watch(with_hook) {
    let seen = [];
    on("xs:write", |ctx| seen.push(`${ctx.args.path}=${ctx.args.value}@${ctx.now}`));
    on("xs:read", |ctx| seen.push(`read ${ctx.args.path}@${ctx.now}`));
    // Sites after an entry log line, not at entry.
    on("xend:XendDomainInfo.destroyDevice", |ctx| seen.push(`destroy ${ctx.args.class}@${ctx.now}`));
    on("xend:XendDomainInfo.destroy", |ctx| seen.push(`destroy the domain@${ctx.now}`));
    if with_hook {
        // At entry, where orig() runs the request as the call would have.
        hook("xs:write", |ctx| ctx.orig());
        hook("xs:read", |ctx| ctx.orig());
    }
    let dom = xm.create(#{ name: "a", devices: ["vif/0", "vbd/51712"] });
    xm.shutdown(dom);
    sim.run();
    seen.push(`end ${dom.state}@${sim.stats().now}`);
    seen
}
let in_place = sim.in_new_world(|| watch(false));
let boxed = sim.in_new_world(|| watch(true));
assert(in_place.len() > 100, `only ${in_place.len()} calls seen`);
assert_eq(in_place.filter(|l| l.starts_with("destroy ")).len(), 3);
assert_eq(in_place[-1], boxed[-1]);
in_place.sort();
boxed.sort();
assert_eq(in_place, boxed);
"#);
}

#[test]
fn a_hook_an_observer_installs_replaces_from_the_next_call() {
    // The call at whose site the observer runs is already going on in place:
    // the hook takes every later call, not that one.
    ok(&format!(
        r#"{DOM}let seen = 0;
let replaced = 0;
on("xs:read", |ctx| {{
    seen += 1;
    if seen == 1 {{
        hook("xs:read", |c| {{ replaced += 1; c.orig() }});
    }}
}});
xm.shutdown(dom);
sim.run();
assert(seen > 5, `only ${{seen}} reads`);
assert_eq(replaced, seen - 1);
assert_eq(dom.state, "destroyed");
"#
    ));
}
