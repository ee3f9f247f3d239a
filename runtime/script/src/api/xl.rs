//! `xl`: Xen 4.4.4's other toolstack, driven like `xm` (docs/xl.md). Each
//! method runs the `xl` command to its end; a command that fails throws what
//! it printed, as a user at dom0's shell would have read it.

use std::rc::Rc;

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};
use xsh_sim::toolstack::xl::{self as model, cmd, DmVersion, DomainConfig};
use xsh_sim::toolstack::Toolstack;

use crate::api::xm::{parse_config, DomainApi};
use crate::{rt_err, HostState};

type R<T> = Result<T, Box<EvalAltResult>>;

/// The `xl` global.
#[derive(Clone)]
pub struct XlApi(pub Rc<HostState>);

/// The device classes an `xl` config can name: disks and nics, PV
/// framebuffers; console 0 and vkbd 0 are libxl's own for an HVM guest.
const XL_CLASSES: &[&str] = &["vif", "vbd", "vfb", "vkbd", "console"];

/// `xm.create`'s config plus `device_model_version`, as libxl reads it.
fn parse_xl_config(m: &Map) -> R<DomainConfig> {
    let mut rest = m.clone();
    let dm = match rest.remove("device_model_version") {
        None => DmVersion::default(),
        Some(v) => {
            let s = v.clone().into_string().map_err(|_| {
                format!(
                    "xl.create: `device_model_version` must be a string, got {}",
                    v.type_name()
                )
            })?;
            DmVersion::parse(&s).ok_or_else(|| {
                format!(
                    "xl.create: `device_model_version` must be \"qemu-xen\" or \"qemu-xen-traditional\", got {s:?}"
                )
            })?
        }
    };
    let spec = parse_config(&rest).map_err(|e| rename(*e))?;
    let mut disks = Vec::new();
    let mut nics = Vec::new();
    let mut vfbs = Vec::new();
    for (class, id) in &spec.devices {
        if !XL_CLASSES.contains(&class.as_str()) {
            return rt_err(format!(
                "xl.create: device \"{class}/{id}\": xsh's xl models {} (console 0 and vkbd 0 are libxl's own for HVM)",
                XL_CLASSES.join(", ")
            ));
        }
        let n: u32 = id.parse().unwrap_or(0);
        match class.as_str() {
            "vbd" => disks.push(n),
            "vif" => nics.push(n),
            // libxl gives an HVM guest no vfb (its display is qemu's).
            "vfb" if !spec.hvm => vfbs.push(n),
            _ => {}
        }
    }
    // xl's own defaults (xl_cmdimpl.c:921-949): on_crash is destroy.
    let on_crash = if m.contains_key("on_crash") {
        spec.on_crash.clone()
    } else {
        "destroy".to_string()
    };
    Ok(DomainConfig {
        name: spec.name.clone(),
        uuid: xsh_sim::uuid::Uuid::NIL,
        hvm: spec.hvm,
        guest: spec.guest.clone(),
        domid: spec.id,
        disks,
        nics,
        vfbs,
        on_poweroff: spec.on_poweroff.clone(),
        on_reboot: spec.on_reboot.clone(),
        on_crash,
        on_watchdog: "destroy".into(),
        dm_version: dm,
        pv_drivers: spec.pv_drivers,
        platform_pci: spec.platform_pci,
        acpi: spec.acpi,
        vcpus: spec.vcpus,
        memory: spec.memory,
    })
}

/// An `xm.create` message, for `xl.create`.
fn rename(e: EvalAltResult) -> Box<EvalAltResult> {
    match e {
        EvalAltResult::ErrorRuntime(v, p) => {
            let s = v.to_string().replace("xm.create:", "xl.create:");
            Box::new(EvalAltResult::ErrorRuntime(Dynamic::from(s), p))
        }
        other => Box::new(other),
    }
}

fn target_of(d: &Dynamic) -> R<String> {
    if let Some(dom) = d.clone().try_cast::<DomainApi>() {
        return Ok(dom.domid.to_string());
    }
    if d.is_string() {
        return Ok(d.clone().into_string().unwrap_or_default());
    }
    if let Ok(i) = d.as_int() {
        return Ok(i.to_string());
    }
    rt_err(format!(
        "expected a Domain, a name or a domid, got {}",
        d.type_name()
    ))
}

/// A command that ran: its value, or what it printed as the error.
fn result<T>(st: &HostState, r: Result<model::proc::CmdResult<T>, String>) -> R<T> {
    match r {
        Err(e) => Err(st.world_stopped(e)),
        Ok(c) => match (c.status, c.value) {
            (0, Some(v)) => Ok(v),
            (status, _) => {
                let out = c.output.trim_end();
                if out.is_empty() {
                    rt_err(format!("xl exited with status {status}"))
                } else {
                    rt_err(out.to_string())
                }
            }
        },
    }
}

/// Makes this host an xl host unless it already runs xend (then the
/// commands that modify refuse, as xl.c does).
fn use_xl(st: &HostState) -> R<()> {
    xsh_sim::host::use_toolstack(&st.sim, Toolstack::Xl).or_else(rt_err)
}

fn opts(what: &str, m: &Map) -> R<(bool, bool)> {
    for k in m.keys() {
        if !["wait", "fallback"].contains(&k.as_str()) {
            return rt_err(format!(
                "xl.{what}: unknown option `{k}` (expected wait, fallback)"
            ));
        }
    }
    let flag = |k: &str| -> R<bool> {
        match m.get(k) {
            None => Ok(false),
            Some(v) => v
                .as_bool()
                .or_else(|_| rt_err(format!("xl.{what}: `{k}` must be a bool"))),
        }
    };
    Ok((flag("wait")?, flag("fallback")?))
}

/// Looks a domain up by name or domid the way `xl` names them.
pub fn find_domain(st: &Rc<HostState>, key: &str) -> Option<DomainApi> {
    let xs = st.sim.xs.borrow();
    let id = key.parse::<u32>().ok();
    let doms = xsh_sim::hypervisor::domctl::list_domains(&st.sim);
    doms.iter().find_map(|i| {
        let name = xs.peek(&format!("/local/domain/{}/name", i.domid))?;
        (Some(i.domid) == id || name == key).then(|| DomainApi::new(st.clone(), i.domid, name))
    })
}

/// Registers `xl`.
pub fn register(e: &mut Engine) {
    e.register_type_with_name::<XlApi>("Xl");

    e.register_fn("create", |x: &mut XlApi, cfg: Map| -> R<DomainApi> {
        let c = parse_xl_config(&cfg)?;
        use_xl(&x.0)?;
        let name = c.name.clone();
        let domid = result(&x.0, cmd::create(&x.0.sim, c))?;
        x.0.created.set(x.0.created.get() + 1);
        Ok(DomainApi::new(x.0.clone(), domid, name))
    });
    e.register_fn("shutdown", |x: &mut XlApi, dom: Dynamic| -> R<()> {
        let t = target_of(&dom)?;
        use_xl(&x.0)?;
        result(&x.0, cmd::shutdown(&x.0.sim, &t, false, false, false))
    });
    e.register_fn("shutdown", |x: &mut XlApi, dom: Dynamic, o: Map| -> R<()> {
        let t = target_of(&dom)?;
        let (wait, fallback) = opts("shutdown", &o)?;
        use_xl(&x.0)?;
        result(&x.0, cmd::shutdown(&x.0.sim, &t, false, wait, fallback))
    });
    e.register_fn("reboot", |x: &mut XlApi, dom: Dynamic| -> R<()> {
        let t = target_of(&dom)?;
        use_xl(&x.0)?;
        result(&x.0, cmd::shutdown(&x.0.sim, &t, true, false, false))
    });
    e.register_fn("reboot", |x: &mut XlApi, dom: Dynamic, o: Map| -> R<()> {
        let t = target_of(&dom)?;
        let (wait, fallback) = opts("reboot", &o)?;
        use_xl(&x.0)?;
        result(&x.0, cmd::shutdown(&x.0.sim, &t, true, wait, fallback))
    });
    e.register_fn("destroy", |x: &mut XlApi, dom: Dynamic| -> R<()> {
        let t = target_of(&dom)?;
        use_xl(&x.0)?;
        result(&x.0, cmd::destroy(&x.0.sim, &t))
    });
    e.register_fn(
        "trigger",
        |x: &mut XlApi, dom: Dynamic, trig: &str| -> R<()> {
            let t = target_of(&dom)?;
            use_xl(&x.0)?;
            result(&x.0, cmd::trigger(&x.0.sim, &t, trig, 0))
        },
    );
    e.register_fn(
        "trigger",
        |x: &mut XlApi, dom: Dynamic, trig: &str, vcpu: i64| -> R<()> {
            let t = target_of(&dom)?;
            use_xl(&x.0)?;
            result(&x.0, cmd::trigger(&x.0.sim, &t, trig, vcpu.max(0) as u32))
        },
    );
    e.register_fn("list", |x: &mut XlApi| -> R<Array> {
        let rows = result(&x.0, cmd::list(&x.0.sim))?;
        Ok(super::list_rows(rows))
    });
    e.register_fn("domain", |x: &mut XlApi, key: Dynamic| -> R<DomainApi> {
        let k = target_of(&key)?;
        find_domain(&x.0, &k)
            .ok_or_else(|| format!("{k} is an invalid domain identifier (rc=-6)").into())
    });
    e.register_fn("log", |x: &mut XlApi, dom: Dynamic| -> R<String> {
        crate::observe::logs_kept(&x.0.sim)?;
        let name = match dom.clone().try_cast::<DomainApi>() {
            Some(d) => d.name,
            None => dom
                .into_string()
                .map_err(|t| format!("xl.log takes a Domain or a domain name, got {t}"))?,
        };
        let file = model::log_file(&name);
        Ok(x.0
            .sim
            .logs
            .borrow()
            .files
            .get(&file)
            .map(|s| s.text().to_string())
            .unwrap_or_default())
    });
    e.register_fn("output", |x: &mut XlApi| -> String {
        x.0.sim.xl.borrow().last_output.clone()
    });
    e.register_get_set(
        "verbose",
        |x: &mut XlApi| x.0.sim.xl.borrow().opts.verbose as i64,
        |x: &mut XlApi, v: i64| -> R<()> {
            if !(0..=4).contains(&v) {
                return rt_err(format!(
                    "xl.verbose is the number of -v given to xl (0..4; 3 is -vvv), got {v}"
                ));
            }
            x.0.sim.xl.borrow_mut().opts.verbose = v as u8;
            Ok(())
        },
    );
    e.register_fn("to_string", |_: &mut XlApi| "xl".to_string());
}
