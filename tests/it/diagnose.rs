//! `xsh logs diagnose` on the corpus in tests/diagnose and on the seed's
//! logs: the variant, the verdict and the first divergence each must give.

use xsh_log::diagnose::{Source, Verdict};
use xsh_script::diagnose::{diagnose, Options};

fn run(files: &[&str]) -> xsh_log::diagnose::Diagnosis {
    let sources = files
        .iter()
        .map(|f| Source::parse(f, &std::fs::read(f).expect("corpus file")))
        .collect();
    diagnose(sources, &Options::default())
}

#[test]
fn the_seeds_logs_fit_the_model() {
    for f in [
        "../shared/seed/xend-poweroff.log",
        "../shared/seed/qemu-dm.log",
        "../shared/seed/xen-call-trace.log",
        "../shared/seed/xend-callstack.log",
    ] {
        let d = run(&[f]);
        assert!(d.fits(), "{f}:\n{}", d.render());
    }
}

#[test]
fn xend_killed_before_the_cleanup_is_found_where_it_left_the_path() {
    for f in [
        "tests/diagnose/xend-restart/xend.log",
        "tests/diagnose/xend-restart/xend.log.mail",
    ] {
        let d = run(&[f]);
        let text = d.render();
        assert_eq!(d.domains[0].verdict, Verdict::Diverges, "{text}");
        assert!(text.contains("first divergence: after"), "{text}");
        assert!(
            text.contains("`Destroying device model` (step 25"),
            "{text}"
        );
        assert!(text.contains("toolstack started (pid 8812)"), "{text}");
    }
}

#[test]
fn a_reboot_and_a_crash_with_on_crash_restart_fit_and_name_their_action() {
    for f in [
        "tests/diagnose/reboot/xend.log",
        "tests/diagnose/reboot/xend.log.forum",
    ] {
        let text = run(&[f]).render();
        assert!(text.contains("on_reboot = restart"), "{text}");
        assert!(text.contains("verdict: fits"), "{text}");
    }
    for f in [
        "tests/diagnose/crash-restart/xend.log",
        "tests/diagnose/crash-restart/xend.log.mail",
    ] {
        let text = run(&[f]).render();
        assert!(text.contains("on_crash = restart"), "{text}");
        assert!(!text.contains("on_poweroff = "), "{text}");
        assert!(
            !text.contains("step 33"),
            "the crash's cleanup is not the 300 s timer: {text}"
        );
    }
}

#[test]
fn a_gap_the_model_cannot_explain_is_reported() {
    let text = run(&["tests/diagnose/slow-shutdown/xend.log"]).render();
    assert!(text.contains("19 min 3 s in the log"), "{text}");
}

#[test]
fn what_the_model_cannot_replay_is_said_not_guessed() {
    let d = run(&["tests/diagnose/restore-failed/xend.log"]);
    let text = d.render();
    assert!(
        matches!(d.domains[0].verdict, Verdict::NotModelled(_)),
        "{text}"
    );
    assert!(!text.contains("on_poweroff = "), "{text}");
    for f in [
        "tests/diagnose/xl-poweroff/xl-web.log",
        "tests/diagnose/xl-reboot/xl-web.log",
    ] {
        let d = run(&[f]);
        assert!(
            matches!(d.domains[0].verdict, Verdict::NotModelled(_)),
            "{f}"
        );
        assert!(d.host.domains[0].xl);
    }
}
