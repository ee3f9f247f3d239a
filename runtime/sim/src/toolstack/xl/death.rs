//! libxl's side of a domain going down (libxl.c:870-1131, 5092-5137): the PV
//! control request (`control/shutdown`, or ERROR_NOPARAVIRT), triggers, and
//! the domain-death evgens that turn `@releaseDomain` into DOMAIN_SHUTDOWN
//! and DOMAIN_DEATH events.

use crate::hypervisor::domctl::{self, DomInfo, Domctl};
use crate::hypervisor::param;
use crate::probe::Probe;
use crate::value::Value;
use crate::xenstore::{xs_request, Req};
use crate::Sim;

use super::cmd::{ERROR_FAIL, ERROR_NOPARAVIRT};
use super::event::{self, Event, Evgen, WatchCb};
use super::lines::L;
use super::log::{libxl_log, log_errno, ptr, Level};

/// The raw XEN_DOMCTL_getdomaininfo flags word libxl prints
/// (xen/common/domctl.c:182-188): `shutdown_code << 16` with the code -1
/// until a shutdown.
pub fn dominf_flags(i: &DomInfo) -> u32 {
    let down = i.shutdown || i.crashed;
    let mut f = 0u32;
    f |= u32::from(i.dying);
    f |= u32::from(i.hvm) << 1;
    f |= u32::from(down) << 2;
    f |= u32::from(i.paused) << 3;
    f |= u32::from(i.blocked) << 4;
    f |= u32::from(i.running) << 5;
    let code: i32 = if i.shutdown_reason == 255 {
        -1
    } else {
        i.shutdown_reason as i32
    };
    f | ((code as u32) << 16)
}

/// `libxl__domain_pvcontrol` for `libxl_domain_shutdown`/`_reboot`:
/// PV control available → write the request; else ERROR_NOPARAVIRT.
pub async fn pvcontrol(sim: &Sim, pid: u32, domid: u32, reboot: bool) -> i32 {
    let s = sim.clone();
    let probe = if reboot {
        Probe::LibxlDomainReboot
    } else {
        Probe::LibxlDomainShutdown
    };
    let rc: i64 = sim
        .call(
            probe,
            domid,
            move || vec![Value::Int(domid as i64)],
            async move {
                s.at(L::PvcontrolAvailable as u16);
                let avail = pvcontrol_available(&s, pid, domid).await;
                if avail < 0 {
                    return avail;
                }
                if avail == 0 {
                    return ERROR_NOPARAVIRT as i64;
                }
                s.at(L::PvcontrolWrite as u16);
                let Some(conn) = event::conn_of(&s, pid) else {
                    return ERROR_FAIL as i64;
                };
                let cmd = if reboot { "reboot" } else { "poweroff" };
                match xs_request(
                    &s,
                    conn,
                    None,
                    Req::Write(
                        format!("/local/domain/{domid}/control/shutdown"),
                        cmd.into(),
                    ),
                )
                .await
                {
                    Ok(_) => 0,
                    Err(_) => ERROR_FAIL as i64,
                }
            },
        )
        .await;
    rc as i32
}

/// `libxl__domain_pvcontrol_available` (libxl.c:870-890).
async fn pvcontrol_available(sim: &Sim, pid: u32, domid: u32) -> i64 {
    let s = sim.clone();
    sim.call(
        Probe::LibxlPvcontrolAvailable,
        domid,
        move || vec![Value::Int(domid as i64)],
        async move {
            let Some(info) = domctl::getdomaininfo(&s, domid) else {
                libxl_log(
                    &s,
                    pid,
                    Level::Error,
                    L::DeathGetinfo,
                    &format!("unable to get domain type for domid={domid}"),
                );
                return ERROR_FAIL as i64;
            };
            if !info.hvm {
                return 1;
            }
            match domctl::hvm_get_param(&s, domid, param::CALLBACK_IRQ) {
                Some(v) => i64::from(v != 0),
                None => {
                    log_errno(
                        &s,
                        pid,
                        Level::Error,
                        L::PvcontrolIrqLog,
                        "getting HVM callback IRQ",
                        Some("No such process"),
                    );
                    ERROR_FAIL as i64
                }
            }
        },
    )
    .await
}

/// `libxl_send_trigger` (libxl.c:5092-5137): XEN_DOMCTL_sendtrigger.
pub async fn send_trigger(sim: &Sim, pid: u32, domid: u32, code: u32, vcpu: u32) -> i32 {
    let s = sim.clone();
    let name = trigger_name(code);
    let rc: i64 = sim
        .call(
            Probe::LibxlSendTrigger,
            domid,
            move || {
                vec![
                    Value::Int(domid as i64),
                    Value::str(name),
                    Value::Int(vcpu as i64),
                ]
            },
            async move {
                // libxl's names → Xen's XEN_DOMCTL_SENDTRIGGER_* codes.
                let xen = match code {
                    1 => Some(3), // POWER
                    2 => Some(4), // SLEEP
                    3 => Some(0), // NMI
                    4 => Some(2), // INIT
                    5 => Some(1), // RESET
                    _ => None,
                };
                let r = match xen {
                    Some(x) => domctl::do_domctl(&s, domid, Domctl::SendTrigger(x)).await,
                    None => {
                        // s3resume: HVM_PARAM_ACPI_S_STATE = 0.
                        domctl::hvm_set_param(&s, domid, param::ACPI_S_STATE, 0);
                        0
                    }
                };
                if r != 0 {
                    log_errno(
                        &s,
                        pid,
                        Level::Error,
                        L::TriggerFailedLog,
                        &format!("Send trigger '{name}' failed"),
                        Some(strerror(r)),
                    );
                    return ERROR_FAIL as i64;
                }
                0
            },
        )
        .await;
    rc as i32
}

fn trigger_name(code: u32) -> &'static str {
    match code {
        1 => "power",
        2 => "sleep",
        3 => "nmi",
        4 => "init",
        5 => "reset",
        6 => "s3resume",
        _ => "unknown",
    }
}

/// `strerror(-rc)` of the errnos Xen's hypercalls return here.
pub fn strerror(rc: i64) -> &'static str {
    match -rc {
        3 => "No such process",
        22 => "Invalid argument",
        38 => "Function not implemented",
        _ => "Operation not permitted",
    }
}

/// `libxl_evenable_domain_death` (libxl.c:1084-1113).
pub async fn evenable_domain_death(sim: &Sim, pid: u32, domid: u32) {
    let s = sim.clone();
    sim.call(
        Probe::LibxlEvenableDomainDeath,
        domid,
        move || vec![Value::Int(domid as i64)],
        async move {
            let evg = event::alloc(&s, pid, 0x28);
            let need_watch = {
                let mut x = s.xl.borrow_mut();
                let Some(p) = x.proc_mut(pid) else { return };
                let c = &mut p.lx;
                let at = c
                    .death_list
                    .iter()
                    .position(|e| e.domid > domid)
                    .unwrap_or(c.death_list.len());
                c.death_list.insert(
                    at,
                    Evgen {
                        domid,
                        shutdown_reported: false,
                        ptr: evg,
                    },
                );
                c.death_watch.is_none()
            };
            if need_watch {
                // `&ctx->death_watch`: a member of the libxl_ctx.
                let w = s.xl.borrow().proc(pid).map_or(0, |p| p.lx.ctx_ptr + 0x2f8);
                s.at(L::EvenableRegister as u16);
                let slot =
                    event::xswatch_register(&s, pid, "@releaseDomain", WatchCb::DomainDeath, w)
                        .await;
                if let Some(p) = s.xl.borrow_mut().proc_mut(pid) {
                    p.lx.death_watch = slot;
                }
            }
        },
    )
    .await
}

/// `libxl__evdisable_domain_death` (libxl.c:1115-1131): the last evgen
/// unwatches `@releaseDomain`.
pub async fn evdisable_domain_death(sim: &Sim, pid: u32, domid: u32) {
    let s = sim.clone();
    sim.call(
        Probe::LibxlEvdisableDomainDeath,
        domid,
        move || vec![Value::Int(domid as i64)],
        async move {
            let drop_watch = {
                let mut x = s.xl.borrow_mut();
                let Some(p) = x.proc_mut(pid) else { return };
                let c = &mut p.lx;
                if let Some(i) = c.death_list.iter().position(|e| e.domid == domid) {
                    c.death_list.remove(i);
                } else if let Some(i) = c.death_reported.iter().position(|e| e.domid == domid) {
                    c.death_reported.remove(i);
                }
                if c.death_list.is_empty() {
                    c.death_watch.take()
                } else {
                    None
                }
            };
            if let Some(slot) = drop_watch {
                s.at(L::EvdisableDeregister as u16);
                event::xswatch_deregister(&s, pid, slot).await;
            }
        },
    )
    .await
}

/// `domain_death_occurred` (libxl.c:959-980).
async fn domain_death_occurred(sim: &Sim, pid: u32, idx: usize, why: &'static str) {
    let domid = sim
        .xl
        .borrow()
        .proc(pid)
        .and_then(|p| p.lx.death_list.get(idx).map(|e| e.domid))
        .unwrap_or(0);
    let s = sim.clone();
    sim.call(
        Probe::LibxlDomainDeathOccurred,
        domid,
        move || vec![Value::Int(domid as i64), Value::str(why)],
        async move {
            libxl_log(&s, pid, Level::Debug, L::DeathOccurredLog, why);
            event::event_occurred(&s, pid, Event::DomainDeath { domid });
            let mut x = s.xl.borrow_mut();
            if let Some(p) = x.proc_mut(pid) {
                if idx < p.lx.death_list.len() {
                    let e = p.lx.death_list.remove(idx);
                    p.lx.death_reported.insert(0, e);
                }
            }
        },
    )
    .await
}

/// `domain_death_xswatch_callback` (libxl.c:982-1082): on every
/// `@releaseDomain`, walk the evgens against `xc_domain_getinfolist`.
pub async fn domain_death_xswatch_callback(sim: &Sim, pid: u32, wpath: String, epath: String) {
    let s = sim.clone();
    let _ = wpath;
    sim.call(
        Probe::LibxlDomainDeathCallback,
        crate::stack::NO_DOM,
        move || vec![Value::str(&epath)],
        async move {
            let dbg = |at: L, msg: String| libxl_log(&s, pid, Level::Debug, at, &msg);
            // `evg`: the current evgen, an index into death_list (a
            // reported one is moved out, so the index then names the next).
            let mut idx = 0usize;
            'outer: loop {
                let list: Vec<Evgen> =
                    s.xl.borrow()
                        .proc(pid)
                        .map(|p| p.lx.death_list.clone())
                        .unwrap_or_default();
                let Some(first) = list.get(idx) else { break };
                let nentries = if idx + 1 < list.len() { 200 } else { 1 };
                s.at(L::DeathGetinfo as u16);
                let got: Vec<DomInfo> = domctl::list_domains(&s)
                    .into_iter()
                    .filter(|i| i.domid >= first.domid)
                    .take(nentries)
                    .collect();
                let rc = got.len();
                dbg(
                    L::DeathNentriesLog,
                    format!(
                        "[evg={}:{}] nentries={nentries} rc={rc} {}..{}",
                        ptr(first.ptr),
                        first.domid,
                        got.first().map_or(0, |i| i.domid as i64),
                        got.last().map_or(0, |i| i.domid as i64)
                    ),
                );
                let mut g = 0usize;
                loop {
                    let evg =
                        s.xl.borrow()
                            .proc(pid)
                            .and_then(|p| p.lx.death_list.get(idx).cloned());
                    let Some(evg) = evg else {
                        dbg(L::DeathAllReportedLog, "[evg=0] all reported".into());
                        break 'outer;
                    };
                    dbg(
                        L::DeathGotLog,
                        format!(
                            "[evg={}:{}]   got=domaininfos[{g}] got->domain={}",
                            ptr(evg.ptr),
                            evg.domid,
                            got.get(g).map_or(-1, |i| i.domid as i64)
                        ),
                    );
                    if rc == 0 {
                        s.at(L::DeathEmpty as u16);
                        domain_death_occurred(&s, pid, idx, "empty list").await;
                        continue;
                    }
                    let Some(info) = got.get(g) else {
                        dbg(L::DeathGotendLog, " got==gotend".into());
                        // The next batch starts at this evgen.
                        continue 'outer;
                    };
                    if info.domid > evg.domid {
                        s.at(L::DeathMissing as u16);
                        domain_death_occurred(&s, pid, idx, "missing from list").await;
                        continue;
                    }
                    if info.domid < evg.domid {
                        g += 1;
                        continue;
                    }
                    dbg(
                        L::DeathExistsLog,
                        format!(
                            " exists shutdown_reported={} dominf.flags={:x}",
                            u8::from(evg.shutdown_reported),
                            dominf_flags(info)
                        ),
                    );
                    if info.dying {
                        s.at(L::DeathDying as u16);
                        domain_death_occurred(&s, pid, idx, "dying").await;
                        continue;
                    }
                    if !evg.shutdown_reported && (info.shutdown || info.crashed) {
                        dbg(L::DeathShutdownLog, " shutdown reporting".into());
                        event::event_occurred(
                            &s,
                            pid,
                            Event::DomainShutdown {
                                domid: info.domid,
                                reason: info.shutdown_reason,
                            },
                        );
                        if let Some(p) = s.xl.borrow_mut().proc_mut(pid) {
                            if let Some(e) = p.lx.death_list.get_mut(idx) {
                                e.shutdown_reported = true;
                            }
                        }
                    }
                    idx += 1;
                }
            }
            libxl_log(
                &s,
                pid,
                Level::Debug,
                L::DeathDoneLog,
                "domain death search done",
            );
        },
    )
    .await
}
