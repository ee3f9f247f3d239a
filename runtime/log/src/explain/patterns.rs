//! Every message the model writes, as a pattern: the probe whose code
//! writes it, the xend source line it is logged at (for the ovm-4.4.4 /
//! upstream-4.4.4 check), and the causal step it stands for
//! (`reference/seed-path.md`'s numbering where the seed's path has one).
//!
//! Patterns match messages, not line numbers, so a log from either build
//! (or a build with other line numbers) is explained the same way. `{}` is
//! any text; the first pattern that matches wins, so the specific come
//! before the general. A test runs every script in `scripts/` and checks
//! that each line it writes is matched here.

use xsh_sim::toolstack::xend::lines::L;

use crate::format::Format;

/// A message the model writes.
#[derive(Debug)]
pub struct Pattern {
    /// The log it appears in.
    pub format: Format,
    /// The writer's module or program, when the message alone is not enough
    /// (`systemd-shutdown` for `systemd-shutdown[1]: ...`).
    pub module: Option<&'static str>,
    /// The message, `{}` standing for any text.
    pub template: &'static str,
    /// The probe whose code writes it; `None`: code of the model that is not
    /// a probe (the guest's boot, qemu-dm's start-up).
    pub probe: Option<&'static str>,
    /// xend's source line (both builds' numbers).
    pub line: Option<L>,
    /// The causal step.
    pub step: &'static str,
}

// The seed's path (reference/seed-path.md), by step number.
const S2: &str = "2: xend stores control/shutdown = poweroff in a transaction";
const S4: &str = "4: the control/shutdown watch fires in xend's Watcher; it arms the 300 s timer";
const S9: &str = "9: systemd stops the units of poweroff.target";
const S10: &str = "10: PID 1 execs systemd-shutdown: SIGTERM, SIGKILL, unmounts, reboot(2)";
const S12: &str = "12: kernel_power_off: reboot notifiers, device_shutdown, ACPI prepare";
const S14: &str = "14: acpi_power_off writes SLP_TYP|SLP_EN to PM1a_CNT (0xb004)";
const S17: &str = "17: qemu-dm sees S5 with SLP_EN on PM1a_CNT: shutdown requested";
const S19: &str = "19: qemu-dm issued SCHEDOP_remote_shutdown(poweroff) for the domain";
const S22: &str = "22: @releaseDomain: xend's refreshShutdown sees the domain shut down";
const S24: &str = "24: the restart thread destroys the domain (on_poweroff = destroy)";
const S25: &str = "25: cleanupDomain → _releaseDevices: SIGHUP to qemu-dm";
const S26: &str = "26: the sentinel thread sees qemu-dm gone";
const S27: &str = "27: devices released in xend's dict order of classes";
const S28: &str = "28: each device's backend is closed (forced classes removed)";
const S29: &str = "29: /local/domain/<id> and /vm/<uuid> removed; ovm releases its running lock";
const S31: &str = "31: ovm's hide-devices watch fires on the hotplug removals";
const S33: &str = "33: the 300 s timer's late refreshShutdown cleans up again";
const CREATE: &str = "xm create: xend builds the domain, its devices and its device model";
const QEMU_START: &str = "qemu-dm starts: xend's createDeviceModel forked it, stdout on this log";
const BOOT: &str = "the guest boots (before xm shutdown)";
const CRASH: &str = "the guest crashed: xend runs on_crash";
const RESTART: &str = "on_* = restart: xend restarts the domain, or refuses to";
const REBOOT: &str = "reboot: keyboard-controller or ACPI reset → SHUTDOWN_reboot";
const HARD: &str = "HVM without PV drivers: xend shuts the domain down itself";
const TIMEOUT: &str = "the 300 s shutdown timer fired while the domain still ran";
const BUTTON: &str =
    "xm trigger power: the ACPI power button reaches systemd-logind, which starts poweroff.target";
const DM_FAIL: &str = "qemu-dm died on its own: the domain is crashed";
const SYSV: &str = "9 (sysvinit): halt runs the runlevel-0 scripts";
const PANIC: &str = "the guest kernel panicked";

macro_rules! p {
    ($f:ident, $m:expr, $t:literal, $p:expr, $l:expr, $s:expr) => {
        Pattern {
            format: Format::$f,
            module: $m,
            template: $t,
            probe: $p,
            line: $l,
            step: $s,
        }
    };
}

const X: Option<&str> = None;

/// Every pattern, specific before general within a format.
pub static PATTERNS: &[Pattern] = &[
    // ---- xend.log: the shutdown path ----
    p!(
        Xend,
        X,
        "XendDomainInfo.shutdown({})",
        Some("xend:XendDomainInfo.shutdown"),
        Some(L::ShutdownLog),
        S2
    ),
    p!(
        Xend,
        X,
        "HVM save:remote shutdown dom {}!",
        Some("xend:XendDomainInfo.shutdown"),
        Some(L::HvmRemoteLog),
        HARD
    ),
    p!(
        Xend,
        X,
        "XendDomainInfo.handleShutdownWatch",
        Some("xend:XendDomainInfo._handleShutdownWatch"),
        Some(L::HandleShutdownLog),
        S4
    ),
    p!(
        Xend,
        X,
        "XenDomainInfo.handleHideDevicesWatch",
        Some("xend:XendDomainInfo.handleHideDevicesWatch"),
        Some(L::HideDevicesLog),
        S31
    ),
    p!(
        Xend,
        X,
        "Domain has shutdown: name={} id={} reason={}.",
        Some("xend:XendDomainInfo.refreshShutdown"),
        Some(L::ShutdownSeenLog),
        S22
    ),
    p!(
        Xend,
        X,
        "Domain has crashed: name={} id={}.",
        Some("xend:XendDomainInfo.refreshShutdown"),
        Some(L::CrashedLog),
        CRASH
    ),
    p!(
        Xend,
        X,
        "Domain shutdown timeout expired: name={} id={}",
        Some("xend:XendDomainInfo.refreshShutdown"),
        Some(L::TimeoutLog),
        TIMEOUT
    ),
    p!(
        Xend,
        X,
        "XendDomainInfo.destroy: domain destruction failed.",
        Some("xend:XendDomainInfo.destroy"),
        Some(L::DestroyFailedLog),
        S24
    ),
    p!(
        Xend,
        X,
        "XendDomainInfo.destroy: domid={}",
        Some("xend:XendDomainInfo.destroy"),
        Some(L::DestroyLog),
        S24
    ),
    p!(
        Xend,
        X,
        "Destroying device model",
        Some("xend:XendDomainInfo._releaseDevices"),
        Some(L::DestroyingDm),
        S25
    ),
    p!(
        Xend,
        X,
        "No device model",
        Some("xend:XendDomainInfo._releaseDevices"),
        Some(L::NoDm),
        S33
    ),
    p!(
        Xend,
        X,
        "Releasing devices",
        Some("xend:XendDomainInfo._releaseDevices"),
        Some(L::ReleasingDevices),
        S27
    ),
    p!(
        Xend,
        X,
        "Removing {}",
        Some("xend:XendDomainInfo._releaseDevices"),
        Some(L::RemovingDev),
        S27
    ),
    p!(
        Xend,
        X,
        "XendDomainInfo.destroyDevice: deviceClass = {}, device = {}",
        Some("xend:XendDomainInfo.destroyDevice"),
        Some(L::DestroyDeviceLog),
        S28
    ),
    p!(
        Xend,
        X,
        "Waiting for {} - destroyDevice.",
        Some("xend:DevController.waitForDevice_destroy"),
        Some(L::WaitDestroyLog),
        S28
    ),
    p!(
        Xend,
        X,
        "Release running lock: status={}, output={}",
        Some("xend:XendDomainInfo._releaseRunningLock"),
        Some(L::RunningLockLog),
        S29
    ),
    p!(
        Xend,
        X,
        "{} device model terminated",
        Some("xend:image._sentinel_watch"),
        Some(L::SentinelTerminated),
        S26
    ),
    p!(
        Xend,
        X,
        "DeviceModel {} took more than 10s to terminate: sending SIGKILL",
        Some("xend:image.destroyDeviceModel"),
        Some(L::DmKillWarn),
        S25
    ),
    p!(
        Xend,
        X,
        "Xend failed during restart of domain {}.  Refusing to restart to avoid loops.",
        Some("xend:XendDomainInfo._restart"),
        Some(L::RestartLoopLog),
        RESTART
    ),
    p!(
        Xend,
        X,
        "VM {} restarting too fast (Elapsed time: {} seconds). Refusing to restart to avoid loops.",
        Some("xend:XendDomainInfo._restart"),
        Some(L::RestartFastLog),
        RESTART
    ),
    p!(
        Xend,
        X,
        "Failed to restart domain {}.",
        Some("xend:XendDomainInfo._restart"),
        Some(L::RestartFailedLog),
        RESTART
    ),
    p!(
        Xend,
        X,
        "Preserving dead domain {} ({}).",
        Some("xend:XendDomainInfo._preserve"),
        Some(L::PreserveLog),
        "on_* = preserve: the dead domain is kept"
    ),
    p!(
        Xend,
        X,
        "Renaming dead domain {} ({}, {}) to {} ({}).",
        Some("xend:XendDomainInfo._preserveForRestart"),
        Some(L::RenameLog),
        RESTART
    ),
    // ---- xend.log: creation ----
    p!(
        Xend,
        X,
        "XendDomainInfo.create({})",
        Some("xend:XendDomain.domain_create"),
        Some(L::CreateLog),
        CREATE
    ),
    p!(
        Xend,
        X,
        "XendDomainInfo.constructDomain",
        Some("xend:XendDomainInfo.start"),
        Some(L::ConstructLog),
        CREATE
    ),
    p!(
        Xend,
        X,
        "Adding Domain: {}",
        Some("xend:XendDomain.domain_create"),
        Some(L::AddDomainLog),
        CREATE
    ),
    p!(
        Xend,
        X,
        "XendDomainInfo.initDomain: {}",
        Some("xend:XendDomainInfo.start"),
        Some(L::InitDomainLog),
        CREATE
    ),
    p!(
        Xend,
        X,
        "createDevice: {} : {}",
        Some("xend:XendDomainInfo.start"),
        Some(L::CreateDeviceLog),
        CREATE
    ),
    p!(
        Xend,
        X,
        "Storing VM details: {}",
        Some("xend:XendDomainInfo.start"),
        Some(L::StoreVmLog),
        CREATE
    ),
    p!(
        Xend,
        X,
        "Storing domain details: {}",
        Some("xend:XendDomainInfo.start"),
        Some(L::StoreDomLog),
        CREATE
    ),
    p!(
        Xend,
        X,
        "Waiting for devices {}.",
        Some("xend:XendDomainInfo.start"),
        Some(L::WaitingForDevices),
        CREATE
    ),
    p!(
        Xend,
        X,
        "Waiting for {}.",
        Some("xend:XendDomainInfo.start"),
        Some(L::WaitingFor),
        CREATE
    ),
    p!(
        Xend,
        X,
        "hotplugStatusCallback /{}.",
        Some("xend:XendDomainInfo.start"),
        Some(L::HotplugCbPath),
        CREATE
    ),
    p!(
        Xend,
        X,
        "hotplugStatusCallback {}.",
        Some("xend:XendDomainInfo.start"),
        Some(L::HotplugCbStatus),
        CREATE
    ),
    p!(
        Xend,
        X,
        "spawning device models: {}",
        Some("xend:XendDomainInfo.start"),
        Some(L::SpawningDm),
        CREATE
    ),
    p!(
        Xend,
        X,
        "device model pid: {}",
        Some("xend:XendDomainInfo.start"),
        Some(L::DmPid),
        CREATE
    ),
    p!(
        Xend,
        X,
        "waiting for sentinel_fifo",
        Some("xend:image._sentinel_watch"),
        Some(L::SentinelWaiting),
        CREATE
    ),
    p!(
        Xend,
        X,
        "domain {}: {}",
        Some("xend:image._dmfailed"),
        Some(L::DmFailedLog),
        DM_FAIL
    ),
    // ---- qemu-dm-<name>.log ----
    p!(
        QemuDm,
        X,
        "shutdown requested in cpu_handle_ioreq",
        Some("qemu:cpu_handle_ioreq"),
        None,
        S17
    ),
    p!(
        QemuDm,
        X,
        "reset requested in cpu_handle_ioreq.",
        Some("qemu:cpu_handle_ioreq"),
        None,
        REBOOT
    ),
    p!(
        QemuDm,
        X,
        "I/O request not ready: {}",
        Some("qemu:cpu_handle_ioreq"),
        None,
        "qemu-dm polled an ioreq that was not ready"
    ),
    p!(
        QemuDm,
        X,
        "Issued domain {} poweroff",
        Some("qemu:destroy_hvm_domain"),
        None,
        S19
    ),
    p!(
        QemuDm,
        X,
        "? xc_domain_shutdown failed to issue poweroff, sts {}",
        Some("qemu:destroy_hvm_domain"),
        None,
        S19
    ),
    p!(
        QemuDm,
        X,
        "Issued domain {} reboot",
        Some("qemu:cpu_reset"),
        None,
        REBOOT
    ),
    p!(
        QemuDm,
        X,
        "? xc_domain_shutdown failed to issue reboot, sts {}",
        Some("qemu:cpu_reset"),
        None,
        REBOOT
    ),
    p!(QemuDm, X, "domid: {}", None, None, QEMU_START),
    p!(
        QemuDm,
        X,
        "-videoram option does not work with cirrus vga device model. Videoram set to {}",
        None,
        None,
        QEMU_START
    ),
    p!(
        QemuDm,
        X,
        "Using file {} in read-write mode",
        None,
        None,
        QEMU_START
    ),
    p!(QemuDm, X, "Watching {}", None, None, QEMU_START),
    p!(
        QemuDm,
        X,
        "qemu_map_cache_init nr_buckets = {} size {}",
        None,
        None,
        QEMU_START
    ),
    p!(QemuDm, X, "shared page at pfn {}", None, None, QEMU_START),
    p!(
        QemuDm,
        X,
        "buffered io page at pfn {}",
        None,
        None,
        QEMU_START
    ),
    p!(QemuDm, X, "Guest uuid = {}", None, None, QEMU_START),
    p!(
        QemuDm,
        X,
        "populating video RAM at {}",
        None,
        None,
        QEMU_START
    ),
    p!(
        QemuDm,
        X,
        "mapping video RAM from {}",
        None,
        None,
        QEMU_START
    ),
    p!(QemuDm, X, "Register xen platform.", None, None, QEMU_START),
    p!(QemuDm, X, "Done register platform.", None, None, QEMU_START),
    // ---- the Xen console ----
    p!(
        XenConsole,
        X,
        "hvm.c:{}:d{} All CPUs offline -- powering off.",
        Some("xen:hvm_vcpu_down"),
        None,
        "every vCPU halted with interrupts off: Xen powers the domain off"
    ),
    p!(
        XenConsole,
        X,
        "hvm.c:{}:d{} Triple fault on VCPU{} - invoking HVM system reset.",
        Some("xen:hvm_triple_fault"),
        None,
        REBOOT
    ),
    p!(
        XenConsole,
        X,
        "Domain {} reported crashed by domain {} on cpu#{}:",
        Some("xen:__domain_crash"),
        None,
        CRASH
    ),
    p!(
        XenConsole,
        X,
        "Domain {} (vcpu#{}) crashed on cpu#{}:",
        Some("xen:__domain_crash"),
        None,
        CRASH
    ),
    // ---- the guest's console ----
    p!(
        LinuxConsole,
        Some("systemd"),
        "Shutting down.",
        Some("guest:systemd_shutdown"),
        None,
        S10
    ),
    p!(
        LinuxConsole,
        Some("systemd-shutdown"),
        "{}",
        Some("guest:systemd_shutdown"),
        None,
        S10
    ),
    p!(
        LinuxConsole,
        Some("systemd-logind"),
        "Power key pressed.",
        Some("guest:logind_power_key"),
        None,
        BUTTON
    ),
    p!(
        LinuxConsole,
        Some("systemd-logind"),
        "Powering Off...",
        Some("guest:logind_power_key"),
        None,
        BUTTON
    ),
    p!(
        LinuxConsole,
        Some("systemd-journald"),
        "Received SIGTERM from PID 1 (systemd-shutdown).",
        Some("guest:systemd_shutdown"),
        None,
        S10
    ),
    p!(
        LinuxConsole,
        X,
        "Reached target Shutdown.",
        Some("guest:systemd_stop_units"),
        None,
        S9
    ),
    p!(
        LinuxConsole,
        X,
        "Starting {}...",
        Some("guest:systemd_stop_units"),
        None,
        S9
    ),
    p!(
        LinuxConsole,
        X,
        "Stopping {}...",
        Some("guest:systemd_stop_unit"),
        None,
        S9
    ),
    p!(
        LinuxConsole,
        X,
        "Unmounting {}...",
        Some("guest:systemd_stop_unit"),
        None,
        S9
    ),
    p!(
        LinuxConsole,
        X,
        "Deactivating swap {}...",
        Some("guest:systemd_stop_unit"),
        None,
        S9
    ),
    p!(
        LinuxConsole,
        X,
        "Stopped target {}.",
        Some("guest:systemd_stop_unit"),
        None,
        S9
    ),
    p!(
        LinuxConsole,
        X,
        "Stopped {}.",
        Some("guest:systemd_stop_unit"),
        None,
        S9
    ),
    p!(
        LinuxConsole,
        X,
        "Unmounted {}.",
        Some("guest:systemd_stop_unit"),
        None,
        S9
    ),
    p!(
        LinuxConsole,
        X,
        "Closed {}.",
        Some("guest:systemd_stop_unit"),
        None,
        S9
    ),
    p!(
        LinuxConsole,
        X,
        "Deactivated swap {}.",
        Some("guest:systemd_stop_unit"),
        None,
        S9
    ),
    p!(
        LinuxConsole,
        X,
        "Broadcast message from root (console) (shutdown -h now):",
        Some("guest:sysvinit_halt"),
        None,
        SYSV
    ),
    p!(
        LinuxConsole,
        X,
        "The system is going down for system halt NOW!",
        Some("guest:sysvinit_halt"),
        None,
        SYSV
    ),
    p!(
        LinuxConsole,
        X,
        "INIT: {}",
        Some("guest:sysvinit_halt"),
        None,
        SYSV
    ),
    p!(
        LinuxConsole,
        X,
        "Stopping {}.",
        Some("guest:sysvinit_halt"),
        None,
        SYSV
    ),
    p!(
        LinuxConsole,
        X,
        "Will now halt.",
        Some("guest:sysvinit_halt"),
        None,
        SYSV
    ),
    p!(
        LinuxConsole,
        X,
        "xen:manage: Ignoring Xen toolstack shutdown.",
        Some("guest:do_poweroff"),
        None,
        "the guest was not running: the request is ignored"
    ),
    p!(
        LinuxConsole,
        X,
        "xen:manage: Ignoring shutdown request: {}",
        Some("guest:shutdown_handler"),
        None,
        "an unknown control/shutdown value"
    ),
    p!(
        LinuxConsole,
        X,
        "suspending xenstore...",
        Some("guest:shutdown_handler"),
        None,
        "control/shutdown = suspend"
    ),
    p!(
        LinuxConsole,
        X,
        "reboot: Failed to start orderly shutdown: forcing the issue",
        Some("guest:__orderly_poweroff"),
        None,
        "8: /sbin/poweroff could not run: the kernel powers off by force"
    ),
    p!(
        LinuxConsole,
        X,
        "ACPI: Preparing to enter system sleep state S5",
        Some("guest:kernel_power_off"),
        None,
        S12
    ),
    p!(
        LinuxConsole,
        X,
        "reboot: Power down",
        Some("guest:kernel_power_off"),
        None,
        S12
    ),
    p!(
        LinuxConsole,
        X,
        "reboot: System halted",
        Some("guest:kernel_halt"),
        None,
        "pm_power_off is NULL: POWER_OFF became HALT"
    ),
    p!(
        LinuxConsole,
        X,
        "reboot: Restarting system",
        Some("guest:kernel_restart"),
        None,
        REBOOT
    ),
    p!(
        LinuxConsole,
        X,
        "reboot: machine restart",
        Some("guest:machine_restart"),
        None,
        REBOOT
    ),
    p!(
        LinuxConsole,
        X,
        "acpi_power_off called",
        Some("guest:acpi_power_off"),
        None,
        S14
    ),
    p!(
        LinuxConsole,
        X,
        "Kernel panic - not syncing: {}",
        Some("guest:panic"),
        None,
        PANIC
    ),
    p!(
        LinuxConsole,
        X,
        "---[ end Kernel panic - not syncing: {}",
        Some("guest:panic"),
        None,
        PANIC
    ),
    p!(
        LinuxConsole,
        X,
        "sysrq: SysRq : {}",
        Some("guest:handle_sysrq"),
        None,
        "Magic SysRq through control/sysrq"
    ),
    p!(
        LinuxConsole,
        X,
        "xenbus: xenbus_dev_shutdown: {}: {} != Connected, skipping",
        Some("guest:xenbus_dev_shutdown"),
        None,
        S12
    ),
    p!(
        LinuxConsole,
        X,
        "xenbus: xenbus_dev_shutdown: {} timeout closing device",
        Some("guest:xenbus_dev_shutdown"),
        None,
        S12
    ),
    p!(
        LinuxConsole,
        X,
        "xen:events: Xen HVM callback vector for event delivery is enabled",
        None,
        None,
        BOOT
    ),
    p!(LinuxConsole, X, "ACPI: (supports S0 S5)", None, None, BOOT),
];

/// Does `msg` match `template` (`{}` = any text, possibly empty)?
pub fn matches(template: &str, msg: &str) -> bool {
    let mut pieces = template.split("{}");
    let Some(first) = pieces.next() else {
        return msg.is_empty();
    };
    let Some(mut rest) = msg.strip_prefix(first) else {
        return false;
    };
    let rest_pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = rest_pieces.split_last() else {
        return rest.is_empty();
    };
    for m in middle {
        match rest.find(m) {
            Some(i) => rest = &rest[i + m.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The step of `XendDomainInfo.handleShutdownWatch` firing a second time:
/// the guest's `""` acknowledgement.
pub const S7: &str = "7: the guest's empty acknowledgement fires xend's watch again";
/// A watch that fires when it is registered.
pub const WATCH_REGISTERED: &str = "a watch fires once when it is registered (domain start)";
/// A stack printed by a hook of the script.
pub const STACK: &str = "a stack printed at this probe's site (a script's hook)";
/// The late cleanup of step 33.
pub const LATE: &str = S33;

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn templates_match_whole_messages() {
        assert!(matches("Removing {}", "Removing vif/0"));
        assert!(!matches("Removing {}", "Not Removing vif/0"));
        assert!(matches(
            "Waiting for {} - destroyDevice.",
            "Waiting for vkbd/0 - destroyDevice."
        ));
        assert!(!matches(
            "Waiting for {} - destroyDevice.",
            "Waiting for 0."
        ));
        assert!(matches(
            "Domain has shutdown: name={} id={} reason={}.",
            "Domain has shutdown: name=a id=8 reason=poweroff."
        ));
        assert!(matches("No device model", "No device model"));
        assert!(!matches("No device model", "No device model!"));
        assert!(matches(
            "{} device model terminated",
            "ubuntu-kdump device model terminated"
        ));
    }
}
