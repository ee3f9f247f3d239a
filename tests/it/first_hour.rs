//! Issue 14: the rough edges a new user and a Xen engineer meet in the
//! first hour — the clock, the errors, the entry points. Each test here
//! failed before its fix.

use crate::util::{ok, run};

/// `sim.run_for(s)` ends with the clock at now + s, as SimPy's
/// `run(until=)` does, even when the world goes idle before then.
#[test]
fn run_for_ends_at_now_plus_s_even_when_idle() {
    ok(r#"
let t = sim.now();
sim.run_for(5.0);
assert_eq(sim.now(), t + 5.0, "an idle world still advances");
let dom = xm.create(#{ name: "h", type: "hvm", guest: "ubuntu-16.04" });
xm.shutdown(dom);
let t0 = sim.now();
sim.run_for(1000.0);           // xend's 300 s timer is the last event
assert_eq(dom.state, "destroyed");
assert_eq(sim.now(), t0 + 1000.0, "the clock ends at the deadline, not at the last event");
"#);
    let (_, r) = run("sim.run_for(-1.0);");
    assert!(r.is_err(), "a negative duration is still refused");
}

/// `cargo run`, a bare `xsh` and `xsh run` print the same run: one default
/// seed (a derived `Default` once gave seed 0 where clap's gave 1, so the
/// qemu-dm pid in the README's chain was not the one `xsh` printed).
#[test]
fn bare_xsh_and_xsh_run_print_the_same_run() {
    let (c1, bare, _) = crate::util::xsh_in(None, &[]);
    let (c2, run, _) = crate::util::xsh_in(None, &["run"]);
    let (c3, seeded, _) = crate::util::xsh_in(None, &["run", "--seed", "1"]);
    assert_eq!((c1, c2, c3), (0, 0, 0));
    assert_eq!(bare, run, "bare xsh and xsh run differ");
    assert_eq!(run, seeded, "xsh run's default seed is 1");
}

/// `xsh completions <shell>` prints a completion script naming the commands.
#[test]
fn completions_for_bash_and_zsh() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = crate::util::xsh_in(None, &["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        for word in ["explore", "logs", "seed"] {
            assert!(out.contains(word), "{shell} completion lacks {word}");
        }
    }
    let (code, _, _) = crate::util::xsh_in(None, &["completions", "tcsh"]);
    assert_eq!(code, 2, "an unknown shell is a usage error");
}

/// `--color always|never` decide colour whatever stderr is (auto: a
/// terminal and NO_COLOR unset, which a test's pipe never is).
#[test]
fn color_flag_forces_or_removes_colour() {
    let s = crate::util::Scratch::new("color", &[("bad.rhai", "xm.shutdown(\"ghost\");\n")]);
    let bad = s.0.join("bad.rhai");
    let bad = bad.to_str().unwrap();
    let (_, _, always) = crate::util::xsh_in(None, &["--color", "always", "run", bad]);
    let (_, _, never) = crate::util::xsh_in(None, &["run", bad, "--color", "never"]);
    let (_, _, auto) = crate::util::xsh_in(None, &["run", bad]);
    assert!(always.contains("\x1b["), "always: {always}");
    assert!(!never.contains("\x1b["), "never: {never}");
    assert!(!auto.contains("\x1b["), "auto into a pipe: {auto}");
}

/// Each output flag says on stderr what it wrote: the path and its size.
#[test]
fn output_flags_say_what_they_wrote() {
    let s = crate::util::Scratch::new("wrote", &[]);
    let trace = s.0.join("run.jsonl");
    let seq = s.0.join("run.svg");
    let logs = s.0.join("logs");
    let (code, _, err) = crate::util::xsh_in(
        None,
        &[
            "run",
            "--trace",
            trace.to_str().unwrap(),
            "--sequence",
            seq.to_str().unwrap(),
            "--log-dir",
            logs.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    for p in [&trace, &seq] {
        let len = std::fs::metadata(p).unwrap().len();
        assert!(len > 1024, "{} is not empty", p.display());
        let kib = format!("wrote {} ({:.1} KiB)", p.display(), len as f64 / 1024.0);
        assert!(err.contains(&kib), "stderr lacks `{kib}`:\n{err}");
    }
    let line = format!("wrote 4 logs to {} (", logs.display());
    assert!(err.contains(&line), "stderr lacks `{line}`:\n{err}");
    assert!(err.contains("): xend.log, xen.log, qemu-dm-ubuntu-kdump.log, console-ubuntu-kdump.log"), "{err}");
}
