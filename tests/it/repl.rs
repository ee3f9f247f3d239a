//! `xsh repl`: driven through a real pseudo-terminal for what only a
//! terminal has (the line editor's multi-line input, completion, history),
//! and through a pipe for the commands and the multi-line rule.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long to wait for the REPL to show something.
const PATIENCE: Duration = Duration::from_secs(20);

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("xsh-repl-{name}-{}", std::process::id()))
}

/// Terminal text without escape sequences and carriage returns.
fn plain(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI: ESC [ params final-byte; other escapes are two chars.
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for d in chars.by_ref() {
                        if ('@'..='~').contains(&d) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// `xsh repl` on the slave side of a pseudo-terminal.
struct Terminal {
    master: std::fs::File,
    seen: Arc<Mutex<Vec<u8>>>,
    child: Child,
}

impl Terminal {
    fn spawn(args: &[&str], history: &Path) -> Terminal {
        use std::os::fd::{FromRawFd, OwnedFd};
        let (mut master, mut slave) = (0, 0);
        let size = libc::winsize {
            ws_row: 40,
            ws_col: 200,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty writes two descriptors we then own.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        assert_eq!(rc, 0, "openpty");
        // SAFETY: both are fresh descriptors owned by nobody else.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let io = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("dup"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xsh"));
        cmd.arg("repl")
            .args(args)
            .env("TERM", "xterm")
            .env("NO_COLOR", "1")
            .env("XSH_HISTORY", history)
            .stdin(io(&slave))
            .stdout(io(&slave))
            .stderr(io(&slave));
        // SAFETY: only async-signal-safe calls between fork and exec: a new
        // session whose controlling terminal is the pty, as a shell gives.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY as _, 0);
                Ok(())
            });
        }
        let child = cmd.spawn().expect("xsh repl starts");
        drop(slave);
        let master = std::fs::File::from(master);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (mut reader, mut answer) = (
            master.try_clone().expect("dup"),
            master.try_clone().expect("dup"),
        );
        let sink = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                // A line editor may ask where the cursor is; a terminal answers.
                if buf[..n].windows(4).any(|w| w == b"\x1b[6n") {
                    let _ = answer.write_all(b"\x1b[1;1R");
                }
                sink.lock().expect("lock").extend_from_slice(&buf[..n]);
            }
        });
        Terminal {
            master,
            seen,
            child,
        }
    }

    fn screen(&self) -> String {
        plain(&self.seen.lock().expect("lock"))
    }

    /// Waits until the screen shows `text` `times` times in all.
    fn expect_n(&self, text: &str, times: usize) {
        let start = Instant::now();
        while start.elapsed() < PATIENCE {
            if self.screen().matches(text).count() >= times {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "waited for {text:?} (x{times}); the terminal shows:\n{}",
            self.screen()
        );
    }

    fn expect(&self, text: &str) {
        self.expect_n(text, 1);
    }

    fn send(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).expect("typed");
        self.master.flush().expect("flushed");
        // Keys arrive one burst at a time, as from a person.
        std::thread::sleep(Duration::from_millis(50));
    }

    fn quit(mut self) {
        self.send("\x04");
        let start = Instant::now();
        while start.elapsed() < PATIENCE {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "{status:?}\n{}", self.screen());
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!("xsh repl did not leave on Ctrl-D:\n{}", self.screen());
    }
}

#[test]
fn a_terminal_session_takes_multi_line_input() {
    let history = temp("multi-history");
    let mut t = Terminal::spawn(&[], &history);
    t.expect("xsh> ");
    t.send("fn double(x) {\r");
    t.send("    x * 2\r");
    t.send("}\r");
    t.expect_n("xsh> ", 2);
    t.send("double(21)\r");
    t.expect("=> 42");
    t.send("let dom = xm.create(#{ name: \"a\",\r");
    t.send("                      devices: [\"vif/0\"] });\r");
    t.send("dom.state\r");
    t.expect("\nrunning\n");
    t.quit();
    let _ = std::fs::remove_file(&history);
}

#[test]
fn tab_completes_members_probes_variables_and_commands() {
    let history = temp("tab-history");
    let mut t = Terminal::spawn(&[], &history);
    t.expect("xsh> ");
    t.send("xm.shutd\t");
    t.expect("xm.shutdown");
    t.send("\x15"); // Ctrl-U: drop the line
    t.send("on(\"xend:XendDomainInfo.destroyD\t");
    t.expect("on(\"xend:XendDomainInfo.destroyDevice");
    t.send("\x15");
    t.send("let my_domain = 7;\r");
    t.send("my_do\t");
    t.expect("my_domain");
    t.send("\r");
    t.expect("=> 7");
    // A completed command comes with its space: the argument follows.
    t.send(":pro\t");
    t.expect(":probes ");
    t.send("qemu:destroy_h\t");
    t.expect(":probes qemu:destroy_hvm_domain");
    t.send("\r");
    t.expect("destroy_hvm_domain(");
    // After a chained expression, the members of its type.
    t.send("let dom = xm.create(#{ name: \"t\" });\r");
    t.send("dom.kernel.pm_\t");
    t.expect("dom.kernel.pm_power_off");
    t.send("\x15");
    t.send("on(\"xm:shutdown\", |ctx| ctx.bac\t");
    t.expect("ctx.backtrace");
    t.send("\x15");
    // An input that ends on an operator goes on at the next line.
    t.send("let x = 40 +\r");
    t.send("2;\r");
    t.send("x\r");
    t.expect("=> 42");
    // ?name: the doc of a member or a probe.
    t.send("?sim.run_for\r");
    t.expect("The clock ends at `now() + seconds`");
    t.send("?xen:domain_shutdown\r");
    t.expect("Latches the reason");
    t.quit();
    let _ = std::fs::remove_file(&history);
}

#[test]
fn history_is_kept_between_sessions() {
    let history = temp("kept-history");
    let _ = std::fs::remove_file(&history);
    let mut first = Terminal::spawn(&[], &history);
    first.expect("xsh> ");
    first.send("40 + 2\r");
    first.expect("=> 42");
    first.quit();
    let saved = std::fs::read_to_string(&history).expect("history written");
    assert!(saved.contains("40 + 2"), "{saved}");

    let mut second = Terminal::spawn(&[], &history);
    second.expect("xsh> ");
    second.send("\x1b[A"); // Up: the last line of the last session
    second.expect("40 + 2");
    second.send("\r");
    second.expect("=> 42");
    second.quit();
    let _ = std::fs::remove_file(&history);
}

#[test]
fn an_error_is_reported_and_the_terminal_session_goes_on() {
    let history = temp("error-history");
    let mut t = Terminal::spawn(&[], &history);
    t.expect("xsh> ");
    t.send("xm.shutdown(\"ghost\")\r");
    t.expect("xm: Domain 'ghost' does not exist.");
    t.send("1 + 1\r");
    t.expect("=> 2");
    t.quit();
    let _ = std::fs::remove_file(&history);
}

#[test]
fn ctrl_c_stops_a_running_input_and_the_session_goes_on() {
    let history = temp("ctrl-c-history");
    // Operation and event limits out of reach: only Ctrl-C can stop these.
    let mut t = Terminal::spawn(
        &[
            "--max-operations",
            "1000000000000",
            "--max-events",
            "1000000000",
        ],
        &history,
    );
    t.expect("xsh> ");
    t.send("let n = 0; loop { n += 1; }\r");
    std::thread::sleep(Duration::from_millis(300));
    t.send("\x03");
    t.expect("interrupted (Ctrl-C)");
    t.send("fn again() { sim.after(0.5, || again()); }\r");
    t.send("again(); sim.run();\r");
    std::thread::sleep(Duration::from_millis(300));
    t.send("\x03");
    t.expect_n("interrupted (Ctrl-C)", 2);
    t.send("n > 0\r");
    t.expect("=> true");
    t.quit();
    let _ = std::fs::remove_file(&history);
}

/// `xsh repl ARGS` with `input` piped in: (exit code, stdout, stderr).
fn piped(args: &[&str], input: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xsh"))
        .arg("repl")
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xsh repl starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("input written");
    let out = child.wait_with_output().expect("xsh repl ends");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_piped_session_follows_the_same_multi_line_rule() {
    let (code, out, err) = piped(
        &[],
        "let doms = [\n  1,\n  2\n];\ndoms.len()\nfn f() {\n  \"in f\"\n}\nf()\n",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "=> 2\nin f\n");
}

#[test]
fn errors_are_reported_and_the_piped_session_goes_on() {
    let (code, out, err) = piped(&[], "let x = ;\nxs.read(\"/nope\")\n\"still here\"\n");
    assert_eq!(code, 1, "a replayed session with errors exits 1");
    assert!(out.contains("still here"), "{out}");
    assert!(err.contains("syntax error"), "{err}");
    assert!(err.contains("xenstore: ENOENT: read /nope"), "{err}");
    assert!(
        err.contains("╭─[ <input 2>:1:4 ]"),
        "reported in its own input: {err}"
    );
}

#[test]
fn a_hook_from_an_earlier_input_is_reported_where_it_was_written() {
    let (_, _, err) = piped(
        &[],
        "let dom = xm.create(#{ name: \"a\", devices: [\"vif/0\"] });\n\
         on(\"xend:XendDomainInfo.destroy\", |ctx| {\n    throw \"no\";\n});\n\
         xm.shutdown(dom);\nsim.run();\n",
    );
    // Each position in its own input, named as a one-input error's is.
    assert!(err.contains("╭─[ <input 2>:2:5 ]"), "{err}");
    assert!(err.contains("├─[ <input 4>:1:5 ]"), "{err}");
    assert!(
        err.contains("the world was running from this call"),
        "{err}"
    );
}

#[test]
fn commands_show_the_world() {
    let script = temp("setup.rhai");
    std::fs::write(&script, "let dom = xm.create(#{ name: \"web\", devices: [\"vif/0\"] });\nfn state_of(d) { d.state }\n")
        .expect("script written");
    let script_arg = script.to_str().expect("utf-8 path");
    let input = format!(
        ":help\n:probes destroyDevice\n:xs /local/domain/1/name\nxm.shutdown(dom);\n:step 3\n:stack\n:run\nstate_of(dom)\n\
         :logs\n:logs qemu web\n:logs console\n:logs nonsense\n:reset\nxm.list().len()\n:load {script_arg}\nstate_of(dom)\n:quit\n1 + 1\n"
    );
    let (code, out, err) = piped(&[script_arg], &input);
    let _ = std::fs::remove_file(&script);
    assert_eq!(code, 1, "only `:logs nonsense` failed: {err}");
    for part in [
        ":probes [pattern]",
        "xend:XendDomainInfo.destroyDevice(class, dev, force)",
        "name = \"web\"",
        "3 event(s); now",
        "idle at ",
        "destroyed\n",
        "XendDomainInfo.destroy: domid=1",
        "Issued domain 1 poweroff",
        "reboot: Power down",
        "a fresh world",
        "=> 1\n",
        "running\n",
    ] {
        assert!(out.contains(part), "missing {part:?} in\n{out}");
    }
    assert!(!out.contains("=> 2"), ":quit ends the session");
    assert!(err.contains("no such log: nonsense"), "{err}");
}

#[test]
fn a_script_that_does_not_exist_is_a_usage_error() {
    let (code, _, err) = piped(&["/no/such/script.rhai"], "");
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn load_without_a_file_says_what_it_needs() {
    let (code, _, err) = piped(&[], ":load\n");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(":load needs a file"), "{err}");
}

#[test]
fn a_script_that_cannot_be_read_is_refused_with_the_reason() {
    let (code, _, err) = piped(&["no-such-script.rhai"], "");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cannot read no-such-script.rhai: No such file or directory"),
        "{err}"
    );
}
