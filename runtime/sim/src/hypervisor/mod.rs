//! The Xen 4.4 hypervisor (reference §4): domains and vCPUs, `sched_op`
//! shutdown, the shutdown deferral of a vCPU with an ioreq in flight,
//! finalisation on the vCPU's resume path, domctls, VIRQ_DOM_EXC, and the
//! `(XEN) ` console.
//!
//! - `shutdown.rs` — `domain_shutdown`, `__domain_finalise_shutdown`, deferral,
//!   `do_sched_op`, crash;
//! - `hvm.rs` — guest port I/O, ioreqs to the device model, the pCPU resume
//!   path (`idle_loop` → … → `hvm_do_resume`), HLT, the ACPI power button;
//! - `domctl.rs` — create, pause, destroy (`domain_kill`), getdomaininfo,
//!   sendtrigger, HVM params;
//! - `symbols.rs` — the build's symbol table and the `Xen call trace:` format.

pub mod changes;
pub mod domctl;
pub mod hvm;
pub mod shutdown;
pub mod symbols;

pub use domctl::{DomInfo, DomainConfig};
pub use hvm::{guest_port_io, notify_ioreq_done, IoreqState};
pub use shutdown::{do_sched_op, domain_crash, domain_shutdown, SchedOp};

use std::rc::Rc;

use crate::exec::TaskId;
use crate::stack::HopId;

/// A callback Xen makes into a domain (the guest's SCI handler), with the
/// hop of the interrupt that called it.
pub type DomCallback = Rc<dyn Fn(&Sim, Option<HopId>)>;
/// qemu-dm's event-channel handler: (vCPU, what caused it).
pub type IoreqCallback = Rc<dyn Fn(&Sim, u32, Option<HopId>)>;
/// dom0's VIRQ_DOM_EXC handler.
pub type VirqCallback = Rc<dyn Fn(&Sim, Option<HopId>)>;
/// Called with a domid.
pub type DomidCallback = Rc<dyn Fn(&Sim, u32)>;
use crate::rng::Rng;
use crate::stack::CtxId;
use crate::Sim;

/// Shutdown reasons (public/sched.h).
pub mod reason {
    /// SHUTDOWN_poweroff.
    pub const POWEROFF: u8 = 0;
    /// SHUTDOWN_reboot.
    pub const REBOOT: u8 = 1;
    /// SHUTDOWN_suspend.
    pub const SUSPEND: u8 = 2;
    /// SHUTDOWN_crash.
    pub const CRASH: u8 = 3;
    /// SHUTDOWN_watchdog (xend's "halt").
    pub const WATCHDOG: u8 = 4;
}

/// HVM parameters xsh models.
pub mod param {
    /// HVM_PARAM_CALLBACK_IRQ: non-zero once a PV-aware guest set up event delivery.
    pub const CALLBACK_IRQ: usize = 0;
    /// HVM_PARAM_ACPI_S_STATE: the guest's ACPI sleep state (3 after S3).
    pub const ACPI_S_STATE: usize = 14;
    /// Number of parameters kept.
    pub const COUNT: usize = 32;
}

/// `is_dying`.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Dying {
    /// DOMDYING_alive.
    Alive,
    /// DOMDYING_dying: resources being relinquished.
    Dying,
    /// DOMDYING_dead: waiting for the last reference.
    Dead,
}

/// A virtual CPU.
#[derive(Debug)]
pub struct Vcpu {
    /// Its number.
    pub id: u32,
    /// Pauses held (shutdown, toolstack, ...).
    pub pause_count: u32,
    /// Paused by `domain_shutdown`/`vcpu_check_shutdown`.
    pub paused_for_shutdown: bool,
    /// An ioreq is in flight: shutdown waits for it.
    pub defer_shutdown: bool,
    /// Blocked in Xen waiting for the device model's answer.
    pub blocked_in_xen: bool,
    /// Went down with HLT and interrupts off (`hvm_vcpu_down`).
    pub down: bool,
    /// The pCPU it runs on.
    pub pcpu: u32,
    /// The shared-page ioreq slot of this vCPU.
    pub ioreq: Ioreq,
    /// The guest task blocked on this vCPU's I/O, woken when it resumes.
    pub resume_waiter: Option<TaskId>,
}

/// One ioreq slot.
#[derive(Clone, Debug, Default)]
pub struct Ioreq {
    /// STATE_IOREQ_NONE/READY/INPROCESS/IORESP_READY.
    pub state: IoreqState,
    /// Port.
    pub addr: u64,
    /// Data written.
    pub data: u64,
    /// Access size in bytes.
    pub size: u8,
    /// IOREQ_WRITE (0) or IOREQ_READ (1).
    pub dir: u8,
}

/// A domain.
pub struct Domain {
    /// Its id.
    pub domid: u32,
    /// Its handle (the VM's uuid).
    pub uuid: crate::uuid::Uuid,
    /// An HVM guest.
    pub hvm: bool,
    /// Shutdown begun.
    pub is_shutting_down: bool,
    /// Shutdown complete (every vCPU paused for it).
    pub is_shut_down: bool,
    /// The first reason given, or -1.
    pub shutdown_code: i32,
    /// Dying stage.
    pub is_dying: Dying,
    /// Toolstack pauses.
    pub controller_pause_count: u32,
    /// vCPUs.
    pub vcpus: Vec<Vcpu>,
    /// HVM parameters.
    pub params: [u64; param::COUNT],
    /// References held (the domain itself, qemu-dm's mappings).
    pub refs: u32,
    /// The domain a device-model stub domain serves.
    pub target: Option<u32>,
    /// PM1a status and enable bits Xen emulates (PWRBTN_STS is bit 8).
    pub pm1a_sts: u16,
    /// PM1a enable bits.
    pub pm1a_en: u16,
    /// Memory in KiB.
    pub memory_kib: u64,
    /// Called when the SCI is raised (the guest's ACPI interrupt handler).
    pub sci_handler: Option<DomCallback>,
    /// Called when an ioreq is published (qemu-dm's event-channel fd).
    pub ioreq_handler: Option<IoreqCallback>,
    /// Its vCPUs have run (first unpause).
    pub started: bool,
    /// The readers (`changes::Reader` bits) whose change sets list it.
    pub(crate) listed: u8,
}

impl Domain {
    /// Does any vCPU still run (not paused, not down)?
    pub fn running(&self) -> bool {
        self.vcpus
            .iter()
            .any(|v| v.pause_count == 0 && !v.down && !v.blocked_in_xen)
    }
}

/// A physical CPU: its context holds the idle loop's frame.
pub struct Pcpu {
    /// The context whose stack Xen call traces print.
    pub ctx: CtxId,
    /// Softirqs pending on it.
    pub pending: std::collections::VecDeque<(u32, u32)>,
    /// The task running its softirqs, while one runs.
    pub busy: bool,
}

/// The hypervisor's state.
pub struct Hypervisor {
    /// Domains by id (Xen keeps its domain list sorted by domid), each in
    /// a box of its own: a B-tree node holds eleven values and, filled in
    /// domid order, is left half empty, so it holds pointers. Read it
    /// freely; change it only through `domain_mut`, `insert_domain` and
    /// `remove_domain`, which keep `changes` complete.
    pub domains: std::collections::BTreeMap<u32, Box<Domain>>,
    /// VIRQ_DOM_EXC is pending in dom0 (an event channel: sends before the
    /// handler runs coalesce into one).
    pub virq_pending: bool,
    /// The next domid `domain_create` hands out.
    pub next_domid: u32,
    /// Physical CPUs.
    pub pcpus: Vec<Pcpu>,
    /// The VIRQ_DOM_EXC handler (xenstored binds it in dom0).
    pub virq_dom_exc: Option<VirqCallback>,
    /// Print guest-level INFO messages (`gdprintk`): off in a release build.
    pub guest_loglvl_info: bool,
    /// Called when a new domain's vCPUs first run (its guest boots).
    pub on_start: Option<DomidCallback>,
    /// Randomness for the hypervisor.
    pub rng: Rng,
    /// The context hypercalls from dom0 processes are recorded on when the
    /// caller has none of its own.
    pub dom0_ctx: Option<CtxId>,
    /// Domains changed since each dom0 daemon last looked (`changes.rs`).
    pub changes: changes::Changes,
}

impl Hypervisor {
    /// A hypervisor with no domains yet.
    pub fn new(seed: u64) -> Hypervisor {
        Hypervisor {
            domains: std::collections::BTreeMap::new(),
            virq_pending: false,
            next_domid: 1,
            pcpus: Vec::new(),
            virq_dom_exc: None,
            guest_loglvl_info: false,
            on_start: None,
            rng: Rng::substream(seed, "xen"),
            dom0_ctx: None,
            changes: changes::Changes::default(),
        }
    }

    /// A domain by id.
    pub fn domain(&self, domid: u32) -> Option<&Domain> {
        self.domains.get(&domid).map(|d| &**d)
    }

    /// A domain by id, mutably.
    pub fn domain_mut(&mut self, domid: u32) -> Option<&mut Domain> {
        if self.domains.contains_key(&domid) {
            self.note_change(domid);
        }
        self.domains.get_mut(&domid).map(|d| &mut **d)
    }

    /// Adds a domain (the only way one appears: see `changes.rs`).
    pub fn insert_domain(&mut self, d: Domain) {
        self.note_change(d.domid);
        self.domains.insert(d.domid, Box::new(d));
    }

    /// Frees a domain (the only way one goes: see `changes.rs`).
    pub fn remove_domain(&mut self, domid: u32) -> Option<Domain> {
        if self.domains.contains_key(&domid) {
            self.note_change(domid);
        }
        self.domains.remove(&domid).map(|d| *d)
    }
}

/// Writes text to the Xen console, `(XEN) ` before every line.
pub fn console_print(sim: &Sim, text: &str) {
    if sim.logs.borrow().discards() {
        return;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.split_inclusive('\n') {
        out.push_str("(XEN) ");
        out.push_str(line);
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    let call = crate::logs::origin(sim);
    sim.logs.borrow_mut().xen.write_from(call, &out);
}

/// The contexts of the pCPUs a host boots with, by number.
const PCPU_NAMES: [&str; 8] = [
    "pCPU0", "pCPU1", "pCPU2", "pCPU3", "pCPU4", "pCPU5", "pCPU6", "pCPU7",
];

/// Brings up the hypervisor: dom0 and the pCPUs with their idle loops.
pub fn boot(sim: &Sim, pcpus: u32) {
    // The console ring exists from boot (`xl dmesg` / `xm dmesg` read it on
    // any host), so xen.log does too, empty or not.
    sim.logs.borrow_mut().xen.open();
    let mut ctxs = Vec::new();
    for p in 0..pcpus {
        let name: std::rc::Rc<str> = match PCPU_NAMES.get(p as usize) {
            Some(&n) => n.into(),
            None => format!("pCPU{p}").into(),
        };
        let ctx = sim.new_ctx(name, crate::probe::Layer::Xen, crate::stack::NO_DOM);
        // The idle loop never returns: its frame is the base of every trace
        // taken on this pCPU.
        sim.ctxs
            .borrow_mut()
            .get_mut(ctx)
            .stack
            .push(crate::stack::Frame {
                probe: crate::probe::Probe::XenIdleLoop,
                line: 0,
                domid: crate::stack::NO_DOM,
                entered: sim.now(),
                hop: None,
                hooked: false,
                sited: true,
                rec: crate::trace::NO_CALL,
            });
        ctxs.push(ctx);
    }
    let dom0_ctx = sim.new_ctx("d0v0", crate::probe::Layer::Xen, 0);
    let mut xen = sim.xen.borrow_mut();
    xen.pcpus = ctxs
        .into_iter()
        .map(|ctx| Pcpu {
            ctx,
            pending: Default::default(),
            busy: false,
        })
        .collect();
    xen.dom0_ctx = Some(dom0_ctx);
    drop(xen);
    domctl::create_dom0(sim);
}
