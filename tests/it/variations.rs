//! Change one thing from the seed's settings; the logs change the way the
//! reference says the real ones would. Expected values come from the
//! reference (line numbers, class order, messages), not from xsh's output.

use crate::util::*;

fn with_devices(devs: &str) -> String {
    format!(
        r#"sim.start_time = "2019-06-05 09:23:27";
xend.pid = 2164;
let dom = xm.create(#{{ name: "ubuntu-kdump", id: 8, type: "hvm", devices: [{devs}] }});
xm.shutdown(dom);
sim.run();
"#
    )
}

/// The `Removing ...` lines of the first release, in order.
fn removed(log: &str) -> Vec<String> {
    let mut out = Vec::new();
    for m in messages(log) {
        if let Some((_, d)) = m.split_once(") Removing ") {
            out.push(d.to_string());
        }
        if m.contains("Release running lock") || m.contains("No device model") {
            break;
        }
    }
    out
}

#[test]
fn release_follows_xends_class_order_not_the_config() {
    // Config order: vfb, vbd, vif/1, vif/0. xend's dict order: tap2, vif,
    // vkbd, ioports, tap, vif2, console, vscsi, vbd, irq, vfb, pci, vusb
    // (reference §2.10); within a class, creation order.
    let h = ok(&with_devices(r#""vfb/0", "vbd/768", "vif/1", "vif/0""#));
    assert_eq!(
        removed(&xend_log(&h)),
        ["vif/1", "vif/0", "vbd/768", "vfb/0"]
    );
}

#[test]
fn hide_devices_lines_follow_the_forced_devices() {
    // ovm-4.4.4's hide-devices watch is on each qemu-dm managed backend; each
    // fires three times when released: online, state, removal (docs/fidelity.md).
    let count_after_lock = |log: &str| {
        let m = messages(log);
        let at = m
            .iter()
            .position(|l| l.contains("Release running lock"))
            .expect("running lock line");
        m[at..]
            .iter()
            .take_while(|l| {
                l.contains("handleHideDevicesWatch") || l.contains("Release running lock")
            })
            .filter(|l| l.contains("handleHideDevicesWatch"))
            .count()
    };
    let one = ok(&with_devices(r#""vif/0", "vfb/0""#));
    assert_eq!(count_after_lock(&xend_log(&one)), 3);
    let none = ok(&with_devices(r#""vif/0", "vbd/51712""#));
    assert_eq!(count_after_lock(&xend_log(&none)), 0);
}

#[test]
fn name_domid_time_and_pid_show_where_the_real_xend_prints_them() {
    let h = ok(&scenario("2021-02-03 04:05:06", 777, 42, "").replace("ubuntu-kdump", "web01"));
    let log = xend_log(&h);
    assert!(log.contains(
        "[2021-02-03 04:05:06 777] DEBUG (XendDomainInfo:568) XendDomainInfo.shutdown(poweroff)\n"
    ));
    assert!(log.contains("[2021-02-03 04:05:07 777] INFO (XendDomainInfo:2211) Domain has shutdown: name=web01 id=42 reason=poweroff.\n"));
    assert!(log.contains("DEBUG (XendDomainInfo:3862) XendDomainInfo.destroy: domid=42\n"));
    assert!(log.contains("INFO (image:741) web01 device model terminated\n"));
    let q = file(&h, "qemu-dm-web01.log");
    assert!(contains_block(
        &q,
        "shutdown requested in cpu_handle_ioreq\nIssued domain 42 poweroff"
    ));
}

#[test]
fn upstream_profile_writes_the_predicted_upstream_log() {
    // reference §2.14/§2.15: upstream line numbers, no Oracle-only lines.
    let h = ok(&scenario("2019-06-05 09:23:27", 2164, 8, "").replacen(
        "sim.start_time",
        "sim.profile = \"upstream-4.4.4\";\nsim.start_time",
        1,
    ));
    let log = xend_log(&h);
    let m = messages(&log);
    let from = m
        .iter()
        .position(|l| l.ends_with("XendDomainInfo.shutdown(poweroff)"))
        .expect("shutdown line");
    let want = [
        "DEBUG (XendDomainInfo:526) XendDomainInfo.shutdown(poweroff)",
        "DEBUG (XendDomainInfo:1887) XendDomainInfo.handleShutdownWatch",
        "DEBUG (XendDomainInfo:1887) XendDomainInfo.handleShutdownWatch",
        "INFO (XendDomainInfo:2084) Domain has shutdown: name=ubuntu-kdump id=8 reason=poweroff.",
        "DEBUG (XendDomainInfo:3082) XendDomainInfo.destroy: domid=8",
        "DEBUG (XendDomainInfo:2407) Destroying device model",
        "INFO (image:615) ubuntu-kdump device model terminated",
        "DEBUG (XendDomainInfo:2414) Releasing devices",
        "DEBUG (XendDomainInfo:2420) Removing vif/0",
        "DEBUG (XendDomainInfo:1278) XendDomainInfo.destroyDevice: deviceClass = vif, device = vif/0",
        "DEBUG (XendDomainInfo:2420) Removing vkbd/0",
        "DEBUG (XendDomainInfo:1278) XendDomainInfo.destroyDevice: deviceClass = vkbd, device = vkbd/0",
        "DEBUG (XendDomainInfo:2420) Removing console/0",
        "DEBUG (XendDomainInfo:1278) XendDomainInfo.destroyDevice: deviceClass = console, device = console/0",
        "DEBUG (XendDomainInfo:2420) Removing vbd/51712",
        "DEBUG (XendDomainInfo:1278) XendDomainInfo.destroyDevice: deviceClass = vbd, device = vbd/51712",
        "DEBUG (XendDomainInfo:2420) Removing vfb/0",
        "DEBUG (XendDomainInfo:1278) XendDomainInfo.destroyDevice: deviceClass = vfb, device = vfb/0",
        // about 300 s later, the timer nobody cancelled (§2.8)
        "DEBUG (XendDomainInfo:2412) No device model",
        "DEBUG (XendDomainInfo:2414) Releasing devices",
    ];
    assert_eq!(&m[from..], &want[..], "xend.log:\n{log}");
    for oracle in [
        "Release running lock",
        "handleHideDevicesWatch",
        "destroyDevice.",
    ] {
        assert!(!log.contains(oracle), "upstream logs no {oracle:?}");
    }
}

#[test]
fn timer_cleanup_comes_300_seconds_after_the_request() {
    let h = ok(&scenario("2019-06-05 09:23:27", 2164, 8, ""));
    assert!(xend_log(&h)
        .contains("[2019-06-05 09:28:27 2164] DEBUG (XendDomainInfo:2589) No device model\n"));
}
