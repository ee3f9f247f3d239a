//! HVM I/O and the vCPU resume path (X xen/arch/x86/hvm/hvm.c:320-388,
//! 1118-1346; io.c:258-309; pmtimer.c).
//!
//! A guest `out` to a port Xen does not emulate becomes an ioreq for the
//! device model: the vCPU starts a shutdown deferral, publishes the request,
//! notifies qemu-dm and blocks. When qemu-dm answers and notifies, the vCPU
//! is woken on its pCPU, which runs `idle_loop → do_softirq → __do_softirq →
//! schedule → context_switch → vmx_do_resume → hvm_do_resume → hvm_io_assist
//! → vcpu_end_shutdown_deferral → vcpu_check_shutdown` — the path the seed's
//! Xen call trace shows.

use crate::probe::Probe;
use crate::time::SimDuration;
use crate::value::Value;
use crate::Sim;

use super::shutdown::{domain_shutdown, vcpu_end_shutdown_deferral, vcpu_start_shutdown_deferral};
use super::{reason, Dying};

/// The state of an ioreq slot (public/hvm/ioreq.h:30-33).
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
pub enum IoreqState {
    /// STATE_IOREQ_NONE.
    #[default]
    None,
    /// STATE_IOREQ_READY: published for the device model.
    Ready,
    /// STATE_IOREQ_INPROCESS: the device model took it.
    InProcess,
    /// STATE_IORESP_READY: answered.
    RespReady,
}

/// PM1a event block V1 (Xen emulates status and enable; PM1a_CNT at 0xb004 is qemu-dm's).
const PM1A_EVT: u16 = 0xb000;
const PM_TMR: u16 = 0xb008;
/// PWRBTN_STS / PWRBTN_EN.
pub(crate) const PWRBTN: u16 = 1 << 8;
const SCI_MASK: u16 = (1 << 0) | (1 << 5) | (1 << 8) | (1 << 9);

/// A guest port write from vCPU `vcpu`, on the guest task's context. Returns
/// when the guest may continue — for a write the device model handles, when
/// the vCPU is resumed after the answer (never, if it is paused meanwhile).
pub async fn guest_port_io(sim: &Sim, domid: u32, vcpu: u32, port: u16, size: u8, value: u64) {
    if (PM1A_EVT..PM1A_EVT + 4).contains(&port) || (PM_TMR..PM_TMR + 4).contains(&port) {
        pm1a_write(sim, domid, port, value);
        return;
    }
    let accepted = hvm_send_assist_req(sim, domid, vcpu, port, size, value).await;
    if !accepted {
        // The vCPU is being shut down: the I/O is dropped and it never runs again.
        std::future::pending::<()>().await;
    }
    loop {
        let resumed = {
            let xen = sim.xen.borrow();
            match xen.domain(domid).and_then(|d| d.vcpus.get(vcpu as usize)) {
                Some(v) => !v.blocked_in_xen && v.pause_count == 0 && !v.down,
                None => false,
            }
        };
        if resumed {
            return;
        }
        sim.park(move |t| {
            if let Some(mut v) = sim_vcpu_waiter(sim, domid, vcpu) {
                *v = Some(t);
            }
        })
        .await;
    }
}

fn sim_vcpu_waiter(
    sim: &Sim,
    domid: u32,
    vcpu: u32,
) -> Option<std::cell::RefMut<'_, Option<crate::exec::TaskId>>> {
    let xen = sim.xen.borrow_mut();
    std::cell::RefMut::filter_map(xen, |x| {
        x.domain_mut(domid)
            .and_then(|d| d.vcpus.get_mut(vcpu as usize))
            .map(|v| &mut v.resume_waiter)
    })
    .ok()
}

fn pm1a_write(sim: &Sim, domid: u32, port: u16, value: u64) {
    let raise = {
        let mut xen = sim.xen.borrow_mut();
        let Some(d) = xen.domain_mut(domid) else {
            return;
        };
        match port {
            0xb000 | 0xb001 => d.pm1a_sts &= !(value as u16), // write 1 to clear
            0xb002 | 0xb003 => d.pm1a_en = value as u16,
            _ => {}
        }
        d.pm1a_sts & d.pm1a_en & SCI_MASK != 0
    };
    if raise {
        raise_sci(sim, domid);
    }
}

pub(crate) fn raise_sci(sim: &Sim, domid: u32) {
    let h = sim
        .xen
        .borrow()
        .domain(domid)
        .and_then(|d| d.sci_handler.clone());
    if let Some(h) = h {
        // The SCI is IRQ 9 asserted on the virtual IO-APIC: the guest's
        // handler runs because of whoever set the status bit here.
        let hop = sim.hop("SCI (IRQ 9)");
        sim.schedule(SimDuration::micros(10), move |sim| h(sim, hop));
    }
}

/// `hvm_send_assist_req`: deferral, ioreq READY, notify the device model.
async fn hvm_send_assist_req(
    sim: &Sim,
    domid: u32,
    vcpu: u32,
    port: u16,
    size: u8,
    value: u64,
) -> bool {
    let s = sim.clone();
    sim.call(
        Probe::XenHvmSendAssistReq,
        domid,
        move || {
            vec![
                Value::Int(vcpu as i64),
                Value::Int(port as i64),
                Value::Int(value as i64),
            ]
        },
        async move {
            if !vcpu_start_shutdown_deferral(&s, domid, vcpu).await {
                return false;
            }
            let handler = {
                let mut xen = s.xen.borrow_mut();
                let Some(d) = xen.domain_mut(domid) else {
                    return false;
                };
                let Some(v) = d.vcpus.get_mut(vcpu as usize) else {
                    return false;
                };
                v.ioreq = super::Ioreq {
                    state: IoreqState::Ready,
                    addr: port as u64,
                    data: value,
                    size,
                    dir: 0,
                };
                v.blocked_in_xen = true;
                d.ioreq_handler.clone()
            };
            // With no device model bound, nobody will ever answer.
            if let Some(h) = handler {
                let hop = s.hop("ioreq event channel");
                s.schedule(SimDuration::micros(4), move |sim| h(sim, vcpu, hop));
            }
            true
        },
    )
    .await
}

/// qemu-dm set IORESP_READY and notified the vCPU's port: `evtchn_send` →
/// `vcpu_wake` → SCHEDULE_SOFTIRQ on the vCPU's pCPU.
pub async fn notify_ioreq_done(sim: &Sim, domid: u32, vcpu: u32) {
    let s = sim.clone();
    sim.call(
        Probe::XenEvtchnSend,
        domid,
        move || vec![Value::Int(vcpu as i64)],
        async move {
            let s2 = s.clone();
            s.call(
                Probe::XenVcpuWake,
                domid,
                move || vec![Value::Int(vcpu as i64)],
                async move {
                    let pcpu = {
                        let xen = s2.xen.borrow();
                        match xen.domain(domid).and_then(|d| d.vcpus.get(vcpu as usize)) {
                            Some(v) => v.pcpu,
                            None => return,
                        }
                    };
                    let hop = s2.hop("vcpu_wake (SCHEDULE_SOFTIRQ)");
                    raise_schedule_softirq(&s2, pcpu, domid, vcpu, hop);
                },
            )
            .await;
        },
    )
    .await
}

fn raise_schedule_softirq(
    sim: &Sim,
    pcpu: u32,
    domid: u32,
    vcpu: u32,
    hop: Option<crate::stack::HopId>,
) {
    let (ctx, start) = {
        let mut xen = sim.xen.borrow_mut();
        let n = xen.pcpus.len() as u32;
        let p = &mut xen.pcpus[(pcpu % n.max(1)) as usize];
        p.pending.push_back((domid, vcpu));
        let start = !p.busy;
        p.busy = true;
        (p.ctx, start)
    };
    if start {
        let s = sim.clone();
        sim.adopt(ctx, hop);
        sim.spawn_after(SimDuration::micros(2), ctx, async move {
            let slot = pcpu as usize % s.xen.borrow().pcpus.len().max(1);
            loop {
                let next = s.xen.borrow_mut().pcpus[slot].pending.pop_front();
                let Some((d, v)) = next else { break };
                do_softirq(&s, d, v).await;
            }
            s.xen.borrow_mut().pcpus[slot].busy = false;
        });
    }
}

async fn do_softirq(sim: &Sim, domid: u32, vcpu: u32) {
    let s = sim.clone();
    sim.call(Probe::XenDoSoftirq, domid, Vec::new, async move {
        let s2 = s.clone();
        s.call(Probe::XenDoSoftirqInner, domid, Vec::new, async move {
            let s3 = s2.clone();
            s2.call(Probe::XenSchedule, domid, Vec::new, async move {
                let runnable = {
                    let xen = s3.xen.borrow();
                    xen.domain(domid)
                        .and_then(|d| d.vcpus.get(vcpu as usize).map(|v| (d, v)))
                        .is_some_and(|(d, v)| {
                            d.is_dying == Dying::Alive && v.pause_count == 0 && !v.down
                        })
                };
                if runnable {
                    context_switch(&s3, domid, vcpu).await;
                }
            })
            .await;
        })
        .await;
    })
    .await
}

async fn context_switch(sim: &Sim, domid: u32, vcpu: u32) {
    let s = sim.clone();
    sim.call(
        Probe::XenContextSwitch,
        domid,
        move || vec![Value::Int(vcpu as i64)],
        async move {
            let s2 = s.clone();
            // schedule_tail(next) is vmx_do_resume for an HVM vCPU.
            s.call(
                Probe::XenVmxDoResume,
                domid,
                move || vec![Value::Int(vcpu as i64)],
                async move {
                    hvm_do_resume(&s2, domid, vcpu).await;
                    // VM entry: the guest runs on if nothing paused it.
                    let waiter = {
                        let mut xen = s2.xen.borrow_mut();
                        xen.domain_mut(domid)
                            .and_then(|d| d.vcpus.get_mut(vcpu as usize))
                            .and_then(|v| {
                                if v.pause_count == 0 && !v.blocked_in_xen {
                                    v.resume_waiter.take()
                                } else {
                                    None
                                }
                            })
                    };
                    if let Some(t) = waiter {
                        s2.wake(t);
                    }
                },
            )
            .await;
        },
    )
    .await
}

async fn hvm_do_resume(sim: &Sim, domid: u32, vcpu: u32) {
    let s = sim.clone();
    sim.call(
        Probe::XenHvmDoResume,
        domid,
        move || vec![Value::Int(vcpu as i64)],
        async move {
            let ready = {
                let xen = s.xen.borrow();
                xen.domain(domid)
                    .and_then(|d| d.vcpus.get(vcpu as usize))
                    .is_some_and(|v| v.ioreq.state == IoreqState::RespReady)
            };
            if ready {
                let s2 = s.clone();
                s.call(
                    Probe::XenHvmIoAssist,
                    domid,
                    move || vec![Value::Int(vcpu as i64)],
                    async move {
                        {
                            let mut xen = s2.xen.borrow_mut();
                            if let Some(v) = xen
                                .domain_mut(domid)
                                .and_then(|d| d.vcpus.get_mut(vcpu as usize))
                            {
                                v.ioreq.state = IoreqState::None;
                                v.blocked_in_xen = false;
                            }
                        }
                        // The last statement of hvm_io_assist: a tail call.
                        vcpu_end_shutdown_deferral(&s2, domid, vcpu).await;
                    },
                )
                .await;
            }
        },
    )
    .await
}

/// The guest HLTs: with interrupts off the vCPU goes down for good, and the
/// last one down powers the domain off.
pub async fn hvm_hlt(sim: &Sim, domid: u32, vcpu: u32, irqs_enabled: bool) {
    let s = sim.clone();
    sim.call(
        Probe::XenHvmHlt,
        domid,
        move || vec![Value::Int(vcpu as i64), Value::Bool(irqs_enabled)],
        async move {
            if irqs_enabled {
                return;
            }
            let s2 = s.clone();
            s.call(
                Probe::XenHvmVcpuDown,
                domid,
                move || vec![Value::Int(vcpu as i64)],
                async move {
                    let all_down = {
                        let mut xen = s2.xen.borrow_mut();
                        let Some(d) = xen.domain_mut(domid) else {
                            return;
                        };
                        if let Some(v) = d.vcpus.get_mut(vcpu as usize) {
                            v.down = true;
                        }
                        d.vcpus.iter().all(|v| v.down)
                    };
                    if all_down {
                        if s2.xen.borrow().guest_loglvl_info {
                            super::console_print(
                                &s2,
                                &format!("hvm.c:1345:d{domid} All CPUs offline -- powering off.\n"),
                            );
                        }
                        domain_shutdown(&s2, domid, reason::POWEROFF).await;
                    }
                },
            )
            .await;
        },
    )
    .await
}

/// XEN_DOMCTL_SENDTRIGGER_POWER: PWRBTN_STS, and the SCI if the guest enabled it.
pub(crate) async fn hvm_acpi_power_button(sim: &Sim, domid: u32) {
    let s = sim.clone();
    sim.call(
        Probe::XenHvmAcpiPowerButton,
        domid,
        move || vec![Value::Int(domid as i64)],
        async move {
            let raise = {
                let mut xen = s.xen.borrow_mut();
                let Some(d) = xen.domain_mut(domid) else {
                    return;
                };
                d.pm1a_sts |= PWRBTN;
                d.pm1a_sts & d.pm1a_en & SCI_MASK != 0
            };
            if raise {
                raise_sci(&s, domid);
            }
        },
    )
    .await
}

/// A triple fault: Xen resets the domain (SHUTDOWN_reboot).
pub async fn hvm_triple_fault(sim: &Sim, domid: u32, vcpu: u32) {
    let s = sim.clone();
    sim.call(Probe::XenHvmTripleFault, domid, move || vec![Value::Int(vcpu as i64)], async move {
        if s.xen.borrow().guest_loglvl_info {
            super::console_print(&s, &format!("hvm.c:1193:d{domid} Triple fault on VCPU{vcpu} - invoking HVM system reset.\n"));
        }
        domain_shutdown(&s, domid, reason::REBOOT).await;
    })
    .await
}
