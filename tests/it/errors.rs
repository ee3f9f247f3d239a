//! Bad input: an error naming the problem at its script position, never a panic.

use crate::util::*;
use xsh_script::diag::ErrorKind;

fn fails(src: &str) -> xsh_script::ScriptError {
    match run(src).1 {
        Ok(()) => panic!("script should fail:\n{src}"),
        Err(e) => e,
    }
}

#[test]
fn unknown_config_key() {
    let e = fails("let x = 1;\nxm.create(#{ name: \"a\", colour: \"red\" });\n");
    assert!(
        e.message.contains("unknown config key `colour`"),
        "{}",
        e.message
    );
    assert_eq!(e.pos.map(|p| p.0), Some(2));
    assert!(e.render(false).contains("colour"));
}

#[test]
fn wrong_type() {
    let e = fails("xm.create(#{ name: \"a\", vcpus: \"two\" });");
    assert!(
        e.message.contains("`vcpus` must be an int"),
        "{}",
        e.message
    );
    assert_eq!(e.pos.map(|p| p.0), Some(1));
}

#[test]
fn domain_that_does_not_exist() {
    let e = fails("\n\nxm.shutdown(\"nosuch\");");
    assert!(
        e.message.contains("Domain 'nosuch' does not exist."),
        "{}",
        e.message
    );
    assert_eq!(e.pos.map(|p| p.0), Some(3));
}

#[test]
fn shutting_down_domain_0() {
    let e = fails("xm.shutdown(0);");
    assert_eq!(e.message, "Error: Domain 0 cannot be shutdown");
    let e = fails("xm.destroy(\"Domain-0\");");
    assert_eq!(e.message, "Error: Cannot destroy privileged domain 0");
}

#[test]
fn unknown_probe_names_the_nearest() {
    let e = fails("on(\"xend:destroyDevice\", |ctx| ());");
    assert!(
        e.message.contains("xend:XendDomainInfo.destroyDevice"),
        "{}",
        e.message
    );
}

#[test]
fn parse_error_has_a_position() {
    let e = fails("let a = 1;\nlet b = ;\n");
    assert_eq!(e.kind, ErrorKind::Parse);
    assert_eq!(e.pos.map(|p| p.0), Some(2));
}

#[test]
fn hook_error_is_reported_inside_the_hook() {
    let src = "let dom = xm.create(#{ name: \"a\", devices: [\"vif/0\"] });\non(\"xend:XendDomainInfo.destroy\", |ctx| {\n    throw \"boom\";\n});\nxm.shutdown(dom);\nsim.run();\n";
    let e = fails(src);
    assert!(e.message.contains("boom"), "{}", e.message);
    assert_eq!(e.pos.map(|p| p.0), Some(3));
}

#[test]
fn xend_preempt_takes_a_probability_written_as_an_integer_and_refuses_others() {
    let h = ok("xend.preempt = 1;\nif xend.preempt != 1.0 { throw \"not set\"; }\n");
    assert_eq!(h.sim().xend.borrow().opts.preempt, 1.0);
    let e = fails("\nxend.preempt = 2;");
    assert!(
        e.message
            .contains("xend.preempt is a probability (0..1), got 2"),
        "{}",
        e.message
    );
    assert_eq!(e.pos.map(|p| p.0), Some(2), "at its line");
}

#[test]
fn a_callback_with_the_wrong_number_of_parameters_is_refused_where_it_is_given() {
    // Found only when the world called it, this was "Function not found:
    // anon$..." with no line.
    let cases = [
        (
            "let x = 1;\non(\"qemu:destroy_hvm_domain\", || x);\n",
            "on(...) expects a closure taking one parameter (the probe context), got one taking 0 parameters",
        ),
        (
            "let d = xm.create(#{ name: \"a\" });\nd.hook(\"qemu:destroy_hvm_domain\", |a, b| 1);\n",
            "dom.hook(...) expects a closure taking one parameter (the probe context), got one taking 2",
        ),
        (
            "1;\nsim.after(1.0, |a, b| 1);\n",
            "sim.after(s, f) expects a closure taking no parameters, got one taking 2",
        ),
        (
            "1;\nxs.watch(\"/w\", || 1);\n",
            "xs.watch(path, f) expects a closure taking two parameters (the path, the token), got one taking 0",
        ),
    ];
    for (src, msg) in cases {
        let e = fails(src);
        assert!(e.message.contains(msg), "{src}: {}", e.message);
        assert_eq!(e.pos.map(|p| p.0), Some(2), "{src}");
    }
    // Captured variables do not count; a named function is checked too.
    ok("let x = 1;\non(\"qemu:destroy_hvm_domain\", |c| x);\nxs.watch(\"/w\", |p, t| x);\nfn cb(c) { 1 }\nhook(\"qemu:destroy_hvm_domain\", Fn(\"cb\"));\n");
    let e = fails("fn cb() { 1 }\nhook(\"qemu:destroy_hvm_domain\", Fn(\"cb\"));\n");
    assert!(e.message.contains("got one taking 0"), "{}", e.message);
}

#[test]
fn every_limit_help_line_reads_as_sentences() {
    // "took too long If the work is real" lacked its full stop.
    for l in xsh_script::diag::Limit::ALL {
        let h = l.help();
        assert!(h.contains("? If ") || h.contains(". If "), "{l:?}: {h}");
        assert!(h.ends_with('.'), "{l:?}: {h}");
    }
}

#[test]
fn a_limit_in_a_hook_names_the_closure_and_only_that_one() {
    let host = xsh_script::Host::new(
        xsh_sim::Config::default(),
        xsh_script::Limits {
            max_operations: 10_000,
            ..xsh_script::Limits::default()
        },
    );
    let src = "let d = xm.create(#{ name: \"a\", devices: [\"vif/0\"] });\n\
               on(\"qemu:destroy_hvm_domain\", |ctx| { loop { } });\n\
               xm.shutdown(d);\n\
               try { sim.run(); } catch (e) { }\n\
               loop { }\n";
    let e = host.run("t.rhai", src).expect_err("the hook is endless");
    // A limit passes through a `try`, as Rhai's own limits do: the one
    // reported is the hook's, not the script's last loop.
    assert_eq!(e.kind, ErrorKind::Limit);
    assert_eq!(e.pos.map(|p| p.0), Some(2), "{}", e.render(false));
    assert!(e
        .render(false)
        .contains("the world was running from this call"));
    let host = host.renew(xsh_sim::Config::default());
    let src = "let d = xm.create(#{ name: \"a\", devices: [\"vif/0\"] });\n\
               on(\"qemu:destroy_hvm_domain\", |ctx| {\n    loop { }\n});\n\
               xm.shutdown(d);\nsim.run();\n";
    let e = host.run("t.rhai", src).expect_err("the hook is endless");
    assert_eq!(e.pos.map(|p| p.0), Some(2));
    assert!(e
        .render(false)
        .contains("reached while running this closure"));
    assert!(e
        .render(false)
        .contains("the world was running from this call"));
}

#[test]
fn a_named_function_that_cannot_be_called_is_refused_where_it_is_given() {
    // Found only when the world called it, these failed with no line.
    let e = fails("\non(\"qemu:destroy_hvm_domain\", Fn(\"nosuch\"));\n");
    assert!(
        e.message
            .contains("but there is no function named \"nosuch\""),
        "{}",
        e.message
    );
    assert_eq!(e.pos.map(|p| p.0), Some(2));
    let e = fails("sim.after(1.0, Fn(\"to_string\"));\n");
    assert!(
        e.message
            .contains("got \"to_string\", which takes 1 parameter"),
        "{}",
        e.message
    );
    // A script function of the right shape is taken.
    ok("fn seen(ctx) { }\non(\"qemu:destroy_hvm_domain\", Fn(\"seen\"));\n");
}
