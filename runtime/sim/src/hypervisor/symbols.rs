//! The hypervisor build's symbol table and the `Xen call trace:` format
//! (X xen/arch/x86/traps.c:196-317; reference §4.7).
//!
//! A release build (`debug=n`) has no frame pointers, so the trace is a scan
//! of the stack for words that look like Xen text addresses. That gives two
//! quirks the seed's trace shows and xsh reproduces from this table:
//! - a function that left through a tail call (`hvm_io_assist`,
//!   `vcpu_end_shutdown_deferral`, `do_softirq`) has no return address on
//!   the stack, so it does not appear;
//! - a return address can sit on the stack twice (a stale copy from an
//!   earlier call at the same depth), so `context_switch` and `__do_softirq`
//!   appear twice. `stale` counts those copies per call site.
//!
//! Addresses and sizes of the ovm-4.4.4 build for the functions on the seed's
//! trace come from that trace; the rest are estimates laid out by source
//! file (docs/fidelity.md).

use crate::probe::{Layer, Probe};
use crate::profile::Profile;
use crate::stack::Frame;

/// A call from one function to the next frame's.
#[derive(Copy, Clone, Debug)]
pub struct XenCall {
    /// Offset of the return address in the caller.
    pub off: u32,
    /// The call is the function's last statement, compiled to a jump.
    pub tail: bool,
    /// Stale copies of this return address the stack scan also finds.
    pub stale: u8,
}

/// One function of the build.
#[derive(Copy, Clone, Debug)]
pub struct XenSym {
    /// Its probe.
    pub probe: Probe,
    /// Source file (printed as `file.c#` for static functions by builds
    /// whose symbol table records files).
    pub file: &'static str,
    /// `static` in its file.
    pub is_static: bool,
    /// Start address (ovm-4.4.4 build).
    pub addr: u64,
    /// Size in bytes.
    pub size: u32,
    /// Offset of an instrumentation call placed at the function's site.
    pub site: u32,
    /// Call sites, indexed by the frame's `line`.
    pub calls: &'static [XenCall],
}

const fn c(off: u32) -> XenCall {
    XenCall {
        off,
        tail: false,
        stale: 0,
    }
}
const fn tail(off: u32) -> XenCall {
    XenCall {
        off,
        tail: true,
        stale: 0,
    }
}
const fn stale(off: u32, n: u8) -> XenCall {
    XenCall {
        off,
        tail: false,
        stale: n,
    }
}

macro_rules! sym {
    ($p:ident, $file:literal, $st:literal, $addr:literal, $size:literal, $site:literal, [$($call:expr),*]) => {
        XenSym { probe: Probe::$p, file: $file, is_static: $st, addr: $addr, size: $size, site: $site, calls: &[$($call),*] }
    };
}

/// The ovm-4.4.4 build (xen-4.4.4-155.0.72.el6).
pub static OVM_SYMBOLS: &[XenSym] = &[
    // On the seed's trace (addresses from it).
    sym!(
        XenDomainFinaliseShutdown,
        "domain.c",
        true,
        0xffff82d08020dd80,
        0xa0,
        0x5e,
        [c(0x8b)]
    ),
    sym!(
        XenVcpuCheckShutdown,
        "domain.c",
        true,
        0xffff82d08020de20,
        0x80,
        0x12,
        [c(0x50)]
    ),
    sym!(
        XenHvmDoResume,
        "hvm.c",
        false,
        0xffff82d0802d76f0,
        0x1f0,
        0x1c,
        [c(0xe2)]
    ),
    sym!(
        XenVmxDoResume,
        "vmcs.c",
        false,
        0xffff82d0802f4160,
        0x220,
        0x18,
        [c(0x150)]
    ),
    sym!(
        XenContextSwitch,
        "domain.c",
        false,
        0xffff82d0802749b0,
        0xf80,
        0x2d,
        [stale(0x138, 1)]
    ),
    sym!(
        XenSchedule,
        "schedule.c",
        true,
        0xffff82d080237e60,
        0x580,
        0x3f,
        [c(0x252)]
    ),
    sym!(
        XenDoSoftirqInner,
        "softirq.c",
        true,
        0xffff82d080239820,
        0xa0,
        0x11,
        [stale(0x69, 1)]
    ),
    sym!(
        XenIdleLoop,
        "domain.c",
        true,
        0xffff82d0802768f0,
        0x60,
        0x0e,
        [c(0x1a)]
    ),
    // Estimated.
    sym!(
        XenDoSoftirq,
        "softirq.c",
        false,
        0xffff82d0802398c0,
        0x20,
        0x09,
        [tail(0x14)]
    ),
    sym!(
        XenHvmIoAssist,
        "io.c",
        false,
        0xffff82d0802d2a30,
        0x1c0,
        0x21,
        [tail(0x1b6)]
    ),
    sym!(
        XenVcpuEndShutdownDeferral,
        "domain.c",
        false,
        0xffff82d08020dea0,
        0x30,
        0x08,
        [tail(0x2c)]
    ),
    sym!(
        XenVcpuStartShutdownDeferral,
        "domain.c",
        false,
        0xffff82d08020ded0,
        0x50,
        0x0d,
        [c(0x3b)]
    ),
    sym!(
        XenDomainShutdown,
        "domain.c",
        false,
        0xffff82d08020df20,
        0x140,
        0x1a,
        [c(0x118), c(0x131)]
    ),
    sym!(
        XenSendGlobalVirq,
        "event_channel.c",
        false,
        0xffff82d080209560,
        0x90,
        0x0f,
        [c(0x6a)]
    ),
    sym!(
        XenDoSchedOp,
        "schedule.c",
        false,
        0xffff82d080238ed0,
        0x4e0,
        0x2a,
        [c(0x2f4)]
    ),
    sym!(
        XenHvmSendAssistReq,
        "hvm.c",
        false,
        0xffff82d0802d8e60,
        0x120,
        0x17,
        [c(0x2e)]
    ),
    sym!(
        XenEvtchnSend,
        "event_channel.c",
        false,
        0xffff82d08020a1c0,
        0x1a0,
        0x19,
        [c(0x11e)]
    ),
    sym!(
        XenVcpuWake,
        "schedule.c",
        false,
        0xffff82d080236d50,
        0x1d0,
        0x16,
        [c(0x13c)]
    ),
    sym!(
        XenHvmHlt,
        "hvm.c",
        false,
        0xffff82d0802d9340,
        0xa0,
        0x10,
        [c(0x7d)]
    ),
    sym!(
        XenHvmVcpuDown,
        "hvm.c",
        false,
        0xffff82d0802d9250,
        0xf0,
        0x12,
        [c(0xd6)]
    ),
    sym!(
        XenHvmTripleFault,
        "hvm.c",
        false,
        0xffff82d0802d93e0,
        0x70,
        0x0c,
        [c(0x5b)]
    ),
    sym!(
        XenHvmAcpiPowerButton,
        "pmtimer.c",
        false,
        0xffff82d0802e0c90,
        0x50,
        0x0a,
        [c(0x3e)]
    ),
    sym!(
        XenDoDomctl,
        "domctl.c",
        false,
        0xffff82d080205a40,
        0x1560,
        0x3c,
        [c(0x4b1), c(0x5d2), c(0x3a7), c(0x8f3)]
    ),
    sym!(
        XenDomainPause,
        "domain.c",
        false,
        0xffff82d08020e380,
        0x60,
        0x0b,
        [c(0x41)]
    ),
    sym!(
        XenDomainKill,
        "domain.c",
        false,
        0xffff82d08020d7c0,
        0x180,
        0x14,
        [c(0x15d)]
    ),
    sym!(
        XenCompleteDomainDestroy,
        "domain.c",
        true,
        0xffff82d08020d4f0,
        0x1d0,
        0x1e,
        [c(0x1a7)]
    ),
    sym!(
        XenDomainCrash,
        "domain.c",
        false,
        0xffff82d08020e0e0,
        0xc0,
        0x15,
        [c(0x9e)]
    ),
];

/// Xen text where the upstream build's image starts relative to ovm's (its
/// functions are laid out in the same order; addresses are estimates).
const UPSTREAM_SHIFT: i64 = -0x2c40;

/// The symbol of a probe in a build.
pub fn symbol(p: Probe) -> Option<&'static XenSym> {
    OVM_SYMBOLS.iter().find(|s| s.probe == p)
}

fn name_of(s: &XenSym, profile: Profile) -> String {
    let f = s.probe.function();
    // The ovm build's symbol table records source files for static symbols
    // (a later upstream feature it carries); upstream 4.4.4 prints bare names.
    if s.is_static && profile.is_ovm() {
        format!("{}#{f}", s.file)
    } else {
        f.to_string()
    }
}

fn addr_of(s: &XenSym, profile: Profile) -> u64 {
    if profile.is_ovm() {
        s.addr
    } else {
        (s.addr as i64 + UPSTREAM_SHIFT) as u64
    }
}

/// `Xen call trace:` of a context's stack, innermost first, as a release
/// build's stack scan prints it. `frames` are the context's frames,
/// outermost first; non-Xen frames are skipped.
pub fn format_trace(frames: &[Frame], profile: Profile, entry: Option<&'static str>) -> String {
    let xen: Vec<&Frame> = frames
        .iter()
        .filter(|f| f.probe.layer() == Layer::Xen)
        .collect();
    let mut out = String::from("Xen call trace:\n");
    let line = |out: &mut String, addr: u64, name: &str, off: u32, size: u32| {
        out.push_str(&format!("   [<{addr:016x}>] {name}+{off:#x}/{size:#x}\n"));
    };
    for (i, f) in xen.iter().enumerate().rev() {
        let Some(s) = symbol(f.probe) else { continue };
        let (name, base) = (name_of(s, profile), addr_of(s, profile));
        if i == xen.len() - 1 {
            line(&mut out, base + s.site as u64, &name, s.site, s.size);
            continue;
        }
        let call = s
            .calls
            .get(f.line as usize)
            .or(s.calls.first())
            .copied()
            .unwrap_or(c(s.site));
        if call.tail {
            continue;
        }
        for _ in 0..=call.stale {
            line(&mut out, base + call.off as u64, &name, call.off, s.size);
        }
    }
    if let Some(e) = entry {
        // Estimated addresses (docs/fidelity.md): each entry stub at its
        // own place in x86_64/entry.S and vmx/entry.S, upstream shifted as
        // the rest of its table.
        let ovm: u64 = if e.starts_with("syscall_enter") {
            0xffff82d08022a0a6
        } else {
            0xffff82d0803163a6
        };
        let addr = if profile.is_ovm() { ovm } else { ovm - 0x2c40 };
        out.push_str(&format!("   [<{addr:016x}>] {e}\n"));
    }
    out
}
