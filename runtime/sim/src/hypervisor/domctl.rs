//! Domain control: create, pause, destroy, getdomaininfo, HVM params and
//! triggers (X xen/common/domctl.c, domain.c:514-557, 694-785).

use crate::probe::Probe;
use crate::time::SimDuration;
use crate::value::Value;
use crate::Sim;

use super::shutdown::send_global_virq;
use super::{param, Domain, Dying, Ioreq, Vcpu};

/// What `xc.domain_create` and the builder ask for.
#[derive(Clone, Debug)]
pub struct DomainConfig {
    /// A fixed domid, or the next free one.
    pub domid: Option<u32>,
    /// The VM's uuid (the domain handle).
    pub uuid: crate::uuid::Uuid,
    /// HVM or PV.
    pub hvm: bool,
    /// Number of vCPUs.
    pub vcpus: u32,
    /// Memory in MiB.
    pub memory_mib: u64,
}

/// What XEN_DOMCTL_getdomaininfo reports, decoded as libxc does (§4.5).
#[derive(Clone, Debug, PartialEq)]
pub struct DomInfo {
    /// The domain.
    pub domid: u32,
    /// `is_dying == DOMDYING_dead`.
    pub dying: bool,
    /// HVM guest.
    pub hvm: bool,
    /// Shut down with a reason other than crash.
    pub shutdown: bool,
    /// Shut down with SHUTDOWN_crash.
    pub crashed: bool,
    /// Paused by the toolstack.
    pub paused: bool,
    /// Every online vCPU blocked.
    pub blocked: bool,
    /// Some vCPU running.
    pub running: bool,
    /// The shutdown code's low byte (255 while none).
    pub shutdown_reason: u8,
    /// Online vCPUs.
    pub online_vcpus: u32,
    /// Memory in KiB.
    pub mem_kib: u64,
}

pub(super) fn create_dom0(sim: &Sim) {
    let mut xen = sim.xen.borrow_mut();
    let pcpus = xen.pcpus.len().max(1) as u32;
    let vcpus = (0..pcpus.min(4)).map(|i| new_vcpu(i, i % pcpus)).collect();
    xen.insert_domain(new_domain(
        0,
        crate::uuid::Uuid::NIL,
        false,
        vcpus,
        2048 * 1024,
    ));
}

fn new_vcpu(id: u32, pcpu: u32) -> Vcpu {
    Vcpu {
        id,
        pause_count: 0,
        paused_for_shutdown: false,
        defer_shutdown: false,
        blocked_in_xen: false,
        down: false,
        pcpu,
        ioreq: Ioreq::default(),
        resume_waiter: None,
    }
}

fn new_domain(
    domid: u32,
    uuid: crate::uuid::Uuid,
    hvm: bool,
    vcpus: Vec<Vcpu>,
    memory_kib: u64,
) -> Domain {
    Domain {
        domid,
        uuid,
        hvm,
        is_shutting_down: false,
        is_shut_down: false,
        shutdown_code: -1,
        is_dying: Dying::Alive,
        controller_pause_count: 0,
        vcpus,
        params: [0; param::COUNT],
        refs: 1,
        target: None,
        pm1a_sts: 0,
        pm1a_en: 0,
        memory_kib,
        sci_handler: None,
        ioreq_handler: None,
        started: domid == 0,
        listed: 0,
    }
}

/// XEN_DOMCTL_createdomain plus max_vcpus and memory: a paused-free, empty domain.
pub fn create_domain(sim: &Sim, cfg: &DomainConfig) -> Result<u32, String> {
    let mut xen = sim.xen.borrow_mut();
    let domid = match cfg.domid {
        Some(d) => {
            if xen.domains.contains_key(&d) {
                return Err(format!("domid {d} is in use"));
            }
            if d == 0 || d >= 0x7ff0 {
                return Err(format!("domid {d} is not a valid guest domid (1..32751)"));
            }
            d
        }
        None => {
            let mut d = xen.next_domid;
            while xen.domains.contains_key(&d) || d == 0 {
                d = if d >= 0x7fef { 1 } else { d + 1 };
            }
            d
        }
    };
    xen.next_domid = if domid >= 0x7fef { 1 } else { domid + 1 };
    let pcpus = xen.pcpus.len().max(1) as u32;
    let vcpus = (0..cfg.vcpus.max(1))
        .map(|i| new_vcpu(i, (domid + i) % pcpus))
        .collect();
    xen.insert_domain(new_domain(
        domid,
        cfg.uuid,
        cfg.hvm,
        vcpus,
        cfg.memory_mib * 1024,
    ));
    Ok(domid)
}

/// XEN_DOMCTL_getdomaininfo for one domain.
pub fn getdomaininfo(sim: &Sim, domid: u32) -> Option<DomInfo> {
    let xen = sim.xen.borrow();
    xen.domain(domid).map(info_of)
}

/// XEN_DOMCTL_getdomaininfo for each of `domids` (in ascending order), as a
/// caller looping over them sees it. xenstored's `domain_cleanup` asks about
/// the few domains that changed since it last looked, on a host of
/// thousands: those are looked up by id (Xen's domain hash); a list about
/// as long as Xen's own is met in one merging pass over it instead.
pub fn getdomaininfo_each(sim: &Sim, domids: &[u32]) -> Vec<Option<DomInfo>> {
    let xen = sim.xen.borrow();
    if domids.len().saturating_mul(16) < xen.domains.len() {
        return domids
            .iter()
            .map(|&id| xen.domain(id).map(info_of))
            .collect();
    }
    let mut it = xen.domains.iter().peekable();
    domids
        .iter()
        .map(|&id| {
            while it.next_if(|(&d, _)| d < id).is_some() {}
            it.peek().filter(|(&d, _)| d == id).map(|(_, d)| info_of(d))
        })
        .collect()
}

/// `xc_domain_getinfo(0, n)`: every domain in domid order.
pub fn list_domains(sim: &Sim) -> Vec<DomInfo> {
    let xen = sim.xen.borrow();
    xen.domains.values().map(|d| info_of(d)).collect()
}

pub(crate) fn info_of(d: &Domain) -> DomInfo {
    let online = d.vcpus.iter().filter(|v| !v.down);
    let n_online = online.clone().count();
    let running = online
        .clone()
        .any(|v| v.pause_count == 0 && !v.blocked_in_xen);
    let code = (d.shutdown_code as u32 & 0xff) as u8;
    let shut = d.is_shut_down;
    DomInfo {
        domid: d.domid,
        dying: d.is_dying == Dying::Dead,
        hvm: d.hvm,
        shutdown: shut && code != super::reason::CRASH,
        crashed: shut && code == super::reason::CRASH,
        paused: d.controller_pause_count > 0,
        blocked: n_online > 0 && !running,
        running,
        shutdown_reason: if d.shutdown_code < 0 { 255 } else { code },
        online_vcpus: n_online as u32,
        mem_kib: d.memory_kib,
    }
}

/// The domctls xend issues.
#[derive(Copy, Clone, Debug)]
pub enum Domctl {
    /// XEN_DOMCTL_pausedomain.
    Pause,
    /// XEN_DOMCTL_unpausedomain.
    Unpause,
    /// XEN_DOMCTL_destroydomain.
    Destroy,
    /// XEN_DOMCTL_sendtrigger with a trigger code.
    SendTrigger(u32),
}

const EINVAL: i64 = -22;
const ESRCH: i64 = -3;
const ENOSYS: i64 = -38;

/// The domctl hypercall (from dom0).
pub async fn do_domctl(sim: &Sim, domid: u32, op: Domctl) -> i64 {
    let cmd = match op {
        Domctl::Pause => 3,
        Domctl::Unpause => 4,
        Domctl::Destroy => 2,
        // XEN_DOMCTL_sendtrigger is 28 in Xen 4.4.4's public/domctl.h.
        Domctl::SendTrigger(_) => 28,
    };
    let s = sim.clone();
    sim.call(
        Probe::XenDoDomctl,
        domid,
        move || vec![Value::Int(cmd), Value::Int(domid as i64)],
        async move {
            if domid == 0 && !matches!(op, Domctl::SendTrigger(_)) {
                return EINVAL;
            }
            if s.xen.borrow().domain(domid).is_none() {
                return ESRCH;
            }
            match op {
                Domctl::Pause => {
                    let s2 = s.clone();
                    s.call(
                        Probe::XenDomainPause,
                        domid,
                        move || vec![Value::Int(domid as i64)],
                        async move {
                            let mut xen = s2.xen.borrow_mut();
                            let d = xen.domain_mut(domid).expect("checked");
                            d.controller_pause_count += 1;
                            for v in d.vcpus.iter_mut() {
                                v.pause_count += 1;
                            }
                            0
                        },
                    )
                    .await
                }
                Domctl::Unpause => {
                    let (waiters, first_start) = {
                        let mut xen = s.xen.borrow_mut();
                        let d = xen.domain_mut(domid).expect("checked");
                        if d.controller_pause_count == 0 {
                            return EINVAL;
                        }
                        d.controller_pause_count -= 1;
                        let mut w = Vec::new();
                        for v in d.vcpus.iter_mut() {
                            v.pause_count = v.pause_count.saturating_sub(1);
                            if v.pause_count == 0 && !v.blocked_in_xen {
                                w.extend(v.resume_waiter.take());
                            }
                        }
                        let first = !d.started && d.controller_pause_count == 0;
                        d.started |= first;
                        (w, first)
                    };
                    for t in waiters {
                        s.wake(t);
                    }
                    if first_start {
                        let h = s.xen.borrow().on_start.clone();
                        if let Some(h) = h {
                            h(&s, domid);
                        }
                    }
                    0
                }
                Domctl::Destroy => domain_kill(&s, domid).await,
                Domctl::SendTrigger(code) => {
                    let hvm = s.xen.borrow().domain(domid).is_some_and(|d| d.hvm);
                    match code {
                        3 | 4 if !hvm => EINVAL,
                        3 => {
                            super::hvm::hvm_acpi_power_button(&s, domid).await;
                            0
                        }
                        4 => {
                            // SLEEP: SLPBTN_STS, which xend offers no name for.
                            let mut xen = s.xen.borrow_mut();
                            if let Some(d) = xen.domain_mut(domid) {
                                d.pm1a_sts |= 1 << 9;
                            }
                            0
                        }
                        0 => 0, // NMI: delivered; a Linux guest reports and carries on.
                        _ => ENOSYS,
                    }
                }
            }
        },
    )
    .await
}

/// `domain_kill`: alive → dying (pause, close event channels) → dead (put
/// the domain's own reference, VIRQ_DOM_EXC). libxc retries while -EAGAIN,
/// so one call takes it to dead.
async fn domain_kill(sim: &Sim, domid: u32) -> i64 {
    let s = sim.clone();
    sim.call(
        Probe::XenDomainKill,
        domid,
        move || vec![Value::Int(domid as i64)],
        async move {
            let stage = s.xen.borrow().domain(domid).map(|d| d.is_dying);
            match stage {
                None => return ESRCH,
                Some(Dying::Dead) => return 0,
                Some(Dying::Alive) => {
                    let mut xen = s.xen.borrow_mut();
                    let d = xen.domain_mut(domid).expect("checked");
                    for v in d.vcpus.iter_mut() {
                        v.pause_count += 1;
                    }
                    d.is_dying = Dying::Dying;
                    // evtchn_destroy: the device model's ports to this domain close.
                    d.ioreq_handler = None;
                    d.sci_handler = None;
                }
                Some(Dying::Dying) => {}
            }
            {
                let mut xen = s.xen.borrow_mut();
                let d = xen.domain_mut(domid).expect("checked");
                d.is_dying = Dying::Dead;
            }
            put_domain(&s, domid);
            send_global_virq(&s, 3).await;
            0
        },
    )
    .await
}

/// Takes a reference (qemu-dm mapping the guest's memory).
pub fn get_domain(sim: &Sim, domid: u32) {
    if let Some(d) = sim.xen.borrow_mut().domain_mut(domid) {
        d.refs += 1;
    }
}

/// Drops a reference; the last one of a dead domain frees it (through RCU,
/// a moment later): `complete_domain_destroy`, VIRQ_DOM_EXC.
pub fn put_domain(sim: &Sim, domid: u32) {
    let free = {
        let mut xen = sim.xen.borrow_mut();
        let Some(d) = xen.domain_mut(domid) else {
            return;
        };
        d.refs = d.refs.saturating_sub(1);
        d.refs == 0 && d.is_dying == Dying::Dead
    };
    if free {
        let ctx = sim.xen.borrow().dom0_ctx.expect("booted");
        sim.spawn_after(SimDuration::micros(50), ctx, {
            let s = sim.clone();
            async move {
                let s2 = s.clone();
                s.call(
                    Probe::XenCompleteDomainDestroy,
                    domid,
                    move || vec![Value::Int(domid as i64)],
                    async move {
                        s2.xen.borrow_mut().remove_domain(domid);
                        send_global_virq(&s2, 3).await;
                    },
                )
                .await
            }
        });
    }
}

/// `xc.hvm_get_param`.
pub fn hvm_get_param(sim: &Sim, domid: u32, p: usize) -> Option<u64> {
    sim.xen
        .borrow()
        .domain(domid)
        .map(|d| d.params.get(p).copied().unwrap_or(0))
}

/// HVMOP_set_param (from the guest or the toolstack).
pub fn hvm_set_param(sim: &Sim, domid: u32, p: usize, v: u64) {
    if let Some(d) = sim.xen.borrow_mut().domain_mut(domid) {
        if let Some(slot) = d.params.get_mut(p) {
            *slot = v;
        }
    }
}
