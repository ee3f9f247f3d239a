//! The probe context a hook receives.

use rhai::{Dynamic, Engine, EvalAltResult};

use crate::api::xm::DomainApi;
use crate::hooks::{CtxApi, ProbeArgs};
use crate::{chain, observe, rt_err, stacks};

type R<T> = Result<T, Box<EvalAltResult>>;

/// Registers the `ctx` type.
pub fn register(e: &mut Engine) {
    e.register_type_with_name::<CtxApi>("ProbeContext");
    e.register_get("probe", |c: &mut CtxApi| c.0.probe.name().to_string());
    e.register_get("args", |c: &mut CtxApi| c.args_map());
    e.register_type_with_name::<ProbeArgs>("ProbeArgs");
    // `ctx.args.dev` falls back to this indexer (Rhai tries one when a
    // type has no getter of that name).
    e.register_indexer_get(|a: &mut ProbeArgs, k: &str| -> R<Dynamic> { a.get(k).or_else(rt_err) });
    e.register_fn("keys", |a: &mut ProbeArgs| -> rhai::Array {
        a.map.keys().map(|k| Dynamic::from(k.to_string())).collect()
    });
    e.register_fn("values", |a: &mut ProbeArgs| -> rhai::Array {
        a.map.values().cloned().collect()
    });
    e.register_fn("len", |a: &mut ProbeArgs| a.map.len() as i64);
    e.register_fn("contains", |a: &mut ProbeArgs, k: &str| {
        a.map.contains_key(k)
    });
    e.register_fn("to_map", |a: &mut ProbeArgs| a.map.clone());
    // Printed as the map it reads like: `#{"dev": "vif/0"}`.
    e.register_fn("to_string", |a: &mut ProbeArgs| {
        Dynamic::from_map(a.map.clone()).to_string()
    });
    e.register_fn("to_debug", |a: &mut ProbeArgs| {
        format!("{:?}", Dynamic::from_map(a.map.clone()))
    });
    e.register_get("now", |c: &mut CtxApi| c.0.now);
    e.register_get("dom", |c: &mut CtxApi| -> Dynamic {
        let Some(d) = c.domid() else {
            return Dynamic::UNIT;
        };
        let st = c.st().clone();
        let name = {
            let x = st.sim.xend.borrow();
            x.domains
                .get(&d)
                .map(|&v| x.vm(v).cfg.name.clone())
                .or_else(|| st.sim.guests.borrow().get(d).map(|g| g.name().to_string()))
        };
        Dynamic::from(DomainApi::new(st, d, name.unwrap_or_default()))
    });
    e.register_fn("orig", |c: &mut CtxApi| -> R<Dynamic> {
        c.orig().or_else(rt_err)
    });
    e.register_fn("stack", |c: &mut CtxApi| -> R<Dynamic> {
        observe::frames_kept(&c.st().sim)?;
        Ok(stacks::frames(&c.st().sim, c.0.ctx))
    });
    e.register_fn("backtrace", |c: &mut CtxApi| -> R<String> {
        observe::frames_kept(&c.st().sim)?;
        Ok(stacks::backtrace(&c.st().sim, c.0.ctx, c.0.probe.layer()))
    });
    e.register_fn("format_stack", |c: &mut CtxApi| -> R<String> {
        observe::frames_kept(&c.st().sim)?;
        if c.0.probe.layer() != xsh_sim::probe::Layer::Xend {
            return rt_err(format!(
                "format_stack() prints a Python stack: use it at an xend probe, not {} (backtrace() gives this layer's own format)",
                c.0.probe.name()
            ));
        }
        Ok(stacks::format_stack(&c.st().sim, c.0.ctx))
    });
    e.register_fn("chain", |c: &mut CtxApi| -> R<String> {
        observe::hops_kept(&c.st().sim)?;
        Ok(chain::chain(
            &c.st().sim,
            c.0.ctx,
            chain::ChainOptions::default(),
        ))
    });
    e.register_fn("chain", |c: &mut CtxApi, opts: rhai::Map| -> R<String> {
        observe::hops_kept(&c.st().sim)?;
        let mut o = chain::ChainOptions::default();
        for (k, v) in &opts {
            match k.as_str() {
                "stacks" => {
                    o.stacks = v.as_bool().or_else(|_| {
                        rt_err(format!(
                            "ctx.chain: `stacks` must be a bool, got {}",
                            v.type_name()
                        ))
                    })?
                }
                other => {
                    return rt_err(format!(
                        "ctx.chain: unknown option `{other}` (the options are: stacks)"
                    ))
                }
            }
        }
        if o.stacks && !c.st().sim.ctxs.borrow().record_hop_stacks {
            return rt_err(
                "ctx.chain(#{ stacks: true }): this world records no stacks with its hops",
            );
        }
        Ok(chain::chain(&c.st().sim, c.0.ctx, o))
    });
    e.register_fn("to_string", |c: &mut CtxApi| {
        format!("ProbeContext({})", c.0.probe.name())
    });
}
