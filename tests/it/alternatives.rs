//! The other ways a shutdown can go (reference: guest-and-qemu.md §8,
//! xen-toolstack-hypervisor.md §2): for each, the lines that must and must not
//! appear, the domain's final state and what xenstore holds.

use crate::util::*;

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

#[test]
fn pm_power_off_null_halts_and_xen_powers_off() {
    let h = ok(
        r#"let dom = xm.create(#{ name: "noacpi", id: 3, devices: ["vif/0"] });
dom.kernel.pm_power_off = ();
xm.shutdown(dom); sim.run();
assert_eq(dom.state, "destroyed");"#,
    );
    let console = file(&h, "console-noacpi.log");
    assert!(console.contains("reboot: System halted"));
    assert!(!console.contains("reboot: Power down"));
    assert!(
        !file(&h, "qemu-dm-noacpi.log").contains("shutdown requested"),
        "no ioreq reaches qemu-dm"
    );
    assert!(
        xend_log(&h).contains("Domain has shutdown: name=noacpi id=3 reason=poweroff."),
        "Xen's own domain_shutdown uses SHUTDOWN_poweroff"
    );
    assert!(!h.sim().xs.borrow().exists_raw("/local/domain/3"));
}

#[test]
fn hvm_without_pv_drivers_is_stopped_hard() {
    let h = ok(
        r#"let dom = xm.create(#{ name: "w2k8", id: 4, pv_drivers: false, devices: ["vif/0"] });
xm.shutdown(dom); sim.run();
assert_eq(dom.state, "destroyed");"#,
    );
    let m = messages(&xend_log(&h));
    let at = m
        .iter()
        .position(|l| l.ends_with("XendDomainInfo.shutdown(poweroff)"))
        .unwrap();
    assert_eq!(
        m[at + 1],
        "INFO (XendDomainInfo:585) HVM save:remote shutdown dom 4!"
    );
    assert_eq!(
        m[at..]
            .iter()
            .filter(|l| l.ends_with("handleShutdownWatch"))
            .count(),
        1,
        "no acknowledgement"
    );
    assert!(
        !file(&h, "console-w2k8.log").contains("Shutting down"),
        "the guest OS is never told"
    );
    assert!(!file(&h, "qemu-dm-w2k8.log").contains("shutdown requested"));
}

#[test]
fn pvhvm_without_platform_pci_times_out_and_keeps_running() {
    let h = ok(
        r#"let dom = xm.create(#{ name: "nopci", id: 5, platform_pci: false, devices: ["vif/0"] });
xm.shutdown(dom); sim.run_for(301);
assert_eq(dom.state, "running");"#,
    );
    let xs = h.sim().xs.borrow();
    assert_eq!(
        xs.peek("/local/domain/5/xend/unresponsive").as_deref(),
        Some("True")
    );
    assert_eq!(
        xs.peek("/local/domain/5/control/shutdown").as_deref(),
        Some("poweroff"),
        "never acknowledged"
    );
    let log = xend_log(&h);
    assert!(log.contains("[2019-06-05 09:28:27 2164] INFO (XendDomainInfo:2247) Domain shutdown timeout expired: name=nopci id=5\n"));
    assert!(!log.contains("Domain has shutdown"));
}

#[test]
fn poweroff_that_cannot_exec_is_acknowledged_then_ignored() {
    let h = ok(
        r#"let dom = xm.create(#{ name: "nocmd", id: 6, devices: ["vif/0"] });
dom.kernel.remove_file("/sbin/poweroff");
xm.shutdown(dom); sim.run_for(301);
assert_eq(dom.state, "running");"#,
    );
    assert_eq!(
        h.sim()
            .xs
            .borrow()
            .peek("/local/domain/6/control/shutdown")
            .as_deref(),
        Some("")
    );
    assert!(xend_log(&h).contains("Domain shutdown timeout expired: name=nocmd id=6"));
}

#[test]
fn hung_init_and_a_swallowed_run_cmd_leave_the_guest_running() {
    for setup in [
        r#"dom.kernel.init = "hung";"#,
        r#"dom.hook("guest:run_cmd", |ctx| 0);"#,
    ] {
        let h = ok(&format!(
            "let dom = xm.create(#{{ name: \"h\", id: 7, devices: [\"vif/0\"] }});\n{setup}\nxm.shutdown(dom); sim.run_for(301);\nassert_eq(dom.state, \"running\");"
        ));
        assert!(
            xend_log(&h).contains("Domain shutdown timeout expired: name=h id=7"),
            "{setup}"
        );
        assert!(
            !file(&h, "console-h.log").contains("Shutting down."),
            "{setup}"
        );
    }
}

#[test]
fn pv_guest_shuts_itself_down_without_qemu_dm() {
    let h = ok(
        r#"let dom = xm.create(#{ name: "pv1", id: 9, type: "pv", devices: ["vif/0", "vbd/51712"] });
assert_eq(dom.qemu, ());
xm.shutdown(dom); sim.run();
assert_eq(dom.state, "destroyed");
let ioreqs = sim.events().filter(|e| e.probe == "xen:hvm_send_assist_req");
assert_eq(ioreqs.len(), 0);
let own = sim.events().filter(|e| e.probe == "xen:do_sched_op" && e.context.contains("PID 1"));
assert_eq(own.len(), 1);"#,
    );
    assert!(file(&h, "console-pv1.log").contains("reboot: System halted"));
    assert!(xend_log(&h).contains("Domain has shutdown: name=pv1 id=9 reason=poweroff."));
    assert!(!xend_log(&h).contains("Destroying device model"));
}

#[test]
fn xm_reboot_goes_through_the_keyboard_controller_and_restarts() {
    let h = ok(
        r#"let dom = xm.create(#{ name: "web", id: 10, devices: ["vif/0", "vbd/51712"] });
sim.run_for(120);
xm.reboot(dom); sim.run_for(10);
assert_eq(dom.state, "destroyed");
let again = xm.domain("web");
assert(again.id != 10, "a new domid");
assert_eq(again.state, "running");"#,
    );
    let old = file(&h, "qemu-dm-web.log.1");
    assert!(
        contains_block(
            &old,
            "reset requested in cpu_handle_ioreq.\nIssued domain 10 reboot"
        ),
        "{old}"
    );
    assert!(file(&h, "console-web.log").contains("reboot: Restarting system"));
    assert!(xend_log(&h).contains("Domain has shutdown: name=web id=10 reason=reboot."));
}

#[test]
fn reboot_within_a_minute_of_start_is_refused() {
    let h = ok(
        r#"let dom = xm.create(#{ name: "web", devices: ["vif/0"] });
xm.reboot(dom); sim.run_for(10);
assert_eq(dom.state, "destroyed");
assert_eq(xm.list().len(), 1);"#,
    );
    assert!(xend_log(&h).contains("restarting too fast (Elapsed time: "));
    assert!(xend_log(&h).contains("Refusing to restart to avoid loops."));
}

fn panic_with(on_crash: &str, extra: &str) -> xsh_script::Host {
    ok(&format!(
        r#"let dom = xm.create(#{{ name: "oops", id: 11, on_crash: "{on_crash}", devices: ["vif/0"] }});
sim.run_for(120);
dom.kernel.panic("Attempted to kill the idle task!");
sim.run_for(30);
{extra}"#
    ))
}

#[test]
fn guest_panic_runs_on_crash() {
    let h = panic_with("destroy", r#"assert_eq(xm.list().len(), 1);"#);
    assert!(
        xend_log(&h).contains("WARNING (XendDomainInfo:2194) Domain has crashed: name=oops id=11.")
    );
    assert!(file(&h, "console-oops.log")
        .contains("Kernel panic - not syncing: Attempted to kill the idle task!"));

    let h = panic_with(
        "coredump-destroy",
        r#"assert_eq(xend.core_dumps().len(), 1); assert(xend.core_dumps()[0].ends_with("-oops.11.core"));"#,
    );
    assert!(xend_log(&h).contains("XendDomainInfo.destroy: domid=11"));

    let h = panic_with(
        "preserve",
        r#"assert_eq(xm.domain("oops").state, "crashed");"#,
    );
    assert!(xend_log(&h).contains("Preserving dead domain oops (11)."));
    assert_eq!(
        h.sim()
            .xs
            .borrow()
            .peek("/local/domain/11/xend/shutdown_completed")
            .as_deref(),
        Some("True")
    );

    let h = panic_with(
        "restart",
        r#"let d = xm.domain("oops"); assert(d.id != 11); assert_eq(d.state, "running");"#,
    );
    assert!(!xend_log(&h).contains("restarting too fast"));

    let h = panic_with(
        "rename-restart",
        r#"let d = xm.domain("oops"); assert(d.id != 11); assert_eq(d.state, "running"); assert_eq(xm.list().len(), 3);"#,
    );
    assert!(xend_log(&h).contains("Renaming dead domain oops (11, "));
}

#[test]
fn xm_destroy_cleans_up_twice() {
    let h = ok(
        r#"let dom = xm.create(#{ name: "gone", id: 12, devices: ["vif/0", "vkbd/0", "vbd/51712", "vfb/0"] });
xm.destroy(dom); sim.run();
assert_eq(dom.state, "destroyed");"#,
    );
    let log = xend_log(&h);
    assert!(!log.contains("Domain has shutdown"));
    let m = messages(&log);
    let second = m
        .iter()
        .position(|l| l.ends_with("No device model"))
        .expect("the second cleanupDomain");
    let block: Vec<&String> = m[second..]
        .iter()
        .take_while(|l| !l.contains("Release running lock"))
        .collect();
    let removed: Vec<&str> = block
        .iter()
        .filter_map(|l| l.split_once(") Removing ").map(|(_, d)| d))
        .collect();
    assert_eq!(
        removed,
        ["vif/0", "vbd/51712"],
        "only the unforced devices are still listed under /vm"
    );
}

#[test]
fn power_button_needs_no_control_shutdown() {
    let h = ok(
        r#"let dom = xm.create(#{ name: "button", id: 13, devices: ["vif/0"] });
xm.trigger(dom, "power"); sim.run();
assert_eq(dom.state, "destroyed");"#,
    );
    let log = xend_log(&h);
    assert_eq!(
        count(&log, "handleShutdownWatch"),
        1,
        "only the watch's registration"
    );
    assert!(!log.contains("No device model"), "no 300 s timer was armed");
    assert!(contains_block(
        &file(&h, "qemu-dm-button.log"),
        "shutdown requested in cpu_handle_ioreq\nIssued domain 13 poweroff"
    ));
}

#[test]
fn qemu_dm_dying_crashes_the_domain() {
    let h = ok(
        r#"let dom = xm.create(#{ name: "fragile", id: 14, on_crash: "destroy", devices: ["vif/0"] });
sim.run_for(1);
let pid = dom.qemu.pid;
dom.qemu.kill(11);
sim.run_for(30);
assert_eq(dom.state, "destroyed");"#,
    );
    let log = xend_log(&h);
    let pid = log
        .split("device model pid: ")
        .nth(1)
        .and_then(|s| s.lines().next())
        .unwrap()
        .to_string();
    assert!(log.contains(&format!("WARNING (image:678) domain fragile: device model failure: pid {pid}: was killed by signal 11; see /var/log/xen/qemu-dm-fragile.log \n")));
    assert!(log.contains("Domain has crashed: name=fragile id=14."));
    assert!(!log.contains("fragile device model terminated"));
}

#[test]
fn sysrq_o_powers_off_without_init() {
    let h = ok(
        r#"let dom = xm.create(#{ name: "rq", id: 15, devices: ["vif/0"] });
xs.write("/local/domain/15/control/sysrq", "o");
sim.run_for(2);
assert_eq(dom.state, "destroyed");"#,
    );
    let c = file(&h, "console-rq.log");
    assert!(c.contains("sysrq: SysRq : Power Off"));
    assert!(!c.contains("systemd[1]: Shutting down."));
    assert!(c.contains("reboot: Power down"));
}

#[test]
fn xends_race_between_watcher_and_restart_thread_is_a_seeded_choice() {
    let src = r#"xend.preempt = 0.7;
let dom = xm.create(#{ name: "r", devices: ["vif/0"] });
on("xend:XendDomainInfo.cleanupDomain", |ctx| { let s = ctx.stack(); print(s[s.len() - 2].function); });
xm.shutdown(dom); sim.run_for(5);"#;
    let mut first_by = std::collections::BTreeSet::new();
    for seed in 1..=10 {
        let (h, r) = run_seeded(src, seed);
        r.expect("runs");
        let out = h.state.output.borrow().clone();
        first_by.insert(out.lines().next().unwrap_or("").to_string());
    }
    // §2.13: the Watcher may do the real cleanup (refreshShutdown of a dying
    // domain) or the restart thread may (destroy); with preemption both happen.
    assert!(
        first_by.contains("XendDomainInfo.refreshShutdown"),
        "{first_by:?}"
    );
    assert!(first_by.contains("XendDomainInfo.destroy"), "{first_by:?}");
}
