//! Source lines of xl and libxl at RELEASE-4.4.4: where each log line is
//! written (libxl prints `file:line:function`), the call site each modelled
//! function is at (`Sim::at`), and the frames gdb's `bt` shows for an xl
//! process. Line numbers are read from the tag (docs/reference-xl.md).

use crate::probe::{Layer, Probe};
use crate::stack::Context;

/// One source location.
#[derive(Copy, Clone, Debug)]
pub struct Loc {
    /// The file, as `__FILE__` prints it.
    pub file: &'static str,
    /// The line.
    pub line: u32,
    /// The function containing it (`__func__`).
    pub func: &'static str,
}

macro_rules! lines {
    ($( $id:ident = $file:literal, $line:literal, $func:literal; )*) => {
        /// Line ids (indices into `LINES`).
        #[allow(missing_docs)]
        #[derive(Copy, Clone, Debug, PartialEq, Eq)]
        #[repr(u16)]
        pub enum L { $($id),* }

        /// The line table.
        pub static LINES: &[Loc] = &[
            $(Loc { file: $file, line: $line, func: $func }),*
        ];
    };
}

lines! {
    // Index 0 is "no line set": a frame shows its function's site.
    Unset = "?", 0, "?";
    // ---- xl.c, xl_cmdimpl.c: call sites ----
    MainCmd = "xl.c", 360, "main";
    MainCreateCall = "xl_cmdimpl.c", 4423, "main_create";
    CreateLock = "xl_cmdimpl.c", 2222, "create_domain";
    CreateNew = "xl_cmdimpl.c", 2254, "create_domain";
    CreateUserdata = "xl_cmdimpl.c", 2287, "create_domain";
    CreateUnpause = "xl_cmdimpl.c", 2298, "create_domain";
    CreateDaemonize = "xl_cmdimpl.c", 2314, "create_domain";
    CreateEvenable = "xl_cmdimpl.c", 2325, "create_domain";
    CreateWaitEvent = "xl_cmdimpl.c", 2342, "create_domain";
    CreateHandleDeath = "xl_cmdimpl.c", 2351, "create_domain";
    CreatePreserve = "xl_cmdimpl.c", 2355, "create_domain";
    CreateEvdisable = "xl_cmdimpl.c", 2364, "create_domain";
    CreateSleep = "xl_cmdimpl.c", 2401, "create_domain";
    CreateOutEvdisable = "xl_cmdimpl.c", 2453, "create_domain";
    WaitEventCall = "xl_cmdimpl.c", 2011, "domain_wait_event";
    DeathDestroy = "xl_cmdimpl.c", 1851, "handle_domain_death";
    ShutdownOrRebootFn = "xl_cmdimpl.c", 4217, "main_shutdown_or_reboot";
    ShutdownOrRebootWait = "xl_cmdimpl.c", 4220, "main_shutdown_or_reboot";
    ShutdownCall = "xl_cmdimpl.c", 3111, "shutdown_domain";
    ShutdownTrigger = "xl_cmdimpl.c", 3116, "shutdown_domain";
    ShutdownEvenable = "xl_cmdimpl.c", 3129, "shutdown_domain";
    RebootCall = "xl_cmdimpl.c", 3143, "reboot_domain";
    RebootTrigger = "xl_cmdimpl.c", 3148, "reboot_domain";
    RebootEvenable = "xl_cmdimpl.c", 3160, "reboot_domain";
    WaitDeathsEvent = "xl_cmdimpl.c", 3077, "wait_for_domain_deaths";
    MainDestroyCall = "xl_cmdimpl.c", 4154, "main_destroy";
    DestroyDomainCall = "xl_cmdimpl.c", 3067, "destroy_domain";
    MainTriggerCall = "xl_cmdimpl.c", 5674, "main_trigger";
    // ---- libxl_event.c ----
    EventWaitLoop = "libxl_event.c", 1496, "libxl_event_wait";
    AoInprogressLoop = "libxl_event.c", 1723, "libxl__ao_inprogress";
    EventloopAfterpoll = "libxl_event.c", 1472, "eventloop_iteration";
    AfterpollFd = "libxl_event.c", 1007, "afterpoll_internal";
    AfterpollTime = "libxl_event.c", 1027, "afterpoll_internal";
    TimeOccurs = "libxl_event.c", 396, "time_occurs";
    WatchfdCall = "libxl_event.c", 519, "watchfd_callback";
    WatchEventLog = "libxl_event.c", 517, "watchfd_callback";
    WatchEmptySlotLog = "libxl_event.c", 485, "watchfd_callback";
    WatchCounterLog = "libxl_event.c", 492, "watchfd_callback";
    WatchRegisterLog = "libxl_event.c", 573, "libxl__ev_xswatch_register";
    WatchDeregisterLog = "libxl_event.c", 609, "libxl__ev_xswatch_deregister";
    DevstateRemovedLog = "libxl_event.c", 645, "devstate_watch_callback";
    DevstateOkLog = "libxl_event.c", 656, "devstate_watch_callback";
    DevstateWaitingLog = "libxl_event.c", 660, "devstate_watch_callback";
    DevstateCallback = "libxl_event.c", 666, "devstate_watch_callback";
    DevstateTimeoutLog = "libxl_event.c", 674, "devstate_timeout";
    DevstateTimeoutCallback = "libxl_event.c", 677, "devstate_timeout";
    AoDestroyLog = "libxl_event.c", 1572, "libxl__ao__destroy";
    AoCompleteLog = "libxl_event.c", 1600, "libxl__ao_complete";
    // ---- libxl_fork.c, libxl_exec.c ----
    ChildReapedCall = "libxl_fork.c", 459, "childproc_reaped_ours";
    ChildExitedLog = "libxl_exec.c", 117, "libxl_report_child_exitstatus";
    SpawnTimeoutLog = "libxl_exec.c", 396, "spawn_timeout";
    ChildSignaledLog = "libxl_exec.c", 127, "libxl_report_child_exitstatus";
    // ---- libxl.c ----
    UnpauseFailedLog = "libxl.c", 862, "libxl_domain_unpause";
    PvcontrolIrqLog = "libxl.c", 886, "libxl__domain_pvcontrol_available";
    PvcontrolAvailable = "libxl.c", 931, "libxl__domain_pvcontrol";
    PvcontrolWrite = "libxl.c", 938, "libxl__domain_pvcontrol";
    DeathOccurredLog = "libxl.c", 968, "domain_death_occurred";
    DeathGetinfo = "libxl.c", 999, "domain_death_xswatch_callback";
    DeathNentriesLog = "libxl.c", 1008, "domain_death_xswatch_callback";
    DeathAllReportedLog = "libxl.c", 1016, "domain_death_xswatch_callback";
    DeathGotLog = "libxl.c", 1020, "domain_death_xswatch_callback";
    DeathEmpty = "libxl.c", 1026, "domain_death_xswatch_callback";
    DeathGotendLog = "libxl.c", 1031, "domain_death_xswatch_callback";
    DeathMissing = "libxl.c", 1038, "domain_death_xswatch_callback";
    DeathExistsLog = "libxl.c", 1048, "domain_death_xswatch_callback";
    DeathDying = "libxl.c", 1053, "domain_death_xswatch_callback";
    DeathShutdownLog = "libxl.c", 1062, "domain_death_xswatch_callback";
    DeathDoneLog = "libxl.c", 1079, "domain_death_xswatch_callback";
    EvenableRegister = "libxl.c", 1101, "libxl_evenable_domain_death";
    EvdisableDeregister = "libxl.c", 1128, "libxl__evdisable_domain_death";
    DestroyAoCreate = "libxl.c", 1263, "libxl_domain_destroy";
    DestroyInitiate = "libxl.c", 1270, "libxl_domain_destroy";
    DestroyAoInprogress = "libxl.c", 1272, "libxl_domain_destroy";
    DestroyCbFailedLog = "libxl.c", 1281, "domain_destroy_cb";
    DestroyCbComplete = "libxl.c", 1283, "domain_destroy_cb";
    DomainDestroyDomid = "libxl.c", 1316, "libxl__domain_destroy";
    DestroyFinishCall = "libxl.c", 1368, "destroy_finish_check";
    DestroyNonExistantLog = "libxl.c", 1390, "libxl__destroy_domid";
    DestroyPause = "libxl.c", 1421, "libxl__destroy_domid";
    DestroyPauseFailedLog = "libxl.c", 1423, "libxl__destroy_domid";
    DestroyDm = "libxl.c", 1426, "libxl__destroy_domid";
    DestroyDmFailedLog = "libxl.c", 1427, "libxl__destroy_domid";
    DestroyDevices = "libxl.c", 1435, "libxl__destroy_domid";
    DevicesCbFailedLog = "libxl.c", 1462, "devices_destroy_cb";
    DevicesCbXsRm = "libxl.c", 1470, "devices_destroy_cb";
    DevicesCbXcDestroy = "libxl.c", 1481, "devices_destroy_cb";
    DevicesCbXcFailedLog = "libxl.c", 1483, "devices_destroy_cb";
    DevicesCbCallback = "libxl.c", 1490, "devices_destroy_cb";
    TriggerFailedLog = "libxl.c", 5129, "libxl_send_trigger";
    // ---- libxl_create.c ----
    CreateAoCreate = "libxl_create.c", 1348, "do_domain_create";
    CreateAoInprogress = "libxl_create.c", 1362, "do_domain_create";
    CreateFailLog = "libxl_create.c", 478, "libxl__domain_make";
    CreateDisksFailLog = "libxl_create.c", 1054, "domcreate_launch_dm";
    CreateDmFailLog = "libxl_create.c", 1189, "domcreate_devmodel_started";
    CreateNicsFailLog = "libxl_create.c", 1229, "domcreate_attach_vtpms";
    RenameExistsLog = "libxl.c", 326, "libxl__domain_rename";
    // ---- libxl_dm.c ----
    DestroyDmKill = "libxl_dm.c", 1536, "libxl__destroy_device_model";
    KillDmNoPidLog = "libxl_dm.c", 1491, "kill_device_model";
    KillDmKill = "libxl_dm.c", 1497, "kill_device_model";
    KillDmExitedLog = "libxl_dm.c", 1499, "kill_device_model";
    KillDmSignaledLog = "libxl_dm.c", 1502, "kill_device_model";
    KillDmFailedLog = "libxl_dm.c", 1505, "kill_device_model";
    SpawnFailedLog = "libxl_dm.c", 1395, "device_model_spawn_outcome";
    // ---- libxl_device.c ----
    MultidevCallback = "libxl_device.c", 506, "multidev_one_callback";
    DevicesDestroyConsole = "libxl_device.c", 652, "libxl__devices_destroy";
    DevicesDestroyInitiate = "libxl_device.c", 659, "libxl__devices_destroy";
    DevicesDestroyPrepared = "libxl_device.c", 681, "libxl__devices_destroy";
    WaitConnUnableLog = "libxl_device.c", 753, "libxl__wait_device_connection";
    RemoveBodge = "libxl_device.c", 799, "libxl__initiate_device_remove";
    RemoveCleanup = "libxl_device.c", 818, "libxl__initiate_device_remove";
    RemoveWrite = "libxl_device.c", 837, "libxl__initiate_device_remove";
    RemoveWait = "libxl_device.c", 849, "libxl__initiate_device_remove";
    RemoveUnableLog = "libxl_device.c", 854, "libxl__initiate_device_remove";
    QemuTimeoutHotplug = "libxl_device.c", 908, "device_qemu_timeout";
    BackendCbUnableLog = "libxl_device.c", 933, "device_backend_callback";
    BackendCbHotplug = "libxl_device.c", 939, "device_backend_callback";
    BackendCbDone = "libxl_device.c", 944, "device_backend_callback";
    HotplugCallingLog = "libxl_device.c", 1023, "device_hotplug";
    HotplugFork = "libxl_device.c", 1026, "device_hotplug";
    HotplugDone = "libxl_device.c", 1046, "device_hotplug";
    HotplugKillLog = "libxl_device.c", 1059, "device_hotplug_timeout_cb";
    HotplugErrorLog = "libxl_device.c", 1085, "device_hotplug_child_death_cb";
    HotplugNext = "libxl_device.c", 1100, "device_hotplug_child_death_cb";
    HotplugDoneDestroy = "libxl_device.c", 1159, "device_hotplug_done";
    HotplugDoneCallback = "libxl_device.c", 1164, "device_hotplug_done";
    RemoveCallback = "libxl_device.c", 1182, "devices_remove_callback";
}

impl L {
    /// The location.
    pub fn loc(self) -> &'static Loc {
        &LINES[self as usize]
    }
}

/// A function's own file and the line its body starts at (a frame with no
/// call site set shows this line).
pub fn site_of(p: Probe) -> (&'static str, u32) {
    use Probe::*;
    match p {
        XlMain => ("xl.c", 295),
        XlMainCreate => ("xl_cmdimpl.c", 4355),
        XlCreateDomain => ("xl_cmdimpl.c", 2072),
        XlDoDaemonize => ("xl_cmdimpl.c", 437),
        XlDomainWaitEvent => ("xl_cmdimpl.c", 2011),
        XlHandleDomainDeath => ("xl_cmdimpl.c", 1788),
        XlPreserveDomain => ("xl_cmdimpl.c", 1894),
        XlMainShutdown => ("xl_cmdimpl.c", 4229),
        XlMainReboot => ("xl_cmdimpl.c", 4234),
        XlShutdownDomain => ("xl_cmdimpl.c", 3111),
        XlRebootDomain => ("xl_cmdimpl.c", 3143),
        XlWaitForDomainDeaths => ("xl_cmdimpl.c", 3074),
        XlMainDestroy => ("xl_cmdimpl.c", 4150),
        XlDestroyDomain => ("xl_cmdimpl.c", 3063),
        XlMainTrigger => ("xl_cmdimpl.c", 5655),
        XlMainList => ("xl_cmdimpl.c", 4300),
        LibxlDomainCreateNew => ("libxl_create.c", 1381),
        LibxlDomainMake => ("libxl_create.c", 476),
        LibxlDomainBuild => ("libxl_create.c", 366),
        LibxlDeviceAdd => ("libxl_device.c", 86),
        LibxlWaitDeviceConnection => ("libxl_device.c", 731),
        LibxlSpawnLocalDm => ("libxl_dm.c", 1226),
        LibxlDomainUnpause => ("libxl.c", 845),
        LibxlDomainShutdown => ("libxl.c", 945),
        LibxlDomainReboot => ("libxl.c", 954),
        LibxlPvcontrolAvailable => ("libxl.c", 877),
        LibxlSendTrigger => ("libxl.c", 5098),
        LibxlEvenableDomainDeath => ("libxl.c", 1090),
        LibxlEvdisableDomainDeath => ("libxl.c", 1117),
        LibxlDomainDeathCallback => ("libxl.c", 988),
        LibxlDomainDeathOccurred => ("libxl.c", 968),
        LibxlEventWait => ("libxl_event.c", 1488),
        LibxlWatchfdCallback => ("libxl_event.c", 453),
        LibxlXswatchRegister => ("libxl_event.c", 539),
        LibxlXswatchDeregister => ("libxl_event.c", 604),
        LibxlAoComplete => ("libxl_event.c", 1600),
        LibxlAoDestroy => ("libxl_event.c", 1572),
        LibxlDomainDestroy => ("libxl.c", 1263),
        LibxlDestroyDomid => ("libxl.c", 1385),
        LibxlKillDeviceModel => ("libxl_dm.c", 1489),
        LibxlDevicesDestroy => ("libxl_device.c", 618),
        LibxlInitiateDeviceRemove => ("libxl_device.c", 778),
        LibxlDevstateWatchCallback => ("libxl_event.c", 642),
        LibxlDevstateTimeout => ("libxl_event.c", 674),
        LibxlDeviceQemuTimeout => ("libxl_device.c", 880),
        LibxlDeviceBackendCallback => ("libxl_device.c", 922),
        LibxlDeviceHotplug => ("libxl_device.c", 968),
        LibxlDeviceHotplugTimeout => ("libxl_device.c", 1056),
        LibxlDeviceHotplugChildDeath => ("libxl_device.c", 1077),
        LibxlDeviceHotplugDone => ("libxl_device.c", 1155),
        LibxlDeviceDestroy => ("libxl_device.c", 561),
        LibxlDevicesDestroyCb => ("libxl.c", 1455),
        _ => ("?", 0),
    }
}

/// How an xl process began, for the frames below its first modelled one.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Base {
    /// A command: `main` calls the command's `main_*`.
    Command,
    /// The daemonised monitor: `main` → `main_create` → `create_domain`,
    /// inherited from the `xl create` it was forked from; the line is
    /// `create_domain`'s current call site.
    Monitor(L),
}

/// One gdb frame.
struct GdbFrame {
    func: &'static str,
    file: &'static str,
    line: u32,
}

fn frame_of(f: &crate::stack::Frame) -> GdbFrame {
    let (file, site) = site_of(f.probe);
    let func = f.probe.function();
    if f.line != 0 {
        if let Some(loc) = LINES.get(f.line as usize) {
            if loc.func == func {
                return GdbFrame {
                    func,
                    file: loc.file,
                    line: loc.line,
                };
            }
        }
    }
    GdbFrame {
        func,
        file,
        line: site,
    }
}

/// Functions between two modelled frames that gdb would show (the event
/// loop's own frames, the wrapper between a command and its work).
fn between(outer: Probe, inner: Probe, out: &mut Vec<GdbFrame>) {
    use Probe::*;
    let g = |l: L| {
        let loc = l.loc();
        GdbFrame {
            func: loc.func,
            file: loc.file,
            line: loc.line,
        }
    };
    let looping = matches!(outer, LibxlEventWait) || outer == LibxlDomainDestroy;
    let dispatched = matches!(
        inner,
        LibxlWatchfdCallback
            | LibxlDevstateTimeout
            | LibxlDeviceQemuTimeout
            | LibxlDeviceHotplugTimeout
    ) || inner == LibxlDeviceHotplugChildDeath;
    if looping && dispatched {
        if outer == LibxlDomainDestroy {
            out.push(g(L::DestroyAoInprogress));
            out.push(g(L::AoInprogressLoop));
        }
        out.push(g(L::EventloopAfterpoll));
        match inner {
            LibxlWatchfdCallback => out.push(g(L::AfterpollFd)),
            LibxlDeviceHotplugChildDeath => {
                out.push(g(L::AfterpollFd));
                out.push(g(L::ChildReapedCall));
            }
            _ => {
                out.push(g(L::AfterpollTime));
                out.push(g(L::TimeOccurs));
            }
        }
    }
    if matches!(outer, XlMainShutdown | XlMainReboot) {
        let l = if matches!(inner, XlWaitForDomainDeaths) {
            L::ShutdownOrRebootWait
        } else {
            L::ShutdownOrRebootFn
        };
        out.push(g(l));
    }
}

/// gdb's `bt` of an xl process: innermost first, `#N  func () at file:line`.
pub fn format_bt(ctx: &Context, base: Base) -> String {
    let modelled: Vec<&crate::stack::Frame> = ctx
        .stack
        .iter()
        .filter(|f| matches!(f.probe.layer(), Layer::Xl | Layer::Libxl))
        .collect();
    // Outermost first, then reversed for printing.
    let mut frames: Vec<GdbFrame> = Vec::new();
    frames.push(GdbFrame {
        func: "main",
        file: "xl.c",
        line: 360,
    });
    if let Base::Monitor(at) = base {
        let c = L::MainCreateCall.loc();
        frames.push(GdbFrame {
            func: c.func,
            file: c.file,
            line: c.line,
        });
        let loc = at.loc();
        frames.push(GdbFrame {
            func: "create_domain",
            file: loc.file,
            line: loc.line,
        });
    }
    let mut prev: Option<Probe> = None;
    for f in &modelled {
        if f.probe == Probe::XlMain {
            // main is already the base.
            prev = Some(f.probe);
            continue;
        }
        if let Some(p) = prev {
            between(p, f.probe, &mut frames);
        }
        frames.push(frame_of(f));
        prev = Some(f.probe);
    }
    let mut out = String::new();
    for (i, f) in frames.iter().rev().enumerate() {
        out.push_str(&format!("#{i:<2} {} () at {}:{}\n", f.func, f.file, f.line));
    }
    out
}
