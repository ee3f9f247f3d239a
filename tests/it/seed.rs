//! The seed's goldens (../shared/seed/README.md), each as one contiguous block
//! of the output it belongs to, produced through the public script API.

use crate::util::*;

fn golden(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/seed")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

#[test]
fn xend_poweroff_golden() {
    let h = ok(&scenario("2019-06-05 09:23:27", 2164, 8, ""));
    assert!(
        contains_block(&xend_log(&h), &golden("xend-poweroff.log")),
        "xend.log:\n{}",
        xend_log(&h)
    );
}

#[test]
fn xend_callstack_golden() {
    let h = ok(&scenario(
        "2019-06-06 10:12:26",
        25301,
        8,
        r#"on("xend:XendDomainInfo.destroyDevice", |ctx| xend.log_info(ctx.format_stack()));"#,
    ));
    assert!(
        contains_block(&xend_log(&h), &golden("xend-callstack.log")),
        "xend.log:\n{}",
        xend_log(&h)
    );
}

#[test]
fn qemu_dm_golden() {
    let h = ok(&scenario("2019-06-05 09:23:27", 2164, 1, ""));
    assert!(contains_block(
        &file(&h, "qemu-dm-ubuntu-kdump.log"),
        &golden("qemu-dm.log")
    ));
}

#[test]
fn xen_call_trace_golden() {
    let h = ok(&scenario(
        "2019-06-05 09:23:27",
        2164,
        1,
        r#"on("xen:__domain_finalise_shutdown", |ctx| xen.print(ctx.backtrace()));"#,
    ));
    assert!(
        contains_block(&xen_log(&h), &golden("xen-call-trace.log")),
        "xen console:\n{}",
        xen_log(&h)
    );
}

#[test]
fn fidelity_doc_lists_every_estimated_line() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/fidelity.md"),
    )
    .unwrap();
    let table = xsh_sim::toolstack::xend::lines::estimates_markdown();
    assert!(
        doc.contains(&table),
        "docs/fidelity.md is missing the current table of estimated lines:\n{table}"
    );
}

#[test]
fn probes_doc_is_generated_from_the_probe_table() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/probes.md"),
    )
    .unwrap();
    assert_eq!(
        doc,
        xsh_script::api::probes_markdown(),
        "regenerate: xsh probes --markdown > docs/probes.md"
    );
}

/// xend's threads are named as Python knows them, each followed once by the
/// function it runs: `Thread-N (…)`, the `Watcher`, and a raw
/// `thread.start_new_thread` as a dummy thread.
#[test]
fn xends_threads_are_named_once_each() {
    let h = ok(&scenario("2019-06-05 09:23:27", 2164, 8, ""));
    let ctxs = h.sim().ctxs.borrow();
    let names: Vec<String> = (0..ctxs.len() as u32)
        .map(|i| ctxs.get(xsh_sim::stack::CtxId(i)).name.to_string())
        .filter(|n| n.starts_with("xend "))
        .collect();
    assert!(
        names.iter().any(|n| n == "xend Dummy (_sentinel_watch)"),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n == "xend Watcher (xswatch.watchMain)"),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.starts_with("xend Thread-")),
        "{names:?}"
    );
    for n in &names {
        assert_eq!(n.matches(" (").count(), 1, "one label in {n}");
    }
}
