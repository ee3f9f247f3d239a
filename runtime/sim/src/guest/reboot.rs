//! The kernel's way down (Linux 4.4.1 kernel/reboot.c, arch/x86/kernel/reboot.c,
//! arch/x86/xen/enlighten.c, drivers/acpi/sleep.c and acpica/hwsleep.c):
//! orderly_poweroff → run_cmd, reboot(2), kernel_power_off / halt / restart,
//! the machine ops, `pm_power_off` and ACPI S5, panic and SysRq.

use std::future::Future;
use std::pin::Pin;

use crate::hypervisor::{self, reason, SchedOp};
use crate::probe::Probe;
use crate::time::SimDuration;
use crate::value::Value;
use crate::Sim;

use super::{guest_sleep, level, printk, GuestKind, PowerOff, ShuttingDown, SystemState};

/// LINUX_REBOOT_CMD_* values.
pub mod cmd {
    /// LINUX_REBOOT_CMD_RESTART.
    pub const RESTART: u32 = 0x0123_4567;
    /// LINUX_REBOOT_CMD_HALT.
    pub const HALT: u32 = 0xCDEF_0123;
    /// LINUX_REBOOT_CMD_POWER_OFF.
    pub const POWER_OFF: u32 = 0x4321_FEDC;
}

/// PM1a_CNT in the V1 layout Xen ≥ 4.1's hvmloader describes.
pub const PM1A_CNT: u16 = 0xb004;
const SLP_EN: u64 = 1 << 13;
const SCI_EN: u64 = 1;
/// \_S5's SLP_TYP with the V1 DSDT.
const SLP_TYP_S5: u64 = 0;

type Boxed<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

fn guest_field<T>(sim: &Sim, domid: u32, f: impl FnOnce(&mut super::Guest) -> T) -> Option<T> {
    sim.guests.borrow_mut().get_mut(domid).map(f)
}

/// manage.c `do_poweroff` (also "halt").
pub async fn do_poweroff(sim: &Sim, domid: u32) {
    let s = sim.clone();
    sim.call(Probe::GuestDoPoweroff, domid, Vec::new, async move {
        let state = guest_field(&s, domid, |g| g.system_state).unwrap_or(SystemState::Halt);
        match state {
            SystemState::Booting => orderly_poweroff(&s, domid, true).await,
            SystemState::Running => orderly_poweroff(&s, domid, false).await,
            _ => printk(
                &s,
                domid,
                level::INFO,
                "xen:manage: Ignoring Xen toolstack shutdown.",
            ),
        }
    })
    .await
}

/// manage.c `do_reboot`: `shutting_down = SHUTDOWN_POWEROFF; /* ? */` then Ctrl-Alt-Del.
pub async fn do_reboot(sim: &Sim, domid: u32) {
    let s = sim.clone();
    sim.call(Probe::GuestDoReboot, domid, Vec::new, async move {
        guest_field(&s, domid, |g| g.shutting_down = ShuttingDown::Poweroff);
        ctrl_alt_del(&s, domid).await;
    })
    .await
}

/// manage.c `do_suspend`, reduced to its hypercall: the domain reports
/// SHUTDOWN_suspend (xend's save path is not modelled).
pub async fn do_suspend(sim: &Sim, domid: u32) {
    guest_field(sim, domid, |g| g.shutting_down = ShuttingDown::Suspend);
    printk(sim, domid, level::DEBUG, "suspending xenstore...");
    hypervisor::do_sched_op(
        sim,
        domid,
        SchedOp::Shutdown {
            reason: reason::SUSPEND as u32,
        },
    )
    .await;
}

/// `ctrl_alt_del()`: with C_A_D off (systemd) it is SIGINT to PID 1.
pub async fn ctrl_alt_del(sim: &Sim, domid: u32) {
    let s = sim.clone();
    sim.call(Probe::GuestCtrlAltDel, domid, Vec::new, async move {
        let cad = guest_field(&s, domid, |g| g.cad_enabled).unwrap_or(true);
        if cad {
            let ctx = super::new_task_ctx(&s, domid, "kworker/0:2");
            let s2 = s.clone();
            super::spawn(
                &s,
                domid,
                ctx,
                async move { kernel_restart(&s2, domid).await },
            );
        } else {
            super::init::send_pid1(&s, domid, super::init::Pid1Msg::Sigint);
        }
    })
    .await
}

/// `orderly_poweroff(force)`: a sticky force, then `schedule_work(&poweroff_work)`.
pub async fn orderly_poweroff(sim: &Sim, domid: u32, force: bool) {
    let s = sim.clone();
    sim.call(
        Probe::GuestOrderlyPoweroff,
        domid,
        move || vec![Value::Bool(force)],
        async move {
            let kw = guest_field(&s, domid, |g| {
                g.poweroff_force |= force;
                g.next_kworker += 1;
                g.next_kworker
            })
            .unwrap_or(1);
            let ctx = super::new_task_ctx(&s, domid, &format!("kworker/0:{kw}"));
            let hop = s.hop("schedule_work(&poweroff_work)");
            s.adopt(ctx, hop);
            let s2 = s.clone();
            super::spawn(&s, domid, ctx, async move {
                s2.sleep(SimDuration::micros(30)).await;
                poweroff_work_func(&s2, domid).await;
            });
        },
    )
    .await
}

async fn poweroff_work_func(sim: &Sim, domid: u32) {
    let s = sim.clone();
    sim.call(Probe::GuestPoweroffWorkFunc, domid, Vec::new, async move {
        let force = guest_field(&s, domid, |g| g.poweroff_force).unwrap_or(false);
        orderly_poweroff_inner(&s, domid, force).await;
    })
    .await
}

/// `__orderly_poweroff(force)`: only a failure with force powers off directly.
async fn orderly_poweroff_inner(sim: &Sim, domid: u32, force: bool) -> i64 {
    let s = sim.clone();
    sim.call(
        Probe::GuestOrderlyPoweroffInner,
        domid,
        move || vec![Value::Bool(force)],
        async move {
            let cmd = guest_field(&s, domid, |g| g.poweroff_cmd.clone()).unwrap_or_default();
            let ret = run_cmd(&s, domid, cmd).await;
            if ret != 0 && force {
                printk(
                    &s,
                    domid,
                    level::WARNING,
                    "reboot: Failed to start orderly shutdown: forcing the issue",
                );
                // emergency_sync(), then straight to the kernel's power-off.
                kernel_power_off(&s, domid).await;
            }
            ret
        },
    )
    .await
}

/// `run_cmd`: `call_usermodehelper(argv[0], ..., UMH_WAIT_EXEC)`: 0 once the
/// program execs, -ENOENT if it is not there, -EBUSY once usermode helpers
/// are disabled (the system is going down).
pub async fn run_cmd(sim: &Sim, domid: u32, cmd: String) -> i64 {
    let s = sim.clone();
    let shown = cmd.clone();
    sim.call(
        Probe::GuestRunCmd,
        domid,
        move || vec![Value::str(&shown)],
        async move {
            let argv: Vec<String> = cmd.split_whitespace().map(str::to_string).collect();
            let Some(prog) = argv.first().cloned() else {
                return -12;
            };
            let (exists, disabled, exec_ms) = match s.guests.borrow().get(domid) {
                Some(g) => (
                    g.files.contains(&prog.as_str()),
                    g.system_state > SystemState::Running,
                    g.profile.exec_ms,
                ),
                None => return -2,
            };
            if disabled {
                return -16;
            }
            guest_sleep(&s, domid, SimDuration::millis(exec_ms as u64)).await;
            if !exists {
                return -2;
            }
            super::init::exec_program(&s, domid, argv);
            0
        },
    )
    .await
}

/// `reboot(2)` from userspace, on the calling process's context.
pub async fn sys_reboot(sim: &Sim, domid: u32, command: u32) -> i64 {
    let s = sim.clone();
    sim.call(
        Probe::GuestSysReboot,
        domid,
        move || vec![Value::Int(command as i64)],
        async move {
            let null = guest_field(&s, domid, |g| matches!(g.pm_power_off, PowerOff::Null))
                .unwrap_or(true);
            // Instead of trying to make the power_off code look like halt when
            // pm_power_off is not set do it the easy way.
            let command = if command == cmd::POWER_OFF && null {
                cmd::HALT
            } else {
                command
            };
            match command {
                cmd::RESTART => kernel_restart(&s, domid).await,
                cmd::HALT => {
                    kernel_halt(&s, domid).await;
                    do_exit_pid1(&s, domid).await;
                }
                cmd::POWER_OFF => {
                    kernel_power_off(&s, domid).await;
                    do_exit_pid1(&s, domid).await;
                }
                _ => return -22,
            }
            0
        },
    )
    .await
}

/// `do_exit(0)` of PID 1 after a power-off that returned.
async fn do_exit_pid1(sim: &Sim, domid: u32) {
    guest_panic(
        sim,
        domid,
        "Attempted to kill init! exitcode=0x00000000".into(),
    )
    .await;
}

fn kernel_shutdown_prepare<'a>(sim: &'a Sim, domid: u32, state: SystemState) -> Boxed<'a> {
    Box::pin(async move {
        // Reboot notifiers: Xen's poweroff_nb ignores further toolstack
        // requests from here on; ACPI's runs _TTS.
        guest_field(sim, domid, |g| {
            if g.shutting_down == ShuttingDown::Invalid {
                g.shutting_down = ShuttingDown::Poweroff;
            }
            g.system_state = state;
        });
        device_shutdown(sim, domid).await;
    })
}

async fn device_shutdown(sim: &Sim, domid: u32) {
    let s = sim.clone();
    sim.call(Probe::GuestDeviceShutdown, domid, Vec::new, async move {
        // devices_kset is walked in reverse order of registration.
        let nodes: Vec<String> = match s.guests.borrow().get(domid) {
            Some(g) => g.frontends.nodenames().rev().map(String::from).collect(),
            None => return,
        };
        for n in nodes {
            super::xenbus::xenbus_dev_shutdown(&s, domid, n).await;
        }
    })
    .await
}

/// `kernel_power_off()`.
pub async fn kernel_power_off(sim: &Sim, domid: u32) {
    let s = sim.clone();
    sim.call(Probe::GuestKernelPowerOff, domid, Vec::new, async move {
        kernel_shutdown_prepare(&s, domid, SystemState::PowerOff).await;
        let acpi = guest_field(&s, domid, |g| g.acpi).unwrap_or(false);
        if acpi {
            // pm_power_off_prepare = acpi_power_off_prepare → acpi_sleep_prepare(S5)
            printk(
                &s,
                domid,
                level::INFO,
                "ACPI: Preparing to enter system sleep state S5",
            );
        }
        printk(&s, domid, level::EMERG, "reboot: Power down");
        machine_power_off(&s, domid).await;
    })
    .await
}

/// `kernel_halt()`.
pub async fn kernel_halt(sim: &Sim, domid: u32) {
    let s = sim.clone();
    sim.call(Probe::GuestKernelHalt, domid, Vec::new, async move {
        kernel_shutdown_prepare(&s, domid, SystemState::Halt).await;
        printk(&s, domid, level::EMERG, "reboot: System halted");
        machine_halt(&s, domid).await;
    })
    .await
}

/// `kernel_restart(NULL)`.
pub async fn kernel_restart(sim: &Sim, domid: u32) {
    let s = sim.clone();
    sim.call(Probe::GuestKernelRestart, domid, Vec::new, async move {
        kernel_shutdown_prepare(&s, domid, SystemState::Restart).await;
        printk(&s, domid, level::EMERG, "reboot: Restarting system");
        machine_restart(&s, domid).await;
    })
    .await
}

fn is_pv(sim: &Sim, domid: u32) -> bool {
    guest_field(sim, domid, |g| g.kind == GuestKind::Pv).unwrap_or(false)
}

/// `machine_power_off()`: `native_machine_power_off` (HVM/PVHVM keep the
/// native ops) or `xen_machine_power_off` (PV).
pub async fn machine_power_off(sim: &Sim, domid: u32) {
    let s = sim.clone();
    sim.call(Probe::GuestMachinePowerOff, domid, Vec::new, async move {
        let has_pm =
            guest_field(&s, domid, |g| !matches!(g.pm_power_off, PowerOff::Null)).unwrap_or(false);
        if is_pv(&s, domid) {
            if has_pm {
                pm_power_off(&s, domid).await;
            }
            xen_reboot(&s, domid, reason::POWEROFF).await;
            return;
        }
        let s2 = s.clone();
        s.call(
            Probe::GuestNativeMachinePowerOff,
            domid,
            Vec::new,
            async move {
                if has_pm {
                    machine_shutdown(&s2, domid).await;
                    pm_power_off(&s2, domid).await;
                }
                // tboot_shutdown(TB_SHUTDOWN_HALT): a no-op without tboot.
            },
        )
        .await;
    })
    .await
}

/// `native_machine_shutdown`: stop the other vCPUs (each HLTs with
/// interrupts off), local APIC and HPET off.
pub async fn machine_shutdown(sim: &Sim, domid: u32) {
    let s = sim.clone();
    sim.call(Probe::GuestMachineShutdown, domid, Vec::new, async move {
        let n = guest_field(&s, domid, |g| g.vcpus).unwrap_or(1);
        for v in 1..n {
            stop_this_cpu(&s, domid, v).await;
        }
    })
    .await
}

/// `stop_this_cpu`: interrupts off, then `hlt` forever (an HVM exit to Xen).
async fn stop_this_cpu(sim: &Sim, domid: u32, vcpu: u32) {
    let s = sim.clone();
    sim.call(
        Probe::GuestHltIrqOff,
        domid,
        move || vec![Value::Int(vcpu as i64)],
        async move {
            if !is_pv(&s, domid) {
                hypervisor::hvm::hvm_hlt(&s, domid, vcpu, false).await;
            }
        },
    )
    .await
}

/// The call through `pm_power_off`.
pub async fn pm_power_off(sim: &Sim, domid: u32) {
    let s = sim.clone();
    sim.call(Probe::GuestPmPowerOff, domid, Vec::new, async move {
        let p = guest_field(&s, domid, |g| g.pm_power_off.clone()).unwrap_or(PowerOff::Null);
        match p {
            PowerOff::Null => {}
            PowerOff::Symbol("acpi_power_off") => acpi_power_off(&s, domid).await,
            PowerOff::Symbol("xen_machine_power_off") => {
                xen_reboot(&s, domid, reason::POWEROFF).await
            }
            // Any other kernel function: returns without powering off.
            PowerOff::Symbol(_) => {}
            PowerOff::Custom(f) => f(&s, domid),
        }
    })
    .await
}

/// `acpi_power_off`: `acpi_enter_sleep_state(ACPI_STATE_S5)` with interrupts off.
pub async fn acpi_power_off(sim: &Sim, domid: u32) {
    let s = sim.clone();
    sim.call(Probe::GuestAcpiPowerOff, domid, Vec::new, async move {
        printk(&s, domid, level::DEBUG, "acpi_power_off called");
        acpi_enter_sleep_state(&s, domid, 5).await;
    })
    .await
}

/// `acpi_enter_sleep_state(5)` → `acpi_hw_legacy_sleep`: PM1a_CNT gets
/// SLP_TYP, then SLP_TYP|SLP_EN; if the machine is still running after a 10 s
/// stall, SLP_EN once more, then an endless WAK_STS poll.
pub async fn acpi_enter_sleep_state(sim: &Sim, domid: u32, state: u32) {
    let s = sim.clone();
    sim.call(
        Probe::GuestAcpiEnterSleepState,
        domid,
        move || vec![Value::Int(state as i64)],
        async move {
            let typ = SLP_TYP_S5 << 10;
            outw(&s, domid, PM1A_CNT, typ | SCI_EN).await;
            outw(&s, domid, PM1A_CNT, typ | SCI_EN | SLP_EN).await;
            guest_sleep(&s, domid, SimDuration::secs(10)).await;
            outw(&s, domid, PM1A_CNT, SCI_EN | SLP_EN).await;
            // while (!WAK_STS) — interrupts off, no timeout.
            std::future::pending::<()>().await;
        },
    )
    .await
}

/// A 16-bit `out` from vCPU 0.
pub async fn outw(sim: &Sim, domid: u32, port: u16, value: u64) {
    let s = sim.clone();
    sim.call(
        Probe::GuestOutw,
        domid,
        move || vec![Value::Int(port as i64), Value::Int(value as i64)],
        async move {
            hypervisor::guest_port_io(&s, domid, 0, port, 2, value).await;
        },
    )
    .await
}

/// An 8-bit `out` from vCPU 0.
pub async fn outb(sim: &Sim, domid: u32, port: u16, value: u64) {
    let s = sim.clone();
    sim.call(
        Probe::GuestOutb,
        domid,
        move || vec![Value::Int(port as i64), Value::Int(value as i64)],
        async move {
            hypervisor::guest_port_io(&s, domid, 0, port, 1, value).await;
        },
    )
    .await
}

/// `machine_halt()`: `native_machine_halt` (HVM: every vCPU ends in HLT with
/// interrupts off) or `xen_machine_halt` (PV: SHUTDOWN_poweroff).
pub async fn machine_halt(sim: &Sim, domid: u32) {
    let s = sim.clone();
    sim.call(Probe::GuestMachineHalt, domid, Vec::new, async move {
        if is_pv(&s, domid) {
            xen_reboot(&s, domid, reason::POWEROFF).await;
            return;
        }
        machine_shutdown(&s, domid).await;
        stop_this_cpu(&s, domid, 0).await;
        std::future::pending::<()>().await;
    })
    .await
}

/// `machine_restart()`: PV asks Xen for SHUTDOWN_reboot; HVM runs the
/// emergency restart loop — ACPI reset (a no-op: the Xen FADT does not set
/// RESET_REG_SUP), then the keyboard controller, ten times `outb(0xfe, 0x64)`.
pub async fn machine_restart(sim: &Sim, domid: u32) {
    let s = sim.clone();
    sim.call(Probe::GuestMachineRestart, domid, Vec::new, async move {
        if is_pv(&s, domid) {
            xen_reboot(&s, domid, reason::REBOOT).await;
            return;
        }
        printk(&s, domid, level::NOTICE, "reboot: machine restart");
        machine_shutdown(&s, domid).await;
        for _ in 0..10 {
            outb(&s, domid, 0x64, 0xfe).await;
            guest_sleep(&s, domid, SimDuration::micros(50)).await;
        }
        // BOOT_TRIPLE as the last resort.
        hypervisor::hvm::hvm_triple_fault(&s, domid, 0).await;
        std::future::pending::<()>().await;
    })
    .await
}

/// `xen_reboot(reason)`: `HYPERVISOR_sched_op(SCHEDOP_shutdown, &{reason})`.
pub async fn xen_reboot(sim: &Sim, domid: u32, why: u8) {
    let s = sim.clone();
    sim.call(
        Probe::GuestXenReboot,
        domid,
        move || vec![Value::Int(why as i64)],
        async move {
            hypervisor::do_sched_op(&s, domid, SchedOp::Shutdown { reason: why as u32 }).await;
            // A vCPU of a domain that shut down never returns to the guest.
            super::freeze_unless_runnable(&s, domid).await;
        },
    )
    .await
}

/// `panic(msg)`: the message, then the panic notifiers — Xen's (PV, and HVM
/// with a Xen-aware kernel) reports SHUTDOWN_crash; a pure HVM kernel hangs
/// (panic_timeout 0).
pub async fn guest_panic(sim: &Sim, domid: u32, msg: String) {
    let s = sim.clone();
    let shown = msg.clone();
    sim.call(
        Probe::GuestPanic,
        domid,
        move || vec![Value::str(&shown)],
        async move {
            printk(
                &s,
                domid,
                level::EMERG,
                format_args!("Kernel panic - not syncing: {msg}"),
            );
            let stack = super::symbols::dump_stack_lines(&s, domid);
            for l in stack {
                printk(&s, domid, level::EMERG, &l);
            }
            let xen_aware = guest_field(&s, domid, |g| g.kind == GuestKind::Pv || g.pv_drivers)
                .unwrap_or(false);
            if xen_aware {
                xen_reboot(&s, domid, reason::CRASH).await;
            } else {
                printk(
                    &s,
                    domid,
                    level::EMERG,
                    format_args!("---[ end Kernel panic - not syncing: {msg}"),
                );
                std::future::pending::<()>().await;
            }
        },
    )
    .await
}

/// Magic SysRq (`handle_sysrq`), as `control/sysrq` delivers it.
pub async fn handle_sysrq(sim: &Sim, domid: u32, key: char) {
    let s = sim.clone();
    sim.call(
        Probe::GuestHandleSysrq,
        domid,
        move || vec![Value::str(key.to_string())],
        async move {
            let mask = guest_field(&s, domid, |g| g.sysrq_mask).unwrap_or(0);
            let (action, bit) = match key {
                'o' => ("Power Off", 0x80),
                'b' => ("Resetting", 0x80),
                'c' => ("Trigger a crash", 0x08),
                's' => ("Emergency Sync", 0x10),
                'h' => ("HELP", 0),
                _ => ("HELP", 0),
            };
            let allowed = mask == 1 || mask & bit != 0 || bit == 0;
            if !allowed {
                printk(
                    &s,
                    domid,
                    level::INFO,
                    "sysrq: SysRq : This sysrq operation is disabled.",
                );
                return;
            }
            printk(
                &s,
                domid,
                level::INFO,
                format_args!("sysrq: SysRq : {action}"),
            );
            match key {
                'o' => {
                    // poweroff_work on the first online CPU: kernel_power_off(), no init.
                    let ctx = super::new_task_ctx(&s, domid, "kworker/0:1");
                    let s2 = s.clone();
                    super::spawn(
                        &s,
                        domid,
                        ctx,
                        async move { kernel_power_off(&s2, domid).await },
                    );
                }
                'b' => machine_restart(&s, domid).await,
                'c' => guest_panic(&s, domid, "sysrq triggered crash".into()).await,
                _ => {}
            }
        },
    )
    .await
}
