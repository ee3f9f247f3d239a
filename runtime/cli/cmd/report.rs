//! What `--report` pages say about how a run was made: the command that
//! reproduces it (the script, its seed, the limits changed, its `--param`s
//! and every choice it made, seeded ones too, so the replay makes the same
//! ones whatever the seed would pick).

use xsh_script::explore::report::shell_word;
use xsh_script::output::report::RunInfo;
use xsh_script::Host;

use super::run::Flags;

/// The command that runs `f`'s script again the way it ran.
pub fn command(f: &Flags, host: &Host) -> String {
    let mut cmd = String::from("xsh run");
    if let Some(p) = &f.script {
        cmd.push(' ');
        cmd.push_str(&shell_word(&p.display().to_string()));
    }
    if f.seed != 1 {
        cmd.push_str(&format!(" --seed {}", f.seed));
    }
    for flag in f.limits.changed() {
        cmd.push(' ');
        cmd.push_str(&flag);
    }
    for p in &f.param {
        cmd.push_str(&format!(" --param {}", shell_word(p)));
    }
    let made: Vec<(String, String)> = host
        .state
        .explore
        .trail
        .borrow()
        .iter()
        .map(|m| (m.name.clone(), m.options[m.index].clone()))
        .collect();
    if !made.is_empty() {
        let arg = xsh_script::explore::choose_arg(&made);
        cmd.push_str(&format!(" --choose {}", shell_word(&arg)));
    }
    cmd
}

/// The page's account of an `xsh run`.
pub fn run_info(f: &Flags, host: &Host, name: &str, failure: Option<String>) -> RunInfo {
    RunInfo {
        title: name.to_string(),
        script: name.to_string(),
        command: command(f, host),
        params: f.param.clone(),
        failure,
        printed: host.state.output.borrow().clone(),
        index: None,
    }
}

/// Writes `DIR/index.html` for `xsh test --report DIR` and tells on stderr
/// which failing tests have no page and why. False when any is missing.
pub fn write_test_index(summary: &xsh_script::testing::Summary, dir: &std::path::Path) -> bool {
    use xsh_script::output::report::tests_index;
    let mut ok = true;
    for r in summary.failures() {
        if let Some(Err(e)) = &r.page {
            eprintln!("error: no report page for {}: {e}", r.id());
            ok = false;
        }
    }
    let index = dir.join("index.html");
    if let Err(e) = std::fs::write(&index, tests_index::index_html(summary, dir)) {
        eprintln!("error: cannot write {}: {e}", index.display());
        return false;
    }
    ok
}
