//! Deep recursion must end in a report, never in a "stack overflow" abort.
//!
//! A script can recurse two ways: calls nested in calls (bounded by
//! `--max-call-depth`) and values nested in values (`b = [b]` a few
//! thousand times), which Rhai prints and compares by recursing once per
//! level. Both use the thread's stack, so:
//! - the CLI runs scripts on a thread with a big stack ([`on_big_stack`]),
//!   and `--max-call-depth` is capped at [`MAX_CALL_DEPTH`], which fits it;
//! - every Rhai operation (engine.rs, `on_progress`) and every level of
//!   printing or comparing a nested value (below) first checks that the
//!   stack has room left ([`stack_exhausted`]); when it has not, the run
//!   stops with an error instead of overflowing. That also covers threads
//!   this module did not start (`xsh explore`'s workers, a library user's).

use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use rhai::{
    Array, Dynamic, Engine, EvalAltResult, FuncRegistration, ImmutableString, Map, Module,
    NativeCallContext,
};

/// The stack of the thread [`on_big_stack`] starts. Only the pages a run
/// touches are ever backed by memory; the rest is address space.
pub const STACK_SIZE: usize = 1 << 30;

/// The highest `--max-call-depth` accepted. A call level of a Rhai script
/// takes a few KiB of stack (more when the function's body nests many
/// expressions); this many fit in [`STACK_SIZE`] with room to spare.
pub const MAX_CALL_DEPTH: usize = 20_000;

/// Stack kept free below the floor on a big-stack thread: Rust code that
/// recurses without passing through a check (dropping or cloning a deeply
/// nested value, the error report's formatting) runs in it.
const RESERVE: usize = 64 << 20;

/// On a thread this module did not start, how far below the first check
/// the stack may grow. Rust's spawned threads have 2 MiB by default, the
/// main thread 8 MiB; the first check happens near the top of either.
const UNKNOWN_HEADROOM: usize = 1 << 20;

thread_local! {
    /// The lowest stack address a script may reach on this thread; 0 until
    /// known (set by `on_big_stack`, or at the thread's first check).
    static FLOOR: Cell<usize> = const { Cell::new(0) };
}

/// An address on the current stack: where it has grown to.
#[inline(always)]
fn stack_pointer() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// Has the stack grown so far that the script must stop now? Stacks grow
/// downwards on every platform xsh builds for.
#[inline]
pub fn stack_exhausted() -> bool {
    let sp = stack_pointer();
    FLOOR.with(|f| match f.get() {
        0 => {
            f.set(sp.saturating_sub(UNKNOWN_HEADROOM));
            false
        }
        floor => sp < floor,
    })
}

/// The message a run stops with when the stack ran out (a call-depth limit:
/// calls nested in calls, or a function body's expressions nested in them).
pub const STACK_MESSAGE: &str =
    "call-depth limit reached: calls were nested too deep for the stack xsh runs scripts on";

/// Runs `f` on a new thread with a [`STACK_SIZE`] stack (see
/// [`spawn_scoped`]) and returns what it returns.
pub fn on_big_stack<R: Send, F: FnOnce() -> R + Send>(f: F) -> R {
    let out = Mutex::new(None);
    // A panic in `f` has been printed already; `scope` re-raises it here.
    std::thread::scope(|s| {
        spawn_scoped(s, || {
            let r = f();
            if let Ok(mut o) = out.lock() {
                *o = Some(r);
            }
        });
    });
    match out.into_inner().ok().flatten() {
        Some(r) => r,
        None => unreachable!("the thread ran f to its end or the scope panicked"),
    }
}

/// Starts `f` on a scoped thread with a [`STACK_SIZE`] stack, whose floor
/// is known, so every thread that runs scripts (the CLI's, `xsh explore`'s
/// workers) stops deep recursion at the same depth. If no such thread can
/// be made, `f` runs on an ordinary one, which the checks guard too.
pub fn spawn_scoped<'scope, F: FnOnce() + Send + 'scope>(
    s: &'scope std::thread::Scope<'scope, '_>,
    f: F,
) -> std::thread::ScopedJoinHandle<'scope, ()> {
    let job = Arc::new(Mutex::new(Some(f)));
    let take = |j: &Mutex<Option<F>>| j.lock().ok().and_then(|mut j| j.take());
    let j = job.clone();
    let big = std::thread::Builder::new()
        .name("xsh".into())
        .stack_size(STACK_SIZE)
        .spawn_scoped(s, move || {
            let top = stack_pointer();
            FLOOR.with(|fl| fl.set(top.saturating_sub(STACK_SIZE - RESERVE)));
            if let Some(f) = take(&j) {
                f();
            }
        });
    match big {
        Ok(h) => h,
        Err(_) => s.spawn(move || {
            if let Some(f) = take(&job) {
                f();
            }
        }),
    }
}

type R<T> = Result<T, Box<EvalAltResult>>;

fn too_deep<T>(what: &str) -> R<T> {
    crate::rt_err(format!(
        "this value nests arrays or maps too deep to {what}: the stack xsh runs scripts on ran out"
    ))
}

/// Replaces Rhai's printing and comparing of arrays and maps. Rhai's own
/// recurse through a function call per level with no check, and its
/// printing swallows a nested call's error; these recurse in Rust, check
/// the stack at every level, and otherwise print and compare as Rhai does.
/// They live in a module registered after Rhai's standard package, which
/// puts them before it in the search.
pub fn register(e: &mut Engine) {
    e.register_global_module(module().into());
}

/// The signatures of these functions: to a script they are Rhai's, not
/// part of xsh's API (apidoc leaves them out).
pub fn signatures() -> Vec<String> {
    let m = module();
    let sigs: Vec<String> = m.gen_fn_signatures_with_mapper(|t| t.into()).collect();
    sigs
}

fn module() -> Module {
    let mut m = Module::new();
    for name in ["print", "to_string", "debug", "to_debug"] {
        FuncRegistration::new(name).set_into_module(
            &mut m,
            |ctx: NativeCallContext, a: &mut Array| -> R<ImmutableString> {
                let mut out = String::new();
                fmt_array(&ctx, a, &mut out).map(|_| out.into())
            },
        );
        FuncRegistration::new(name).set_into_module(
            &mut m,
            |ctx: NativeCallContext, m: &mut Map| -> R<ImmutableString> {
                let mut out = String::new();
                fmt_map(&ctx, m, &mut out).map(|_| out.into())
            },
        );
    }
    FuncRegistration::new("==").set_into_module(
        &mut m,
        |ctx: NativeCallContext, a: &mut Array, mut b: Array| eq_array(&ctx, a, &mut b),
    );
    FuncRegistration::new("!=").set_into_module(
        &mut m,
        |ctx: NativeCallContext, a: &mut Array, mut b: Array| {
            eq_array(&ctx, a, &mut b).map(|eq| !eq)
        },
    );
    FuncRegistration::new("==")
        .set_into_module(&mut m, |ctx: NativeCallContext, a: &mut Map, mut b: Map| {
            eq_map(&ctx, a, &mut b)
        });
    FuncRegistration::new("!=")
        .set_into_module(&mut m, |ctx: NativeCallContext, a: &mut Map, mut b: Map| {
            eq_map(&ctx, a, &mut b).map(|eq| !eq)
        });
    m
}

/// One element in Rhai's debug form (`to_debug`), as Rhai's `format_array`
/// writes it.
fn fmt_value(ctx: &NativeCallContext, v: &mut Dynamic, out: &mut String) -> R<()> {
    if v.is_array() {
        if let Some(mut a) = v.write_lock::<Array>() {
            return fmt_array(ctx, &mut a, out);
        }
    }
    if v.is_map() {
        if let Some(mut m) = v.write_lock::<Map>() {
            return fmt_map(ctx, &mut m, out);
        }
    }
    // Rhai's `to_debug` of a string is Rust's debug form (`{s:?}`,
    // string_basic.rs), and a script cannot give strings another: written
    // here, without a call through the engine, which costs more than the
    // formatting on the short strings a script prints (an explored variant
    // prints its choices and key lines, ~17,000 instructions each way).
    if let Some(s) = v.read_lock::<ImmutableString>() {
        let _ = write!(out, "{:?}", s.as_str());
        return Ok(());
    }
    match ctx.call_native_fn_raw("to_debug", true, &mut [v]) {
        Ok(s) if s.is_string() => out.push_str(&s.into_immutable_string().unwrap_or_default()),
        Ok(s) => out.push_str(ctx.engine().map_type_name(s.type_name())),
        Err(_) => out.push_str(ctx.engine().map_type_name(&format!("{v:?}"))),
    }
    Ok(())
}

fn fmt_array(ctx: &NativeCallContext, a: &mut Array, out: &mut String) -> R<()> {
    if stack_exhausted() {
        return too_deep("print");
    }
    out.push('[');
    let n = a.len();
    for (i, v) in a.iter_mut().enumerate() {
        fmt_value(ctx, v, out)?;
        if i + 1 < n {
            out.push_str(", ");
        }
    }
    out.push(']');
    Ok(())
}

fn fmt_map(ctx: &NativeCallContext, m: &mut Map, out: &mut String) -> R<()> {
    if stack_exhausted() {
        return too_deep("print");
    }
    out.push_str("#{");
    let n = m.len();
    for (i, (k, v)) in m.iter_mut().enumerate() {
        let _ = write!(out, "{k:?}: ");
        fmt_value(ctx, v, out)?;
        if i + 1 < n {
            out.push_str(", ");
        }
    }
    out.push('}');
    Ok(())
}

/// Two elements equal, as Rhai's array `==` decides it.
fn eq_value(ctx: &NativeCallContext, a: &mut Dynamic, b: &mut Dynamic) -> R<bool> {
    if a.is_array() && b.is_array() {
        if let (Some(mut x), Some(mut y)) = (a.write_lock::<Array>(), b.write_lock::<Array>()) {
            return eq_array(ctx, &mut x, &mut y);
        }
    }
    if a.is_map() && b.is_map() {
        if let (Some(mut x), Some(mut y)) = (a.write_lock::<Map>(), b.write_lock::<Map>()) {
            return eq_map(ctx, &mut x, &mut y);
        }
    }
    let same_type = a.type_id() == b.type_id();
    match ctx.call_native_fn_raw("==", true, &mut [a, b]) {
        Ok(r) => Ok(r.as_bool().unwrap_or(false)),
        // No `==` for two values of different types: they differ.
        Err(e) if matches!(*e, EvalAltResult::ErrorFunctionNotFound(ref s, ..) if s.starts_with("==")) => {
            if same_type {
                Err(e)
            } else {
                Ok(false)
            }
        }
        Err(e) => Err(e),
    }
}

fn eq_array(ctx: &NativeCallContext, a: &mut Array, b: &mut Array) -> R<bool> {
    if stack_exhausted() {
        return too_deep("compare");
    }
    if a.len() != b.len() {
        return Ok(false);
    }
    for (x, y) in a.iter_mut().zip(b.iter_mut()) {
        if !eq_value(ctx, x, y)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn eq_map(ctx: &NativeCallContext, a: &mut Map, b: &mut Map) -> R<bool> {
    if stack_exhausted() {
        return too_deep("compare");
    }
    if a.len() != b.len() {
        return Ok(false);
    }
    for (k, x) in a.iter_mut() {
        let Some(y) = b.get_mut(k) else {
            return Ok(false);
        };
        if !eq_value(ctx, x, y)? {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use crate::diag::Limit;
    use crate::{Host, Limits};

    /// Runs `src` on a thread this module did not start (as `xsh explore`'s
    /// workers are), so only [`super::UNKNOWN_HEADROOM`] of its 16 MiB is
    /// used: the checks must stop the script there. (The rest is room for
    /// dropping the nested values, which recurses unchecked.)
    fn on_small_stack(src: &'static str) -> Result<(), crate::ScriptError> {
        std::thread::Builder::new()
            .stack_size(16 << 20)
            .spawn(move || {
                let limits = Limits {
                    max_call_levels: super::MAX_CALL_DEPTH,
                    ..Limits::default()
                };
                let host = Host::new(xsh_sim::Config::default(), limits);
                host.run("deep.rhai", src).map(|_| ())
            })
            .expect("thread")
            .join()
            .expect("no panic, no overflow")
    }

    #[test]
    fn recursion_that_outgrows_the_stack_stops_at_the_call_depth_limit() {
        let e = on_small_stack("fn f(x) { f(x + 1) }\nf(0);\n").expect_err("stops");
        assert_eq!(e.limit, Some(Limit::CallDepth), "{}", e.render(false));
        assert_eq!(e.message, super::STACK_MESSAGE);
        assert_eq!(e.exit_code(), 3);
    }

    /// Strings in an array or a map print as Rhai's own printing writes
    /// them: quotes, backslashes, control and non-ASCII characters escaped.
    #[test]
    fn strings_inside_values_print_as_rhai_prints_them() {
        let src = r#"
            let s = ["plain", "a\"b", "x\\y", "tab\there", "\u007f\u0000", "é ü", "", "line\n"];
            let m = #{ k: s[1], n: 1, b: true, f: 1.5, c: 'q', u: () };
            [s.to_string(), m.to_string(), `${s}`, `${[s, m]}`]
        "#;
        let printed = |e: &rhai::Engine| e.eval::<rhai::Array>(src).expect("runs");
        let rhai_own = printed(&rhai::Engine::new());
        let mut e = rhai::Engine::new();
        super::register(&mut e);
        let ours = printed(&e);
        let text = |a: rhai::Array| a.into_iter().map(|v| v.to_string()).collect::<Vec<_>>();
        assert_eq!(text(ours), text(rhai_own));
    }

    #[test]
    fn printing_a_value_nested_past_the_stack_is_an_error() {
        let src = "let b = [];\nfor i in 0..5000 { b = [b]; }\nprint(b);\n";
        let e = on_small_stack(src).expect_err("stops");
        assert!(e.message.contains("too deep to print"), "{}", e.message);
        assert_eq!(e.pos.map(|p| p.0), Some(3));
        let src = "let b = #{};\nfor i in 0..5000 { b = #{ b: b }; }\nb == b;\n";
        let e = on_small_stack(src).expect_err("stops");
        assert!(e.message.contains("too deep to compare"), "{}", e.message);
    }
}
