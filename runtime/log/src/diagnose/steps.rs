//! A model call, told in the reference's terms: its step on the seed's path
//! (`reference/seed-path.md` numbers the probes of `xm shutdown`), the
//! call it was made from, and the domain's state when it ran — all read
//! from the model's trace, not from the line's text.

use xsh_sim::probe::Probe;
use xsh_sim::trace::{CallId, CallRecord};

/// The steps of `reference/seed-path.md` whose lines a probe's code
/// writes, by the rank of the line in the call (a probe that writes two
/// lines of the path, like `_releaseDevices`, is two steps; its last step
/// goes on for its later lines).
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
        // helper2.c: cpu_handle_ioreq logs `shutdown requested in
        // cpu_handle_ioreq` before it calls destroy_hvm_domain (row 17),
        // which logs `Issued domain N poweroff` once Xen took it (row 19).
        "qemu:cpu_handle_ioreq" => &[17],
        "qemu:acpi_shutdown" => &[16],
        "qemu:destroy_hvm_domain" => &[19],
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
    /// Per call of `_handleShutdownWatch`: which firing since the domain's
    /// last shutdown request it is (0: xend's own write, 1: the guest's
    /// ack or later); `NOT_ASKED` for a firing no request caused (the
    /// watch firing on registration when the domain is built).
    ordinal: Vec<u8>,
    /// Per call: made on the 300 s timer's thread, under the
    /// `refreshShutdown` it runs (step 33's late cleanup).
    on_timer: Vec<bool>,
}

/// A `_handleShutdownWatch` firing with no shutdown request before it.
const NOT_ASKED: u8 = u8::MAX;

/// The probes of the cleanup a `refreshShutdown` runs when it finds the
/// domain gone (`cleanupDomain` and what it calls).
const CLEANUP: &[&str] = &[
    "xend:XendDomainInfo.cleanupDomain",
    "xend:XendDomainInfo._releaseDevices",
    "xend:XendDomainInfo.destroyDevice",
    "xend:DevController.destroyDevice",
    "xend:DevController.waitForDevice_destroy",
    "xend:XendDomainInfo._removeDom",
    "xend:XendDomainInfo._cleanupVm",
    "xend:XendDomainInfo._releaseRunningLock",
];

impl Steps {
    /// Walks the trace.
    pub fn of(calls: &[CallRecord]) -> Steps {
        let mut state: std::collections::BTreeMap<u32, State> = Default::default();
        // The watch firings since the domain's last shutdown request: the
        // first is xend's own write (step 4), the next the guest's ack (7).
        let mut watch: std::collections::BTreeMap<u32, u8> = Default::default();
        let mut changes: std::collections::BTreeMap<u32, Vec<(usize, State)>> = Default::default();
        let mut ordinal = Vec::with_capacity(calls.len());
        let mut on_timer = Vec::with_capacity(calls.len());
        for c in calls {
            let s = state.get(&c.domid).copied().unwrap_or_default();
            let mut k = 0;
            match c.probe.name() {
                "xend:XendDomainInfo.shutdown" => {
                    watch.insert(c.domid, 0);
                }
                "xend:XendDomainInfo._handleShutdownWatch" => match watch.get_mut(&c.domid) {
                    Some(n) => {
                        k = (*n).min(1);
                        *n += 1;
                    }
                    None => k = NOT_ASKED,
                },
                _ => {}
            }
            ordinal.push(k);
            // The Timer thread's `refreshShutdown` is the first call on its
            // context (the Watcher's comes from `_refresh`, the restart
            // thread's work from `_maybeRestart`); a parent began earlier.
            let timer = match c.parent {
                None => c.probe.name() == "xend:XendDomainInfo.refreshShutdown",
                Some(p) => on_timer.get(p as usize).copied().unwrap_or(false),
            };
            on_timer.push(timer);
            let next = s.after(c);
            if next != s {
                changes
                    .entry(c.domid)
                    .or_default()
                    .push((ordinal.len() - 1, next));
            }
            state.insert(c.domid, next);
        }
        Steps {
            changes,
            ordinal,
            on_timer,
        }
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
        let name = probe.name();
        // The timer from step 4, never cancelled, finds the domain gone
        // and cleans up again (`No device model`, `Releasing devices`).
        if self.on_timer.get(id as usize).copied().unwrap_or(false) && CLEANUP.contains(&name) {
            return Some(33);
        }
        let s = seed_steps(name);
        match s.len() {
            0 => None,
            // The sentinel thread starts with the device model (`waiting
            // for sentinel_fifo`); step 26 is its line when qemu-dm dies.
            _ if name == "xend:image._sentinel_watch" => (line_in_call > 0).then_some(s[0]),
            1 => Some(s[0]),
            _ if name == "xend:XendDomainInfo._handleShutdownWatch" => {
                match self.ordinal.get(id as usize).copied().unwrap_or(NOT_ASKED) {
                    NOT_ASKED => None,
                    k => Some(s[(k as usize).min(1)]),
                }
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
