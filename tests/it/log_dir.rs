//! Which files `--log-dir` holds: a host's own. A file exists once the
//! program that writes it has opened it or written a line, so a host that
//! runs xl has no xend.log, one whose xend started has it (empty or not),
//! and what the run prints, its `--report` page and `xsh test --log-dir`
//! name exactly the files on disk.

use std::collections::BTreeSet;
use std::path::Path;

use crate::util::Scratch;

/// Four xl domains: twelve per-domain files, past the six a run names.
const XL_FOUR: &str = r#"sim.toolstack = "xl";
for i in 0..4 {
    let d = xl.create(#{ name: `g${i}`, type: "hvm" });
    xl.shutdown(d);
}
sim.run();
"#;

/// A host whose xend started and never logged.
const XEND_SILENT: &str = "print(xm.list().len());\n";

/// A host that never chose a toolstack.
const NO_TOOLSTACK: &str = "xs.write(\"/tool/x\", \"1\");\n";

fn files_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("the log dir")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// `wrote N logs to DIR (SIZE): LIST` of stderr, checked against the
/// folder: N is the number of files, and LIST names them all, or names
/// the host's own and counts the per-domain ones.
fn check_wrote_line(err: &str, on_disk: &BTreeSet<String>) {
    let line = err
        .lines()
        .find(|l| l.starts_with("wrote "))
        .unwrap_or_else(|| panic!("no `wrote` line: {err}"));
    let n: usize = line["wrote ".len()..]
        .split(' ')
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no count: {line}"));
    assert_eq!(n, on_disk.len(), "{line} against {on_disk:?}");
    let list = &line[line.find("): ").expect("the list") + 3..];
    match list.strip_suffix(" per-domain logs") {
        Some(head) => {
            let (named, count) = head.rsplit_once(" and ").expect("`... and N`");
            let named: BTreeSet<String> = named.split(", ").map(String::from).collect();
            let count: usize = count.parse().expect("a count");
            assert!(named.is_subset(on_disk), "{line} against {on_disk:?}");
            assert_eq!(named.len() + count, on_disk.len(), "{line}");
        }
        None => {
            let named: BTreeSet<String> = list.split(", ").map(String::from).collect();
            assert_eq!(&named, on_disk, "{line}");
        }
    }
}

/// Runs `script` with `--log-dir logs --report run.html`; the files it
/// wrote, after checking that the run's message and the page name them.
fn logs_of(s: &Scratch, script: &str) -> BTreeSet<String> {
    let _ = std::fs::remove_dir_all(s.path("logs"));
    let (code, _, err) = s.xsh(&["run", script, "--log-dir", "logs", "--report", "run.html"]);
    assert_eq!(code, 0, "{script}: {err}");
    let on_disk = files_in(&s.path("logs"));
    check_wrote_line(&err, &on_disk);
    let html = std::fs::read_to_string(s.path("run.html")).expect("the page");
    let page: BTreeSet<String> = crate::report::page_data(&html)["logs"]
        .as_array()
        .expect("the page's logs")
        .iter()
        .map(|l| l["name"].as_str().expect("a name").to_string())
        .collect();
    assert_eq!(page, on_disk, "{script}: the page's logs");
    on_disk
}

#[test]
fn each_host_writes_only_its_own_log_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let s = Scratch::new(
        "log-dir",
        &[
            ("xl_four.rhai", XL_FOUR),
            ("xend_silent.rhai", XEND_SILENT),
            ("none.rhai", NO_TOOLSTACK),
        ],
    );
    let script = |name: &str| root.join("scripts").join(name).display().to_string();

    let xl = logs_of(&s, &script("xl_poweroff.rhai"));
    let want: BTreeSet<String> = [
        "xen.log",
        "xl-ubuntu-kdump.log",
        "qemu-dm-ubuntu-kdump.log",
        "console-ubuntu-kdump.log",
    ]
    .map(String::from)
    .into();
    assert_eq!(xl, want, "an xl host has no xend.log");

    let many = logs_of(&s, "xl_four.rhai");
    assert_eq!(many.len(), 13, "{many:?}");
    assert!(!many.contains("xend.log"), "{many:?}");

    let xend = logs_of(&s, &script("hvm_poweroff.rhai"));
    assert!(
        xend.contains("xend.log") && xend.contains("xen.log"),
        "{xend:?}"
    );

    // xend opens its log when it starts: the file is there, empty.
    let silent = logs_of(&s, "xend_silent.rhai");
    assert!(silent.contains("xend.log"), "{silent:?}");
    let text = std::fs::read_to_string(s.path("logs/xend.log")).expect("xend.log");
    assert_eq!(text, "");

    // No toolstack ran: the Xen console is the host's only log.
    let bare = logs_of(&s, "none.rhai");
    assert_eq!(bare, BTreeSet::from(["xen.log".to_string()]));
}

const XL_TEST: &str = r#"fn test_xl() {
    sim.toolstack = "xl";
    let d = xl.create(#{ name: "a", type: "hvm" });
    xl.shutdown(d);
    sim.run();
}
fn test_xm() {
    let d = xm.create(#{ name: "b", type: "hvm" });
    xm.shutdown(d);
    sim.run();
}
"#;

#[test]
fn xsh_test_log_dir_holds_each_tests_own_files() {
    let s = Scratch::new("log-dir-test", &[("t.rhai", XL_TEST)]);
    let (code, out, err) = s.xsh(&["test", "t.rhai", "--log-dir", "ld"]);
    assert_eq!(code, 0, "{out}{err}");
    let xl = files_in(&s.path("ld/t.rhai/test_xl"));
    assert!(!xl.contains("xend.log"), "{xl:?}");
    assert!(xl.contains("xl-a.log") && xl.contains("xen.log"), "{xl:?}");
    let xm = files_in(&s.path("ld/t.rhai/test_xm"));
    assert!(
        xm.contains("xend.log") && !xm.contains("xl-b.log"),
        "{xm:?}"
    );
}
