//! qemu-dm, the device model of qemu-xen-traditional as xend 4.4 runs it
//! (guest-and-qemu.md §5): the ioreq loop, PIIX4's PM1a_CNT at 0xb004, the
//! keyboard controller's reset, `destroy_hvm_domain` before the ioreq is
//! answered, its log file, and death on SIGHUP (no handler in the
//! device-model build). `upstream.rs` is qemu-xen, libxl's default device
//! model (docs/reference-xl.md §7): the same ioreq path, QEMU's main loop
//! and signal handlers.

pub mod upstream;

use std::collections::VecDeque;

use indexmap::IndexMap;

use crate::exec::TaskId;
use crate::hypervisor::{self, reason, IoreqState, SchedOp};
use crate::probe::{Layer, Probe};
use crate::stack::CtxId;
use crate::time::SimDuration;
use crate::value::Value;
use crate::Sim;

const SLP_EN: u16 = 1 << 13;
const SLP_TYP_SHIFT: u16 = 10;
const GBL_RLS: u16 = 1 << 2;

/// One qemu-dm process.
pub struct QemuDm {
    /// The domain it serves.
    pub domid: u32,
    /// The domain's name (its log file).
    pub name: String,
    /// The process id.
    pub pid: u32,
    /// Running.
    pub alive: bool,
    /// How it ended (`oshelp.waitstatus_description`), once it has.
    pub exit_status: Option<String>,
    /// PIIX4 PM1a_CNT as last written (without SLP_EN).
    pub pm1_control: u16,
    /// `shutdown_requested` (read-and-clear).
    pub shutdown_requested: bool,
    /// `reset_requested` (read-and-clear).
    pub reset_requested: bool,
    /// vCPUs whose ioreq event channel fired.
    pub pending: VecDeque<(u32, Option<crate::stack::HopId>)>,
    /// The main loop, when parked in select().
    pub waiter: Option<TaskId>,
    /// The main loop's task.
    pub task: Option<TaskId>,
    /// Its context.
    pub ctx: CtxId,
    /// Tasks waiting for the process to exit (xend's sentinel FIFO reader).
    pub exit_waiters: Vec<TaskId>,
    /// The log file name.
    pub log: String,
    /// How often `log` had been rotated when this process opened it
    /// (`Logs::name_of_generation` finds its file after later rotations).
    pub log_generation: usize,
    /// Which device model this is.
    pub version: Version,
    /// qemu-xen: the signal and sender `qemu_system_killed` noted.
    pub killed_by: Option<(u32, u32)>,
}

/// Which QEMU a device-model process is.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Version {
    /// qemu-dm (qemu-xen-traditional): xend's, or libxl's when asked for.
    Traditional,
    /// qemu-xen (upstream QEMU 1.6.2): libxl's default.
    QemuXen,
}

/// Every qemu-dm by domid (an entry stays after the process ends, until the
/// domain is gone).
#[derive(Default)]
pub struct QemuDms {
    /// By domid.
    pub by_dom: IndexMap<u32, QemuDm>,
}

/// What xend passes to a new qemu-dm.
#[derive(Clone, Debug)]
pub struct QemuSetup {
    /// The domain.
    pub domid: u32,
    /// Its name.
    pub name: String,
    /// Its uuid.
    pub uuid: crate::uuid::Uuid,
    /// Disk images (`Using file ... in read-write mode`).
    pub disks: Vec<String>,
    /// The platform PCI device.
    pub platform_pci: bool,
    /// The pid the process gets.
    pub pid: u32,
}

/// The log file of a domain's qemu-dm.
pub fn log_file(name: &str) -> String {
    format!("qemu-dm-{name}.log")
}

pub(crate) fn qlog(sim: &Sim, domid: u32, line: impl std::fmt::Display) {
    if sim.logs.borrow().discards() {
        return;
    }
    let call = crate::logs::origin(sim);
    let q = sim.qemu.borrow();
    let Some(q) = q.by_dom.get(&domid) else {
        return;
    };
    let mut logs = sim.logs.borrow_mut();
    // The file as `log_of` names it, borrowed from the process's own record.
    let Some(file) = logs.name_of_generation(&q.log, q.log_generation) else {
        return;
    };
    logs.file(&file)
        .write_fmt_from(call, format_args!("{line}\n"));
}

/// The file a domain's qemu-dm writes to, as it is named now: the process
/// keeps its open file when xend rotates the name for a later qemu-dm of a
/// domain of the same name, so an old process's log is `qemu-dm-<name>.log.1`.
pub fn log_of(sim: &Sim, domid: u32) -> Option<String> {
    let (name, generation) = {
        let q = sim.qemu.borrow();
        let q = q.by_dom.get(&domid)?;
        (q.log.clone(), q.log_generation)
    };
    sim.logs
        .borrow()
        .name_of_generation(&name, generation)
        .map(std::borrow::Cow::into_owned)
}

/// Starts qemu-dm for an HVM domain (xend's image.createDeviceModel forked
/// and exec'd it with stdout and stderr on its log file).
pub fn start(sim: &Sim, s: &QemuSetup) {
    let file = log_file(&s.name);
    {
        let mut logs = sim.logs.borrow_mut();
        // xend rotates an old log of the same name away first.
        logs.rotate(&file, 10);
        let _ = logs.file(&file);
    }
    let log_generation = sim.logs.borrow().generation(&file);
    let ctx = sim.new_ctx(format!("qemu-dm (pid {})", s.pid), Layer::Qemu, s.domid);
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
            log: file,
            log_generation,
            version: Version::Traditional,
            killed_by: None,
        },
    );
    let d = s.domid;
    qlog(sim, d, format_args!("domid: {d}"));
    qlog(
        sim,
        d,
        "-videoram option does not work with cirrus vga device model. Videoram set to 4M.",
    );
    for disk in &s.disks {
        qlog(sim, d, format_args!("Using file {disk} in read-write mode"));
    }
    qlog(
        sim,
        d,
        format_args!("Watching /local/domain/0/device-model/{d}/logdirty/cmd"),
    );
    qlog(
        sim,
        d,
        format_args!("Watching /local/domain/0/device-model/{d}/command"),
    );
    qlog(sim, d, format_args!("Watching /local/domain/{d}/cpu"));
    qlog(
        sim,
        d,
        "qemu_map_cache_init nr_buckets = 10000 size 4194304",
    );
    qlog(sim, d, "shared page at pfn feffd");
    qlog(sim, d, "buffered io page at pfn feffb");
    qlog(sim, d, format_args!("Guest uuid = {}", s.uuid));
    qlog(sim, d, "populating video RAM at ff000000");
    qlog(sim, d, "mapping video RAM from ff000000");
    if s.platform_pci {
        qlog(sim, d, "Register xen platform.");
        qlog(sim, d, "Done register platform.");
    }
    // Mapping guest memory holds a reference on the domain; binding the
    // vCPUs' ioreq ports makes Xen's notifications reach the main loop.
    hypervisor::domctl::get_domain(sim, d);
    let handler: hypervisor::IoreqCallback =
        std::rc::Rc::new(move |sim: &Sim, vcpu: u32, hop| ioreq_event(sim, d, vcpu, hop));
    if let Some(dom) = sim.xen.borrow_mut().domain_mut(d) {
        dom.ioreq_handler = Some(handler);
    }
    let t = sim.spawn(ctx, main_loop(sim.clone(), d));
    if let Some(q) = sim.qemu.borrow_mut().by_dom.get_mut(&d) {
        q.task = Some(t);
    }
}

/// The event-channel fd became readable.
pub(crate) fn ioreq_event(sim: &Sim, domid: u32, vcpu: u32, hop: Option<crate::stack::HopId>) {
    let w = {
        let mut q = sim.qemu.borrow_mut();
        let Some(q) = q.by_dom.get_mut(&domid) else {
            return;
        };
        if !q.alive {
            return;
        }
        q.pending.push_back((vcpu, hop));
        q.waiter.take()
    };
    if let Some(t) = w {
        sim.wake(t);
    }
}

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
                    // Boxed: the loop waits for requests most of its life.
                    Box::pin(cpu_handle_ioreq(&s, domid, vcpu)).await;
                }
                None => {
                    let s2 = s.clone();
                    s.park(move |t| {
                        if let Some(q) = s2.qemu.borrow_mut().by_dom.get_mut(&domid) {
                            q.waiter = Some(t);
                        }
                    })
                    .await
                }
            }
        }
    })
    .await
}

/// `cpu_handle_ioreq`: take the request, run the port handler, act on a
/// shutdown or reset request *before* answering, then answer and notify.
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
            let Some(req) = req else {
                qlog(
                    &s,
                    domid,
                    "I/O request not ready: 0, ptr: 0, port: 0, data: 0, count: 0, size: 0",
                );
                return;
            };
            cpu_ioreq_pio(&s, domid, req.addr as u16, req.size, req.data).await;
            let (shutdown, reset) = {
                let mut q = s.qemu.borrow_mut();
                let Some(q) = q.by_dom.get_mut(&domid) else {
                    return;
                };
                (
                    std::mem::take(&mut q.shutdown_requested),
                    std::mem::take(&mut q.reset_requested),
                )
            };
            // "Before replying: the tools see the shutdown before the guest resumes."
            if shutdown {
                qlog(&s, domid, "shutdown requested in cpu_handle_ioreq");
                s.at(1);
                destroy_hvm_domain(&s, domid).await;
            }
            if reset {
                qlog(&s, domid, "reset requested in cpu_handle_ioreq.");
                s.at(2);
                qemu_system_reset(&s, domid).await;
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
            // Non-pointer writes narrower than 8 bytes are masked to their size.
            let v = value & ((1u64 << (size as u32 * 8).min(63)) - 1);
            match (port, size) {
                (0xb004, 2) => acpi_pm1_control_write(&s, domid, v as u16).await,
                (0xb005, 1) => acpi_pm1_control_write(&s, domid, (v as u16) << 8).await,
                (0x64, 1) => kbd_write_command(&s, domid, v as u8).await,
                _ => {}
            }
        },
    )
    .await
}

/// `acpiPm1Control_writew`: store without SLP_EN, then `acpi_shutdown`.
async fn acpi_pm1_control_write(sim: &Sim, domid: u32, val: u16) {
    let s = sim.clone();
    sim.call(
        Probe::QemuAcpiPm1ControlWrite,
        domid,
        move || vec![Value::Int(val as i64)],
        async move {
            if let Some(q) = s.qemu.borrow_mut().by_dom.get_mut(&domid) {
                q.pm1_control = val & !SLP_EN & !GBL_RLS;
            }
            acpi_shutdown(&s, domid, val).await;
        },
    )
    .await
}

/// `acpi_shutdown(val)`: SLP_EN with the V1 S5/S4 type (0) or the V0 S4/S5
/// types powers off; S3 resets with the S3 flag (not a shutdown).
async fn acpi_shutdown(sim: &Sim, domid: u32, val: u16) {
    let s = sim.clone();
    sim.call(
        Probe::QemuAcpiShutdown,
        domid,
        move || vec![Value::Int(val as i64)],
        async move {
            if val & SLP_EN == 0 {
                return;
            }
            match (val >> SLP_TYP_SHIFT) & 7 {
                0 | 6 | 7 => {
                    let s2 = s.clone();
                    s.call(Probe::QemuShutdownRequest, domid, Vec::new, async move {
                        if let Some(q) = s2.qemu.borrow_mut().by_dom.get_mut(&domid) {
                            q.shutdown_requested = true;
                        }
                    })
                    .await;
                }
                1 | 5 => {
                    // S3: reset devices without rebooting; HVM_PARAM_ACPI_S_STATE = 3.
                    hypervisor::domctl::hvm_set_param(
                        &s,
                        domid,
                        hypervisor::param::ACPI_S_STATE,
                        3,
                    );
                }
                _ => {}
            }
        },
    )
    .await
}

/// i8042 command port: 0xFE pulses the reset line.
async fn kbd_write_command(sim: &Sim, domid: u32, val: u8) {
    let s = sim.clone();
    sim.call(
        Probe::QemuKbdWriteCommand,
        domid,
        move || vec![Value::Int(val as i64)],
        async move {
            if val == 0xfe {
                let s2 = s.clone();
                s.call(Probe::QemuResetRequest, domid, Vec::new, async move {
                    if let Some(q) = s2.qemu.borrow_mut().by_dom.get_mut(&domid) {
                        q.reset_requested = true;
                    }
                })
                .await;
            }
        },
    )
    .await
}

/// `destroy_hvm_domain`: `xc_domain_shutdown(domid, SHUTDOWN_poweroff)`.
async fn destroy_hvm_domain(sim: &Sim, domid: u32) {
    let s = sim.clone();
    sim.call(Probe::QemuDestroyHvmDomain, domid, Vec::new, async move {
        let sts = hypervisor::do_sched_op(
            &s,
            0,
            SchedOp::RemoteShutdown {
                domid,
                reason: reason::POWEROFF as u32,
            },
        )
        .await;
        if sts != 0 {
            qlog(
                &s,
                domid,
                format_args!(
                    "? xc_domain_shutdown failed to issue poweroff, sts {sts}, errno {}",
                    -sts
                ),
            );
        } else {
            qlog(&s, domid, format_args!("Issued domain {domid} poweroff"));
        }
    })
    .await
}

/// `qemu_system_reset`: the reset handlers, of which `main_cpu_reset` →
/// `cpu_reset` asks Xen to reboot the domain.
async fn qemu_system_reset(sim: &Sim, domid: u32) {
    let s = sim.clone();
    sim.call(Probe::QemuSystemReset, domid, Vec::new, async move {
        let s2 = s.clone();
        s.call(Probe::QemuCpuReset, domid, Vec::new, async move {
            let sts = hypervisor::do_sched_op(
                &s2,
                0,
                SchedOp::RemoteShutdown {
                    domid,
                    reason: reason::REBOOT as u32,
                },
            )
            .await;
            if sts != 0 {
                qlog(
                    &s2,
                    domid,
                    format_args!("? xc_domain_shutdown failed to issue reboot, sts {sts}"),
                );
            } else {
                qlog(&s2, domid, format_args!("Issued domain {domid} reboot"));
            }
        })
        .await;
    })
    .await
}

/// A signal reaches qemu-dm. It installs no handler in the device-model
/// build, so SIGHUP, SIGTERM, SIGKILL and SIGSEGV all end it at once.
/// qemu-xen catches SIGINT, SIGHUP and SIGTERM (upstream.rs).
pub fn signal(sim: &Sim, domid: u32, signo: u32) {
    signal_from(sim, domid, signo, 0);
}

/// `kill(pid, signo)` from process `sender`: `false` (ESRCH) when no
/// device-model process with that pid lives.
pub fn kill_pid(sim: &Sim, pid: u32, signo: u32, sender: u32) -> bool {
    let domid = sim
        .qemu
        .borrow()
        .by_dom
        .values()
        .find(|q| q.alive && q.pid == pid)
        .map(|q| q.domid);
    match domid {
        Some(d) => {
            signal_from(sim, d, signo, sender);
            true
        }
        None => false,
    }
}

/// A signal from process `sender` (0: unknown) reaches a domain's device model.
pub fn signal_from(sim: &Sim, domid: u32, signo: u32, sender: u32) {
    let (ctx, version) = match sim.qemu.borrow().by_dom.get(&domid) {
        Some(q) if q.alive => (q.ctx, q.version),
        _ => return,
    };
    let hop = sim.hop("signal");
    let s = sim.clone();
    // Delivery and exit take a moment: the signal is acted on when the
    // process is next scheduled.
    sim.schedule(SimDuration::micros(300), move |sim| {
        sim.adopt(ctx, hop);
        let task = sim.spawn(ctx, async move {
            let s2 = s.clone();
            s.call(
                Probe::QemuSignal,
                domid,
                move || vec![Value::Int(signo as i64)],
                async move {
                    if version == Version::QemuXen && matches!(signo, 1 | 2 | 15) {
                        upstream::system_killed(&s2, domid, signo, sender).await;
                    } else {
                        exit(&s2, domid, format!("was killed by signal {signo}"));
                    }
                },
            )
            .await;
        });
        let _ = task;
    });
}

/// The device model records `running` in
/// `/local/domain/0/device-model/<domid>/state` once its VM runs (qemu-dm's
/// main_loop; qemu-xen's `xen_change_state_handler`, xen-all.c): what
/// libxl's spawn waits for. Under xend, xend's image.py writes it (image.rs).
pub fn record_running(sim: &Sim, domid: u32) {
    let ctx = match sim.qemu.borrow().by_dom.get(&domid) {
        Some(q) if q.alive => q.ctx,
        _ => return,
    };
    let s = sim.clone();
    sim.spawn(ctx, async move {
        let conn = s.dom0.borrow().tools_conn;
        let _ = crate::xenstore::xs_request(
            &s,
            conn,
            None,
            crate::xenstore::Req::Write(
                format!("/local/domain/0/device-model/{domid}/state"),
                "running".into(),
            ),
        )
        .await;
    });
}

/// The process ends: its main loop stops, its mappings are dropped (Xen may
/// now free a dead domain), the sentinel FIFO reads EOF.
pub fn exit(sim: &Sim, domid: u32, status: String) {
    let (task, waiters) = {
        let mut q = sim.qemu.borrow_mut();
        let Some(q) = q.by_dom.get_mut(&domid) else {
            return;
        };
        if !q.alive {
            return;
        }
        q.alive = false;
        q.exit_status = Some(status);
        q.pending.clear();
        (q.task.take(), std::mem::take(&mut q.exit_waiters))
    };
    if let Some(t) = task {
        sim.exec.kill(t);
    }
    if let Some(d) = sim.xen.borrow_mut().domain_mut(domid) {
        d.ioreq_handler = None;
    }
    hypervisor::domctl::put_domain(sim, domid);
    for t in waiters {
        sim.wake(t);
    }
}

/// The pid of a domain's qemu-dm, if it runs.
pub fn pid_of(sim: &Sim, domid: u32) -> Option<u32> {
    sim.qemu
        .borrow()
        .by_dom
        .get(&domid)
        .filter(|q| q.alive)
        .map(|q| q.pid)
}
