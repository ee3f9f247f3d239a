//! `xen` (the hypervisor's console and domain list) and `xend` (its log).

use std::rc::Rc;

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};
use xsh_sim::hypervisor::{self, domctl::DomInfo};
use xsh_sim::toolstack::xend::{self, Level};

use crate::{rt_err, HostState};

type R<T> = Result<T, Box<EvalAltResult>>;

/// The `xen` global.
#[derive(Clone)]
pub struct XenApi(pub Rc<HostState>);

/// The `xend` global.
#[derive(Clone)]
pub struct XendApi(pub Rc<HostState>);

fn info_map(i: &DomInfo) -> Dynamic {
    let mut m = Map::new();
    m.insert("domid".into(), Dynamic::from_int(i.domid as i64));
    m.insert("hvm".into(), Dynamic::from_bool(i.hvm));
    m.insert("dying".into(), Dynamic::from_bool(i.dying));
    m.insert("shutdown".into(), Dynamic::from_bool(i.shutdown));
    m.insert("crashed".into(), Dynamic::from_bool(i.crashed));
    m.insert("paused".into(), Dynamic::from_bool(i.paused));
    m.insert("blocked".into(), Dynamic::from_bool(i.blocked));
    m.insert("running".into(), Dynamic::from_bool(i.running));
    m.insert(
        "shutdown_reason".into(),
        Dynamic::from_int(i.shutdown_reason as i64),
    );
    m.insert(
        "online_vcpus".into(),
        Dynamic::from_int(i.online_vcpus as i64),
    );
    Dynamic::from_map(m)
}

/// Registers `xen` and `xend`.
pub fn register(e: &mut Engine) {
    e.register_type_with_name::<XenApi>("Xen");
    e.register_type_with_name::<XendApi>("Xend");
    e.register_fn("console", |x: &mut XenApi| -> R<String> {
        crate::observe::logs_kept(&x.0.sim)?;
        Ok(x.0.sim.logs.borrow().xen.text().to_string())
    });
    // `xen.print(text)`: the engine renames `.print` to `.__print` (engine.rs).
    e.register_fn("__print", |x: &mut XenApi, text: &str| {
        hypervisor::console_print(&x.0.sim, text);
    });
    e.register_fn("domains", |x: &mut XenApi| -> Array {
        hypervisor::domctl::list_domains(&x.0.sim)
            .iter()
            .map(info_map)
            .collect()
    });
    e.register_fn("domain", |x: &mut XenApi, id: i64| -> Dynamic {
        if id < 0 {
            return Dynamic::UNIT;
        }
        hypervisor::domctl::getdomaininfo(&x.0.sim, id as u32)
            .as_ref()
            .map_or(Dynamic::UNIT, info_map)
    });
    e.register_fn("set_guest_loglvl", |x: &mut XenApi, all: bool| {
        x.0.sim.xen.borrow_mut().guest_loglvl_info = all;
    });

    e.register_fn("log", |x: &mut XendApi| -> R<String> {
        crate::observe::logs_kept(&x.0.sim)?;
        Ok(x.0.sim.logs.borrow().xend.text().to_string())
    });
    e.register_get_set(
        "pid",
        |x: &mut XendApi| x.0.sim.xend.borrow().pid as i64,
        |x: &mut XendApi, pid: i64| -> R<()> {
            if !(1..=4_194_304).contains(&pid) {
                return rt_err(format!("xend.pid: {pid} is not a Linux pid (1..4194304)"));
            }
            // Setting xend up makes it this host's toolstack.
            xsh_sim::host::ensure_xend(&x.0.sim).or_else(rt_err)?;
            x.0.sim.xend.borrow_mut().pid = pid as u32;
            Ok(())
        },
    );
    fn set_preempt(x: &mut XendApi, p: f64) -> R<()> {
        if !(0.0..=1.0).contains(&p) {
            return rt_err(format!("xend.preempt is a probability (0..1), got {p}"));
        }
        xsh_sim::host::ensure_xend(&x.0.sim).or_else(rt_err)?;
        x.0.sim.xend.borrow_mut().opts.preempt = p;
        Ok(())
    }
    e.register_get_set(
        "preempt",
        |x: &mut XendApi| x.0.sim.xend.borrow().opts.preempt,
        set_preempt,
    );
    // `xend.preempt = 1` (or 0) is a probability written as an integer.
    e.register_set("preempt", |x: &mut XendApi, p: i64| {
        set_preempt(x, p as f64)
    });
    e.register_fn("core_dumps", |x: &mut XendApi| -> Array {
        x.0.sim
            .xend
            .borrow()
            .dumps
            .iter()
            .map(|d| Dynamic::from(d.clone()))
            .collect()
    });
    e.register_fn("log_info", |x: &mut XendApi, msg: &str| {
        xend::log_here(&x.0.sim, Level::Info, msg)
    });
    e.register_fn("log_debug", |x: &mut XendApi, msg: &str| {
        xend::log_here(&x.0.sim, Level::Debug, msg)
    });
}
