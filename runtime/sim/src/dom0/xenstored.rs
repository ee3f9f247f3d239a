//! xenstored's own work in dom0: introducing domains, and the VIRQ_DOM_EXC
//! handler that fires `@releaseDomain` (X tools/xenstore/xenstored_domain.c:
//! 187-252, 342-393; oxenstored's domains.ml for the OCaml daemon).

use crate::hypervisor::domctl;
use crate::probe::Probe;
use crate::profile::XenstoredKind;
use crate::stack::HopId;
use crate::value::Value;
use crate::xenstore::{ConnId, DomainConn, Sink};
use crate::Sim;

/// INTRODUCE: a connection for the new domain's ring, `@introduceDomain`.
pub fn introduce_domain(sim: &Sim, domid: u32) -> ConnId {
    let conn = {
        let mut xs = sim.xs.borrow_mut();
        let c = xs.connect(domid, true, &format!("domain {domid}"), Sink::Queue);
        xs.cleanup_check.insert(domid);
        xs.domains.insert(
            domid,
            DomainConn {
                conn: c,
                shutdown_seen: false,
            },
        );
        c
    };
    let now = sim.now();
    let hop = sim.hop("@introduceDomain");
    sim.xs
        .borrow_mut()
        .fire_special("@introduceDomain", now, hop);
    crate::xenstore::deliver_owed(sim);
    conn
}

/// `destroy_domain`: the domain's connection goes, with its watches and
/// transactions; C xenstored fires `@releaseDomain` for it (oxenstored fires
/// once for the whole VIRQ, in `domain_cleanup`).
fn release_domain(sim: &Sim, domid: u32, hop: Option<HopId>, fire: bool) {
    let now = sim.now();
    {
        let mut xs = sim.xs.borrow_mut();
        let Some(d) = xs.domains.remove(&domid) else {
            return;
        };
        xs.cleanup_down.remove(&domid);
        xs.cleanup_check.remove(&domid);
        xs.close_conn(d.conn);
        if fire {
            xs.fire_special("@releaseDomain", now, hop);
        }
    }
    crate::xenstore::deliver_owed(sim);
}

/// The VIRQ_DOM_EXC handler: runs `domain_cleanup` on xenstored's context.
pub fn on_virq_dom_exc(sim: &Sim, hop: Option<HopId>) {
    let ctx = sim.dom0.borrow().xenstored_ctx;
    sim.adopt(ctx, hop);
    let s = sim.clone();
    sim.spawn(ctx, async move { domain_cleanup(&s).await });
}

async fn domain_cleanup(sim: &Sim) {
    let s = sim.clone();
    sim.call(
        Probe::XsDomainCleanup,
        crate::stack::NO_DOM,
        Vec::new,
        async move {
            let kind = s.cfg().xenstored;
            // The loop is over every introduced domain; only those Xen
            // changed since the last look, or to be released, can do
            // anything in it (hypervisor/changes.rs). The others found shut
            // down before are still: they count for oxenstored's firing.
            let doms = domains_to_check(&s);
            let infos = domctl::getdomaininfo_each(&s, &doms);
            let mut notify = false;
            let mut any_down = false;
            let mut down_here = 0;
            for (domid, info) in doms.into_iter().zip(infos) {
                {
                    let mut xs = s.xs.borrow_mut();
                    match &info {
                        Some(i) if !i.dying => {
                            if i.crashed || i.shutdown {
                                xs.cleanup_down.insert(domid);
                                down_here += 1;
                            } else {
                                xs.cleanup_down.remove(&domid);
                            }
                        }
                        _ => {
                            // Looked at again until released (a hook may keep it).
                            xs.cleanup_down.remove(&domid);
                            xs.cleanup_check.insert(domid);
                        }
                    }
                }
                if let Some(i) = &info {
                    if i.crashed || i.shutdown {
                        any_down = true;
                        let mut xs = s.xs.borrow_mut();
                        if let Some(d) = xs.domains.get_mut(&domid) {
                            if !d.shutdown_seen {
                                d.shutdown_seen = true;
                                notify = true;
                            }
                        }
                    }
                    if !i.dying {
                        continue;
                    }
                }
                // Gone or dying: free the connection, which fires the watch itself.
                let hop = s.hop("@releaseDomain");
                let s2 = s.clone();
                let c = kind == XenstoredKind::C;
                s.call(
                    Probe::XsReleaseDomain,
                    domid,
                    move || vec![Value::Int(domid as i64)],
                    async move {
                        release_domain(&s2, domid, hop, c);
                    },
                )
                .await;
                any_down = true;
                if kind == XenstoredKind::C {
                    notify = false;
                }
            }
            // oxenstored has no once-only latch: it fires while any domain is
            // shut down or dying.
            any_down |= s.xs.borrow().cleanup_down.len() > down_here;
            let fire = match kind {
                XenstoredKind::C => notify,
                XenstoredKind::OCaml => any_down,
            };
            if fire {
                let now = s.now();
                let hop = s.hop("@releaseDomain");
                s.xs.borrow_mut().fire_special("@releaseDomain", now, hop);
                crate::xenstore::deliver_owed(&s);
            }
        },
    )
    .await
}

/// The introduced domains `domain_cleanup` has to look at, in domid order:
/// those Xen changed since it last looked, plus `cleanup_check`. Every other
/// introduced domain has not changed since it last looked and was then
/// running, or shut down with the latch set (`cleanup_down`): the full loop
/// would pass over it but for counting it down.
fn domains_to_check(sim: &Sim) -> Vec<u32> {
    let changed = sim
        .xen
        .borrow_mut()
        .drain_changes(crate::hypervisor::changes::Reader::Xenstored);
    let mut xs = sim.xs.borrow_mut();
    let mut check = std::mem::take(&mut xs.cleanup_check);
    check.extend(changed);
    let doms: Vec<u32> = check
        .into_iter()
        .filter(|d| xs.domains.contains_key(d))
        .collect();
    #[cfg(debug_assertions)]
    {
        let all: Vec<u32> = xs.domains.keys().copied().collect();
        let infos = domctl::getdomaininfo_each(sim, &all);
        for (d, i) in all.iter().zip(infos) {
            if doms.contains(d) {
                continue;
            }
            let ok = i.is_some_and(|i| {
                let down = i.crashed || i.shutdown;
                !i.dying
                    && down == xs.cleanup_down.contains(d)
                    && (!down || xs.domains[d].shutdown_seen)
            });
            debug_assert!(ok, "domain_cleanup would skip domain {d}");
        }
    }
    doms
}
