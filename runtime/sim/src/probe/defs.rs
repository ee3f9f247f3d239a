//! The probe table: one line per modelled function. `xsh probes` and
//! `docs/probes.md` are generated from it, so the doc strings are user-facing.

use super::Layer;

/// What a probe is.
#[derive(Debug)]
pub struct ProbeDef {
    /// `layer:function`.
    pub name: &'static str,
    /// Its layer.
    pub layer: Layer,
    /// True when the function writes its own log line on entry; its site is
    /// just after that line (as the seed's `log.info` at XendDomainInfo:1350).
    pub entry_log: bool,
    /// Names of the arguments a hook sees in `ctx.args`.
    pub args: &'static [&'static str],
    /// What the function returns (what a replacing hook must return).
    pub result: &'static str,
    /// What the function does in the model.
    pub doc: &'static str,
}

macro_rules! probes {
    ($( $var:ident = $name:literal, $layer:ident, $log:literal, [$($arg:literal),*], $ret:literal, $doc:literal; )*) => {
        /// Every modelled function.
        #[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
        #[allow(non_camel_case_types, missing_docs)]
        #[repr(u16)]
        pub enum Probe { $($var),* }

        impl Probe {
            /// All probes, in table order.
            pub const ALL: &'static [Probe] = &[$(Probe::$var),*];
        }

        /// The definitions, indexed by `Probe as usize`.
        pub static PROBE_DEFS: &[ProbeDef] = &[
            $(ProbeDef { name: $name, layer: Layer::$layer, entry_log: $log, args: &[$($arg),*], result: $ret, doc: $doc }),*
        ];
    };
}

probes! {
    // ---- xm, the command-line client ----
    XmCreate = "xm:create", Xm, false, ["config"], "Domain", "`xm create`: asks xend to build a domain from a config and waits until it runs.";
    XmShutdown = "xm:shutdown", Xm, false, ["dom", "mode"], "()", "`xm shutdown [-w] [-H|-R]`: reads the restart count, then calls xend's domain.shutdown over XML-RPC; with -w polls `xm list` every second.";
    XmReboot = "xm:reboot", Xm, false, ["dom"], "()", "`xm reboot`: `xm shutdown -R`.";
    XmDestroy = "xm:destroy", Xm, false, ["dom"], "()", "`xm destroy`: xend's domain.destroy; refuses Domain-0.";
    XmTrigger = "xm:trigger", Xm, false, ["dom", "trigger", "vcpu"], "()", "`xm trigger <dom> <nmi|reset|init|s3resume|power>`.";
    XmList = "xm:list", Xm, false, [], "array", "`xm list`: xend's domain list.";

    // ---- xend: XendDomain ----
    XendDomainCreate = "xend:XendDomain.domain_create", Xend, false, ["config"], "int", "RPC thread: builds, registers and starts a new XendDomainInfo; returns the domid.";
    XendDomainLookup = "xend:XendDomain.domain_lookup", Xend, false, ["dom"], "int", "RPC thread: `_refresh(refresh_shutdown=False)` under domains_lock, then finds the domain by name or id.";
    XendDomainDestroy = "xend:XendDomain.domain_destroy", Xend, false, ["domid"], "()", "RPC thread: `xm destroy`; refuses Domain-0, else XendDomainInfo.destroy.";
    XendDomainSendTrigger = "xend:XendDomain.domain_send_trigger", Xend, false, ["domid", "trigger", "vcpu"], "()", "RPC thread: checks the domain runs, maps the trigger name to Xen's code and issues XEN_DOMCTL_sendtrigger.";
    XendOnDomainsChanged = "xend:XendDomain._on_domains_changed", Xend, false, ["path"], "int", "Watcher thread: `@releaseDomain`/`@introduceDomain` fired; takes domains_lock and refreshes every tracked domain.";
    XendRefresh = "xend:XendDomain._refresh", Xend, false, ["refresh_shutdown"], "()", "Lists Xen's domains in a xenstore transaction: update() each tracked one, forget the dying or gone.";
    XendRefreshTxn = "xend:XendDomain._refreshTxn", Xend, false, ["refresh_shutdown"], "()", "`_refresh`'s body, in its transaction: `xc.domain_getinfo()`, `update(info)` each tracked domain, then `_remove_domain` the dying or gone.";
    XendRemoveDomain = "xend:XendDomain.remove_domain", Xend, false, ["domid"], "()", "Under domains_lock: cleanupDomain() unless already halted, then forget the domain.";

    // ---- xend: XendDomainInfo ----
    XendInfoStart = "xend:XendDomainInfo.start", Xend, false, [], "()", "Creates the Xen domain, its devices and device model, and registers the per-domain watches.";
    XendInfoShutdown = "xend:XendDomainInfo.shutdown", Xend, true, ["reason"], "()", "RPC thread: checks state and reason, stores control/shutdown in a transaction; HVM without PV drivers (or asleep): `HVM save:remote shutdown` and xc.domain_shutdown.";
    XendHandleShutdownWatch = "xend:XendDomainInfo._handleShutdownWatch", Xend, true, ["path"], "bool", "Watcher thread: control/shutdown fired; a non-empty reason stores xend/shutdown_start_time (once) and arms a Timer for refreshShutdown.";
    XendStoreChanged = "xend:XendDomainInfo._storeChanged", Xend, false, ["path"], "bool", "Watcher thread: the /vm/<uuid> watch (logged only at TRACE level).";
    XendHandleHideDevicesWatch = "xend:XendDomainInfo.handleHideDevicesWatch", Xend, true, ["path"], "bool", "ovm-4.4.4 only: the per-device watch on the backend of a qemu-dm managed device (see docs/fidelity.md).";
    XendInfoUpdate = "xend:XendDomainInfo.update", Xend, false, ["xeninfo"], "()", "Stores Xen's info of the domain (`_refreshTxn`'s call), then `refreshShutdown(info)`.";
    XendRefreshShutdown = "xend:XendDomainInfo.refreshShutdown", Xend, false, ["xeninfo"], "()", "Under refresh_shutdown_lock: decides from getdomaininfo whether the domain is dying, crashed, shut down or alive; logs `Domain has shutdown` and starts the restart thread.";
    XendMaybeRestart = "xend:XendDomainInfo._maybeRestart", Xend, false, ["reason"], "()", "Restart thread: dumps core if configured, then runs the on_poweroff/on_reboot/on_crash action.";
    XendMaybeDumpCore = "xend:XendDomainInfo._maybeDumpCore", Xend, false, ["reason"], "()", "Dumps core for a crash when on_crash is coredump-*.";
    XendDumpCore = "xend:XendDomainInfo.dumpCore", Xend, false, [], "()", "Writes /var/xen/dump/<name>/<stamp>-<name>.<domid>.core.";
    XendDestroy = "xend:XendDomainInfo.destroy", Xend, true, [], "()", "Pauses and destroys the Xen domain, forgets it, then cleanupDomain() and _cleanupVm().";
    XendCleanupDomain = "xend:XendDomainInfo.cleanupDomain", Xend, false, [], "()", "Under refresh_shutdown_lock: unwatch shutdown, release devices, remove /local/domain/<id>; idempotent but logs again.";
    XendReleaseDevices = "xend:XendDomainInfo._releaseDevices", Xend, false, [], "()", "Destroys the device model, then each device class in xend's dict order.";
    XendDestroyDevice = "xend:XendDomainInfo.destroyDevice", Xend, true, ["class", "dev", "force"], "()", "Logs the device, then asks its DevController to close it (the seed's traceback site).";
    XendRemoveDom = "xend:XendDomainInfo._removeDom", Xend, false, ["path"], "()", "Removes /local/domain/<id> (or a path below it).";
    XendCleanupVm = "xend:XendDomainInfo._cleanupVm", Xend, false, [], "()", "Unwatches and removes /vm/<uuid>.";
    XendReleaseRunningLock = "xend:XendDomainInfo._releaseRunningLock", Xend, false, [], "()", "ovm-4.4.4 only: releases the server pool's running lock (not clustered: no lock).";
    XendRestart = "xend:XendDomainInfo._restart", Xend, false, ["rename"], "()", "Restart thread: refuses loops and fast restarts, else destroys and creates the domain anew.";
    XendPreserve = "xend:XendDomainInfo._preserve", Xend, false, [], "()", "Keeps the dead domain (xend/shutdown_completed).";
    XendPreserveForRestart = "xend:XendDomainInfo._preserveForRestart", Xend, false, [], "()", "rename-restart: renames the dead domain and releases its devices.";
    XendDevControllerDestroy = "xend:DevController.destroyDevice", Xend, false, ["class", "devid", "force"], "()", "Writes backend online=0 then state=5 (Closing); forced classes also remove backend, frontend and /vm device paths.";
    XendWaitForDeviceDestroy = "xend:DevController.waitForDevice_destroy", Xend, true, ["devid", "backpath"], "()", "Logs `Waiting for <dev> - destroyDevice.` and waits for hotplug-status to vanish.";
    XendDestroyDeviceModel = "xend:image.destroyDeviceModel", Xend, false, [], "()", "Under sentinel_lock: SIGHUP to qemu-dm, reap every 100 ms for 10 s, else SIGKILL.";
    XendSentinelWatch = "xend:image._sentinel_watch", Xend, true, [], "()", "Sentinel thread: blocks on the FIFO qemu-dm holds; on EOF logs `device model terminated`, or a device model failure.";
    XendDmFailed = "xend:image._dmfailed", Xend, false, ["message"], "()", "qemu-dm died on its own: WARNING and xc.domain_shutdown(crash).";

    // ---- xenstored ----
    XsRead = "xs:read", Xs, false, ["path"], "string", "READ: the value, or ENOENT/EACCES.";
    XsWrite = "xs:write", Xs, false, ["path", "value"], "()", "WRITE: creates missing parents, fires watches (at commit inside a transaction).";
    XsMkdir = "xs:mkdir", Xs, false, ["path"], "()", "MKDIR.";
    XsRm = "xs:rm", Xs, false, ["path"], "()", "RM: recursive; fires watches on the node, its ancestors and below it.";
    XsDirectory = "xs:directory", Xs, false, ["path"], "array", "DIRECTORY: children in creation order.";
    XsGetPerms = "xs:get_perms", Xs, false, ["path"], "array", "GET_PERMS.";
    XsSetPerms = "xs:set_perms", Xs, false, ["path", "perms"], "()", "SET_PERMS: owner or tools only.";
    XsWatch = "xs:watch", Xs, false, ["path", "token"], "()", "WATCH: registers and fires once at once.";
    XsUnwatch = "xs:unwatch", Xs, false, ["path", "token"], "()", "UNWATCH.";
    XsTransactionStart = "xs:transaction_start", Xs, false, [], "int", "TRANSACTION_START.";
    XsTransactionEnd = "xs:transaction_end", Xs, false, ["tx", "abort"], "()", "TRANSACTION_END: EAGAIN if anything changed since the start.";
    XsFireWatches = "xs:fire_watches", Xs, false, ["path", "recurse"], "()", "Queues an event for every watch at, above (or, for RM, below) the changed node.";
    XsIntroduceDomain = "xs:introduce_domain", Xs, false, ["domid"], "()", "INTRODUCE: a new domain's connection; fires @introduceDomain.";
    XsDomainCleanup = "xs:domain_cleanup", Xs, false, [], "()", "VIRQ_DOM_EXC handler: fires @releaseDomain once per newly shut-down domain batch, and releases dying ones.";
    XsReleaseDomain = "xs:release_domain", Xs, false, ["domid"], "()", "Drops a domain's connection and watches; fires @releaseDomain.";

    // ---- guest kernel and userspace ----
    GuestXenwatchThread = "guest:xenwatch_thread", Guest, false, [], "()", "The guest's xenwatch kthread: runs each fired xenbus watch callback in turn.";
    GuestShutdownHandler = "guest:shutdown_handler", Guest, false, ["path"], "()", "manage.c: in a transaction reads control/shutdown, acknowledges a known command by writing \"\", retries on EAGAIN, then runs it.";
    GuestSysrqHandler = "guest:sysrq_handler", Guest, false, ["path"], "()", "manage.c: reads and acknowledges control/sysrq, then handle_sysrq(key).";
    GuestDoPoweroff = "guest:do_poweroff", Guest, false, [], "()", "Sets shutting_down, then orderly_poweroff(false) while the system runs.";
    GuestDoReboot = "guest:do_reboot", Guest, false, [], "()", "Sets shutting_down, then ctrl_alt_del().";
    GuestOrderlyPoweroff = "guest:orderly_poweroff", Guest, false, ["force"], "()", "Queues poweroff_work.";
    GuestPoweroffWorkFunc = "guest:poweroff_work_func", Guest, false, [], "()", "kworker: __orderly_poweroff(poweroff_force).";
    GuestOrderlyPoweroffInner = "guest:__orderly_poweroff", Guest, false, ["force"], "int", "run_cmd(poweroff_cmd); only a failure with force powers off directly.";
    GuestRunCmd = "guest:run_cmd", Guest, false, ["cmd"], "int", "call_usermodehelper(UMH_WAIT_EXEC): 0 once the command execs, else -errno.";
    GuestCtrlAltDel = "guest:ctrl_alt_del", Guest, false, [], "()", "C_A_D off under systemd: SIGINT to PID 1.";
    GuestSystemctlPoweroff = "guest:systemctl_poweroff", Guest, false, ["argv0"], "int", "/sbin/poweroff (systemctl): StartUnit poweroff.target replace-irreversibly over D-Bus.";
    GuestSystemdStopUnits = "guest:systemd_stop_units", Guest, false, ["target"], "()", "PID 1 runs the shutdown job: stops every unit, reaches shutdown targets, runs systemd-poweroff.service.";
    GuestSystemdStopUnit = "guest:systemd_stop_unit", Guest, false, ["unit"], "()", "PID 1 stops one unit (`Stopping ...`, `Stopped ...`).";
    GuestSystemdShutdown = "guest:systemd_shutdown", Guest, false, ["verb"], "()", "PID 1 execs systemd-shutdown: SIGTERM, SIGKILL, unmount rounds, sync, then reboot(2).";
    GuestSysvinitHalt = "guest:sysvinit_halt", Guest, false, ["argv0"], "int", "sysvinit's halt/poweroff: shutdown -h now, runlevel 0 scripts, halt -f, reboot(2).";
    GuestSysReboot = "guest:sys_reboot", Guest, false, ["cmd"], "int", "reboot(2): POWER_OFF becomes HALT when pm_power_off is NULL.";
    GuestKernelPowerOff = "guest:kernel_power_off", Guest, false, [], "()", "Reboot notifiers, device_shutdown, ACPI prepare, `reboot: Power down`, machine_power_off.";
    GuestKernelHalt = "guest:kernel_halt", Guest, false, [], "()", "Reboot notifiers, device_shutdown, `reboot: System halted`, machine_halt.";
    GuestKernelRestart = "guest:kernel_restart", Guest, false, [], "()", "Reboot notifiers, device_shutdown, `reboot: Restarting system`, machine_restart.";
    GuestDeviceShutdown = "guest:device_shutdown", Guest, false, [], "()", "Calls each device's shutdown; PV frontends close one by one.";
    GuestXenbusDevShutdown = "guest:xenbus_dev_shutdown", Guest, false, ["nodename"], "()", "A Connected frontend switches to Closing and waits up to 5 s for the backend.";
    GuestMachinePowerOff = "guest:machine_power_off", Guest, false, [], "()", "machine_ops.power_off.";
    GuestNativeMachinePowerOff = "guest:native_machine_power_off", Guest, false, [], "()", "If pm_power_off: machine_shutdown(), then pm_power_off().";
    GuestMachineShutdown = "guest:machine_shutdown", Guest, false, [], "()", "Stops the other vCPUs (each HLTs with interrupts off), local APIC off.";
    GuestMachineHalt = "guest:machine_halt", Guest, false, [], "()", "native_machine_halt: machine_shutdown, then this vCPU HLTs with interrupts off.";
    GuestMachineRestart = "guest:machine_restart", Guest, false, [], "()", "native_machine_restart: `reboot: machine restart`, then the emergency restart loop (ACPI, keyboard controller).";
    GuestPmPowerOff = "guest:pm_power_off", Guest, false, [], "()", "The call through the pm_power_off pointer (acpi_power_off on an ACPI guest).";
    GuestAcpiPowerOff = "guest:acpi_power_off", Guest, false, [], "()", "acpi_enter_sleep_state(S5) with interrupts off.";
    GuestAcpiEnterSleepState = "guest:acpi_enter_sleep_state", Guest, false, ["state"], "()", "acpi_hw_legacy_sleep: PM1a_CNT write of SLP_TYP, then SLP_TYP|SLP_EN.";
    GuestOutw = "guest:outw", Guest, false, ["port", "value"], "()", "A 16-bit port write: traps to Xen.";
    GuestOutb = "guest:outb", Guest, false, ["port", "value"], "()", "An 8-bit port write: traps to Xen.";
    GuestHltIrqOff = "guest:stop_this_cpu", Guest, false, ["vcpu"], "()", "A vCPU disables interrupts and HLTs forever.";
    GuestXenReboot = "guest:xen_reboot", Guest, false, ["reason"], "()", "HYPERVISOR_sched_op(SCHEDOP_shutdown, reason) (PV machine ops, panic notifier).";
    GuestPanic = "guest:panic", Guest, false, ["msg"], "()", "`Kernel panic - not syncing`; the Xen panic notifier reports SHUTDOWN_crash.";
    GuestHandleSysrq = "guest:handle_sysrq", Guest, false, ["key"], "()", "Magic SysRq: `o` powers off from a work item, `b` reboots, `c` crashes.";
    GuestAcpiButtonNotify = "guest:acpi_button_notify", Guest, false, [], "()", "The SCI for PWRBTN: KEY_POWER to the input layer, netlink event button/power.";
    GuestLogindPowerKey = "guest:logind_power_key", Guest, false, [], "()", "systemd-logind: `Power key pressed.`, `Powering Off...`, starts poweroff.target.";
    GuestBackendChanged = "guest:backend_changed", Guest, false, ["path"], "()", "A frontend's watch on its backend's state.";

    // ---- qemu-dm ----
    QemuMainLoop = "qemu:main_loop", Qemu, false, [], "()", "qemu-dm's main loop: select() on the event channel and xenstore fds.";
    QemuCpuHandleIoreq = "qemu:cpu_handle_ioreq", Qemu, false, ["vcpu"], "()", "Takes the vCPU's ioreq, runs the port handler; before answering, acts on shutdown/reset requests.";
    QemuPioWrite = "qemu:cpu_ioreq_pio", Qemu, false, ["port", "size", "value"], "()", "Dispatches a port write to the device that claimed the port.";
    QemuAcpiPm1ControlWrite = "qemu:acpi_pm1_control_write", Qemu, false, ["value"], "()", "PIIX4 PM1a_CNT (0xb004) word write: stores it, then acpi_shutdown(value).";
    QemuAcpiShutdown = "qemu:acpi_shutdown", Qemu, false, ["value"], "()", "SLP_EN with SLP_TYP S5 (or S4): qemu_system_shutdown_request(); S3: reset with the S3 flag.";
    QemuShutdownRequest = "qemu:qemu_system_shutdown_request", Qemu, false, [], "()", "Sets shutdown_requested.";
    QemuResetRequest = "qemu:qemu_system_reset_request", Qemu, false, [], "()", "Sets reset_requested.";
    QemuKbdWriteCommand = "qemu:kbd_write_command", Qemu, false, ["value"], "()", "i8042 command port 0x64: 0xFE pulses reset.";
    QemuDestroyHvmDomain = "qemu:destroy_hvm_domain", Qemu, false, [], "()", "xc_domain_shutdown(domid, SHUTDOWN_poweroff), logging `Issued domain N poweroff`.";
    QemuSystemReset = "qemu:qemu_system_reset", Qemu, false, [], "()", "Runs reset handlers: cpu_reset issues SHUTDOWN_reboot.";
    QemuCpuReset = "qemu:cpu_reset", Qemu, false, [], "()", "xc_domain_shutdown(domid, SHUTDOWN_reboot), logging `Issued domain N reboot`.";
    QemuSignal = "qemu:signal", Qemu, false, ["signo"], "()", "A signal reaches qemu-dm: no handler in the device-model build, so SIGHUP/SIGTERM/SIGKILL end it.";

    // ---- Xen ----
    XenIdleLoop = "xen:idle_loop", Xen, false, [], "()", "A pCPU's idle loop.";
    XenDoSoftirq = "xen:do_softirq", Xen, false, [], "()", "Runs pending softirqs.";
    XenDoSoftirqInner = "xen:__do_softirq", Xen, false, [], "()", "Runs pending softirqs (inner).";
    XenSchedule = "xen:schedule", Xen, false, [], "()", "SCHEDULE_SOFTIRQ: picks the woken vCPU.";
    XenContextSwitch = "xen:context_switch", Xen, false, ["vcpu"], "()", "Switches to the vCPU and tail-calls its schedule_tail.";
    XenVmxDoResume = "xen:vmx_do_resume", Xen, false, ["vcpu"], "()", "VMX schedule_tail: hvm_do_resume, then VM entry.";
    XenHvmDoResume = "xen:hvm_do_resume", Xen, false, ["vcpu"], "()", "Completes an I/O whose ioreq is IORESP_READY.";
    XenHvmIoAssist = "xen:hvm_io_assist", Xen, false, ["vcpu"], "()", "Copies the ioreq result back; ends the shutdown deferral (tail call).";
    XenHvmSendAssistReq = "xen:hvm_send_assist_req", Xen, false, ["vcpu", "port", "value"], "bool", "A port Xen does not emulate: start a shutdown deferral, publish the ioreq, notify qemu-dm, block.";
    XenVcpuStartShutdownDeferral = "xen:vcpu_start_shutdown_deferral", Xen, false, ["vcpu"], "bool", "Sets defer_shutdown; 0 if the domain is already shutting down.";
    XenVcpuEndShutdownDeferral = "xen:vcpu_end_shutdown_deferral", Xen, false, ["vcpu"], "()", "Clears defer_shutdown; vcpu_check_shutdown if shutting down (tail call).";
    XenVcpuCheckShutdown = "xen:vcpu_check_shutdown", Xen, false, ["vcpu"], "()", "Pauses the vCPU for shutdown and tries to finalise.";
    XenDomainShutdown = "xen:domain_shutdown", Xen, false, ["domid", "reason"], "()", "Latches the reason, pauses every vCPU not deferring, finalises if it can.";
    XenDomainFinaliseShutdown = "xen:__domain_finalise_shutdown", Xen, false, ["domid"], "()", "All vCPUs paused for shutdown: is_shut_down = 1 and VIRQ_DOM_EXC.";
    XenSendGlobalVirq = "xen:send_global_virq", Xen, false, ["virq"], "()", "Delivers a global VIRQ to its handler domain (dom0: xenstored).";
    XenDoSchedOp = "xen:do_sched_op", Xen, false, ["cmd", "domid", "reason"], "int", "sched_op hypercall: SCHEDOP_shutdown (self) or SCHEDOP_remote_shutdown (privileged or device model).";
    XenDoDomctl = "xen:do_domctl", Xen, false, ["cmd", "domid"], "int", "domctl hypercall: pause, unpause, destroy, getdomaininfo, sendtrigger.";
    XenDomainPause = "xen:domain_pause_by_systemcontroller", Xen, false, ["domid"], "int", "Toolstack pause.";
    XenDomainKill = "xen:domain_kill", Xen, false, ["domid"], "int", "XEN_DOMCTL_destroydomain: alive → dying → dead (VIRQ_DOM_EXC).";
    XenCompleteDomainDestroy = "xen:complete_domain_destroy", Xen, false, ["domid"], "()", "The last reference dropped: frees the domain, VIRQ_DOM_EXC.";
    XenEvtchnSend = "xen:evtchn_send", Xen, false, ["port"], "()", "An event-channel notify: wakes the vCPU waiting on it.";
    XenVcpuWake = "xen:vcpu_wake", Xen, false, ["vcpu"], "()", "Makes a blocked vCPU runnable; raises SCHEDULE_SOFTIRQ on its pCPU.";
    XenHvmHlt = "xen:hvm_hlt", Xen, false, ["vcpu", "irqs_enabled"], "()", "HLT exit: with interrupts off the vCPU goes down (hvm_vcpu_down).";
    XenHvmVcpuDown = "xen:hvm_vcpu_down", Xen, false, ["vcpu"], "()", "Marks the vCPU down; the last one: `All CPUs offline -- powering off.`";
    XenHvmAcpiPowerButton = "xen:hvm_acpi_power_button", Xen, false, ["domid"], "()", "Sets PWRBTN_STS and raises the SCI if the guest enabled PWRBTN_EN.";
    XenHvmTripleFault = "xen:hvm_triple_fault", Xen, false, ["vcpu"], "()", "`Triple fault on VCPU` and SHUTDOWN_reboot.";
    XenDomainCrash = "xen:__domain_crash", Xen, false, ["domid"], "()", "Prints the crash and domain_shutdown(SHUTDOWN_crash).";

    // ---- dom0: kernel backends, udev, hotplug scripts ----
    Dom0XenbusDevChanged = "dom0:xenbus_dev_changed", Dom0, false, ["path"], "()", "dom0's backend bus: a node under backend/ changed; probe a new device, clean up a vanished one.";
    Dom0BackendProbe = "dom0:backend_probe", Dom0, false, ["backend"], "()", "netback/blkback probe: InitWait, watch the frontend's state, hotplug online.";
    Dom0FrontendChanged = "dom0:frontend_changed", Dom0, false, ["backend", "state"], "()", "A backend follows its frontend: Connected, Closing, Closed; a vanished frontend unregisters it.";
    Dom0DeviceUnregister = "dom0:device_unregister", Dom0, false, ["backend"], "()", "The backend device goes: offline and remove uevents for udev.";
    Dom0UdevEvent = "dom0:udev_event", Dom0, false, ["action", "backend"], "()", "udevd runs xen-backend.rules for a uevent.";
    Dom0HotplugScript = "dom0:hotplug_script", Dom0, false, ["script", "action", "backend"], "()", "/etc/xen/scripts/vif-setup or block: online/add writes hotplug-status.";
    Dom0HotplugCleanup = "dom0:xen-hotplug-cleanup", Dom0, false, ["backend"], "()", "Under the \"block\" lock, xenstore-rm -t of the frontend, backend, error and /vm device paths.";

    // ---- qemu-xen (upstream QEMU 1.6.2 as Xen 4.4.4 pins it) ----
    QemuAcpiPm1CntWrite = "qemu:acpi_pm1_cnt_write", Qemu, false, ["value"], "()", "qemu-xen's PM1a_CNT (0xb004) write (hw/acpi/core.c): SLP_EN with SLP_TYP 0 (or the S4 value) requests a shutdown, 1 a suspend.";
    QemuSystemKilled = "qemu:qemu_system_killed", Qemu, false, ["signo", "pid"], "()", "qemu-xen's termsig_handler for SIGINT/SIGHUP/SIGTERM: remembers the signal and its sender, clears no_shutdown, requests a shutdown.";
    QemuMainLoopShouldExit = "qemu:main_loop_should_exit", Qemu, false, [], "bool", "qemu-xen's main loop after each wait: a shutdown request reports a kill (if any) and leaves the loop (no -no-shutdown under libxl); a reset request resets and goes on.";
    QemuKillReport = "qemu:qemu_kill_report", Qemu, false, ["signo", "pid"], "()", "Writes `qemu: terminating on signal N from pid P` to qemu-xen's log.";

    // ---- xl, the command-line tool of libxl (xl.c, xl_cmdimpl.c) ----
    XlMain = "xl:main", Xl, false, ["command"], "int", "xl.c main: a command that modifies refuses while a xend lock file exists (`xend is running, ...`), then runs the command.";
    XlMainCreate = "xl:main_create", Xl, false, ["config"], "int", "`xl create`: create_domain; returns once the monitor has daemonised.";
    XlCreateDomain = "xl:create_domain", Xl, false, ["name"], "int", "Takes the xl lock, libxl_domain_create_new, stores the config, unpauses; then (daemonised) the domain's monitor: waits for its death and applies on_poweroff/on_reboot/on_crash, restarting with a new domid.";
    XlDoDaemonize = "xl:do_daemonize", Xl, false, ["name"], "int", "Forks the monitor, which opens /var/log/xen/xl-<name>.log (rotated) as its stdout and stderr.";
    XlDomainWaitEvent = "xl:domain_wait_event", Xl, false, ["domid"], "string", "The monitor waits for the next libxl event of its domain (DOMAIN_SHUTDOWN, DOMAIN_DEATH).";
    XlHandleDomainDeath = "xl:handle_domain_death", Xl, false, ["domid", "reason"], "int", "Picks the on_* action for the shutdown reason, logs it, destroys the domain for destroy/restart; returns 1 to restart, 2 to rename-restart, 0 to exit.";
    XlPreserveDomain = "xl:preserve_domain", Xl, false, ["domid"], "int", "rename-restart: renames the dead domain with a time suffix and a new uuid.";
    XlMainShutdown = "xl:main_shutdown", Xl, false, ["dom", "wait", "fallback"], "int", "`xl shutdown [-w] [-F] <dom>`.";
    XlMainReboot = "xl:main_reboot", Xl, false, ["dom", "wait", "fallback"], "int", "`xl reboot [-w] [-F] <dom>`.";
    XlShutdownDomain = "xl:shutdown_domain", Xl, true, ["domid", "fallback"], "int", "`Shutting down domain N`, libxl_domain_shutdown; without PV control: `PV control interface not available: external graceful shutdown not possible.` (with -F the ACPI power button instead); a failure exits 255.";
    XlRebootDomain = "xl:reboot_domain", Xl, true, ["domid", "fallback"], "int", "`Rebooting domain N`, libxl_domain_reboot; without PV control the same refusal for a reboot (with -F the ACPI reset trigger).";
    XlWaitForDomainDeaths = "xl:wait_for_domain_deaths", Xl, false, ["count"], "()", "`-w`: waits until each domain has shut down or been destroyed (whichever is reported first).";
    XlMainDestroy = "xl:main_destroy", Xl, false, ["dom"], "int", "`xl destroy <dom>`.";
    XlDestroyDomain = "xl:destroy_domain", Xl, false, ["domid"], "int", "Refuses domain 0, else libxl_domain_destroy; a failure prints `destroy failed (rc=N)`.";
    XlMainTrigger = "xl:main_trigger", Xl, false, ["dom", "trigger", "vcpu"], "int", "`xl trigger <dom> <power|sleep|nmi|init|reset|s3resume> [vcpu]`: libxl_send_trigger (whose failure it ignores).";
    XlMainList = "xl:main_list", Xl, false, [], "array", "`xl list`: every Xen domain, named from xenstore, with the shutdown reason letter in the state.";

    // ---- libxl ----
    LibxlDomainCreateNew = "libxl:libxl_domain_create_new", Libxl, false, ["name"], "int", "Makes and builds the domain, adds its disks, console and vkbd, spawns the device model, adds its nics; returns the domid.";
    LibxlDomainMake = "libxl:libxl__domain_make", Libxl, false, ["name"], "int", "xc_domain_create, then one transaction: /local/domain/<id>, /vm/<uuid>, /libxl/<id>, control/shutdown writable by the guest, libxl/disable_udev = 1.";
    LibxlDomainBuild = "libxl:libxl__domain_build", Libxl, false, ["domid"], "()", "Builds the domain (hvmloader or kernel) and introduces it to xenstored.";
    LibxlDeviceAdd = "libxl:libxl__device_generic_add", Libxl, false, ["frontend", "backend"], "()", "Writes a device's frontend and backend directories (state 1, online 1, script, ...).";
    LibxlWaitDeviceConnection = "libxl:libxl__wait_device_connection", Libxl, false, ["backend"], "()", "Waits up to 10 s for the backend to reach InitWait, then runs its hotplug script (qemu-backed devices go straight to the script step).";
    LibxlSpawnLocalDm = "libxl:libxl__spawn_local_dm", Libxl, false, ["domid", "version"], "()", "Opens qemu-dm-<name>.log (rotated), double-forks the device model (qemu-xen or qemu-xen-traditional) and waits up to 60 s for its state `running`.";
    LibxlDomainUnpause = "libxl:libxl_domain_unpause", Libxl, false, ["domid"], "int", "xc_domain_unpause.";
    LibxlDomainShutdown = "libxl:libxl_domain_shutdown", Libxl, false, ["domid"], "int", "PV control available: writes `poweroff` to control/shutdown (no transaction); else ERROR_NOPARAVIRT (-10). No remote shutdown, no timer.";
    LibxlDomainReboot = "libxl:libxl_domain_reboot", Libxl, false, ["domid"], "int", "As libxl_domain_shutdown with `reboot`.";
    LibxlPvcontrolAvailable = "libxl:libxl__domain_pvcontrol_available", Libxl, false, ["domid"], "int", "1 for a PV domain; for HVM whether HVM_PARAM_CALLBACK_IRQ is set (PV drivers).";
    LibxlSendTrigger = "libxl:libxl_send_trigger", Libxl, false, ["domid", "trigger", "vcpu"], "int", "xc_domain_send_trigger (XEN_DOMCTL_sendtrigger); a failure logs `Send trigger '...' failed`.";
    LibxlEvenableDomainDeath = "libxl:libxl_evenable_domain_death", Libxl, false, ["domid"], "()", "Adds a death evgen; the first one watches @releaseDomain.";
    LibxlEvdisableDomainDeath = "libxl:libxl__evdisable_domain_death", Libxl, false, ["domid"], "()", "Drops a death evgen; the last one unwatches @releaseDomain.";
    LibxlDomainDeathCallback = "libxl:domain_death_xswatch_callback", Libxl, false, ["path"], "()", "@releaseDomain fired: getinfolist from the first watched domid; reports DOMAIN_SHUTDOWN once per domain (with Xen's reason), DOMAIN_DEATH when dying or gone.";
    LibxlDomainDeathOccurred = "libxl:domain_death_occurred", Libxl, false, ["domid", "why"], "()", "Queues DOMAIN_DEATH (`empty list`, `missing from list`, `dying`).";
    LibxlEventWait = "libxl:libxl_event_wait", Libxl, false, [], "string", "Returns a queued event, else polls (xenstore watches, timers, child deaths) and dispatches.";
    LibxlWatchfdCallback = "libxl:watchfd_callback", Libxl, false, ["path", "token"], "()", "A xenstore watch event for this process: finds the watch by its `slot/counter` token and calls it.";
    LibxlXswatchRegister = "libxl:libxl__ev_xswatch_register", Libxl, false, ["path", "token"], "()", "XS_WATCH with a `slot/counter` token (xenstored fires it once at once).";
    LibxlXswatchDeregister = "libxl:libxl__ev_xswatch_deregister", Libxl, false, ["path", "token"], "()", "XS_UNWATCH.";
    LibxlAoComplete = "libxl:libxl__ao_complete", Libxl, false, ["rc"], "()", "An asynchronous operation is done; a synchronous caller's loop ends.";
    LibxlAoDestroy = "libxl:libxl__ao__destroy", Libxl, false, [], "()", "Frees a finished asynchronous operation.";
    LibxlDomainDestroy = "libxl:libxl_domain_destroy", Libxl, false, ["domid"], "int", "The destroy AO (synchronous from xl): stub domain, then libxl__destroy_domid.";
    LibxlDestroyDomid = "libxl:libxl__destroy_domid", Libxl, false, ["domid"], "()", "PCI teardown, xc_domain_pause, SIGHUP to the device model (no wait), then every device forced down; xc_domain_destroy only after.";
    LibxlKillDeviceModel = "libxl:kill_device_model", Libxl, false, ["pidpath"], "int", "Reads image/device-model-pid and sends SIGHUP: `Device Model signaled` (debug) or `Device Model already exited` (error). Never SIGKILL.";
    LibxlDevicesDestroy = "libxl:libxl__devices_destroy", Libxl, false, ["domid"], "()", "Every device under /local/domain/<id>/device, in parallel: consoles by removing their paths, the others through libxl__initiate_device_remove.";
    LibxlInitiateDeviceRemove = "libxl:libxl__initiate_device_remove", Libxl, false, ["backend", "force"], "()", "qemu-backed device of a paused domain: a 2 s timer; else a transaction (forced: the frontend removed) writing backend online=0, state=5, then waits up to 10 s for state 6.";
    LibxlDevstateWatchCallback = "libxl:devstate_watch_callback", Libxl, false, ["path"], "()", "The backend's state changed: the wanted state (or gone) ends the wait, else `still waiting`.";
    LibxlDevstateTimeout = "libxl:devstate_timeout", Libxl, false, ["path"], "()", "The backend did not reach the wanted state in time: ERROR_TIMEDOUT.";
    LibxlDeviceQemuTimeout = "libxl:device_qemu_timeout", Libxl, false, ["backend"], "()", "The 2 s qemu bodge: writes backend state 6 itself, then the hotplug step.";
    LibxlDeviceBackendCallback = "libxl:device_backend_callback", Libxl, false, ["backend", "rc"], "()", "The state wait ended: an error logs `unable to remove device with path ...` and skips the hotplug script; else device_hotplug.";
    LibxlDeviceHotplug = "libxl:device_hotplug", Libxl, false, ["backend", "action"], "()", "Runs the next hotplug script (vif: `vif-bridge online|offline type_if=vif`, then for an emulated NIC `add|remove type_if=tap`; vbd: `block add|remove`) with a 10 s timeout, or finishes.";
    LibxlDeviceHotplugTimeout = "libxl:device_hotplug_timeout_cb", Libxl, false, ["backend"], "()", "A hotplug script ran past 10 s: SIGKILL.";
    LibxlDeviceHotplugChildDeath = "libxl:device_hotplug_child_death_cb", Libxl, false, ["backend", "status"], "()", "A hotplug script exited: a failure is logged (and ignored on removal); then the next script.";
    LibxlDeviceHotplugDone = "libxl:device_hotplug_done", Libxl, false, ["backend", "rc"], "()", "Removal: libxl__device_destroy; then the device's callback.";
    LibxlDeviceDestroy = "libxl:libxl__device_destroy", Libxl, false, ["backend"], "()", "One transaction removing the device's frontend and backend paths (and their emptied parents).";
    LibxlDevicesDestroyCb = "libxl:devices_destroy_cb", Libxl, false, ["domid", "rc"], "()", "All devices down: removes /vm/<uuid>, /local/domain/<id>, /libxl/<id>, the device-model path; only then xc_domain_destroy.";
}
