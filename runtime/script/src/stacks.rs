//! Call stacks in each layer's own format, and the cross-layer causal chain.

use rhai::{Dynamic, Map};
use xsh_sim::guest::symbols as linux;
use xsh_sim::hypervisor::symbols as xen;
use xsh_sim::probe::{Layer, Probe};
use xsh_sim::stack::{Context, CtxId, NO_DOM};
use xsh_sim::toolstack::xend::lines::{self, ThreadKind};
use xsh_sim::Sim;

/// `ctx.stack()`: one map per frame, outermost first.
pub fn frames(sim: &Sim, ctx: CtxId) -> Dynamic {
    let ctxs = sim.ctxs.borrow();
    let c = ctxs.get(ctx);
    let arr = c
        .stack
        .iter()
        .map(|f| {
            let mut m = Map::new();
            m.insert("probe".into(), Dynamic::from(f.probe.name().to_string()));
            m.insert(
                "layer".into(),
                Dynamic::from(f.probe.layer().prefix().to_string()),
            );
            m.insert(
                "function".into(),
                Dynamic::from(f.probe.function().to_string()),
            );
            m.insert("context".into(), Dynamic::from(c.name.to_string()));
            m.insert(
                "domid".into(),
                if f.domid == NO_DOM {
                    Dynamic::UNIT
                } else {
                    Dynamic::from_int(f.domid as i64)
                },
            );
            m.insert(
                "entered".into(),
                Dynamic::from_float(f.entered.as_secs_f64()),
            );
            Dynamic::from_map(m)
        })
        .collect();
    Dynamic::from_array(arr)
}

fn thread_kind(sim: &Sim, ctx: CtxId) -> ThreadKind {
    sim.xend
        .borrow()
        .threads
        .get(&ctx)
        .copied()
        .unwrap_or(ThreadKind::Raw)
}

/// `traceback.format_stack()` of the xend thread `ctx`.
pub fn format_stack(sim: &Sim, ctx: CtxId) -> String {
    let kind = thread_kind(sim, ctx);
    let ctxs = sim.ctxs.borrow();
    lines::format_stack(&lines::py_frames(ctxs.get(ctx), kind, sim.profile()))
}

/// The stack of `ctx` in the native format of `layer`.
pub fn backtrace(sim: &Sim, ctx: CtxId, layer: Layer) -> String {
    let c = sim.ctxs.borrow().get(ctx).clone();
    render(sim, ctx, &c, layer, true)
}

/// The stack `c` holds — context `id`'s now, or as it was when it took a
/// causal hop — in the native format of `layer`; `at_site`: its innermost
/// function stopped at a probe's site rather than mid-body.
pub fn render(sim: &Sim, id: CtxId, c: &Context, layer: Layer, at_site: bool) -> String {
    let profile = sim.profile();
    match layer {
        Layer::Xen => {
            // A 64-bit PV kernel (dom0's, for its processes' hypercalls, or
            // a PV guest's) makes a hypercall with `syscall`, which enters
            // Xen at `syscall_enter` (x86_64/entry.S); an HVM guest's I/O
            // and VMCALLs enter through the VMX exit handler; a pCPU's
            // stack starts at its idle loop (already a frame).
            let hvm_guest = c.layer == Layer::Guest
                && sim
                    .xen
                    .borrow()
                    .domains
                    .get(&c.domid)
                    .is_some_and(|d| d.hvm);
            let entry = match c.layer {
                Layer::Xen => None,
                _ if hvm_guest => Some("vmx_asm_vmexit_handler+0x41/0x120"),
                _ => Some("syscall_enter+0xa6/0xd0"),
            };
            xen::format_trace(&c.stack, profile, entry)
        }
        Layer::Guest => linux::format_call_trace(c),
        Layer::Xend => format!(
            "Traceback (most recent call last):\n{}",
            lines::format_stack(&lines::py_frames_at(
                c,
                thread_kind(sim, id),
                profile,
                at_site
            ))
        ),
        _ => gdb_frames(c, layer),
    }
}

/// gdb's `bt` for a C program of dom0 (qemu-dm, xenstored, xm's process).
fn gdb_frames(c: &Context, layer: Layer) -> String {
    let frames: Vec<_> = c
        .stack
        .iter()
        .filter(|f| f.probe.layer() == layer)
        .collect();
    let mut out = String::new();
    let mut n = 0;
    for (i, f) in frames.iter().rev().enumerate() {
        // qemu-dm's handlers run from `main_loop_wait`'s select() dispatch,
        // which helper2.c's `main_loop` calls: it sits between the two.
        if f.probe == Probe::QemuMainLoop && i > 0 {
            out.push_str(&format!(
                "#{n:<2} main_loop_wait (timeout=3600000) at vl.c:3784\n"
            ));
            n += 1;
        }
        let (file, line) = c_location(f.probe);
        out.push_str(&format!(
            "#{n:<2} {} () at {file}:{line}\n",
            f.probe.function()
        ));
        n += 1;
    }
    if layer == Layer::Qemu {
        out.push_str(&format!(
            "#{:<2} main (argc=29, argv=0x7fffee3c1a88, envp=<optimized out>) at vl.c:6009\n",
            n
        ));
    }
    out
}

/// Source locations of qemu-dm's functions (qemu-xen-traditional, xen-4.4.4).
fn c_location(p: Probe) -> (&'static str, u32) {
    match p {
        Probe::QemuMainLoop => ("i386-dm/helper2.c", 605),
        Probe::QemuCpuHandleIoreq => ("i386-dm/helper2.c", 561),
        Probe::QemuPioWrite => ("i386-dm/helper2.c", 376),
        Probe::QemuAcpiPm1ControlWrite => ("hw/piix4acpi.c", 243),
        Probe::QemuAcpiShutdown => ("hw/piix4acpi.c", 212),
        Probe::QemuShutdownRequest => ("vl.c", 3676),
        Probe::QemuResetRequest => ("vl.c", 3664),
        Probe::QemuKbdWriteCommand => ("hw/pckbd.c", 268),
        Probe::QemuDestroyHvmDomain => ("i386-dm/helper2.c", 649),
        Probe::QemuSystemReset => ("vl.c", 3655),
        Probe::QemuCpuReset => ("i386-dm/helper2.c", 193),
        _ => ("?", 0),
    }
}
