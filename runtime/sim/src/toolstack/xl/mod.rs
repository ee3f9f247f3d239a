//! xl and libxl, Xen 4.4.4's other toolstack and the only one from 4.5 on
//! (docs/reference-xl.md). There is no daemon: each `xl` command is a dom0
//! process with its own libxl context (a xenstore connection, watches,
//! timers, children) running libxl's single-threaded event loop, and a
//! daemonised `xl create` stays behind as the domain's monitor, writing
//! `xl-<name>.log`.
//!
//! - `lines.rs` — source lines of xl and libxl: log line locations, gdb frames;
//! - `log.rs` — libxl's `libxl: <level>: file:line:func:` lines, xl's `LOG`,
//!   each process's stderr;
//! - `proc.rs` — xl processes and libxl contexts; running a command;
//! - `event.rs` — libxl's event loop: watches, timers, children, events;
//! - `ao.rs` — asynchronous operations, blocking xenstore calls;
//! - `cmd.rs` — the commands: `create`, `shutdown`, `reboot`, `destroy`,
//!   `trigger`, `list`, and xl.c's xend check;
//! - `monitor.rs` — the daemonised `create_domain`: domain death, the
//!   on_* actions, restart;
//! - `death.rs` — libxl's domain-death events (`@releaseDomain`);
//! - `create.rs` — `libxl_domain_create_new`;
//! - `destroy.rs` — `libxl_domain_destroy`, `libxl__destroy_domid`;
//! - `aodev.rs` — device operations and their groups (`libxl__ao_device`);
//! - `devices.rs` — adding and removing devices;
//! - `hotplug.rs` — the hotplug scripts libxl runs itself;
//! - `dm.rs` — spawning and killing the device model.

pub mod ao;
pub mod aodev;
pub mod cmd;
pub mod create;
pub mod death;
pub mod destroy;
pub mod devices;
pub mod dm;
pub mod event;
pub mod hotplug;
pub mod lines;
pub mod log;
pub mod monitor;
pub mod proc;

use indexmap::IndexMap;

use crate::rng::Rng;

pub use proc::XlProc;

/// Which device model libxl starts for an HVM guest (`device_model_version`).
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
pub enum DmVersion {
    /// Upstream QEMU (qemu-xen), libxl's default in 4.4 (libxl_linux.c:278-281).
    #[default]
    QemuXen,
    /// qemu-dm (qemu-xen-traditional), what xend runs.
    Traditional,
}

impl DmVersion {
    /// The config value (`libxl_device_model_version_to_string`, lower case).
    pub fn name(self) -> &'static str {
        match self {
            DmVersion::QemuXen => "qemu-xen",
            DmVersion::Traditional => "qemu-xen-traditional",
        }
    }

    /// The version of a config value.
    pub fn parse(s: &str) -> Option<DmVersion> {
        match s {
            "qemu-xen" => Some(DmVersion::QemuXen),
            "qemu-xen-traditional" => Some(DmVersion::Traditional),
            _ => None,
        }
    }

    /// The binary libxl execs.
    pub fn path(self) -> &'static str {
        match self {
            DmVersion::QemuXen => "/usr/lib/xen/bin/qemu-system-i386",
            DmVersion::Traditional => "/usr/lib/xen/bin/qemu-dm",
        }
    }
}

/// A device kind of libxl (`libxl__device_kind`), as far as xsh models them.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Kind {
    /// A network interface (netback; `vif-bridge`).
    Vif,
    /// A disk (`phy`: blkback; the `block` script).
    Vbd,
    /// The paravirtual keyboard (qemu's backend).
    Vkbd,
    /// The paravirtual framebuffer (qemu's backend; PV guests only).
    Vfb,
    /// A console (xenconsoled or qemu; removed by xenstore alone).
    Console,
}

impl Kind {
    /// The xenstore name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Vif => "vif",
            Kind::Vbd => "vbd",
            Kind::Vkbd => "vkbd",
            Kind::Vfb => "vfb",
            Kind::Console => "console",
        }
    }

    /// The kind of a xenstore name.
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "vif" => Kind::Vif,
            "vbd" => Kind::Vbd,
            "vkbd" => Kind::Vkbd,
            "vfb" => Kind::Vfb,
            "console" => Kind::Console,
            _ => return None,
        })
    }

    /// `QEMU_BACKEND(dev)` (libxl_internal.h:389-392): served by the device model.
    pub fn qemu_backend(self) -> bool {
        matches!(self, Kind::Vkbd | Kind::Vfb)
    }
}

/// One device of a domain (`libxl__device`).
#[derive(Clone, Debug, PartialEq)]
pub struct Device {
    /// Its kind (frontend and backend kinds are the same here).
    pub kind: Kind,
    /// The frontend's domain.
    pub domid: u32,
    /// The device id.
    pub devid: u32,
}

impl Device {
    /// `libxl__device_frontend_path` (console 0 is `<dom>/console`).
    pub fn frontend_path(&self) -> String {
        if self.kind == Kind::Console && self.devid == 0 {
            return format!("/local/domain/{}/console", self.domid);
        }
        format!(
            "/local/domain/{}/device/{}/{}",
            self.domid,
            self.kind.name(),
            self.devid
        )
    }

    /// `libxl__device_backend_path` (dom0 backends).
    pub fn backend_path(&self) -> String {
        format!(
            "/local/domain/0/backend/{}/{}/{}",
            self.kind.name(),
            self.domid,
            self.devid
        )
    }
}

/// `libxl_domain_config`, reduced to what the shutdown path reads, and what
/// `xl create` was given (the same keys as `xm create` plus the device model).
#[derive(Clone, Debug)]
pub struct DomainConfig {
    /// `c_info.name`.
    pub name: String,
    /// `c_info.uuid` (fresh on every create, as xl generates none).
    pub uuid: crate::uuid::Uuid,
    /// HVM or PV.
    pub hvm: bool,
    /// The guest profile xsh boots.
    pub guest: String,
    /// A fixed domid (xsh's `id`; libxl itself takes the next free one).
    pub domid: Option<u32>,
    /// Disks (`vbd/<devid>`), in config order.
    pub disks: Vec<u32>,
    /// NICs (`vif/<devid>`); each creation gives them fresh MACs, as the
    /// config names none.
    pub nics: Vec<u32>,
    /// PV framebuffers (`vfb/<devid>`; HVM guests have none in libxl).
    pub vfbs: Vec<u32>,
    /// `on_poweroff`.
    pub on_poweroff: String,
    /// `on_reboot`.
    pub on_reboot: String,
    /// `on_crash`.
    pub on_crash: String,
    /// `on_watchdog`.
    pub on_watchdog: String,
    /// `device_model_version`.
    pub dm_version: DmVersion,
    /// A Xen-aware kernel.
    pub pv_drivers: bool,
    /// `xen_platform_pci`.
    pub platform_pci: bool,
    /// `acpi`.
    pub acpi: bool,
    /// vCPUs.
    pub vcpus: u32,
    /// Memory in MiB.
    pub memory: u64,
}

impl DomainConfig {
    /// The devices libxl creates for this config, in the order it writes
    /// them: disks, then (HVM) console 0 and vkbd 0 before the device model,
    /// or (PV) vfb/vkbd pairs and console 0; then the nics
    /// (libxl_create.c:1010-1031, 1041-1173, 1175-1216).
    pub fn devices(&self, domid: u32) -> Vec<Device> {
        let d = |kind, devid| Device { kind, domid, devid };
        let mut out: Vec<Device> = self.disks.iter().map(|&i| d(Kind::Vbd, i)).collect();
        if self.hvm {
            out.push(d(Kind::Console, 0));
            out.push(d(Kind::Vkbd, 0));
        } else {
            for &i in &self.vfbs {
                out.push(d(Kind::Vfb, i));
                out.push(d(Kind::Vkbd, i));
            }
            out.push(d(Kind::Console, 0));
        }
        out.extend(self.nics.iter().map(|&i| d(Kind::Vif, i)));
        out
    }

    /// The config file's text, as `libxl_userdata_store` keeps it.
    pub fn text(&self) -> String {
        let mut s = format!(
            "name = \"{}\"\nbuilder = \"{}\"\nmemory = {}\nvcpus = {}\n",
            self.name,
            if self.hvm { "hvm" } else { "generic" },
            self.memory,
            self.vcpus
        );
        if self.hvm {
            s.push_str(&format!(
                "device_model_version = \"{}\"\nacpi = {}\nxen_platform_pci = {}\n",
                self.dm_version.name(),
                self.acpi as u8,
                self.platform_pci as u8
            ));
        }
        let disks: Vec<String> = self
            .disks
            .iter()
            .map(|d| format!("'phy:/dev/vg0/{}-disk{d},{},w'", self.name, vdev_name(*d)))
            .collect();
        let vifs: Vec<String> = self
            .nics
            .iter()
            .map(|_| "'bridge=xenbr0'".to_string())
            .collect();
        s.push_str(&format!(
            "disk = [ {} ]\nvif = [ {} ]\n",
            disks.join(", "),
            vifs.join(", ")
        ));
        s.push_str(&format!(
            "on_poweroff = \"{}\"\non_reboot = \"{}\"\non_crash = \"{}\"\n",
            self.on_poweroff, self.on_reboot, self.on_crash
        ));
        s
    }
}

/// The Linux name of a xvd device number (`libxl__devid_to_localdev`).
pub fn vdev_name(devid: u32) -> String {
    let minor = devid & 0xff;
    let disk = minor / 16;
    let part = minor % 16;
    let letter = (b'a' + (disk % 26) as u8) as char;
    if part == 0 {
        format!("xvd{letter}")
    } else {
        format!("xvd{letter}{part}")
    }
}

/// Settings of xl (the global options and `/etc/xen/xl.conf`).
#[derive(Clone, Debug)]
pub struct XlOptions {
    /// How many `-v` every command gets (3 prints libxl's debug lines).
    pub verbose: u8,
    /// `run_hotplug_scripts` (xl.conf; 1 by default, xl.c:43).
    pub run_hotplug_scripts: bool,
}

impl Default for XlOptions {
    fn default() -> Self {
        XlOptions {
            verbose: 0,
            run_hotplug_scripts: true,
        }
    }
}

/// xl's state on the host: its processes, the domains libxl created (the
/// `xl` userdata each keeps), the last command's terminal output.
pub struct Xl {
    /// Options.
    pub opts: XlOptions,
    /// Live xl processes by pid.
    pub procs: IndexMap<u32, XlProc>,
    /// The config each domain was created with, by domid
    /// (`libxl_userdata_store(..., "xl", ...)`).
    pub domains: std::collections::BTreeMap<u32, DomainConfig>,
    /// The monitor's pid of each domain name, while it runs.
    pub monitors: std::collections::BTreeMap<String, u32>,
    /// What the last command printed (stdout and stderr, in order).
    pub last_output: String,
    /// Randomness (uuids, MACs, heap addresses).
    pub rng: Rng,
    /// Who holds the xl lock (`/var/lock/xl`).
    pub lock: Option<crate::exec::TaskId>,
    /// Waiting for the xl lock.
    pub lock_waiters: std::collections::VecDeque<crate::exec::TaskId>,
}

impl Xl {
    /// No xl process yet.
    pub fn new(seed: u64) -> Xl {
        Xl {
            opts: XlOptions::default(),
            procs: IndexMap::new(),
            domains: std::collections::BTreeMap::new(),
            monitors: std::collections::BTreeMap::new(),
            last_output: String::new(),
            rng: Rng::substream(seed, "xl"),
            lock: None,
            lock_waiters: Default::default(),
        }
    }

    /// A process.
    pub fn proc(&self, pid: u32) -> Option<&XlProc> {
        self.procs.get(&pid)
    }

    /// A process, mutably.
    pub fn proc_mut(&mut self, pid: u32) -> Option<&mut XlProc> {
        self.procs.get_mut(&pid)
    }

    /// A fresh uuid (`libxl_uuid_generate`).
    pub fn new_uuid(&mut self) -> crate::uuid::Uuid {
        let a = self.rng.next_u64();
        let b = self.rng.next_u64();
        crate::uuid::Uuid::random(a, b)
    }

    /// A MAC in Xen's OUI (`libxl__device_nic_setdefault`).
    pub fn new_mac(&mut self) -> String {
        let r = self.rng.next_u64();
        format!(
            "00:16:3e:{:02x}:{:02x}:{:02x}",
            (r >> 16) as u8 & 0x7f,
            (r >> 8) as u8,
            r as u8
        )
    }
}

/// The log file of a domain's monitor.
pub fn log_file(name: &str) -> String {
    format!("xl-{name}.log")
}

/// What the host's guest boot reads of a domain libxl made: the guest,
/// its settings and its frontends, in the form xend's config gives them.
pub fn guest_view(c: &DomainConfig, domid: u32) -> crate::toolstack::xend::VmConfig {
    crate::toolstack::xend::VmConfig {
        name: c.name.clone(),
        uuid: c.uuid,
        hvm: c.hvm,
        guest: c.guest.as_str().into(),
        vcpus: c.vcpus,
        memory: c.memory,
        devices: c
            .devices(domid)
            .into_iter()
            .map(|d| crate::toolstack::xend::DeviceSpec {
                class: d.kind.name().into(),
                devid: d.devid.to_string().into(),
                uuid: crate::uuid::Uuid::NIL,
                mac: None,
            })
            .collect(),
        on_poweroff: c.on_poweroff.as_str().into(),
        on_reboot: c.on_reboot.as_str().into(),
        on_crash: c.on_crash.as_str().into(),
        pv_drivers: c.pv_drivers,
        platform_pci: c.platform_pci,
        acpi: c.acpi,
        domid: Some(domid),
    }
}
