//! The guest: a Linux 4.4 kernel (PVHVM or PV) and its init, as the
//! reference describes them (guest-and-qemu.md §2–§8).
//!
//! - `profile.rs` — distributions (kernel, init, units, timings);
//! - `boot.rs` — what `xm create` leaves running: xenbus watches, frontends,
//!   ACPI, `pm_power_off`, init;
//! - `xenbus.rs` — the xenwatch thread, `shutdown_handler`, `sysrq_handler`,
//!   frontends closing in `device_shutdown`;
//! - `reboot.rs` — orderly_poweroff → run_cmd, reboot(2), kernel_power_off,
//!   machine ops, `pm_power_off`, ACPI S5, halt, restart, panic;
//! - `init.rs` — systemctl, systemd's shutdown job, systemd-shutdown,
//!   sysvinit, logind's power key;
//! - `symbols.rs` — the kernel's symbol table and `Call Trace:` format.

pub mod boot;
pub mod init;
pub mod profile;
pub mod reboot;
pub mod symbols;
pub mod xenbus;

use crate::rng::Rng;
use crate::stack::CtxId;
use crate::time::SimDuration;
use crate::xenstore::ConnId;
use crate::Sim;
pub use profile::GuestProfile;
use std::rc::Rc;

/// What the kernel's `pm_power_off` pointer holds.
#[derive(Clone)]
pub enum PowerOff {
    /// NULL: POWER_OFF becomes HALT.
    Null,
    /// A kernel function, by name (`acpi_power_off`).
    Symbol(&'static str),
    /// A script closure; its name is shown where a symbol would be.
    Custom(crate::hypervisor::DomidCallback),
}

impl PowerOff {
    /// The name `dom.kernel.pm_power_off` reads.
    pub fn name(&self) -> Option<String> {
        match self {
            PowerOff::Null => None,
            PowerOff::Symbol(s) => Some(s.to_string()),
            PowerOff::Custom(_) => Some("<script closure>".into()),
        }
    }
}

/// `system_state`.
#[derive(Copy, Clone, PartialEq, Eq, Debug, PartialOrd, Ord)]
pub enum SystemState {
    /// SYSTEM_BOOTING.
    Booting,
    /// SYSTEM_RUNNING.
    Running,
    /// SYSTEM_HALT.
    Halt,
    /// SYSTEM_POWER_OFF.
    PowerOff,
    /// SYSTEM_RESTART.
    Restart,
}

/// manage.c's `shutting_down`.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum ShuttingDown {
    /// SHUTDOWN_INVALID (-1): accepting requests.
    Invalid,
    /// SHUTDOWN_POWEROFF (0).
    Poweroff,
    /// SHUTDOWN_SUSPEND (2).
    Suspend,
    /// SHUTDOWN_HALT (4).
    Halt,
}

/// A PV frontend in the guest.
#[derive(Clone, Debug)]
pub struct Frontend {
    /// `device/vif/0`.
    pub nodename: Rc<str>,
    /// Its backend's path.
    pub backend: String,
    /// Its xenbus state.
    pub state: u8,
    /// `dev->down` completed: the backend followed to Closing.
    pub down_done: bool,
    /// Waiting for `dev->down` (device_shutdown).
    pub closing_waiter: Option<crate::exec::TaskId>,
}

/// A guest's frontends in probe order, found by nodename. A guest has a
/// handful, so a scan finds one sooner than a map's hash would, and a host
/// of ten thousand guests does not hold ten thousand hash tables.
#[derive(Default)]
pub struct Frontends(Vec<Frontend>);

impl Frontends {
    /// The frontend at `nodename`.
    pub fn get(&self, nodename: &str) -> Option<&Frontend> {
        self.0.iter().find(|f| &*f.nodename == nodename)
    }

    /// The frontend at `nodename`, mutably.
    pub fn get_mut(&mut self, nodename: &str) -> Option<&mut Frontend> {
        self.0.iter_mut().find(|f| &*f.nodename == nodename)
    }

    /// Adds a probed frontend (a second probe of a nodename replaces the
    /// first in its place).
    pub fn insert(&mut self, f: Frontend) {
        match self.get_mut(&f.nodename) {
            Some(old) => *old = f,
            None => self.0.push(f),
        }
    }

    /// The nodenames, in probe order.
    pub fn nodenames(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.0.iter().map(|f| &*f.nodename)
    }
}

/// What kind of guest.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum GuestKind {
    /// HVM (PVHVM when the kernel is Xen-aware).
    Hvm,
    /// PV.
    Pv,
}

/// One guest kernel and its userspace.
pub struct Guest {
    /// The domain.
    pub domid: u32,
    /// Its console's log file, `console-<name>.log` (named at every
    /// console line, so made once and shared).
    pub console: std::rc::Rc<str>,
    /// The distribution.
    pub profile: &'static GuestProfile,
    /// HVM or PV.
    pub kind: GuestKind,
    /// The kernel is Xen-aware (PV drivers: callback vector, xenbus).
    pub pv_drivers: bool,
    /// The Xen platform PCI device is present (HVM xenbus needs it).
    pub platform_pci: bool,
    /// ACPI tables present (hvmloader built them; not booted with acpi=off).
    pub acpi: bool,
    /// `system_state`.
    pub system_state: SystemState,
    /// manage.c's `shutting_down`.
    pub shutting_down: ShuttingDown,
    /// `pm_power_off`.
    pub pm_power_off: PowerOff,
    /// `kernel.poweroff_cmd`.
    pub poweroff_cmd: String,
    /// Executables present in the filesystem (`/sbin/poweroff`, ...).
    pub files: Vec<&'static str>,
    /// Init: `None` when a script made it hang (it never answers).
    pub init_hangs: bool,
    /// `C_A_D` (systemd turns it off: Ctrl-Alt-Del is SIGINT to PID 1).
    pub cad_enabled: bool,
    /// The xenbus connection (once xenbus is up).
    pub conn: Option<ConnId>,
    /// Frontends in probe order.
    pub frontends: Frontends,
    /// vCPUs.
    pub vcpus: u32,
    /// Kernel uptime at virtual time zero, in ns (console timestamps).
    pub uptime0: u64,
    /// Contexts: xenwatch, PID 1.
    pub xenwatch_ctx: Option<CtxId>,
    /// PID 1's context.
    pub pid1_ctx: Option<CtxId>,
    /// PID 1's pending requests.
    pub pid1_queue: std::collections::VecDeque<(init::Pid1Msg, Option<crate::stack::HopId>)>,
    /// PID 1 waiting for a request.
    pub pid1_waiter: Option<crate::exec::TaskId>,
    /// `kernel.sysrq`.
    pub sysrq_mask: u32,
    /// Next pid handed to a new process.
    pub next_pid: u32,
    /// Next kworker number.
    pub next_kworker: u32,
    /// Units still running (indices into the profile's list).
    pub running_units: Vec<u16>,
    /// orderly_poweroff's sticky `poweroff_force`.
    pub poweroff_force: bool,
    /// The guest's randomness.
    pub rng: Rng,
    /// SIGINTs PID 1 received within the last 2 s (Ctrl-Alt-Del burst).
    pub cad_times: Vec<u64>,
    /// The guest's tasks, ended when the domain is freed.
    pub tasks: Vec<crate::exec::TaskId>,
}

impl Guest {
    /// The domain's name, as its console file is named after it.
    pub fn name(&self) -> &str {
        self.console
            .strip_prefix("console-")
            .and_then(|n| n.strip_suffix(".log"))
            .unwrap_or(&self.console)
    }

    /// The units still running, last started first: the order both
    /// systemd's shutdown job and sysvinit's rc scripts stop them in.
    pub fn units_to_stop(&self) -> Vec<usize> {
        self.running_units
            .iter()
            .rev()
            .map(|&u| usize::from(u))
            .collect()
    }
}

/// All guests by domid.
#[derive(Default)]
pub struct Guests {
    /// Guests in creation order, boxed (as Xen's domains, see
    /// `Xen::domains`).
    pub by_dom: std::collections::BTreeMap<u32, Box<Guest>>,
    /// The watch tokens and frontend nodenames guests use: the same few
    /// strings on every guest.
    pub strs: crate::shared_strs::SharedStrs,
}

impl Guests {
    /// A guest.
    pub fn get(&self, domid: u32) -> Option<&Guest> {
        self.by_dom.get(&domid).map(|g| &**g)
    }
    /// A guest, mutably.
    pub fn get_mut(&mut self, domid: u32) -> Option<&mut Guest> {
        self.by_dom.get_mut(&domid).map(|g| &mut **g)
    }
}

/// Kernel log levels.
pub mod level {
    /// KERN_EMERG.
    pub const EMERG: u8 = 0;
    /// KERN_WARNING.
    pub const WARNING: u8 = 4;
    /// KERN_NOTICE.
    pub const NOTICE: u8 = 5;
    /// KERN_INFO.
    pub const INFO: u8 = 6;
    /// KERN_DEBUG.
    pub const DEBUG: u8 = 7;
}

/// The console file of a guest.
pub fn console_file(name: &str) -> String {
    format!("console-{name}.log")
}

/// `printk`: a kernel message on the guest's console, with the timestamp
/// (`[ 1234.567890] `) Ubuntu's CONFIG_PRINTK_TIME adds, if its level passes
/// the console loglevel.
pub fn printk(sim: &Sim, domid: u32, lvl: u8, msg: impl crate::logs::Message) {
    if sim.logs.borrow().discards() {
        return;
    }
    let (file, t) = {
        let g = sim.guests.borrow();
        let Some(g) = g.get(domid) else { return };
        if lvl >= g.profile.console_loglevel {
            return;
        }
        (g.console.clone(), g.uptime0 + sim.now().0)
    };
    let call = crate::logs::origin(sim);
    sim.logs.borrow_mut().file(&file).write_with(call, |line| {
        print_time(line, t);
        msg.put(line);
        line.push('\n');
    });
}

/// printk's `print_time`: `[%5lu.%06lu] ` of a time in nanoseconds, put
/// down without the formatter (the kernel writes hundreds of lines a boot).
fn print_time(line: &mut String, t: u64) {
    let mut num = itoa::Buffer::new();
    line.push('[');
    let secs = num.format(t / 1_000_000_000);
    line.extend(std::iter::repeat_n(' ', 5usize.saturating_sub(secs.len())));
    line.push_str(secs);
    line.push('.');
    let micros = num.format((t % 1_000_000_000) / 1000);
    line.extend(std::iter::repeat_n(
        '0',
        6usize.saturating_sub(micros.len()),
    ));
    line.push_str(micros);
    line.push_str("] ");
}

/// A line written straight to the console by userspace (systemd's status
/// lines), without a kernel timestamp.
pub fn console_line(sim: &Sim, domid: u32, msg: impl crate::logs::Message) {
    if sim.logs.borrow().discards() {
        return;
    }
    let file = match sim.guests.borrow().get(domid) {
        Some(g) => g.console.clone(),
        None => return,
    };
    let call = crate::logs::origin(sim);
    sim.logs.borrow_mut().file(&file).write_with(call, |line| {
        msg.put(line);
        line.push('\n');
    });
}

/// Can the guest run (some vCPU not paused, the domain alive)? A paused or
/// shut-down domain's threads stop where they are.
pub fn runnable(sim: &Sim, domid: u32) -> bool {
    let xen = sim.xen.borrow();
    match xen.domain(domid) {
        Some(d) => {
            d.is_dying == crate::hypervisor::Dying::Alive
                && !d.is_shut_down
                && d.vcpus.iter().any(|v| v.pause_count == 0 && !v.down)
        }
        None => false,
    }
}

/// Sleeps `d` of the guest's time, then stops for good if the domain was
/// paused or shut down meanwhile (its vCPUs no longer run).
pub async fn guest_sleep(sim: &Sim, domid: u32, d: SimDuration) {
    sim.sleep(d).await;
    freeze_unless_runnable(sim, domid).await;
}

/// Stops the running guest thread forever if the domain cannot run.
pub async fn freeze_unless_runnable(sim: &Sim, domid: u32) {
    if !runnable(sim, domid) {
        std::future::pending::<()>().await;
    }
}

/// A jittered duration from the guest's RNG: `ms` ±`spread`.
pub fn jitter_ms(sim: &Sim, domid: u32, ms: u32, spread: f64) -> SimDuration {
    let mut g = sim.guests.borrow_mut();
    match g.get_mut(domid) {
        Some(g) => SimDuration(g.rng.jitter(ms as u64 * 1_000_000, spread)),
        None => SimDuration::millis(ms as u64),
    }
}

/// A new guest context (`kworker/0:2`, `poweroff`, ...).
pub fn new_task_ctx(sim: &Sim, domid: u32, name: &str) -> CtxId {
    sim.new_ctx(name.to_string(), crate::probe::Layer::Guest, domid)
}

/// Hands out the next pid.
pub fn next_pid(sim: &Sim, domid: u32) -> u32 {
    let mut g = sim.guests.borrow_mut();
    match g.get_mut(domid) {
        Some(g) => {
            g.next_pid += 1 + g.rng.below(40) as u32;
            g.next_pid
        }
        None => 0,
    }
}

/// Ends everything of a guest whose domain is gone: its xenbus connection
/// and its threads' contexts stay only as history.
pub fn forget(sim: &Sim, domid: u32) {
    let g = sim.guests.borrow_mut().by_dom.remove(&domid);
    if let Some(g) = g {
        for t in g.tasks {
            sim.exec.kill(t);
        }
    }
}

/// Starts a guest thread on `ctx` and remembers it, so it ends with the domain.
pub fn spawn(
    sim: &Sim,
    domid: u32,
    ctx: CtxId,
    fut: impl std::future::Future<Output = ()> + 'static,
) -> crate::exec::TaskId {
    let t = sim.spawn(ctx, fut);
    if let Some(g) = sim.guests.borrow_mut().get_mut(domid) {
        g.tasks.retain(|&x| sim.exec.alive(x));
        g.tasks.push(t);
    }
    t
}

#[cfg(test)]
mod tests {
    /// The time prefix reads as `printf("[%5lu.%06lu] ")` would print it,
    /// past five digits of seconds too.
    #[test]
    fn print_time_pads_as_printf_does() {
        for t in [
            0,
            999,
            1_000,
            12_500_000_000,
            99_999_999_999_000,
            123_456_000_001_000,
        ] {
            let mut line = String::new();
            super::print_time(&mut line, t);
            let want = format!(
                "[{:5}.{:06}] ",
                t / 1_000_000_000,
                (t % 1_000_000_000) / 1000
            );
            assert_eq!(line, want, "t = {t} ns");
        }
    }
}
