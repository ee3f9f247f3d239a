//! xend's start-up (SrvServer → XendDomain.init): its xenstore connection,
//! the Watcher thread, `/vm`, the `@introduceDomain`/`@releaseDomain`
//! watches, and Domain-0's XendDomainInfo.

use crate::xenstore::{Req, Sink};
use crate::Sim;

use super::lines::ThreadKind;
use super::python::{start_thread, xs_txn};
use super::watch::{start_watcher, xswatch, WatchCb};
use super::{Vm, VmConfig, VmRef};

/// Starts xend (as `xend start` at boot).
pub fn start(sim: &Sim) {
    // XendLogging.init, early in xend's start, opens /var/log/xen/xend.log
    // (a RotatingFileHandler creates the file then): a host whose xend
    // started has the file even before its first record.
    sim.logs.borrow_mut().xend.open();
    let conn = sim.xs.borrow_mut().connect(0, false, "xend", Sink::Queue);
    sim.xend.borrow_mut().conn = conn;
    let rsl = {
        let mut x = sim.xend.borrow_mut();
        let next = VmRef(x.vms.len() as u32);
        x.interp.new_vm_lock(next)
    };
    let dom0 = {
        let mut x = sim.xend.borrow_mut();
        x.vms.push(Vm {
            cfg: VmConfig {
                name: "Domain-0".into(),
                uuid: crate::uuid::Uuid::NIL,
                hvm: false,
                guest: "".into(),
                vcpus: 1,
                memory: 2048,
                devices: Vec::new(),
                on_poweroff: "destroy".into(),
                on_reboot: "restart".into(),
                on_crash: "restart".into(),
                pv_drivers: true,
                platform_pci: false,
                acpi: false,
                domid: Some(0),
            },
            domid: Some(0),
            vmpath: "/vm/00000000-0000-0000-0000-000000000000".into(),
            dompath: Some("/local/domain/0".into()),
            image: None,
            refresh_shutdown_lock: rsl,
            shutdown_start: None,
            restart_in_progress: false,
            vm_watch: None,
            shutdown_watch: None,
            hide_watches: Vec::new(),
            start_time: 0.0,
            state: "running",
        });
        let r = VmRef((x.vms.len() - 1) as u32);
        x.track(0, r);
        r
    };
    let _ = dom0;
    start_watcher(sim);
    let s = sim.clone();
    start_thread(sim, ThreadKind::Main, "MainThread", move || async move {
        xs_txn(
            &s,
            vec![
                Req::Mkdir("/vm".into()),
                Req::SetPerms("/vm".into(), vec![(0, 'n')]),
            ],
        )
        .await;
        xswatch(&s, "@introduceDomain", WatchCb::DomainsChanged).await;
        xswatch(&s, "@releaseDomain", WatchCb::DomainsChanged).await;
        s.xend.borrow_mut().started = true;
    });
}
