//! Builds the Engine: limits, `print` routed into the host's output, and the
//! globals `sim`, `xm`, `xl`, `xs`, `xen`, `xend` resolved through `on_var` so they
//! are visible at top level, inside `fn`s and inside closures alike (a Scope
//! constant would not be seen inside a script `fn`).

use std::rc::Rc;

use rhai::packages::{Package, StandardPackage};
use rhai::{Dynamic, Engine};

use crate::api;
use crate::{current, Current, HostState, Limits};

thread_local! {
    static STD_PACKAGE: StandardPackage = StandardPackage::new();
}

/// The globals `on_var` resolves (DESIGN.md's contract), for the REPL's
/// completion and the editor definitions.
pub const GLOBALS: &[&str] = &["sim", "xm", "xl", "xs", "xen", "xend"];

/// Is `name` one of `GLOBALS`? Asked before every variable read a script
/// makes (Rhai's `on_var`): a `match` on the text, which tells most names
/// apart by their length, rather than a comparison with each global.
fn is_global(name: &str) -> bool {
    matches!(name, "sim" | "xm" | "xl" | "xs" | "xen" | "xend")
}

/// The checks made every fourth operation a script runs: the stack, and
/// every 4096 operations the wall clock and Ctrl-C.
#[inline(never)]
fn every_fourth_operation(ops: u64, w: &Current) -> Option<Dynamic> {
    if crate::deep::stack_exhausted() {
        return Some(Dynamic::from(crate::deep::STACK_MESSAGE));
    }
    if !ops.is_multiple_of(4096) {
        return None;
    }
    current(w)
        .and_then(|st| st.stop_reason())
        .map(Dynamic::from)
}

/// A fresh handle for a global's name.
fn global(name: &str, st: Rc<HostState>) -> Option<Dynamic> {
    Some(match name {
        "sim" => Dynamic::from(api::sim::SimApi(st)),
        "xm" => Dynamic::from(api::xm::XmApi(st)),
        "xl" => Dynamic::from(api::xl::XlApi(st)),
        "xs" => Dynamic::from(api::xs::XsApi::tools(st)),
        "xen" => Dynamic::from(api::xen::XenApi(st)),
        "xend" => Dynamic::from(api::xen::XendApi(st)),
        _ => return None,
    })
}

/// The same global's handle for another world, if `v` (shared or not)
/// holds one of the globals' handles (`sim.in_new_world`).
pub(crate) fn rebind_global(v: &Dynamic, st: Rc<HostState>) -> Option<Dynamic> {
    let name = if v.is_shared() {
        let inner = v.read_lock::<Dynamic>().map(|d| d.clone())?;
        return rebind_global(&inner, st);
    } else if v.is::<api::sim::SimApi>() {
        "sim"
    } else if v.is::<api::xm::XmApi>() {
        "xm"
    } else if v.is::<api::xl::XlApi>() {
        "xl"
    } else if v
        .clone()
        .try_cast::<api::xs::XsApi>()
        .is_some_and(|x| x.is_tools())
    {
        "xs"
    } else if v.is::<api::xen::XenApi>() {
        "xen"
    } else if v.is::<api::xen::XendApi>() {
        "xend"
    } else {
        return None;
    };
    global(name, st)
}

/// `v` with the globals' handles it holds rebound to `st`'s world: a handle
/// itself, or a closure whose captured values hold one — a helper closure
/// made outside `sim.in_new_world` and called inside, whose `xm` must be
/// the new world's too. The closure is copied, so outside it keeps its own
/// world. `None` when nothing in `v` names a world.
pub(crate) fn rebind_captured(v: &Dynamic, st: &Rc<HostState>) -> Option<Dynamic> {
    rebind_to_depth(v, st, 0)
}

fn rebind_to_depth(v: &Dynamic, st: &Rc<HostState>, depth: usize) -> Option<Dynamic> {
    if let Some(h) = rebind_global(v, st.clone()) {
        return Some(h);
    }
    // A closure may capture itself (a recursive helper): a few levels of
    // closures within closures are all a script nests in practice.
    if depth >= 8 {
        return None;
    }
    let f = if v.is_shared() {
        v.read_lock::<Dynamic>()?.clone()
    } else {
        v.clone()
    }
    .try_cast::<rhai::FnPtr>()?;
    let mut f = f;
    let mut changed = false;
    for c in f.iter_curry_mut() {
        if let Some(h) = rebind_to_depth(c, st, depth + 1) {
            *c = h;
            changed = true;
        }
    }
    changed.then(|| Dynamic::from(f))
}

/// Does a (readable) value hold one of the globals' handles, rather than a
/// script's own variable that happens to be named `sim`?
fn is_global_handle(v: &Dynamic) -> bool {
    v.is::<api::sim::SimApi>()
        || v.is::<api::xm::XmApi>()
        || v.is::<api::xl::XlApi>()
        || v.is::<api::xs::XsApi>()
        || v.is::<api::xen::XenApi>()
        || v.is::<api::xen::XendApi>()
}

/// The engine for a host.
pub fn build(cur: &Current, l: &Limits) -> Engine {
    // `Engine::new()` builds Rhai's standard package afresh: about 1 ms,
    // most of a host's set-up cost, paid by every variant `xsh explore`
    // runs. The package is immutable once built, so each thread builds it
    // once and every engine shares it (what `Engine::new` registers, minus
    // the default print/debug/resolver that are replaced below anyway).
    let mut e = Engine::new_raw();
    STD_PACKAGE.with(|p| {
        p.register_into_engine(&mut e);
    });
    e.set_max_strings_interned(rhai::default_limits::MAX_STRINGS_INTERNED);
    e.set_max_operations(l.max_operations);
    e.set_max_call_levels(l.max_call_levels);
    e.set_max_expr_depths(256, 256);
    e.set_max_string_size(l.max_string_size);
    e.set_max_array_size(l.max_array_size);
    e.set_max_map_size(l.max_map_size);

    let w = cur.clone();
    e.on_progress(move |ops| {
        // Is there stack left (deep.rs)? Between two operations Rhai goes
        // at most one call or expression deeper (a few KiB), so looking
        // every 4th leaves the check far inside its margin, at a quarter
        // of the cost. Rhai calls this for every operation: the other
        // three return at once, without the work of the fourth.
        if !ops.is_multiple_of(4) {
            return None;
        }
        every_fourth_operation(ops, &w)
    });

    let w = cur.clone();
    e.on_print(move |s| {
        if let Some(st) = current(&w) {
            let mut o = st.output.borrow_mut();
            o.push_str(s);
            o.push('\n');
            if st.echo.get() {
                st.echo_line(s);
            }
        }
    });
    let w = cur.clone();
    e.on_debug(move |s, src, pos| {
        if let Some(st) = current(&w) {
            let line = format!(
                "[{}{}] {s}",
                src.unwrap_or(""),
                if pos.is_none() {
                    String::new()
                } else {
                    format!(" {pos}")
                }
            );
            let mut o = st.output.borrow_mut();
            o.push_str(&line);
            o.push('\n');
            if st.echo.get() {
                eprintln!("{line}");
            }
        }
    });

    let w = cur.clone();
    #[allow(deprecated)] // volatile, not deprecated (rhai's note)
    e.on_var(move |name, _, mut ctx| {
        // Rhai asks here before every variable read; only the globals are
        // this resolver's, and a look in the scope costs a walk of it.
        if !is_global(name) {
            return Ok(None);
        }
        if ctx.scope().contains(name) {
            // A variable of the script's own by that name (a REPL session's,
            // or a handle the script stored): a closure made after it
            // captures it by sharing it, and `sim.run()` holds a shared one
            // borrowed while the world runs, so a hook's own `sim.after`
            // would fail with Rhai's "Data race detected". The globals are
            // stateless handles: give whoever reads a shared one a fresh one
            // of its own.
            if let (Some(slot), Some(st)) = (ctx.scope_mut().get_mut(name), current(&w)) {
                if slot.is_shared() && (slot.is_locked() || is_global_handle(slot)) {
                    if let Some(v) = global(name, st) {
                        *slot = v;
                    }
                }
            }
            return Ok(None);
        }
        let Some(st) = current(&w) else {
            return Ok(None);
        };
        let Some(v) = global(name, st) else {
            return Ok(None);
        };
        // Returned, never pushed into the running scope: a variable added
        // behind the script's back shifts the slots Rhai remembers for the
        // script's own variables, and a closure made after it would share
        // the wrong one (`let n = 0; xm.list(); on(p, |ctx| n += 1)` counted
        // into nothing). A closure does not capture a returned global; it
        // asks here again when it runs, so it gets the world current then.
        // Shared, so `sim.start_time = ...` can still set a property.
        Ok(Some(v.into_shared()))
    });

    // `xen.print(text)` is in the contract, but `print` is a reserved word
    // that Rhai refuses after a dot. After a `.`, the tokenizer's output is
    // renamed to the method XenApi registers as `__print`.
    let after_dot = std::cell::Cell::new(false);
    #[allow(deprecated)] // volatile, not deprecated (rhai's note)
    e.on_parse_token(move |token, _pos, _state| {
        let was_dot = after_dot.replace(matches!(token, rhai::Token::Period | rhai::Token::Elvis));
        match token {
            rhai::Token::Reserved(s) if was_dot && s.as_str() == "print" => {
                rhai::Token::Identifier(Box::new("__print".into()))
            }
            other => other,
        }
    });

    // `import "testing"` is the embedded stdlib module; other paths are
    // files, relative to the importing script.
    e.set_module_resolver(crate::stdlib::Resolver::default());

    api::register_all(&mut e, cur);
    crate::deep::register(&mut e);
    e
}

#[cfg(test)]
mod tests {
    use super::{is_global, GLOBALS};

    #[test]
    fn the_globals_are_the_names_resolved_as_globals() {
        for g in GLOBALS {
            assert!(is_global(g), "{g}");
        }
        for other in ["", "s", "sims", "xe", "xenstore", "calls", "dom", "Sim"] {
            assert!(!is_global(other), "{other}");
        }
    }
}
