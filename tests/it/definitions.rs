//! `xsh definitions`: editor definitions and docs/api.md from one source.

use std::process::Command;

use xsh_script::{apidoc, Host, Limits};
use xsh_sim::Config;

fn host() -> Host {
    Host::with_globals(Config::default(), Limits::default(), &["testing"]).expect("testing loads")
}

#[test]
fn docs_api_md_is_generated_from_the_engine() {
    let h = host();
    let want = apidoc::markdown(&apidoc::collect(&h), &h);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/api.md");
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/api.md is stale; regenerate: cargo run -- definitions --markdown > docs/api.md"
    );
}

#[test]
fn the_contracts_api_is_listed_and_documented() {
    let h = host();
    let md = apidoc::markdown(&apidoc::collect(&h), &h);
    for form in [
        "| `sim` | Sim |",
        "### `sim.start_time: string` (get/set)",
        "### `sim.after(seconds: ?, f: Fn)`",
        "### `xm.create(cfg: map) -> Domain`",
        "### `xm.shutdown(dom: ?, opts: map)`",
        "### `dom.state: string` (get)",
        "### `dom.kernel.pm_power_off: ?` (get/set)",
        "### `xs.transaction(f: Fn) -> ?`",
        "### `xen.print(text: string)`",
        "### `ctx.orig() -> ?`",
        "### `on(probe: string, f: Fn) -> int`",
        "### `assert_log(pattern)`",
    ] {
        assert!(md.contains(form), "missing {form:?}");
    }
    let undocumented: Vec<&str> = md
        .lines()
        .collect::<Vec<_>>()
        .windows(3)
        .filter(|w| w[2].starts_with("(undocumented"))
        .map(|w| w[0])
        .collect();
    assert!(
        undocumented.is_empty(),
        "document these in apidoc/docs.rs: {undocumented:?}"
    );
}

#[test]
fn definitions_are_written_for_an_editor() {
    let dir = std::env::temp_dir().join(format!("xsh-defs-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_xsh"))
        .arg("definitions")
        .arg(&dir)
        .output()
        .expect("xsh runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read =
        |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_else(|_| panic!("{f} written"));
    let stat = read("__static__.d.rhai");
    assert!(stat.starts_with("// The xsh script API"), "{stat}");
    assert!(stat.contains("module static;"));
    assert!(
        stat.contains("fn create(_: Xm, cfg: map) -> Domain;"),
        "{stat}"
    );
    assert!(
        stat.contains("fn get state(_: Domain) -> string;"),
        "{stat}"
    );
    assert!(
        stat.contains("fn set pm_power_off(_: Kernel, value: ?);"),
        "{stat}"
    );
    assert!(
        stat.contains("/// Creates and starts a domain, like `xm create`"),
        "{stat}"
    );
    assert!(read("__scope__.d.rhai").contains("const xm: Xm;"));
    let testing = read("testing.d.rhai");
    assert!(testing.contains("module testing;"));
    assert!(
        testing.contains("fn expect_sequence(text, patterns);"),
        "{testing}"
    );
    assert!(testing.contains("/// Fails unless the domain"), "{testing}");
    assert!(read("__builtin__.d.rhai").contains("fn "));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn definitions_without_a_folder_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_xsh"))
        .arg("definitions")
        .output()
        .expect("xsh runs");
    assert_eq!(out.status.code(), Some(2));
}
