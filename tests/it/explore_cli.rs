//! `xsh explore` and `--choose` at their edges: values with `,` `=` `\`
//! and quotes replayed as themselves, samples that reach every
//! combination, `--choose` names and values the script does not have,
//! shards that do not fit together, counts of zero, invariants that
//! return something other than a bool.

use xsh_script::explore::report::{Mode, Report};
use xsh_script::explore::runner::{explore, Job};
use xsh_sim::Config;

use crate::util::Scratch;

fn explore_src(src: &str, f: impl FnOnce(&mut Job)) -> Report {
    let mut job = Job::new("t.rhai", src, Config::default());
    f(&mut job);
    explore(&job, &|_| {}).unwrap_or_else(|e| panic!("{}", e.render(false)))
}

/// The words of a POSIX shell command as `shell_word` quotes them.
fn shell_words(cmd: &str) -> Vec<String> {
    let (mut words, mut cur, mut quoted, mut any) = (Vec::new(), String::new(), false, false);
    let mut chars = cmd.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if !quoted => {
                cur.extend(chars.next());
                any = true;
            }
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    words.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(cur);
    }
    words
}

const AWKWARD: &str = r#"let x = sim.choose("x", ["plain", "a,b", "k=v", "it's \"q\"", " pad ", "back\\slash", "a\\,b"]);
print(x);
"#;

#[test]
fn replay_commands_give_back_values_with_commas_equals_quotes_and_spaces() {
    let s = Scratch::new("awkward", &[("weird.rhai", AWKWARD)]);
    let report = explore_src(AWKWARD, |j| j.name = "weird.rhai".into());
    assert_eq!(report.variants.len(), 7);
    for v in &report.variants {
        let want = &v.choices[0].1;
        let cmd = report.replay(v);
        let words = shell_words(cmd.strip_prefix("xsh ").expect("an xsh command"));
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        let (code, out, err) = s.xsh(&args);
        assert_eq!(code, 0, "{cmd}: {err}");
        assert_eq!(out, format!("{want}\n"), "{cmd}");
    }
    // By hand: an escaped comma, and the flag repeated.
    let (code, out, _) = s.xsh(&["run", "weird.rhai", "--choose", r"x=a\,b"]);
    assert_eq!((code, out.as_str()), (0, "a,b\n"));
    let (code, out, err) = s.xsh(&["run", "weird.rhai", "--choose", r"x=back\\slash"]);
    assert_eq!((code, out.as_str()), (0, "back\\slash\n"));
    // The choices line after a run is written as --choose reads it.
    assert_eq!(err, "choices: x=back\\\\slash\n");
}

#[test]
fn samples_that_reach_every_combination_run_each_once() {
    let none = explore_src("let a = 1;", |j| j.samples = Some(1_000_000));
    assert_eq!(none.variants.len(), 1);
    assert_eq!(none.mode, Mode::Exhaustive);
    assert!(
        none.summary()
            .contains("every combination, each once: --samples 1000000"),
        "{}",
        none.summary()
    );
    let src = r#"sim.choose("a", [1, 2, 3]); sim.choose("b", [1, 2, 3]);"#;
    let nine = explore_src(src, |j| j.samples = Some(9));
    assert_eq!((nine.variants.len(), &nine.mode), (9, &Mode::Exhaustive));
    let r = Report::from_json(&nine.json()).expect("reads back");
    assert_eq!(r.all_of_samples, Some(9));
    // A tree that grows below its first path: the walk stops at N.
    let grows = r#"if sim.choose("a", [0, 1]) == 1 { sim.choose("b", [0, 1, 2, 3, 4, 5, 6, 7]); }"#;
    let cut = explore_src(grows, |j| j.samples = Some(3));
    assert_eq!(cut.variants.len(), 3);
    assert!(
        cut.summary().ends_with("; stopped at --samples 3"),
        "{}",
        cut.summary()
    );
    // Fewer samples than combinations still sample, and one is singular.
    let one = explore_src(src, |j| j.samples = Some(1));
    assert!(matches!(one.mode, Mode::Sampled { .. }));
    assert!(one.summary().contains("(1 seeded sample (sample seed 1))"));
}

#[test]
fn explore_with_thousands_of_options_is_quick() {
    // Two choices of 1,000 options, 2,000 samples: seconds, not minutes
    // (the options' duplicate check used to be quadratic per variant).
    let src = r#"let o = []; for i in 0..1000 { o.push(i) }
sim.choose("a", o); sim.choose("b", o);"#;
    let t = std::time::Instant::now();
    let r = explore_src(src, |j| j.samples = Some(2_000));
    assert!(r.variants.len() > 1_900);
    assert!(t.elapsed().as_secs() < 60, "{:?}", t.elapsed());
}

const GUEST: &str = r#"let g = sim.choose("guest", ["pv", "hvm"]);
print(g);
"#;

#[test]
fn choose_names_and_values_the_script_lacks_are_told_apart() {
    let s = Scratch::new("choose", &[("fail.rhai", GUEST)]);
    // A value the choice lacks: one error, no contradicting warning.
    let (code, _, err) = s.xsh(&["run", "fail.rhai", "--choose", "guest=xx"]);
    assert_eq!(code, 1);
    assert!(err.contains("has no option \"xx\""), "{err}");
    assert!(!err.contains("made no choice"), "{err}");
    // In explore, a usage error rather than a failed variant.
    let (code, out, err) = s.xsh(&["explore", "fail.rhai", "--choose", "guest=xx"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("error: --choose guest=xx: sim.choose(\"guest\") has no option \"xx\""),
        "{err}"
    );
    assert!(out.is_empty(), "{out}");
    // A name no variant asks for: explored, with a warning, as run warns.
    let (code, out, err) = s.xsh(&["explore", "fail.rhai", "--choose", "nosuch=1"]);
    assert_eq!(code, 0);
    assert!(out.contains("2 variants (every combination)"), "{out}");
    assert!(
        err.contains("warning: --choose nosuch=...: no variant made a choice named \"nosuch\""),
        "{err}"
    );
    let (_, _, err) = s.xsh(&["run", "fail.rhai", "--choose", "nosuch=1"]);
    assert!(
        err.contains("the script made no choice named \"nosuch\""),
        "{err}"
    );
}

#[test]
fn zero_samples_or_max_variants_are_usage_errors() {
    let s = Scratch::new("zero", &[("g.rhai", GUEST)]);
    let (code, out, err) = s.xsh(&["explore", "g.rhai", "--samples", "0"]);
    assert_eq!(code, 2);
    assert!(err.contains("--samples must be at least 1"), "{err}");
    assert!(out.is_empty());
    let (code, _, err) = s.xsh(&["explore", "g.rhai", "--max-variants", "0"]);
    assert_eq!(code, 2);
    assert!(err.contains("--max-variants must be at least 1"), "{err}");
}

fn json_of(s: &Scratch, name: &str, args: &[&str]) -> String {
    let mut all = vec!["explore", "g.rhai", "--json"];
    all.extend_from_slice(args);
    let (code, out, err) = s.xsh(&all);
    assert_eq!(code, 0, "{err}");
    std::fs::write(s.path(name), &out).expect("results written");
    out
}

#[test]
fn merge_names_the_files_and_fields_that_differ_and_checks_shard_numbers() {
    let s = Scratch::new("merge", &[("g.rhai", GUEST)]);
    let p1 = json_of(&s, "p1.json", &["--shard", "1/3"]);
    json_of(&s, "seed2.json", &["--shard", "2/3", "--seed", "2"]);
    let (code, _, err) = s.xsh(&["explore", "--merge", "p1.json", "seed2.json"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("p1.json and seed2.json are not shards of the same exploration: --seed 1 in p1.json, 2 in seed2.json"),
        "{err}"
    );
    // Shard numbers outside the count, and a count of 0.
    let edited = [
        ("big.json", p1.replace("\"shards\":[0]", "\"shards\":[7]")),
        (
            "zero.json",
            p1.replace("\"shard_count\":3", "\"shard_count\":0"),
        ),
    ];
    for (name, text) in &edited {
        assert_ne!(text, &p1, "{name} is edited");
        std::fs::write(s.path(name), text).unwrap();
        let (code, out, err) = s.xsh(&["explore", "--merge", "p1.json", name]);
        assert_eq!(code, 2, "{name}: {out}");
        assert!(err.starts_with(&format!("error: {name}: ")), "{err}");
    }
    let (_, _, err) = s.xsh(&["explore", "--merge", "big.json"]);
    assert!(
        err.contains("\"shards\" holds 7, but shards of 3 are numbered 0 to 2"),
        "{err}"
    );
}

#[test]
fn an_invariant_that_returns_no_bool_is_reported_where_it_is_declared() {
    let src = "let d = xm.create(#{ name: \"x\" });\n\
               sim.invariant(\"bad\", || 42);\n\
               xm.shutdown(d);\n\
               sim.run();\n";
    let (_, r) = crate::util::run(src);
    let e = r.expect_err("a non-bool invariant is an error");
    assert_eq!(e.pos.map(|p| p.0), Some(2), "{}", e.render(false));
    assert!(
        e.message
            .contains("sim.invariant(\"bad\") must return true or false, got an integer"),
        "{}",
        e.message
    );
}

/// A variant that failed under the exploration's limits fails the same way
/// when its replay command runs: the command repeats the limit flags.
#[test]
fn a_replay_repeats_the_limits_the_variant_ran_under() {
    let s = Scratch::new(
        "replay-limits",
        &[(
            "lim.rhai",
            "let v = sim.choose(\"n\", [10, 100000]);\nlet s = 0;\nfor i in 0..v { s += i; }\n",
        )],
    );
    let (code, out, err) = s.xsh(&["explore", "lim.rhai", "--max-operations", "5000"]);
    assert_eq!(code, 1, "{out}{err}");
    let replay = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("replay: xsh "))
        .unwrap_or_else(|| panic!("a replay line in {out}"));
    assert_eq!(
        replay,
        "run lim.rhai --max-operations 5000 --choose n=100000"
    );
    let args: Vec<&str> = replay.split(' ').collect();
    let (code, _, err) = s.xsh(&args);
    assert_eq!(code, 3, "the replay meets the same limit: {err}");
    assert!(err.contains("operation limit reached"), "{err}");
}
