//! What `xm create` leaves running in the guest: the state a long-running
//! Ubuntu 16.04 PVHVM guest is in when someone types `xm shutdown`.
//! Boot itself is not simulated step by step; the parts the shutdown path
//! depends on are set up by the mechanisms that set them up on a real boot.

use crate::xenstore::join;
use std::rc::Rc;

use crate::hypervisor::{self, param};
use crate::probe::Layer;
use crate::rng::Rng;
use crate::xenstore::{xs_request, ConnId, Req};
use crate::Sim;

use super::profile::{GuestProfile, InitKind};
use super::xenbus::{OTHEREND_PREFIX, SHUTDOWN_TOKEN, SYSRQ_TOKEN};
use super::{level, printk, Frontend, Guest, GuestKind, PowerOff, ShuttingDown, SystemState};

/// How a guest is configured.
#[derive(Clone, Debug)]
pub struct GuestSetup {
    /// The domain.
    pub domid: u32,
    /// Its name.
    pub name: String,
    /// The distribution.
    pub profile: &'static GuestProfile,
    /// HVM or PV.
    pub kind: GuestKind,
    /// A Xen-aware kernel.
    pub pv_drivers: bool,
    /// The platform PCI device (xen_platform_pci).
    pub platform_pci: bool,
    /// ACPI tables.
    pub acpi: bool,
    /// vCPUs.
    pub vcpus: u32,
    /// Frontends: (nodename relative to the domain, backend path), in xenstore order.
    pub frontends: Vec<(String, String)>,
    /// The guest's xenstore connection.
    pub conn: ConnId,
}

/// Registers the guest's state (before its boot task runs).
pub fn create(sim: &Sim, s: &GuestSetup) {
    let seed = sim.cfg().seed;
    let mut rng = Rng::substream(seed, &format!("guest/{}", s.domid));
    let (lo, hi) = s.profile.uptime_s;
    let uptime0 = (lo + rng.below(hi - lo)) * 1_000_000_000 + rng.below(1_000_000_000);
    let files = vec![
        "/sbin/poweroff",
        "/sbin/halt",
        "/sbin/reboot",
        "/sbin/shutdown",
        "/bin/systemctl",
    ];
    let pm = if s.kind == GuestKind::Hvm && s.acpi {
        PowerOff::Symbol("acpi_power_off")
    } else {
        PowerOff::Null
    };
    let g = Guest {
        domid: s.domid,
        console: super::console_file(&s.name).into(),
        profile: s.profile,
        kind: s.kind,
        pv_drivers: s.pv_drivers || s.kind == GuestKind::Pv,
        platform_pci: s.platform_pci,
        acpi: s.acpi && s.kind == GuestKind::Hvm,
        system_state: SystemState::Booting,
        shutting_down: ShuttingDown::Invalid,
        pm_power_off: pm,
        poweroff_cmd: "/sbin/poweroff".into(),
        files,
        init_hangs: false,
        cad_enabled: s.profile.init != InitKind::Systemd,
        conn: None,
        frontends: Default::default(),
        vcpus: s.vcpus,
        uptime0,
        xenwatch_ctx: None,
        pid1_ctx: None,
        pid1_queue: Default::default(),
        pid1_waiter: None,
        sysrq_mask: s.profile.sysrq_mask,
        next_pid: 1200 + rng.below(800) as u32,
        next_kworker: 1,
        running_units: (0..s.profile.units.len() as u16).collect(),
        poweroff_force: false,
        rng,
        cad_times: Vec::new(),
        tasks: Vec::new(),
    };
    sim.guests.borrow_mut().by_dom.insert(s.domid, Box::new(g));
}

/// Does a frontend class have a driver in this kernel (and so a device)?
fn has_driver(class: &str, devid: &str) -> bool {
    match class {
        "vif" | "vbd" | "vkbd" | "vfb" => true,
        // hvc_xen's frontend skips console 0: that one is the HVM console.
        "console" => devid != "0",
        _ => false,
    }
}

/// The boot: event delivery, ACPI, xenbus and its watches, frontends, init.
pub async fn boot(sim: Sim, setup: GuestSetup) {
    let domid = setup.domid;
    let xen_aware = setup.pv_drivers || setup.kind == GuestKind::Pv;
    if setup.kind == GuestKind::Hvm && xen_aware {
        // xen_callback_vector(): HVM_PARAM_CALLBACK_IRQ = via vector 0xf3.
        hypervisor::domctl::hvm_set_param(&sim, domid, param::CALLBACK_IRQ, (2u64 << 56) | 0xf3);
        printk(
            &sim,
            domid,
            level::INFO,
            "xen:events: Xen HVM callback vector for event delivery is enabled",
        );
    }
    let acpi = sim.guests.borrow().get(domid).is_some_and(|g| g.acpi);
    if acpi {
        // The fixed-feature power button: installing its handler sets PWRBTN_EN.
        hypervisor::guest_port_io(&sim, domid, 0, 0xb002, 2, hypervisor::hvm::PWRBTN as u64).await;
        let handler: hypervisor::DomCallback =
            Rc::new(move |sim: &Sim, hop| power_button_sci(sim, domid, hop));
        if let Some(d) = sim.xen.borrow_mut().domain_mut(domid) {
            d.sci_handler = Some(handler);
        }
        printk(&sim, domid, level::INFO, "ACPI: (supports S0 S5)");
    }
    // HVM guests reach xenstore only through the platform PCI device.
    let xenbus = setup.kind == GuestKind::Pv || (xen_aware && setup.platform_pci);
    if xenbus {
        if let Some(g) = sim.guests.borrow_mut().get_mut(domid) {
            g.conn = Some(setup.conn);
        }
        let ctx = super::new_task_ctx(&sim, domid, "xenwatch");
        if let Some(g) = sim.guests.borrow_mut().get_mut(domid) {
            g.xenwatch_ctx = Some(ctx);
        }
        super::spawn(
            &sim,
            domid,
            ctx,
            super::xenbus::xenwatch_thread(sim.clone(), domid),
        );
        let conn = setup.conn;
        let token = sim.guests.borrow_mut().strs.get(SHUTDOWN_TOKEN);
        let _ = xs_request(
            &sim,
            conn,
            None,
            Req::Watch("control/shutdown".into(), token),
        )
        .await;
        let token = sim.guests.borrow_mut().strs.get(SYSRQ_TOKEN);
        let _ = xs_request(&sim, conn, None, Req::Watch("control/sysrq".into(), token)).await;
        for (node, backend) in &setup.frontends {
            let mut parts = node.split('/').skip(1);
            let (class, devid) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            if !has_driver(class, devid) {
                continue;
            }
            let nodename = sim.guests.borrow_mut().strs.get(node);
            if let Some(g) = sim.guests.borrow_mut().get_mut(domid) {
                g.frontends.insert(Frontend {
                    nodename,
                    backend: backend.clone(),
                    state: 3,
                    down_done: false,
                    closing_waiter: None,
                });
            }
            let token = sim
                .guests
                .borrow_mut()
                .strs
                .get(&[OTHEREND_PREFIX, node].concat());
            let _ = xs_request(
                &sim,
                conn,
                None,
                Req::Watch(join(backend, "state").into(), token),
            )
            .await;
            // Initialised: the backend answers Connected when it can serve us.
            let _ = xs_request(
                &sim,
                conn,
                None,
                Req::Write(join(node, "state"), "3".into()),
            )
            .await;
        }
    }
    if let Some(g) = sim.guests.borrow_mut().get_mut(domid) {
        g.system_state = SystemState::Running;
    }
    let init = sim.guests.borrow().get(domid).map(|g| g.profile.init);
    if init == Some(InitKind::Systemd) {
        let ctx = sim.new_ctx("systemd (PID 1)", Layer::Guest, domid);
        if let Some(g) = sim.guests.borrow_mut().get_mut(domid) {
            g.pid1_ctx = Some(ctx);
        }
        super::spawn(&sim, domid, ctx, super::init::pid1_main(sim.clone(), domid));
    }
}

/// The SCI with PWRBTN_STS: the ACPI driver's fixed event, deferred to a
/// notify work item → `acpi_button_notify` → KEY_POWER → logind.
fn power_button_sci(sim: &Sim, domid: u32, sci: Option<crate::stack::HopId>) {
    if !super::runnable(sim, domid) {
        return;
    }
    let ctx = super::new_task_ctx(sim, domid, "kacpi_notify");
    sim.adopt(ctx, sci);
    let s = sim.clone();
    super::spawn(sim, domid, ctx, async move {
        // Acknowledge PWRBTN_STS (write 1 to clear).
        hypervisor::guest_port_io(&s, domid, 0, 0xb000, 2, hypervisor::hvm::PWRBTN as u64).await;
        let s2 = s.clone();
        s.call(
            crate::probe::Probe::GuestAcpiButtonNotify,
            domid,
            Vec::new,
            async move {
                // input_report_key(KEY_POWER): logind reads the event from
                // the "Power Button" input device's evdev node.
                let hop = s2.hop("input event KEY_POWER");
                let ctx = super::new_task_ctx(&s2, domid, "systemd-logind");
                s2.adopt(ctx, hop);
                let s3 = s2.clone();
                super::spawn(&s2, domid, ctx, async move {
                    super::init::logind_power_key(&s3, domid).await
                });
            },
        )
        .await;
    });
}
