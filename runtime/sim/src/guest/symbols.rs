//! The guest kernel's symbol table and its `Call Trace:` format (Linux 4.4
//! x86_64 with frame pointers: ` [<ffffffff810a2b6c>] kernel_power_off+0x7c/0x80`).
//! Addresses are estimates for Ubuntu's 4.4.0-150-generic (docs/fidelity.md);
//! the order of frames is the model's own.

use crate::probe::{Layer, Probe};
use crate::stack::{Context, Frame};
use crate::Sim;

/// One kernel function.
#[derive(Copy, Clone, Debug)]
pub struct LinuxSym {
    /// The function's name in the trace.
    pub name: &'static str,
    /// Start address.
    pub addr: u64,
    /// Size.
    pub size: u32,
    /// Return-address offset of its call to the next frame (or of the site
    /// for the innermost frame).
    pub call: u32,
}

const fn s(name: &'static str, addr: u64, size: u32, call: u32) -> LinuxSym {
    LinuxSym {
        name,
        addr,
        size,
        call,
    }
}

/// The symbol of a guest probe, if it is a kernel function.
pub fn symbol(p: Probe) -> Option<LinuxSym> {
    Some(match p {
        Probe::GuestXenwatchThread => s("xenwatch_thread", 0xffffffff81478e20, 0x110, 0x8f),
        Probe::GuestShutdownHandler => s("shutdown_handler", 0xffffffff81472a40, 0x170, 0xd4),
        Probe::GuestSysrqHandler => s("sysrq_handler", 0xffffffff81472bb0, 0x110, 0xc1),
        Probe::GuestDoPoweroff => s("do_poweroff", 0xffffffff81472880, 0x50, 0x2d),
        Probe::GuestDoReboot => s("do_reboot", 0xffffffff814728d0, 0x20, 0x15),
        Probe::GuestOrderlyPoweroff => s("orderly_poweroff", 0xffffffff810a2f60, 0x40, 0x2c),
        Probe::GuestPoweroffWorkFunc => s("poweroff_work_func", 0xffffffff810a2ea0, 0x20, 0x12),
        Probe::GuestOrderlyPoweroffInner => s("__orderly_poweroff", 0xffffffff810a2de0, 0xc0, 0x69),
        Probe::GuestRunCmd => s("run_cmd", 0xffffffff810a2d40, 0xa0, 0x5b),
        Probe::GuestCtrlAltDel => s("ctrl_alt_del", 0xffffffff810a2cd0, 0x50, 0x37),
        Probe::GuestSysReboot => s("SyS_reboot", 0xffffffff810a30b0, 0x210, 0x12e),
        Probe::GuestKernelPowerOff => s("kernel_power_off", 0xffffffff810a2af0, 0x80, 0x7c),
        Probe::GuestKernelHalt => s("kernel_halt", 0xffffffff810a2a70, 0x70, 0x61),
        Probe::GuestKernelRestart => s("kernel_restart", 0xffffffff810a29f0, 0x70, 0x5f),
        Probe::GuestDeviceShutdown => s("device_shutdown", 0xffffffff8155c5d0, 0x1c0, 0x11f),
        Probe::GuestXenbusDevShutdown => s("xenbus_dev_shutdown", 0xffffffff8147a2b0, 0xa0, 0x6e),
        Probe::GuestMachinePowerOff => s("machine_power_off", 0xffffffff81056a40, 0x20, 0x15),
        Probe::GuestNativeMachinePowerOff => {
            s("native_machine_power_off", 0xffffffff81056b20, 0x40, 0x2e)
        }
        Probe::GuestMachineShutdown => s("native_machine_shutdown", 0xffffffff81056c30, 0x90, 0x48),
        Probe::GuestMachineHalt => s("native_machine_halt", 0xffffffff81056ae0, 0x40, 0x1f),
        Probe::GuestMachineRestart => s("native_machine_restart", 0xffffffff81056cc0, 0x40, 0x2a),
        Probe::GuestHltIrqOff => s("stop_this_cpu", 0xffffffff810378f0, 0x40, 0x31),
        Probe::GuestPmPowerOff => s("native_machine_power_off", 0xffffffff81056b20, 0x40, 0x38),
        Probe::GuestAcpiPowerOff => s("acpi_power_off", 0xffffffff814a7e60, 0x30, 0x24),
        Probe::GuestAcpiEnterSleepState => {
            s("acpi_enter_sleep_state", 0xffffffff814cd0c0, 0x60, 0x4d)
        }
        Probe::GuestOutw => s("acpi_hw_legacy_sleep", 0xffffffff814cc8e0, 0x1e0, 0x10b),
        Probe::GuestOutb => s(
            "native_machine_emergency_restart",
            0xffffffff81056d10,
            0x240,
            0x1a4,
        ),
        Probe::GuestXenReboot => s("xen_reboot", 0xffffffff8100a8b0, 0x60, 0x43),
        Probe::GuestPanic => s("panic", 0xffffffff8118c1e0, 0x1f0, 0xea),
        Probe::GuestHandleSysrq => s("__handle_sysrq", 0xffffffff814b6a30, 0x150, 0xf2),
        Probe::GuestAcpiButtonNotify => s("acpi_button_notify", 0xffffffff814e1be0, 0x140, 0x9b),
        Probe::GuestBackendChanged => s("backend_changed", 0xffffffff81479cc0, 0x30, 0x1f),
        _ => return None,
    })
}

/// Frames a context's kernel stack always has below the modelled ones.
fn base_frames(ctx: &Context) -> &'static [LinuxSym] {
    const KTHREAD: &[LinuxSym] = &[
        s("kthread", 0xffffffff810a0f80, 0xf0, 0xd8),
        s("ret_from_fork", 0xffffffff8183a1d0, 0x40, 0x3f),
    ];
    const WORKER: &[LinuxSym] = &[
        s("process_one_work", 0xffffffff8109a460, 0x460, 0x165),
        s("worker_thread", 0xffffffff8109a8f0, 0x4b0, 0x4b),
        s("kthread", 0xffffffff810a0f80, 0xf0, 0xd8),
        s("ret_from_fork", 0xffffffff8183a1d0, 0x40, 0x3f),
    ];
    const SYSCALL: &[LinuxSym] = &[s(
        "entry_SYSCALL_64_fastpath",
        0xffffffff81839df0,
        0x1c,
        0x16,
    )];
    // The idle task (PID 0) never entered from user space: its stack ends
    // in the boot path that became the idle loop (addresses estimated).
    const IDLE: &[LinuxSym] = &[
        s("cpu_startup_entry", 0xffffffff810c4e30, 0x2f0, 0x1ad),
        s("rest_init", 0xffffffff8182b150, 0x80, 0x77),
        s("start_kernel", 0xffffffff81f5e100, 0x47d, 0x461),
        s("x86_64_start_reservations", 0xffffffff81f5d3e0, 0x2a, 0x29),
        s("x86_64_start_kernel", 0xffffffff81f5d4e0, 0x14f, 0x14f),
    ];
    let n = &*ctx.name;
    if n.starts_with("kworker") || n.starts_with("kacpi_notify") {
        WORKER
    } else if n.starts_with("xenwatch") {
        KTHREAD
    } else if n.starts_with("swapper/") {
        IDLE
    } else {
        SYSCALL
    }
}

/// The `Call Trace:` block of a guest context's stack (innermost first).
pub fn format_call_trace(ctx: &Context) -> String {
    let frames: Vec<&Frame> = ctx
        .stack
        .iter()
        .filter(|f| f.probe.layer() == Layer::Guest)
        .collect();
    let mut out = String::from("Call Trace:\n");
    let mut last: Option<&'static str> = None;
    for f in frames.iter().rev() {
        let Some(sym) = symbol(f.probe) else { continue };
        if last == Some(sym.name) {
            continue;
        }
        last = Some(sym.name);
        out.push_str(&format!(
            " [<{:016x}>] {}+{:#x}/{:#x}\n",
            sym.addr + sym.call as u64,
            sym.name,
            sym.call,
            sym.size
        ));
    }
    for sym in base_frames(ctx) {
        out.push_str(&format!(
            " [<{:016x}>] {}+{:#x}/{:#x}\n",
            sym.addr + sym.call as u64,
            sym.name,
            sym.call,
            sym.size
        ));
    }
    out
}

/// `dump_stack()` as `panic()` prints it: CPU/PID/Comm, hardware, Call Trace.
pub fn dump_stack_lines(sim: &Sim, domid: u32) -> Vec<String> {
    let ctx = sim.current_ctx();
    let ctxs = sim.ctxs.borrow();
    let c = ctxs.get(ctx);
    let kernel = sim
        .guests
        .borrow()
        .get(domid)
        .map_or("4.4.0", |g| g.profile.kernel);
    let comm: String = c
        .name
        .split(" (")
        .next()
        .unwrap_or("swapper/0")
        .chars()
        .take(15)
        .collect();
    // The task's own pid: `poweroff (pid 1591)`, `systemd (PID 1)`; the
    // idle task and the kernel threads whose pid the model does not draw
    // show 0.
    let pid = c
        .name
        .rsplit_once("(pid ")
        .or_else(|| c.name.rsplit_once("(PID "))
        .and_then(|(_, p)| p.trim_end_matches(')').parse::<u32>().ok())
        .unwrap_or(0);
    let mut v = vec![
        format!("CPU: 0 PID: {pid} Comm: {comm} Not tainted {kernel} #176-Ubuntu"),
        "Hardware name: Xen HVM domU, BIOS 4.4.4 06/05/2019".to_string(),
    ];
    v.extend(format_call_trace(c).lines().map(str::to_string));
    v
}
