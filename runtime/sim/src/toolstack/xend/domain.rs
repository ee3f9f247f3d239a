//! XendDomain (X tools/python/xen/xend/XendDomain.py): the domain list under
//! `domains_lock`, the `@releaseDomain`/`@introduceDomain` callback, and the
//! RPC entry points xm reaches.

use crate::hypervisor::changes::{Reader, Snapshot};
use crate::hypervisor::domctl::{self, DomInfo, Domctl};
use std::rc::Rc;

use crate::probe::Probe;
use crate::value::Value;
use crate::xenstore::{Req, Resp};
use crate::Sim;

use super::lines::L;
use super::python::{acquire, release, xs_call};
use super::{domid_of, info, VmRef};

/// Power states as `_stateGet` computes them.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum DomState {
    /// No domain, or Xen says shut down.
    Halted,
    /// Crashed.
    Crashed,
    /// Paused by the toolstack.
    Paused,
    /// Running.
    Running,
}

/// `dom_get(domid)`: Xen's view, or `None`.
pub fn dom_get(sim: &Sim, domid: Option<u32>) -> Option<DomInfo> {
    domid.and_then(|d| domctl::getdomaininfo(sim, d))
}

/// `XendDomainInfo._stateGet()`: computed live from Xen.
pub fn state_get(sim: &Sim, vm: VmRef) -> DomState {
    let domid = sim.xend.borrow().vm(vm).domid;
    match dom_get(sim, domid) {
        None => DomState::Halted,
        Some(i) if i.shutdown => DomState::Halted,
        Some(i) if i.crashed => DomState::Crashed,
        Some(i) if i.paused => DomState::Paused,
        Some(_) => DomState::Running,
    }
}

/// `_on_domains_changed`: takes domains_lock and refreshes.
pub async fn on_domains_changed(sim: &Sim, path: Rc<str>) -> bool {
    let s = sim.clone();
    sim.call(
        Probe::XendOnDomainsChanged,
        crate::stack::NO_DOM,
        move || vec![Value::str(&path)],
        async move {
            let lock = s.xend.borrow().domains_lock;
            acquire(&s, lock).await;
            s.at(L::OnDomainsRefresh as u16);
            refresh(&s, true).await;
            release(&s, lock);
            1i64
        },
    )
    .await
        != 0
}

/// `_refresh`: `_refreshTxn` inside a fresh transaction.
pub async fn refresh(sim: &Sim, refresh_shutdown: bool) {
    let s = sim.clone();
    sim.call(
        Probe::XendRefresh,
        crate::stack::NO_DOM,
        move || vec![Value::Bool(refresh_shutdown)],
        async move {
            let tx = match xs_call(&s, None, Req::TxStart).await {
                Ok(Resp::Tx(t)) => Some(t),
                _ => None,
            };
            s.at(L::RefreshTxn as u16);
            // Boxed: each modelled frame nests its future in its caller's,
            // and this path is deep enough to strain the compiler's layout
            // queries (create's refresh reaches refreshShutdown through it).
            Box::pin(refresh_txn(&s, refresh_shutdown)).await;
            if let Some(t) = tx {
                let _ = xs_call(&s, Some(t), Req::TxEnd(true)).await;
            }
        },
    )
    .await
}

/// `_refreshTxn(transaction, refresh_shutdown)`: one snapshot of Xen's list
/// (`xc.domain_getinfo()`, with what changed since the last refresh,
/// quiet.rs), `update` each tracked domain in it, forget the gone.
async fn refresh_txn(sim: &Sim, refresh_shutdown: bool) {
    let s = sim.clone();
    sim.call(
        Probe::XendRefreshTxn,
        crate::stack::NO_DOM,
        move || vec![Value::Bool(refresh_shutdown)],
        async move {
            let snap = Snapshot::take(&s);
            let changed = s.xen.borrow_mut().drain_changes(Reader::Xend);
            s.xend.borrow_mut().quiet.unquiet.extend(changed);
            if refresh_shutdown {
                update_all(&s, &snap).await;
            }
            // ... then forget the tracked ones the same snapshot shows gone
            // or dying (`running_domids`), in domid order.
            let gone = gone_domains(&s, &snap);
            drop(snap);
            for (domid, vm) in gone {
                s.at(L::RefreshTxnRemove as u16);
                remove_domain_locked(&s, vm, domid).await;
            }
        },
    )
    .await
}

/// `for domid, info in running: if domid in self.domains: update(info)`,
/// `in` asked afresh for each entry (xend's dict changes only while this
/// thread waits). A domain quiet.rs does not list would have been visited
/// to no effect, so it is skipped — all but the line the loop leaves its
/// frame at, which is set as the skipped visits would have set it.
async fn update_all(s: &Sim, snap: &Snapshot) {
    let mut after = 0;
    let mut updated = None;
    while let Some((domid, vm)) = next_visit(s, snap, after) {
        after = domid;
        let Some(info) = snap.info(domid) else {
            continue;
        };
        s.at(L::RefreshTxnUpdate as u16);
        if info::refresh_changes_nothing(s, vm, &info) {
            s.xend.borrow_mut().verified_quiet(domid, vm);
        } else {
            Box::pin(update(s, vm, info)).await;
            updated = Some(domid);
        }
    }
    // The loop's last visit was to the last tracked domain of the snapshot.
    let more = {
        let x = s.xend.borrow();
        let mut it = x.domains.range(updated.map_or(1, |u| u + 1)..);
        it.any(|(&d, _)| d != 0 && snap.present(d))
    };
    if more {
        s.at(L::RefreshTxnUpdate as u16);
    }
}

/// The next tracked domain of the snapshot after `after` to visit: every
/// one while refreshShutdown calls can be observed, else those quiet.rs
/// lists (shutdowns that timed out since join them now).
fn next_visit(s: &Sim, snap: &Snapshot, after: u32) -> Option<(u32, VmRef)> {
    if !info::refresh_skippable(s) {
        let x = s.xend.borrow();
        let mut it = x.domains.range(after.checked_add(1)?..);
        return it
            .find(|(&d, _)| d != 0 && snap.present(d))
            .map(|(&d, &vm)| (d, vm));
    }
    let (total, now) = (
        s.xend.borrow().opts.shutdown_timeout.as_secs_f64(),
        s.wall_now(),
    );
    s.xend
        .borrow_mut()
        .expire(|start| info::timed_out(total, now, start));
    let next = s.xend.borrow_mut().next_unquiet(after, |d| snap.present(d));
    #[cfg(debug_assertions)]
    check_skipped(s, snap, after, next);
    next.map(|d| (d, s.xend.borrow().domains[&d]))
}

/// Debug builds: every domain skipped between `after` and `next` would
/// indeed have been visited to no effect.
#[cfg(debug_assertions)]
fn check_skipped(s: &Sim, snap: &Snapshot, after: u32, next: Option<u32>) {
    let skipped: Vec<(u32, VmRef)> = {
        let x = s.xend.borrow();
        x.domains
            .range(after + 1..next.unwrap_or(u32::MAX))
            .filter(|(&d, _)| d != 0 && snap.present(d) && !x.is_unquiet(d))
            .map(|(&d, &v)| (d, v))
            .collect()
    };
    for (d, vm) in skipped {
        let info = snap.info(d).expect("present");
        let st = info::quiet_state(s, vm, &info);
        let now = s.xend.borrow().vm(vm).state;
        debug_assert!(
            st == Some(now),
            "_refresh would skip domain {d}: {st:?} vs {now}"
        );
    }
}

/// The tracked domains (but Domain-0) the snapshot shows gone or dying, in
/// domid order. Only those quiet.rs lists can be: a domain it does not list
/// was found running since, and has not changed in Xen.
fn gone_domains(s: &Sim, snap: &Snapshot) -> Vec<(u32, VmRef)> {
    let x = s.xend.borrow();
    let gone_in_snap = |d: u32| snap.gone_or_dying(d);
    let gone: Vec<(u32, VmRef)> = x
        .quiet
        .unquiet
        .iter()
        .filter(|&&d| d != 0 && gone_in_snap(d))
        .filter_map(|&d| x.domains.get(&d).map(|&vm| (d, vm)))
        .collect();
    #[cfg(debug_assertions)]
    {
        let full: Vec<(u32, VmRef)> = x
            .domains
            .iter()
            .filter(|(&d, _)| d != 0 && gone_in_snap(d))
            .map(|(&d, &v)| (d, v))
            .collect();
        debug_assert_eq!(gone, full, "_refresh's gone domains");
    }
    gone
}

/// `XendDomainInfo.update(info)`: stores Xen's info, then `refreshShutdown(info)`.
async fn update(sim: &Sim, vm: VmRef, info: DomInfo) {
    let s = sim.clone();
    let shown = info.clone();
    sim.call(
        Probe::XendInfoUpdate,
        domid_of(sim, vm),
        move || vec![info::info_value(&shown)],
        async move {
            s.at(L::UpdateRefresh as u16);
            info::refresh_shutdown(&s, vm, Some(info)).await;
        },
    )
    .await
}

/// `remove_domain`: `_remove_domain` under domains_lock.
pub async fn remove_domain(sim: &Sim, vm: VmRef) {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    sim.call(
        Probe::XendRemoveDomain,
        domid,
        move || vec![Value::Int(domid as i64)],
        async move {
            let lock = s.xend.borrow().domains_lock;
            acquire(&s, lock).await;
            s.at(L::RemoveDomainCall as u16);
            remove_domain_locked(&s, vm, domid).await;
            release(&s, lock);
        },
    )
    .await
}

/// `_remove_domain`: cleanupDomain unless already halted, then forget it.
async fn remove_domain_locked(sim: &Sim, vm: VmRef, domid: u32) {
    if state_get(sim, vm) != DomState::Halted {
        sim.at(L::RemoveDomainCleanup as u16);
        super::destroy::cleanup_domain(sim, vm).await;
    }
    let mut x = sim.xend.borrow_mut();
    if x.domains.get(&domid) == Some(&vm) {
        x.untrack(domid);
    }
}

/// Finds a tracked domain by name or id (`domain_lookup_nr`).
pub fn lookup_nr(sim: &Sim, name_or_id: &str) -> Option<VmRef> {
    let x = sim.xend.borrow();
    if let Ok(id) = name_or_id.parse::<u32>() {
        if let Some(&v) = x.domains.get(&id) {
            return Some(v);
        }
    }
    x.tracked_named(name_or_id)
}

/// `domain_lookup`: a refresh without shutdown handling, then the lookup.
pub async fn domain_lookup(sim: &Sim, name_or_id: String) -> Result<VmRef, String> {
    let s = sim.clone();
    let shown = name_or_id.clone();
    let r: i64 = sim
        .call(
            Probe::XendDomainLookup,
            crate::stack::NO_DOM,
            move || vec![Value::str(&shown)],
            async move {
                let lock = s.xend.borrow().domains_lock;
                acquire(&s, lock).await;
                s.at(L::LookupRefresh as u16);
                refresh(&s, false).await;
                let found = lookup_nr(&s, &name_or_id);
                release(&s, lock);
                found.map_or(-1, |v| v.0 as i64)
            },
        )
        .await;
    if r < 0 {
        Err(format!("Domain '{}' does not exist.", sim_name(sim, r)))
    } else {
        Ok(VmRef(r as u32))
    }
}

fn sim_name(_sim: &Sim, _r: i64) -> String {
    String::new()
}

/// `domain_destroy`: `xm destroy`.
pub async fn domain_destroy(sim: &Sim, vm: VmRef) -> Result<(), String> {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    let r: Option<String> = sim
        .call(
            Probe::XendDomainDestroy,
            domid,
            move || vec![Value::Int(domid as i64)],
            async move {
                if domid == 0 {
                    return Some("Cannot destroy privileged domain 0".to_string());
                }
                s.at(L::DomainDestroyCall as u16);
                super::destroy::destroy(&s, vm).await;
                None
            },
        )
        .await;
    match r {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// `domain_send_trigger`: `xm trigger`.
pub async fn domain_send_trigger(
    sim: &Sim,
    vm: VmRef,
    trigger: String,
    vcpu: u32,
) -> Result<(), String> {
    let s = sim.clone();
    let domid = domid_of(sim, vm);
    let shown = trigger.clone();
    let r: Option<String> = sim
        .call(
            Probe::XendDomainSendTrigger,
            domid,
            move || {
                vec![
                    Value::Int(domid as i64),
                    Value::str(&shown),
                    Value::Int(vcpu as i64),
                ]
            },
            async move {
                let st = state_get(&s, vm);
                if !matches!(st, DomState::Running | DomState::Paused) {
                    return Some(format!("Domain '{domid}' is not started"));
                }
                let code = match trigger.as_str() {
                    "nmi" => 0,
                    "reset" => 1,
                    "init" => 2,
                    "power" => 3,
                    "s3resume" => {
                        domctl::hvm_set_param(&s, domid, crate::hypervisor::param::ACPI_S_STATE, 0);
                        return None;
                    }
                    other => return Some(format!("Invalid trigger: {other}")),
                };
                s.at(L::TriggerCall as u16);
                let rc = domctl::do_domctl(&s, domid, Domctl::SendTrigger(code)).await;
                (rc != 0).then(|| format!("({}, 'Function not implemented')", -rc))
            },
        )
        .await;
    match r {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
