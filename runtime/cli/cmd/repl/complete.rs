//! Tab completion: what could come at the cursor. After `x.`, the members of
//! `x`'s type (from the engine's own function table, so new API functions
//! complete without a change here); inside a string, probe names; after a
//! `:`, the REPL's commands; otherwise globals, functions, variables and
//! keywords.

use std::collections::{BTreeMap, BTreeSet};

use xsh_sim::probe::PROBE_DEFS;

/// The REPL's commands, as `:help` lists them.
pub const COMMANDS: &[(&str, &str)] = &[
    (":help", "this list"),
    (
        ":probes [pattern]",
        "the probes whose name contains the pattern",
    ),
    (
        ":stack",
        "the calls each execution context is in, in its layer's format",
    ),
    (
        ":logs [xend|xen|qemu NAME|console NAME]",
        "a log (default xend.log)",
    ),
    (":xs [PATH]", "the xenstore tree under PATH (default /)"),
    (
        ":step [N]",
        "run N events of the world (default 1) and show the calls they made",
    ),
    (":run", "run the world until it is idle (sim.run())"),
    (
        ":reset",
        "a fresh world and engine: every variable, hook and domain gone",
    ),
    (":load FILE", "run a script file in this session"),
    (":quit", "leave (or Ctrl-D)"),
];

const KEYWORDS: &[&str] = &[
    "let", "const", "fn", "if", "else", "while", "loop", "for", "in", "do", "until", "return",
    "break", "continue", "throw", "try", "catch", "import", "export", "as", "true", "false",
    "private", "switch", "this", "print", "debug", "type_of",
];

/// What completion knows about the session.
#[derive(Default, Clone)]
pub struct Candidates {
    /// Members (methods and properties) of each script type, by its name.
    pub members: BTreeMap<String, BTreeSet<String>>,
    /// Functions called without a receiver (`on`, `assert_eq`, script `fn`s).
    pub functions: BTreeSet<String>,
    /// Variables and globals, with their type's name.
    pub variables: BTreeMap<String, String>,
    /// The type a member gives, by (receiver type, member): what
    /// `dom.kernel.` completes with (`Domain.kernel` is a `Kernel`).
    pub returns: BTreeMap<(String, String), String>,
}

impl Candidates {
    /// Reads an engine's function signatures, as `gen_fn_signatures` writes
    /// them: `name(_: &mut Type, ...) -> R` for a method of `Type`,
    /// `get$name(...)` for a property, `name(...)` for a plain function.
    pub fn learn_signatures(&mut self, signatures: &[String]) {
        for sig in signatures {
            let Some((name, rest)) = sig.split_once('(') else {
                continue;
            };
            if name.contains("::") || name.starts_with("set$") || name.starts_with("__") {
                continue;
            }
            let name = name.strip_prefix("get$").unwrap_or(name);
            let first = rest.split([',', ')']).next().unwrap_or("");
            match first.trim().strip_prefix("_: &mut ") {
                Some(ty) => {
                    self.members
                        .entry(ty.trim().to_string())
                        .or_default()
                        .insert(name.to_string());
                }
                None => {
                    if name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                        self.functions.insert(name.to_string());
                    }
                }
            }
        }
    }

    /// Completions at byte `pos` of `line`: the byte where the replaced word
    /// starts, and the candidates, sorted.
    pub fn complete(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let before = line.get(..pos).unwrap_or(line);
        if let Some(cmd) = before.trim_start().strip_prefix(':') {
            return self.complete_command(before, cmd);
        }
        if let Some(quote) = open_string(before) {
            let word = &before[quote + 1..];
            return (quote + 1, probes_starting(word));
        }
        let word_start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
            .last()
            .map_or(before.len(), |(i, _)| i);
        let word = &before[word_start..];
        let mut out = BTreeSet::new();
        if let Some(receiver_end) = before[..word_start].strip_suffix('.') {
            let types: Vec<&BTreeSet<String>> = match self.type_of(receiver_end) {
                Some(ty) => self.members.get(&ty).into_iter().collect(),
                // Unknown receiver (an expression): any member may fit.
                None => self.members.values().collect(),
            };
            for set in types {
                out.extend(set.iter().filter(|m| m.starts_with(word)).cloned());
            }
        } else {
            let names = self
                .variables
                .keys()
                .chain(self.functions.iter())
                .map(String::as_str)
                .chain(KEYWORDS.iter().copied());
            out.extend(names.filter(|n| n.starts_with(word)).map(str::to_string));
        }
        (word_start, out.into_iter().collect())
    }

    /// The type of the chained expression `text` ends with — `dom`,
    /// `dom.kernel`, `xm.domain("web").qemu` — from the variables' types
    /// and what each member gives; `ctx`, a hook's parameter, is a probe
    /// context. `None` when a step is unknown.
    fn type_of(&self, text: &str) -> Option<String> {
        let mut steps: Vec<String> = Vec::new();
        let mut rest = text.trim_end();
        loop {
            // A call's arguments, skipped to their `(`.
            if rest.ends_with(')') {
                let mut depth = 0;
                let mut cut = None;
                for (i, c) in rest.char_indices().rev() {
                    match c {
                        ')' => depth += 1,
                        '(' => {
                            depth -= 1;
                            if depth == 0 {
                                cut = Some(i);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                rest = &rest[..cut?];
            }
            let start = rest
                .char_indices()
                .rev()
                .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
                .last()
                .map(|(i, _)| i)?;
            steps.push(rest[start..].to_string());
            rest = &rest[..start];
            match rest.strip_suffix('.') {
                Some(r) => rest = r,
                None => break,
            }
        }
        steps.reverse();
        let (first, members) = steps.split_first()?;
        let mut ty = match self.variables.get(first) {
            Some(t) => t.clone(),
            None if first == "ctx" => "ProbeContext".to_string(),
            None => return None,
        };
        for m in members {
            ty = self.returns.get(&(ty, m.clone()))?.clone();
        }
        Some(ty)
    }

    fn complete_command(&self, before: &str, cmd: &str) -> (usize, Vec<String>) {
        let at = before.len() - cmd.len();
        match cmd.split_once(' ') {
            None => {
                // With the space that follows a command, as a shell adds
                // one after a completed word.
                let names = COMMANDS
                    .iter()
                    .map(|(c, _)| c.split(' ').next().unwrap_or(c))
                    .filter(|c| c[1..].starts_with(cmd))
                    .map(|c| format!("{c} "))
                    .collect();
                (at - 1, names)
            }
            Some((name, arg)) => {
                let start = before.len() - arg.len();
                let options: Vec<String> = match name {
                    "probes" => probes_starting(arg),
                    "logs" => ["xend", "xen", "qemu", "console"]
                        .iter()
                        .filter(|o| o.starts_with(arg))
                        .map(|o| o.to_string())
                        .collect(),
                    _ => Vec::new(),
                };
                (start, options)
            }
        }
    }
}

/// The byte of an unterminated `"` before the cursor, if the cursor is in a
/// string.
fn open_string(before: &str) -> Option<usize> {
    let mut open = None;
    let mut escaped = false;
    for (i, c) in before.char_indices() {
        match c {
            '\\' if open.is_some() && !escaped => {
                escaped = true;
                continue;
            }
            '"' if !escaped => open = if open.is_some() { None } else { Some(i) },
            _ => {}
        }
        escaped = false;
    }
    open
}

fn probes_starting(word: &str) -> Vec<String> {
    PROBE_DEFS
        .iter()
        .map(|d| d.name)
        .filter(|n| n.starts_with(word))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates() -> Candidates {
        let mut c = Candidates::default();
        c.learn_signatures(&[
            "shutdown(_: &mut Xm, _: Dynamic) -> Result".into(),
            "create(_: &mut Xm, _: map) -> Domain".into(),
            "get$state(_: &mut Domain) -> string".into(),
            "set$pid(_: &mut Xend, _: i64)".into(),
            "on(_: string, _: Fn) -> i64".into(),
        ]);
        c.variables.insert("xm".into(), "Xm".into());
        c.variables.insert("dom".into(), "Domain".into());
        c
    }

    #[test]
    fn members_of_the_receivers_type() {
        let c = candidates();
        assert_eq!(c.complete("xm.sh", 5), (3, vec!["shutdown".to_string()]));
        assert_eq!(c.complete("dom.st", 6), (4, vec!["state".to_string()]));
        assert_eq!(c.complete("f().s", 5).1, vec!["shutdown", "state"]);
    }

    #[test]
    fn members_of_a_chained_expressions_type() {
        let mut c = candidates();
        c.learn_signatures(&[
            "get$kernel(_: &mut Domain) -> Kernel".into(),
            "get$pm_power_off(_: &mut Kernel) -> Dynamic".into(),
            "panic(_: &mut Kernel, _: &str)".into(),
            "domain(_: &mut Xm, _: Dynamic) -> Domain".into(),
            "get$args(_: &mut ProbeContext) -> ProbeArgs".into(),
            "orig(_: &mut ProbeContext) -> Dynamic".into(),
        ]);
        c.returns
            .insert(("Domain".into(), "kernel".into()), "Kernel".into());
        c.returns
            .insert(("Xm".into(), "domain".into()), "Domain".into());
        assert_eq!(
            c.complete("dom.kernel.", 11).1,
            vec!["panic", "pm_power_off"]
        );
        assert_eq!(
            c.complete("dom.kernel.p", 12).1,
            vec!["panic", "pm_power_off"]
        );
        let line = "xm.domain(\"web\").kernel.pa";
        assert_eq!(c.complete(line, line.len()).1, vec!["panic"]);
        assert_eq!(c.complete("ctx.", 4).1, vec!["args", "orig"]);
    }

    #[test]
    fn globals_functions_and_keywords() {
        let c = candidates();
        assert_eq!(c.complete("o", 1).1, vec!["on"]);
        assert_eq!(c.complete("let d = d", 9).1, vec!["debug", "do", "dom"]);
    }

    #[test]
    fn probe_names_inside_strings_and_after_probes() {
        let c = candidates();
        let line = "on(\"xend:XendDomainInfo.destroyD";
        let (start, v) = c.complete(line, line.len());
        assert_eq!(start, 4);
        assert_eq!(v, vec!["xend:XendDomainInfo.destroyDevice"]);
        assert!(c
            .complete(":probes qemu:destroy_h", 22)
            .1
            .contains(&"qemu:destroy_hvm_domain".to_string()));
    }

    #[test]
    fn commands_after_a_colon() {
        let c = candidates();
        assert_eq!(
            c.complete(":st", 3),
            (0, vec![":stack ".to_string(), ":step ".to_string()])
        );
        assert_eq!(c.complete(":ru", 3).1, vec![":run "]);
        assert_eq!(c.complete(":logs q", 7), (6, vec!["qemu".to_string()]));
    }
}
