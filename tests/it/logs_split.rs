//! `xsh logs stats --threads N` cuts a big file into parts counted on a
//! thread each. The counts must be the sequential ones whatever the cut:
//! every file of the corpus (tests/diagnose, tests/lexer-inputs, mailed and
//! quoted-printable copies included) and files built so a cut falls inside
//! a multi-line record or a soft-broken line, cut before every line and
//! into 2 to 48 parts, count exactly as one thread does.

use std::fs::File;
use std::path::{Path, PathBuf};

use xsh_log::split::{stats_cut_after, stats_in_parts};
use xsh_log::stats::Stats;

/// Every count `stats` reports, and the order modules first appeared in.
fn shown(s: &Stats) -> String {
    let mut out = format!(
        "{}entries {}, damaged lines {}, damage {:?}\n",
        s.render(0.0),
        s.entries,
        s.damaged_lines,
        s.damage
    );
    for f in &s.formats {
        out.push_str(&format!(
            "{} {} {:?} {} {:?}\n",
            f.records, f.continuation_lines, f.levels, f.no_level, f.modules
        ));
    }
    out
}

fn corpus() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in std::fs::read_dir(root.join("tests/diagnose")).expect("tests/diagnose") {
        let dir = dir.expect("an entry").path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).expect("a case") {
            files.push(f.expect("an entry").path());
        }
    }
    for f in std::fs::read_dir(root.join("tests/lexer-inputs")).expect("tests/lexer-inputs") {
        let p = f.expect("an entry").path();
        if p.extension().is_some_and(|e| e == "log") {
            files.push(p);
        }
    }
    files.sort();
    files
}

/// Checks cuts of `path` against one thread: before every line on its
/// own (small files), before every fifth line at once from each of five
/// starts, and 2 to 48 even parts. Returns how many cuttings it tried.
fn check(path: &Path, name: &str) -> Result<usize, String> {
    let f = File::open(path).map_err(|e| e.to_string())?;
    let whole = stats_in_parts(&f, name, None, 1, 1).map_err(|e| e.to_string())?;
    let want = shown(&whole);
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let newlines: Vec<u64> = memchr_all(&bytes);
    let differs = |how: String, got: Stats| -> Result<(), String> {
        let got = shown(&got);
        if got == want {
            return Ok(());
        }
        Err(format!(
            "{} read as {name}, {how}:\n{}",
            path.display(),
            first_difference(&want, &got)
        ))
    };
    let mut tried = 0;
    if bytes.len() <= 16 << 10 {
        for &nl in &newlines {
            differs(
                format!("cut after byte {nl}"),
                stats_cut_after(&f, name, None, &[nl]).unwrap(),
            )?;
            tried += 1;
        }
    }
    for from in 0..5 {
        let guesses: Vec<u64> = newlines.iter().skip(from).step_by(5).copied().collect();
        differs(
            format!("cut before every fifth line from line {}", from + 2),
            stats_cut_after(&f, name, None, &guesses).unwrap(),
        )?;
        tried += 1;
    }
    for threads in 2..=48 {
        differs(
            format!("{threads} threads"),
            stats_in_parts(&f, name, None, threads, 1).unwrap(),
        )?;
        tried += 1;
    }
    Ok(tried)
}

fn memchr_all(bytes: &[u8]) -> Vec<u64> {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .map(|(i, _)| i as u64)
        .collect()
}

fn first_difference(want: &str, got: &str) -> String {
    want.lines()
        .zip(got.lines())
        .find(|(a, b)| a != b)
        .map(|(a, b)| format!("  one thread: {a}\n  in parts:   {b}"))
        .unwrap_or_else(|| format!("  one thread:\n{want}\n  in parts:\n{got}"))
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("?")
        .to_string()
}

#[test]
fn every_corpus_file_counts_the_same_in_parts() {
    let mut wrong = Vec::new();
    let mut tried = 0;
    for p in corpus() {
        match check(&p, &file_name(&p)) {
            Ok(n) => tried += n,
            Err(e) => wrong.push(e),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(tried > 1000, "{tried} cuttings tried");
}

/// A quoted-printable xend.log whose line ends are encoded (`=0A`), with a
/// record glued to the end of another across a soft break: the physical
/// line after `ha=` starts with a xend head, yet is the rest of the
/// decoded line that `ha` begins.
const QP_GLUED_XEND: &str = "\
[2019-06-05 09:23:27 2164] DEBUG (XendDomainInfo:568) XendDomainInfo.shu=
tdown(poweroff)=0A[2019-06-05 09:23:27 2164] INFO (XendDomainInfo:1968) ha=
[2019-06-05 09:23:27 2164] DEBUG (XendDomainInfo:1968) XendDomainInfo.handleShutdownWatch=0A=
[2019-06-05 09:23:28 2164] ERROR (XendDomainInfo:2373) Failed to restart=
 domain 8.=0ATraceback (most recent call last):=0A  File \"/usr/lib64/pyt=
hon2.6/site-packages/xen/xend/XendDomainInfo.py\", line 2345, in _restart=0A=
    new_dom =3D XendDomain.instance().domain_create_from_dict(config)=0A=
VmError: Device 0 (vif) could not be connected.=0A=
[2019-06-05 09:23:28 2164] INFO (XendDomain:1206) Domain ubuntu (8) deleted.=0A=
";

/// The Xen console mailed the same way: a `(XEN)` line cut by a soft
/// break, and the next physical line a whole `(XEN)` line glued to it.
const QP_GLUED_XEN: &str = "\
(XEN) [2023-03-14 11:02:20] d8v0 Triple fault - invoking HVM shutdown actio=
n 1=0A(XEN) [2023-03-14 11:02:20] *** Dumping Dom8 vcpu#0 state: ***=0A(XEN=
) [2023-03-14 11:02:20] ----[ Xen-4.16.2  x86_64  debug=3Dn  Not tainted ]-=
---=0A(XEN) [2023-03-14 11:02:20] CPU:    3=0A(XEN) [2023-03-14 11:02:20] d=
(XEN) [2023-03-14 11:02:21] HVM d8v0 save: CPU=0A(XEN) [2023-03-14 11:02:21=
] domain_crash called from hvm.c:1679=0A=
(XEN) [2023-03-14 11:02:21] Domain 8 (vcpu#0) crashed on cpu#3:=0A=
";

/// A mailed journal whose soft break falls just before a stamp: the
/// physical line after `ok=` reads alone as a journal record, but decoded
/// it is the end of the line `ok` begins.
const QP_JOURNAL: &str = "\
2019-06-05T09:23:27+0000 ubuntu systemd[1]: Stopping Session 1 of user r=
oot.=0A2019-06-05T09:23:27+0000 ubuntu systemd[1]: Stopped target Graphical=
 Interface.=0A2019-06-05T09:23:28+0000 ubuntu systemd[1]: Reached target ok=
2019-06-05T09:23:28+0000 ubuntu systemd-shutdown[1]: Sending SIGTERM.=0A=
2019-06-05T09:23:29+0000 ubuntu kernel: reboot: Power down=0A=
";

/// A quoted-printable part, then the log as plain text: a record ending in
/// `=` and a traceback frame under it read as a soft break only because
/// a `=0A` came before, three records up.
const QP_THEN_PLAIN: &str = "\
[2019-06-05 09:23:27 2164] DEBUG (XendDomainInfo:568) XendDomainInfo.shutdown(poweroff)=0A=
[2019-06-05 09:23:27 2164] INFO (XendDomain:1206) Domain ubuntu (8) deleted.
[2019-06-05 09:23:28 2164] INFO (XendDomainInfo:1968) XendDomainInfo.handleShutdownWatch
[2019-06-05 09:23:28 2164] ERROR (XendDomainInfo:2373) Failed to restart domain 8 with config=
  File \"/usr/lib64/python2.6/site-packages/xen/xend/XendDomainInfo.py\", line 2345, in _restart
[2019-06-05 09:23:28 2164] INFO (XendDomain:1206) Domain ubuntu (8) deleted.
";

/// Files built so a cut falls inside a multi-line record or a soft-broken
/// line, each cut every way `check` cuts; and the whole corpus as one
/// file read as each format, so lines of one format sit inside records of
/// another.
#[test]
fn crafted_files_count_the_same_in_parts() {
    let dir = crate::util::Scratch::new("split", &[]);
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for (name, text) in [
        ("xend.log.mail", QP_GLUED_XEND),
        ("xen.log.mail", QP_GLUED_XEN),
        ("journal.mail", QP_JOURNAL),
        ("plain-after-qp/xend.log.mail", QP_THEN_PLAIN),
    ] {
        let p = dir.path(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        files.push((p, file_name(Path::new(name))));
    }
    let mut all = Vec::new();
    for p in corpus() {
        all.extend(std::fs::read(&p).unwrap());
    }
    let everything = dir.path("everything");
    std::fs::write(&everything, &all).unwrap();
    for name in [
        "xend.log",
        "xen.log",
        "xl-web.log",
        "qemu-dm-web.log",
        "notes.txt",
    ] {
        files.push((everything.clone(), name.to_string()));
    }
    let mut wrong = Vec::new();
    for (p, name) in &files {
        if let Err(e) = check(p, name) {
            wrong.push(e);
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Plain xend records totalling exactly `bytes` (at least 200): the last
/// one is padded to fit.
fn filler(bytes: usize, with_traceback: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes);
    let line = b"[2019-06-05 09:23:27 2164] DEBUG (DevController:139) Waiting for devices vif.\n";
    // Under a quoted-printable part, a record ending in `=` and a frame
    // under it read as a soft break (the part after the cut must know).
    let pair = b"[2019-06-05 09:23:28 2164] ERROR (XendDomainInfo:2373) Failed with config=\n  File \"/usr/lib64/python2.6/site-packages/xen/xend/XendDomainInfo.py\", line 2345, in _restart\n";
    let mut n = 0;
    while out.len() + 2 * line.len() + pair.len() < bytes {
        if with_traceback && n % 5000 == 2500 {
            out.extend_from_slice(pair);
        } else {
            out.extend_from_slice(line);
        }
        n += 1;
    }
    let pad = bytes - out.len() - b"[2019-06-05 09:23:27 2164] INFO (XendDomain:1206) \n".len();
    out.extend_from_slice(b"[2019-06-05 09:23:27 2164] INFO (XendDomain:1206) ");
    out.extend(std::iter::repeat_n(b'p', pad));
    out.push(b'\n');
    assert_eq!(out.len(), bytes);
    out
}

/// `xsh logs stats` of a 33 MB mailed xend.log, with one thread and with
/// two: the file is laid out so that two threads' cut is looked for in
/// the middle of a quoted-printable record whose next physical line
/// starts with a xend head (the rest of the decoded line, glued to it),
/// and the part after the cut has records that read as soft breaks only
/// because the part before saw a `=0A`. Both print the same counts.
#[test]
fn stats_with_threads_counts_a_mailed_log_as_one_thread_does() {
    const HALF: usize = 17 << 20;
    let qp = QP_GLUED_XEND.as_bytes();
    let mut text = filler(HALF, false);
    text.extend_from_slice(qp);
    // `stats` cuts two parts at len / 2: ten bytes into the block.
    let rest = HALF + 20 - qp.len();
    text.extend(filler(rest, true));
    assert_eq!(text.len() / 2, HALF + 10);
    let s = crate::util::Scratch::new("split-cli", &[]);
    std::fs::write(s.path("xend.log.mail"), &text).unwrap();
    let run = |threads: &str| {
        let (code, out, err) = s.xsh(&["logs", "stats", "--threads", threads, "xend.log.mail"]);
        assert_eq!(code, 0, "{err}");
        // Everything but the speed line.
        out.lines()
            .filter(|l| !l.starts_with("speed:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let one = run("1");
    assert!(one.contains("glued 1"), "{one}");
    assert!(one.contains("soft-break"), "{one}");
    assert_eq!(run("2"), one);
}
