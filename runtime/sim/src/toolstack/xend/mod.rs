//! xend, the Xen 4.4 management daemon (reference §2): XendDomain,
//! XendDomainInfo, DevController, image.py's device model, xswatch's Watcher
//! thread — each function a probe, each log line written by the code path
//! that writes it, at the line number of the profile's build.
//!
//! - `python.rs` — GIL, locks, events, threads, `xstransact`;
//! - `lines.rs` — source lines of both builds, Python tracebacks;
//! - `watch.rs` — `xswatch` and the Watcher thread;
//! - `domain.rs` — XendDomain: the domain list, `@releaseDomain`, RPCs;
//! - `quiet.rs` — which tracked domains a `_refresh` has to visit;
//! - `info.rs` — XendDomainInfo: shutdown, the shutdown watch, refreshShutdown;
//! - `destroy.rs` — `_maybeRestart`, destroy, cleanupDomain, device release;
//! - `restart.rs` — restart, preserve, rename-restart, core dumps;
//! - `devices.rs` — DevController and the device classes;
//! - `image.rs` — qemu-dm: spawn, SIGHUP, the sentinel thread;
//! - `create.rs` — `xm create`.

pub mod create;
pub mod destroy;
pub mod devices;
pub mod domain;
pub mod image;
pub mod info;
pub mod lines;
pub mod python;
pub mod quiet;
pub mod restart;
pub mod start;
pub mod watch;

use std::rc::Rc;

use indexmap::IndexMap;

use crate::rng::Rng;
use crate::stack::CtxId;
use crate::time::SimDuration;
use crate::xenstore::ConnId;
use crate::Sim;
use lines::{ThreadKind, L};
use python::{Interp, LockId};

/// A log level.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Level {
    /// DEBUG.
    Debug,
    /// INFO.
    Info,
    /// WARNING (`log.warn` and `log.warning`).
    Warning,
    /// ERROR.
    Error,
}

impl Level {
    /// The name `%(levelname)s` prints.
    pub fn name(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
        }
    }
}

/// An XendDomainInfo.
#[derive(Copy, Clone, PartialEq, Eq, Debug, Hash, PartialOrd, Ord)]
pub struct VmRef(pub u32);

/// A device of the config (`vif/0`, `vbd/51712`, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceSpec {
    /// The class (shared: the same few on every VM of a host).
    pub class: Rc<str>,
    /// The device id (shared, as the class).
    pub devid: Rc<str>,
    /// The device's uuid; empty until xend's XendConfig.device_add gives it
    /// one, which a restart then keeps.
    pub uuid: crate::uuid::Uuid,
    /// A vif's MAC: `randomMAC()` in device_add, kept across restarts too.
    pub mac: Option<String>,
}

/// The domain configuration xend keeps (XendConfig, reduced to what the
/// shutdown path reads).
#[derive(Clone, Debug)]
pub struct VmConfig {
    /// `name_label`.
    pub name: String,
    /// The VM's uuid.
    pub uuid: crate::uuid::Uuid,
    /// HVM or PV.
    pub hvm: bool,
    /// Guest profile name.
    pub guest: Rc<str>,
    /// vCPUs.
    pub vcpus: u32,
    /// Memory in MiB.
    pub memory: u64,
    /// Devices in config order.
    pub devices: Vec<DeviceSpec>,
    /// `on_poweroff` (this and the next two shared, as a device's class).
    pub on_poweroff: Rc<str>,
    /// `on_reboot`.
    pub on_reboot: Rc<str>,
    /// `on_crash`.
    pub on_crash: Rc<str>,
    /// A Xen-aware (PVHVM) kernel.
    pub pv_drivers: bool,
    /// `xen_platform_pci`.
    pub platform_pci: bool,
    /// `acpi`.
    pub acpi: bool,
    /// A fixed domid.
    pub domid: Option<u32>,
}

/// The device model handle (image.py's ImageHandler, the parts in play).
#[derive(Clone, Debug)]
pub struct Image {
    /// qemu-dm's pid while xend believes it runs.
    pub pid: Option<u32>,
    /// `sentinel_lock`.
    pub sentinel_lock: LockId,
    /// The sentinel FIFO's path.
    pub fifo: String,
}

/// One XendDomainInfo.
#[derive(Clone, Debug)]
pub struct Vm {
    /// Its config.
    pub cfg: VmConfig,
    /// The domid, `None` once cleaned up.
    pub domid: Option<u32>,
    /// `/vm/<uuid>`.
    pub vmpath: String,
    /// `/local/domain/<id>`.
    pub dompath: Option<String>,
    /// The device model, if any.
    pub image: Option<Image>,
    /// `refresh_shutdown_lock`.
    pub refresh_shutdown_lock: LockId,
    /// `shutdownStartTime`.
    pub shutdown_start: Option<f64>,
    /// `restart_in_progress`.
    pub restart_in_progress: bool,
    /// `vmWatch` token.
    pub vm_watch: Option<Rc<str>>,
    /// `shutdownWatch` token.
    pub shutdown_watch: Option<Rc<str>>,
    /// The hide-devices watches (ovm-4.4.4).
    pub hide_watches: Vec<Rc<str>>,
    /// `info['start_time']`.
    pub start_time: f64,
    /// The last `_stateSet`.
    pub state: &'static str,
}

/// Settings of xend (xend-config.sxp and XendConstants).
#[derive(Clone, Debug)]
pub struct XendOptions {
    /// SHUTDOWN_TIMEOUT.
    pub shutdown_timeout: SimDuration,
    /// MINIMUM_RESTART_TIME.
    pub minimum_restart_time: f64,
    /// DEVICE_DESTROY_TIMEOUT.
    pub device_destroy_timeout: SimDuration,
    /// How long the running-lock command takes (ovm).
    pub running_lock_cmd: SimDuration,
    /// Probability that a thread is descheduled at a checkpoint (0: never).
    pub preempt: f64,
}

impl Default for XendOptions {
    fn default() -> Self {
        XendOptions {
            shutdown_timeout: SimDuration::secs(300),
            minimum_restart_time: 60.0,
            device_destroy_timeout: SimDuration::secs(100),
            running_lock_cmd: SimDuration::millis(35),
            preempt: 0.0,
        }
    }
}

/// xend's state.
pub struct Xend {
    /// The daemon's pid (`%(process)d`).
    pub pid: u32,
    /// Its xenstore connection (one, shared by every thread).
    pub conn: ConnId,
    /// The interpreter.
    pub interp: Interp,
    /// Threads by context, with how they began.
    pub threads: IndexMap<CtxId, ThreadKind>,
    /// `XendDomain.domains_lock`.
    pub domains_lock: LockId,
    /// Every XendDomainInfo ever made.
    pub vms: Vec<Vm>,
    /// The config strings every VM of a host repeats (device classes and
    /// ids, the guest profile, the `on_*` actions), held once.
    pub strs: crate::shared_strs::SharedStrs,
    /// `XendDomain.domains`: domid → XendDomainInfo (changed through
    /// `track` and `untrack`, which keep `quiet` in step).
    pub domains: std::collections::BTreeMap<u32, VmRef>,
    /// Which of them a `_refresh` has to visit.
    pub quiet: quiet::Quiet,
    /// Registered xswatches by token: the watched path and the callback.
    pub watches: std::collections::BTreeMap<Rc<str>, (Rc<str>, watch::WatchCb)>,
    /// Next xswatch object address.
    pub next_token: u64,
    /// The Watcher thread's context.
    pub watcher_ctx: Option<CtxId>,
    /// Options.
    pub opts: XendOptions,
    /// Randomness (pids, uuids, addresses).
    pub rng: Rng,
    /// Up and running.
    pub started: bool,
    /// Core files written by `dumpCore`.
    pub dumps: Vec<String>,
}

impl Xend {
    /// A daemon not started yet.
    pub fn new(seed: u64) -> Xend {
        let mut interp = Interp::default();
        let domains_lock = interp.new_lock(true);
        Xend {
            pid: 2164,
            conn: ConnId(0),
            interp,
            threads: IndexMap::new(),
            domains_lock,
            vms: Vec::new(),
            strs: Default::default(),
            domains: std::collections::BTreeMap::new(),
            quiet: quiet::Quiet::default(),
            watches: std::collections::BTreeMap::new(),
            next_token: 0x7f3c_9a1e_4d50,
            watcher_ctx: None,
            opts: XendOptions::default(),
            rng: Rng::substream(seed, "xend"),
            started: false,
            dumps: Vec::new(),
        }
    }

    /// A VM.
    pub fn vm(&self, r: VmRef) -> &Vm {
        &self.vms[r.0 as usize]
    }

    /// A VM, mutably.
    pub fn vm_mut(&mut self, r: VmRef) -> &mut Vm {
        &mut self.vms[r.0 as usize]
    }
}

/// Writes one xend.log record:
/// `[%(asctime)s %(process)d] %(levelname)s (%(module)s:%(lineno)d) %(message)s`.
pub fn log_record(
    sim: &Sim,
    level: Level,
    module: &str,
    lineno: u32,
    msg: impl crate::logs::Message,
) {
    if sim.logs.borrow().discards() {
        return;
    }
    let secs = sim.cfg().epoch.wall_secs(sim.now());
    let pid = sim.xend.borrow().pid;
    let call = crate::logs::origin(sim);
    let mut logs = sim.logs.borrow_mut();
    let stamp = logs.stamp(secs);
    logs.xend.write_with(call, |line| {
        let mut num = itoa::Buffer::new();
        line.push('[');
        line.push_str(&stamp);
        line.push(' ');
        line.push_str(num.format(pid));
        line.push_str("] ");
        line.push_str(level.name());
        line.push_str(" (");
        line.push_str(module);
        line.push(':');
        line.push_str(num.format(lineno));
        line.push_str(") ");
        msg.put(line);
        line.push('\n');
    });
}

/// Logs at a source line of the profile's build.
pub fn log(sim: &Sim, level: Level, at: L, msg: impl crate::logs::Message) {
    let e = at.line();
    let n = e.number(sim.profile());
    log_record(sim, level, e.file.module(), n, msg);
}

/// Logs at the running xend frame's module and line (what a `log.info` put
/// at that point of the source would print): `xend.log_info` from a hook.
pub fn log_here(sim: &Sim, level: Level, msg: impl crate::logs::Message) {
    let ctx = sim.current_ctx();
    let profile = sim.profile();
    let (module, line) = {
        let ctxs = sim.ctxs.borrow();
        let c = ctxs.get(ctx);
        match c
            .stack
            .iter()
            .rev()
            .find(|f| f.probe.layer() == crate::probe::Layer::Xend)
        {
            Some(f) => {
                let (file, o, u, _) = lines::site_of(f.probe);
                if f.line == 0 {
                    (file.module(), if profile.is_ovm() { o } else { u })
                } else {
                    let e = lines::LINES[f.line as usize];
                    (e.file.module(), e.number(profile))
                }
            }
            None => ("XendDomainInfo", 0),
        }
    };
    log_record(sim, level, module, line, msg);
}

/// The domid a VM's probes report.
pub fn domid_of(sim: &Sim, vm: VmRef) -> u32 {
    sim.xend
        .borrow()
        .vm(vm)
        .domid
        .unwrap_or(crate::stack::NO_DOM)
}
