//! The script API's reference, for editors and for people, from one source:
//! `xsh definitions DIR` writes `.d.rhai` definition files (what Rhai's
//! language server reads) and `xsh definitions --markdown` writes
//! docs/api.md.
//!
//! What exists comes from the engine's own metadata (Rhai's
//! `gen_fn_signatures`): every registered function, property and overload,
//! with its types, so nothing registered is missed. The words come from
//! `docs.rs`; the stdlib modules' from their own `///` comments.

mod docs;

use std::collections::BTreeMap;

use rhai::Engine;

use crate::engine::GLOBALS;
use crate::{stdlib, Host};

/// What a member is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// Called with `()`.
    Function,
    /// Read (and perhaps written) without `()`.
    Property { settable: bool },
}

/// A function or property of the API, with all its overloads.
#[derive(Clone, Debug)]
pub struct Item {
    /// The receiver's type (`Xm`), or `None` for a global function.
    pub receiver: Option<String>,
    /// Its name.
    pub name: String,
    /// Function or property.
    pub kind: Kind,
    /// Each overload: parameter types (receiver excluded) and result type.
    pub overloads: Vec<(Vec<String>, String)>,
}

impl Item {
    fn key(&self) -> String {
        match &self.receiver {
            Some(t) => format!("{t}.{}", self.name),
            None => self.name.clone(),
        }
    }

    /// (parameter names for an overload of `arity`, doc) from docs.rs, if
    /// it has an entry. An entry names each overload's parameters, split by
    /// `|` (`"value | key, value"`), or just the longest's.
    fn doc(&self, arity: usize) -> Option<(Vec<&'static str>, &'static str)> {
        let key = self.key();
        let (_, params, doc) = docs::DOCS.iter().find(|(k, ..)| *k == key)?;
        let lists: Vec<Vec<&'static str>> = params
            .split('|')
            .map(|l| {
                l.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .collect();
        let names = lists
            .iter()
            .find(|l| l.len() == arity)
            .or_else(|| lists.iter().max_by_key(|l| l.len()))
            .cloned()
            .unwrap_or_default();
        Some((names, *doc))
    }
}

/// The whole API of an engine.
#[derive(Clone, Debug, Default)]
pub struct Api {
    /// Global variables and their types (`sim: Sim`).
    pub globals: Vec<(String, String)>,
    /// Every item, receivers' members and global functions.
    pub items: Vec<Item>,
}

/// A Rust type name as a script sees it (`int`, `string`, `Domain`, `?`).
fn script_type(engine: &Engine, rust: &str) -> String {
    let t = rust.trim();
    // A fallible function's result is its `Ok` type.
    let t = match t.strip_prefix("core::result::Result<") {
        Some(inner) => inner
            .rsplit_once(",alloc::boxed::Box<")
            .map_or(inner, |(ok, _)| ok),
        None => t,
    };
    let t = t.trim_start_matches("&mut ").trim();
    match t {
        "" | "()" => "()".into(),
        "i64" => "int".into(),
        "f64" => "float".into(),
        "alloc::string::String" | "ImmutableString" | "&str" => "string".into(),
        t if t.ends_with("Dynamic") => "?".into(),
        t => engine.map_type_name(t).to_string(),
    }
}

/// Reads the engine's metadata.
pub fn collect(host: &Host) -> Api {
    let engine = &host.engine;
    // Script functions of a stdlib module loaded as globals are documented
    // from their own source, in their own section.
    let scripted: Vec<String> = stdlib::MODULES
        .iter()
        .flat_map(|m| stdlib_functions(host, m))
        .map(|(name, ..)| name)
        .collect();
    let mut by_key: BTreeMap<(Option<String>, String), Item> = BTreeMap::new();
    // Rhai's own functions that xsh re-implements (deep.rs) are not its API.
    let rhais = crate::deep::signatures();
    for sig in engine.gen_fn_signatures(false) {
        if rhais.contains(&sig) {
            continue;
        }
        let Some((name, rest)) = sig.split_once('(') else {
            continue;
        };
        if scripted.iter().any(|s| s == name) || name.starts_with("anon$") {
            continue;
        }
        let (args, ret) = match rest.rsplit_once(" -> ") {
            Some((a, r)) => (a.trim_end_matches(')'), script_type(engine, r)),
            None => (rest.trim_end_matches(')'), "()".to_string()),
        };
        let mut params: Vec<String> = split_params(args)
            .iter()
            .map(|p| {
                p.split_once(": ")
                    .map_or(p.as_str(), |(_, t)| t)
                    .to_string()
            })
            .collect();
        let receiver = match params.first() {
            Some(p) if p.starts_with("&mut ") => Some(script_type(engine, &params.remove(0))),
            _ => None,
        };
        let params: Vec<String> = params.iter().map(|p| script_type(engine, p)).collect();
        let (name, kind) = if let Some(n) = name.strip_prefix("get$") {
            (n, Kind::Property { settable: false })
        } else if let Some(n) = name.strip_prefix("set$") {
            (n, Kind::Property { settable: true })
        } else {
            (name, Kind::Function)
        };
        // `xen.print` is registered as `__print` (see engine.rs).
        let name = if name == "__print" { "print" } else { name };
        // `__...` are internal; `index$get$` is what `x[k]` and a property
        // with no getter of its own call, documented with the type.
        if name.starts_with("__") || name.starts_with("index$") {
            continue;
        }
        let item = by_key
            .entry((receiver.clone(), name.to_string()))
            .or_insert_with(|| Item {
                receiver,
                name: name.to_string(),
                kind,
                overloads: Vec::new(),
            });
        match kind {
            Kind::Property { settable: true } => {
                item.kind = Kind::Property { settable: true };
            }
            Kind::Property { .. } => item.overloads.push((Vec::new(), ret)),
            Kind::Function => {
                if !item.overloads.iter().any(|(p, _)| *p == params) {
                    item.overloads.push((params, ret));
                }
            }
        }
    }
    let mut items: Vec<Item> = by_key.into_values().collect();
    for item in &mut items {
        item.overloads.sort_by_key(|(p, _)| p.len());
    }
    // The globals: those `on_var` resolves, and any global module constant
    // named after its type (`logs: Logs`).
    let mut globals = Vec::new();
    let mut candidates: Vec<String> = GLOBALS.iter().map(|g| g.to_string()).collect();
    for item in &items {
        if let Some(t) = &item.receiver {
            let lower = t.to_lowercase();
            if !candidates.contains(&lower) {
                candidates.push(lower);
            }
        }
    }
    for g in candidates {
        let mut scope = rhai::Scope::new();
        if let Ok(t) = engine.eval_with_scope::<String>(&mut scope, &format!("type_of({g})")) {
            globals.push((g, t));
        }
    }
    Api { globals, items }
}

fn split_params(args: &str) -> Vec<String> {
    // Types may hold commas inside <...>; split at top-level commas only.
    let mut out = Vec::new();
    let (mut depth, mut cur) = (0, String::new());
    for c in args.chars() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur).trim().to_string());
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// How a script names a value of `ty`: its global, or a customary variable.
pub(crate) fn receiver_name(api: &Api, ty: &str) -> String {
    if let Some((g, _)) = api.globals.iter().find(|(_, t)| t == ty) {
        return g.clone();
    }
    match ty {
        "Domain" => "dom".into(),
        "Kernel" => "dom.kernel".into(),
        "Qemu" => "dom.qemu".into(),
        "ProbeContext" => "ctx".into(),
        "ProbeArgs" => "ctx.args".into(),
        "Transaction" => "t".into(),
        t => t.to_lowercase(),
    }
}

/// The types in the order the reference shows them: the globals' first,
/// then the values they hand out, then the rest.
fn type_order(api: &Api) -> Vec<String> {
    let mut order: Vec<String> = api.globals.iter().map(|(_, t)| t.clone()).collect();
    for t in [
        "Domain",
        "Kernel",
        "Qemu",
        "ProbeContext",
        "ProbeArgs",
        "Transaction",
    ] {
        order.push(t.to_string());
    }
    let mut rest: Vec<String> = api
        .items
        .iter()
        .filter_map(|i| i.receiver.clone())
        .collect();
    rest.sort();
    for t in rest {
        if !order.contains(&t) {
            order.push(t);
        }
    }
    order.retain(|t| api.items.iter().any(|i| i.receiver.as_deref() == Some(t)));
    order.dedup();
    order
}

/// Each overload of a function as a script calls it: `write(path: string,
/// value: string)`, with the parameter names docs.rs gives.
pub(crate) fn signatures(item: &Item) -> Vec<String> {
    item.overloads
        .iter()
        .map(|(params, _)| {
            let names = item.doc(params.len()).map(|d| d.0).unwrap_or_default();
            format!("{}({})", item.name, params_text(&names, params))
        })
        .collect()
}

fn params_text(names: &[&str], types: &[String]) -> String {
    types
        .iter()
        .enumerate()
        .map(|(i, t)| match names.get(i) {
            Some(n) => format!("{n}: {t}"),
            None => format!("_: {t}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

const UNDOCUMENTED: &str = "(undocumented: add an entry to runtime/script/src/apidoc/docs.rs)";

/// `///` lines for a `.d.rhai` file.
fn doc_comment(doc: &str) -> String {
    doc.lines()
        .map(|l| format!("/// {l}").trim_end().to_string() + "\n")
        .collect()
}

/// The `.d.rhai` files: (file name, text).
pub fn definitions(api: &Api, host: &Host) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut s = String::from(
        "// The xsh script API, generated by `xsh definitions` from the engine's metadata.\nmodule static;\n\n",
    );
    for item in &api.items {
        let this = item.receiver.as_ref().map(|t| format!("_: {t}"));
        for (params, ret) in &item.overloads {
            let (names, doc) = item.doc(params.len()).unwrap_or((Vec::new(), UNDOCUMENTED));
            s.push_str(&doc_comment(doc));
            let all: Vec<String> = this
                .iter()
                .cloned()
                .chain(std::iter::once(params_text(&names, params)))
                .filter(|p| !p.is_empty())
                .collect();
            let ret = if ret == "()" {
                String::new()
            } else {
                format!(" -> {ret}")
            };
            match item.kind {
                Kind::Function => {
                    s.push_str(&format!("fn {}({}){ret};\n\n", item.name, all.join(", ")))
                }
                Kind::Property { settable } => {
                    s.push_str(&format!(
                        "fn get {}({}){ret};\n\n",
                        item.name,
                        all.join(", ")
                    ));
                    if settable {
                        let value = ret.trim_start_matches(" -> ");
                        s.push_str(&format!(
                            "fn set {}({}, value: {value});\n\n",
                            item.name,
                            all.join(", ")
                        ));
                    }
                }
            }
        }
    }
    files.push(("__static__.d.rhai".to_string(), s));

    let mut scope = String::from("module static;\n\n");
    for (g, t) in &api.globals {
        scope.push_str(&format!("const {g}: {t};\n"));
    }
    files.push(("__scope__.d.rhai".to_string(), scope));

    for m in stdlib::MODULES {
        let mut s = format!("module {};\n\n", m.name);
        for f in stdlib_functions(host, m) {
            for c in &f.2 {
                s.push_str(c);
                s.push('\n');
            }
            s.push_str(&format!("fn {}({});\n\n", f.0, f.1.join(", ")));
        }
        files.push((format!("{}.d.rhai", m.name), s));
    }
    // Rhai's own functions and operators, for completeness in an editor.
    for (name, text) in host.engine.definitions().iter_files() {
        if name.starts_with("__builtin") {
            files.push((name, text));
        }
    }
    files
}

/// A stdlib module's public functions: (name, parameters, `///` lines).
fn stdlib_functions(host: &Host, m: &stdlib::Embedded) -> Vec<(String, Vec<String>, Vec<String>)> {
    let Ok(ast) = stdlib::compile(&host.engine, m) else {
        return Vec::new();
    };
    let mut fns: Vec<(String, Vec<String>, Vec<String>)> = ast
        .iter_functions()
        .filter(|f| f.access == rhai::FnAccess::Public && !f.name.starts_with("anon$"))
        .map(|f| {
            let comments = f
                .comments
                .iter()
                .flat_map(|c| c.lines().map(str::to_string))
                .collect();
            (
                f.name.to_string(),
                f.params.iter().map(|p| p.to_string()).collect(),
                comments,
            )
        })
        .collect();
    // Source order: Rhai keeps functions hashed.
    fns.sort_by_key(|(name, params, _)| {
        let sig = format!("fn {name}({}", params.join(", "));
        m.source.find(&sig).unwrap_or(usize::MAX)
    });
    fns
}

/// docs/api.md.
pub fn markdown(api: &Api, host: &Host) -> String {
    let mut s = String::from(
        "# Script API\n\n\
         Generated by `xsh definitions --markdown` from the engine's own metadata (every\n\
         registered function, property and overload, with its types) and the doc entries\n\
         of `runtime/script/src/apidoc/docs.rs`; `xsh definitions DIR` writes the same as\n\
         `.d.rhai` files for an editor. Types: `?` is any value, `Fn` a closure.\n\
         DESIGN.md's contract lists the forms scripts rely on; docs/hooks.md the hook rules;\n\
         docs/probes.md the probes.\n\n## Globals\n\n| name | type |\n|---|---|\n",
    );
    for (g, t) in &api.globals {
        s.push_str(&format!("| `{g}` | {t} |\n"));
    }
    s.push_str("\n## Functions\n");
    for item in api.items.iter().filter(|i| i.receiver.is_none()) {
        s.push_str(&markdown_item(item, None));
    }
    for ty in type_order(api) {
        let who = receiver_name(api, &ty);
        s.push_str(&format!("\n## `{who}` ({ty})\n"));
        for item in api
            .items
            .iter()
            .filter(|i| i.receiver.as_deref() == Some(&ty))
        {
            s.push_str(&markdown_item(item, Some(&who)));
        }
    }
    for m in stdlib::MODULES {
        s.push_str(&format!(
            "\n## stdlib `{}` (`import \"{}\" as t;`; globals in `xsh test`)\n",
            m.name, m.name
        ));
        for (name, params, comments) in stdlib_functions(host, m) {
            s.push_str(&format!("\n### `{name}({})`\n\n", params.join(", ")));
            for c in comments {
                let line = c.trim_start_matches("///");
                s.push_str(line.strip_prefix(' ').unwrap_or(line));
                s.push('\n');
            }
        }
    }
    s
}

fn markdown_item(item: &Item, who: Option<&str>) -> String {
    let (_, doc) = item.doc(0).unwrap_or((Vec::new(), UNDOCUMENTED));
    let mut s = String::new();
    let prefix = who.map_or(String::new(), |w| format!("{w}."));
    match item.kind {
        Kind::Property { settable } => {
            let ty = item.overloads.first().map_or("?", |(_, r)| r.as_str());
            let rw = if settable { "get/set" } else { "get" };
            s.push_str(&format!("\n### `{prefix}{}: {ty}` ({rw})\n", item.name));
        }
        Kind::Function => {
            s.push('\n');
            for (params, ret) in &item.overloads {
                let names = item.doc(params.len()).map(|d| d.0).unwrap_or_default();
                let ret = if ret == "()" {
                    String::new()
                } else {
                    format!(" -> {ret}")
                };
                s.push_str(&format!(
                    "### `{prefix}{}({}){ret}`\n",
                    item.name,
                    params_text(&names, params)
                ));
            }
        }
    }
    s.push('\n');
    s.push_str(doc);
    s.push('\n');
    s
}

/// The reference of `query` as the REPL's `?name` shows it: a global
/// (`sim`: its members' signatures), a member (`sim.run_for`,
/// `Sim.run_for`, or just `run_for` for every type that has one) or a
/// global function (`on`), each with its doc; empty when nothing is named so.
pub fn lookup(api: &Api, query: &str) -> Vec<String> {
    let query = query.trim().trim_end_matches("()");
    let mut out = Vec::new();
    if let Some((g, ty)) = api.globals.iter().find(|(g, _)| g == query) {
        let mut s = format!("{g}: {ty}\n");
        for item in api
            .items
            .iter()
            .filter(|i| i.receiver.as_deref() == Some(ty))
        {
            let line = markdown_item(item, Some(g));
            for l in line.lines().filter(|l| l.starts_with("### ")) {
                s.push_str(&format!("  {}\n", plain_heading(l)));
            }
        }
        out.push(s);
        return out;
    }
    let (who, name) = match query.rsplit_once('.') {
        Some((w, n)) => (Some(w), n),
        None => (None, query),
    };
    for item in &api.items {
        if item.name != name {
            continue;
        }
        let matches = match (who, &item.receiver) {
            (None, _) => true,
            (Some(w), Some(t)) => w == t || w == receiver_name(api, t),
            (Some(_), None) => false,
        };
        if matches {
            let w = item.receiver.as_deref().map(|t| receiver_name(api, t));
            let text = markdown_item(item, w.as_deref());
            let shown: Vec<String> = text
                .lines()
                .skip_while(|l| l.is_empty())
                .map(|l| {
                    if l.starts_with("### ") {
                        plain_heading(l)
                    } else {
                        l.to_string()
                    }
                })
                .collect();
            out.push(shown.join("\n").trim_end().to_string());
        }
    }
    out
}

/// "### `sim.run_for(seconds: ?)`" as "sim.run_for(seconds: ?)".
fn plain_heading(l: &str) -> String {
    l.trim_start_matches("### ").replace('`', "")
}
