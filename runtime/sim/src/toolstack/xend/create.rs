//! `xm create` in xend (X xend/XendDomain.py:990-1020, XendDomainInfo.py:
//! 88-125, 467-491, 1737-1802, 2498-2860, 3411-3443; DevController.py:58-134):
//! the domain, its xenstore layout (reference §3.1), devices, device model
//! and watches — and the lines xend logs while doing it.

use crate::hypervisor::domctl::{self, DomainConfig, Domctl};
use crate::probe::Probe;
use crate::value::Value;
use crate::xenstore::join;
use crate::xenstore::{PermSet, Req};
use crate::Sim;

use super::devices::{forces, paths};
use super::lines::L;
use super::python::{acquire, release, xs_txn};
use super::watch::{xswatch, WatchCb};
use super::{log, DeviceSpec, Level, Vm, VmConfig, VmRef};

/// A fresh uuid from xend's random stream.
pub fn new_uuid(sim: &Sim) -> crate::uuid::Uuid {
    let mut x = sim.xend.borrow_mut();
    let a = x.rng.next_u64();
    let b = x.rng.next_u64();
    crate::uuid::Uuid::random(a, b)
}

/// The config as xend logs it, an s-expression in Python's list syntax:
/// written straight into the log line that shows it.
struct Sxp<'a>(&'a VmConfig);

impl std::fmt::Display for Sxp<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cfg = self.0;
        write!(
            f,
            "['vm', ['name', '{}'], ['memory', {}], ['on_poweroff', '{}'], ['on_reboot', '{}'], ['on_crash', '{}'], ['uuid', '{}'], ['vcpus', {}], ",
            cfg.name, cfg.memory, cfg.on_poweroff, cfg.on_reboot, cfg.on_crash, cfg.uuid, cfg.vcpus
        )?;
        if cfg.hvm {
            write!(
                f,
                "['image', ['hvm', ['kernel', '/usr/lib/xen/boot/hvmloader'], ['acpi', {}], ['xen_platform_pci', {}], ['device_model', '/usr/lib/xen/bin/qemu-dm']]]",
                cfg.acpi as u8, cfg.platform_pci as u8
            )?;
        } else {
            f.write_str("['image', ['linux', ['kernel', '/boot/vmlinuz']]]")?;
        }
        for d in &cfg.devices {
            write!(f, ", ['device', ['{}', ['devid', '{}']]]", d.class, d.devid)?;
        }
        f.write_str("]")
    }
}

fn perms(list: &[(u32, char)]) -> PermSet {
    list.to_vec()
}

/// A dict of strings as Python prints it, `{'k': 'v', ...}`, of the fields
/// `shown` keeps: written straight into the log line that shows it, with no
/// string built per entry.
struct PyDict<'a> {
    fields: &'a [(&'a str, String)],
    shown: fn(&str) -> bool,
}

impl std::fmt::Display for PyDict<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("{")?;
        let mut sep = "";
        for (k, v) in self.fields.iter().filter(|(k, _)| (self.shown)(k)) {
            f.write_str(sep)?;
            f.write_str("'")?;
            f.write_str(k)?;
            f.write_str("': '")?;
            f.write_str(v)?;
            f.write_str("'")?;
            sep = ", ";
        }
        f.write_str("}")
    }
}

/// XendDomain.domain_create → XendDomainInfo.create → start(), on an RPC thread.
pub async fn create_vm(sim: &Sim, cfg: VmConfig) -> Result<VmRef, String> {
    let s = sim.clone();
    let shown = cfg.name.clone();
    let out = std::rc::Rc::new(std::cell::RefCell::new(Err(String::new())));
    let o2 = out.clone();
    sim.call(
        Probe::XendDomainCreate,
        crate::stack::NO_DOM,
        move || vec![Value::str(&shown)],
        async move {
            let lock = s.xend.borrow().domains_lock;
            acquire(&s, lock).await;
            super::domain::refresh(&s, true).await;
            let r = create_locked(&s, cfg).await;
            release(&s, lock);
            *o2.borrow_mut() = r;
        },
    )
    .await;
    out.replace(Err(String::new()))
}

async fn create_locked(sim: &Sim, mut cfg: VmConfig) -> Result<VmRef, String> {
    if let Some(other) = super::domain::lookup_nr(sim, &cfg.name) {
        if let Some(id) = sim.xend.borrow().vm(other).domid {
            return Err(format!(
                "Domain '{}' already exists with ID '{id}'",
                cfg.name
            ));
        }
    }
    if cfg.uuid.is_nil() {
        cfg.uuid = new_uuid(sim);
    }
    // XendConfig.device_add: a vif gets randomMAC() if it has no mac, every
    // device a uuid; both live in the config, so a restart keeps them.
    for d in &mut cfg.devices {
        if &*d.class == "vif" && d.mac.is_none() {
            d.mac = Some(mac(sim));
        }
        if d.uuid.is_nil() {
            d.uuid = new_uuid(sim);
        }
    }
    log(
        sim,
        Level::Debug,
        L::CreateLog,
        format_args!("XendDomainInfo.create({})", Sxp(&cfg)),
    );
    let (rsl, start) = {
        let mut x = sim.xend.borrow_mut();
        let next = VmRef(x.vms.len() as u32);
        (x.interp.new_vm_lock(next), sim.wall_now())
    };
    let vm = {
        let mut x = sim.xend.borrow_mut();
        x.vms.push(Vm {
            vmpath: format!("/vm/{}", cfg.uuid),
            cfg,
            domid: None,
            dompath: None,
            image: None,
            refresh_shutdown_lock: rsl,
            shutdown_start: None,
            restart_in_progress: false,
            vm_watch: None,
            shutdown_watch: None,
            hide_watches: Vec::new(),
            start_time: start,
            state: "halted",
        });
        VmRef((x.vms.len() - 1) as u32)
    };
    start_vm(sim, vm).await?;
    Ok(vm)
}

/// `XendDomainInfo.start()`: construct, init, store details, watch.
async fn start_vm(sim: &Sim, vm: VmRef) -> Result<(), String> {
    let s = sim.clone();
    let out = std::rc::Rc::new(std::cell::RefCell::new(Ok(())));
    let o2 = out.clone();
    sim.call(
        Probe::XendInfoStart,
        crate::stack::NO_DOM,
        Vec::new,
        async move {
            *o2.borrow_mut() = start_body(&s, vm).await;
        },
    )
    .await;
    out.replace(Ok(()))
}

async fn start_body(sim: &Sim, vm: VmRef) -> Result<(), String> {
    let cfg = sim.xend.borrow().vm(vm).cfg.clone();
    // _constructDomain
    log(
        sim,
        Level::Debug,
        L::ConstructLog,
        "XendDomainInfo.constructDomain",
    );
    let domid = domctl::create_domain(
        sim,
        &DomainConfig {
            domid: cfg.domid,
            uuid: cfg.uuid,
            hvm: cfg.hvm,
            vcpus: cfg.vcpus,
            memory_mib: cfg.memory,
        },
    )?;
    // Created paused: xm create unpauses once the devices are up.
    domctl::do_domctl(sim, domid, Domctl::Pause).await;
    let dompath = crate::xenstore::local_domain(domid);
    {
        let mut x = sim.xend.borrow_mut();
        let v = x.vm_mut(vm);
        v.domid = Some(domid);
        v.dompath = Some(dompath.clone());
        x.track(domid, vm);
    }
    log(
        sim,
        Level::Debug,
        L::AddDomainLog,
        format_args!("Adding Domain: {domid}"),
    );
    // _introduceDomain, then _recreateDomFunc's directory with its permissions.
    crate::dom0::xenstored::introduce_domain(sim, domid);
    const DIRS: [&str; 7] = [
        "device", "control", "error", "memory", "guest", "hvmpv", "data",
    ];
    // Sized up front, as every request list below: a transaction's
    // requests are many and pushing would move them several times.
    let mut reqs = Vec::with_capacity(2 + 2 * DIRS.len());
    reqs.push(Req::Write(dompath.clone(), String::new()));
    reqs.push(Req::SetPerms(
        dompath.clone(),
        perms(&[(0, 'n'), (domid, 'r')]),
    ));
    for d in DIRS {
        let p = join(&dompath, d);
        reqs.push(Req::Mkdir(p.clone()));
        reqs.push(Req::SetPerms(p, perms(&[(domid, 'n')])));
    }
    xs_txn(sim, reqs).await;
    // _initDomain
    log(
        sim,
        Level::Debug,
        L::InitDomainLog,
        format_args!("XendDomainInfo.initDomain: {domid} 256"),
    );
    for d in &cfg.devices {
        create_device(sim, vm, domid, d).await;
    }
    if cfg.hvm {
        super::image::create_device_model(sim, vm).await;
    }
    store_vm_details(sim, vm, true).await;
    store_dom_details(sim, vm, domid).await;
    super::info::register_watches(sim, vm).await;
    if sim.profile().is_ovm() {
        // Oracle's hide-devices watch, one per qemu-dm managed device backend.
        for d in cfg
            .devices
            .iter()
            .filter(|d| forces(&d.class) && &*d.class != "pci")
        {
            let (_, back) = paths(domid, &d.class, &d.devid);
            let t = xswatch(sim, &back, WatchCb::HideDevices(vm)).await;
            sim.xend.borrow_mut().vm_mut(vm).hide_watches.push(t);
        }
    }
    super::info::refresh_shutdown(sim, vm, None).await;
    Ok(())
}

fn mac(sim: &Sim) -> String {
    let r = sim.xend.borrow_mut().rng.next_u64();
    format!(
        "00:16:3e:{:02x}:{:02x}:{:02x}",
        (r >> 16) as u8 & 0x7f,
        (r >> 8) as u8,
        r as u8
    )
}

/// `createDevice`: frontend, backend and `/vm` device entries.
async fn create_device(sim: &Sim, vm: VmRef, domid: u32, d: &DeviceSpec) {
    let (class, devid, uuid) = (&*d.class, &*d.devid, d.uuid);
    let (front, back) = paths(domid, class, devid);
    let (name, vdev) = {
        let x = sim.xend.borrow();
        let v = x.vm(vm);
        let vdev = [&v.vmpath, "/device/", class, "/", devid].concat();
        (v.cfg.name.clone(), vdev)
    };
    let mut fdetails: Vec<(&str, String)> = vec![
        ("backend", back.clone()),
        ("backend-id", "0".into()),
        ("state", "1".into()),
    ];
    let mut bdetails: Vec<(&str, String)> = vec![
        ("domain", name),
        ("frontend", front.clone()),
        ("frontend-id", domid.to_string()),
        ("state", "1".into()),
        ("online", "1".into()),
    ];
    let conf = match class {
        "vif" => {
            let m = d.mac.clone().unwrap_or_default();
            fdetails.push(("handle", devid.into()));
            fdetails.push(("mac", m.clone()));
            bdetails.extend([
                ("script", "/etc/xen/scripts/vif-bridge".into()),
                ("mac", m.clone()),
                ("bridge", "xenbr0".into()),
                ("handle", devid.into()),
                ("type", "vif".into()),
            ]);
            format!(
                "{{'bridge': 'xenbr0', 'mac': '{m}', 'type': 'netfront', 'uuid': '{}'}}",
                uuid
            )
        }
        "vbd" => {
            let img = format!("/OVS/Repositories/0004fb0000030000/VirtualDisks/{devid}.img");
            fdetails.push(("virtual-device", devid.into()));
            fdetails.push(("device-type", "disk".into()));
            bdetails.extend([
                ("params", img.clone()),
                ("type", "file".into()),
                ("mode", "w".into()),
                ("dev", "xvda".into()),
            ]);
            format!(
                "{{'uname': 'file:{img}', 'dev': 'xvda', 'mode': 'w', 'uuid': '{}'}}",
                uuid
            )
        }
        "vfb" => {
            bdetails.extend([
                ("vnc", "1".into()),
                ("vnclisten", "0.0.0.0".into()),
                ("type", "vnc".into()),
            ]);
            format!("{{'vncunused': 1, 'type': 'vnc', 'uuid': '{}'}}", uuid)
        }
        "console" => {
            bdetails.extend([("protocol", "vt100".into()), ("location", "0".into())]);
            format!(
                "{{'protocol': 'vt100', 'location': '0', 'uuid': '{}'}}",
                uuid
            )
        }
        _ => format!("{{'uuid': '{}'}}", uuid),
    };
    log(
        sim,
        Level::Info,
        L::CreateDeviceLog,
        format_args!("createDevice: {class} : {conf}"),
    );
    let mut reqs = Vec::with_capacity(fdetails.len() + bdetails.len() + 8);
    reqs.push(Req::Write(front.clone(), String::new()));
    reqs.push(Req::SetPerms(
        front.clone(),
        perms(&[(domid, 'n'), (0, 'r')]),
    ));
    for (k, v) in fdetails {
        reqs.push(Req::Write(join(&front, k), v));
    }
    reqs.push(Req::Write(back.clone(), String::new()));
    reqs.push(Req::SetPerms(
        back.clone(),
        perms(&[(0, 'n'), (domid, 'r')]),
    ));
    for (k, v) in bdetails {
        reqs.push(Req::Write(join(&back, k), v));
    }
    for (k, v) in [
        ("backend", back),
        ("backend-id", "0".into()),
        ("frontend", front),
        ("frontend-id", domid.to_string()),
    ] {
        reqs.push(Req::Write(join(&vdev, k), v));
    }
    xs_txn(sim, reqs).await;
}

/// `_storeVmDetails`: the `/vm/<uuid>` record.
pub async fn store_vm_details(sim: &Sim, vm: VmRef, log_it: bool) {
    // The values are read from the record in place: each becomes a
    // request's own string anyway.
    let (vp, domid, fields) = {
        let x = sim.xend.borrow();
        let v = x.vm(vm);
        let (cfg, start) = (&v.cfg, v.start_time);
        let image = if cfg.hvm {
            "(hvm (kernel /usr/lib/xen/boot/hvmloader) (device_model /usr/lib/xen/bin/qemu-dm))"
        } else {
            "(linux (kernel /boot/vmlinuz))"
        };
        let fields: Vec<(&str, String)> = vec![
            ("uuid", cfg.uuid.to_string()),
            ("on_reboot", String::from(&*cfg.on_reboot)),
            ("start_time", format!("{start:.2}")),
            ("on_poweroff", String::from(&*cfg.on_poweroff)),
            ("bootloader_args", String::new()),
            ("on_xend_start", "ignore".into()),
            ("on_crash", String::from(&*cfg.on_crash)),
            ("xend/restart_count", "0".into()),
            ("vcpus", cfg.vcpus.to_string()),
            ("vcpu_avail", ((1u64 << cfg.vcpus.min(63)) - 1).to_string()),
            ("bootloader", String::new()),
            ("image", image.into()),
            ("on_xend_stop", "ignore".into()),
            ("name", cfg.name.clone()),
            ("memory", cfg.memory.to_string()),
            ("maxmem", cfg.memory.to_string()),
            ("shadow_memory", "9".into()),
            ("pool_name", "Pool-0".into()),
            ("rtc/timeoffset", "0".into()),
        ];
        (v.vmpath.clone(), v.domid, fields)
    };
    if log_it {
        let shown = PyDict {
            fields: &fields,
            shown: |k| !k.contains('/'),
        };
        log(
            sim,
            Level::Debug,
            L::StoreVmLog,
            format_args!("Storing VM details: {shown}"),
        );
    }
    let mut reqs = Vec::with_capacity(fields.len() + 1);
    reqs.extend(fields.into_iter().map(|(k, v)| Req::Write(join(&vp, k), v)));
    // `SetPermissions('%s/uuid' % self.vmpath, {'dom': self.domid, 'read':
    // True})`: the domid the domain was given, pinned in the config or not
    // (reference §3.2; XendDomainInfo.py:3436-3443).
    reqs.push(Req::SetPerms(
        join(&vp, "uuid"),
        perms(&[(0, 'n'), (domid.unwrap_or(0), 'r')]),
    ));
    xs_txn(sim, reqs).await;
}

/// `_storeDomDetails`: `/local/domain/<id>`'s keys.
async fn store_dom_details(sim: &Sim, vm: VmRef, domid: u32) {
    let dp = crate::xenstore::local_domain(domid);
    let (vcpus, fields) = {
        let x = sim.xend.borrow();
        let v = x.vm(vm);
        let fields: Vec<(&str, String)> = vec![
            ("console/port", "2".into()),
            ("description", String::new()),
            ("console/limit", "1048576".into()),
            ("store/port", "1".into()),
            ("vm", v.vmpath.clone()),
            ("domid", domid.to_string()),
            ("image/suspend-cancel", "1".into()),
            ("cpu/0/availability", "online".into()),
            ("memory/target", (v.cfg.memory * 1024).to_string()),
            (
                "control/platform-feature-multiprocessor-suspend",
                "1".into(),
            ),
            ("store/ring-ref", "1044476".into()),
            ("console/type", "ioemu".into()),
            ("name", v.cfg.name.clone()),
        ];
        (v.cfg.vcpus, fields)
    };
    let shown = PyDict {
        fields: &fields,
        shown: |_| true,
    };
    log(
        sim,
        Level::Debug,
        L::StoreDomLog,
        format_args!("Storing domain details: {shown}"),
    );
    let mut reqs = Vec::with_capacity(fields.len() + vcpus as usize);
    reqs.extend(fields.into_iter().map(|(k, v)| Req::Write(join(&dp, k), v)));
    for v in 1..vcpus {
        let cpu = [&dp, "/cpu/", itoa::Buffer::new().format(v), "/availability"].concat();
        reqs.push(Req::Write(cpu, "online".into()));
    }
    reqs.push(Req::Write(
        join(&dp, "control/platform-feature-xs_reset_watches"),
        "1".into(),
    ));
    xs_txn(sim, reqs).await;
}

/// xm create's last RPC: `unpause`.
pub async fn unpause(sim: &Sim, vm: VmRef) {
    let domid = sim.xend.borrow().vm(vm).domid;
    if let Some(d) = domid {
        domctl::do_domctl(sim, d, Domctl::Unpause).await;
    }
}
