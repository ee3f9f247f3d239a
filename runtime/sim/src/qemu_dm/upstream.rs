//! qemu-xen: upstream QEMU 1.6.2 as Xen 4.4.4 pins it (qemu-xen-4.4.4),
//! libxl's default device model (docs/reference-xl.md §7). Its ioreq path is
//! qemu-dm's (xen-all.c:841-879: act on a shutdown or reset request before
//! answering), but its main loop is QEMU's: a shutdown request makes it
//! leave the loop and exit (libxl passes no `-no-shutdown`), and SIGHUP,
//! SIGINT and SIGTERM have a handler that reports who sent them
//! (`qemu: terminating on signal N from pid P`, vl.c:1822-1836).

use std::collections::VecDeque;

use crate::hypervisor::{self, reason, IoreqState, SchedOp};
use crate::probe::{Layer, Probe};
use crate::time::SimDuration;
use crate::value::Value;
use crate::Sim;

use super::{qlog, QemuDm, QemuSetup, Version};

const SLP_EN: u16 = 1 << 13;

/// Starts qemu-xen for an HVM domain (libxl has already opened its log on
/// stdout and stderr). With no serial, vnc-less display and no monitor on
/// a terminal, QEMU 1.6 writes nothing at start.
pub fn start(sim: &Sim, s: &QemuSetup) {
    let ctx = sim.new_ctx(
        format!("qemu-system-i386 (pid {})", s.pid),
        Layer::Qemu,
        s.domid,
    );
    sim.qemu.borrow_mut().by_dom.insert(
        s.domid,
        QemuDm {
            domid: s.domid,
            name: s.name.clone(),
            pid: s.pid,
            alive: true,
            exit_status: None,
            pm1_control: 1,
            shutdown_requested: false,
            reset_requested: false,
            pending: VecDeque::new(),
            waiter: None,
            task: None,
            ctx,
            exit_waiters: Vec::new(),
            log: super::log_file(&s.name),
            // The file as it is named now (libxl opened it for this process).
            log_generation: sim.logs.borrow().generation(&super::log_file(&s.name)),
            version: Version::QemuXen,
            killed_by: None,
        },
    );
    let d = s.domid;
    hypervisor::domctl::get_domain(sim, d);
    let handler: hypervisor::IoreqCallback =
        std::rc::Rc::new(move |sim: &Sim, vcpu: u32, hop| super::ioreq_event(sim, d, vcpu, hop));
    if let Some(dom) = sim.xen.borrow_mut().domain_mut(d) {
        dom.ioreq_handler = Some(handler);
    }
    let t = sim.spawn(ctx, main_loop(sim.clone(), d));
    if let Some(q) = sim.qemu.borrow_mut().by_dom.get_mut(&d) {
        q.task = Some(t);
    }
}

/// `main_loop` (vl.c:2077-2093): wait, handle, then `main_loop_should_exit`.
async fn main_loop(sim: Sim, domid: u32) {
    let s = sim.clone();
    sim.call(Probe::QemuMainLoop, domid, Vec::new, async move {
        loop {
            let next = s
                .qemu
                .borrow_mut()
                .by_dom
                .get_mut(&domid)
                .and_then(|q| q.pending.pop_front());
            match next {
                Some((vcpu, hop)) => {
                    let ctx = s.current_ctx();
                    s.adopt(ctx, hop);
                    s.sleep(SimDuration::micros(15)).await;
                    // Boxed, as in qemu-dm's loop: the loop waits most of its life.
                    Box::pin(cpu_handle_ioreq(&s, domid, vcpu)).await;
                }
                None => {
                    // A signal's handler or nothing: main_loop_wait returns
                    // only when there is work or a notification.
                    let asked = s
                        .qemu
                        .borrow()
                        .by_dom
                        .get(&domid)
                        .is_some_and(|q| q.shutdown_requested || q.reset_requested);
                    if !asked {
                        let s2 = s.clone();
                        s.park(move |t| {
                            if let Some(q) = s2.qemu.borrow_mut().by_dom.get_mut(&domid) {
                                q.waiter = Some(t);
                            }
                        })
                        .await;
                        continue;
                    }
                }
            }
            s.at(4);
            if main_loop_should_exit(&s, domid).await {
                break;
            }
        }
        // main() after the loop: bdrv_close_all, exit notifiers, exit(0).
        super::exit(&s, domid, "exited with status 0".into());
    })
    .await
}

/// `cpu_handle_ioreq` (xen-all.c:841-879).
async fn cpu_handle_ioreq(sim: &Sim, domid: u32, vcpu: u32) {
    let s = sim.clone();
    sim.call(
        Probe::QemuCpuHandleIoreq,
        domid,
        move || vec![Value::Int(vcpu as i64)],
        async move {
            let req = {
                let mut xen = s.xen.borrow_mut();
                let Some(v) = xen
                    .domain_mut(domid)
                    .and_then(|d| d.vcpus.get_mut(vcpu as usize))
                else {
                    return;
                };
                if v.ioreq.state != IoreqState::Ready {
                    None
                } else {
                    v.ioreq.state = IoreqState::InProcess;
                    Some(v.ioreq.clone())
                }
            };
            let Some(req) = req else { return };
            cpu_ioreq_pio(&s, domid, req.addr as u16, req.size, req.data).await;
            // qemu_shutdown_requested_get / qemu_reset_requested_get read
            // without clearing: the main loop acts on them afterwards too.
            let (shutdown, reset) = match s.qemu.borrow().by_dom.get(&domid) {
                Some(q) => (q.shutdown_requested, q.reset_requested),
                None => return,
            };
            if shutdown {
                s.at(1);
                destroy_hvm_domain(&s, domid, false).await;
            }
            if reset {
                s.at(2);
                let s2 = s.clone();
                s.call(Probe::QemuSystemReset, domid, Vec::new, async move {
                    let _ = &s2;
                })
                .await;
                destroy_hvm_domain(&s, domid, true).await;
            }
            {
                let mut xen = s.xen.borrow_mut();
                if let Some(v) = xen
                    .domain_mut(domid)
                    .and_then(|d| d.vcpus.get_mut(vcpu as usize))
                {
                    v.ioreq.state = IoreqState::RespReady;
                }
            }
            s.at(3);
            hypervisor::notify_ioreq_done(&s, domid, vcpu).await;
        },
    )
    .await
}

async fn cpu_ioreq_pio(sim: &Sim, domid: u32, port: u16, size: u8, value: u64) {
    let s = sim.clone();
    sim.call(
        Probe::QemuPioWrite,
        domid,
        move || {
            vec![
                Value::Int(port as i64),
                Value::Int(size as i64),
                Value::Int(value as i64),
            ]
        },
        async move {
            let v = value & ((1u64 << (size as u32 * 8).min(63)) - 1);
            match (port, size) {
                // The PM block hvmloader placed at 0xb000; PM1a_CNT takes
                // word accesses only (hw/acpi/core.c:545-551).
                (0xb004, 2) => acpi_pm1_cnt_write(&s, domid, v as u16).await,
                (0x64, 1) if v == 0xfe => {
                    let s2 = s.clone();
                    s.call(
                        Probe::QemuKbdWriteCommand,
                        domid,
                        move || vec![Value::Int(0xfe)],
                        async move {
                            let s3 = s2.clone();
                            s2.call(Probe::QemuResetRequest, domid, Vec::new, async move {
                                if let Some(q) = s3.qemu.borrow_mut().by_dom.get_mut(&domid) {
                                    q.reset_requested = true;
                                }
                            })
                            .await;
                        },
                    )
                    .await;
                }
                _ => {}
            }
        },
    )
    .await
}

/// `acpi_pm1_cnt_write` (hw/acpi/core.c:498-520).
async fn acpi_pm1_cnt_write(sim: &Sim, domid: u32, val: u16) {
    let s = sim.clone();
    sim.call(
        Probe::QemuAcpiPm1CntWrite,
        domid,
        move || vec![Value::Int(val as i64)],
        async move {
            if let Some(q) = s.qemu.borrow_mut().by_dom.get_mut(&domid) {
                q.pm1_control = val & !SLP_EN;
            }
            if val & SLP_EN == 0 {
                return;
            }
            // sus_typ 0: soft power off; 1: suspend (S3); the DSDT's S4 value
            // (hvmloader gives none but 0 for S4/S5): a shutdown too.
            if (val >> 10) & 7 == 0 {
                shutdown_request(&s, domid).await;
            }
        },
    )
    .await
}

/// `qemu_system_shutdown_request` (vl.c:1997-2001).
async fn shutdown_request(sim: &Sim, domid: u32) {
    let s = sim.clone();
    sim.call(Probe::QemuShutdownRequest, domid, Vec::new, async move {
        let w = {
            let mut q = s.qemu.borrow_mut();
            let Some(q) = q.by_dom.get_mut(&domid) else {
                return;
            };
            q.shutdown_requested = true;
            q.waiter.take()
        };
        // qemu_notify_event: the main loop wakes.
        if let Some(t) = w {
            s.wake(t);
        }
    })
    .await
}

/// `destroy_hvm_domain(reboot)` (xen-all.c:1169-1190).
async fn destroy_hvm_domain(sim: &Sim, domid: u32, reboot: bool) {
    let s = sim.clone();
    sim.call(Probe::QemuDestroyHvmDomain, domid, Vec::new, async move {
        let (code, what) = if reboot {
            (reason::REBOOT, "reboot")
        } else {
            (reason::POWEROFF, "poweroff")
        };
        let sts = hypervisor::do_sched_op(
            &s,
            0,
            SchedOp::RemoteShutdown {
                domid,
                reason: code as u32,
            },
        )
        .await;
        if sts != 0 {
            qlog(
                &s,
                domid,
                format_args!(
                    "xc_domain_shutdown failed to issue {what}, sts {sts}, {}",
                    if sts == -3 {
                        "No such process"
                    } else {
                        "Invalid argument"
                    }
                ),
            );
        } else {
            qlog(&s, domid, format_args!("Issued domain {domid} {what}"));
        }
    })
    .await
}

/// `main_loop_should_exit` (vl.c:2032-2075): a shutdown request reports a
/// kill and leaves the loop; a reset request resets and goes on.
async fn main_loop_should_exit(sim: &Sim, domid: u32) -> bool {
    let s = sim.clone();
    sim.call(Probe::QemuMainLoopShouldExit, domid, Vec::new, async move {
        let (shutdown, reset) = {
            let mut q = s.qemu.borrow_mut();
            let Some(q) = q.by_dom.get_mut(&domid) else {
                return true;
            };
            (
                std::mem::take(&mut q.shutdown_requested),
                std::mem::take(&mut q.reset_requested),
            )
        };
        if shutdown {
            kill_report(&s, domid).await;
            // no_shutdown is unset: libxl passes no -no-shutdown.
            return true;
        }
        if reset {
            let s2 = s.clone();
            s.call(Probe::QemuSystemReset, domid, Vec::new, async move {
                let _ = &s2;
            })
            .await;
        }
        false
    })
    .await
}

/// `qemu_kill_report` (vl.c:1822-1836).
async fn kill_report(sim: &Sim, domid: u32) {
    let killed = sim
        .qemu
        .borrow_mut()
        .by_dom
        .get_mut(&domid)
        .and_then(|q| q.killed_by.take());
    let Some((signo, pid)) = killed else { return };
    let s = sim.clone();
    sim.call(
        Probe::QemuKillReport,
        domid,
        move || vec![Value::Int(signo as i64), Value::Int(pid as i64)],
        async move {
            if pid == 0 {
                qlog(
                    &s,
                    domid,
                    format_args!("qemu: terminating on signal {signo}"),
                );
            } else {
                qlog(
                    &s,
                    domid,
                    format_args!("qemu: terminating on signal {signo} from pid {pid}"),
                );
            }
        },
    )
    .await
}

/// `termsig_handler` → `qemu_system_killed` (os-posix.c:65-68, vl.c:1989-1995)
/// for SIGINT, SIGHUP and SIGTERM: remember who, request a shutdown.
pub async fn system_killed(sim: &Sim, domid: u32, signo: u32, sender: u32) {
    let s = sim.clone();
    sim.call(
        Probe::QemuSystemKilled,
        domid,
        move || vec![Value::Int(signo as i64), Value::Int(sender as i64)],
        async move {
            if let Some(q) = s.qemu.borrow_mut().by_dom.get_mut(&domid) {
                q.killed_by = Some((signo, sender));
            }
            shutdown_request(&s, domid).await;
        },
    )
    .await
}
