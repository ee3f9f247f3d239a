//! `sim.param(name, default)` and `xsh run --param name=value`: a script's
//! own knobs, so that one script answers a question at any size ("the same
//! shutdown with 10,000 domains") without being edited.
//!
//! A parameter's value is text on the command line and takes the type of the
//! default the script gives: an integer default wants an integer, a float a
//! number, a bool `true`/`false`; a string takes the text as it is.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use rhai::Dynamic;

/// The values given with `--param` and the names the script asked for.
#[derive(Default)]
pub struct Params {
    given: BTreeMap<String, String>,
    asked: RefCell<BTreeSet<String>>,
}

impl Params {
    /// The same values, for a second world of the same run
    /// (`sim.in_new_world`), which keeps its own record of names asked.
    pub fn same_values(&self) -> Params {
        Params {
            given: self.given.clone(),
            asked: RefCell::default(),
        }
    }

    /// Parameters from `--param name=value` arguments (each may hold several,
    /// comma-separated, with `--choose`'s escapes).
    pub fn parse(args: &[String]) -> Result<Params, String> {
        let given =
            crate::explore::parse_choose(args).map_err(|e| e.replace("--choose", "--param"))?;
        Ok(Params {
            given,
            asked: RefCell::new(BTreeSet::new()),
        })
    }

    /// The value of `name`: the one given on the command line, read as the
    /// default's type, or the default.
    pub fn get(&self, name: &str, default: Dynamic) -> Result<Dynamic, String> {
        if name.is_empty() {
            return Err("sim.param needs a name: sim.param(\"domains\", 100)".into());
        }
        self.asked.borrow_mut().insert(name.to_string());
        let Some(text) = self.given.get(name) else {
            return Ok(default);
        };
        let bad = |what: &str| {
            Err(format!(
                "--param {name}={text}: sim.param(\"{name}\", {default}) wants {what}"
            ))
        };
        let t = text.trim();
        if default.is_int() {
            let cleaned: String = t.chars().filter(|&c| c != '_').collect();
            match cleaned.parse::<i64>() {
                Ok(i) => Ok(Dynamic::from_int(i)),
                Err(_) => bad("an integer"),
            }
        } else if default.is_float() {
            match t.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Dynamic::from_float(f)),
                _ => bad("a number"),
            }
        } else if default.is_bool() {
            match t {
                "true" => Ok(Dynamic::TRUE),
                "false" => Ok(Dynamic::FALSE),
                _ => bad("true or false"),
            }
        } else if default.is_string() {
            Ok(Dynamic::from(text.clone()))
        } else {
            Err(format!(
                "sim.param(\"{name}\", ...): the default must be an integer, a number, a bool or a string, not {}",
                default.type_name()
            ))
        }
    }

    /// A count the script asked for and the command line gave: the first
    /// integer parameter whose name contains `word` (`domains` for
    /// "domain"), with its value.
    pub fn asked_count(&self, word: &str) -> Option<(String, u64)> {
        let asked = self.asked.borrow();
        self.given.iter().find_map(|(name, text)| {
            let n = text.trim().replace('_', "").parse::<u64>().ok()?;
            (name.contains(word) && asked.contains(name)).then(|| (name.clone(), n))
        })
    }

    /// Names given with `--param` that the script never asked for.
    pub fn unused(&self) -> Vec<String> {
        let asked = self.asked.borrow();
        self.given
            .keys()
            .filter(|k| !asked.contains(*k))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_param_takes_the_type_of_its_default() {
        let p = Params::parse(&["domains=10_000,name=web,slow=true".into()]).unwrap();
        assert_eq!(
            p.get("domains", Dynamic::from_int(5)).unwrap().as_int(),
            Ok(10_000)
        );
        assert_eq!(
            p.get("name", Dynamic::from("x".to_string()))
                .unwrap()
                .into_string()
                .unwrap(),
            "web"
        );
        assert_eq!(p.get("slow", Dynamic::FALSE).unwrap().as_bool(), Ok(true));
        assert_eq!(
            p.get("other", Dynamic::from_int(3)).unwrap().as_int(),
            Ok(3)
        );
        assert!(p.get("name", Dynamic::from_int(1)).is_err());
        assert!(p.unused().is_empty());
        let q = Params::parse(&["n=1".into()]).unwrap();
        assert_eq!(q.unused(), vec!["n".to_string()]);
    }
}
