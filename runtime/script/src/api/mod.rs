//! The script API, one file per global (DESIGN.md's contract).

pub mod ctx;
pub mod explore;
pub mod logs;
pub mod sim;
pub mod xen;
pub mod xl;
pub mod xm;
pub mod xs;

use rhai::{Dynamic, Engine, EvalAltResult, FnPtr};

use crate::hooks::{install, HookKind};
use crate::{current, rt_err, Current};

type R<T> = Result<T, Box<EvalAltResult>>;

/// Registers every type and function.
pub fn register_all(e: &mut Engine, cur: &Current) {
    sim::register(e);
    xm::register(e);
    xl::register(e);
    xs::register(e);
    xen::register(e);
    ctx::register(e);
    explore::register(e);
    logs::register(e);
    let (w, w2, w3) = (cur.clone(), cur.clone(), cur.clone());
    let w4 = cur.clone();
    e.register_fn(
        "in_new_world",
        move |ctx: rhai::NativeCallContext, s: &mut sim::SimApi, f: FnPtr| -> R<Dynamic> {
            in_new_world(&ctx, &w4, &s.0, f)
        },
    );
    e.register_fn("unhook", move |id: i64| -> R<bool> {
        let st = current(&w3).ok_or("world gone")?;
        Ok(crate::hooks::uninstall(&st, id))
    });
    e.register_fn("on", move |probe: &str, f: FnPtr| -> R<i64> {
        let st = current(&w).ok_or("world gone")?;
        install(&st, probe, None, HookKind::On, f).or_else(rt_err)
    });
    e.register_fn("hook", move |probe: &str, f: FnPtr| -> R<i64> {
        let st = current(&w2).ok_or("world gone")?;
        install(&st, probe, None, HookKind::Hook, f).or_else(rt_err)
    });
    register_assertions(e);
}

/// `sim.in_new_world(f)`: runs `f()` against a fresh host built with this
/// world's settings — the globals inside it are the new world's — and
/// returns its value once that world is torn down. Two toolstacks side by
/// side in one script: a world runs one.
fn in_new_world(
    ctx: &rhai::NativeCallContext,
    cur: &Current,
    outer: &std::rc::Rc<crate::HostState>,
    f: FnPtr,
) -> R<Dynamic> {
    if let Some(msg) = outer.arity_error(
        &f,
        0,
        "sim.in_new_world(f) expects a closure taking no parameters",
    ) {
        return crate::rt_err(msg);
    }
    let inner = outer.nested();
    // A closure captured the globals it names when it was made — this
    // world's handles; inside, they are the new world's, and so are those
    // of the closures it captured (helpers it calls).
    let mut f = f;
    for v in f.iter_curry_mut() {
        if let Some(h) = crate::engine::rebind_captured(v, &inner) {
            *v = h;
        }
    }
    let prev = std::mem::replace(&mut *cur.borrow_mut(), std::rc::Rc::downgrade(&inner));
    let r = f.call_within_context::<Dynamic>(ctx, ());
    *cur.borrow_mut() = prev;
    outer.end_nested(&inner);
    r
}

/// An assertion's failure: a positioned error whose value the reports read
/// (diag::assertion_value); Rhai fills in the call's position.
/// `xm list`'s or `xl list`'s rows as the maps a script reads.
fn list_rows(rows: Vec<xsh_sim::host::ListRow>) -> rhai::Array {
    rows.into_iter()
        .map(|r| {
            let mut m = rhai::Map::new();
            m.insert("name".into(), Dynamic::from(r.name));
            m.insert("id".into(), Dynamic::from_int(r.id as i64));
            m.insert("mem".into(), Dynamic::from_int(r.mem as i64));
            m.insert("vcpus".into(), Dynamic::from_int(r.vcpus as i64));
            m.insert("state".into(), Dynamic::from(r.state));
            Dynamic::from_map(m)
        })
        .collect()
}

fn failed<T>(assertion: &str, message: String, values: Option<(Dynamic, Dynamic)>) -> R<T> {
    Err(Box::new(EvalAltResult::ErrorRuntime(
        crate::diag::assertion_value(assertion, message, values),
        rhai::Position::NONE,
    )))
}

/// `assert` and `assert_eq`: globals everywhere (DESIGN.md's contract). The
/// other assertions are Rhai code in stdlib/testing.rhai.
fn register_assertions(e: &mut Engine) {
    e.register_fn("assert", |c: bool| -> R<()> {
        if c {
            Ok(())
        } else {
            failed("assert", "assertion failed".into(), None)
        }
    });
    e.register_fn("assert", |c: bool, msg: &str| -> R<()> {
        if c {
            Ok(())
        } else {
            failed("assert", format!("assertion failed: {msg}"), None)
        }
    });
    e.register_fn("assert_eq", |a: Dynamic, b: Dynamic| -> R<()> {
        assert_eq_impl(a, b, None)
    });
    e.register_fn("assert_eq", |a: Dynamic, b: Dynamic, msg: &str| -> R<()> {
        assert_eq_impl(a, b, Some(msg))
    });
    // The log-pattern primitives of stdlib/testing.rhai, useful on their own.
    e.register_fn("glob_match", |text: &str, pattern: &str| {
        crate::testing::glob_match(text, pattern)
    });
    e.register_fn("grep", |text: &str, pattern: &str| -> rhai::Array {
        crate::testing::grep(text, pattern)
            .into_iter()
            .map(Dynamic::from)
            .collect()
    });
}

/// `assert_eq(actual, expected[, msg])`; values compare as the model's
/// values do, so `1 == 1.0` is false but maps compare by content.
fn assert_eq_impl(actual: Dynamic, expected: Dynamic, msg: Option<&str>) -> R<()> {
    if crate::convert::from_dynamic(&actual) == crate::convert::from_dynamic(&expected) {
        return Ok(());
    }
    let message = match msg {
        Some(m) => format!("assertion failed: {m}"),
        None => "assertion failed: left == right".to_string(),
    };
    failed("assert_eq", message, Some((expected, actual)))
}

/// docs/probes.md: every probe with its site, arguments and result.
pub fn probes_markdown() -> String {
    let mut s = String::from(
        "# Probes\n\nGenerated by `xsh probes --markdown` from the probe table (runtime/sim/src/probe/defs.rs).\n\
         A probe's *site* is its function's entry, or just after the function's own entry log line.\n\
         `on(name, |ctx| ...)` runs there; `hook(name, |ctx| ...)` replaces the function from there on.\n",
    );
    // One section per layer, in the order layers first appear in the table
    // (a layer's later probes, appended to keep probe numbers stable, join
    // its section).
    let mut layers: Vec<xsh_sim::probe::Layer> = Vec::new();
    for d in xsh_sim::probe::PROBE_DEFS {
        if !layers.contains(&d.layer) {
            layers.push(d.layer);
        }
    }
    let defs = layers.iter().flat_map(|l| {
        xsh_sim::probe::PROBE_DEFS
            .iter()
            .filter(move |d| d.layer == *l)
    });
    let mut layer = None;
    for d in defs {
        if layer != Some(d.layer) {
            layer = Some(d.layer);
            s.push_str(&format!("\n## `{}:`\n\n| probe | arguments | result | site | what it does |\n|---|---|---|---|---|\n", d.layer.prefix()));
        }
        let site = if d.entry_log {
            "after entry log"
        } else {
            "entry"
        };
        s.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            d.name,
            d.args.join(", "),
            d.result,
            site,
            d.doc.replace('|', "\\|")
        ));
    }
    s
}
