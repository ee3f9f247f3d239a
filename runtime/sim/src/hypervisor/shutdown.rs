//! Domain shutdown (X xen/common/domain.c:73-109, 560-677; schedule.c:871-1004).

use crate::probe::Probe;
use crate::value::Value;
use crate::Sim;

use super::{reason, Dying};

/// The `sched_op` commands the model issues.
#[derive(Copy, Clone, Debug)]
pub enum SchedOp {
    /// SCHEDOP_shutdown (2): the calling domain shuts itself down.
    Shutdown {
        /// The reason (cast to u8, not range-checked).
        reason: u32,
    },
    /// SCHEDOP_remote_shutdown (4): a privileged caller (or a device model's
    /// stub domain) shuts another domain down.
    RemoteShutdown {
        /// The target.
        domid: u32,
        /// The reason.
        reason: u32,
    },
}

const ESRCH: i64 = -3;
const EPERM: i64 = -1;

/// The `sched_op` hypercall made by domain `caller`.
pub async fn do_sched_op(sim: &Sim, caller: u32, op: SchedOp) -> i64 {
    let (cmd, target, why) = match op {
        SchedOp::Shutdown { reason } => (2, caller, reason),
        SchedOp::RemoteShutdown { domid, reason } => (4, domid, reason),
    };
    let s = sim.clone();
    sim.call(
        Probe::XenDoSchedOp,
        target,
        move || {
            vec![
                Value::Int(cmd),
                Value::Int(target as i64),
                Value::Int(why as i64),
            ]
        },
        async move {
            let allowed = {
                let xen = s.xen.borrow();
                match xen.domain(target) {
                    None => return ESRCH,
                    // xsm_schedop_shutdown with the dummy policy: dom0, or the
                    // domain's device-model stub domain.
                    Some(d) => cmd == 2 || caller == 0 || d.target == Some(caller),
                }
            };
            if !allowed {
                return EPERM;
            }
            domain_shutdown(&s, target, why as u8).await;
            0
        },
    )
    .await
}

/// `domain_shutdown(d, reason)`.
pub async fn domain_shutdown(sim: &Sim, domid: u32, why: u8) {
    let s = sim.clone();
    sim.call(
        Probe::XenDomainShutdown,
        domid,
        move || vec![Value::Int(domid as i64), Value::Int(why as i64)],
        async move {
            if domid == 0 {
                s.abort(
                    "Xen: domain_shutdown of dom0 — the host itself would go down (dom0_shutdown)"
                        .into(),
                );
                return;
            }
            {
                let mut xen = s.xen.borrow_mut();
                let Some(d) = xen.domain_mut(domid) else {
                    return;
                };
                // The first reason wins.
                if d.shutdown_code == -1 {
                    d.shutdown_code = why as i32;
                }
                if d.is_shutting_down {
                    return;
                }
                d.is_shutting_down = true;
                for v in d.vcpus.iter_mut() {
                    if why == reason::CRASH {
                        v.defer_shutdown = false;
                    } else if v.defer_shutdown {
                        continue;
                    }
                    v.pause_count += 1;
                    v.paused_for_shutdown = true;
                }
            }
            domain_finalise_shutdown(&s, domid).await;
        },
    )
    .await
}

/// `__domain_finalise_shutdown(d)`: once every vCPU is paused for shutdown,
/// `is_shut_down = 1` and VIRQ_DOM_EXC to dom0.
pub(crate) async fn domain_finalise_shutdown(sim: &Sim, domid: u32) {
    let s = sim.clone();
    sim.call(
        Probe::XenDomainFinaliseShutdown,
        domid,
        move || vec![Value::Int(domid as i64)],
        async move {
            {
                let mut xen = s.xen.borrow_mut();
                let Some(d) = xen.domain_mut(domid) else {
                    return;
                };
                if d.is_shut_down || d.vcpus.iter().any(|v| !v.paused_for_shutdown) {
                    return;
                }
                d.is_shut_down = true;
            }
            send_global_virq(&s, 3).await;
        },
    )
    .await
}

/// `send_global_virq(VIRQ_DOM_EXC)`: an event to the handler domain (dom0),
/// where xenstored has it bound.
pub(crate) async fn send_global_virq(sim: &Sim, virq: u32) {
    let s = sim.clone();
    sim.call(
        Probe::XenSendGlobalVirq,
        crate::stack::NO_DOM,
        move || vec![Value::Int(virq as i64)],
        async move {
            let handler = {
                let mut xen = s.xen.borrow_mut();
                // Already pending: the handler has not run yet and will see this too.
                let first = !std::mem::replace(&mut xen.virq_pending, true);
                xen.virq_dom_exc.clone().filter(|_| first)
            };
            if let Some(h) = handler {
                let hop = s.hop("VIRQ_DOM_EXC");
                s.schedule(crate::time::SimDuration::micros(5), move |sim| {
                    sim.xen.borrow_mut().virq_pending = false;
                    h(sim, hop)
                });
            }
        },
    )
    .await
}

/// `vcpu_check_shutdown(v)`.
pub(crate) async fn vcpu_check_shutdown(sim: &Sim, domid: u32, vcpu: u32) {
    let s = sim.clone();
    sim.call(
        Probe::XenVcpuCheckShutdown,
        domid,
        move || vec![Value::Int(vcpu as i64)],
        async move {
            {
                let mut xen = s.xen.borrow_mut();
                let Some(d) = xen.domain_mut(domid) else {
                    return;
                };
                if !d.is_shutting_down {
                    return;
                }
                let Some(v) = d.vcpus.get_mut(vcpu as usize) else {
                    return;
                };
                if !v.paused_for_shutdown {
                    v.pause_count += 1;
                }
                v.paused_for_shutdown = true;
                v.defer_shutdown = false;
            }
            s.at(1);
            domain_finalise_shutdown(&s, domid).await;
        },
    )
    .await
}

/// `vcpu_start_shutdown_deferral(v)`: false means "you are being shut down".
pub(crate) async fn vcpu_start_shutdown_deferral(sim: &Sim, domid: u32, vcpu: u32) -> bool {
    let s = sim.clone();
    sim.call(
        Probe::XenVcpuStartShutdownDeferral,
        domid,
        move || vec![Value::Int(vcpu as i64)],
        async move {
            let shutting = {
                let mut xen = s.xen.borrow_mut();
                let Some(d) = xen.domain_mut(domid) else {
                    return false;
                };
                let Some(v) = d.vcpus.get_mut(vcpu as usize) else {
                    return false;
                };
                if v.defer_shutdown {
                    return true;
                }
                v.defer_shutdown = true;
                d.is_shutting_down
            };
            if shutting {
                vcpu_check_shutdown(&s, domid, vcpu).await;
            }
            let xen = s.xen.borrow();
            xen.domain(domid)
                .and_then(|d| d.vcpus.get(vcpu as usize))
                .is_some_and(|v| v.defer_shutdown)
        },
    )
    .await
}

/// `vcpu_end_shutdown_deferral(v)`.
pub(crate) async fn vcpu_end_shutdown_deferral(sim: &Sim, domid: u32, vcpu: u32) {
    let s = sim.clone();
    sim.call(
        Probe::XenVcpuEndShutdownDeferral,
        domid,
        move || vec![Value::Int(vcpu as i64)],
        async move {
            let shutting = {
                let mut xen = s.xen.borrow_mut();
                let Some(d) = xen.domain_mut(domid) else {
                    return;
                };
                if let Some(v) = d.vcpus.get_mut(vcpu as usize) {
                    v.defer_shutdown = false;
                }
                d.is_shutting_down
            };
            if shutting {
                vcpu_check_shutdown(&s, domid, vcpu).await;
            }
        },
    )
    .await
}

/// `__domain_crash(d)`: the console report, then SHUTDOWN_crash.
pub async fn domain_crash(sim: &Sim, domid: u32, by: Option<u32>) {
    let s = sim.clone();
    sim.call(
        Probe::XenDomainCrash,
        domid,
        move || vec![Value::Int(domid as i64)],
        async move {
            let alive = s
                .xen
                .borrow()
                .domain(domid)
                .is_some_and(|d| d.is_dying == Dying::Alive);
            if !alive {
                return;
            }
            let cpu = s
                .xen
                .borrow()
                .domain(domid)
                .and_then(|d| d.vcpus.first())
                .map_or(0, |v| v.pcpu);
            let text = match by {
                Some(by) => {
                    format!("Domain {domid} reported crashed by domain {by} on cpu#{cpu}:\n")
                }
                None => format!("Domain {domid} (vcpu#0) crashed on cpu#{cpu}:\n"),
            };
            super::console_print(&s, &text);
            domain_shutdown(&s, domid, reason::CRASH).await;
        },
    )
    .await
}
