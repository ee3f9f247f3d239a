//! Helpers that keep each test a few lines long.

use xsh_script::{Host, Limits, ScriptError};
use xsh_sim::Config;

/// Runs a script in a fresh world with `seed`.
pub fn run_seeded(src: &str, seed: u64) -> (Host, Result<(), ScriptError>) {
    let host = Host::new(
        Config {
            seed,
            ..Config::default()
        },
        Limits::default(),
    );
    let r = host.run("test.rhai", src).map(|_| ());
    (host, r)
}

/// Runs a script in a fresh world (seed 1).
pub fn run(src: &str) -> (Host, Result<(), ScriptError>) {
    run_seeded(src, 1)
}

/// Runs a script that must succeed; returns its host.
pub fn ok(src: &str) -> Host {
    let (h, r) = run(src);
    if let Err(e) = r {
        panic!("script failed:\n{}", e.render(false));
    }
    h
}

/// xend.log of a host.
pub fn xend_log(h: &Host) -> String {
    h.sim().logs.borrow().xend.text().to_string()
}

/// A per-domain log file (`qemu-dm-<name>.log`, `console-<name>.log`).
pub fn file(h: &Host, name: &str) -> String {
    h.sim()
        .logs
        .borrow()
        .files
        .get(name)
        .map(|s| s.text().to_string())
        .unwrap_or_default()
}

/// The Xen console.
pub fn xen_log(h: &Host) -> String {
    h.sim().logs.borrow().xen.text().to_string()
}

/// Is `block` a contiguous run of whole lines of `text`?
pub fn contains_block(text: &str, block: &str) -> bool {
    let hay: Vec<&str> = text.lines().collect();
    let need: Vec<&str> = block.lines().collect();
    need.is_empty() || hay.windows(need.len()).any(|w| w == need.as_slice())
}

/// The message lines of xend.log (without `[date pid] `).
pub fn messages(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| l.split_once("] ").map(|(_, m)| m.to_string()))
        .collect()
}

/// The seed's scenario with substitutions.
pub fn scenario(start: &str, pid: u32, domid: u32, extra: &str) -> String {
    format!(
        r#"sim.start_time = "{start}";
xend.pid = {pid};
let dom = xm.create(#{{ name: "ubuntu-kdump", id: {domid}, type: "hvm", guest: "ubuntu-16.04",
                      devices: ["vif/0", "vkbd/0", "console/0", "vbd/51712", "vfb/0"] }});
{extra}
xm.shutdown(dom);
sim.run();
"#
    )
}

/// The `xsh` binary run with `args` in `dir` (this process's directory when
/// `None`), colours off: (exit code, stdout, stderr).
pub fn xsh_in(dir: Option<&std::path::Path>, args: &[&str]) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_xsh"));
    cmd.args(args).env("NO_COLOR", "1");
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    let out = cmd.output().expect("xsh runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A scratch folder of files for a test that runs the binary, removed when
/// dropped. Each gets its own name (tests run in parallel in one process).
pub struct Scratch(pub std::path::PathBuf);

impl Scratch {
    /// A fresh folder holding `files` (paths relative to it, parents made).
    pub fn new(name: &str, files: &[(&str, &str)]) -> Scratch {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("xsh-it-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        for (f, text) in files {
            let p = dir.join(f);
            std::fs::create_dir_all(p.parent().expect("a parent")).expect("scratch dir");
            std::fs::write(p, text).expect("scratch file");
        }
        Scratch(dir)
    }

    /// The `xsh` binary run inside the folder.
    pub fn xsh(&self, args: &[&str]) -> (i32, String, String) {
        xsh_in(Some(&self.0), args)
    }

    /// A path inside the folder.
    pub fn path(&self, f: &str) -> std::path::PathBuf {
        self.0.join(f)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
