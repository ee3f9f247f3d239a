//! Guest profiles: what distribution runs in the domain — its kernel, its
//! init, the units it stops on the way down and how long each takes. The
//! default, "ubuntu-16.04", is the seed's guest: Linux 4.4 (PVHVM-capable)
//! and systemd 229.

/// Which init the guest runs.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum InitKind {
    /// systemd (229 in Ubuntu 16.04): `/sbin/poweroff` is systemctl.
    Systemd,
    /// sysvinit: `/sbin/poweroff` is halt, which runs `shutdown -h now`.
    Sysvinit,
}

/// What kind of unit, which decides its console line.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum UnitKind {
    /// A service: `Stopping X...` then `[  OK  ] Stopped X.`
    Service,
    /// A target: `[  OK  ] Stopped target X.`
    Target,
    /// A mount: `Unmounting X...` then `[  OK  ] Unmounted X.`
    Mount,
    /// A socket: `[  OK  ] Closed X.`
    Socket,
    /// A swap: `Deactivating swap X...` then `[  OK  ] Deactivated swap X.`
    Swap,
}

/// One unit running in the guest.
#[derive(Copy, Clone, Debug)]
pub struct UnitDef {
    /// Its Description= (what the console shows).
    pub desc: &'static str,
    /// Its kind.
    pub kind: UnitKind,
    /// How long stopping it takes, in milliseconds (jittered ±20% per run).
    pub stop_ms: u32,
}

/// A guest distribution.
#[derive(Debug)]
pub struct GuestProfile {
    /// The name scripts give (`guest: "ubuntu-16.04"`).
    pub name: &'static str,
    /// `uname -r`.
    pub kernel: &'static str,
    /// The init system.
    pub init: InitKind,
    /// Running units in start order (stopped in reverse).
    pub units: &'static [UnitDef],
    /// Mount points systemd-shutdown unmounts.
    pub mounts: &'static [&'static str],
    /// How long processes take to exit after SIGTERM, in ms.
    pub sigterm_ms: u32,
    /// How long `sync()` takes, in ms.
    pub sync_ms: u32,
    /// How long an exec of a userspace helper takes, in ms.
    pub exec_ms: u32,
    /// Uptime (s) when the world starts: a range the seeded RNG draws from.
    pub uptime_s: (u64, u64),
    /// Kernel messages below this level reach the console (7: all but debug).
    pub console_loglevel: u8,
    /// `kernel.sysrq` (176 on Ubuntu: sync, remount, reboot/poweroff).
    pub sysrq_mask: u32,
}

use UnitKind::*;

const fn u(desc: &'static str, kind: UnitKind, stop_ms: u32) -> UnitDef {
    UnitDef {
        desc,
        kind,
        stop_ms,
    }
}

/// Ubuntu 16.04 server: Linux 4.4.0, systemd 229.
pub static UBUNTU_1604: GuestProfile = GuestProfile {
    name: "ubuntu-16.04",
    kernel: "4.4.0-150-generic",
    init: InitKind::Systemd,
    units: &[
        u("Swap", Target, 2),
        u("/swap.img", Swap, 18),
        u("Local File Systems (Pre)", Target, 2),
        u("Create Static Device Nodes in /dev", Service, 4),
        u("Remount Root and Kernel File Systems", Service, 5),
        u("Load Kernel Modules", Service, 3),
        u("Apply Kernel Variables", Service, 3),
        u("Local File Systems", Target, 2),
        u("/boot", Mount, 31),
        u("Create Volatile Files and Directories", Service, 6),
        u("Load/Save Random Seed", Service, 9),
        u("Update UTMP about System Boot/Shutdown", Service, 7),
        u("Network Time Synchronization", Service, 12),
        u("System Time Synchronized", Target, 2),
        u("Network (Pre)", Target, 2),
        u("Raise network interfaces", Service, 186),
        u("Network", Target, 2),
        u("Network is Online", Target, 2),
        u("D-Bus System Message Bus Socket", Socket, 2),
        u("D-Bus System Message Bus", Service, 11),
        u("System Logging Service", Service, 24),
        u("Login Service", Service, 19),
        u("Accounts Service", Service, 31),
        u("Regular background program processing daemon", Service, 14),
        u("LSB: Record successful boot for GRUB", Service, 8),
        u("OpenBSD Secure Shell server", Service, 17),
        u("Permit User Sessions", Service, 6),
        u("Serial Getty on ttyS0", Service, 13),
        u("Getty on tty1", Service, 12),
        u("Login Prompts", Target, 2),
        u("LXD - container startup/shutdown", Service, 412),
        u("Snappy daemon", Service, 171),
        u("Multi-User System", Target, 2),
        u("Timers", Target, 2),
        u("Daily apt activities", Service, 3),
        u("Graphical Interface", Target, 2),
    ],
    mounts: &[
        "/run/user/1000",
        "/boot",
        "/sys/kernel/debug",
        "/dev/mqueue",
        "/dev/hugepages",
    ],
    sigterm_ms: 85,
    sync_ms: 40,
    exec_ms: 4,
    uptime_s: (86_400, 4_000_000),
    console_loglevel: 7,
    sysrq_mask: 176,
};

/// Debian 7 "wheezy": Linux 3.2 with sysvinit, for contrast.
pub static DEBIAN_7: GuestProfile = GuestProfile {
    name: "debian-7",
    kernel: "3.2.0-4-amd64",
    init: InitKind::Sysvinit,
    units: &[
        u("rsyslog", Service, 30),
        u("cron", Service, 12),
        u("ssh", Service, 20),
        u("networking", Service, 150),
        u("urandom", Service, 8),
    ],
    mounts: &["/boot"],
    sigterm_ms: 120,
    sync_ms: 60,
    exec_ms: 5,
    uptime_s: (86_400, 4_000_000),
    console_loglevel: 7,
    sysrq_mask: 438,
};

/// All profiles.
pub static PROFILES: &[&GuestProfile] = &[&UBUNTU_1604, &DEBIAN_7];

/// A profile by name.
pub fn by_name(name: &str) -> Option<&'static GuestProfile> {
    PROFILES.iter().copied().find(|p| p.name == name)
}
