//! `sim.choose`, `sim.invariant`, `sim.outcome`, `sim.fault` (docs/explore.md) and the
//! run's outputs from a script: `sim.write_trace`, `sim.write_timeline`,
//! `sim.write_sequence` (docs/outputs.md).

use std::path::Path;

use rhai::{Array, Dynamic, Engine, EvalAltResult, FnPtr, Map, NativeCallContext};

use super::sim::SimApi;
use super::xm::DomainApi;
use crate::explore::{faults, Invariant};
use crate::output::{self, Kind};
use crate::rt_err;

type R<T> = Result<T, Box<EvalAltResult>>;

/// Registers the methods on `sim`.
pub fn register(e: &mut Engine) {
    e.register_fn(
        "choose",
        |s: &mut SimApi, name: &str, options: Array| -> R<Dynamic> {
            let seed = s.0.sim.cfg().seed;
            s.0.explore.choose(seed, name, &options).or_else(rt_err)
        },
    );
    e.register_fn(
        "invariant",
        |ctx: NativeCallContext, s: &mut SimApi, name: &str, f: FnPtr| -> R<()> {
            if name.is_empty() {
                return rt_err("sim.invariant needs a name: sim.invariant(\"qemu gone\", || ...)");
            }
            if let Some(msg) = s.0.arity_error(
                &f,
                0,
                "sim.invariant(name, f) expects a closure taking no parameters",
            ) {
                return rt_err(msg);
            }
            let mut invs = s.0.explore.invariants.borrow_mut();
            if invs.iter().any(|i| i.name == name) {
                return rt_err(format!("sim.invariant(\"{name}\") is declared twice"));
            }
            invs.push(Invariant {
                name: name.to_string(),
                f,
                pos: ctx.call_position(),
            });
            Ok(())
        },
    );
    e.register_fn("outcome", |s: &mut SimApi, v: Dynamic| -> R<()> {
        let mut o = s.0.explore.outcome.borrow_mut();
        if v.is_map() {
            for (k, x) in v.cast::<Map>() {
                o.insert(k.to_string(), outcome_text(&x));
            }
        } else if v.is_unit() {
            o.clear();
        } else {
            o.insert("outcome".into(), outcome_text(&v));
        }
        Ok(())
    });
    e.register_fn("outcome", |s: &mut SimApi, key: &str, v: Dynamic| {
        s.0.explore
            .outcome
            .borrow_mut()
            .insert(key.to_string(), outcome_text(&v));
    });
    e.register_fn("choices", |s: &mut SimApi| -> Map {
        s.0.explore
            .choices()
            .into_iter()
            .map(|(k, v)| (k.into(), Dynamic::from(v)))
            .collect()
    });
    e.register_fn("key_lines", |s: &mut SimApi| -> R<Array> {
        crate::observe::logs_kept(&s.0.sim)?;
        Ok(s.0
            .explore
            .key_lines(&s.0.sim)
            .into_iter()
            .map(Dynamic::from)
            .collect())
    });
    e.register_fn(
        "fault",
        |s: &mut SimApi, dom: DomainApi, name: &str| -> R<()> {
            faults::inject(&s.0, dom.domid, name).or_else(rt_err)
        },
    );
    e.register_fn("faults", |s: &mut SimApi, dom: DomainApi| -> Array {
        faults::applicable(&s.0, dom.domid)
            .into_iter()
            .map(Dynamic::from)
            .collect()
    });
    e.register_fn("faults", |_: &mut SimApi| -> Array {
        faults::every().map(Dynamic::from).collect()
    });
    e.register_get_set(
        "tracing",
        |s: &mut SimApi| s.0.sim.tracing.get(),
        |s: &mut SimApi, on: bool| {
            s.0.sim.tracing.set(on);
            let mut ctxs = s.0.sim.ctxs.borrow_mut();
            ctxs.record_hops = on;
            // The records name threads: none may be reused from now on.
            ctxs.recycle &= !on;
        },
    );
    for (name, kind) in [
        ("write_trace", Kind::Trace),
        ("write_timeline", Kind::Timeline),
        ("write_sequence", Kind::Sequence),
    ] {
        e.register_fn(
            name,
            move |ctx: NativeCallContext, s: &mut SimApi, path: &str| -> R<()> {
                let script = ctx.call_source().unwrap_or("script").to_string();
                output::write(&s.0.sim, &script, kind, Path::new(path)).or_else(rt_err)
            },
        );
    }
}

/// A value in an outcome: strings bare, arrays joined, the rest as Rhai prints them.
fn outcome_text(v: &Dynamic) -> String {
    if v.is_array() {
        let a = v.clone().cast::<Array>();
        a.iter().map(outcome_text).collect::<Vec<_>>().join("; ")
    } else {
        crate::explore::option_text(v)
    }
}
