//! The body of a line, after its prefix: a stack frame (x86 or arm64, with
//! or without an address), a register or stack dump line, a panic banner,
//! a traceback line, an init status line — or a message. These are known
//! by their fixed words and shapes, whatever prefix (or none) they follow.

use crate::format::Kind;
use crate::lexer::{Cursor, Tok, TokSink};
use crate::line::Head;

/// The body of a line: a stack frame, a dump line, a banner, or a message.
pub(crate) fn body<'a, S: TokSink>(c: &mut Cursor<'a, '_, S>, h: &mut Head<'a>, line: &'a [u8]) {
    let start = c.pos;
    let rest = line.get(start..).unwrap_or_default();
    if rest.iter().all(|&b| b == b' ' || b == b'\t') {
        h.kind = Some(Kind::Blank);
        return;
    }
    let indent = rest
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    let text = rest.get(indent..).unwrap_or_default();
    if let Some(kind) = phrase(text) {
        h.kind = Some(kind.0);
        h.opens_dump = kind.1;
        return;
    }
    if frame(c, h, line) {
        h.kind = Some(Kind::Frame);
        h.content = Some(start + indent);
        return;
    }
    c.seek(start);
    if indent > 0 && text.starts_with(b"File \"") {
        c.spaces();
        if c.eat(Tok::PyFile).is_some() {
            h.kind = Some(Kind::Traceback);
            h.content = Some(start);
            return;
        }
        c.seek(start);
    }
    h.kind = Some(if is_register_line(text) {
        Kind::Registers
    } else if is_stack_words(text) {
        Kind::Stack
    } else if indent >= 5 && starts_any(text, INIT_VERBS) {
        // systemd's `         Stopping Foo...` (nine spaces where `[  OK  ]` goes).
        Kind::Status
    } else {
        Kind::Record
    });
}

const INIT_VERBS: &[&[u8]] = &[
    b"Starting ",
    b"Stopping ",
    b"Unmounting ",
    b"Deactivating ",
    b"Mounting ",
    b"Activating ",
    b"Reloading ",
];

fn starts_any(text: &[u8], set: &[&[u8]]) -> bool {
    set.iter().any(|p| text.starts_with(p))
}

/// The first line of a crash or warning report (`Xen WARN at`, `Assertion
/// '…' failed`, `----[ Xen-4.16.2 …]----`, Linux's `------------[ cut here
/// ]------------`), as opposed to the panic footer that closes one.
pub(crate) fn is_crash_banner(text: Option<&[u8]>) -> bool {
    const BANNERS: &[&[u8]] = &[
        b"Xen BUG at ",
        b"Xen WARN at ",
        b"Assertion '",
        b"----[ Xen-",
        b"------------[ cut here ]------------",
        b"BUG: ",
        b"Oops: ",
        b"WARNING: CPU: ",
    ];
    let text = text.unwrap_or_default();
    let indent = text.iter().take_while(|&&b| b == b' ').count();
    starts_any(text.get(indent..).unwrap_or_default(), BANNERS)
}

/// Banners and dump headers, by their fixed words: (kind, opens a dump).
fn phrase(text: &[u8]) -> Option<(Kind, bool)> {
    const OPEN_TRACE: &[&[u8]] = &[b"Xen call trace:", b"Call Trace:", b"Call trace:"];
    const OPEN_PANIC: &[&[u8]] = &[
        b"Panic on CPU",
        b"Kernel panic - not syncing",
        b"Xen BUG at ",
        b"Xen WARN at ",
        b"Assertion '",
        b"FATAL TRAP",
        b"FATAL PAGE FAULT",
        b"BUG: ",
        b"Oops: ",
        b"general protection fault",
        b"------------[ cut here ]------------",
        b"WARNING: CPU: ",
    ];
    const IN_PANIC: &[&[u8]] = &[
        b"Reboot in five seconds",
        b"Manual reset required",
        b"---[ end ",
        b"Rebooting in ",
    ];
    const DUMP_HEADER: &[&[u8]] = &[
        b"----[ Xen-",
        b"Hardware name:",
        b"Modules linked in:",
        b"Xen code around <",
        b"Code: ",
    ];
    if text.starts_with(b"[Fault on access]") {
        // Xen ≥ 4.14: the stack top could not be read; the trace ends here.
        Some((Kind::Frame, false))
    } else if starts_any(text, OPEN_TRACE) {
        Some((Kind::CallTrace, true))
    } else if text.starts_with(b"Xen stack trace from") || text.starts_with(b"Stack:") {
        Some((Kind::Stack, true))
    } else if starts_any(text, OPEN_PANIC) || (text.len() >= 20 && text.iter().all(|&b| b == b'*'))
    {
        // A panic's banner of stars opens its footer.
        Some((Kind::Panic, true))
    } else if starts_any(text, IN_PANIC) {
        Some((Kind::Panic, false))
    } else if starts_any(text, DUMP_HEADER) {
        Some((Kind::Registers, true))
    } else {
        None
    }
}

/// ` [<ffff82d08020ddde>] domain.c#__domain_finalise_shutdown+0x5e/0xa0`,
/// ` [<ffffffff810a2b6c>] ? kernel_power_off+0x7c/0x80`, arm64's
/// ` [<ffff000008085e04>] dump_backtrace+0x0/0x1b8` and, without addresses
/// (Linux ≥ 4.15 x86, arm64), ` dump_backtrace+0x0/0x1b8`, ` ? foo+0x1/0x2`.
fn frame<'a, S: TokSink>(c: &mut Cursor<'a, '_, S>, h: &mut Head<'a>, line: &'a [u8]) -> bool {
    let start = c.pos;
    // Validate quietly first so that a line that only starts like a frame
    // reports no frame tokens.
    let ok = {
        let mut none = crate::lexer::NoTokens;
        let mut q = Cursor::new(line, start, &mut none);
        let mut probe = Head::default();
        frame_tokens(&mut q, &mut probe, line)
    };
    ok && frame_tokens(c, h, line)
}

fn frame_tokens<'a, S: TokSink>(
    c: &mut Cursor<'a, '_, S>,
    h: &mut Head<'a>,
    line: &'a [u8],
) -> bool {
    c.spaces();
    let addr = c.eat(Tok::Addr).is_some();
    c.spaces();
    if addr {
        frame_marker(c, line);
    }
    if c.eat(Tok::Question).is_some() {
        c.spaces();
    }
    if !addr && c.eat(Tok::Addr).is_some() {
        c.spaces();
    }
    let Some(sym) = c.eat(Tok::SymOff) else {
        // `[<addr>] name` or `[<addr>] ???`: an address is a frame by itself.
        if addr {
            h.fields.func = c.eat(Tok::Word);
        }
        return addr;
    };
    let plus = sym.iter().position(|&b| b == b'+').unwrap_or(sym.len());
    h.fields.func = sym.get(..plus);
    // Anything after the symbol may only be a module (`[xen_netfront]`).
    let rest = line.get(c.pos..).unwrap_or_default();
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    rest.is_empty() || (rest.starts_with(b"[") && rest.ends_with(b"]")) || addr
}

/// Xen ≥ 4.14's x86 `show_trace()` says where each frame came from, in one
/// letter between the address and the symbol (`printk("   [<%p>] R %pS\n")`):
/// `R` the interrupted RIP, `F` the word on top of the stack (a function
/// without a frame yet), `S` a return address found by the stack walk, `C`
/// one from the shadow stack (CET builds). The letter is no part of the
/// symbol, so it is stepped over.
fn frame_marker<S: TokSink>(c: &mut Cursor<'_, '_, S>, line: &[u8]) {
    let at = c.pos;
    if matches!(line.get(at), Some(b'R' | b'F' | b'S' | b'C')) && line.get(at + 1) == Some(&b' ') {
        c.seek(at + 2);
        c.spaces();
    }
}

/// `rax: 0000000000000000   rbx: ffff830...`, `RIP:    e008:[<...>]`,
/// `RSP: 0018:ffff8800...  EFLAGS: 00010246`, `x29: ffff...`, `pc : [<...>]`,
/// `CPU:    0`, `CPU: 0 PID: 1 Comm: swapper/0 Not tainted ...`.
///
/// arm64's system registers have longer names with an exception level
/// (`VTTBR_EL2: 00010083fce8e000`, `CONTEXTIDR_EL1: 00000000`, right-aligned
/// by Xen's `show_registers`): a name with `_` may be up to 16 characters.
pub fn is_register_line(text: &[u8]) -> bool {
    if text.starts_with(b"CPU:") {
        return true;
    }
    let Some(colon) = text.iter().take(17).position(|&b| b == b':') else {
        return false;
    };
    let name = text.get(..colon).unwrap_or_default();
    let name = name.strip_suffix(b" ").unwrap_or(name);
    let plain = name.iter().all(|b| b.is_ascii_alphanumeric());
    let system = name.contains(&b'_')
        && name.first().is_some_and(u8::is_ascii_uppercase)
        && name
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_');
    if name.is_empty() || !(plain && colon <= 7 || system) {
        return false;
    }
    let value = text.get(colon + 1..).unwrap_or_default();
    let lead = value.iter().take_while(|&&b| b == b' ').count();
    let value = value.get(lead..).unwrap_or_default();
    let hex = value.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    hex >= 4 || value.starts_with(b"[<")
}

/// `   0000000000000000 ffff82d080274ae8 ...`: raw words of a stack dump;
/// also the bytes under `Xen code around <…>:` (`48 8b 05 <0f> 0b`, the
/// faulting one in angle brackets).
pub fn is_stack_words(text: &[u8]) -> bool {
    let mut words = 0;
    let mut bytes = 0;
    for w in text.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        let hex = w.iter().all(u8::is_ascii_hexdigit);
        let byte = w.len() == 2 && hex
            || w.len() == 4
                && w[0] == b'<'
                && w[3] == b'>'
                && w[1..3].iter().all(u8::is_ascii_hexdigit);
        if byte {
            bytes += 1;
        } else if (w.len() == 8 || w.len() == 16) && hex {
            words += 1;
        } else {
            return false;
        }
    }
    words >= 2 && bytes == 0 || bytes >= 8 && words == 0
}

/// A line xl itself prints without a prefix (xl_cmdimpl.c's messages), as
/// opposed to the tail of a libxl line a mailer wrapped.
pub fn is_xl_phrase(line: &[u8]) -> bool {
    const PHRASES: &[&[u8]] = &[
        b"Parsing config from ",
        b"Waiting for domain ",
        b"Waiting for ",
        b"Domain ",
        b"Shutting down domain ",
        b"Rebooting domain ",
        b"Destroying domain ",
        b"Daemon running with PID ",
        b"Action for shutdown reason code ",
        b"Done. ",
        b"Dumping core ",
        b"Migration ",
        b"migration ",
        b"Saving to ",
        b"Loading new save file ",
        b"Savefile contains ",
        b"Unable to ",
        b"Can't ",
        b"Failed to ",
        b"failed to ",
        b"Error: ",
        b"WARNING: ",
        b"Warning: ",
        b"Started domain ",
        b"Setting ",
        b"Using ",
        b"xl: ",
    ];
    starts_any(line, PHRASES)
}

/// A line of qemu-dm's log (which has no prefix): its known first words.
pub fn is_qemu_phrase(line: &[u8]) -> bool {
    const PHRASES: &[&[u8]] = &[
        b"domid: ",
        b"-videoram option",
        b"Using file ",
        b"Watching /local/domain/",
        b"qemu_map_cache_init",
        b"shared page at pfn",
        b"buffered io page at pfn",
        b"Guest uuid = ",
        b"populating video RAM",
        b"mapping video RAM",
        b"Register xen platform",
        b"Done register platform",
        b"shutdown requested in cpu_handle_ioreq",
        b"reset requested in cpu_handle_ioreq",
        b"Issued domain ",
        b"? xc_domain_shutdown failed",
        b"I/O request not ready",
        b"char device redirected to",
        b"xs_read(",
        b"Time offset set",
        b"device model saving state",
    ];
    starts_any(line, PHRASES)
}
