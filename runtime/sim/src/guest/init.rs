//! The guest's userspace on the way down: `/sbin/poweroff` (systemctl or
//! sysvinit's halt), PID 1's shutdown job, systemd-shutdown and reboot(2)
//! (systemd 229: src/systemctl/systemctl.c, src/core/main.c, shutdown.c;
//! guest-and-qemu.md §6).

use crate::probe::{Layer, Probe};
use crate::time::SimDuration;
use crate::value::Value;
use crate::Sim;

use super::profile::{InitKind, UnitKind};
use super::reboot::{cmd, sys_reboot};
use super::{console_line, guest_sleep, jitter_ms, level, printk};

/// A request to PID 1.
#[derive(Clone, Debug)]
pub enum Pid1Msg {
    /// D-Bus `StartUnit(target, "replace-irreversibly")`.
    StartTarget(&'static str),
    /// SIGINT: Ctrl-Alt-Del with C_A_D off.
    Sigint,
}

/// Queues a request for PID 1 and wakes it.
pub fn send_pid1(sim: &Sim, domid: u32, msg: Pid1Msg) {
    let hop = sim.hop("D-Bus / signal to PID 1");
    let w = {
        let mut g = sim.guests.borrow_mut();
        let Some(g) = g.get_mut(domid) else { return };
        if g.init_hangs {
            return;
        }
        g.pid1_queue.push_back((msg, hop));
        g.pid1_waiter.take()
    };
    if let Some(t) = w {
        sim.wake(t);
    }
}

/// execve of a program from a usermode helper: a new process.
pub fn exec_program(sim: &Sim, domid: u32, argv: Vec<String>) {
    let base = argv[0].rsplit('/').next().unwrap_or("").to_string();
    let init = match sim.guests.borrow().get(domid) {
        Some(g) => g.profile.init,
        None => return,
    };
    let pid = super::next_pid(sim, domid);
    let ctx = sim.new_thread_ctx(format!("{base} (pid {pid})"), Layer::Guest, domid);
    let hop = sim.hop("call_usermodehelper exec");
    sim.adopt(ctx, hop);
    let s = sim.clone();
    super::spawn(sim, domid, ctx, async move {
        match init {
            InitKind::Systemd => {
                systemctl(&s, domid, argv).await;
            }
            InitKind::Sysvinit => {
                sysvinit_halt(&s, domid, argv).await;
            }
        }
    });
}

fn target_of(argv0: &str) -> Option<&'static str> {
    let name = argv0.rsplit('/').next().unwrap_or(argv0);
    if name.contains("halt") {
        Some("halt.target")
    } else if name.contains("poweroff") {
        Some("poweroff.target")
    } else if name.contains("reboot") {
        Some("reboot.target")
    } else if name.contains("shutdown") {
        Some("poweroff.target")
    } else {
        None
    }
}

/// systemctl run as poweroff/halt/reboot: `halt_main` → `start_with_fallback`
/// → StartUnit over D-Bus (root, no --force, no time given).
async fn systemctl(sim: &Sim, domid: u32, argv: Vec<String>) -> i64 {
    let s = sim.clone();
    let argv0 = argv[0].clone();
    sim.call(
        Probe::GuestSystemctlPoweroff,
        domid,
        move || vec![Value::str(&argv0)],
        async move {
            let Some(target) = target_of(&argv[0]) else {
                return 1;
            };
            guest_sleep(&s, domid, SimDuration::millis(3)).await;
            let hangs = s.guests.borrow().get(domid).is_some_and(|g| g.init_hangs);
            if hangs {
                // The D-Bus call times out, /dev/initctl gets no answer:
                // "Failed to talk to init daemon." (on systemctl's stderr, which
                // a usermode helper has nowhere to show).
                guest_sleep(&s, domid, SimDuration::secs(25)).await;
                return 1;
            }
            send_pid1(&s, domid, Pid1Msg::StartTarget(target));
            0
        },
    )
    .await
}

/// PID 1 (systemd): waits for requests, runs the shutdown job.
pub async fn pid1_main(sim: Sim, domid: u32) {
    loop {
        let msg = {
            let mut g = sim.guests.borrow_mut();
            let Some(g) = g.get_mut(domid) else { return };
            g.pid1_queue.pop_front()
        };
        let Some((msg, hop)) = msg else {
            let s = sim.clone();
            sim.park(move |t| {
                if let Some(g) = s.guests.borrow_mut().get_mut(domid) {
                    g.pid1_waiter = Some(t);
                }
            })
            .await;
            continue;
        };
        let ctx = sim.current_ctx();
        sim.adopt(ctx, hop);
        super::freeze_unless_runnable(&sim, domid).await;
        let target = match msg {
            Pid1Msg::StartTarget(t) => t,
            // ctrl-alt-del.target is a link to reboot.target.
            Pid1Msg::Sigint => "reboot.target",
        };
        let verb = match target {
            "halt.target" => "halt",
            "reboot.target" => "reboot",
            _ => "poweroff",
        };
        // Boxed: PID 1 waits for this all of the guest's life.
        Box::pin(async {
            systemd_stop_units(&sim, domid, target).await;
            systemd_shutdown(&sim, domid, verb).await;
        })
        .await;
        return;
    }
}

/// PID 1's shutdown job: stop every unit (reverse start order), reach
/// shutdown.target, run systemd-<verb>.service (`systemctl --force <verb>`,
/// i.e. Manager.PowerOff), which ends the main loop.
pub async fn systemd_stop_units(sim: &Sim, domid: u32, target: &'static str) {
    let s = sim.clone();
    sim.call(
        Probe::GuestSystemdStopUnits,
        domid,
        move || vec![Value::str(target)],
        async move {
            let units = match s.guests.borrow().get(domid) {
                Some(g) => g.units_to_stop(),
                None => return,
            };
            for i in units {
                systemd_stop_unit(&s, domid, i).await;
            }
            console_line(&s, domid, "[  OK  ] Reached target Shutdown.");
            let (svc, desc) = match target {
                "halt.target" => ("systemd-halt.service", "Halt"),
                "reboot.target" => ("systemd-reboot.service", "Reboot"),
                _ => ("systemd-poweroff.service", "Power-Off"),
            };
            let _ = svc;
            console_line(&s, domid, format_args!("         Starting {desc}..."));
            guest_sleep(&s, domid, SimDuration::millis(6)).await;
        },
    )
    .await
}

async fn systemd_stop_unit(sim: &Sim, domid: u32, idx: usize) {
    let s = sim.clone();
    let unit = match sim.guests.borrow().get(domid) {
        Some(g) => g.profile.units[idx],
        None => return,
    };
    sim.call(
        Probe::GuestSystemdStopUnit,
        domid,
        move || vec![Value::str(unit.desc)],
        async move {
            let d = unit.desc;
            match unit.kind {
                UnitKind::Service => console_line(&s, domid, ["         Stopping ", d, "..."]),
                UnitKind::Mount => console_line(&s, domid, ["         Unmounting ", d, "..."]),
                UnitKind::Swap => {
                    console_line(&s, domid, ["         Deactivating swap ", d, "..."])
                }
                _ => {}
            }
            let t = jitter_ms(&s, domid, unit.stop_ms, 0.2);
            guest_sleep(&s, domid, t).await;
            match unit.kind {
                UnitKind::Service => console_line(&s, domid, ["[  OK  ] Stopped ", d, "."]),
                UnitKind::Target => console_line(&s, domid, ["[  OK  ] Stopped target ", d, "."]),
                UnitKind::Mount => console_line(&s, domid, ["[  OK  ] Unmounted ", d, "."]),
                UnitKind::Socket => console_line(&s, domid, ["[  OK  ] Closed ", d, "."]),
                UnitKind::Swap => console_line(&s, domid, ["[  OK  ] Deactivated swap ", d, "."]),
            }
            if let Some(g) = s.guests.borrow_mut().get_mut(domid) {
                g.running_units.retain(|&u| usize::from(u) != idx);
            }
        },
    )
    .await
}

/// PID 1 logs "Shutting down." and execs systemd-shutdown, which kills the
/// rest, unmounts, syncs and calls reboot(2).
pub async fn systemd_shutdown(sim: &Sim, domid: u32, verb: &'static str) {
    let s = sim.clone();
    sim.call(
        Probe::GuestSystemdShutdown,
        domid,
        move || vec![Value::str(verb)],
        async move {
            printk(&s, domid, level::NOTICE, "systemd[1]: Shutting down.");
            let (mounts, sigterm, sync) = match s.guests.borrow().get(domid) {
                Some(g) => (g.profile.mounts, g.profile.sigterm_ms, g.profile.sync_ms),
                None => return,
            };
            let log = |m: &str| shutdown_says(&s, domid, m);
            log("Sending SIGTERM to remaining processes...");
            let journald = 200 + super::next_pid(&s, domid) % 300;
            guest_sleep(&s, domid, jitter_ms(&s, domid, sigterm / 2, 0.3)).await;
            printk(
                &s,
                domid,
                level::INFO,
                format_args!(
                    "systemd-journald[{journald}]: Received SIGTERM from PID 1 (systemd-shutdown)."
                ),
            );
            guest_sleep(&s, domid, jitter_ms(&s, domid, sigterm / 2, 0.3)).await;
            log("Sending SIGKILL to remaining processes...");
            log("Unmounting file systems.");
            for m in mounts {
                shutdown_says(&s, domid, format_args!("Unmounting {m}."));
                guest_sleep(&s, domid, SimDuration::millis(2)).await;
            }
            log("All filesystems unmounted.");
            log("Deactivating swaps.");
            log("All swaps deactivated.");
            log("Detaching loop devices.");
            log("All loop devices detached.");
            log("Detaching DM devices.");
            log("All DM devices detached.");
            guest_sleep(&s, domid, jitter_ms(&s, domid, sync, 0.3)).await;
            let (msg, command) = match verb {
                "halt" => ("Halting system.", cmd::HALT),
                "reboot" => ("Rebooting.", cmd::RESTART),
                _ => ("Powering off.", cmd::POWER_OFF),
            };
            log(msg);
            sys_reboot(&s, domid, command).await;
            // If reboot() returns: "Failed to invoke reboot(): ..." and freeze.
            std::future::pending::<()>().await;
        },
    )
    .await
}

/// A line of systemd-shutdown's (PID 1 after the switch) on the console.
fn shutdown_says(sim: &Sim, domid: u32, m: impl std::fmt::Display) {
    printk(
        sim,
        domid,
        level::INFO,
        format_args!("systemd-shutdown[1]: {m}"),
    );
}

/// sysvinit's halt/poweroff: not in runlevel 0 yet, so exec `shutdown -h
/// now`; init runs the runlevel-0 scripts, whose last one calls `halt -f`,
/// which syncs and calls reboot(RB_POWER_OFF).
async fn sysvinit_halt(sim: &Sim, domid: u32, argv: Vec<String>) -> i64 {
    let s = sim.clone();
    let argv0 = argv[0].clone();
    sim.call(
        Probe::GuestSysvinitHalt,
        domid,
        move || vec![Value::str(&argv0)],
        async move {
            let Some(target) = target_of(&argv[0]) else {
                return 1;
            };
            let units = match s.guests.borrow().get(domid) {
                Some(g) => g.units_to_stop(),
                None => return 1,
            };
            console_line(&s, domid, "");
            console_line(
                &s,
                domid,
                "Broadcast message from root (console) (shutdown -h now):",
            );
            console_line(&s, domid, "");
            console_line(&s, domid, "The system is going down for system halt NOW!");
            console_line(&s, domid, "INIT: Switching to runlevel: 0");
            console_line(&s, domid, "INIT: Sending processes the TERM signal");
            for i in units {
                let unit = s.guests.borrow().get(domid).map(|g| g.profile.units[i]);
                let Some(unit) = unit else { break };
                let t = jitter_ms(&s, domid, unit.stop_ms, 0.2);
                guest_sleep(&s, domid, t).await;
                console_line(&s, domid, format_args!("[ ok ] Stopping {}.", unit.desc));
            }
            let sync = s
                .guests
                .borrow()
                .get(domid)
                .map_or(50, |g| g.profile.sync_ms);
            guest_sleep(&s, domid, SimDuration::millis(sync as u64 + 2000)).await;
            console_line(&s, domid, "[info] Will now halt.");
            let command = match target {
                "reboot.target" => cmd::RESTART,
                _ => cmd::POWER_OFF,
            };
            sys_reboot(&s, domid, command).await;
            // If that returns, halt tries RB_HALT_SYSTEM.
            sys_reboot(&s, domid, cmd::HALT).await
        },
    )
    .await
}

/// systemd-logind on KEY_POWER (systemd 229): `button_dispatch` logs
/// "Power key pressed." (logind-button.c:157-164), `manager_handle_action`
/// with HandlePowerKey=poweroff logs the action's message, "Powering
/// Off..." (logind-action.c:42-53, 154-156), and asks PID 1 over D-Bus to
/// start poweroff.target, replace-irreversibly. Both lines go to journald;
/// the console shows them as the reference's catalogue has them (§4.5,
/// §10), through the kernel log — docs/fidelity.md says why.
pub async fn logind_power_key(sim: &Sim, domid: u32) {
    let s = sim.clone();
    sim.call(Probe::GuestLogindPowerKey, domid, Vec::new, async move {
        let systemd = s
            .guests
            .borrow()
            .get(domid)
            .is_some_and(|g| g.profile.init == InitKind::Systemd);
        if !systemd {
            // No acpid on a default install: nobody acts on the button.
            return;
        }
        let log = |m: &str| {
            let pid = logind_pid(&s, domid);
            printk(
                &s,
                domid,
                level::INFO,
                format_args!("systemd-logind[{pid}]: {m}"),
            );
        };
        log("Power key pressed.");
        log("Powering Off...");
        guest_sleep(&s, domid, SimDuration::millis(2)).await;
        send_pid1(&s, domid, Pid1Msg::StartTarget("poweroff.target"));
    })
    .await
}

/// systemd-logind's pid: a daemon started at boot, before any process the
/// model starts, so a few hundred; estimated from the guest's pid counter
/// without drawing from its generator (that would move every later draw).
fn logind_pid(sim: &Sim, domid: u32) -> u32 {
    sim.guests
        .borrow()
        .get(domid)
        .map_or(0, |g| 500 + g.next_pid % 400)
}
