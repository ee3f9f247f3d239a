//! Real logs in: the lexer and parser on real-shaped fixtures
//! (`tests/lexer-inputs/`: token and entry snapshots, and what each fixture
//! must show, written from the fixture's own text), every log the scripts
//! write (zero damage, every record explained), explain on the seed's
//! goldens, diff, check and `logs.*` in scripts are in `logs_explain.rs`,
//! the `xsh logs` command's exit codes and reports in `logs_cli.rs`.

use std::path::PathBuf;

use xsh_log::{records_of, DamageKind, Format, Kind};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn inputs() -> PathBuf {
    root().join("tests/lexer-inputs")
}

pub fn seed(name: &str) -> Vec<u8> {
    std::fs::read(root().join("../shared/seed").join(name)).expect("the seed's goldens")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(inputs().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// (line, format, kind, continuation, damage kinds) of each entry.
type Row = (u64, Format, Kind, bool, Vec<DamageKind>);

fn rows(name: &str) -> Vec<Row> {
    let mut out = Vec::new();
    xsh_log::parse_bytes(&fixture(name), name, None, |e| {
        out.push((
            e.line,
            e.format,
            e.kind,
            e.continuation,
            e.damage.iter().map(|d| d.kind).collect(),
        ))
    });
    out
}

/// The damage of a fixture as (line, kind).
fn damage(name: &str) -> Vec<(u64, DamageKind)> {
    rows(name)
        .into_iter()
        .flat_map(|(l, _, _, _, d)| d.into_iter().map(move |k| (l, k)))
        .collect()
}

#[test]
fn fixtures_match_their_token_and_entry_snapshots() {
    let bless = std::env::var_os("XSH_BLESS").is_some();
    let mut names: Vec<String> = std::fs::read_dir(inputs())
        .expect("tests/lexer-inputs")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".log"))
        .collect();
    names.sort();
    assert!(names.len() >= 20, "fixtures: {names:?}");
    assert!(names.iter().any(|n| n.starts_with("damage-")));
    let mut differ = Vec::new();
    for name in &names {
        let text = fixture(name);
        for (ext, got) in [
            ("tokens", xsh_log::snapshot::tokens_of(&text)),
            ("entries", xsh_log::snapshot::entries_of(&text, name)),
        ] {
            let path = inputs().join("snapshots").join(format!("{name}.{ext}"));
            if bless {
                std::fs::write(&path, &got).expect("write snapshot");
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(got.as_str()) {
                differ.push(format!("{name}.{ext}"));
            }
        }
    }
    assert!(
        differ.is_empty(),
        "snapshots differ: {differ:?}\nreview, then regenerate: XSH_BLESS=1 cargo test --test it logs::fixtures"
    );
}

#[test]
fn the_canonical_xend_head_is_one_token_and_other_forms_are_lexed_piece_by_piece() {
    let line =
        b"[2019-06-05 09:23:27 2164] DEBUG (XendDomainInfo:568) XendDomainInfo.shutdown(poweroff)";
    let toks = xsh_log::lexer::tokens(line);
    assert_eq!(toks[0].0, Some(xsh_log::lexer::Tok::XendHead));
    let head_end = line.iter().position(|&b| b == b')').map_or(0, |i| i + 2);
    assert_eq!(toks[0].1, 0..head_end);
    assert_eq!(toks[1], (None, head_end..line.len()));
    let vendor = b"[2019-06-05 09:23:27,041 2164 Thread-9] INFO (image:741  ) x";
    let names: Vec<_> = xsh_log::lexer::tokens(vendor)
        .into_iter()
        .filter_map(|(t, _)| t.map(|t| t.name()))
        .collect();
    assert_eq!(
        names,
        [
            "BracketStamp",
            "Space",
            "Int",
            "Space",
            "Word",
            "Close",
            "Space",
            "Level",
            "Space",
            "Where"
        ]
    );
}

fn first_record(name: &str, line: u64) -> xsh_log::Record {
    records_of(&fixture(name), name, None)
        .into_iter()
        .find(|r| r.line() == line)
        .unwrap_or_else(|| panic!("{name}: no record at line {line}"))
}

#[test]
fn xend_forms_seen_in_the_wild_give_the_same_fields() {
    let r = first_record("xend-vendor.log", 1);
    assert_eq!(r.time.as_deref(), Some("2019-06-05 09:23:27,041"));
    assert_eq!(r.pid, Some(2164));
    assert_eq!(r.thread.as_deref(), Some("140178203707136"));
    assert_eq!(
        (r.module.as_deref(), r.lineno),
        (Some("XendDomainInfo"), Some(568))
    );
    assert_eq!(
        first_record("xend-vendor.log", 3).thread.as_deref(),
        Some("Thread-9")
    );
    let old = first_record("xend-old.log", 3);
    assert_eq!(old.logger.as_deref(), Some("xend.XendDomainInfo"));
    assert_eq!(old.pid, Some(4120));
    assert_eq!(old.head(), "XendDomainInfo.destroyDomain(3)");
    let padded = first_record("xend-padded.log", 1);
    assert_eq!(
        (padded.module.as_deref(), padded.lineno),
        (Some("image"), Some(741))
    );
    assert_eq!(padded.head(), "ubuntu-kdump device model terminated");
    let stderr = first_record("xend-stderr.log", 1);
    assert_eq!((stderr.logger.as_deref(), stderr.pid), (Some("xend"), None));
    for name in [
        "xend-standard.log",
        "xend-vendor.log",
        "xend-old.log",
        "xend-padded.log",
        "xend-stderr.log",
    ] {
        for (line, format, kind, _, dmg) in rows(name) {
            assert_eq!(format, Format::Xend, "{name}:{line}");
            assert!(dmg.is_empty(), "{name}:{line}: {dmg:?}");
            assert!(
                matches!(kind, Kind::Record | Kind::Traceback),
                "{name}:{line}: {kind:?}"
            );
        }
    }
}

#[test]
fn multi_line_xend_records_keep_their_tracebacks_and_dumps() {
    let recs = records_of(&fixture("xend-multiline.log"), "xend-multiline.log", None);
    let spans: Vec<(u64, u64)> = recs
        .iter()
        .map(|r| (r.line(), r.lines.last().map_or(0, |l| l.line)))
        .collect();
    assert_eq!(
        spans,
        [(1, 1), (2, 7), (8, 11), (12, 18), (19, 23), (24, 24)]
    );
    assert!(recs[1].lines[1..].iter().all(|l| l.kind == Kind::Traceback));
    assert!(recs[3].message().contains("\n    (domid 8)\n"));
    assert_eq!(recs[4].lines.last().map(|l| l.kind), Some(Kind::Traceback));
    assert!(recs[4]
        .message()
        .ends_with("VmError: Device 0 (vif) could not be connected. Hotplug scripts not working."));
}

#[test]
fn qemu_dm_xl_console_and_journal_lines_are_read_with_their_fields() {
    assert!(rows("qemu-dm-ubuntu-kdump.log")
        .iter()
        .all(|r| r.1 == Format::QemuDm && r.2 == Kind::Record && r.4.is_empty()));
    let xl = first_record("xl-ubuntu.log", 3);
    assert_eq!(
        (xl.format, xl.level),
        (Format::Xl, Some(xsh_log::Level::Error))
    );
    assert_eq!(
        (xl.module.as_deref(), xl.lineno),
        (Some("libxl_dm.c"), Some(1435))
    );
    assert_eq!(xl.func.as_deref(), Some("libxl__destroy_device_model"));
    assert_eq!(first_record("xl-ubuntu.log", 1).format, Format::Xl);
    let warn = first_record("console-ubuntu.log", 9);
    assert_eq!(
        warn.level,
        Some(xsh_log::Level::Warning),
        "<4> is KERN_WARNING"
    );
    assert_eq!(warn.module.as_deref(), Some("xenbus"));
    let sd = first_record("console-ubuntu.log", 8);
    assert_eq!(
        (sd.module.as_deref(), sd.pid),
        (Some("systemd-shutdown"), Some(1))
    );
    let j = first_record("journal.log", 5);
    assert_eq!(j.host.as_deref(), Some("ubuntu-kdump"));
    assert_eq!(
        (j.module.as_deref(), j.pid),
        (Some("systemd-logind"), Some(782))
    );
    assert_eq!(first_record("journal.log", 1).kind, Kind::Marker);
}

#[test]
fn dumps_are_one_record_with_their_frames_registers_and_panic_footer() {
    for (name, first, last) in [
        ("xen-console.log", 7, 27),
        ("xen-console-arm64.log", 1, 23),
        ("console-ubuntu.log", 12, 22),
        ("console-ubuntu.log", 23, 26),
    ] {
        let r = first_record(name, first);
        assert_eq!(r.lines.last().map(|l| l.line), Some(last), "{name}:{first}");
    }
    let arm = first_record("xen-console-arm64.log", 1);
    let frames: Vec<&str> = arm
        .lines
        .iter()
        .filter(|l| l.kind == Kind::Frame)
        .filter_map(|l| l.func.as_deref())
        .collect();
    assert_eq!(
        frames,
        [
            "domain.c#domain_shutdown",
            "domain.c#domain_shutdown",
            "do_sched_op",
            "traps.c#do_trap_hypercall"
        ]
    );
    let arm64_linux = first_record("console-ubuntu.log", 23);
    let funcs: Vec<&str> = arm64_linux
        .lines
        .iter()
        .filter_map(|l| l.func.as_deref())
        .collect();
    assert_eq!(funcs, ["dump_backtrace", "show_stack", "panic"]);
    let stamps = first_record("xen-console.log", 3);
    assert_eq!(stamps.time.as_deref(), Some("2019-06-05 09:23:28"));
    assert_eq!(
        first_record("xen-console.log", 4).time.as_deref(),
        Some("5.123456")
    );
    assert_eq!(
        first_record("xen-console.log", 5).module.as_deref(),
        Some("d8")
    );
}

#[test]
fn each_kind_of_damage_is_found_where_it_is_and_parsing_goes_on() {
    use DamageKind::*;
    assert_eq!(
        damage("damage-wrapped.log"),
        [(2, Wrapped), (4, Wrapped), (8, Wrapped), (13, Wrapped)]
    );
    assert_eq!(
        damage("damage-bbcode.log"),
        [
            (1, BbCode),
            (2, BbCode),
            (3, BbCode),
            (4, BbCode),
            (5, BbCode),
            (5, BbCode)
        ]
    );
    assert_eq!(
        damage("damage-qp.log"),
        [
            (1, QuotedPrintable),
            (1, QuotedPrintable),
            (1, QuotedPrintable),
            (3, SoftBreak),
            (3, QuotedPrintable),
            (3, QuotedPrintable),
            (4, QuotedPrintable),
            (4, QuotedPrintable),
            (4, QuotedPrintable),
            (4, QuotedPrintable),
            (4, QuotedPrintable),
        ]
    );
    assert_eq!(
        damage("damage-glued.log"),
        [(1, Glued), (2, Glued), (3, Glued), (4, Glued)]
    );
    assert_eq!(
        damage("damage-binary.log"),
        [(1, Binary), (2, Binary), (3, Binary)]
    );
    assert_eq!(
        damage("damage-bad-header.log"),
        [
            (2, BadHeader),
            (3, BadHeader),
            (4, BadHeader),
            (5, BadHeader)
        ]
    );
    assert_eq!(
        damage("damage-quoted.log"),
        [
            (1, Quoted),
            (2, Quoted),
            (3, Quoted),
            (3, Quoted),
            (4, Quoted),
            (4, Quoted)
        ]
    );
    // Every other fixture is undamaged.
    for name in [
        "xend-standard.log",
        "xend-multiline.log",
        "qemu-dm-ubuntu-kdump.log",
        "xen-console.log",
        "xen-console-arm64.log",
        "xl-ubuntu.log",
        "console-ubuntu.log",
        "journal.log",
    ] {
        assert_eq!(damage(name), [], "{name}");
    }
}

#[test]
fn damage_spans_are_file_byte_offsets() {
    let text = fixture("damage-glued.log");
    let spans = |name: &str, kind: DamageKind| -> Vec<u64> {
        let mut v = Vec::new();
        xsh_log::parse_bytes(&fixture(name), name, None, |e| {
            v.extend(e.damage.iter().filter(|d| d.kind == kind).map(|d| d.start))
        });
        v
    };
    let glue = text
        .windows(10)
        .position(|w| w == b"Watch[2019")
        .map(|i| i as u64 + 5);
    assert_eq!(
        spans("damage-glued.log", DamageKind::Glued)
            .first()
            .copied(),
        glue
    );
    let qp = fixture("damage-qp.log");
    let first_escape = qp.windows(3).position(|w| w == b"=3D").map(|i| i as u64);
    assert_eq!(
        spans("damage-qp.log", DamageKind::QuotedPrintable)
            .first()
            .copied(),
        first_escape
    );
    let soft = qp.windows(2).position(|w| w == b"=\n").map(|i| i as u64);
    assert_eq!(
        spans("damage-qp.log", DamageKind::SoftBreak),
        [soft.unwrap_or(0)]
    );
    let bin = fixture("damage-binary.log");
    let ff = bin.iter().position(|&b| b == 0xff).map(|i| i as u64);
    assert_eq!(
        spans("damage-binary.log", DamageKind::Binary)
            .get(1)
            .copied(),
        ff
    );
}

#[test]
fn repaired_records_read_as_the_host_wrote_them() {
    let msg = |name: &str, line: u64| first_record(name, line).message();
    assert_eq!(
        msg("damage-wrapped.log", 1),
        "XendDomainInfo.destroy: domid=8"
    );
    assert_eq!(
        msg("damage-wrapped.log", 3),
        "XendDomainInfo.destroyDevice: deviceClass = vif, device = vif/0"
    );
    assert_eq!(
        msg("damage-qp.log", 2),
        "XendDomainInfo.destroyDevice: deviceClass = vif, device = vif/0"
    );
    assert_eq!(
        msg("damage-qp.log", 4),
        "Release running lock: status=0, output=Not clustered \u{2013} no lock will be used."
    );
    assert_eq!(
        msg("damage-bbcode.log", 3),
        "XendDomainInfo.destroy: domid=8"
    );
    assert_eq!(
        msg("damage-quoted.log", 1),
        "XendDomainInfo.shutdown(poweroff)"
    );
    let glued = records_of(&fixture("damage-glued.log"), "damage-glued.log", None);
    assert_eq!(glued.len(), 8, "two records on each of four lines");
    assert_eq!(glued[1].head(), "XendDomainInfo.handleShutdownWatch");
}

#[test]
fn libxl_and_syslog_lines_after_a_multi_line_xend_record_start_their_own() {
    // A xend.log with libxl's, xc's and syslog's lines between its records
    // (logs concatenated, or xend's output captured beside xl's): each line
    // keeps its own format, and only the dict, SXP and traceback lines
    // continue the xend records above them.
    let text = fixture("xend-concat.log");
    let want: &[(u64, Format, bool)] = &[
        (1, Format::Xend, false),
        (2, Format::Xend, true),
        (4, Format::Xend, true),
        (5, Format::Xl, false),
        (6, Format::Xend, false),
        (10, Format::Xend, true),
        (11, Format::Journal, false),
        (12, Format::Xend, false),
        (16, Format::Xend, true),
        (17, Format::Xl, false),
        (18, Format::Xl, false),
        (19, Format::Xend, false),
        (20, Format::Xend, true),
        (21, Format::Journal, false),
        (22, Format::Journal, false),
        (23, Format::Xend, false),
    ];
    let mut got = std::collections::BTreeMap::new();
    xsh_log::parse_bytes(&text, "xend-concat.log", None, |e| {
        got.insert(e.line, (e.format, e.continuation, e.damage.len()));
    });
    for &(line, format, cont) in want {
        assert_eq!(
            got.get(&line).map(|g| (g.0, g.1)),
            Some((format, cont)),
            "line {line}"
        );
    }
    assert!(got.values().all(|g| g.2 == 0), "no damage: {got:?}");
    let recs = records_of(&text, "xend-concat.log", None);
    let xl = recs.iter().find(|r| r.format == Format::Xl).expect("libxl");
    assert_eq!(xl.lines.len(), 1);
    assert_eq!(xl.func.as_deref(), Some("libxl__destroy_device_model"));
    assert_eq!(recs.len(), 11);
}

#[test]
fn xen_4_14_call_traces_map_their_frames_to_the_models_functions() {
    // Xen ≥ 4.14's show_trace() prints `[<addr>] R|F|S|C symbol+off/size`:
    // the letter says where the frame came from and is no part of the symbol.
    let name = "xen-console-414.log";
    let recs = records_of(&fixture(name), name, None);
    let funcs: Vec<&str> = recs
        .iter()
        .flat_map(|r| &r.lines)
        .filter(|l| l.kind == Kind::Frame)
        .filter_map(|l| l.func.as_deref())
        .collect();
    assert_eq!(
        funcs,
        [
            "domain_kill",
            "do_domctl",
            "pv_hypercall",
            "lstar_enter",
            "domain.c#complete_domain_destroy",
            "rcupdate.c#rcu_process_callbacks",
            "softirq.c#__do_softirq",
            "do_softirq",
            "vmx_asm_do_vmentry",
            "core.c#schedule",
        ]
    );
    // Each trace and its frames (and `[Fault on access]`) are one record.
    let traces: Vec<&xsh_log::Record> = recs
        .iter()
        .filter(|r| r.lines.iter().any(|l| l.kind == Kind::Frame))
        .collect();
    assert_eq!(traces.len(), 3, "{recs:#?}");
    assert!(traces[2]
        .lines
        .iter()
        .any(|l| l.text.contains("[Fault on access]")));
    // The frames the model has are mapped to its probes by function name.
    let x = xsh_log::explain::explain(&recs);
    let probes: Vec<&str> = x
        .records
        .iter()
        .flat_map(|r| &r.lines)
        .filter_map(|l| l.frame_probe)
        .collect();
    assert_eq!(
        probes,
        [
            "xen:domain_kill",
            "xen:do_domctl",
            "xen:complete_domain_destroy",
            "xen:__do_softirq",
            "xen:do_softirq",
            "xen:schedule",
        ]
    );
}

#[test]
fn arm64_register_dumps_and_x86_code_bytes_stay_in_their_dump() {
    // Xen's arm64 show_registers() right-aligns system registers with
    // long names (`VTTBR_EL2:`); x86 prints the bytes around the faulting
    // instruction under `Xen code around <…>:`. Both are lines of the dump.
    let name = "xen-console-arm64-regs.log";
    let recs = records_of(&fixture(name), name, None);
    assert_eq!(recs.len(), 1, "{recs:#?}");
    assert_eq!(recs[0].lines.len(), 37);
    let regs = recs[0]
        .lines
        .iter()
        .filter(|l| l.kind == Kind::Registers)
        .count();
    assert_eq!(regs, 17);
    let name = "xen-console-414.log";
    let recs = records_of(&fixture(name), name, None);
    let crash = recs
        .iter()
        .find(|r| r.head().starts_with("Assertion"))
        .expect("crash");
    let code: Vec<Kind> = crash
        .lines
        .iter()
        .filter(|l| l.text.contains("Xen code around") || l.text.contains("<0f> 0b"))
        .map(|l| l.kind)
        .collect();
    assert_eq!(code, [Kind::Registers, Kind::Stack]);
}

#[test]
fn a_mail_wrapped_xl_log_joins_libxl_lines_and_keeps_xls_own() {
    // xl -vvv's output pasted into a mail that wrapped it at 76 columns:
    // each libxl line's tail is joined back, and xl's own unprefixed
    // messages (`Waiting for domain …`, `Domain 8 has shut down …`) stay
    // records of their own.
    let name = "damage-wrapped-xl.log";
    let recs = records_of(&fixture(name), name, None);
    let heads: Vec<(Format, u64, String)> = recs
        .iter()
        .map(|r| (r.format, r.last_line() - r.line() + 1, r.message()))
        .collect();
    assert_eq!(heads.len(), 12, "{heads:#?}");
    assert!(heads.iter().all(|h| h.0 == Format::Xl), "{heads:#?}");
    assert_eq!(
        heads[1].2,
        "ao 0x1d4f2a0: create: how=(nil) callback=(nil) poller=0x1d4f140"
    );
    assert_eq!(
        heads[4].2,
        "watch w=0x1d50c58 wpath=@releaseDomain token=3/0: event epath=@releaseDomain"
    );
    for (i, h) in heads.iter().enumerate() {
        let wrapped = [1, 2, 3, 4, 5, 11].contains(&i);
        assert_eq!(h.1, 1 + u64::from(wrapped), "record {i}: {h:?}");
    }
    let wraps = damage(name)
        .iter()
        .filter(|d| d.1 == DamageKind::Wrapped)
        .count();
    assert_eq!(wraps, 6);
}

#[test]
fn quoted_printable_line_ends_split_records_where_the_host_did() {
    // A log sent as a mail part encoded from bare-LF text: its line ends
    // are `=0A`, soft breaks (`=` at the end) every 76 columns, and a line
    // that ends at the margin ends in `=0A=`.
    let name = "damage-qp-lines.log";
    let recs = records_of(&fixture(name), name, None);
    let msgs: Vec<String> = recs.iter().map(|r| r.message()).collect();
    assert_eq!(
        msgs,
        [
            "XendDomainInfo.shutdown(poweroff)",
            "XendDomainInfo.handleShutdownWatch",
            "Failed to restart domain 8.\nTraceback (most recent call last):\n  File \"/usr/lib64/python2.6/site-packages/xen/xend/XendDomainInfo.py\", line 2345, in _restart\n    new_dom = XendDomain.instance().domain_create_from_dict(config)\nVmError: Device 0 (vif) could not be connected.",
            "Domain ubuntu-kdump (8) unpaused.",
        ],
        "{recs:#?}"
    );
    assert_eq!(
        recs.iter().map(|r| r.lineno).collect::<Vec<_>>(),
        [Some(568), Some(1968), Some(2373), Some(1206)]
    );
    assert!(recs.iter().all(|r| r.format == Format::Xend));
    let qp = damage(name)
        .iter()
        .filter(|d| d.1 == DamageKind::QuotedPrintable)
        .count();
    assert_eq!(qp, 9, "eight line ends and one `=3D`");
}

#[test]
fn explain_reads_repaired_records_as_the_host_wrote_them() {
    // A mailer wrapped a message and a frame's symbol onto the next line:
    // explain matches the message made whole, and maps the frame by its
    // symbol, so the innermost frame is __domain_finalise_shutdown.
    let name = "damage-wrapped.log";
    let recs = records_of(&fixture(name), name, None);
    assert_eq!(recs[0].head(), "XendDomainInfo.destroy: domid=8");
    let x = xsh_log::explain::explain(&recs);
    let probes: Vec<Option<&str>> = x.records.iter().map(|r| r.probe).collect();
    assert_eq!(
        probes,
        [
            Some("xend:XendDomainInfo.destroy"),
            Some("xend:XendDomainInfo.destroyDevice"),
            // The model writes no `xc.domain_destroy failed`.
            None,
            Some("xen:__domain_finalise_shutdown"),
        ],
        "{:#?}",
        x.records
    );
    let frames: Vec<&str> = x.records[3]
        .lines
        .iter()
        .filter_map(|l| l.frame_probe)
        .collect();
    assert_eq!(
        frames,
        ["xen:__domain_finalise_shutdown", "xen:vcpu_check_shutdown"]
    );
}

#[test]
fn xentoollogs_dated_lines_are_libxl_records_with_their_time_and_pid() {
    // xtl_stdiostream with SHOW_DATE|SHOW_PID (`xl -T`, libvirt's libxl
    // driver): date, zone name, `[pid] `, then libxl's usual prefix.
    let name = "libxl-driver.log";
    let recs = records_of(&fixture(name), name, None);
    assert_eq!(recs.len(), 4);
    assert!(recs.iter().all(|r| r.format == Format::Xl), "{recs:#?}");
    let r = &recs[2];
    assert_eq!(r.time.as_deref(), Some("2019-06-05 09:23:28 UTC"));
    assert_eq!(
        r.when().and_then(|w| w.iso()).as_deref(),
        Some("2019-06-05T09:23:28+00:00")
    );
    assert_eq!((r.pid, r.logger.as_deref()), (Some(4242), Some("libxl")));
    assert_eq!(r.func.as_deref(), Some("kill_device_model"));
    assert_eq!(r.domid(), Some(8), "libxl's LOGD prefix `Domain 8:`");
    assert_eq!(recs[3].logger.as_deref(), Some("xc"));
    // A zone xentoollog names but no offset is known for: shown, not applied.
    assert_eq!(
        recs[3].when().and_then(|w| w.iso()).as_deref(),
        Some("2019-06-05T09:23:28")
    );
}
