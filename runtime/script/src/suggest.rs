//! "Did you mean": the help line of an error that names something the
//! script does not have — a property (`dom.status`), a method
//! (`dom.poweroff()`), a variable (`domm`) or a call with the wrong
//! arguments — from what the engine really has (its own metadata, through
//! `apidoc::collect`) and the names the script declares. Rust's types
//! never reach the user: a wrong call lists the script signatures.

use rhai::EvalAltResult;

use crate::apidoc::{self, Api, Kind};
use crate::Host;

/// Edit distance on characters, a swap of two neighbours counting as one
/// edit (`nmae` is one from `name`): the optimal-string-alignment form of
/// Damerau-Levenshtein.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// The candidates close enough to `word` to be what was meant, closest
/// first (at most three): a few edits away for its length, or the same
/// but for case, or one containing the other.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let lower = word.to_lowercase();
    let max = (word.chars().count() / 3).clamp(1, 3);
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter(|c| *c != word)
        .filter_map(|c| {
            let cl = c.to_lowercase();
            let d = distance(&lower, &cl);
            let near = d <= max
                || (lower.len() >= 3 && (cl.contains(&lower) || lower.contains(cl.as_str())));
            near.then_some((d, c))
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

/// "did you mean `a`?" / "did you mean `a` or `b`?", or `None`.
pub fn did_you_mean(found: &[&str], quote: impl Fn(&str) -> String) -> Option<String> {
    match found {
        [] => None,
        [one] => Some(format!("did you mean {}?", quote(one))),
        [init @ .., last] => Some(format!(
            "did you mean {} or {}?",
            init.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", "),
            quote(last)
        )),
    }
}

/// Rust's names of the types a call was made with, as a script names
/// them: `&str | ImmutableString | String` is a string, `i64` an int.
pub fn script_types(list: &str) -> String {
    list.split(", ")
        .map(|t| match t.trim() {
            t if t.contains("ImmutableString") || t == "&str" || t == "String" => "string",
            "i64" | "i32" | "u64" | "usize" => "int",
            "f64" | "f32" => "float",
            "()" => "()",
            "rhai::FnPtr" | "FnPtr" => "Fn",
            "rhai::Map" | "Map" => "map",
            "rhai::Array" | "Array" => "array",
            t => t.rsplit("::").next().unwrap_or(t),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The innermost error of a chain of calls.
fn innermost(e: &EvalAltResult) -> &EvalAltResult {
    match e {
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => innermost(inner),
        e => e,
    }
}

/// The help line for `e`, if it names something that does not exist.
pub fn help(host: &Host, src: &str, e: &EvalAltResult) -> Option<String> {
    match innermost(e) {
        EvalAltResult::ErrorDotExpr(msg, _) => {
            // "Unknown property 'status' - a getter is not registered for type 'Domain'"
            let prop = between(msg, "Unknown property '", "'")?;
            let ty = between(msg, "for type '", "'")?;
            let api = apidoc::collect(host);
            Some(member_help(&api, ty, prop, true))
        }
        EvalAltResult::ErrorFunctionNotFound(sig, _) => {
            // "write (Xenstore, &str | ImmutableString | String)"
            let (name, args) = sig.split_once(" (")?;
            let args = args.strip_suffix(')').unwrap_or(args);
            let types: Vec<String> = script_types(args)
                .split(", ")
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect();
            let api = apidoc::collect(host);
            call_help(&api, name, &types)
        }
        EvalAltResult::ErrorVariableNotFound(name, _) => {
            let mut known: Vec<String> = declared(src);
            known.extend(crate::engine::GLOBALS.iter().map(|g| g.to_string()));
            let found = closest(name, known.iter().map(String::as_str));
            did_you_mean(&found, |s| format!("`{s}`"))
        }
        _ => None,
    }
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let rest = &s[s.find(open)? + open.len()..];
    Some(&rest[..rest.find(close)?])
}

/// The help for a property or method `name` that type `ty` lacks.
fn member_help(api: &Api, ty: &str, name: &str, property: bool) -> String {
    let who = apidoc::receiver_name(api, ty);
    let members: Vec<&apidoc::Item> = api
        .items
        .iter()
        .filter(|i| i.receiver.as_deref() == Some(ty))
        .collect();
    let (props, fns): (Vec<&str>, Vec<&str>) = (
        members
            .iter()
            .filter(|i| matches!(i.kind, Kind::Property { .. }))
            .map(|i| i.name.as_str())
            .collect(),
        members
            .iter()
            .filter(|i| i.kind == Kind::Function)
            .map(|i| i.name.as_str())
            .filter(|n| !matches!(*n, "to_string" | "to_debug"))
            .collect(),
    );
    let mut lines = Vec::new();
    // The right kind first, then the other (`dom.state()` for a property).
    let (first, second) = if property {
        (&props, &fns)
    } else {
        (&fns, &props)
    };
    let near = closest(name, first.iter().copied());
    let near = if near.is_empty() {
        closest(name, second.iter().copied())
    } else {
        near
    };
    let quote = |m: &str| {
        if fns.contains(&m) {
            format!("`{who}.{m}()`")
        } else {
            format!("`{who}.{m}`")
        }
    };
    if let Some(d) = did_you_mean(&near, quote) {
        lines.push(d);
    } else if let Some(elsewhere) = elsewhere(api, ty, name) {
        lines.push(elsewhere);
    }
    if !props.is_empty() {
        lines.push(format!("{ty} has the properties {}", props.join(", ")));
    }
    if !fns.is_empty() {
        lines.push(format!(
            "{ty} has the methods {}",
            fns.iter()
                .map(|f| format!("{f}()"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    lines.join("\n")
}

/// A member another global has under that name or a close one, for what a
/// domain does not do itself: `dom.shutdown()` is `xm.shutdown(dom)`.
fn elsewhere(api: &Api, ty: &str, name: &str) -> Option<String> {
    // What people call stopping a machine, and xm's word for it.
    let word = match name {
        "poweroff" | "power_off" | "stop" | "halt" => "shutdown",
        "kill" => "destroy",
        "restart" => "reboot",
        other => other,
    };
    let takes_ty = |i: &&apidoc::Item| {
        i.kind == Kind::Function
            && i.overloads
                .iter()
                .any(|(p, _)| p.first().is_some_and(|t| t == ty || t == "?"))
    };
    for (g, gty) in &api.globals {
        let found = api
            .items
            .iter()
            .filter(|i| i.receiver.as_deref() == Some(gty.as_str()))
            .filter(takes_ty)
            .find(|i| i.name == word);
        if let Some(i) = found {
            let arg = apidoc::receiver_name(api, ty);
            return Some(format!("did you mean `{g}.{}({arg})`?", i.name));
        }
    }
    None
}

/// The help for a call that matched no function: the script signatures of
/// the functions of that name, or the closest names.
fn call_help(api: &Api, name: &str, types: &[String]) -> Option<String> {
    let receiver = types.first().filter(|t| {
        api.items
            .iter()
            .any(|i| i.receiver.as_deref() == Some(t.as_str()))
    });
    let same: Vec<&apidoc::Item> = api
        .items
        .iter()
        .filter(|i| i.name == name && i.kind == Kind::Function)
        .filter(|i| match receiver {
            Some(r) => i.receiver.as_deref() == Some(r.as_str()),
            None => i.receiver.is_none(),
        })
        .collect();
    if !same.is_empty() {
        let mut lines = vec![format!("{name} takes:")];
        for item in same {
            let who = item
                .receiver
                .as_deref()
                .map(|t| format!("{}.", apidoc::receiver_name(api, t)));
            for sig in apidoc::signatures(item) {
                lines.push(format!("    {}{sig}", who.clone().unwrap_or_default()));
            }
        }
        let given = match receiver {
            Some(_) => &types[1..],
            None => types,
        };
        lines.push(format!("called with ({})", given.join(", ")));
        return Some(lines.join("\n"));
    }
    match receiver {
        Some(ty) => Some(member_help(api, ty, name, false)),
        None => {
            let globals: Vec<&str> = api
                .items
                .iter()
                .filter(|i| i.receiver.is_none())
                .map(|i| i.name.as_str())
                .collect();
            did_you_mean(&closest(name, globals), |s| format!("`{s}()`"))
        }
    }
}

/// The names a script declares: `let`/`const` variables, function
/// parameters and closure parameters (a lexical scan: good enough to
/// suggest, never used to decide anything).
pub fn declared(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for word in ["let ", "const ", "for "] {
        let mut rest = src;
        while let Some(i) = rest.find(word) {
            let before = rest[..i].chars().last();
            rest = &rest[i + word.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let name = ident(rest.trim_start().trim_start_matches('('));
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    // Parameters: `fn f(a, b)` and `|a, b|`.
    for (open, close) in [("fn ", ')'), ("|", '|')] {
        let mut rest = src;
        while let Some(i) = rest.find(open) {
            rest = &rest[i + open.len()..];
            let params = if open == "fn " {
                match rest.find('(') {
                    Some(p) => &rest[p + 1..],
                    None => continue,
                }
            } else {
                rest
            };
            let Some(end) = params.find(close) else {
                continue;
            };
            for p in params[..end].split(',') {
                let name = ident(p.trim());
                if !name.is_empty() {
                    out.push(name);
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_names() {
        assert_eq!(closest("status", ["state", "name", "uuid"]), vec!["state"]);
        assert_eq!(closest("domm", ["dom", "sim", "xm"]), vec!["dom"]);
        assert_eq!(closest("nmae", ["name", "id", "type"]), vec!["name"]);
        assert!(closest("poweroff", ["console", "on", "hook"]).is_empty());
    }

    #[test]
    fn script_types_hide_rust() {
        assert_eq!(
            script_types("Xenstore, &str | ImmutableString | String"),
            "Xenstore, string"
        );
        assert_eq!(script_types("i64, f64"), "int, float");
    }

    #[test]
    fn declared_names() {
        let d =
            declared("let dom = 1;\nfn helper(a, b) {}\non(\"x\", |ctx| ctx);\nfor i in 0..3 {}");
        for n in ["dom", "a", "b", "ctx", "i"] {
            assert!(d.contains(&n.to_string()), "{n} in {d:?}");
        }
    }
}
