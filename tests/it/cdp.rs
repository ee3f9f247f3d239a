//! A small client of the Chrome DevTools Protocol, for the report's page
//! tests: headless Chromium over `--remote-debugging-pipe` (JSON messages
//! ending in NUL on fds 3 and 4), no WebDriver, no npm.
//!
//! Which Chromium: `$XSH_CHROMIUM`, else `chromium`, `chromium-browser` or
//! `google-chrome` on the PATH. None found is a failure that says how to
//! install one, unless `XSH_SKIP_BROWSER_TESTS=1` (docs/report.md).

use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long one command may take before the test gives up.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The Chromium to run, or `None` when none is installed and the skip
/// policy allows going without (the caller then skips, saying so).
pub fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("XSH_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    if std::env::var("XSH_SKIP_BROWSER_TESTS").as_deref() == Ok("1") {
        eprintln!("skipped: no Chromium found and XSH_SKIP_BROWSER_TESTS=1");
        return None;
    }
    panic!(
        "the report's browser tests need headless Chromium and none was found \
         (tried $XSH_CHROMIUM, chromium, chromium-browser, google-chrome).\n\
         Install it: apt-get install -y chromium   (Debian; .ci/run does this)\n\
         or point XSH_CHROMIUM at one, or set XSH_SKIP_BROWSER_TESTS=1 to skip these tests knowingly."
    );
}

/// A headless Chromium with one page attached.
pub struct Browser {
    child: Child,
    to: std::fs::File,
    from: Receiver<Value>,
    next: u64,
    session: String,
    /// Every event received so far, in order.
    pub events: Vec<Value>,
    profile: PathBuf,
}

/// Moves `fd` to `want` in a child about to exec (async-signal-safe calls only).
fn place_fd(fd: i32, want: i32) -> std::io::Result<()> {
    // SAFETY: plain descriptor syscalls between fork and exec.
    if unsafe { libc::dup2(fd, want) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

impl Browser {
    /// Starts `exe` headless with a fresh profile under `scratch`, the
    /// window `width`×`height`, and attaches to a blank page.
    pub fn launch(exe: &Path, scratch: &Path, width: u32, height: u32) -> Browser {
        let profile = scratch.join(format!("chromium-profile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).expect("profile folder");
        let (cmd_r, cmd_w) = std::io::pipe().expect("pipe");
        let (ev_r, ev_w) = std::io::pipe().expect("pipe");
        let (cmd_r, ev_w): (OwnedFd, OwnedFd) = (cmd_r.into(), ev_w.into());
        // Out of the way first, so placing one cannot close the other.
        // SAFETY: duplicating descriptors this process owns.
        let high_r = unsafe { libc::fcntl(cmd_r.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
        let high_w = unsafe { libc::fcntl(ev_w.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
        assert!(high_r >= 0 && high_w >= 0, "cannot duplicate the pipes");
        let mut cmd = Command::new(exe);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--remote-debugging-pipe",
            &format!("--window-size={width},{height}"),
            &format!("--user-data-dir={}", profile.display()),
            "about:blank",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        // SAFETY: the closure only calls dup2.
        unsafe {
            cmd.pre_exec(move || {
                place_fd(high_r, 3)?;
                place_fd(high_w, 4)
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
        // SAFETY: closing this process's own duplicates, once.
        unsafe {
            libc::close(high_r);
            libc::close(high_w);
        }
        drop((cmd_r, ev_w));
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(ev_r);
            loop {
                let mut buf = Vec::new();
                match r.read_until(0, &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        buf.pop();
                        let Ok(v) = serde_json::from_slice::<Value>(&buf) else {
                            continue;
                        };
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        let mut b = Browser {
            child,
            to: std::fs::File::from(OwnedFd::from(cmd_w)),
            from: rx,
            next: 1,
            session: String::new(),
            events: Vec::new(),
            profile,
        };
        let target = b.send_to(None, "Target.createTarget", json!({"url": "about:blank"}));
        let id = target["targetId"].as_str().expect("targetId").to_string();
        let att = b.send_to(
            None,
            "Target.attachToTarget",
            json!({"targetId": id, "flatten": true}),
        );
        b.session = att["sessionId"].as_str().expect("sessionId").to_string();
        for domain in ["Page", "Runtime", "Network", "Log"] {
            b.send(&format!("{domain}.enable"), json!({}));
        }
        b.send(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        );
        b
    }

    fn send_to(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).expect("json");
        bytes.push(0);
        self.to.write_all(&bytes).expect("write to Chromium");
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self
                .from
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("Chromium did not answer {method} in time"));
            if v["id"].as_u64() == Some(id) {
                if let Some(e) = v.get("error") {
                    panic!("{method} failed: {e}");
                }
                return v["result"].clone();
            }
            self.events.push(v);
        }
    }

    /// Sends a command to the page; returns its result.
    pub fn send(&mut self, method: &str, params: Value) -> Value {
        let s = self.session.clone();
        self.send_to(Some(&s), method, params)
    }

    /// Evaluates `expr` in the page; returns its value (promises awaited).
    pub fn eval(&mut self, expr: &str) -> Value {
        let r = self.send(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(e) = r.get("exceptionDetails") {
            panic!("page script failed: {e}\nin: {expr}");
        }
        r["result"]["value"].clone()
    }

    /// Loads `url` and waits until `ready` (a page expression) is true;
    /// returns how long that took by this process's clock.
    pub fn open(&mut self, url: &str, ready: &str) -> Duration {
        let start = Instant::now();
        self.send("Page.navigate", json!({"url": url}));
        loop {
            if self.eval(ready) == json!(true) {
                return start.elapsed();
            }
            assert!(start.elapsed() < TIMEOUT, "{url} was not ready in time");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A real mouse click at the centre of the element `selector` finds
    /// (scrolled into view first).
    pub fn click(&mut self, selector: &str) {
        let sel = serde_json::to_string(selector).expect("json");
        let r = self.eval(&format!(
            "(() => {{ const e = document.querySelector({sel}); if (!e) return null; \
             e.scrollIntoView({{block: 'center', inline: 'nearest'}}); \
             const b = e.getBoundingClientRect(); return [b.left + b.width / 2, b.top + b.height / 2]; }})()"
        ));
        let (x, y) = match (r[0].as_f64(), r[1].as_f64()) {
            (Some(x), Some(y)) => (x, y),
            _ => panic!("nothing on the page matches {selector}"),
        };
        for kind in ["mousePressed", "mouseReleased"] {
            self.send(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
    }

    /// A screenshot of the page as PNG bytes.
    pub fn screenshot(&mut self) -> Vec<u8> {
        let r = self.send("Page.captureScreenshot", json!({"format": "png"}));
        base64(r["data"].as_str().expect("screenshot data"))
    }

    /// Takes the events that have arrived without waiting.
    pub fn drain(&mut self) {
        while let Ok(v) = self.from.try_recv() {
            self.events.push(v);
        }
    }

    /// Console errors, uncaught exceptions and browser log errors (a
    /// blocked load, a CSP violation) seen so far.
    pub fn errors(&mut self) -> Vec<String> {
        self.drain();
        let mut out = Vec::new();
        for e in &self.events {
            let p = &e["params"];
            match e["method"].as_str().unwrap_or("") {
                "Runtime.consoleAPICalled"
                    if matches!(p["type"].as_str(), Some("error" | "assert")) =>
                {
                    out.push(format!("console.{}: {}", p["type"], p["args"]))
                }
                "Runtime.exceptionThrown" => {
                    out.push(format!("exception: {}", p["exceptionDetails"]))
                }
                "Log.entryAdded" if p["entry"]["level"] == "error" => {
                    out.push(format!("log: {}", p["entry"]["text"]))
                }
                _ => {}
            }
        }
        out
    }

    /// URLs the page requested other than itself and inline `data:` /
    /// `blob:` / `about:` ones.
    pub fn requests_besides(&mut self, page: &str) -> Vec<String> {
        self.drain();
        self.events
            .iter()
            .filter(|e| e["method"] == "Network.requestWillBeSent")
            .filter_map(|e| e["params"]["request"]["url"].as_str())
            .filter(|u| {
                *u != page
                    && !u.starts_with("data:")
                    && !u.starts_with("blob:")
                    && !u.starts_with("about:")
            })
            .map(str::to_string)
            .collect()
    }

    /// Whether any request at all was seen for `page` (the detector works).
    pub fn requested(&mut self, page: &str) -> bool {
        self.drain();
        self.events.iter().any(|e| {
            e["method"] == "Network.requestWillBeSent" && e["params"]["request"]["url"] == page
        })
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Standard base64 (what `Page.captureScreenshot` returns) to bytes.
fn base64(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter_map(val) {
        acc = (acc << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn base64_decodes_padded_text() {
    assert_eq!(base64("aGVsbG8="), b"hello");
    assert_eq!(base64("aGk="), b"hi");
    assert_eq!(base64("YWJj"), b"abc");
}
