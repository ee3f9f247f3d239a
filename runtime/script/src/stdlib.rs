//! The Rhai modules of `stdlib/`, embedded in the binary, and the module
//! resolver every engine uses: `import "testing"` finds an embedded module
//! first, any other path is a file, relative to the importing script.
//!
//! A module can also be loaded as *globals* (its public functions callable
//! without a prefix): `xsh test` does that with `testing`, so tests call
//! `assert_log(...)` directly. See stdlib/README.md for what each provides.

use std::cell::RefCell;
use std::collections::BTreeMap;

use rhai::module_resolvers::FileModuleResolver;
use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Scope, Shared, AST};

use crate::ScriptError;

/// An embedded stdlib module.
pub struct Embedded {
    /// Its import name: `import "testing"`.
    pub name: &'static str,
    /// Its path in the repository (and its source name in reports).
    pub path: &'static str,
    /// Its text.
    pub source: &'static str,
}

/// Every module in `stdlib/` (a test checks the list against the folder).
pub const MODULES: &[Embedded] = &[Embedded {
    name: "testing",
    path: "stdlib/testing.rhai",
    source: include_str!("../../../stdlib/testing.rhai"),
}];

/// The embedded module called `name`.
pub fn get(name: &str) -> Option<&'static Embedded> {
    MODULES.iter().find(|m| m.name == name)
}

/// Compiles an embedded module with `engine` (its source set to its path, so
/// errors raised inside it are told apart from the user's script).
pub fn compile(engine: &Engine, m: &Embedded) -> Result<AST, ScriptError> {
    let mut ast = engine
        .compile(m.source)
        .map_err(|e| ScriptError::parse(m.path, m.source, e))?;
    ast.set_source(m.path);
    Ok(ast)
}

fn evaluate(engine: &Engine, m: &Embedded) -> Result<Module, ScriptError> {
    let ast = compile(engine, m)?;
    let mut module = Module::eval_ast_as_new(Scope::new(), &ast, engine)
        .map_err(|e| ScriptError::runtime(m.path, m.source, *e))?;
    module.set_id(m.path);
    Ok(module)
}

/// Loads the embedded modules `names` as globals of `engine`.
pub fn load_globals(engine: &mut Engine, names: &[&str]) -> Result<(), ScriptError> {
    for name in names {
        let Some(m) = get(name) else {
            let msg = format!("no stdlib module called {name:?}");
            return Err(ScriptError::runtime(
                name,
                "",
                EvalAltResult::ErrorRuntime(msg.into(), Position::NONE),
            ));
        };
        let module = evaluate(engine, m)?;
        engine.register_global_module(Shared::new(module));
    }
    Ok(())
}

/// `import` for xsh scripts: the embedded modules by name, then files.
#[derive(Default)]
pub struct Resolver {
    files: FileModuleResolver,
    // An engine evaluates a stdlib module once, however often it is imported.
    loaded: RefCell<BTreeMap<&'static str, Shared<Module>>>,
}

impl ModuleResolver for Resolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let Some(m) = get(path) else {
            return self.files.resolve(engine, source, path, pos);
        };
        if let Some(done) = self.loaded.borrow().get(m.name) {
            return Ok(done.clone());
        }
        let module = evaluate(engine, m).map(Shared::new).map_err(|e| {
            Box::new(EvalAltResult::ErrorInModule(
                path.to_string(),
                Box::new(EvalAltResult::ErrorRuntime(e.to_string().into(), pos)),
                pos,
            ))
        })?;
        self.loaded.borrow_mut().insert(m.name, module.clone());
        Ok(module)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stdlib_file_is_embedded_and_compiles() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../stdlib");
        let mut on_disk = Vec::new();
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).expect("stdlib/ is readable") {
                let p = entry.expect("entry").path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|e| e == "rhai") {
                    let rel = p.strip_prefix(&dir).expect("under stdlib/");
                    on_disk.push(format!("stdlib/{}", rel.display()));
                }
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> = MODULES.iter().map(|m| m.path.to_string()).collect();
        embedded.sort();
        assert_eq!(
            on_disk, embedded,
            "stdlib.rs MODULES lists every stdlib/**/*.rhai"
        );

        let host = crate::Host::new(xsh_sim::Config::default(), crate::Limits::default());
        for m in MODULES {
            assert_eq!(
                format!("stdlib/{}.rhai", m.name),
                m.path,
                "import name = path"
            );
            if let Err(e) = evaluate(&host.engine, m) {
                panic!("{}", e.render(false));
            }
        }
    }
}
