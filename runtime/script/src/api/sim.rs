//! `sim`: the clock, the run, timers and the trace.

use std::rc::Rc;

use rhai::{Dynamic, Engine, EvalAltResult, FnPtr, Map};
use xsh_sim::time::{Epoch, SimDuration};
use xsh_sim::Profile;

use crate::{rt_err, HostState};

type R<T> = Result<T, Box<EvalAltResult>>;

/// The `sim` global.
#[derive(Clone)]
pub struct SimApi(pub Rc<HostState>);

fn secs(d: Dynamic) -> R<f64> {
    let v = if let Ok(i) = d.as_int() {
        i as f64
    } else if let Ok(f) = d.as_float() {
        f
    } else {
        return rt_err(format!(
            "expected seconds as a number, got {}",
            d.type_name()
        ));
    };
    if !v.is_finite() || v < 0.0 {
        return rt_err(format!("seconds must be a finite number ≥ 0, got {v}"));
    }
    Ok(v)
}

/// Registers `sim`.
pub fn register(e: &mut Engine) {
    e.register_type_with_name::<SimApi>("Sim");
    e.register_get_set(
        "start_time",
        |s: &mut SimApi| -> String { s.0.sim.cfg().epoch.format(xsh_sim::time::SimTime::ZERO) },
        |s: &mut SimApi, v: String| -> R<()> {
            let ep = Epoch::parse(&v).or_else(rt_err)?;
            s.0.sim.cfg_mut().epoch = ep;
            Ok(())
        },
    );
    e.register_get_set(
        "profile",
        |s: &mut SimApi| -> String { s.0.sim.profile().name().to_string() },
        |s: &mut SimApi, v: String| -> R<()> {
            let p = Profile::parse(&v).or_else(rt_err)?;
            s.0.sim.cfg_mut().profile = p;
            Ok(())
        },
    );
    e.register_get_set(
        "xenstored",
        |s: &mut SimApi| -> String { s.0.sim.cfg().xenstored.name().to_string() },
        |s: &mut SimApi, v: String| -> R<()> {
            let k = xsh_sim::profile::XenstoredKind::parse(&v).or_else(rt_err)?;
            s.0.sim.set_xenstored(k);
            Ok(())
        },
    );
    e.register_get("toolstack", |s: &mut SimApi| -> Dynamic {
        s.0.sim
            .toolstack
            .get()
            .map_or(Dynamic::UNIT, |t| Dynamic::from(t.name().to_string()))
    });
    e.register_set(
        "toolstack",
        |s: &mut SimApi, v: String| -> R<()> {
            use xsh_sim::toolstack::Toolstack;
            let t = Toolstack::parse(&v).or_else(rt_err)?;
            match (s.0.sim.toolstack.get(), t) {
                (Some(Toolstack::Xm), Toolstack::Xl) => rt_err(
                    "sim.toolstack = \"xl\": this host already runs xend (an xm command or xend setting came first); a world runs one toolstack",
                ),
                _ => xsh_sim::host::use_toolstack(&s.0.sim, t).or_else(rt_err),
            }
        },
    );
    e.register_get("seed", |s: &mut SimApi| -> i64 {
        s.0.sim.cfg().seed as i64
    });
    e.register_fn("now", |s: &mut SimApi| -> f64 {
        s.0.sim.now().as_secs_f64()
    });
    e.register_fn("run", |s: &mut SimApi| -> R<()> { s.0.run_world(None) });
    e.register_fn("run_for", |s: &mut SimApi, d: Dynamic| -> R<()> {
        let d = secs(d)?;
        let until = s.0.sim.now().after(SimDuration::from_secs_f64(d));
        s.0.run_world(Some(until))
    });
    e.register_fn("step", |s: &mut SimApi| -> R<Dynamic> {
        let st = &s.0;
        let Some(t) = st.sim.step() else {
            return Ok(Dynamic::UNIT);
        };
        if let Some(msg) = st.sim.take_abort() {
            return match st.take_pending() {
                Some(e) => Err(e),
                None => rt_err(msg),
            };
        }
        let mut m = Map::new();
        m.insert("time".into(), Dynamic::from_float(t.as_secs_f64()));
        m.insert(
            "queued".into(),
            Dynamic::from_int(st.sim.exec.queued() as i64),
        );
        Ok(Dynamic::from_map(m))
    });
    e.register_fn("after", |s: &mut SimApi, d: Dynamic, f: FnPtr| -> R<()> {
        let d = secs(d)?;
        let st = s.0.clone();
        if let Some(msg) = st.arity_error(
            &f,
            0,
            "sim.after(s, f) expects a closure taking no parameters",
        ) {
            return rt_err(msg);
        }
        let at = st.sim.now().after(SimDuration::from_secs_f64(d));
        st.sim.clone().schedule_at(at, move |_| {
            st.call_ptr(&f, ());
        });
        Ok(())
    });
    e.register_fn(
        "param",
        |s: &mut SimApi, name: &str, default: Dynamic| -> R<Dynamic> {
            s.0.params.borrow().get(name, default).or_else(rt_err)
        },
    );
    e.register_fn("stats", |s: &mut SimApi| -> Map {
        let sim = &s.0.sim;
        let xs = sim.xs.borrow();
        let mut m = Map::new();
        let int = |v: u64| Dynamic::from_int(v as i64);
        m.insert("events".into(), int(sim.exec.events_run()));
        m.insert("xs_requests".into(), int(xs.requests));
        m.insert("xs_dir_entries".into(), int(xs.listed));
        m.insert("queued".into(), int(sim.exec.queued() as u64));
        m.insert(
            "domains".into(),
            int(sim.xen.borrow().domains.len().saturating_sub(1) as u64),
        );
        m.insert("now".into(), Dynamic::from_float(sim.now().as_secs_f64()));
        m
    });
    e.register_fn("events", |s: &mut SimApi| -> Dynamic {
        let sim = &s.0.sim;
        let trace = sim.trace.borrow();
        let ctxs = sim.ctxs.borrow();
        let arr = trace
            .calls
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut m = Map::new();
                m.insert("id".into(), Dynamic::from_int(i as i64));
                m.insert("time".into(), Dynamic::from_float(c.time.as_secs_f64()));
                m.insert(
                    "end".into(),
                    c.end
                        .map_or(Dynamic::UNIT, |t| Dynamic::from_float(t.as_secs_f64())),
                );
                m.insert(
                    "parent".into(),
                    c.parent
                        .map_or(Dynamic::UNIT, |p| Dynamic::from_int(p as i64)),
                );
                m.insert(
                    "cause".into(),
                    c.hop
                        .map_or(Dynamic::UNIT, |h| Dynamic::from_int(h.0 as i64)),
                );
                let mut args = Map::new();
                for (name, v) in c.probe.def().args.iter().zip(&c.args) {
                    args.insert((*name).into(), crate::convert::to_dynamic(v));
                }
                m.insert("args".into(), Dynamic::from_map(args));
                m.insert(
                    "layer".into(),
                    Dynamic::from(c.probe.layer().prefix().to_string()),
                );
                m.insert("probe".into(), Dynamic::from(c.probe.name().to_string()));
                m.insert(
                    "context".into(),
                    Dynamic::from(ctxs.get(c.ctx).name.to_string()),
                );
                m.insert(
                    "domid".into(),
                    if c.domid == xsh_sim::stack::NO_DOM {
                        Dynamic::UNIT
                    } else {
                        Dynamic::from_int(c.domid as i64)
                    },
                );
                Dynamic::from_map(m)
            })
            .collect();
        Dynamic::from_array(arr)
    });
}
