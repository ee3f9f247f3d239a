//! Calling a script's closure from inside the world: a hook at a probe, a
//! watch firing, a timer, an invariant. A script hooking every probe makes
//! hundreds of such calls per scenario, so what a call needs besides the
//! closure's own statements is kept between calls.
//!
//! Rhai's `FnPtr::call_raw` is lent the engine state (`GlobalRuntimeState`)
//! and copies it for every call, builds a fresh function-resolution cache
//! and scope, and looks the function up by name and hash. Here a
//! [`CallFrame`] keeps one state, cache and scope: a call puts its
//! arguments in the scope and runs the closure's statements
//! (closure_body.rs) as Rhai's `call_script_fn` does: the same call level,
//! `return` giving the value, an error wrapped as raised in the closure.
//! Each call gets the whole operation budget, as a fresh state would. A
//! closure that calls back into the world, which calls another closure,
//! finds the frame in use and gets a fresh one.
//!
//! Closures whose statements were not lifted, and named function pointers
//! (which may be native functions made in Rust, such as the explorer's
//! fault hooks), go through Rhai's own call, from the kept state.

use std::cell::RefCell;
use std::rc::Rc;

use crate::closure_body::{Body, Lazy};
use rhai::{
    Caches, Dynamic, Engine, EvalAltResult, EvalContext, Expression, FnPtr, FuncArgs,
    GlobalRuntimeState, Position, Scope, StaticVec, AST,
};

/// The engine state, resolution cache and scope a script's closures run in.
pub(crate) struct CallFrame {
    /// The script whose functions `global` can call.
    ast: Rc<AST>,
    global: GlobalRuntimeState,
    caches: Caches,
    /// Empty between calls; a call's arguments while it runs.
    scope: Scope<'static>,
}

impl CallFrame {
    fn new(engine: &Engine, ast: Rc<AST>) -> Box<CallFrame> {
        let mut global = engine.new_global_runtime_state();
        global.lib.push(ast.shared_lib().clone());
        Box::new(CallFrame {
            ast,
            global,
            caches: Caches::new(),
            scope: Scope::new(),
        })
    }

    fn call(
        &mut self,
        engine: &Engine,
        body: Option<&Body>,
        f: &FnPtr,
        args: impl FuncArgs,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let mut values = StaticVec::new_const();
        values.extend(f.iter_curry().cloned());
        args.parse(&mut values);
        let name = f.fn_name();
        // Each call has the whole operation budget, as a fresh state would
        // (Rhai's own call copies this state, count included).
        self.global.num_operations = 0;
        // A captured variable the script is writing at this moment: Rhai's
        // own call reports the conflict.
        let body = body
            .filter(|b| {
                b.def.params.len() == values.len() && !values.iter().any(Dynamic::is_locked)
            })
            .filter(|b| b.faithful());
        let Some(body) = body else {
            let ctx = rhai::NativeCallContext::new_with_all_fields(
                engine,
                name,
                None,
                &self.global,
                Position::NONE,
            );
            // The pointer adds its curried values itself.
            let curried = f.curry().len();
            return f.call_raw(&ctx, None, &mut values[curried..]);
        };
        let scope = &mut self.scope;
        for (p, v) in body.def.params.iter().zip(values) {
            scope.push_dynamic(p.as_str(), v);
        }
        // Rhai runs a function's body one call level down.
        self.global.level = 1;
        let r = EvalContext::new(engine, &mut self.global, &mut self.caches, scope, None)
            .eval_expression_tree(&Expression::from(&body.block));
        self.global.level = 0;
        // The arguments go with the call: a `ctx` kept past its call
        // means the hook kept it (hooks.rs).
        scope.clear();
        r.or_else(|e| as_raised_in(&body.def.name, *e))
    }
}

/// What Rhai's `call_script_fn` makes of an error its body raised: `return`
/// is the value; `exit` and the engine's own stops pass through; anything
/// else is reported as raised in the function.
fn as_raised_in(name: &str, e: EvalAltResult) -> Result<Dynamic, Box<EvalAltResult>> {
    match e {
        EvalAltResult::Return(v, ..) => Ok(v),
        mut e @ EvalAltResult::Exit(..) => {
            e.set_position(Position::NONE);
            Err(e.into())
        }
        mut e if e.is_system_exception() => {
            e.set_position(Position::NONE);
            Err(e.into())
        }
        e => Err(EvalAltResult::ErrorInFunctionCall(
            name.to_string(),
            String::new(),
            e.into(),
            Position::NONE,
        )
        .into()),
    }
}

/// Where a hook's closure's statements were found, for the lifted closures
/// they were found among: a hook runs at every call of its probe, and
/// finding them by name each time costs about as much as a short hook.
#[derive(Default)]
pub(crate) struct FoundBody(RefCell<Option<Found>>);

/// The closures looked among, and the statements found there (if any).
type Found = (Rc<Lazy>, Option<Rc<Body>>);

impl FoundBody {
    /// The statements among `lazy`'s, as `find` finds them the first time.
    pub(crate) fn get(
        &self,
        lazy: &Rc<Lazy>,
        find: impl FnOnce() -> Option<Rc<Body>>,
    ) -> Option<Rc<Body>> {
        if let Some((of, body)) = self.0.borrow().as_ref() {
            if Rc::ptr_eq(of, lazy) {
                return body.clone();
            }
        }
        let body = find();
        *self.0.borrow_mut() = Some((lazy.clone(), body.clone()));
        body
    }
}

/// The frame kept for the next call (none while a call holds it).
#[derive(Default)]
pub(crate) struct SpareFrame(RefCell<Option<Box<CallFrame>>>);

impl SpareFrame {
    /// Calls `f` with `args` after its curried values, as `FnPtr::call_raw`
    /// would; `body` is its statements if they were lifted.
    pub(crate) fn call(
        &self,
        engine: &Engine,
        ast: &Rc<AST>,
        body: Option<&Body>,
        f: &FnPtr,
        args: impl FuncArgs,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let taken = self.0.borrow_mut().take();
        let mut frame = match taken {
            Some(fr) if Rc::ptr_eq(&fr.ast, ast) => fr,
            _ => CallFrame::new(engine, ast.clone()),
        };
        let r = frame.call(engine, body, f, args);
        let mut spare = self.0.borrow_mut();
        if spare.is_none() {
            *spare = Some(frame);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::closure_body::{bodies_of, Bodies};

    /// `f`'s statements among `bodies`.
    fn of<'b>(bodies: &'b Bodies, f: &FnPtr) -> Option<&'b Body> {
        bodies.get(f.fn_name()).map(|b| &**b)
    }

    /// The script compiled, its closures lifted, and the closures it
    /// returns (an array of them).
    fn closures(engine: &Engine, src: &str) -> (Rc<AST>, Bodies, Vec<FnPtr>) {
        let ast = Rc::new(engine.compile(src).expect("compiles"));
        let bodies = bodies_of(&ast);
        let made: rhai::Array = engine.eval_ast(&ast).expect("runs");
        let fs = made.into_iter().map(|c| c.cast::<FnPtr>()).collect();
        (ast, bodies, fs)
    }

    /// Each closure the script returns, called with `arg` through a frame
    /// and through Rhai's own `FnPtr::call`: the same value or the same
    /// error.
    fn same_as_rhai(src: &str, arg: i64) {
        let engine = Engine::new();
        let (ast, bodies, fs) = closures(&engine, src);
        let spare = SpareFrame::default();
        for f in fs {
            let lifted = bodies.get(f.fn_name()).is_some_and(|b| b.faithful());
            assert!(lifted, "{} not lifted from {src}", f.fn_name());
            let ours = spare.call(&engine, &ast, of(&bodies, &f), &f, (arg,));
            let theirs = f.call::<Dynamic>(&engine, &ast, (arg,));
            let show = |r: Result<Dynamic, Box<EvalAltResult>>| match r {
                Ok(v) => format!("ok {v:?}"),
                Err(e) => format!("err {e}"),
            };
            assert_eq!(show(ours), show(theirs), "in {src}");
        }
    }

    #[test]
    fn expression_and_braced_closures() {
        same_as_rhai(
            "let n = 40; [|x| x + n, |x| { let y = x * 2; y + n }, |x| { }]",
            1,
        );
    }

    #[test]
    fn nested_closures_keep_their_own_statements() {
        same_as_rhai(
            "let k = 3; [|x| { let g = |y| y * k; g.call(x) + 1 }, |x| (|y| { y - k }).call(x)]",
            5,
        );
    }

    #[test]
    fn captured_constants_and_parameters_written_to() {
        same_as_rhai("const K = 5; [|x| x + K, |x| { x += K; x }]", 2);
    }

    #[test]
    fn return_gives_the_value() {
        same_as_rhai("[|x| { if x > 1 { return 10; } 20 }]", 2);
        same_as_rhai("[|x| { if x > 1 { return 10; } 20 }]", 0);
    }

    #[test]
    fn errors_read_as_raised_in_the_closure() {
        same_as_rhai(
            r#"[|x| { throw "no " + x }, |x| x.no_such_method(), |x| x / 0]"#,
            7,
        );
    }

    #[test]
    fn captured_variables_are_shared_with_the_script() {
        let engine = Engine::new();
        let (ast, bodies, fs) = closures(
            &engine,
            "let calls = 0; let f = |x| calls += x; [f, || calls]",
        );
        let (add, read) = (&fs[0], &fs[1]);
        let spare = SpareFrame::default();
        for _ in 0..3 {
            let sum = spare.call(&engine, &ast, of(&bodies, add), add, (2_i64,));
            assert!(sum.is_ok(), "adds");
        }
        let n = spare
            .call(&engine, &ast, of(&bodies, read), read, ())
            .expect("reads");
        assert_eq!(n.as_int(), Ok(6));
    }

    #[test]
    fn each_call_has_the_whole_operation_budget() {
        let mut engine = Engine::new();
        engine.set_max_operations(2_000);
        let (ast, bodies, fs) = closures(&engine, "[|n| { let i = 0; while i < n { i += 1; } i }]");
        let f = &fs[0];
        let spare = SpareFrame::default();
        // 100 rounds fit one budget; ten calls would not fit one shared.
        for _ in 0..10 {
            let r = spare.call(&engine, &ast, of(&bodies, f), f, (100_i64,));
            assert_eq!(r.expect("within budget").as_int(), Ok(100));
        }
        let r = spare.call(&engine, &ast, of(&bodies, f), f, (10_000_i64,));
        assert!(r.is_err_and(|e| e.to_string().contains("operations")));
        // A call that failed leaves nothing behind for the next.
        let r = spare.call(&engine, &ast, of(&bodies, f), f, (3_i64,));
        assert_eq!(r.expect("after a failure").as_int(), Ok(3));
        // Nor does a named function's call (Rhai's own) start from what
        // the last lifted call counted.
        let (ast, bodies, fs) = closures(
            &engine,
            "fn spin(n) { let i = 0; while i < n { i += 1; } i } [|n| spin(n), Fn(\"spin\")]",
        );
        for f in fs.iter().chain(&fs) {
            let r = spare.call(&engine, &ast, of(&bodies, f), f, (250_i64,));
            assert_eq!(r.expect("within budget").as_int(), Ok(250));
        }
    }
}
