//! `xm`, the command-line client (X tools/python/xen/xm/): each command is a
//! dom0 process that talks to xend over XML-RPC; every request runs on a new
//! xend thread (SocketServer.ThreadingMixIn).

use crate::xenstore::join;
use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use crate::probe::{Layer, Probe};
use crate::stack::NO_DOM;
use crate::time::SimDuration;
use crate::value::Value;
use crate::Sim;

use super::xend::lines::ThreadKind;
use super::xend::python::start_thread;
use super::xend::{domain, info, VmConfig, VmRef};

/// One XML-RPC round trip: a request thread in xend runs `body`.
pub async fn rpc<T: 'static, F, Fut>(sim: &Sim, method: &str, body: F) -> T
where
    F: FnOnce(Sim) -> Fut + 'static,
    Fut: Future<Output = T> + 'static,
{
    sim.sleep(SimDuration::micros(400)).await;
    let cell: Rc<RefCell<Option<T>>> = Rc::new(RefCell::new(None));
    let waiter: Rc<RefCell<Option<crate::exec::TaskId>>> = Rc::new(RefCell::new(None));
    let (c2, w2, s2) = (cell.clone(), waiter.clone(), sim.clone());
    start_thread(sim, ThreadKind::Rpc, method, move || async move {
        let r = body(s2.clone()).await;
        *c2.borrow_mut() = Some(r);
        if let Some(t) = w2.borrow_mut().take() {
            s2.wake(t);
        }
    });
    loop {
        let done = cell.borrow_mut().take();
        if let Some(v) = done {
            sim.sleep(SimDuration::micros(300)).await;
            return v;
        }
        let w = waiter.clone();
        sim.park(move |t| *w.borrow_mut() = Some(t)).await;
    }
}

/// `server.xend.domain.<fn>(dom, ...)` through XMLRPCServer.dispatch: look
/// the domain up, then call.
async fn lookup(sim: &Sim, target: &str) -> Result<VmRef, String> {
    domain::domain_lookup(sim, target.to_string())
        .await
        .map_err(|_| format!("Domain '{target}' does not exist."))
}

/// Starts an `xm` process and returns its context.
pub fn process_ctx(sim: &Sim, cmd: &str) -> crate::stack::CtxId {
    let pid = crate::dom0::next_pid(sim);
    sim.new_thread_ctx(format!("xm {cmd} (pid {pid})"), Layer::Xm, NO_DOM)
}

/// `xm shutdown [-w] [-H|-R] <dom>`.
pub async fn shutdown(sim: &Sim, target: String, mode: String, wait: bool) -> Result<(), String> {
    let s = sim.clone();
    let (t2, m2) = (target.clone(), mode.clone());
    let out: Rc<RefCell<Result<(), String>>> = Rc::new(RefCell::new(Ok(())));
    let o2 = out.clone();
    let probe = if mode == "reboot" {
        Probe::XmReboot
    } else {
        Probe::XmShutdown
    };
    sim.call(
        probe,
        NO_DOM,
        move || vec![Value::str(&t2), Value::str(&m2)],
        async move {
            // rcs[dom] = server.xend.domain.getRestartCount(dom)
            let t = target.clone();
            let rc = rpc(&s, "getRestartCount", move |s| async move {
                let vm = lookup(&s, &t).await?;
                let vp = s.xend.borrow().vm(vm).vmpath.clone();
                Ok::<_, String>(
                    super::xend::python::read(&s, join(&vp, "xend/restart_count")).await,
                )
            })
            .await;
            if let Err(e) = rc {
                *o2.borrow_mut() = Err(e);
                return;
            }
            let (t, m) = (target.clone(), mode.clone());
            let r = rpc(&s, "domain.shutdown", move |s| async move {
                let vm = lookup(&s, &t).await?;
                info::shutdown(&s, vm, m).await
            })
            .await;
            if let Err(e) = r {
                *o2.borrow_mut() = Err(e);
                return;
            }
            if wait {
                // wait_shutdown: poll the running list every second, no timeout.
                loop {
                    s.sleep(SimDuration::secs(1)).await;
                    let t = target.clone();
                    let running = rpc(&s, "domains", move |s| async move {
                        match domain::lookup_nr(&s, &t) {
                            Some(vm) => domain::state_get(&s, vm) == domain::DomState::Running,
                            None => false,
                        }
                    })
                    .await;
                    if !running {
                        break;
                    }
                }
            }
        },
    )
    .await;
    out.replace(Ok(()))
}

/// `xm destroy <dom>`.
pub async fn destroy(sim: &Sim, target: String) -> Result<(), String> {
    let s = sim.clone();
    let t2 = target.clone();
    let out: Rc<RefCell<Result<(), String>>> = Rc::new(RefCell::new(Ok(())));
    let o2 = out.clone();
    sim.call(
        Probe::XmDestroy,
        NO_DOM,
        move || vec![Value::str(&t2)],
        async move {
            let r = rpc(&s, "domain.destroy", move |s| async move {
                let vm = domain::lookup_nr(&s, &target)
                    .ok_or_else(|| format!("Domain '{target}' does not exist."))?;
                domain::domain_destroy(&s, vm).await
            })
            .await;
            *o2.borrow_mut() = r;
        },
    )
    .await;
    out.replace(Ok(()))
}

/// `xm trigger <dom> <trigger> [vcpu]`.
pub async fn trigger(sim: &Sim, target: String, trig: String, vcpu: u32) -> Result<(), String> {
    let s = sim.clone();
    let (t2, g2) = (target.clone(), trig.clone());
    let out: Rc<RefCell<Result<(), String>>> = Rc::new(RefCell::new(Ok(())));
    let o2 = out.clone();
    sim.call(
        Probe::XmTrigger,
        NO_DOM,
        move || vec![Value::str(&t2), Value::str(&g2), Value::Int(vcpu as i64)],
        async move {
            let r = rpc(&s, "domain.send_trigger", move |s| async move {
                let vm = domain::lookup_nr(&s, &target)
                    .ok_or_else(|| format!("Domain '{target}' does not exist."))?;
                domain::domain_send_trigger(&s, vm, trig, vcpu).await
            })
            .await;
            *o2.borrow_mut() = r;
        },
    )
    .await;
    out.replace(Ok(()))
}

/// `xm create`: domain.create, then waitForDevices, then unpause.
pub async fn create(sim: &Sim, cfg: VmConfig) -> Result<u32, String> {
    let s = sim.clone();
    let name = cfg.name.clone();
    let out: Rc<RefCell<Result<u32, String>>> = Rc::new(RefCell::new(Err(String::new())));
    let o2 = out.clone();
    sim.call(
        Probe::XmCreate,
        NO_DOM,
        move || vec![Value::str(&name)],
        async move {
            let r = rpc(&s, "domain.create", move |s| async move {
                super::xend::create::create_vm(&s, cfg).await
            })
            .await;
            let vm = match r {
                Ok(vm) => vm,
                Err(e) => {
                    *o2.borrow_mut() = Err(e);
                    return;
                }
            };
            rpc(&s, "domain.waitForDevices", move |s| async move {
                super::xend::devices::wait_for_devices(&s, vm).await
            })
            .await;
            rpc(&s, "domain.unpause", move |s| async move {
                super::xend::create::unpause(&s, vm).await
            })
            .await;
            let domid = s.xend.borrow().vm(vm).domid.unwrap_or(0);
            *o2.borrow_mut() = Ok(domid);
        },
    )
    .await;
    out.replace(Err(String::new()))
}
