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
            let doms: Vec<u32> = s.xs.borrow().domains.keys().copied().collect();
            let infos = domctl::getdomaininfo_each(&s, &doms);
            let mut notify = false;
            let mut any_down = false;
            for (domid, info) in doms.into_iter().zip(infos) {
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
