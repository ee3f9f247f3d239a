//! `xsh explore`: a script declares choice points, checks and its outcome;
//! xsh runs every combination of choices (or a seeded sample), each in a
//! fresh world, and tables the distinct endings.
//!
//! - this file — the per-host [`State`]: the plan that decides each
//!   `sim.choose`, the trail of choices made, invariants, the outcome;
//! - `args.rs` — the `--choose name=value,...` syntax, read and written;
//! - `check.rs` — invariants, checked between instants of virtual time;
//! - `faults.rs` — the model's fault points by name (`sim.fault`);
//! - `outcome.rs` — a run's outcome signature (the script's, or a default
//!   of final domain states and key log lines);
//! - `space.rs` — the choice tree: enumeration, sampling, sharding, order;
//! - `runner.rs` — running variants, each in its own world;
//! - `threads.rs` — sharing them out among threads;
//! - `report.rs` — results, the outcome table, failures and their replay;
//! - `shards.rs` — the JSON results `--shard` runs write and `--merge` joins.
//!
//! docs/explore.md is the user's guide.

pub mod args;
pub mod check;
pub mod faults;
pub mod outcome;
pub mod report;
pub mod runner;
pub mod shards;
pub mod space;
pub mod threads;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use rhai::{Dynamic, FnPtr, Position};
use xsh_sim::fxhash::FxHashSet;

pub use args::{choose_arg, parse_choose};

/// How the choices of a run are decided.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Indexes for the first choices made, in the order they are made (the
    /// explorer's path through the choice tree).
    pub prefix: Vec<usize>,
    /// Values fixed by name (`--choose name=value`); such a choice is not
    /// a branch point.
    pub fixed: BTreeMap<String, String>,
    /// How every other choice is decided.
    pub rest: Rest,
}

/// How a choice that neither the prefix nor a fixed value decides is made.
#[derive(Clone, Debug, Default)]
pub enum Rest {
    /// `xsh run`: a pick derived from the world's seed and the choice's
    /// name (not from the world's generator, whose draws it would shift).
    #[default]
    Seeded,
    /// The first option (the explorer's leftmost path below a prefix).
    First,
    /// A pick from this seed, in the order choices are made (sampling).
    Random(u64),
}

/// A choice made during a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Made {
    /// Its name.
    pub name: String,
    /// Its options, as text.
    pub options: Vec<String>,
    /// Which one was taken.
    pub index: usize,
    /// Options the explorer may branch to: all of them, or 1 when fixed.
    pub branches: usize,
    /// Whether `--choose` (or the explorer's pin) fixed it.
    pub fixed: bool,
}

/// A check declared with `sim.invariant(name, || ...)`.
#[derive(Clone)]
pub struct Invariant {
    /// Its name.
    pub name: String,
    /// The check.
    pub f: FnPtr,
    /// Where it was declared.
    pub pos: Position,
}

/// A violated invariant.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// The invariant's name.
    pub name: String,
    /// Virtual seconds when it was found false.
    pub at: f64,
}

/// Explore state of one host.
#[derive(Default)]
pub struct State {
    /// How choices are decided.
    pub plan: RefCell<Plan>,
    /// Choices made so far, in order.
    pub trail: RefCell<Vec<Made>>,
    /// Declared invariants.
    pub invariants: RefCell<Vec<Invariant>>,
    /// The outcome the script stated with `sim.outcome`, in key order.
    pub outcome: RefCell<BTreeMap<String, String>>,
    /// The first invariant found false.
    pub violation: RefCell<Option<Violation>>,
    /// `--choose` values the script's choice did not offer: (name, message).
    /// Such a name was asked for, so it is not "unused"; `xsh explore`
    /// treats a value no variant accepted as a usage error.
    pub refused: RefCell<Vec<(String, String)>>,
    draws: Cell<u64>,
    /// The key lines last found, and where the logs stood then: a script
    /// that states them as its outcome and prints them too reads them twice
    /// at the same point.
    key_lines: RefCell<Option<(xsh_sim::logs::LogsMark, Vec<String>)>>,
}

impl State {
    /// The key lines the world's logs hold now (`outcome::key_lines`),
    /// found again only if the logs changed since they were last asked for.
    pub fn key_lines(&self, sim: &xsh_sim::Sim) -> Vec<String> {
        let mark = sim.logs.borrow().mark();
        let mut memo = self.key_lines.borrow_mut();
        match &*memo {
            Some((m, lines)) if *m == mark => lines.clone(),
            _ => {
                let lines = outcome::key_lines(sim);
                *memo = Some((mark, lines.clone()));
                lines
            }
        }
    }

    /// Are there invariants to check?
    pub fn has_invariants(&self) -> bool {
        !self.invariants.borrow().is_empty()
    }

    /// `sim.choose(name, options)`: decides, records and returns a value.
    pub fn choose(
        &self,
        world_seed: u64,
        name: &str,
        options: &[Dynamic],
    ) -> Result<Dynamic, String> {
        if name.is_empty() {
            return Err("sim.choose needs a name: sim.choose(\"fault\", [...])".into());
        }
        if options.is_empty() {
            return Err(format!(
                "sim.choose(\"{name}\", []): a choice needs at least one option"
            ));
        }
        let texts: Vec<String> = options.iter().map(option_text).collect();
        // A set, not a scan of the options before each one: a choice of
        // thousands of options would cost quadratic time in every variant.
        // (Fx: the texts are only looked up, never listed from the set.)
        let mut distinct: FxHashSet<&str> = FxHashSet::default();
        distinct.reserve(texts.len());
        if let Some(t) = texts.iter().find(|t| !distinct.insert(t.as_str())) {
            return Err(format!(
                "sim.choose(\"{name}\"): the option {t:?} appears twice; options are told apart by their text"
            ));
        }
        let mut trail = self.trail.borrow_mut();
        if let Some(m) = trail.iter().find(|m| m.name == name) {
            // The same choice asked again (a helper called twice): same answer.
            if m.options != texts {
                return Err(format!(
                    "sim.choose(\"{name}\") was already made with other options ({}); one name, one set of options",
                    m.options.join(", ")
                ));
            }
            return Ok(options[m.index].clone());
        }
        let plan = self.plan.borrow();
        let depth = trail.len();
        let (index, fixed) = if let Some(v) = plan.fixed.get(name) {
            match texts.iter().position(|t| t == v) {
                Some(i) => (i, true),
                None => {
                    let msg = format!(
                        "--choose {}: sim.choose(\"{name}\") has no option {v:?}; its options are {}",
                        choose_arg(&[(name.to_string(), v.clone())]),
                        texts.join(", ")
                    );
                    self.refused
                        .borrow_mut()
                        .push((name.to_string(), msg.clone()));
                    return Err(msg);
                }
            }
        } else if let Some(&i) = plan.prefix.get(depth) {
            if i >= texts.len() {
                // The same script and seed made a different choice here
                // before: something in it is not deterministic.
                return Err(format!(
                    "sim.choose(\"{name}\"): asked for option {} of {}; the script chose differently in an earlier run with the same choices — is it deterministic?",
                    i + 1,
                    texts.len()
                ));
            }
            (i, false)
        } else {
            let i = match plan.rest {
                Rest::First => 0,
                Rest::Seeded => (mix(world_seed ^ fnv(name)) % texts.len() as u64) as usize,
                Rest::Random(seed) => {
                    let k = self.draws.get();
                    self.draws.set(k + 1);
                    (mix(seed.wrapping_add(mix(k))) % texts.len() as u64) as usize
                }
            };
            (i, false)
        };
        trail.push(Made {
            name: name.to_string(),
            branches: if fixed { 1 } else { texts.len() },
            options: texts,
            index,
            fixed,
        });
        Ok(options[index].clone())
    }

    /// The choices made, as `name=value` pairs in the order made.
    pub fn choices(&self) -> Vec<(String, String)> {
        self.trail
            .borrow()
            .iter()
            .map(|m| (m.name.clone(), m.options[m.index].clone()))
            .collect()
    }

    /// Names fixed by `--choose` that the script never asked for (a name
    /// asked for with options lacking the value is refused, not unused).
    pub fn unused_fixed(&self) -> Vec<String> {
        let trail = self.trail.borrow();
        let refused = self.refused.borrow();
        self.plan
            .borrow()
            .fixed
            .keys()
            .filter(|k| !trail.iter().any(|m| &m.name == *k))
            .filter(|k| !refused.iter().any(|(n, _)| n == *k))
            .cloned()
            .collect()
    }
}

/// An option as the text `--choose` and the tables use.
pub fn option_text(d: &Dynamic) -> String {
    if d.is_unit() {
        "()".into()
    } else {
        d.to_string()
    }
}

/// FNV-1a: a stable hash of a name (std's hasher may change between releases).
pub fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// splitmix64's finaliser: spreads a seed over all bits.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(v: &[&str]) -> Vec<Dynamic> {
        v.iter().map(|s| Dynamic::from(s.to_string())).collect()
    }

    #[test]
    fn a_prefix_decides_in_order_then_the_first_option() {
        let st = State::default();
        *st.plan.borrow_mut() = Plan {
            prefix: vec![1],
            rest: Rest::First,
            ..Plan::default()
        };
        let a = st.choose(1, "a", &opts(&["x", "y"])).unwrap();
        let b = st.choose(1, "b", &opts(&["p", "q", "r"])).unwrap();
        assert_eq!(a.to_string(), "y");
        assert_eq!(b.to_string(), "p");
        // Asked again: the same answer, not a new branch point.
        assert_eq!(
            st.choose(1, "a", &opts(&["x", "y"])).unwrap().to_string(),
            "y"
        );
        assert_eq!(st.trail.borrow().len(), 2);
        assert!(st.choose(1, "a", &opts(&["x"])).is_err());
    }

    #[test]
    fn fixed_values_must_be_options_and_do_not_branch() {
        let st = State::default();
        st.plan.borrow_mut().fixed = parse_choose(&["a=y".into()]).unwrap();
        assert_eq!(
            st.choose(1, "a", &opts(&["x", "y"])).unwrap().to_string(),
            "y"
        );
        assert_eq!(st.trail.borrow()[0].branches, 1);
        st.plan.borrow_mut().fixed = parse_choose(&["b=z".into()]).unwrap();
        let e = st.choose(1, "b", &opts(&["x", "y"])).unwrap_err();
        assert!(e.contains("has no option \"z\""), "{e}");
    }

    #[test]
    fn seeded_picks_depend_on_seed_and_name_only() {
        let pick = |seed: u64, name: &str| {
            let st = State::default();
            st.choose(seed, name, &opts(&["a", "b", "c", "d", "e", "f", "g", "h"]))
                .unwrap()
                .to_string()
        };
        assert_eq!(pick(7, "fault"), pick(7, "fault"));
        let all: std::collections::BTreeSet<String> = (0..64).map(|s| pick(s, "fault")).collect();
        assert!(all.len() > 4, "seeds spread over the options: {all:?}");
    }

    #[test]
    fn a_refused_value_is_not_reported_unused() {
        let st = State::default();
        st.plan.borrow_mut().fixed = parse_choose(&["g=zz,other=1".into()]).unwrap();
        assert!(st.choose(1, "g", &opts(&["a", "b"])).is_err());
        assert_eq!(st.unused_fixed(), vec!["other".to_string()]);
        assert_eq!(st.refused.borrow()[0].0, "g");
    }

    #[test]
    fn many_options_take_linear_time() {
        // 200,000 options: a scan per option (the old duplicate check)
        // takes minutes here; a set takes a fraction of a second.
        let st = State::default();
        let many: Vec<Dynamic> = (0..200_000).map(|i: i64| Dynamic::from(i)).collect();
        let t = std::time::Instant::now();
        let _ = st.choose(1, "n", &many).unwrap();
        assert!(t.elapsed().as_secs_f64() < 10.0, "{:?}", t.elapsed());
        let mut dup = many.clone();
        dup.push(Dynamic::from(7_i64));
        let e = State::default().choose(1, "n", &dup).unwrap_err();
        assert!(e.contains("\"7\" appears twice"), "{e}");
    }
}
