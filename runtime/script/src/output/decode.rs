//! Numbers a person reads as names, for the timeline and the sequence
//! diagram: hypercall sub-ops, shutdown reasons, domctls and I/O ports, as
//! Xen 4.4.4's public headers (sched.h, domctl.h, xen.h) and the PIIX4
//! ACPI block qemu-dm emulates at 0xb000 (reference: guest-and-qemu §5.3)
//! name them. And the milestones of a domain's life that the outputs mark.

use xsh_sim::probe::Probe;
use xsh_sim::trace::CallRecord;
use xsh_sim::Value;

/// The name of argument `arg` of `probe` when it is `v`, if it has one.
pub fn arg_name(probe: Probe, arg: &str, v: &Value) -> Option<&'static str> {
    let Value::Int(n) = v else {
        return None;
    };
    match (probe, arg) {
        (Probe::XenDoSchedOp, "cmd") => sched_op(*n),
        (Probe::XenDoSchedOp | Probe::XenDomainShutdown, "reason") => shutdown_reason(*n),
        (Probe::XenDoDomctl, "cmd") => domctl(*n),
        (Probe::XenSendGlobalVirq, "virq") => (*n == 3).then_some("VIRQ_DOM_EXC"),
        (_, "port") => port(*n),
        _ => None,
    }
}

/// SCHEDOP_* (sched.h).
fn sched_op(n: i64) -> Option<&'static str> {
    Some(match n {
        0 => "SCHEDOP_yield",
        1 => "SCHEDOP_block",
        2 => "SCHEDOP_shutdown",
        3 => "SCHEDOP_poll",
        4 => "SCHEDOP_remote_shutdown",
        5 => "SCHEDOP_shutdown_code",
        6 => "SCHEDOP_watchdog",
        _ => return None,
    })
}

/// SHUTDOWN_* (sched.h).
fn shutdown_reason(n: i64) -> Option<&'static str> {
    Some(match n {
        0 => "SHUTDOWN_poweroff",
        1 => "SHUTDOWN_reboot",
        2 => "SHUTDOWN_suspend",
        3 => "SHUTDOWN_crash",
        4 => "SHUTDOWN_watchdog",
        _ => return None,
    })
}

/// The XEN_DOMCTL_* the model issues (domctl.h).
fn domctl(n: i64) -> Option<&'static str> {
    Some(match n {
        1 => "XEN_DOMCTL_createdomain",
        2 => "XEN_DOMCTL_destroydomain",
        3 => "XEN_DOMCTL_pausedomain",
        4 => "XEN_DOMCTL_unpausedomain",
        5 => "XEN_DOMCTL_getdomaininfo",
        28 => "XEN_DOMCTL_sendtrigger",
        _ => return None,
    })
}

/// The I/O ports of the shutdown path: PIIX4's PM1a block at 0xb000 and
/// the keyboard controller.
fn port(n: i64) -> Option<&'static str> {
    Some(match n {
        0xb000 => "PM1a_STS",
        0xb002 => "PM1a_EN",
        0xb004 => "PM1a_CNT",
        0x64 => "i8042 command",
        0x60 => "i8042 data",
        0xcf9 => "reset control",
        _ => return None,
    })
}

/// A call's arguments for a label: each one's name where it has one
/// (`SCHEDOP_remote_shutdown, 8, SHUTDOWN_poweroff`), the value otherwise.
pub fn args_text(c: &CallRecord) -> Vec<String> {
    let names = c.probe.def().args;
    c.args
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let named = names.get(i).and_then(|n| arg_name(c.probe, n, a));
            match (named, a) {
                (Some(n), _) => n.to_string(),
                (None, Value::Str(s)) => s.to_string(),
                (None, other) => other.to_string(),
            }
        })
        .collect()
}

/// The milestone a call marks in a domain's life, if it marks one: the
/// user's commands, the guest starting and finishing its poweroff, Xen
/// shutting the domain down and destroying it.
pub fn milestone(c: &CallRecord) -> Option<String> {
    let reason = || {
        c.args
            .get(1)
            .and_then(|a| arg_name(Probe::XenDomainShutdown, "reason", a))
            .unwrap_or("?")
    };
    Some(match c.probe {
        Probe::XmCreate => "xm create".into(),
        Probe::XmShutdown => "xm shutdown".into(),
        Probe::XmReboot => "xm reboot".into(),
        Probe::XmDestroy => "xm destroy".into(),
        Probe::XmTrigger => "xm trigger".into(),
        Probe::GuestOrderlyPoweroff => "guest: orderly_poweroff".into(),
        Probe::GuestKernelPowerOff => "guest: kernel_power_off".into(),
        Probe::XenDomainShutdown => format!("Xen: domain_shutdown({})", reason()),
        Probe::XenDomainFinaliseShutdown => "Xen: domain shut down".into(),
        Probe::XenDomainKill => "Xen: domain_kill (dying)".into(),
        Probe::XenCompleteDomainDestroy => "Xen: domain freed".into(),
        _ => return None,
    })
}
