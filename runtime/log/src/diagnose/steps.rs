//! A model call, told in the reference's terms: its step on the seed's path
//! (`reference/seed-path.md` numbers the probes of `xm shutdown`), the
//! call it was made from, and the domain's state when it ran — all read
//! from the model's trace, not from the line's text.

use xsh_sim::probe::Probe;
use xsh_sim::trace::{CallId, CallRecord};

/// The steps of `reference/seed-path.md` a probe's code is (a probe that
/// writes two lines of the path, like qemu-dm's `destroy_hvm_domain`, is
/// two steps).
pub fn seed_steps(probe: &str) -> &'static [u8] {
    match probe {
        "xm:shutdown" => &[1],
        "xend:XendDomainInfo.shutdown" => &[2],
        "xs:write" | "xs:fire_watches" => &[3],
        "xend:XendDomainInfo._handleShutdownWatch" => &[4, 7],
        "guest:shutdown_handler" => &[5],
        "guest:do_poweroff" | "guest:orderly_poweroff" => &[6],
        "guest:poweroff_work_func" | "guest:__orderly_poweroff" | "guest:run_cmd" => &[8],
        "guest:systemctl_poweroff" | "guest:systemd_stop_units" | "guest:systemd_stop_unit" => &[9],
        "guest:systemd_shutdown" => &[10],
        "guest:sys_reboot" => &[11],
        "guest:kernel_power_off" | "guest:device_shutdown" | "guest:xenbus_dev_shutdown" => &[12],
        "guest:machine_power_off" | "guest:native_machine_power_off" | "guest:machine_shutdown" => {
            &[13]
        }
        "guest:pm_power_off" | "guest:acpi_power_off" | "guest:acpi_enter_sleep_state" => &[14],
        "xen:hvm_send_assist_req" => &[15],
        "qemu:cpu_handle_ioreq" | "qemu:acpi_shutdown" => &[16],
        "qemu:destroy_hvm_domain" => &[17, 19],
        "xen:do_sched_op" | "xen:domain_shutdown" => &[18],
        "xen:hvm_do_resume" | "xen:vcpu_check_shutdown" | "xen:__domain_finalise_shutdown" => &[20],
        "xs:domain_cleanup" => &[21],
        "xend:XendDomain._on_domains_changed" | "xend:XendDomainInfo.refreshShutdown" => &[22],
        "xend:XendDomainInfo._maybeRestart" => &[23],
        "xend:XendDomainInfo.destroy" => &[24],
        "xend:XendDomainInfo.cleanupDomain" | "xend:image.destroyDeviceModel" => &[25],
        "xend:image._sentinel_watch" => &[26],
        // `Destroying device model`, then `Releasing devices`, `Removing ...`.
        "xend:XendDomainInfo._releaseDevices" => &[25, 27],
        "xend:XendDomainInfo.destroyDevice"
        | "xend:DevController.destroyDevice"
        | "xend:DevController.waitForDevice_destroy" => &[28],
        "xend:XendDomainInfo._removeDom"
        | "xend:XendDomainInfo._cleanupVm"
        | "xend:XendDomainInfo._releaseRunningLock" => &[29],
        "xend:XendDomainInfo.handleHideDevicesWatch" => &[31],
        "xen:complete_domain_destroy" => &[32],
        _ => &[],
    }
}

/// What a domain was doing, as the model's trace tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum State {
    /// Running (nothing asked of it yet).
    #[default]
    Running,
    /// The toolstack asked it to shut down.
    ShutdownRequested,
    /// Xen is shutting it down (a vCPU still defers).
    ShuttingDown,
    /// Xen finalised the shutdown.
    ShutDown,
    /// It crashed.
    Crashed,
    /// The toolstack is destroying it.
    Destroying,
    /// Xen freed it.
    Destroyed,
}

impl State {
    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            State::Running => "running",
            State::ShutdownRequested => "shutdown requested",
            State::ShuttingDown => "shutting down",
            State::ShutDown => "shut down",
            State::Crashed => "crashed",
            State::Destroying => "being destroyed",
            State::Destroyed => "destroyed",
        }
    }

    /// The state after `call` ran, from the state before.
    fn after(self, call: &CallRecord) -> State {
        match call.probe.name() {
            "xend:XendDomainInfo.shutdown" => State::ShutdownRequested,
            "xen:domain_shutdown" => {
                if call.args.get(1).map(|v| v.to_string()).as_deref() == Some("3") {
                    State::Crashed
                } else {
                    State::ShuttingDown
                }
            }
            "xen:__domain_crash" | "guest:panic" => State::Crashed,
            "xen:__domain_finalise_shutdown" if self != State::Crashed => State::ShutDown,
            "xend:XendDomainInfo.destroy" | "xen:domain_kill" => State::Destroying,
            "xen:complete_domain_destroy" => State::Destroyed,
            _ => self,
        }
    }
}

/// Each call's domain state (before it ran) and its step, computed once
/// per model run in the trace's order.
pub struct Steps {
    /// Per domid, each change of state: (the call after which, the state).
    changes: std::collections::BTreeMap<u32, Vec<(usize, State)>>,
    ordinal: Vec<u8>,
}

impl Steps {
    /// Walks the trace.
    pub fn of(calls: &[CallRecord]) -> Steps {
        let mut state: std::collections::BTreeMap<u32, State> = Default::default();
        // The watch firings since the domain's last shutdown request: the
        // first is xend's own write (step 4), the next the guest's ack (7).
        let mut watch: std::collections::BTreeMap<u32, u8> = Default::default();
        let mut changes: std::collections::BTreeMap<u32, Vec<(usize, State)>> = Default::default();
        let mut ordinal = Vec::with_capacity(calls.len());
        for c in calls {
            let s = state.get(&c.domid).copied().unwrap_or_default();
            let mut k = 0;
            match c.probe.name() {
                "xend:XendDomainInfo.shutdown" => {
                    watch.insert(c.domid, 0);
                }
                "xend:XendDomainInfo._handleShutdownWatch" => {
                    if let Some(n) = watch.get_mut(&c.domid) {
                        k = (*n).min(1);
                        *n += 1;
                    }
                }
                _ => {}
            }
            ordinal.push(k);
            let next = s.after(c);
            if next != s {
                changes
                    .entry(c.domid)
                    .or_default()
                    .push((ordinal.len() - 1, next));
            }
            state.insert(c.domid, next);
        }
        Steps { changes, ordinal }
    }

    /// Domain `domid`'s state before the call numbered `at` began (the
    /// calls before it in the trace all began earlier).
    pub fn state_at(&self, domid: u32, at: usize) -> State {
        let Some(ch) = self.changes.get(&domid) else {
            return State::Running;
        };
        let i = ch.partition_point(|(k, _)| *k < at);
        if i == 0 {
            State::Running
        } else {
            ch[i - 1].1
        }
    }

    /// The seed-path step of call `id` (of `probe`); `line_in_call` picks
    /// between a probe's two steps (its first or a later line).
    pub fn step(&self, id: CallId, probe: Probe, line_in_call: usize) -> Option<u8> {
        let s = seed_steps(probe.name());
        match s.len() {
            0 => None,
            1 => Some(s[0]),
            _ if probe.name() == "xend:XendDomainInfo._handleShutdownWatch" => {
                let k = self.ordinal.get(id as usize).copied().unwrap_or(0);
                Some(s[(k as usize).min(1)])
            }
            _ => Some(s[line_in_call.min(s.len() - 1)]),
        }
    }
}

/// The calls from `id` out to its thread's first, innermost first.
pub fn callers(calls: &[CallRecord], id: CallId) -> Vec<CallId> {
    let mut out = Vec::new();
    let mut cur = Some(id);
    while let Some(c) = cur {
        if out.len() > 64 {
            break;
        }
        out.push(c);
        cur = calls.get(c as usize).and_then(|r| r.parent);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_probe_a_step_names_exists_in_the_model() {
        let named = [
            "xm:shutdown",
            "xend:XendDomainInfo.shutdown",
            "xend:XendDomainInfo._handleShutdownWatch",
            "qemu:destroy_hvm_domain",
            "xend:XendDomainInfo.refreshShutdown",
            "xend:XendDomainInfo.destroy",
            "xend:XendDomainInfo.cleanupDomain",
            "xend:image._sentinel_watch",
            "xend:XendDomainInfo._releaseDevices",
            "xend:XendDomainInfo.destroyDevice",
            "xend:XendDomainInfo._releaseRunningLock",
            "xend:XendDomainInfo.handleHideDevicesWatch",
            "xen:__domain_finalise_shutdown",
        ];
        for p in named {
            assert!(Probe::by_name(p).is_some(), "{p}");
            assert!(!seed_steps(p).is_empty(), "{p}");
        }
    }
}
