//! xl and libxl on the host model (docs/xl.md, docs/reference-xl.md): each
//! test states what the reference predicts and checks the model does it.

use crate::util::{self, contains_block, file, ok, run, xend_log};

const HVM: &str = r#"#{ name: "ubuntu", id: 8, type: "hvm", guest: "ubuntu-16.04", devices: ["vif/0", "vbd/51712"] }"#;

fn xl_log(h: &xsh_script::Host, name: &str) -> String {
    file(h, &format!("xl-{name}.log"))
}

fn every_log(h: &xsh_script::Host) -> String {
    let logs = h.sim().logs.borrow();
    let mut all = format!("{}{}", logs.xend.text(), logs.xen.text());
    for s in logs.files.values() {
        all.push_str(s.text());
    }
    all
}

/// §8.1: an xl poweroff of an HVM guest ends destroyed; the monitor's log has
/// its five lines in order; xend never runs, so nothing is in xend's format.
#[test]
fn an_xl_poweroff_is_the_monitors_five_lines_and_no_xend() {
    let h = ok(&format!(
        r#"let dom = xl.create({HVM});
xl.shutdown(dom);
sim.run();
assert_eq(dom.state, "destroyed");"#
    ));
    let log = xl_log(&h, "ubuntu");
    let five = [
        "Waiting for domain ubuntu (domid 8) to die [pid ",
        "Domain 8 has shut down, reason code 0 0x0",
        "Action for shutdown reason code 0 is destroy",
        "Domain 8 needs to be cleaned up: destroying the domain",
        "Done. Exiting now",
    ];
    let mut at = 0;
    for line in five {
        let i = log[at..]
            .find(line)
            .unwrap_or_else(|| panic!("{line:?} missing after byte {at}:\n{log}"));
        at += i + line.len();
    }
    assert_eq!(xend_log(&h), "");
    assert_eq!(
        h.sim().toolstack.get(),
        Some(xsh_sim::toolstack::Toolstack::Xl)
    );
    let all = every_log(&h);
    assert!(
        !all.contains("XendDomainInfo") && !all.contains("DEBUG ("),
        "{all}"
    );
    // qemu-xen issued the poweroff and left its loop by itself: libxl's
    // SIGHUP finds nobody (reference §7.2).
    assert!(file(&h, "qemu-dm-ubuntu.log").contains("Issued domain 8 poweroff"));
    assert!(log
        .contains("libxl: error: libxl_dm.c:1499:kill_device_model: Device Model already exited"));
}

/// §8.2: reason code 1, restart, a new domid running, the same monitor.
#[test]
fn an_xl_reboot_restarts_with_a_new_domid() {
    let h = ok(&format!(
        r#"let dom = xl.create({HVM});
xl.reboot(dom);
sim.run_for(60);
assert_eq(dom.state, "destroyed");
let again = xl.domain("ubuntu");
assert(again.id != dom.id, "a new domid");
assert_eq(again.state, "running");
print(again.id);"#
    ));
    let log = xl_log(&h, "ubuntu");
    let restart = log
        .find("Action for shutdown reason code 1 is restart")
        .expect(&log);
    let reboot = log.find("Done. Rebooting now").expect(&log);
    assert!(restart < reboot, "{log}");
    let new_id = h.state.output.borrow().trim().to_string();
    let pid_of = |l: &str| l.rsplit("[pid ").next().map(str::to_string);
    let waits: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("Waiting for domain"))
        .collect();
    assert_eq!(waits.len(), 2, "{log}");
    assert!(waits[1].contains(&format!("(domid {new_id})")), "{log}");
    assert_eq!(pid_of(waits[0]), pid_of(waits[1]), "one monitor process");
    // The old qemu-xen stayed up after the reset and logged libxl's SIGHUP.
    assert!(file(&h, "qemu-dm-ubuntu.log.1").contains("qemu: terminating on signal 1 from pid "));
}

/// §8.3: without PV drivers `xl shutdown` fails with 4.4.4's words, writes
/// nothing, and the domain keeps running; xend would have forced it off.
#[test]
fn without_pv_drivers_xl_shutdown_fails_and_the_domain_runs_on() {
    let (h, r) = run(
        r#"let dom = xl.create(#{ name: "w2k8", type: "hvm", pv_drivers: false, devices: ["vif/0"] });
xl.shutdown(dom);"#,
    );
    let e = r.expect_err("xl shutdown fails").render(false);
    for l in [
        "Shutting down domain 1",
        "PV control interface not available: external graceful shutdown not possible.",
        "Use \"-F\" to fallback to ACPI power event.",
        "shutdown failed (rc=-10)",
    ] {
        assert!(e.contains(l), "{l:?} in {e}");
    }
    h.sim().run_until(None);
    assert_eq!(xsh_sim::host::domain_state(h.sim(), 1), "running");
    assert_eq!(
        h.sim()
            .xs
            .borrow()
            .peek("/local/domain/1/control/shutdown")
            .as_deref(),
        Some("")
    );
    assert_eq!(
        xl_log(&h, "w2k8").lines().count(),
        1,
        "only the monitor's first line"
    );
}

/// §7.4: each device model writes its own log on SIGHUP — qemu-xen names
/// the sender, qemu-dm writes nothing.
#[test]
fn each_device_model_answers_sighup_as_its_source_does() {
    for (dm, expect) in [("qemu-xen", true), ("qemu-xen-traditional", false)] {
        let h = ok(&format!(
            r#"let dom = xl.create(#{{ name: "g", devices: ["vif/0"], device_model_version: "{dm}" }});
let before = dom.qemu.log();
xl.destroy(dom);
sim.run();
assert_eq(dom.state, "destroyed");
print(dom.qemu.log().len() - before.len());"#
        ));
        let log = file(&h, "qemu-dm-g.log");
        let grew: usize = h.state.output.borrow().trim().parse().unwrap();
        if expect {
            // The sender is the `xl destroy` process: its pid is in the line.
            let line = log.lines().last().unwrap_or("");
            assert!(
                line.starts_with("qemu: terminating on signal 1 from pid "),
                "{log}"
            );
            assert!(grew > 0);
        } else {
            assert_eq!(grew, 0, "qemu-dm writes nothing on SIGHUP:\n{log}");
        }
        assert!(xl_log(&h, "g").contains("Domain 1 has been destroyed."));
    }
}

/// §1: a world runs one toolstack; each refuses the other as the real ones do.
#[test]
fn a_world_runs_one_toolstack() {
    let (_, r) = run(r#"xl.create(#{ name: "a" }); xm.list();"#);
    assert!(r
        .unwrap_err()
        .render(false)
        .contains("Unable to connect to xend: No such file or directory. Is xend running?"));
    let (h, r) =
        run(r#"let d = xm.create(#{ name: "a" }); print(xl.list().len()); xl.destroy(d);"#);
    let e = r.unwrap_err().render(false);
    assert!(
        e.contains("xend is running, which may cause unpredictable results"),
        "{e}"
    );
    assert_eq!(
        h.state.output.borrow().trim(),
        "2",
        "xl list works under xend"
    );
    let (_, r) = run(r#"xend.pid = 2164; sim.toolstack = "xl";"#);
    assert!(r.unwrap_err().render(false).contains("already runs xend"));
}

/// libxl's order (§6): every device is down before the Xen domain is
/// destroyed; xend destroys the domain first.
#[test]
fn libxl_destroys_the_xen_domain_after_its_devices_xend_before() {
    let order = |tool: &str| {
        let h = ok(&format!(
            r#"let d = {tool}.create({HVM});
{tool}.destroy(d);
sim.run();"#
        ));
        let ev = h.sim().trace.borrow();
        let kill = ev
            .calls
            .iter()
            .position(|c| c.probe.name() == "xen:domain_kill")
            .unwrap();
        let unreg = ev
            .calls
            .iter()
            .position(|c| c.probe.name() == "dom0:device_unregister")
            .unwrap();
        kill < unreg
    };
    assert!(order("xm"), "xend: xc.domain_destroy, then the devices");
    assert!(!order("xl"), "libxl: the devices, then xc_domain_destroy");
}

/// §5.2-5.3: a backend that never reaches Closed costs libxl 10 s and an
/// error, no hotplug script, and its paths are removed anyway.
#[test]
fn a_stuck_backend_costs_libxl_ten_seconds() {
    let h = ok(r#"let dom = xl.create(#{ name: "s", devices: ["vif/0"] });
xl.verbose = 3;
sim.fault(dom, "backend-stuck");
let t0 = sim.now();
xl.destroy(dom);
assert(sim.now() - t0 >= 10.0, "waited for Closed");
sim.run();
assert_eq(dom.state, "destroyed");
print(xl.output());"#);
    let out = h.state.output.borrow().clone();
    assert!(
        out.contains("backend /local/domain/0/backend/vif/1/0/state wanted state 6  timed out"),
        "{out}"
    );
    assert!(out.contains("libxl: error: libxl_device.c:933:device_backend_callback: unable to remove device with path /local/domain/0/backend/vif/1/0"), "{out}");
    assert!(!out.contains("vif-bridge offline"), "{out}");
    assert!(!h
        .sim()
        .xs
        .borrow()
        .exists_raw("/local/domain/0/backend/vif/1/0"));
}

/// §6: a device model that ignores SIGHUP: libxl goes on and the domain
/// stays dying (`(null)` in xl list); xend waits 10 s and sends SIGKILL.
#[test]
fn a_device_model_deaf_to_sighup() {
    let h = ok(
        r#"let dom = xl.create(#{ name: "z", devices: ["vif/0"], device_model_version: "qemu-xen-traditional" });
sim.fault(dom, "dm-ignores-sighup");
xl.destroy(dom);
sim.run();
assert_eq(dom.state, "dying");
assert(dom.qemu.alive);
let rows = xl.list();
assert_eq(rows[1].name, "(null)");
assert_eq(rows[1].state.sub_string(5, 1), "d");"#,
    );
    drop(h);
    let h = ok(r#"let dom = xm.create(#{ name: "z", devices: ["vif/0"] });
sim.fault(dom, "dm-ignores-sighup");
xm.destroy(dom);
sim.run();
assert_eq(dom.state, "destroyed");"#);
    assert!(xend_log(&h).contains("took more than 10s to terminate: sending SIGKILL"));
}

/// Stacks: gdb's `bt` of the monitor at the death callback, with the event
/// loop's frames (docs/xl.md's example), and a chain back to `xl shutdown`.
#[test]
fn the_monitor_prints_gdb_frames_and_a_chain_to_xl_shutdown() {
    let h = ok(&format!(
        r#"let shown = [];
on("libxl:domain_death_xswatch_callback", |ctx| shown.push(ctx.backtrace()));
let chains = [];
on("xl:handle_domain_death", |ctx| chains.push(ctx.chain()));
let dom = xl.create({HVM});
xl.shutdown(dom);
sim.run();
print(shown[shown.len() - 1]);
print("----");
print(chains[0]);"#
    ));
    let out = h.state.output.borrow().clone();
    let (bt, chain) = out.split_once("----\n").unwrap();
    assert!(
        contains_block(
            bt,
            "#0  domain_death_xswatch_callback () at libxl.c:988
#1  watchfd_callback () at libxl_event.c:519
#2  afterpoll_internal () at libxl_event.c:1007
#3  eventloop_iteration () at libxl_event.c:1472
#4  libxl_event_wait () at libxl_event.c:1496
#5  domain_wait_event () at xl_cmdimpl.c:2011
#6  create_domain () at xl_cmdimpl.c:2342
#7  main_create () at xl_cmdimpl.c:4423
#8  main () at xl.c:360"
        ),
        "{bt}"
    );
    let first = chain.lines().next().unwrap_or("");
    assert!(first.contains("xl shutdown (pid"), "{chain}");
    assert!(chain.contains("qemu-system-i386"), "{chain}");
    assert!(
        chain
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("")
            .contains("xl:handle_domain_death"),
        "{chain}"
    );
}

/// Two worlds in one script: each runs its own toolstack, the script's own
/// world is untouched, and its globals come back.
#[test]
fn in_new_world_runs_each_toolstack_apart() {
    let h = ok(r#"let cfg = #{ name: "g", devices: ["vif/0"] };
let a = sim.in_new_world(|| { let d = xm.create(cfg); xm.shutdown(d); sim.run(); [sim.toolstack, d.state] });
let b = sim.in_new_world(|| { let d = xl.create(cfg); xl.shutdown(d); sim.run(); [sim.toolstack, d.state] });
assert_eq(a, ["xm", "destroyed"]);
assert_eq(b, ["xl", "destroyed"]);
assert_eq(sim.toolstack, ());
assert_eq(xl.list().len(), 1);"#);
    assert_eq!(h.sim().toolstack.get(), None);
}

/// Same script, same seed: the same bytes in every log, twice.
#[test]
fn xl_runs_are_deterministic() {
    let src = format!(
        r#"xl.verbose = 3;
let dom = xl.create({HVM});
xl.reboot(dom);
sim.run_for(30);
xl.destroy(xl.domain("ubuntu"));
sim.run();"#
    );
    let (a, _) = util::run(&src);
    let (b, _) = util::run(&src);
    assert_eq!(every_log(&a), every_log(&b));
    assert!(xl_log(&a, "ubuntu").contains("Domain 9 has been destroyed."));
}
