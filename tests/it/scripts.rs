//! Every script in `scripts/` is also a golden test: `xsh run` of it, with
//! `--log-dir`, must print and log exactly what `tests/golden/scripts/<name>.out`
//! holds — its exit code, stdout, stderr and every log file it wrote. The
//! goldens are the model's own output, reviewed when they change:
//! `XSH_BLESS=1 cargo test --test it scripts` rewrites them; read the diff
//! before committing it. A new script needs its golden made the same way.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn scripts() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("scripts"))
        .expect("scripts/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "rhai"))
        .collect();
    v.sort();
    v
}

/// Runs one script from the repository root; everything it produced, as text.
fn transcript(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("xsh-golden-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_xsh"))
        .args(["run", &format!("scripts/{name}"), "--log-dir"])
        .arg(&dir)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("xsh runs");
    // `wrote N logs to DIR (...)` names this run's scratch folder; the
    // logs themselves follow below.
    let stderr: String = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.starts_with("wrote ") || !l.contains("xsh-golden-"))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut t = format!(
        "exit code: {}\n--- stdout ---\n{}--- stderr ---\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        stderr
    );
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    logs.sort();
    for log in logs {
        let file = log.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        t.push_str(&format!("--- {file} ---\n{text}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
    t
}

#[test]
fn every_script_reproduces_its_golden() {
    let bless = std::env::var_os("XSH_BLESS").is_some();
    let golden_dir = root().join("tests/golden/scripts");
    let mut wrong = Vec::new();
    for script in scripts() {
        let name = script
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name")
            .to_string();
        let got = transcript(&name);
        let golden = golden_dir.join(name.replace(".rhai", ".out"));
        if bless {
            std::fs::create_dir_all(&golden_dir).expect("golden dir");
            std::fs::write(&golden, &got).expect("golden written");
            continue;
        }
        let Ok(want) = std::fs::read_to_string(&golden) else {
            wrong.push(format!("scripts/{name} has no golden {}", golden.display()));
            continue;
        };
        if got != want {
            let line = got
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(got.lines().count().min(want.lines().count()));
            wrong.push(format!(
                "scripts/{name} differs from {} at line {}:\n  expected: {:?}\n  got:      {:?}",
                golden.display(),
                line + 1,
                want.lines().nth(line).unwrap_or("<end>"),
                got.lines().nth(line).unwrap_or("<end>")
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{}\n\nif the change is deliberate: XSH_BLESS=1 cargo test --test it scripts, then read the diff",
        wrong.join("\n")
    );
}

#[test]
fn every_script_says_what_it_shows_and_how_to_run_it() {
    for script in scripts() {
        let src = std::fs::read_to_string(&script).expect("readable");
        let name = script.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        assert!(src.starts_with("//! "), "{name}: starts with a //! summary");
        assert!(
            src.lines()
                .take_while(|l| l.starts_with("//!"))
                .any(|l| l.contains("Run: xsh run scripts/")),
            "{name}: its summary has a `Run:` line"
        );
        let readme = std::fs::read_to_string(root().join("scripts/README.md")).unwrap_or_default();
        assert!(readme.contains(name), "scripts/README.md lists {name}");
    }
}
