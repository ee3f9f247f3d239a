//! udev and Xen's hotplug scripts (X tools/hotplug/Linux/xen-backend.rules,
//! vif-setup/vif-bridge, block, xen-hotplug-cleanup). Each `xenstore-*`
//! command a script runs is its own process and, for `xenstore-rm`, its own
//! transaction.

use crate::probe::{Layer, Probe};
use crate::time::SimDuration;
use crate::value::Value;
use crate::xenstore::join;
use crate::xenstore::{xs_request, ConnId, Req, Resp, XsErr};
use crate::Sim;

/// A kernel uevent for a backend device.
#[derive(Clone, Debug)]
pub struct Uevent {
    /// `add`, `online`, `offline`, `remove`.
    pub action: &'static str,
    /// The backend's absolute path.
    pub backend: String,
    /// Its class.
    pub class: &'static str,
    /// What raised it.
    pub hop: Option<crate::stack::HopId>,
}

/// The kernel raises a uevent; udevd picks it up.
pub fn queue_uevent(sim: &Sim, mut ev: Uevent) {
    ev.hop = sim.hop("kobject_uevent");
    let w = {
        let mut d = sim.dom0.borrow_mut();
        d.udev_queue.push_back(ev);
        d.udev_waiter.take()
    };
    if let Some(t) = w {
        sim.wake(t);
    }
}

/// udevd: runs the rules of each event, one worker per event.
pub async fn udevd(sim: Sim) {
    loop {
        let ev = sim.dom0.borrow_mut().udev_queue.pop_front();
        let Some(ev) = ev else {
            let s = sim.clone();
            sim.park(move |t| s.dom0.borrow_mut().udev_waiter = Some(t))
                .await;
            continue;
        };
        sim.sleep(SimDuration::millis(6)).await;
        let pid = super::next_pid(&sim);
        let ctx = sim.new_thread_ctx(
            ["udevd worker (pid ", itoa::Buffer::new().format(pid), ")"].concat(),
            Layer::Dom0,
            crate::stack::NO_DOM,
        );
        sim.adopt(ctx, ev.hop);
        let s = sim.clone();
        sim.spawn(ctx, async move { run_rules(&s, ev).await });
    }
}

async fn run_rules(sim: &Sim, ev: Uevent) {
    let s = sim.clone();
    let (action, backend) = (ev.action, ev.backend.clone());
    sim.call(
        Probe::Dom0UdevEvent,
        domid_of(&ev.backend),
        move || vec![Value::str(action), Value::str(&backend)],
        async move {
            // xen-hotplug-common.sh:17-22: a script udev runs (UDEV_CALL=1)
            // exits at once when libxl/disable_udev exists — libxl runs the
            // scripts itself. Without the node the read is part of the
            // script's start-up, already in its cost below.
            if udev_disabled(&s) {
                let c = xenstore_exec(&s).await;
                let _ = xs_request(&s, c, None, Req::Read("libxl/disable_udev".into())).await;
                return;
            }
            match (ev.class, ev.action) {
                ("vif", "online") | ("vif", "offline") => {
                    hotplug_script(&s, "vif-setup", ev.action, &ev.backend).await
                }
                ("vbd", a) => hotplug_script(&s, "block", a, &ev.backend).await,
                _ => {}
            }
            if ev.action == "remove" {
                xen_hotplug_cleanup(&s, ev.backend.clone()).await;
            }
        },
    )
    .await
}

/// Does `/local/domain/0/libxl/disable_udev` exist (libxl started with
/// `run_hotplug_scripts`)?
fn udev_disabled(sim: &Sim) -> bool {
    sim.xs
        .borrow()
        .exists_raw("/local/domain/0/libxl/disable_udev")
}

/// A hotplug script libxl forks itself (libxl_device.c:954-1048,
/// libxl_linux.c:142-232): `vif-bridge online|offline type_if=vif`,
/// `vif-bridge add|remove type_if=tap`, `block add|remove`. Returns the
/// script's exit status.
pub async fn libxl_script(sim: &Sim, script: &str, args: &[&'static str], backend: &str) -> i32 {
    let action = args.first().copied().unwrap_or("");
    let script: &'static str = match script {
        "vif-bridge" => "vif-bridge",
        "block" => "block",
        _ => "unknown",
    };
    let tap = args.get(1) == Some(&"type_if=tap");
    let s = sim.clone();
    let be = backend.to_string();
    let shown = be.clone();
    sim.call(
        Probe::Dom0HotplugScript,
        domid_of(backend),
        move || vec![Value::str(script), Value::str(action), Value::str(&shown)],
        async move {
            s.sleep(SimDuration::millis(8)).await;
            match (script, action) {
                // vif-bridge online: the port joins the bridge; `success`
                // (only for type_if=vif) tells the toolstack.
                ("vif-bridge", "online") if !tap => {
                    let c = xenstore_exec(&s).await;
                    let _ = xs_request(
                        &s,
                        c,
                        None,
                        Req::Write(join(&be, "hotplug-status"), "connected".into()),
                    )
                    .await;
                }
                ("block", "add") => {
                    let c = xenstore_exec(&s).await;
                    let _ = xs_request(
                        &s,
                        c,
                        None,
                        Req::Write(join(&be, "physical-device"), "fd:2".into()),
                    )
                    .await;
                    let c = xenstore_exec(&s).await;
                    let _ = xs_request(
                        &s,
                        c,
                        None,
                        Req::Write(join(&be, "hotplug-status"), "connected".into()),
                    )
                    .await;
                }
                // vif-bridge offline/remove: brctl delif, ifconfig down;
                // block remove of a phy: device: exit 0. Nothing in the store.
                _ => {}
            }
        },
    )
    .await;
    0
}

fn domid_of(backend: &str) -> u32 {
    crate::xenstore::components(backend)
        .nth(6)
        .and_then(|d| d.parse().ok())
        .unwrap_or(crate::stack::NO_DOM)
}

/// One `xenstore-*` process: exec, then its requests.
async fn xenstore_exec(sim: &Sim) -> ConnId {
    sim.sleep(SimDuration::millis(2)).await;
    sim.dom0.borrow().tools_conn
}

async fn hotplug_script(sim: &Sim, script: &'static str, action: &'static str, backend: &str) {
    let s = sim.clone();
    let be = backend.to_string();
    sim.call(
        Probe::Dom0HotplugScript,
        domid_of(backend),
        move || vec![Value::str(script), Value::str(action), Value::str(&be)],
        {
            let be = backend.to_string();
            async move {
                s.sleep(SimDuration::millis(8)).await;
                match (script, action) {
                    ("vif-setup", "online") | ("block", "add") => {
                        if script == "block" {
                            let c = xenstore_exec(&s).await;
                            let _ = xs_request(
                                &s,
                                c,
                                None,
                                Req::Write(join(&be, "physical-device"), "fd:2".into()),
                            )
                            .await;
                        }
                        let c = xenstore_exec(&s).await;
                        let _ = xs_request(
                            &s,
                            c,
                            None,
                            Req::Write(join(&be, "hotplug-status"), "connected".into()),
                        )
                        .await;
                    }
                    // vif-bridge offline: brctl delif, ifconfig down; block
                    // remove of a phy: device: nothing in the store.
                    _ => {}
                }
            }
        },
    )
    .await
}

async fn claim_block_lock(sim: &Sim) {
    loop {
        let me = sim.exec.current();
        let got = {
            let mut d = sim.dom0.borrow_mut();
            if d.block_lock.is_none() {
                d.block_lock = me;
                true
            } else {
                false
            }
        };
        if got {
            return;
        }
        let s = sim.clone();
        sim.park(move |t| s.dom0.borrow_mut().block_waiters.push_back(t))
            .await;
    }
}

fn release_block_lock(sim: &Sim) {
    let next = {
        let mut d = sim.dom0.borrow_mut();
        d.block_lock = None;
        d.block_waiters.pop_front()
    };
    if let Some(t) = next {
        sim.wake(t);
    }
}

/// `xenstore-rm -t PATH` in its own transaction: remove, then each parent
/// that is left empty with an empty value. Any failure aborts it all.
async fn xenstore_rm_tidy(sim: &Sim, path: &str) {
    let c = xenstore_exec(sim).await;
    loop {
        let Ok(Resp::Tx(tx)) = xs_request(sim, c, None, Req::TxStart).await else {
            return;
        };
        let mut ok = xs_request(sim, c, Some(tx), Req::Rm(path.to_string()))
            .await
            .is_ok();
        let mut p = path.to_string();
        while ok {
            let Some(i) = p.rfind('/') else { break };
            if i == 0 {
                break;
            }
            p.truncate(i);
            let empty_value = matches!(xs_request(sim, c, Some(tx), Req::Read(p.clone())).await, Ok(Resp::Value(v)) if v.is_empty());
            if !empty_value {
                break;
            }
            // xenstore_client.c `perform()`: `xs_directory` and a check of
            // its count — the only thing the tool reads of the reply.
            let empty_dir = matches!(xs_request(sim, c, Some(tx), Req::DirectoryCount(p.clone())).await, Ok(r) if r.is_empty_listing());
            if !empty_dir {
                break;
            }
            ok = xs_request(sim, c, Some(tx), Req::Rm(p.clone()))
                .await
                .is_ok();
        }
        match xs_request(sim, c, Some(tx), Req::TxEnd(ok)).await {
            Err(XsErr::EAGAIN) if ok => continue,
            _ => return,
        }
    }
}

/// xen-hotplug-cleanup for a backend: frontend, backend, `error/` and
/// `/vm/<uuid>/device/...` paths, under the "block" lock.
pub async fn xen_hotplug_cleanup(sim: &Sim, backend: String) {
    let s = sim.clone();
    let shown = backend.clone();
    let domid = domid_of(&backend);
    sim.call(
        Probe::Dom0HotplugCleanup,
        domid,
        move || vec![Value::str(&shown)],
        async move {
            claim_block_lock(&s).await;
            // XENBUS_PATH is backend/<class>/<domid>/<devid>, relative to dom0's home.
            let rel = backend.trim_start_matches("/local/domain/0/");
            let mut parts = rel.split('/').skip(1);
            let (class, domid_s, devid) = (
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
            );
            let c = xenstore_exec(&s).await;
            let vm = match xs_request(
                &s,
                c,
                None,
                Req::Read(["/local/domain/", domid_s, "/vm"].concat()),
            )
            .await
            {
                Ok(Resp::Value(v)) => v,
                _ => String::new(),
            };
            let mut vm_dev = String::new();
            if !vm.is_empty() {
                vm_dev = [&vm, "/device/", class, "/", devid].concat();
                let c = xenstore_exec(&s).await;
                if xs_request(&s, c, None, Req::Read(vm_dev.clone()))
                    .await
                    .is_err()
                    && class == "vbd"
                {
                    vm_dev = [&vm, "/device/tap2/", devid].concat();
                }
            }
            let c = xenstore_exec(&s).await;
            if let Ok(Resp::Value(front)) =
                xs_request(&s, c, None, Req::Read(join(rel, "frontend"))).await
            {
                xenstore_rm_tidy(&s, &front).await;
            }
            xenstore_rm_tidy(&s, &backend).await;
            xenstore_rm_tidy(&s, &["/local/domain/0/error/", rel].concat()).await;
            if !vm_dev.is_empty() {
                xenstore_rm_tidy(&s, &vm_dev).await;
            }
            release_block_lock(&s);
        },
    )
    .await
}
