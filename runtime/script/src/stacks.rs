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
        Layer::Xl | Layer::Libxl => xl_bt(sim, id),
        _ => gdb_frames(sim, c, layer),
    }
}

/// gdb's `bt` of an xl process: xl's and libxl's frames, with the event
/// loop's own between them (toolstack/xl/lines.rs).
fn xl_bt(sim: &Sim, ctx: CtxId) -> String {
    use xsh_sim::toolstack::xl::lines::{format_bt, Base};
    let base = sim
        .xl
        .borrow()
        .procs
        .values()
        .find(|p| p.ctx == ctx)
        .map_or(Base::Command, |p| p.base);
    let ctxs = sim.ctxs.borrow();
    format_bt(ctxs.get(ctx), base)
}

/// gdb's `bt` for a C program of dom0 (qemu-dm, qemu-xen, xenstored, xm's
/// process), of the stack `c` holds.
fn gdb_frames(sim: &Sim, c: &Context, layer: Layer) -> String {
    let frames: Vec<_> = c
        .stack
        .iter()
        .filter(|f| f.probe.layer() == layer)
        .collect();
    let upstream = layer == Layer::Qemu
        && sim
            .qemu
            .borrow()
            .by_dom
            .get(&c.domid)
            .is_some_and(|q| q.version == xsh_sim::qemu_dm::Version::QemuXen);
    // qemu-xen's loop is QEMU's: the fd handler runs under
    // qemu_iohandler_poll → main_loop_wait → main_loop, printed below.
    let frames: Vec<_> = frames
        .into_iter()
        .filter(|f| !(upstream && f.probe == Probe::QemuMainLoop))
        .collect();
    let mut out = String::new();
    let mut n = 0;
    for (i, f) in frames.iter().rev().enumerate() {
        // qemu-dm's handlers run from `main_loop_wait`'s select() dispatch,
        // which helper2.c's `main_loop` calls: it sits between the two.
        if !upstream && f.probe == Probe::QemuMainLoop && i > 0 {
            out.push_str(&format!(
                "#{n:<2} main_loop_wait (timeout=3600000) at vl.c:3784\n"
            ));
            n += 1;
        }
        let (file, line) = if upstream {
            qemu_xen_location(f.probe)
        } else {
            c_location(f.probe)
        };
        out.push_str(&format!(
            "#{n:<2} {} () at {file}:{line}\n",
            f.probe.function()
        ));
        n += 1;
    }
    if layer == Layer::Qemu {
        if upstream {
            for (k, f) in [
                "qemu_iohandler_poll () at iohandler.c:143",
                "main_loop_wait (nonblocking=false) at main-loop.c:466",
                "main_loop () at vl.c:2089",
                "main (argc=35, argv=0x7fff6a3e5c08, envp=<optimized out>) at vl.c:4431",
            ]
            .iter()
            .enumerate()
            {
                out.push_str(&format!("#{:<2} {f}\n", n + k));
            }
        } else {
            out.push_str(&format!(
                "#{n:<2} main (argc=29, argv=0x7fffee3c1a88, envp=<optimized out>) at vl.c:6009\n"
            ));
        }
    }
    out
}

/// Source locations of qemu-xen's functions (qemu-xen-4.4.4, QEMU 1.6.2).
fn qemu_xen_location(p: Probe) -> (&'static str, u32) {
    match p {
        Probe::QemuCpuHandleIoreq => ("xen-all.c", 869),
        Probe::QemuPioWrite => ("xen-all.c", 704),
        Probe::QemuAcpiPm1CntWrite => ("hw/acpi/core.c", 507),
        Probe::QemuShutdownRequest => ("vl.c", 1999),
        Probe::QemuResetRequest => ("vl.c", 1933),
        Probe::QemuKbdWriteCommand => ("hw/input/pckbd.c", 302),
        Probe::QemuDestroyHvmDomain => ("xen-all.c", 1178),
        Probe::QemuSystemReset => ("vl.c", 1920),
        Probe::QemuSystemKilled => ("vl.c", 1994),
        Probe::QemuMainLoopShouldExit => ("vl.c", 2042),
        Probe::QemuKillReport => ("vl.c", 1825),
        Probe::QemuSignal => ("os-posix.c", 67),
        _ => ("?", 0),
    }
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
