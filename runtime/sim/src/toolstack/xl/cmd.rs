//! xl's commands (xl.c:285-371, xl_cmdimpl.c): `main`'s xend check, then
//! `create`, `shutdown`, `reboot`, `destroy`, `trigger` and `list`, each
//! run as its own process the way a user at dom0's shell runs it.

use std::cell::RefCell;
use std::rc::Rc;

use crate::hypervisor::domctl;
use crate::probe::Probe;
use crate::stack::NO_DOM;
use crate::value::Value;
use crate::xenstore::{xs_request, Req, Resp};
use crate::Sim;

use super::event::{self, Event};
use super::lines::L;
use super::log::{eprint, xl_log};
use super::proc::{run_command, CmdResult};
use super::{death, destroy, DomainConfig};

/// `ERROR_INVAL`.
pub const ERROR_INVAL: i32 = -6;
/// `ERROR_FAIL`.
pub const ERROR_FAIL: i32 = -3;
/// `ERROR_NOPARAVIRT`.
pub const ERROR_NOPARAVIRT: i32 = -10;

/// `exit(-1)`'s status.
const EXIT_MINUS_ONE: i64 = 255;

/// `main` (xl.c:340-360): a command that modifies refuses while xend's lock
/// file exists; then the command runs. Returns the exit status.
async fn xl_main<F, Fut>(sim: &Sim, pid: u32, command: &'static str, modifies: bool, body: F) -> i64
where
    F: FnOnce(Sim) -> Fut + 'static,
    Fut: std::future::Future<Output = i64> + 'static,
{
    let s = sim.clone();
    sim.call(
        Probe::XlMain,
        NO_DOM,
        move || vec![Value::str(command)],
        async move {
            // /var/lock/subsys/xend exists while xend runs (its init script
            // creates it at start).
            let xend_running = s.xend.borrow().started;
            if modifies && xend_running {
                eprint(
                    &s,
                    pid,
                    "xend is running, which may cause unpredictable results when using\n\
                     this xl command.  Please shut down xend before continuing.\n\n\
                     (This check can be overridden with the -f option.)",
                );
                return 1;
            }
            s.at(L::MainCmd as u16);
            // Boxed: a command's work nests deep, and its type with it.
            let work: std::pin::Pin<Box<dyn std::future::Future<Output = i64>>> =
                Box::pin(body(s.clone()));
            work.await
        },
    )
    .await
}

/// `libxl_domid_to_name`: `/local/domain/<id>/name`.
pub async fn domid_to_name(sim: &Sim, pid: u32, domid: u32) -> Option<String> {
    let conn = event::conn_of(sim, pid)?;
    match xs_request(
        sim,
        conn,
        None,
        Req::Read(format!("/local/domain/{domid}/name")),
    )
    .await
    {
        Ok(Resp::Value(v)) => Some(v),
        _ => None,
    }
}

/// `find_domain` (xl_cmdimpl.c:194-206): digits are a domid; a name is
/// looked up with `libxl_name_to_domid` (every domain's name read from
/// xenstore). `None` after printing the error (the command exits 2).
async fn find_domain(sim: &Sim, pid: u32, p: &str) -> Option<u32> {
    if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) {
        if let Ok(d) = p.parse() {
            return Some(d);
        }
    }
    for info in domctl::list_domains(sim) {
        if domid_to_name(sim, pid, info.domid).await.as_deref() == Some(p) {
            return Some(info.domid);
        }
    }
    eprint(
        sim,
        pid,
        &format!("{p} is an invalid domain identifier (rc={ERROR_INVAL})"),
    );
    None
}

fn fail_or<T>(r: CmdResult<T>) -> Result<CmdResult<T>, String> {
    Ok(r)
}

/// `xl create <name>.cfg`: the domain's id once the monitor has
/// daemonised. The world settles at the current time, as `xm create`.
pub fn create(sim: &Sim, cfg: DomainConfig) -> Result<CmdResult<u32>, String> {
    let name = cfg.name.clone();
    let r = run_command(sim, "create", true, move |s, pid| async move {
        let out: Rc<RefCell<Option<u32>>> = Rc::new(RefCell::new(None));
        let o2 = out.clone();
        let status = xl_main(&s, pid, "create", true, move |s| async move {
            let s2 = s.clone();
            s.call(
                Probe::XlMainCreate,
                NO_DOM,
                move || vec![Value::str(&name)],
                async move {
                    s2.at(L::MainCreateCall as u16);
                    match super::monitor::create_domain(&s2, pid, cfg).await {
                        Ok(domid) => {
                            *o2.borrow_mut() = Some(domid);
                            0
                        }
                        Err(rc) => -(rc as i64),
                    }
                },
            )
            .await
        })
        .await;
        let v = out.take();
        (status as i32, v)
    })?;
    fail_or(r)
}

/// `xl shutdown` / `xl reboot [-w] [-F] <dom>` (`main_shutdown_or_reboot`,
/// xl_cmdimpl.c:4158-4225).
pub fn shutdown(
    sim: &Sim,
    target: &str,
    reboot: bool,
    wait: bool,
    fallback: bool,
) -> Result<CmdResult<()>, String> {
    let t = target.to_string();
    let label = if reboot { "reboot" } else { "shutdown" };
    run_command(sim, label, false, move |s, pid| async move {
        let status = xl_main(&s, pid, label, true, move |s| async move {
            let probe = if reboot {
                Probe::XlMainReboot
            } else {
                Probe::XlMainShutdown
            };
            let s2 = s.clone();
            let shown = t.clone();
            s.call(
                probe,
                NO_DOM,
                move || vec![Value::str(&shown), Value::Bool(wait), Value::Bool(fallback)],
                async move {
                    let Some(domid) = find_domain(&s2, pid, &t).await else {
                        return 2;
                    };
                    let r = if reboot {
                        reboot_domain(&s2, pid, domid, wait, fallback).await
                    } else {
                        shutdown_domain(&s2, pid, domid, wait, fallback).await
                    };
                    if let Err(status) = r {
                        return status;
                    }
                    if wait {
                        wait_for_domain_deaths(&s2, pid, 1).await;
                    }
                    0
                },
            )
            .await
        })
        .await;
        (status as i32, Some(()))
    })
}

/// `shutdown_domain` (xl_cmdimpl.c:3103-3135).
async fn shutdown_domain(
    sim: &Sim,
    pid: u32,
    domid: u32,
    wait: bool,
    fallback: bool,
) -> Result<(), i64> {
    pv_request(sim, pid, domid, wait, fallback, false).await
}

/// `reboot_domain` (xl_cmdimpl.c:3137-3166).
async fn reboot_domain(
    sim: &Sim,
    pid: u32,
    domid: u32,
    wait: bool,
    fallback: bool,
) -> Result<(), i64> {
    pv_request(sim, pid, domid, wait, fallback, true).await
}

/// The body shared by `shutdown_domain` and `reboot_domain`: they differ in
/// words, in the libxl call and in the fallback trigger.
async fn pv_request(
    sim: &Sim,
    pid: u32,
    domid: u32,
    wait: bool,
    fallback: bool,
    reboot: bool,
) -> Result<(), i64> {
    let s = sim.clone();
    let probe = if reboot {
        Probe::XlRebootDomain
    } else {
        Probe::XlShutdownDomain
    };
    let r: i64 = sim
        .call(
            probe,
            domid,
            move || vec![Value::Int(domid as i64), Value::Bool(fallback)],
            async move {
                let (verb, what, button, trig) = if reboot {
                    ("Rebooting", "reboot", "reset", 5u32)
                } else {
                    ("Shutting down", "shutdown", "power", 1u32)
                };
                eprint(&s, pid, &format!("{verb} domain {domid}"));
                s.site().await;
                s.at(if reboot { L::RebootCall } else { L::ShutdownCall } as u16);
                let mut rc = super::death::pvcontrol(&s, pid, domid, reboot).await;
                if rc == ERROR_NOPARAVIRT {
                    if fallback {
                        eprint(
                            &s,
                            pid,
                            &format!(
                                "PV control interface not available: sending ACPI {button} button event."
                            ),
                        );
                        s.at(if reboot { L::RebootTrigger } else { L::ShutdownTrigger } as u16);
                        rc = super::death::send_trigger(&s, pid, domid, trig, 0).await;
                    } else {
                        let graceful = if reboot { "reboot" } else { "shutdown" };
                        eprint(
                            &s,
                            pid,
                            &format!(
                                "PV control interface not available: external graceful {graceful} not possible."
                            ),
                        );
                        let ev = if reboot { "reset" } else { "power" };
                        eprint(
                            &s,
                            pid,
                            &format!("Use \"-F\" to fallback to ACPI {ev} event."),
                        );
                    }
                }
                if rc != 0 {
                    eprint(&s, pid, &format!("{what} failed (rc={rc})"));
                    return EXIT_MINUS_ONE;
                }
                if wait {
                    s.at(if reboot { L::RebootEvenable } else { L::ShutdownEvenable } as u16);
                    death::evenable_domain_death(&s, pid, domid).await;
                }
                0
            },
        )
        .await;
    if r == 0 {
        Ok(())
    } else {
        Err(r)
    }
}

/// `wait_for_domain_deaths` (xl_cmdimpl.c:3071-3101): until each domain has
/// shut down or been destroyed, whichever libxl reports first.
async fn wait_for_domain_deaths(sim: &Sim, pid: u32, nr: u32) {
    let s = sim.clone();
    sim.call(
        Probe::XlWaitForDomainDeaths,
        NO_DOM,
        move || vec![Value::Int(nr as i64)],
        async move {
            xl_log(&s, pid, &format!("Waiting for {nr} domains"));
            let mut count = 0;
            while count < nr {
                s.at(L::WaitDeathsEvent as u16);
                let Some(ev) = event::event_wait(&s, pid).await else {
                    return;
                };
                match ev {
                    Event::DomainDeath { domid } => {
                        xl_log(&s, pid, &format!("Domain {domid} has been destroyed"));
                        death::evdisable_domain_death(&s, pid, domid).await;
                        count += 1;
                    }
                    Event::DomainShutdown { domid, reason } => {
                        xl_log(
                            &s,
                            pid,
                            &format!("Domain {domid} has been shut down, reason code {reason}"),
                        );
                        death::evdisable_domain_death(&s, pid, domid).await;
                        count += 1;
                    }
                }
            }
        },
    )
    .await
}

/// `xl destroy <dom>` (xl_cmdimpl.c:4146-4156, 3059-3069).
pub fn destroy(sim: &Sim, target: &str) -> Result<CmdResult<()>, String> {
    let t = target.to_string();
    run_command(sim, "destroy", false, move |s, pid| async move {
        let status = xl_main(&s, pid, "destroy", true, move |s| async move {
            let s2 = s.clone();
            let shown = t.clone();
            s.call(
                Probe::XlMainDestroy,
                NO_DOM,
                move || vec![Value::str(&shown)],
                async move {
                    let Some(domid) = find_domain(&s2, pid, &t).await else {
                        return 2;
                    };
                    s2.at(L::MainDestroyCall as u16);
                    destroy_domain(&s2, pid, domid).await
                },
            )
            .await
        })
        .await;
        (status as i32, Some(()))
    })
}

async fn destroy_domain(sim: &Sim, pid: u32, domid: u32) -> i64 {
    let s = sim.clone();
    sim.call(
        Probe::XlDestroyDomain,
        domid,
        move || vec![Value::Int(domid as i64)],
        async move {
            if domid == 0 {
                eprint(&s, pid, "Cannot destroy privileged domain 0.\n");
                return EXIT_MINUS_ONE;
            }
            s.at(L::DestroyDomainCall as u16);
            let rc = destroy::domain_destroy(&s, pid, domid).await;
            if rc != 0 {
                eprint(&s, pid, &format!("destroy failed (rc={rc})"));
                return EXIT_MINUS_ONE;
            }
            0
        },
    )
    .await
}

/// `libxl_trigger_from_string` (libxl_types.idl:100-108) → the code
/// `libxl_send_trigger` maps it to.
pub fn trigger_code(name: &str) -> Option<u32> {
    Some(match name {
        "power" => 1,
        "sleep" => 2,
        "nmi" => 3,
        "init" => 4,
        "reset" => 5,
        "s3resume" => 6,
        _ => return None,
    })
}

/// `xl trigger <dom> <trigger> [vcpu]` (xl_cmdimpl.c:5646-5677).
pub fn trigger(sim: &Sim, target: &str, name: &str, vcpu: u32) -> Result<CmdResult<()>, String> {
    let (t, n) = (target.to_string(), name.to_string());
    run_command(sim, "trigger", false, move |s, pid| async move {
        let status = xl_main(&s, pid, "trigger", true, move |s| async move {
            let s2 = s.clone();
            let (t2, n2) = (t.clone(), n.clone());
            s.call(
                Probe::XlMainTrigger,
                NO_DOM,
                move || vec![Value::str(&t2), Value::str(&n2), Value::Int(vcpu as i64)],
                async move {
                    let Some(domid) = find_domain(&s2, pid, &t).await else {
                        return 2;
                    };
                    let Some(code) = trigger_code(&n) else {
                        eprint(&s2, pid, &format!("Invalid trigger \"{n}\""));
                        return EXIT_MINUS_ONE;
                    };
                    s2.at(L::MainTriggerCall as u16);
                    // main_trigger ignores libxl_send_trigger's result.
                    let _ = death::send_trigger(&s2, pid, domid, code, vcpu).await;
                    0
                },
            )
            .await
        })
        .await;
        (status as i32, Some(()))
    })
}

/// One row of `xl list`: the columns `xm list` prints.
pub use crate::host::ListRow;

/// `xl list` (xl_cmdimpl.c:4237-4308, 3286-3362): works while xend runs.
pub fn list(sim: &Sim) -> Result<CmdResult<Vec<ListRow>>, String> {
    run_command(sim, "list", false, move |s, pid| async move {
        let out: Rc<RefCell<Vec<ListRow>>> = Rc::default();
        let o2 = out.clone();
        let status = xl_main(&s, pid, "list", false, move |s| async move {
            let s2 = s.clone();
            s.call(Probe::XlMainList, NO_DOM, Vec::new, async move {
                let mut rows = Vec::new();
                eprint(
                    &s2,
                    pid,
                    "Name                                        ID   Mem VCPUs\tState\tTime(s)",
                );
                for i in domctl::list_domains(&s2) {
                    let name = domid_to_name(&s2, pid, i.domid)
                        .await
                        .unwrap_or_else(|| "(null)".into());
                    let down = i.shutdown || i.crashed;
                    let reason = if down { i.shutdown_reason } else { 0 };
                    let letter = b"-rscw".get(reason as usize).map_or('?', |&c| c as char);
                    let flag = |b: bool, c: char| if b { c } else { '-' };
                    let state: String = [
                        flag(i.running, 'r'),
                        flag(i.blocked, 'b'),
                        flag(i.paused, 'p'),
                        flag(down, 's'),
                        letter,
                        flag(i.dying, 'd'),
                    ]
                    .iter()
                    .collect();
                    let mem = i.mem_kib / 1024;
                    eprint(
                        &s2,
                        pid,
                        &format!(
                            "{name:<40} {:>5} {mem:>5} {:>5}     {state}  {:>8.1}",
                            i.domid, i.online_vcpus, 0.0
                        ),
                    );
                    rows.push(ListRow {
                        name,
                        id: i.domid,
                        mem,
                        vcpus: i.online_vcpus,
                        state,
                    });
                }
                *o2.borrow_mut() = rows;
            })
            .await;
            0
        })
        .await;
        let rows = out.take();
        (status as i32, Some(rows))
    })
}
