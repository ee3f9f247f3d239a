//! `ctx.chain()`: the cross-layer causal chain from the user's command to
//! a call, one line per hop; with `#{ stacks: true }` each hop also shows
//! the stack its sender had when it took the hop, in that layer's own
//! format, and a xenstore change gets xenstored's own line (the daemon
//! between the writer and the watcher, with its stack in gdb's form for
//! whichever daemon runs).

use xsh_sim::probe::{Layer, Probe};
use xsh_sim::profile::XenstoredKind;
use xsh_sim::stack::{Context, CtxId, Hop};
use xsh_sim::Sim;

use crate::stacks;

/// Options of `ctx.chain(#{ ... })`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ChainOptions {
    /// Each hop's stack under its line.
    pub stacks: bool,
}

/// The chain that led to what `ctx` runs now.
pub fn chain(sim: &Sim, ctx: CtxId, opts: ChainOptions) -> String {
    let (hops, me) = {
        let ctxs = sim.ctxs.borrow();
        let c = ctxs.get(ctx);
        let mut hops: Vec<Hop> = Vec::new();
        let mut cur = c.stack.last().and_then(|f| f.hop).or(c.cause);
        while let Some(h) = cur {
            let hop = ctxs.hop(h);
            hops.push(hop.clone());
            cur = hop.parent;
            if hops.len() > 10_000 {
                break;
            }
        }
        hops.reverse();
        (hops, c.clone())
    };
    let mut out = String::new();
    for h in &hops {
        let sender = sim.ctxs.borrow().get(h.ctx).clone();
        let probe = h.probe.map_or("-".to_string(), |p| p.name().to_string());
        let xenstore = opts.stacks && h.what == "xenstore change";
        let what = match (xenstore, h.probe) {
            (true, Some(p)) => wire_op(p).map_or("xenstore request", |w| w.0),
            (true, None) => "xenstore request",
            _ => h.what,
        };
        line(
            &mut out,
            h.time.as_secs_f64(),
            sender.layer.prefix(),
            &sender.name,
            &format!("{probe}  --[{what}]-->"),
        );
        if opts.stacks {
            if let Some(frames) = &h.stack {
                let mut then = sender.clone();
                then.stack = frames.to_vec();
                indent(&mut out, &sender_stacks(sim, h.ctx, &then, false));
            }
        }
        if xenstore {
            let kind = sim.cfg().xenstored;
            let (name, func) = match (kind, h.probe.and_then(wire_op)) {
                (XenstoredKind::C, Some(op)) => ("xenstored", op.1),
                (XenstoredKind::OCaml, Some(op)) => ("oxenstored", op.2),
                (XenstoredKind::C, None) => ("xenstored", "fire_watches"),
                (XenstoredKind::OCaml, None) => ("oxenstored", "Process.process_watch"),
            };
            line(
                &mut out,
                h.time.as_secs_f64(),
                "xs",
                name,
                &format!("{func}  --[watch event]-->"),
            );
            if let Some(p) = h.probe {
                // A guest's task talks to xenstored over its ring, dom0's
                // processes over a socket.
                indent(
                    &mut out,
                    &xenstored_bt(kind, p, sender.layer == Layer::Guest),
                );
            }
        }
    }
    if let Some(top) = me.stack.last() {
        line(
            &mut out,
            sim.now().as_secs_f64(),
            me.layer.prefix(),
            &me.name,
            top.probe.name(),
        );
        if opts.stacks {
            indent(&mut out, &sender_stacks(sim, ctx, &me, true));
        }
    }
    out
}

fn line(out: &mut String, t: f64, layer: &str, ctxname: &str, what: &str) {
    out.push_str(&format!("{t:>12.6}  {layer:<5} {ctxname:<36} {what}\n"));
}

fn indent(out: &mut String, text: &str) {
    for l in text.lines() {
        out.push_str("              ");
        out.push_str(l);
        out.push('\n');
    }
}

/// A context's stack in its own layer's format, and in its top frame's too
/// when that is another layer's (an xend thread inside a Xen hypercall).
/// `xm` is a Python program whose source lines the model does not keep:
/// its hop has no stack.
fn sender_stacks(sim: &Sim, id: CtxId, c: &Context, at_site: bool) -> String {
    if c.layer == Layer::Xm {
        return String::new();
    }
    let mut s = stacks::render(sim, id, c, c.layer, at_site);
    if let Some(top) = c.stack.last() {
        let layer = top.probe.layer();
        if layer != c.layer && layer != Layer::Xs {
            s.push_str(&stacks::render(sim, id, c, layer, at_site));
        }
    }
    s
}

/// A request that fires watches: (wire name, C xenstored's handler,
/// oxenstored's), RELEASE-4.4.4.
fn wire_op(p: Probe) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match p {
        Probe::XsWrite => ("XS_WRITE", "do_write", "Process.do_write"),
        Probe::XsMkdir => ("XS_MKDIR", "do_mkdir", "Process.do_mkdir"),
        Probe::XsRm => ("XS_RM", "do_rm", "Process.do_rm"),
        Probe::XsSetPerms => ("XS_SET_PERMS", "do_set_perms", "Process.do_setperms"),
        Probe::XsWatch => ("XS_WATCH", "do_watch", "Process.do_watch"),
        Probe::XsTransactionEnd => (
            "XS_TRANSACTION_END",
            "do_transaction_end",
            "Process.do_transaction_end",
        ),
        _ => return None,
    })
}

/// xenstored's stack where it queues the watch event that request `p`
/// caused, as gdb's `bt` prints it (innermost first): C xenstored's
/// functions (xenstored_core.c, _watch.c, _transaction.c) or oxenstored's
/// OCaml ones under their native names, at RELEASE-4.4.4's lines.
fn xenstored_bt(kind: XenstoredKind, p: Probe, from_domain: bool) -> String {
    let frames: Vec<(&str, &str, u32)> = match kind {
        XenstoredKind::C => {
            let mut f = vec![("add_event", "xenstored_watch.c", 51)];
            match p {
                Probe::XsWatch => f.push(("do_watch", "xenstored_watch.c", 173)),
                Probe::XsTransactionEnd => {
                    f.push(("fire_watches", "xenstored_watch.c", 102));
                    f.push(("do_transaction_end", "xenstored_transaction.c", 230));
                }
                _ => {
                    f.push(("fire_watches", "xenstored_watch.c", 102));
                    let (func, line) = match p {
                        Probe::XsMkdir => ("do_mkdir", 961),
                        Probe::XsRm => ("do_rm", 1086),
                        Probe::XsSetPerms => ("do_set_perms", 1161),
                        _ => ("do_write", 937),
                    };
                    f.push((func, "xenstored_core.c", line));
                }
            }
            let case = match p {
                Probe::XsMkdir => 1220,
                Probe::XsRm => 1224,
                Probe::XsSetPerms => 1232,
                Probe::XsWatch => 1240,
                Probe::XsTransactionEnd => 1252,
                _ => 1216,
            };
            f.push(("process_message", "xenstored_core.c", case));
            f.push(("consider_message", "xenstored_core.c", 1299));
            f.push(("handle_input", "xenstored_core.c", 1345));
            // main's loop reads a domain's ring at :2003, a socket at :2020.
            f.push((
                "main",
                "xenstored_core.c",
                if from_domain { 2003 } else { 2020 },
            ));
            f
        }
        XenstoredKind::OCaml => {
            let mut f = Vec::new();
            match p {
                Probe::XsWatch => {
                    f.push(("camlConnection__fire_single_watch", "connection.ml", 181));
                    f.push(("camlProcess__do_watch", "process.ml", 130));
                    f.push(("camlProcess__reply_ack", "process.ml", 288));
                }
                Probe::XsTransactionEnd => {
                    f.push(("camlConnections__fire_watches", "connections.ml", 124));
                    f.push(("camlProcess__process_watch", "process.ml", 65));
                    f.push(("camlProcess__do_transaction_end", "process.ml", 159));
                    f.push(("camlProcess__reply_ack", "process.ml", 288));
                }
                _ => {
                    f.push(("camlConnections__fire_watches", "connections.ml", 124));
                    f.push(("camlProcess__process_watch", "process.ml", 65));
                    f.push(("camlProcess__reply_ack", "process.ml", 291));
                }
            }
            f.push(("camlProcess__input_handle_error", "process.ml", 334));
            f.push(("camlProcess__process_packet", "process.ml", 365));
            f.push(("camlProcess__do_input", "process.ml", 394));
            // A domain's ring is read from process_domains, a socket from
            // the select loop's process_fdset_with.
            if from_domain {
                f.push(("camlXenstored__process_domains", "xenstored.ml", 55));
            } else {
                f.push(("camlXenstored__fun_process_fdset_with", "xenstored.ml", 48));
            }
            f
        }
    };
    frames
        .iter()
        .enumerate()
        .map(|(i, (func, file, line))| format!("#{i:<2} {func} () at {file}:{line}\n"))
        .collect()
}
