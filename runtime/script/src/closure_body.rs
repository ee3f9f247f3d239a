//! The statements of a script's closures, lifted out of its AST once so a
//! hook can run its closure's body directly (closure_call.rs).
//!
//! Rhai keeps a closure as an anonymous function (`anon$…`) whose body is
//! not reachable through its API, but `AST::walk` visits every function's
//! top-level statements, function after function, in `iter_fn_def` order.
//! Each statement is given back to its function by position: a closure
//! written as an expression (`|ctx| calls += 1`) has one statement, at the
//! body's start; a braced body holds the statements strictly between its
//! braces, and a statement inside a closure nested in another belongs to
//! the innermost. A lifted body must print (`Debug`) exactly as Rhai's
//! own does, or the closure is left to Rhai's call (checked at its first
//! call); so is every closure of
//! a script whose statements do not fit that picture (a statement without
//! a position, a function's statements not in one run).

use std::cell::Cell;
use std::rc::Rc;

use rhai::{ASTNode, Expr, Position, ScriptFuncDef, Shared, Stmt, StmtBlock, AST};
use xsh_sim::fxhash::FxHashMap;

/// A closure's function (its name and parameters, captured variables
/// first as Rhai passes them) and its statements as one block expression.
pub(crate) struct Body {
    pub def: Shared<ScriptFuncDef>,
    pub block: Expr,
    /// Whether `block` prints as the function's own body: checked at the
    /// closure's first call, since printing a body costs more than
    /// running it.
    checked: Cell<Option<bool>>,
}

impl Body {
    /// Whether the lifted statements are the closure's own.
    #[inline]
    pub fn faithful(&self) -> bool {
        match self.checked.get() {
            Some(ok) => ok,
            None => self.check(),
        }
    }

    #[cold]
    fn check(&self) -> bool {
        let Expr::Stmt(block) = &self.block else {
            return false;
        };
        let ok = format!("{:?}", self.def.body) == format!("Statements({block:?})");
        self.checked.set(Some(ok));
        ok
    }
}

/// The script's closures by function name.
pub(crate) type Bodies = FxHashMap<String, Rc<Body>>;

/// A script's closures, lifted when one is first called: a script may run
/// many worlds and never call a closure from inside one.
pub(crate) type Lazy = std::cell::OnceCell<Bodies>;

/// A position as (line, column), or `None` where it is unknown.
fn at(p: Position) -> Option<(usize, usize)> {
    Some((p.line()?, p.position()?))
}

/// Where a function's statements may be.
struct Span {
    start: (usize, usize),
    /// `None`: an expression body, one statement at `start`.
    end: Option<(usize, usize)>,
}

impl Span {
    /// Whether a statement at `p` can be this body's, and how tightly:
    /// an expression body's own position first, then the innermost braces.
    fn holds(&self, p: (usize, usize)) -> Option<(u8, (usize, usize))> {
        match self.end {
            None if p == self.start => Some((1, self.start)),
            Some(end) if self.start < p && p < end => Some((0, self.start)),
            _ => None,
        }
    }
}

/// Every closure of `ast` whose statements can be told apart.
pub(crate) fn bodies_of(ast: &AST) -> Bodies {
    lift(ast).unwrap_or_default()
}

fn lift(ast: &AST) -> Option<Bodies> {
    let defs: Vec<_> = ast.iter_fn_def().collect();
    let mut spans = Vec::with_capacity(defs.len());
    for d in &defs {
        spans.push(Span {
            start: at(d.body.start_position())?,
            end: at(d.body.end_position()),
        });
    }
    // The functions' top-level statements, in walk order (the script's own
    // statements come first).
    let mut top: Vec<Stmt> = Vec::new();
    let mut seen = 0usize;
    let main = ast.statements().len();
    ast.walk(&mut |path: &[ASTNode]| {
        if let [ASTNode::Stmt(s)] = path {
            if seen >= main {
                top.push((*s).clone());
            }
            seen += 1;
        }
        true
    });
    // Each statement's function: the one whose body holds it most tightly.
    let mut owner = Vec::with_capacity(top.len());
    for s in &top {
        let p = at(s.position())?;
        let best = spans
            .iter()
            .enumerate()
            .filter_map(|(i, sp)| sp.holds(p).map(|k| (k, i)))
            .max()?;
        owner.push(best.1);
    }
    // The walk gives each function's statements in one run, functions in
    // `iter_fn_def` order; anything else means the positions misled.
    let mut runs: Vec<Vec<Stmt>> = (0..defs.len()).map(|_| Vec::new()).collect();
    let mut last: Option<usize> = None;
    for (s, &i) in top.into_iter().zip(&owner) {
        if let Some(l) = last {
            if i < l {
                return None;
            }
        }
        last = Some(i);
        runs[i].push(s);
    }
    let mut bodies = Bodies::default();
    for ((d, sp), stmts) in defs.iter().zip(&spans).zip(runs) {
        // Rhai names a closure's function `anon$` and a hash.
        if !d.name.starts_with("anon$") || (sp.end.is_none() && stmts.len() != 1) {
            continue;
        }
        let block = StmtBlock::new(stmts, d.body.start_position(), d.body.end_position());
        bodies.insert(
            d.name.to_string(),
            Rc::new(Body {
                def: (*d).clone(),
                block: Expr::Stmt(Box::new(block)),
                checked: Cell::new(None),
            }),
        );
    }
    Some(bodies)
}
