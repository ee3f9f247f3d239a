//! `xm` and the Domain, kernel and qemu objects.

use std::rc::Rc;

use rhai::{Array, Dynamic, Engine, EvalAltResult, FnPtr, ImmutableString, Map};
use xsh_sim::guest::PowerOff;
use xsh_sim::host::{self, CreateSpec};

use crate::hooks::{install, HookKind};
use crate::{rt_err, HostState};

type R<T> = Result<T, Box<EvalAltResult>>;

/// The `xm` global.
#[derive(Clone)]
pub struct XmApi(pub Rc<HostState>);

/// A domain (`xm.create` returns one).
#[derive(Clone)]
pub struct DomainApi {
    st: Rc<HostState>,
    /// Its domid (fixed for the object's life: a restart makes a new domain).
    pub domid: u32,
    /// Its name.
    pub name: String,
}

/// `dom.kernel`.
#[derive(Clone)]
pub struct KernelApi(Rc<HostState>, u32);

/// `dom.qemu`.
#[derive(Clone)]
pub struct QemuApi(Rc<HostState>, u32);

const KEYS: &[&str] = &[
    "name",
    "id",
    "type",
    "guest",
    "devices",
    "on_poweroff",
    "on_reboot",
    "on_crash",
    "acpi",
    "pv_drivers",
    "platform_pci",
    "vcpus",
    "memory",
];
/// What a script sets on the running guest's kernel (`dom.kernel.X`),
/// which people put in the config by mistake.
const KERNEL_KEYS: &[&str] = &["init", "poweroff_cmd", "pm_power_off", "panic"];
const ACTIONS: &[&str] = &[
    "destroy",
    "restart",
    "preserve",
    "rename-restart",
    "coredump-destroy",
    "coredump-restart",
];
const CLASSES: &[&str] = &[
    "vif", "vbd", "vkbd", "vfb", "console", "pci", "tap", "tap2", "vif2", "vscsi", "vusb",
    "ioports", "irq",
];

fn want_str(m: &Map, k: &str) -> R<Option<String>> {
    match m.get(k) {
        None => Ok(None),
        Some(v) if v.is_string() => Ok(Some(v.clone().into_string().unwrap_or_default())),
        Some(v) => rt_err(format!(
            "xm.create: `{k}` must be a string, got {}",
            v.type_name()
        )),
    }
}
fn want_bool(m: &Map, k: &str) -> R<Option<bool>> {
    match m.get(k) {
        None => Ok(None),
        Some(v) => v.as_bool().map(Some).or_else(|_| {
            rt_err(format!(
                "xm.create: `{k}` must be a bool, got {}",
                v.type_name()
            ))
        }),
    }
}
fn want_int(m: &Map, k: &str) -> R<Option<i64>> {
    match m.get(k) {
        None => Ok(None),
        Some(v) => v.as_int().map(Some).or_else(|_| {
            rt_err(format!(
                "xm.create: `{k}` must be an int, got {}",
                v.type_name()
            ))
        }),
    }
}

/// Checks an `xm.create` config and turns it into a spec. Every bad key
/// and value is reported at once, one per line, as a config file's
/// checker would: fixing them one run at a time is the slow way.
pub fn parse_config(m: &Map) -> R<CreateSpec> {
    let mut errs: Vec<String> = Vec::new();
    let mut unknown = false;
    // A misspelt `name` is reported as such, not also as missing.
    let mut named = false;
    for k in m.keys() {
        if !KEYS.contains(&k.as_str()) {
            unknown = true;
            let near = crate::suggest::closest(k, KEYS.iter().copied());
            let mean = match crate::suggest::did_you_mean(&near, |s| format!("`{s}`")) {
                Some(d) => format!(" ({d})"),
                // What the running guest's kernel has, not its config.
                None if KERNEL_KEYS.contains(&k.as_str()) => {
                    format!(" (it is the running guest's: `dom.kernel.{k} = ...` after xm.create)")
                }
                None => String::new(),
            };
            errs.push(format!("unknown config key `{k}`{mean}"));
            if near.contains(&"name") {
                named = true;
            }
        }
    }
    let spec = parse_known(m, &mut errs);
    if named {
        errs.retain(|e| !e.starts_with("the config needs a `name`"));
    }
    if errs.is_empty() {
        return Ok(spec);
    }
    let mut msg = match errs.as_slice() {
        [one] => format!("xm.create: {one}"),
        all => format!(
            "xm.create: {} problems in the config:\n{}",
            all.len(),
            all.iter()
                .map(|e| format!("  - {e}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    };
    if unknown {
        msg.push_str(&format!("\nthe keys are: {}", KEYS.join(", ")));
    }
    rt_err(msg)
}

/// The known keys of a config; each problem is pushed onto `errs`.
fn parse_known(m: &Map, errs: &mut Vec<String>) -> CreateSpec {
    // A value of the wrong type is a problem of its own; the key is then
    // taken as absent.
    let name = match take(errs, want_str(m, "name")) {
        Some(n) => n,
        None => {
            if !m.contains_key("name") {
                errs.push("the config needs a `name`".into());
            }
            "invalid".into()
        }
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        errs.push(format!(
            "`name` {name:?} is not a valid domain name (letters, digits, -_.)"
        ));
    }
    let mut spec = CreateSpec::new(&name);
    spec.devices.clear();
    if let Some(id) = take(errs, want_int(m, "id")) {
        if !(1..0x7ff0).contains(&id) {
            errs.push(format!(
                "`id` {id} is out of range (1..32751; 0 is Domain-0)"
            ));
        }
        spec.id = Some(id as u32);
    }
    match take(errs, want_str(m, "type")).as_deref() {
        None | Some("hvm") => spec.hvm = true,
        Some("pv") => spec.hvm = false,
        Some(t) => errs.push(format!("`type` must be \"hvm\" or \"pv\", got {t:?}")),
    }
    if let Some(g) = take(errs, want_str(m, "guest")) {
        if xsh_sim::guest::profile::by_name(&g).is_none() {
            let names: Vec<&str> = xsh_sim::guest::profile::PROFILES
                .iter()
                .map(|p| p.name)
                .collect();
            errs.push(format!(
                "unknown guest profile {g:?} (known: {})",
                names.join(", ")
            ));
        } else {
            spec.guest = g;
        }
    }
    if let Some(d) = m.get("devices") {
        let arr = match d.as_array_ref() {
            Ok(a) => a.clone(),
            Err(_) => {
                errs.push(format!(
                    "`devices` must be an array of \"class/id\" strings, got {}",
                    d.type_name()
                ));
                Vec::new()
            }
        };
        for item in arr.iter() {
            let Ok(s) = item.clone().into_string() else {
                errs.push(format!(
                    "each device must be a \"class/id\" string, got {}",
                    item.type_name()
                ));
                continue;
            };
            let Some((class, id)) = s.split_once('/') else {
                errs.push(format!("device {s:?} must look like \"vif/0\""));
                continue;
            };
            if !CLASSES.contains(&class) || id.is_empty() || !id.chars().all(|c| c.is_ascii_digit())
            {
                errs.push(format!(
                    "device {s:?}: unknown class or non-numeric id (classes: {})",
                    CLASSES.join(", ")
                ));
                continue;
            }
            if spec.devices.iter().any(|(c, i)| c == class && i == id) {
                errs.push(format!("device {s:?} is listed twice"));
                continue;
            }
            spec.devices.push((class.to_string(), id.to_string()));
        }
    }
    for (k, slot) in [("on_poweroff", 0), ("on_reboot", 1), ("on_crash", 2)] {
        if let Some(v) = take(errs, want_str(m, k)) {
            if !ACTIONS.contains(&v.as_str()) {
                errs.push(format!(
                    "`{k}` must be one of {}, got {v:?}",
                    ACTIONS.join(", ")
                ));
                continue;
            }
            match slot {
                0 => spec.on_poweroff = v,
                1 => spec.on_reboot = v,
                _ => spec.on_crash = v,
            }
        }
    }
    if let Some(b) = take(errs, want_bool(m, "acpi")) {
        spec.acpi = b;
    }
    if let Some(b) = take(errs, want_bool(m, "pv_drivers")) {
        spec.pv_drivers = b;
    }
    if let Some(b) = take(errs, want_bool(m, "platform_pci")) {
        spec.platform_pci = b;
    }
    if let Some(v) = take(errs, want_int(m, "vcpus")) {
        if !(1..=128).contains(&v) {
            errs.push(format!("`vcpus` must be 1..128, got {v}"));
        }
        spec.vcpus = v as u32;
    }
    if let Some(v) = take(errs, want_int(m, "memory")) {
        if !(16..=1 << 20).contains(&v) {
            errs.push(format!("`memory` (MiB) must be 16..1048576, got {v}"));
        }
        spec.memory = v as u64;
    }
    spec
}

/// The value of a typed read, or `None` with its problem pushed.
fn take<T>(errs: &mut Vec<String>, r: R<Option<T>>) -> Option<T> {
    r.unwrap_or_else(|e| {
        errs.push(msg_of(&e));
        None
    })
}

/// A `want_*` error's text, without the `xm.create: ` the list puts once.
fn msg_of(e: &EvalAltResult) -> String {
    let s = match e {
        EvalAltResult::ErrorRuntime(v, _) => v.to_string(),
        e => e.to_string(),
    };
    s.trim_start_matches("xm.create: ").to_string()
}

fn target_of(st: &HostState, d: &Dynamic) -> R<String> {
    if let Some(dom) = d.clone().try_cast::<DomainApi>() {
        let _ = st;
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

/// An xm command's failure. A command that waits for the world (create,
/// `shutdown(…, #{wait: true})`) can also end because the world stopped:
/// a limit was reached or a hook failed while it ran. Those are not xm's
/// refusals: they are reported as `sim.run()` reports them (a limit exits 3).
fn xm_err<T>(st: &HostState, e: String) -> R<T> {
    if st.pending_error.borrow().is_some() || crate::diag::Limit::of_message(&e).is_some() {
        return Err(st.world_stopped(e));
    }
    rt_err(format!("Error: {e}"))
}

impl DomainApi {
    /// A handle.
    pub fn new(st: Rc<HostState>, domid: u32, name: String) -> DomainApi {
        DomainApi { st, domid, name }
    }
}

/// Looks a domain up the way `xm.domain(x)` does.
pub fn find_domain(st: &Rc<HostState>, key: &str) -> Option<DomainApi> {
    let x = st.sim.xend.borrow();
    let id = key.parse::<u32>().ok();
    x.domains
        .iter()
        .find(|(&d, &v)| Some(d) == id || x.vm(v).cfg.name == key)
        .map(|(&d, &v)| DomainApi::new(st.clone(), d, x.vm(v).cfg.name.clone()))
}

/// Registers `xm`, Domain, kernel and qemu.
pub fn register(e: &mut Engine) {
    e.register_type_with_name::<XmApi>("Xm");
    e.register_type_with_name::<DomainApi>("Domain");
    e.register_type_with_name::<KernelApi>("Kernel");
    e.register_type_with_name::<QemuApi>("Qemu");

    e.register_fn("create", |x: &mut XmApi, cfg: Map| -> R<DomainApi> {
        let spec = parse_config(&cfg)?;
        let domid = host::xm_create(&x.0.sim, &spec).or_else(|e| xm_err(&x.0, e))?;
        x.0.created.set(x.0.created.get() + 1);
        Ok(DomainApi::new(x.0.clone(), domid, spec.name))
    });
    e.register_fn("shutdown", |x: &mut XmApi, dom: Dynamic| -> R<()> {
        let t = target_of(&x.0, &dom)?;
        host::xm_shutdown(&x.0.sim, &t, "poweroff", false).or_else(|e| xm_err(&x.0, e))
    });
    e.register_fn(
        "shutdown",
        |x: &mut XmApi, dom: Dynamic, opts: Map| -> R<()> {
            let t = target_of(&x.0, &dom)?;
            for k in opts.keys() {
                if !["wait", "mode"].contains(&k.as_str()) {
                    return rt_err(format!(
                        "xm.shutdown: unknown option `{k}` (expected wait, mode)"
                    ));
                }
            }
            let wait = match opts.get("wait") {
                None => false,
                Some(v) => v
                    .as_bool()
                    .or_else(|_| rt_err("xm.shutdown: `wait` must be a bool"))?,
            };
            let mode = match opts.get("mode").map(|v| v.clone().into_string()) {
                None => "poweroff".to_string(),
                Some(Ok(m)) if ["poweroff", "halt", "reboot"].contains(&m.as_str()) => m,
                Some(_) => {
                    return rt_err(
                        "xm.shutdown: `mode` must be \"poweroff\", \"halt\" or \"reboot\"",
                    )
                }
            };
            host::xm_shutdown(&x.0.sim, &t, &mode, wait).or_else(|e| xm_err(&x.0, e))
        },
    );
    e.register_fn("reboot", |x: &mut XmApi, dom: Dynamic| -> R<()> {
        let t = target_of(&x.0, &dom)?;
        host::xm_shutdown(&x.0.sim, &t, "reboot", false).or_else(|e| xm_err(&x.0, e))
    });
    e.register_fn("destroy", |x: &mut XmApi, dom: Dynamic| -> R<()> {
        let t = target_of(&x.0, &dom)?;
        host::xm_destroy(&x.0.sim, &t).or_else(|e| xm_err(&x.0, e))
    });
    e.register_fn(
        "trigger",
        |x: &mut XmApi, dom: Dynamic, trig: &str| -> R<()> {
            let t = target_of(&x.0, &dom)?;
            host::xm_trigger(&x.0.sim, &t, trig, 0).or_else(|e| xm_err(&x.0, e))
        },
    );
    e.register_fn(
        "trigger",
        |x: &mut XmApi, dom: Dynamic, trig: &str, vcpu: i64| -> R<()> {
            let t = target_of(&x.0, &dom)?;
            host::xm_trigger(&x.0.sim, &t, trig, vcpu.max(0) as u32).or_else(|e| xm_err(&x.0, e))
        },
    );
    e.register_fn("list", |x: &mut XmApi| -> R<Array> {
        let rows = host::xm_list(&x.0.sim).or_else(|e| xm_err(&x.0, e))?;
        Ok(super::list_rows(rows))
    });
    e.register_fn("domain", |x: &mut XmApi, key: Dynamic| -> R<DomainApi> {
        let k = target_of(&x.0, &key)?;
        host::ensure_xend(&x.0.sim).or_else(|e| xm_err(&x.0, e))?;
        find_domain(&x.0, &k).ok_or_else(|| format!("Error: Domain '{k}' does not exist.").into())
    });

    e.register_get("id", |d: &mut DomainApi| d.domid as i64);
    e.register_get("name", |d: &mut DomainApi| d.name.clone());
    e.register_get("uuid", |d: &mut DomainApi| -> Dynamic {
        let xen = d.st.sim.xen.borrow();
        xen.domain(d.domid)
            .map_or(Dynamic::UNIT, |x| Dynamic::from(x.uuid.to_string()))
    });
    e.register_get("type", |d: &mut DomainApi| -> String {
        let hvm = d.st.sim.xen.borrow().domain(d.domid).map(|x| x.hvm);
        match hvm {
            Some(true) => "hvm".into(),
            Some(false) => "pv".into(),
            None => "()".into(),
        }
    });
    e.register_get("state", |d: &mut DomainApi| {
        host::domain_state(&d.st.sim, d.domid).to_string()
    });
    e.register_get("shutdown_reason", |d: &mut DomainApi| -> Dynamic {
        host::shutdown_reason(&d.st.sim, d.domid)
            .map_or(Dynamic::UNIT, |r| Dynamic::from(r.to_string()))
    });
    e.register_get("devices", |d: &mut DomainApi| -> Array {
        let x = d.st.sim.xend.borrow();
        let vm = x.vms.iter().rev().find(|v| v.cfg.name == d.name);
        if let Some(v) = vm {
            return v
                .cfg
                .devices
                .iter()
                .map(|dv| Dynamic::from(format!("{}/{}", dv.class, dv.devid)))
                .collect();
        }
        // A domain libxl made: the devices libxl gave it.
        let xl = d.st.sim.xl.borrow();
        xl.domains
            .get(&d.domid)
            .map(|c| {
                c.devices(d.domid)
                    .iter()
                    .map(|dv| Dynamic::from(format!("{}/{}", dv.kind.name(), dv.devid)))
                    .collect()
            })
            .unwrap_or_default()
    });
    e.register_get("kernel", |d: &mut DomainApi| {
        KernelApi(d.st.clone(), d.domid)
    });
    e.register_get("qemu", |d: &mut DomainApi| -> Dynamic {
        let has = d.st.sim.qemu.borrow().by_dom.contains_key(&d.domid);
        if has {
            Dynamic::from(QemuApi(d.st.clone(), d.domid))
        } else {
            Dynamic::UNIT
        }
    });
    e.register_fn("console", |d: &mut DomainApi| -> R<String> {
        crate::observe::logs_kept(&d.st.sim)?;
        let f = xsh_sim::guest::console_file(&d.name);
        Ok(d.st
            .sim
            .logs
            .borrow()
            .files
            .get(&f)
            .map(|s| s.text().to_string())
            .unwrap_or_default())
    });
    e.register_fn("on", |d: &mut DomainApi, probe: &str, f: FnPtr| -> R<i64> {
        install(&d.st, probe, Some(d.domid), HookKind::On, f).or_else(rt_err)
    });
    e.register_fn(
        "hook",
        |d: &mut DomainApi, probe: &str, f: FnPtr| -> R<i64> {
            install(&d.st, probe, Some(d.domid), HookKind::Hook, f).or_else(rt_err)
        },
    );
    e.register_fn("to_string", |d: &mut DomainApi| {
        format!("Domain({}, {})", d.domid, d.name)
    });
    e.register_fn("to_debug", |d: &mut DomainApi| {
        format!("Domain({}, {})", d.domid, d.name)
    });

    e.register_get_set(
        "pm_power_off",
        |k: &mut KernelApi| -> Dynamic {
            let g = k.0.sim.guests.borrow();
            match g.get(k.1).and_then(|g| g.pm_power_off.name()) {
                Some(n) => Dynamic::from(n),
                None => Dynamic::UNIT,
            }
        },
        |k: &mut KernelApi, v: Dynamic| -> R<()> {
            let p = if v.is_unit() {
                PowerOff::Null
            } else if v.is_string() {
                let s = v.into_string().unwrap_or_default();
                match s.as_str() {
                    "acpi_power_off" => PowerOff::Symbol("acpi_power_off"),
                    "xen_machine_power_off" => PowerOff::Symbol("xen_machine_power_off"),
                    "native_machine_halt" => PowerOff::Symbol("native_machine_halt"),
                    other => {
                        return rt_err(format!(
                            "pm_power_off: no kernel function {other:?} (known: acpi_power_off, xen_machine_power_off, native_machine_halt; or a closure, or ())"
                        ))
                    }
                }
            } else if let Some(f) = v.clone().try_cast::<FnPtr>() {
                if let Some(msg) = k.0.arity_error(&f, 0, "pm_power_off expects a closure taking no parameters") {
            return rt_err(msg);
        }
                let st = Rc::downgrade(&k.0);
                PowerOff::Custom(Rc::new(move |_sim, _domid| {
                    if let Some(st) = st.upgrade() {
                        st.call_ptr(&f, ());
                    }
                }))
            } else {
                return rt_err(format!("pm_power_off takes a function name, a closure or (), not {}", v.type_name()));
            };
            let mut g = k.0.sim.guests.borrow_mut();
            match g.get_mut(k.1) {
                Some(g) => {
                    g.pm_power_off = p;
                    Ok(())
                }
                None => rt_err(format!("domain {} has no running guest kernel", k.1)),
            }
        },
    );
    e.register_get_set(
        "poweroff_cmd",
        |k: &mut KernelApi| -> String {
            k.0.sim
                .guests
                .borrow()
                .get(k.1)
                .map(|g| g.poweroff_cmd.clone())
                .unwrap_or_default()
        },
        |k: &mut KernelApi, v: String| -> R<()> {
            if v.len() >= 256 {
                return rt_err("poweroff_cmd is limited to 255 bytes (POWEROFF_CMD_PATH_LEN)");
            }
            let mut g = k.0.sim.guests.borrow_mut();
            g.get_mut(k.1)
                .map(|g| g.poweroff_cmd = v)
                .ok_or_else(|| format!("domain {} has no running guest kernel", k.1).into())
        },
    );
    e.register_get_set(
        "init",
        |k: &mut KernelApi| -> String {
            let g = k.0.sim.guests.borrow();
            match g.get(k.1) {
                Some(g) if g.init_hangs => "hung".into(),
                Some(g) => match g.profile.init {
                    xsh_sim::guest::profile::InitKind::Systemd => "systemd".into(),
                    xsh_sim::guest::profile::InitKind::Sysvinit => "sysvinit".into(),
                },
                None => String::new(),
            }
        },
        |k: &mut KernelApi, v: String| -> R<()> {
            let mut g = k.0.sim.guests.borrow_mut();
            let Some(g) = g.get_mut(k.1) else {
                return rt_err(format!("domain {} has no running guest kernel", k.1));
            };
            match v.as_str() {
                "hung" | "hang" => g.init_hangs = true,
                "systemd" | "sysvinit" => g.init_hangs = false,
                other => {
                    return rt_err(format!(
                        "dom.kernel.init: {other:?} is not one of \"hung\" (PID 1 stops answering), \"systemd\" or \"sysvinit\" (PID 1 answers again; the guest keeps the init it booted)"
                    ))
                }
            }
            Ok(())
        },
    );
    e.register_get("pv_drivers", |k: &mut KernelApi| -> bool {
        k.0.sim
            .guests
            .borrow()
            .get(k.1)
            .is_some_and(|g| g.pv_drivers)
    });
    e.register_fn("remove_file", |k: &mut KernelApi, path: &str| -> R<()> {
        let mut g = k.0.sim.guests.borrow_mut();
        let Some(g) = g.get_mut(k.1) else {
            return rt_err(format!("domain {} has no running guest kernel", k.1));
        };
        g.files.retain(|f| *f != path);
        Ok(())
    });
    e.register_fn("panic", |k: &mut KernelApi, msg: &str| -> R<()> {
        let sim = k.0.sim.clone();
        let domid = k.1;
        if sim.guests.borrow().get(domid).is_none() {
            return rt_err(format!("domain {domid} has no running guest kernel"));
        }
        // panic() runs on the task that calls it: inside a hook on one of
        // this guest's probes, that task (its name and its stack as it
        // stands, so the Call Trace shows how it got there); from the
        // script's top level, the idle task of CPU 0.
        let (name, frames) = {
            let ctxs = sim.ctxs.borrow();
            let cur = ctxs.get(sim.current_ctx());
            if cur.layer == xsh_sim::probe::Layer::Guest && cur.domid == domid {
                (cur.name.to_string(), cur.stack.clone())
            } else {
                ("swapper/0".to_string(), Vec::new())
            }
        };
        let ctx = xsh_sim::guest::new_task_ctx(&sim, domid, &name);
        sim.ctxs.borrow_mut().get_mut(ctx).stack = frames;
        let (s2, m) = (sim.clone(), msg.to_string());
        xsh_sim::guest::spawn(&sim, domid, ctx, async move {
            xsh_sim::guest::reboot::guest_panic(&s2, domid, m).await
        });
        Ok(())
    });

    e.register_fn("log", |q: &mut QemuApi| -> R<String> {
        crate::observe::logs_kept(&q.0.sim)?;
        // This domain's process's own file, wherever rotation moved it.
        let name = xsh_sim::qemu_dm::log_of(&q.0.sim, q.1).unwrap_or_default();
        Ok(q.0
            .sim
            .logs
            .borrow()
            .files
            .get(&name)
            .map(|s| s.text().to_string())
            .unwrap_or_default())
    });
    e.register_get("pid", |q: &mut QemuApi| -> i64 {
        q.0.sim
            .qemu
            .borrow()
            .by_dom
            .get(&q.1)
            .map_or(0, |q| q.pid as i64)
    });
    e.register_get("alive", |q: &mut QemuApi| -> bool {
        q.0.sim
            .qemu
            .borrow()
            .by_dom
            .get(&q.1)
            .is_some_and(|q| q.alive)
    });
    e.register_fn("kill", |q: &mut QemuApi, signo: i64| -> R<()> {
        if !(1..=64).contains(&signo) {
            return rt_err(format!("kill: {signo} is not a signal number"));
        }
        xsh_sim::qemu_dm::signal(&q.0.sim, q.1, signo as u32);
        Ok(())
    });
    let _ = ImmutableString::new();
}
