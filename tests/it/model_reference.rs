//! Issue 14: places where the model or its API did not say what the
//! reference (../shared/reference/) says. Each test failed before its fix.

use crate::util::ok;

/// `/vm/<uuid>/uuid` is readable by the guest whatever its domid: xend
/// grants `self.domid`, not the domid the config pinned (reference §3.2).
#[test]
fn vm_uuid_is_guest_readable_without_a_pinned_domid() {
    ok(r#"
let dom = xm.create(#{ name: "h", type: "hvm", guest: "ubuntu-16.04" });
let guest = xs.as_domain(dom.id);
assert_eq(guest.read(`/vm/${dom.uuid}/uuid`), dom.uuid);
let other = xm.create(#{ name: "o", type: "hvm", guest: "ubuntu-16.04" });
let denied = false;
try { xs.as_domain(other.id).read(`/vm/${dom.uuid}/uuid`); } catch (e) { denied = `${e}`.contains("EACCES"); }
assert(denied, "another guest still cannot read it");
"#);
}

/// `xs.as_domain(id).watch(...)` registers the watch as that guest, on its
/// own connection: it fires for the script, counts against the guest's
/// watch quota, and the quota's error is the daemon's (reference §3.3, §3.5).
#[test]
fn a_guest_watch_is_the_guests_with_its_quota() {
    ok(r#"
let dom = xm.create(#{ name: "h", type: "hvm", guest: "ubuntu-16.04" });
let guest = xs.as_domain(dom.id);
let seen = [];
let t = guest.watch("data/x", |p, tok| seen.push(p));
sim.run_for(0.1);
assert_eq(seen, ["data/x"], "fires on registration, with the relative path the guest gave");
xs.write(`/local/domain/${dom.id}/data/x`, "1");
sim.run_for(0.1);
assert_eq(seen.len(), 2, "and on a change");
guest.unwatch(t);
xs.write(`/local/domain/${dom.id}/data/x`, "2");
sim.run_for(0.1);
assert_eq(seen.len(), 2, "unwatched");
"#);
    // The guest's watches count: oxenstored (the default) refuses the one
    // past `quota-maxwatch = 100` plus one with EQUOTA, C xenstored the
    // one past 128 plus one with E2BIG; dom0 has no quota.
    for (daemon, limit, errno) in [("ocaml", 100, "EQUOTA"), ("c", 128, "E2BIG")] {
        ok(&format!(
            r#"
sim.xenstored = "{daemon}";
let dom = xm.create(#{{ name: "h", type: "hvm", guest: "ubuntu-16.04" }});
let guest = xs.as_domain(dom.id);
let made = 0;
let err = "";
for i in 0..300 {{
    try {{ guest.watch(`data/w${{i}}`, |p, t| ()); made += 1; }} catch (e) {{ err = `${{e}}`; break; }}
}}
assert(err.starts_with("{errno}"), `refused with ${{err}}`);
assert(made <= {limit} + 1 && made > {limit} - 10, `${{made}} watches made`);
for i in 0..300 {{ xs.watch(`/local/domain/${{dom.id}}/data/d${{i}}`, |p, t| ()); }}
"#
        ));
    }
}

/// Quotas per daemon (reference §3.5, xenstored_core.c:87-90, quota.ml,
/// oxenstored.conf): a guest's nodes and a value's size, each refused the way its daemon refuses it.
#[test]
fn quotas_follow_the_daemon() {
    for (daemon, node_err, big_err, dom0_big) in [
        ("ocaml", "EQUOTA", "E2BIG", false),
        ("c", "ENOSPC", "ENOSPC", true),
    ] {
        ok(&format!(
            r#"
sim.xenstored = "{daemon}";
let dom = xm.create(#{{ name: "h", type: "hvm", guest: "ubuntu-16.04" }});
let guest = xs.as_domain(dom.id);
let base = `/local/domain/${{dom.id}}/data`;
let err = "";
// Nodes: a guest owns at most 1000.
let made = 0;
for i in 0..1200 {{
    try {{ guest.write(`${{base}}/n${{i}}`, "v"); made += 1; }} catch (e) {{ err = `${{e}}`; break; }}
}}
assert(err.starts_with("{node_err}"), `node quota: ${{err}}`);
assert(made < 1000, `${{made}} nodes`);
// A value of 3000 bytes.
let big = "";
for i in 0..300 {{ big += "0123456789"; }}
let xs_err = "";
try {{ guest.write(`${{base}}/n0`, big); }} catch (e) {{ xs_err = `${{e}}`; }}
assert(xs_err.starts_with("{big_err}"), `value size as the guest: ${{xs_err}}`);
let dom0_err = "";
try {{ xs.write("/tool/big", big); }} catch (e) {{ dom0_err = `${{e}}`; }}
assert_eq(dom0_err == "", {dom0_big}, `value size as dom0: ${{dom0_err}}`);
"#
        ));
    }
}

/// `dom.qemu.log()` is that domain's qemu-dm's own log: after a restart the
/// old handle reads the old process's (rotated to `.1` on disk), the new
/// domain's handle the new one's.
#[test]
fn qemu_log_follows_its_process_across_a_restart() {
    let h = ok(r#"
let dom = xm.create(#{ name: "web", id: 10, devices: ["vif/0", "vbd/51712"] });
sim.run_for(120);
xm.reboot(dom);
sim.run_for(10);
let again = xm.domain("web");
assert(again.id != dom.id, "restarted with a new domid");
let old = dom.qemu.log();
let fresh = again.qemu.log();
assert(old.contains("Issued domain 10 reboot"), old);
assert(!fresh.contains("Issued domain 10 reboot"), fresh);
assert(fresh != "", "the new process has written its start-up lines");
"#);
    let old = crate::util::file(&h, "qemu-dm-web.log.1");
    assert!(old.contains("Issued domain 10 reboot"));
}

/// xend's traceback on the Watcher path runs XendDomain.py `_refresh` ->
/// `_refreshTxn` -> XendDomainInfo.py `update` -> `refreshShutdown`, at
/// RELEASE-4.4.4's line numbers (reference §2.6).
#[test]
fn watcher_traceback_goes_through_refresh_txn_and_update() {
    let h = ok(r#"
sim.profile = "upstream-4.4.4";
let dom = xm.create(#{ name: "h", type: "hvm", guest: "ubuntu-16.04" });
let shown = [];
on("xend:XendDomainInfo.refreshShutdown", |ctx| {
    let s = ctx.format_stack();
    if s.contains("in _on_domains_changed") && shown.is_empty() { shown.push(s); }
});
xm.shutdown(dom);
sim.run();
assert(!shown.is_empty(), "the Watcher refreshed the domain");
print(shown[0]);
"#);
    let out = h.state.output.borrow().clone();
    let want = [
        "XendDomain.py\", line 153, in _on_domains_changed\n    self._refresh()",
        "XendDomain.py\", line 429, in _refresh\n    self._refreshTxn(txn, refresh_shutdown)",
        "XendDomain.py\", line 442, in _refreshTxn\n    self.domains[domid].update(dom, refresh_shutdown, transaction)",
        "XendDomainInfo.py\", line 3554, in update\n    self.refreshShutdown(info)",
        "in refreshShutdown\n",
    ];
    let mut at = 0;
    for w in want {
        let i = out[at..]
            .find(w)
            .unwrap_or_else(|| panic!("missing, in order, {w:?} in:\n{out}"));
        at += i + w.len();
    }
}

/// A 64-bit PV guest's hypercall enters Xen by `syscall` (x86_64/entry.S's
/// `syscall_enter`), an HVM guest's by a VM exit.
#[test]
fn a_pv_guests_hypercall_enters_xen_by_syscall() {
    let h = ok(r#"
let pv = xm.create(#{ name: "pv1", type: "pv", devices: ["vif/0"] });
let traces = [];
on("xen:do_sched_op", |ctx| traces.push(ctx.backtrace()));
xm.shutdown(pv);
sim.run();
assert_eq(traces.len(), 1, "one SCHEDOP_shutdown");
print(traces[0]);
"#);
    let out = h.state.output.borrow().clone();
    assert!(out.contains("] syscall_enter+"), "{out}");
    assert!(!out.contains("vmx_asm_vmexit_handler"), "{out}");
}

/// qemu-dm's gdb `bt`: a handler runs from `main_loop_wait`, which
/// helper2.c's `main_loop` calls, which `main` calls.
#[test]
fn qemu_dm_backtrace_has_main_loop_wait_above_main_loop() {
    let h = ok(r#"
let dom = xm.create(#{ name: "h", type: "hvm", guest: "ubuntu-16.04" });
on("qemu:destroy_hvm_domain", |ctx| print(ctx.backtrace()));
xm.shutdown(dom);
sim.run();
"#);
    let out = h.state.output.borrow().clone();
    let names: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(
        names,
        [
            "destroy_hvm_domain",
            "cpu_handle_ioreq",
            "main_loop_wait",
            "main_loop",
            "main"
        ],
        "{out}"
    );
}

/// A guest panic's `dump_stack` names the task that panicked: the idle
/// task (with the idle task's stack) from the script's top level, the
/// hooked task from inside a hook on one of the guest's probes.
#[test]
fn a_guest_panic_names_the_task_that_panicked() {
    let h = ok(r#"
let dom = xm.create(#{ name: "idle", devices: [] });
dom.kernel.panic("Attempted to kill the idle task!");
sim.run_for(30);
let w = xm.create(#{ name: "worker", devices: [] });
hook("guest:run_cmd", |ctx| ctx.dom.kernel.panic("from the usermode helper"));
xm.shutdown(w);
sim.run_for(30);
"#);
    let idle = crate::util::file(&h, "console-idle.log");
    assert!(idle.contains("CPU: 0 PID: 0 Comm: swapper/0 "), "{idle}");
    assert!(idle.contains("] cpu_startup_entry+"), "{idle}");
    assert!(!idle.contains("entry_SYSCALL_64_fastpath"), "{idle}");
    let w = crate::util::file(&h, "console-worker.log");
    let panic_at = w
        .find("Kernel panic - not syncing: from the usermode helper")
        .expect("panicked");
    let after = &w[panic_at..];
    assert!(after.contains("Comm: kworker/"), "{after}");
    assert!(after.contains("] process_one_work+"), "{after}");
}

/// The power-button path: systemd-logind's `Power key pressed.` and
/// `Powering Off...` reach the console (guest reference §4.5, §10), and the
/// chain starts at the user's `xm trigger`, with Xen's SCI and the input
/// event as hops.
#[test]
fn power_button_reaches_logind_and_chains_from_xm_trigger() {
    let h = ok(r#"
let dom = xm.create(#{ name: "button", devices: ["vif/0"] });
let chains = [];
on("guest:logind_power_key", |ctx| chains.push(ctx.chain()));
xm.trigger(dom, "power");
sim.run();
assert_eq(dom.state, "destroyed");
print(chains[0]);
"#);
    let console = crate::util::file(&h, "console-button.log");
    let pressed = console
        .find("]: Power key pressed.\n")
        .expect("logind's first line");
    let off = console
        .find("]: Powering Off...\n")
        .expect("logind's second line");
    let stopped = console
        .find("[  OK  ] Stopped")
        .expect("the unit stops follow");
    assert!(pressed < off && off < stopped, "{console}");
    assert!(console.contains("systemd-logind["), "{console}");
    let chain = h.state.output.borrow().clone();
    let hops: Vec<&str> = chain.lines().filter(|l| !l.is_empty()).collect();
    assert!(
        hops[0].contains("xm trigger") && hops[0].contains("xm:trigger"),
        "{chain}"
    );
    for hop in ["--[SCI (IRQ 9)]-->", "--[input event KEY_POWER]-->"] {
        assert!(chain.contains(hop), "{hop} missing in:\n{chain}");
    }
    assert!(
        hops.last().unwrap().contains("guest:logind_power_key"),
        "{chain}"
    );
}

/// `ctx.chain()` keeps its one line per hop; `ctx.chain(#{ stacks: true })`
/// adds each hop's stack in its layer's format, with xenstored's hop as a
/// line of its own and the running daemon's stack.
#[test]
fn chain_with_stacks_shows_each_layers_stack_and_xenstored() {
    let src = |daemon: &str| {
        format!(
            r#"
sim.xenstored = "{daemon}";
let dom = xm.create(#{{ name: "h", type: "hvm", guest: "ubuntu-16.04" }});
on("qemu:destroy_hvm_domain", |ctx| {{ print(ctx.chain()); print("----"); print(ctx.chain(#{{ stacks: true }})); }});
xm.shutdown(dom);
sim.run();
"#
        )
    };
    let h = ok(&src("ocaml"));
    let out = h.state.output.borrow().clone();
    let (plain, full) = out.split_once("----\n").unwrap();
    assert!(
        plain
            .lines()
            .filter(|l| !l.is_empty())
            .all(|l| l.starts_with("    ")
                && l.split_whitespace().next().unwrap().parse::<f64>().is_ok()),
        "one line per hop:\n{plain}"
    );
    assert!(!plain.contains("xenstored"), "{plain}");
    for part in [
        "xs:transaction_end  --[XS_TRANSACTION_END]-->\n              Traceback (most recent call last):",
        "in shutdown\n                  self.storeDom(\"control/shutdown\", reason)",
        "  xs    oxenstored                           Process.do_transaction_end  --[watch event]-->\n              #0  camlConnections__fire_watches () at connections.ml:124",
        "guest:orderly_poweroff  --[schedule_work(&poweroff_work)]-->\n              Call Trace:\n",
        "              Xen call trace:\n",
        "qemu:destroy_hvm_domain\n              #0  destroy_hvm_domain () at i386-dm/helper2.c:649",
    ] {
        assert!(full.contains(part), "missing {part:?} in\n{full}");
    }
    let h = ok(&src("c"));
    let out = h.state.output.borrow().clone();
    assert!(out.contains("  xs    xenstored                            do_transaction_end  --[watch event]-->\n              #0  add_event () at xenstored_watch.c:51\n              #1  fire_watches () at xenstored_watch.c:102\n              #2  do_transaction_end () at xenstored_transaction.c:230"), "{out}");

    // A world that keeps its hops for the trace but no stacks with them (the
    // script asks for a chain by a name built at run time, which cannot be
    // seen ahead) says so.
    let host = xsh_script::Host::new(xsh_sim::Config::default(), xsh_script::Limits::default());
    // As `xsh run` does: record what the script's text reads, nothing more.
    host.state
        .observe_extra
        .set(xsh_script::observe::Observe::default());
    let r = host.run(
        "t.rhai",
        r#"
sim.tracing = true;
let parts = ["ch", "ain"];
let chain = Fn(parts[0] + parts[1]);
let dom = xm.create(#{ name: "h", type: "hvm", guest: "ubuntu-16.04" });
on("qemu:destroy_hvm_domain", |ctx| print(ctx.call(chain, #{ stacks: true })));
xm.shutdown(dom);
sim.run();
"#,
    );
    let e = r.expect_err("refused").render(false);
    assert!(
        e.contains("this world records no stacks with its hops"),
        "{e}"
    );
}
