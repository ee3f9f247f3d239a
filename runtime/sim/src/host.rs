//! A Xen host and the commands a user types at it: building the world
//! (hypervisor, dom0, xenstored), starting its toolstack, and `xm create/
//! shutdown/reboot/destroy/trigger/list` run to completion from outside the
//! world (a script calling them is a person at dom0's shell; `xl`'s commands
//! are in `toolstack::xl::cmd`).
//!
//! A host runs one toolstack, chosen by the first thing that needs one: an
//! `xm` command (or setting xend up) starts xend, as `service xend start`
//! would have at boot; an `xl` command, or `use_toolstack(Xl)`, leaves xend
//! stopped. xend's start is work at one instant, before the command that
//! needed it, so a world that uses `xm` is the world it always was.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use crate::guest::{self, boot::GuestSetup, GuestKind};
use crate::hypervisor::{self, Dying};
use crate::toolstack::xend::{self, DeviceSpec, VmConfig};
use crate::toolstack::{xm, Toolstack};
use crate::{Config, RunEnd, Sim};

/// What `xm.create` asks for (already checked by the script layer).
#[derive(Clone, Debug)]
pub struct CreateSpec {
    /// `name`.
    pub name: String,
    /// `id`: a fixed domid.
    pub id: Option<u32>,
    /// `type == "hvm"`.
    pub hvm: bool,
    /// `guest`: the guest profile.
    pub guest: String,
    /// `devices`: `"class/devid"`.
    pub devices: Vec<(String, String)>,
    /// `on_poweroff`.
    pub on_poweroff: String,
    /// `on_reboot`.
    pub on_reboot: String,
    /// `on_crash`.
    pub on_crash: String,
    /// `acpi`.
    pub acpi: bool,
    /// `pv_drivers`.
    pub pv_drivers: bool,
    /// `platform_pci` (xen_platform_pci).
    pub platform_pci: bool,
    /// `vcpus`.
    pub vcpus: u32,
    /// `memory` (MiB).
    pub memory: u64,
}

impl CreateSpec {
    /// xend's defaults for a named HVM guest.
    pub fn new(name: &str) -> CreateSpec {
        CreateSpec {
            name: name.into(),
            id: None,
            hvm: true,
            guest: "ubuntu-16.04".into(),
            devices: vec![("vif".into(), "0".into()), ("vbd".into(), "51712".into())],
            on_poweroff: "destroy".into(),
            on_reboot: "restart".into(),
            on_crash: "restart".into(),
            acpi: true,
            pv_drivers: true,
            platform_pci: true,
            vcpus: 2,
            memory: 1024,
        }
    }
}

/// Builds a host: Xen with 8 pCPUs, dom0 (xenstored, backends, udev). Its
/// toolstack starts when first needed (`use_toolstack`).
pub fn build(cfg: Config) -> Sim {
    let sim = Sim::new(cfg);
    hypervisor::boot(&sim, 8);
    crate::dom0::boot(&sim);
    sim.xen.borrow_mut().on_start = Some(Rc::new(guest_starts));
    settle(&sim);
    sim
}

/// xm's error when no xend listens on its socket (X xm/main.py:3970-3975).
pub const NO_XEND: &str = "Unable to connect to xend: No such file or directory. Is xend running?";

/// Makes `t` the host's toolstack if none is yet: xend starts (and settles
/// at this instant); xl needs no daemon. Once chosen, the other is refused:
/// `xm` finds no xend; `xl` commands that modify refuse while xend runs
/// (xl.c:347-358, in the xl process itself).
pub fn use_toolstack(sim: &Sim, t: Toolstack) -> Result<(), String> {
    match (sim.toolstack.get(), t) {
        (None, Toolstack::Xm) => {
            sim.toolstack.set(Some(Toolstack::Xm));
            xend::start::start(sim);
            settle(sim);
            Ok(())
        }
        (None, Toolstack::Xl) => {
            sim.toolstack.set(Some(Toolstack::Xl));
            Ok(())
        }
        (Some(a), b) if a == b => Ok(()),
        (Some(Toolstack::Xl), Toolstack::Xm) => Err(NO_XEND.into()),
        (Some(Toolstack::Xm), Toolstack::Xl) => Ok(()),
        (Some(_), _) => Ok(()),
    }
}

/// xend, started if this host has not chosen xl.
pub fn ensure_xend(sim: &Sim) -> Result<(), String> {
    use_toolstack(sim, Toolstack::Xm)
}

fn settle(sim: &Sim) {
    sim.xs.borrow_mut().instant = true;
    sim.settle_instantly(|| ());
    sim.xs.borrow_mut().instant = false;
}

/// Xen runs a new domain's vCPUs for the first time: its guest boots.
fn guest_starts(sim: &Sim, domid: u32) {
    // xend's record is read in place (xl's is a view made for the guest).
    let setup = {
        let x = sim.xend.borrow();
        match x.domains.get(&domid) {
            Some(&vm) => guest_setup(sim, &x.vm(vm).cfg, domid),
            None => match sim.xl.borrow().domains.get(&domid) {
                Some(c) => guest_setup(sim, &crate::toolstack::xl::guest_view(c, domid), domid),
                None => return,
            },
        }
    };
    let Some(setup) = setup else {
        return;
    };
    guest::boot::create(sim, &setup);
    let ctx = guest::new_task_ctx(sim, domid, "swapper/0");
    guest::spawn(sim, domid, ctx, guest::boot::boot(sim.clone(), setup));
}

/// What the guest of `cfg` boots with: `None` for an unknown guest profile,
/// or a domain xenstored does not know.
fn guest_setup(sim: &Sim, cfg: &VmConfig, domid: u32) -> Option<GuestSetup> {
    let profile = guest::profile::by_name(&cfg.guest)?;
    let conn = sim.xs.borrow().domains.get(&domid).map(|d| d.conn)?;
    let mut id = itoa::Buffer::new();
    let id = id.format(domid);
    let frontends = cfg
        .devices
        .iter()
        .map(|d| {
            let (class, devid) = (&*d.class, &*d.devid);
            (
                ["device/", class, "/", devid].concat(),
                ["/local/domain/0/backend/", class, "/", id, "/", devid].concat(),
            )
        })
        .collect();
    Some(GuestSetup {
        domid,
        name: cfg.name.clone(),
        profile,
        kind: if cfg.hvm {
            GuestKind::Hvm
        } else {
            GuestKind::Pv
        },
        pv_drivers: cfg.pv_drivers,
        platform_pci: cfg.platform_pci,
        acpi: cfg.acpi,
        vcpus: cfg.vcpus,
        frontends,
        conn,
    })
}

/// Runs an `xm` command to completion: the world runs until it returns.
fn run_cmd<T: 'static, Fut: Future<Output = Result<T, String>> + 'static>(
    sim: &Sim,
    cmd: &str,
    instant: bool,
    f: impl FnOnce(Sim) -> Fut,
) -> Result<T, String> {
    let cell: Rc<RefCell<Option<Result<T, String>>>> = Rc::new(RefCell::new(None));
    let c2 = cell.clone();
    let ctx = xm::process_ctx(sim, cmd);
    let fut = f(sim.clone());
    if instant {
        sim.xs.borrow_mut().instant = true;
        sim.exec.enter_instant();
    }
    sim.spawn(ctx, async move {
        let r = fut.await;
        *c2.borrow_mut() = Some(r);
    });
    let filled = cell.clone();
    let end = sim.run_while(move || filled.borrow().is_none());
    if instant {
        // Let everything the command set off at this instant settle too.
        let now = sim.now();
        while sim.exec.next_time().is_some_and(|t| t <= now) {
            sim.step();
        }
        sim.exec.leave_instant();
        sim.xs.borrow_mut().instant = false;
    }
    let r = cell.borrow_mut().take();
    match (r, end) {
        (Some(r), _) => r,
        (None, RunEnd::Aborted(m)) => Err(m),
        (None, _) => Err(format!(
            "xm {cmd} never returned: the world went idle while it waited"
        )),
    }
}

/// `xm create`: returns the new domid at the current virtual time, the guest
/// booted far enough to watch `control/shutdown`.
pub fn xm_create(sim: &Sim, spec: &CreateSpec) -> Result<u32, String> {
    ensure_xend(sim)?;
    if guest::profile::by_name(&spec.guest).is_none() {
        return Err(format!("unknown guest profile \"{}\"", spec.guest));
    }
    let mut x = sim.xend.borrow_mut();
    let cfg = VmConfig {
        name: spec.name.clone(),
        uuid: crate::uuid::Uuid::NIL,
        hvm: spec.hvm,
        guest: x.strs.get(&spec.guest),
        vcpus: spec.vcpus,
        memory: spec.memory,
        devices: spec
            .devices
            .iter()
            .map(|(c, d)| DeviceSpec {
                class: x.strs.get(c),
                devid: x.strs.get(d),
                uuid: crate::uuid::Uuid::NIL,
                mac: None,
            })
            .collect(),
        on_poweroff: x.strs.get(&spec.on_poweroff),
        on_reboot: x.strs.get(&spec.on_reboot),
        on_crash: x.strs.get(&spec.on_crash),
        pv_drivers: spec.pv_drivers,
        platform_pci: spec.platform_pci,
        acpi: spec.acpi,
        domid: spec.id,
    };
    drop(x);
    run_cmd(sim, "create", true, move |s| async move {
        xm::create(&s, cfg).await
    })
}

/// `xm shutdown [-w] [-H|-R] <dom>`: returns once xend took the request (or,
/// with `wait`, once the domain no longer runs).
pub fn xm_shutdown(sim: &Sim, target: &str, mode: &str, wait: bool) -> Result<(), String> {
    ensure_xend(sim)?;
    let (t, m) = (target.to_string(), mode.to_string());
    run_cmd(sim, "shutdown", false, move |s| async move {
        xm::shutdown(&s, t, m, wait).await
    })
}

/// `xm destroy <dom>`.
pub fn xm_destroy(sim: &Sim, target: &str) -> Result<(), String> {
    ensure_xend(sim)?;
    let t = target.to_string();
    run_cmd(sim, "destroy", false, move |s| async move {
        xm::destroy(&s, t).await
    })
}

/// `xm trigger <dom> <trigger> [vcpu]`.
pub fn xm_trigger(sim: &Sim, target: &str, trigger: &str, vcpu: u32) -> Result<(), String> {
    ensure_xend(sim)?;
    let (t, g) = (target.to_string(), trigger.to_string());
    run_cmd(sim, "trigger", false, move |s| async move {
        xm::trigger(&s, t, g, vcpu).await
    })
}

/// A row of `xm list` (and of `xl list`, which prints the same columns).
#[derive(Clone, Debug, PartialEq)]
pub struct ListRow {
    /// Name.
    pub name: String,
    /// ID.
    pub id: u32,
    /// Mem (MiB).
    pub mem: u64,
    /// VCPUs.
    pub vcpus: u32,
    /// State, as the six `rbpscd` columns (xl's fifth is the shutdown
    /// reason's letter, `-rscw`).
    pub state: String,
}

/// `xm list`: the domains xend tracks, with Xen's state flags.
pub fn xm_list(sim: &Sim) -> Result<Vec<ListRow>, String> {
    ensure_xend(sim)?;
    Ok(xend_list(sim))
}

/// What `xm list` would show, read without starting xend (empty without it).
pub fn xend_list(sim: &Sim) -> Vec<ListRow> {
    let x = sim.xend.borrow();
    let mut rows = Vec::new();
    for (&domid, &vm) in &x.domains {
        let v = x.vm(vm);
        let Some(i) = hypervisor::domctl::getdomaininfo(sim, domid) else {
            continue;
        };
        let flag = |b: bool, c: char| if b { c } else { '-' };
        let state: String = [
            flag(i.running, 'r'),
            flag(i.blocked, 'b'),
            flag(i.paused, 'p'),
            flag(i.shutdown, 's'),
            flag(i.crashed, 'c'),
            flag(i.dying, 'd'),
        ]
        .iter()
        .collect();
        rows.push(ListRow {
            name: v.cfg.name.clone(),
            id: domid,
            mem: i.mem_kib / 1024,
            vcpus: i.online_vcpus,
            state,
        });
    }
    rows
}

/// The guest domains of the host by name, as its toolstack names them:
/// xend's list, or, under xl, Xen's domains named from xenstore.
pub fn guest_domains(sim: &Sim) -> Vec<(String, u32)> {
    match sim.toolstack.get() {
        Some(Toolstack::Xl) => hypervisor::domctl::list_domains(sim)
            .into_iter()
            .filter(|i| i.domid != 0)
            .map(|i| {
                let name = sim
                    .xs
                    .borrow()
                    .peek(&format!("/local/domain/{}/name", i.domid))
                    .unwrap_or_else(|| "(null)".into());
                (name, i.domid)
            })
            .collect(),
        _ => xend_list(sim)
            .into_iter()
            .filter(|r| r.id != 0)
            .map(|r| (r.name, r.id))
            .collect(),
    }
}

/// A domain's state as scripts see it: "running", "paused", "shutdown",
/// "crashed", "dying" or "destroyed".
pub fn domain_state(sim: &Sim, domid: u32) -> &'static str {
    let xen = sim.xen.borrow();
    match xen.domain(domid) {
        None => "destroyed",
        Some(d) if d.is_dying != Dying::Alive => "dying",
        Some(d) if d.is_shut_down && d.shutdown_code == 3 => "crashed",
        Some(d) if d.is_shut_down => "shutdown",
        Some(d) if d.controller_pause_count > 0 => "paused",
        Some(_) => "running",
    }
}

/// The shutdown reason Xen latched, by name.
pub fn shutdown_reason(sim: &Sim, domid: u32) -> Option<&'static str> {
    let xen = sim.xen.borrow();
    let d = xen.domain(domid)?;
    if d.shutdown_code < 0 {
        return None;
    }
    Some(match d.shutdown_code {
        0 => "poweroff",
        1 => "reboot",
        2 => "suspend",
        3 => "crash",
        4 => "watchdog",
        _ => "unknown",
    })
}

/// `xm shutdown` of many domains at once (a benchmark's load, or a host
/// being emptied by a script): every command starts now; returns when all
/// have returned.
pub fn xm_shutdown_all(sim: &Sim, targets: &[String]) -> Result<(), String> {
    ensure_xend(sim)?;
    let left = Rc::new(std::cell::Cell::new(targets.len()));
    let failed: Rc<RefCell<Option<String>>> = Rc::new(RefCell::new(None));
    for t in targets {
        let ctx = xm::process_ctx(sim, "shutdown");
        let (s, t, l, f) = (sim.clone(), t.clone(), left.clone(), failed.clone());
        sim.spawn(ctx, async move {
            if let Err(e) = xm::shutdown(&s, t, "poweroff".into(), false).await {
                f.borrow_mut().get_or_insert(e);
            }
            l.set(l.get() - 1);
        });
    }
    let running = left.clone();
    match sim.run_while(move || running.get() > 0) {
        RunEnd::Aborted(m) => Err(m),
        _ => match failed.borrow_mut().take() {
            Some(e) => Err(e),
            None => Ok(()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A world's tasks and events hold handles to it: after the seed's
    /// shutdown, xend's threads, xenstored's and the backends' readers still
    /// wait. Disposing of the world lets go of all of them, so its memory
    /// is freed with its owner's handle.
    #[test]
    fn a_disposed_world_holds_no_handle_to_itself() {
        let sim = build(Config::default());
        let mut s = CreateSpec::new("ubuntu-kdump");
        s.devices = vec![("vif".into(), "0".into()), ("vbd".into(), "51712".into())];
        xm_create(&sim, &s).expect("create");
        xm_shutdown(&sim, "ubuntu-kdump", "poweroff", false).expect("shutdown");
        sim.run_until(None);
        assert!(sim.handles() > 1, "waiting tasks hold the world");
        sim.dispose();
        assert_eq!(sim.handles(), 1);
    }
}
