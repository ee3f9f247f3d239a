//! `libxl_domain_create_new` (libxl_create.c:361-1403, libxl_dom.c:263-345):
//! the domain made and built, its xenstore homes, its disks, console and
//! vkbd, the device model, its nics — the state the shutdown path reads.
//! The stages run in order, each awaited in the process's event loop as the
//! AO's callbacks are in libxl.

use crate::hypervisor::domctl::{self, Domctl};
use crate::probe::Probe;
use crate::value::Value;
use crate::xenstore::join;
use crate::xenstore::Req;
use crate::Sim;

use super::cmd::{ERROR_FAIL, ERROR_INVAL};
use super::devices::{self, Action, MultidevCb};
use super::event;
use super::lines::L;
use super::log::{libxl_log, Level};
use super::{vdev_name, Device, DomainConfig, Kind};

/// `libxl_domain_create_new`: the new domid, or libxl's error.
pub async fn domain_create_new(sim: &Sim, pid: u32, mut cfg: DomainConfig) -> Result<u32, i32> {
    let s = sim.clone();
    let name = cfg.name.clone();
    let r: i64 = sim
        .call(
            Probe::LibxlDomainCreateNew,
            crate::stack::NO_DOM,
            move || vec![Value::str(&name)],
            async move {
                let ao = event::ao_create(&s, pid, L::CreateAoCreate);
                // The config names no uuid and no MACs: each creation gets
                // fresh ones (libxl__domain_create_info_setdefault,
                // libxl__device_nic_setdefault).
                cfg.uuid = s.xl.borrow_mut().new_uuid();
                let domid = match domain_make(&s, pid, &cfg).await {
                    Ok(d) => d,
                    Err(rc) => {
                        event::ao_complete(&s, pid, ao, rc).await;
                        return event::ao_inprogress(&s, pid, ao, L::CreateAoInprogress).await
                            as i64;
                    }
                };
                let rc = build_and_attach(&s, pid, domid, &cfg).await;
                if rc != 0 {
                    // domcreate_complete: a failed creation destroys the domain.
                    super::destroy::domain_destroy(&s, pid, domid).await;
                }
                event::ao_complete(&s, pid, ao, rc).await;
                let rc = event::ao_inprogress(&s, pid, ao, L::CreateAoInprogress).await;
                if rc != 0 {
                    return rc as i64;
                }
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

/// The stages after `libxl__domain_make`; libxl's rc.
async fn build_and_attach(sim: &Sim, pid: u32, domid: u32, cfg: &DomainConfig) -> i32 {
    domain_build(sim, pid, domid, cfg).await;
    // store_libxl_entry: /libxl/<id>/dm-version.
    let _ = event::xs(
        sim,
        pid,
        None,
        Req::Write(
            format!("/libxl/{domid}/dm-version"),
            cfg.dm_version.name().into(),
        ),
    )
    .await;
    let devs = cfg.devices(domid);
    // The disks, then the device model's turn.
    let disks: Vec<Device> = devs
        .iter()
        .filter(|d| d.kind == Kind::Vbd)
        .cloned()
        .collect();
    if add_all(sim, pid, cfg, &disks).await != 0 {
        libxl_log(
            sim,
            pid,
            Level::Error,
            L::CreateDisksFailLog,
            "unable to add disk devices",
        );
        return ERROR_FAIL;
    }
    // Console and vkbd (HVM: always; PV: the vfb pairs and console 0) are
    // written without waiting; qemu (or xenconsoled) serves them.
    for d in devs
        .iter()
        .filter(|d| matches!(d.kind, Kind::Console | Kind::Vkbd | Kind::Vfb))
    {
        let (back, front) = entries(sim, cfg, d);
        devices::generic_add(sim, pid, d, back, front).await;
    }
    if cfg.hvm && !super::dm::spawn_local_dm(sim, pid, domid, cfg).await {
        libxl_log(
            sim,
            pid,
            Level::Error,
            L::CreateDmFailLog,
            &format!("device model did not start: {ERROR_FAIL}"),
        );
        return ERROR_FAIL;
    }
    let nics: Vec<Device> = devs
        .iter()
        .filter(|d| d.kind == Kind::Vif)
        .cloned()
        .collect();
    let rc = add_all(sim, pid, cfg, &nics).await;
    if rc != 0 {
        libxl_log(
            sim,
            pid,
            Level::Error,
            L::CreateNicsFailLog,
            "unable to add nic devices",
        );
    }
    rc
}

/// Adds devices as one multidev and waits for all of them.
async fn add_all(sim: &Sim, pid: u32, cfg: &DomainConfig, devs: &[Device]) -> i32 {
    let m = devices::multidev_begin(sim, pid, MultidevCb::Stage);
    for d in devs {
        let a = devices::multidev_prepare(sim, pid, m, Some(d.clone()), Action::Add, false);
        let (back, front) = entries(sim, cfg, d);
        devices::generic_add(sim, pid, d, back, front).await;
        devices::wait_device_connection(sim, pid, a).await;
    }
    devices::multidev_prepared(sim, pid, m, 0).await;
    event::loop_until(sim, pid, |s| devices::multidev_done(s, pid, m).is_some()).await;
    devices::multidev_done(sim, pid, m).unwrap_or(ERROR_FAIL)
}

/// Keys and values of a device's backend or frontend directory.
type Entries = Vec<(&'static str, String)>;

/// The backend and frontend entries libxl writes for a device
/// (libxl.c:2070-2180 disks, 2894-2990 nics, 3176-3330 console, vkb).
fn entries(sim: &Sim, cfg: &DomainConfig, d: &Device) -> (Entries, Entries) {
    let id = d.domid.to_string();
    match d.kind {
        Kind::Vif => {
            let mac = sim.xl.borrow_mut().new_mac();
            let ty = if cfg.hvm { "vif_ioemu" } else { "vif" };
            (
                vec![
                    ("frontend-id", id),
                    ("online", "1".into()),
                    ("state", "1".into()),
                    ("script", "/etc/xen/scripts/vif-bridge".into()),
                    ("mac", mac.clone()),
                    ("bridge", "xenbr0".into()),
                    ("handle", d.devid.to_string()),
                    ("type", ty.into()),
                ],
                vec![
                    ("backend-id", "0".into()),
                    ("state", "1".into()),
                    ("handle", d.devid.to_string()),
                    ("mac", mac),
                ],
            )
        }
        Kind::Vbd => (
            vec![
                ("frontend-id", id),
                ("online", "1".into()),
                ("removable", "0".into()),
                ("bootable", "1".into()),
                ("state", "1".into()),
                ("dev", vdev_name(d.devid)),
                ("type", "phy".into()),
                ("mode", "w".into()),
                ("device-type", "disk".into()),
                ("params", format!("/dev/vg0/{}-disk{}", cfg.name, d.devid)),
                ("script", "/etc/xen/scripts/block".into()),
            ],
            vec![
                ("backend-id", "0".into()),
                ("state", "1".into()),
                ("virtual-device", d.devid.to_string()),
                ("device-type", "disk".into()),
            ],
        ),
        Kind::Console => (
            vec![
                ("frontend-id", id),
                ("online", "1".into()),
                ("state", "1".into()),
                ("protocol", "vt100".into()),
            ],
            vec![
                ("backend-id", "0".into()),
                ("limit", "1048576".into()),
                ("type", if cfg.hvm { "ioemu" } else { "xenconsoled" }.into()),
                ("output", "pty".into()),
                ("tty", String::new()),
            ],
        ),
        Kind::Vkbd | Kind::Vfb => (
            vec![
                ("frontend-id", id),
                ("online", "1".into()),
                ("state", "1".into()),
                ("domain", cfg.name.clone()),
            ],
            vec![("backend-id", "0".into()), ("state", "1".into())],
        ),
    }
}

/// `libxl__domain_make` (libxl_create.c:440-643).
async fn domain_make(sim: &Sim, pid: u32, cfg: &DomainConfig) -> Result<u32, i32> {
    let s = sim.clone();
    let c = cfg.clone();
    let name = cfg.name.clone();
    let r: i64 = sim
        .call(
            Probe::LibxlDomainMake,
            crate::stack::NO_DOM,
            move || vec![Value::str(&name)],
            async move {
                // libxl__domain_rename refuses a name another domain has.
                for i in domctl::list_domains(&s) {
                    let n =
                        event::xs_read(&s, pid, None, &format!("/local/domain/{}/name", i.domid))
                            .await;
                    if n.as_deref() == Some(c.name.as_str()) {
                        libxl_log(
                            &s,
                            pid,
                            Level::Error,
                            L::RenameExistsLog,
                            &format!("domain with name \"{}\" already exists.", c.name),
                        );
                        return ERROR_INVAL as i64;
                    }
                }
                let domid = match domctl::create_domain(
                    &s,
                    &domctl::DomainConfig {
                        domid: c.domid,
                        uuid: c.uuid,
                        hvm: c.hvm,
                        vcpus: c.vcpus,
                        memory_mib: c.memory,
                    },
                ) {
                    Ok(d) => d,
                    Err(e) => {
                        let _ = e;
                        super::log::log_errno(
                            &s,
                            pid,
                            Level::Error,
                            L::CreateFailLog,
                            "domain creation fail",
                            Some("File exists"),
                        );
                        return ERROR_FAIL as i64;
                    }
                };
                // Xen creates every domain paused by its controller
                // (xen/common/domain.c:267-268); libxl unpauses at the end.
                domctl::do_domctl(&s, domid, Domctl::Pause).await;
                let dom = format!("/local/domain/{domid}");
                let vm = format!("/vm/{}", c.uuid);
                let lib = format!("/libxl/{domid}");
                let ro = vec![(0, 'n'), (domid, 'r')];
                let rw = vec![(domid, 'n')];
                let mut reqs = vec![
                    Req::Rm(dom.clone()),
                    Req::Mkdir(dom.clone()),
                    Req::SetPerms(dom.clone(), ro.clone()),
                    Req::Rm(vm.clone()),
                    Req::Mkdir(vm.clone()),
                    Req::SetPerms(vm.clone(), ro.clone()),
                    Req::Rm(lib.clone()),
                    Req::Mkdir(lib.clone()),
                    Req::SetPerms(lib, vec![(0, 'n')]),
                    Req::Write(join(&dom, "vm"), vm.clone()),
                    Req::Write(join(&dom, "name"), c.name.clone()),
                ];
                let mut dirs = vec!["cpu", "memory", "device", "control"];
                if c.hvm {
                    dirs.push("hvmloader");
                }
                for d in dirs {
                    reqs.push(Req::Mkdir(join(&dom, d)));
                    reqs.push(Req::SetPerms(join(&dom, d), ro.clone()));
                }
                let mut rwdirs = vec!["control/shutdown", "device/suspend/event-channel", "data"];
                if c.hvm {
                    rwdirs.push("hvmloader/generation-id-address");
                }
                for d in rwdirs {
                    reqs.push(Req::Mkdir(join(&dom, d)));
                    reqs.push(Req::SetPerms(join(&dom, d), rw.clone()));
                }
                // run_hotplug_scripts: libxl runs them, udev's must not.
                let hotplug = s.xl.borrow().opts.run_hotplug_scripts;
                reqs.push(if hotplug {
                    Req::Write("libxl/disable_udev".into(), "1".into())
                } else {
                    Req::Rm("libxl/disable_udev".into())
                });
                reqs.push(Req::Write(join(&vm, "uuid"), c.uuid.to_string()));
                reqs.push(Req::Write(join(&vm, "name"), c.name.clone()));
                reqs.push(Req::Write(
                    join(&dom, "control/platform-feature-multiprocessor-suspend"),
                    "1".into(),
                ));
                reqs.push(Req::Write(
                    join(&dom, "control/platform-feature-xs_reset_watches"),
                    "1".into(),
                ));
                event::txn(&s, pid, reqs).await;
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

/// `libxl__domain_build` → `libxl__build_hvm`/`_pv` → `libxl__build_post`
/// (libxl_dom.c:263-345): the domain's entries, then `xs_introduce_domain`.
async fn domain_build(sim: &Sim, pid: u32, domid: u32, cfg: &DomainConfig) {
    let s = sim.clone();
    let c = cfg.clone();
    sim.call(
        Probe::LibxlDomainBuild,
        domid,
        move || vec![Value::Int(domid as i64)],
        async move {
            let dom = format!("/local/domain/{domid}");
            let kib = c.memory * 1024;
            let mut reqs = vec![
                Req::Write(join(&dom, "memory/static-max"), kib.to_string()),
                Req::Write(join(&dom, "memory/target"), kib.to_string()),
                Req::Write(
                    join(&dom, "memory/videoram"),
                    if c.hvm { "8192" } else { "0" }.into(),
                ),
                Req::Write(join(&dom, "domid"), domid.to_string()),
                Req::Write(join(&dom, "store/port"), "1".into()),
                Req::Write(join(&dom, "store/ring-ref"), "1044476".into()),
            ];
            for v in 0..c.vcpus {
                reqs.push(Req::Write(
                    format!("{dom}/cpu/{v}/availability"),
                    "online".into(),
                ));
            }
            event::txn(&s, pid, reqs).await;
            crate::dom0::xenstored::introduce_domain(&s, domid);
        },
    )
    .await
}

/// `libxl_domain_unpause` (libxl.c:838-868).
pub async fn domain_unpause(sim: &Sim, pid: u32, domid: u32) {
    let s = sim.clone();
    sim.call(
        Probe::LibxlDomainUnpause,
        domid,
        move || vec![Value::Int(domid as i64)],
        async move {
            let rc = domctl::do_domctl(&s, domid, Domctl::Unpause).await;
            if rc < 0 {
                super::log::log_errno(
                    &s,
                    pid,
                    Level::Error,
                    L::UnpauseFailedLog,
                    &format!("unpausing domain {domid}"),
                    Some(super::death::strerror(rc)),
                );
                return ERROR_FAIL as i64;
            }
            0
        },
    )
    .await;
}

/// `libxl_domain_preserve` (libxl.c:452-515): the dead domain takes a new
/// name and uuid and stays as it is.
pub async fn domain_preserve(sim: &Sim, pid: u32, domid: u32, new_name: &str) -> bool {
    let uuid = sim.xl.borrow_mut().new_uuid();
    let dom = format!("/local/domain/{domid}");
    let old_vm = event::xs_read(sim, pid, None, &join(&dom, "vm")).await;
    let vm = format!("/vm/{uuid}");
    let mut reqs = vec![
        Req::Rm(vm.clone()),
        Req::Mkdir(vm.clone()),
        Req::Write(join(&dom, "vm"), vm.clone()),
        Req::Write(join(&dom, "name"), new_name.to_string()),
        Req::Write(join(&vm, "uuid"), uuid.to_string()),
        Req::Write(join(&vm, "name"), new_name.to_string()),
    ];
    if let Some(old) = old_vm {
        reqs.push(Req::Rm(old));
    }
    event::txn(sim, pid, reqs).await;
    // The dead domain no longer belongs to this config.
    sim.xl.borrow_mut().domains.remove(&domid);
    true
}
