//! `create_domain` (xl_cmdimpl.c:2041-2467): the domain is made in the `xl
//! create` process, which then forks the monitor (`do_daemonize`). The
//! monitor writes `xl-<name>.log`, waits for the domain's death, applies
//! on_poweroff/on_reboot/on_crash (`handle_domain_death`, :1779-1862), and
//! for a restart goes back to `start:` — a new domain, a new domid, the same
//! process and log.

use crate::probe::Probe;
use crate::stack::NO_DOM;
use crate::time::SimDuration;
use crate::value::Value;
use crate::Sim;

use super::event::{self, Event};
use super::lines::{Base, L};
use super::log::{eprint, xl_log, Out};
use super::proc::{exit_proc, set_base, spawn_proc};
use super::{create, death, destroy, DomainConfig};

/// What `handle_domain_death` asks for.
const RESTART: i64 = 1;
const RENAME_RESTART: i64 = 2;

/// The xl lock (`/var/lock/xl`, `fcntl(F_SETLKW)`): creations are serialised.
async fn acquire_lock(sim: &Sim) {
    loop {
        let me = sim.exec.current();
        let got = {
            let mut x = sim.xl.borrow_mut();
            match x.lock {
                None => {
                    x.lock = me;
                    true
                }
                Some(h) => Some(h) == me,
            }
        };
        if got {
            return;
        }
        let s = sim.clone();
        sim.park(move |t| s.xl.borrow_mut().lock_waiters.push_back(t))
            .await;
    }
}

fn release_lock(sim: &Sim) {
    let next = {
        let mut x = sim.xl.borrow_mut();
        x.lock = None;
        x.lock_waiters.pop_front()
    };
    if let Some(t) = next {
        sim.wake(t);
    }
}

/// `start:` up to the unpause: lock, `libxl_domain_create_new`, the `xl`
/// userdata, unlock, unpause. A failure destroys what was made.
async fn start(sim: &Sim, pid: u32, cfg: &DomainConfig) -> Result<u32, i32> {
    set_base(sim, pid, L::CreateLock);
    sim.at(L::CreateLock as u16);
    acquire_lock(sim).await;
    sim.at(L::CreateNew as u16);
    set_base(sim, pid, L::CreateNew);
    let create: std::pin::Pin<Box<dyn std::future::Future<Output = Result<u32, i32>>>> =
        Box::pin(create::domain_create_new(sim, pid, cfg.clone()));
    let domid = match create.await {
        Ok(d) => d,
        Err(rc) => {
            release_lock(sim);
            return Err(rc);
        }
    };
    sim.at(L::CreateUserdata as u16);
    // libxl_userdata_store(ctx, domid, "xl", config_data, config_len)
    sim.xl.borrow_mut().domains.insert(domid, cfg.clone());
    release_lock(sim);
    sim.at(L::CreateUnpause as u16);
    set_base(sim, pid, L::CreateUnpause);
    create::domain_unpause(sim, pid, domid).await;
    Ok(domid)
}

/// `create_domain` in the `xl create` process: the domain, then the fork.
pub async fn create_domain(sim: &Sim, pid: u32, cfg: DomainConfig) -> Result<u32, i32> {
    let s = sim.clone();
    let name = cfg.name.clone();
    let r: i64 = sim
        .call(
            Probe::XlCreateDomain,
            NO_DOM,
            move || vec![Value::str(&name)],
            async move {
                eprint(
                    &s,
                    pid,
                    &format!("Parsing config from /etc/xen/{}.cfg", cfg.name),
                );
                let domid = match start(&s, pid, &cfg).await {
                    Ok(d) => d,
                    Err(rc) => return rc as i64,
                };
                s.at(L::CreateDaemonize as u16);
                do_daemonize(&s, cfg, domid).await;
                domid as i64
            },
        )
        .await;
    if r < 0 {
        Err(r as i32)
    } else {
        Ok(r as u32)
    }
}

/// `do_daemonize("xl-<name>")` (xl_cmdimpl.c:432-479): the monitor opens
/// its log (rotating an old one) as stdout and stderr; the parent returns.
async fn do_daemonize(sim: &Sim, cfg: DomainConfig, domid: u32) {
    let s = sim.clone();
    let name = cfg.name.clone();
    let shown = format!("xl-{name}");
    sim.call(
        Probe::XlDoDaemonize,
        domid,
        move || vec![Value::str(&shown)],
        async move {
            let file = super::log_file(&name);
            {
                let mut logs = s.logs.borrow_mut();
                logs.rotate(&file, 10);
                let _ = logs.file(&file);
            }
            let hop = s.hop("fork (daemon)");
            let pid = spawn_proc(
                &s,
                &format!("create {name} (monitor)"),
                Out::File(file),
                Base::Monitor(L::CreateDaemonize),
            );
            s.xl.borrow_mut().monitors.insert(name.clone(), pid);
            let ctx = super::proc::ctx_of(&s, pid).expect("just spawned");
            s.adopt(ctx, hop);
            let s2 = s.clone();
            let t = s.spawn(ctx, async move {
                let work: std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> =
                    Box::pin(monitor(&s2, pid, cfg, domid));
                work.await;
                exit_proc(&s2, pid);
            });
            if let Some(p) = s.xl.borrow_mut().proc_mut(pid) {
                p.task = Some(t);
            }
            // The parent waits for the daemonizing child (the first fork),
            // which exits once `daemon()` has forked again.
            s.sleep(SimDuration::micros(600)).await;
            1
        },
    )
    .await;
}

/// The monitor: the part of `create_domain` after `do_daemonize`.
async fn monitor(sim: &Sim, pid: u32, mut cfg: DomainConfig, mut domid: u32) {
    let mut watching;
    loop {
        set_base(sim, pid, L::CreateDaemonize);
        xl_log(
            sim,
            pid,
            &format!(
                "Waiting for domain {} (domid {domid}) to die [pid {pid}]",
                cfg.name
            ),
        );
        set_base(sim, pid, L::CreateEvenable);
        death::evenable_domain_death(sim, pid, domid).await;
        watching = true;
        // The loop of xl_cmdimpl.c:2340-2433 goes round again only for the
        // events xsh does not raise (disk ejects, unexpected types): each
        // event here ends it.
        set_base(sim, pid, L::CreateWaitEvent);
        let restart = match domain_wait_event(sim, pid, domid).await {
            None => None,
            Some(Event::DomainShutdown { reason, .. }) => {
                xl_log(
                    sim,
                    pid,
                    &format!("Domain {domid} has shut down, reason code {reason} 0x{reason:x}"),
                );
                set_base(sim, pid, L::CreateHandleDeath);
                let r = handle_domain_death(sim, pid, domid, reason, &mut cfg).await;
                if r == RENAME_RESTART {
                    set_base(sim, pid, L::CreatePreserve);
                    // "If we fail then exit leaving the old domain in place."
                    preserve_domain(sim, pid, domid, &cfg).await.then_some(true)
                } else {
                    Some(r == RESTART)
                }
            }
            Some(Event::DomainDeath { .. }) => {
                xl_log(sim, pid, &format!("Domain {domid} has been destroyed."));
                None
            }
        };
        match restart {
            Some(true) => {
                set_base(sim, pid, L::CreateEvdisable);
                death::evdisable_domain_death(sim, pid, domid).await;
                watching = false;
                // Discard any other events which may have been generated.
                while event::event_check(sim, pid).is_some() {}
                xl_log(sim, pid, "Done. Rebooting now");
                set_base(sim, pid, L::CreateSleep);
                // "XXX FIXME: If this sleep is not there then domain
                // re-creation fails sometimes."
                event::sleep(sim, SimDuration::secs(2)).await;
                // xsh's `id` pins the first domid only: libxl has no way to
                // ask for one, so a restart takes the next free domid.
                cfg.domid = None;
                match start(sim, pid, &cfg).await {
                    Ok(d) => domid = d,
                    Err(_) => break,
                }
            }
            Some(false) => {
                xl_log(sim, pid, "Done. Exiting now");
                break;
            }
            None => break,
        }
    }
    if watching {
        set_base(sim, pid, L::CreateOutEvdisable);
        death::evdisable_domain_death(sim, pid, domid).await;
    }
}

/// `domain_wait_event` (xl_cmdimpl.c:2007-2027).
async fn domain_wait_event(sim: &Sim, pid: u32, domid: u32) -> Option<Event> {
    let s = sim.clone();
    let out: std::rc::Rc<std::cell::RefCell<Option<Event>>> = Default::default();
    let o2 = out.clone();
    sim.call(
        Probe::XlDomainWaitEvent,
        domid,
        move || vec![Value::Int(domid as i64)],
        async move {
            loop {
                s.at(L::WaitEventCall as u16);
                let Some(ev) = event::event_wait(&s, pid).await else {
                    return String::new();
                };
                if ev.domid() != domid {
                    xl_log(
                        &s,
                        pid,
                        &format!(
                            "INTERNAL PROBLEM - ignoring unexpected event for domain {} (expected {domid}): event={{\"type\":\"{}\"}}",
                            ev.domid(),
                            ev.type_name()
                        ),
                    );
                    continue;
                }
                let name = ev.type_name().to_string();
                *o2.borrow_mut() = Some(ev);
                return name;
            }
        },
    )
    .await;
    out.take()
}

/// `handle_domain_death` (xl_cmdimpl.c:1779-1862).
async fn handle_domain_death(
    sim: &Sim,
    pid: u32,
    domid: u32,
    reason: u8,
    cfg: &mut DomainConfig,
) -> i64 {
    let s = sim.clone();
    let c = cfg.clone();
    let r: (i64, Option<DomainConfig>) = {
        let out: std::rc::Rc<std::cell::RefCell<Option<DomainConfig>>> = Default::default();
        let o2 = out.clone();
        let code = sim
            .call(
                Probe::XlHandleDomainDeath,
                domid,
                move || vec![Value::Int(domid as i64), Value::Int(reason as i64)],
                async move {
                    let mut action = match reason {
                        0 => c.on_poweroff.clone(),
                        1 => c.on_reboot.clone(),
                        2 => {
                            xl_log(&s, pid, "Domain has suspended.");
                            return 0;
                        }
                        3 => c.on_crash.clone(),
                        4 => c.on_watchdog.clone(),
                        _ => {
                            xl_log(
                                &s,
                                pid,
                                &format!(
                                    "Unknown shutdown reason code {reason}. Destroying domain."
                                ),
                            );
                            "destroy".to_string()
                        }
                    };
                    xl_log(
                        &s,
                        pid,
                        &format!("Action for shutdown reason code {reason} is {action}"),
                    );
                    if action.starts_with("coredump-") {
                        xl_log(
                            &s,
                            pid,
                            &format!("dumping core to /var/xen/dump/{}", c.name),
                        );
                        action = if action == "coredump-destroy" {
                            "destroy".into()
                        } else {
                            "restart".into()
                        };
                    }
                    let mut restart = 0;
                    match action.as_str() {
                        "preserve" => return 0,
                        "rename-restart" => {
                            *o2.borrow_mut() = reload_domain_config(&s, pid, domid);
                            return RENAME_RESTART;
                        }
                        "restart" => {
                            *o2.borrow_mut() = reload_domain_config(&s, pid, domid);
                            restart = RESTART;
                        }
                        _ => {}
                    }
                    xl_log(
                        &s,
                        pid,
                        &format!("Domain {domid} needs to be cleaned up: destroying the domain"),
                    );
                    s.at(L::DeathDestroy as u16);
                    destroy::domain_destroy(&s, pid, domid).await;
                    restart
                },
            )
            .await;
        let reloaded = out.take();
        (code, reloaded)
    };
    if let Some(c) = r.1 {
        *cfg = c;
    }
    r.0
}

/// `reload_domain_config` (xl_cmdimpl.c:1758-1774): the config stored with
/// the domain (`libxl_userdata_retrieve`), or, missing, the old one.
fn reload_domain_config(sim: &Sim, pid: u32, domid: u32) -> Option<DomainConfig> {
    let c = sim.xl.borrow().domains.get(&domid).cloned();
    if c.is_none() {
        xl_log(
            sim,
            pid,
            "failed to retrieve guest configuration (rc=-3). reusing old configuration",
        );
    }
    c
}

/// `preserve_domain` (xl_cmdimpl.c:1883-1925): the dead domain is renamed
/// `<name>-<YYYYMMDDTHHMM>Z` with a new uuid, and left where it is.
async fn preserve_domain(sim: &Sim, pid: u32, domid: u32, cfg: &DomainConfig) -> bool {
    let s = sim.clone();
    let name = cfg.name.clone();
    let r: bool = sim
        .call(
            Probe::XlPreserveDomain,
            domid,
            move || vec![Value::Int(domid as i64)],
            async move {
                let stamp = crate::time::format_datetime(s.cfg().epoch.wall_secs(s.now()));
                // "YYYY-MM-DD HH:MM:SS" → "-YYYYMMDDTHHMMZ"
                let d: String = stamp.chars().filter(|c| c.is_ascii_digit()).collect();
                let suffix = format!("-{}T{}Z", &d[..8], &d[8..12]);
                xl_log(
                    &s,
                    pid,
                    &format!("Preserving domain {domid} {name} with suffix{suffix}"),
                );
                create::domain_preserve(&s, pid, domid, &format!("{name}{suffix}")).await
            },
        )
        .await;
    r
}
