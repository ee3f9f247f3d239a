//! The report's page in headless Chromium (driven over the DevTools
//! protocol, `cdp.rs`): it loads with no console error and no request, a
//! click on a diagram step highlights the lines it wrote in every log, a
//! click on a log line selects its step; a 100-domain run's page is
//! timed to its first render (printed, not asserted).
//!
//! Needs Chromium: `.ci/run` installs it; elsewhere a missing one fails
//! the test with how to install it, unless XSH_SKIP_BROWSER_TESTS=1.
//! `XSH_BLESS=1` also rewrites docs/report-hvm_poweroff.png.

use std::path::Path;
use std::time::Instant;

use serde_json::json;
use xsh_script::output::report::{self, RunInfo};

use crate::cdp::{chromium, Browser};
use crate::report::{page_data, seed_report_host};
use crate::util::Scratch;

fn url(p: &Path) -> String {
    format!("file://{}", p.display())
}

const READY: &str = "document.body && document.body.dataset.ready === '1'";

#[test]
fn the_seeds_page_links_steps_and_lines_in_a_browser() {
    let Some(exe) = chromium() else { return };
    let s = Scratch::new("report-page", &[]);
    let host = seed_report_host();
    let info = RunInfo {
        title: "scripts/hvm_poweroff.rhai".into(),
        script: "scripts/hvm_poweroff.rhai".into(),
        command: "xsh run scripts/hvm_poweroff.rhai".into(),
        printed: host.state.output.borrow().clone(),
        ..Default::default()
    };
    let html = report::render(&host, &info).expect("renders");
    let page = s.path("seed.html");
    std::fs::write(&page, &html).unwrap();
    let data = page_data(&html);

    let mut b = Browser::launch(&exe, &s.0, 1920, 1800);
    let took = b.open(&url(&page), READY);
    println!(
        "the seed's page ({} bytes): ready after {took:?}",
        html.len()
    );
    assert!(
        b.requested(&url(&page)),
        "the request detector saw the page itself"
    );
    assert_eq!(b.requests_besides(&url(&page)), Vec::<String>::new());
    assert_eq!(b.errors(), Vec::<String>::new());

    // The step that ran destroy_hvm_domain, as the page lists each step's
    // functions.
    let step = data["steps"]
        .as_array()
        .unwrap()
        .iter()
        .position(|s| {
            s[4].as_array()
                .unwrap()
                .iter()
                .any(|p| data["probes"][p.as_u64().unwrap() as usize] == "qemu:destroy_hvm_domain")
        })
        .expect("a step ran destroy_hvm_domain");
    b.click(&format!("#step-{step} .hit"));
    let lit = b.eval(
        "[...document.querySelectorAll('.logcol')].filter(c => c.querySelector('b').textContent === 'qemu-dm')\
         .flatMap(c => [...c.querySelectorAll('.l.hl')].map(l => l.lastChild.textContent))",
    );
    let lit: Vec<&str> = lit
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        lit.contains(&"Issued domain 8 poweroff"),
        "step {} highlights in qemu-dm: {lit:?}",
        step + 1
    );
    assert_eq!(
        b.eval("[...document.querySelectorAll('#svgwrap g.step.sel')].map(g => g.dataset.step)"),
        json!([step.to_string()])
    );
    assert!(b
        .eval("document.getElementById('detail-body').textContent")
        .as_str()
        .unwrap()
        .contains("qemu:destroy_hvm_domain"));

    // xend's `Domain has shutdown` line selects the step where the Watcher
    // got @releaseDomain: the first such step after qemu-dm's.
    let line = b.eval(
        "(() => { const l = [...document.querySelectorAll('.logcol')].find(c => c.querySelector('b').textContent === 'toolstack')\
         .querySelectorAll('.l'); const i = [...l].findIndex(x => x.lastChild.textContent.includes('Domain has shutdown')); \
         if (i >= 0) l[i].id = 'domain-has-shutdown'; return i; })()",
    );
    assert!(line.as_i64().unwrap() >= 0, "the line is shown");
    b.click("#domain-has-shutdown");
    let selected = b.eval(
        "[...document.querySelectorAll('#svgwrap g.step.sel')].map(g => Number(g.dataset.step))",
    );
    let want = data["steps"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .skip(step)
        .find(|(_, s)| s[3] == "@releaseDomain: XendDomain._on_domains_changed")
        .map(|(i, _)| i)
        .expect("a step where xend hears @releaseDomain");
    assert_eq!(selected, json!([want]));
    let chain = b.eval("document.querySelectorAll('#svgwrap g.step.chain').length");
    assert!(
        chain.as_u64().unwrap() >= 3,
        "the causal chain is marked: {chain}"
    );
    assert!(b
        .eval("document.querySelector('.l.sel').lastChild.textContent")
        .as_str()
        .unwrap()
        .contains("Domain has shutdown"));

    // The keyboard: j moves to the next step, / focuses the search.
    b.send(
        "Input.dispatchKeyEvent",
        json!({"type": "keyDown", "key": "j", "text": "j"}),
    );
    assert_eq!(
        b.eval("[...document.querySelectorAll('#svgwrap g.step.sel')].map(g => Number(g.dataset.step))"),
        json!([want + 1])
    );
    // The search finds qemu-dm's line among all logs.
    b.eval("(() => { const s = document.getElementById('search'); s.value = 'issued domain'; s.dispatchEvent(new Event('input')); })()");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let count = b.eval("document.getElementById('search-count').textContent");
    assert_eq!(count, json!("1 match in 1 log"));
    assert_eq!(b.errors(), Vec::<String>::new());

    // A picture for docs/, of the page after clicking qemu-dm's step.
    b.eval("(() => { const s = document.getElementById('search'); s.value = ''; s.dispatchEvent(new Event('input')); })()");
    std::thread::sleep(std::time::Duration::from_millis(300));
    b.click(&format!("#step-{step} .hit"));
    b.eval("window.scrollTo(0, 0)");
    b.eval("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))");
    let png = b.screenshot();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::write(root.join("target/report-hvm_poweroff.png"), &png).ok();
    if std::env::var("XSH_BLESS").as_deref() == Ok("1") {
        std::fs::write(root.join("docs/report-hvm_poweroff.png"), &png).unwrap();
    }
}

#[test]
fn a_hundred_domains_page_renders_and_scrolls() {
    let Some(exe) = chromium() else { return };
    let s = Scratch::new("report-100", &[]);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("scripts/host_shutdown.rhai");
    let (code, _, err) = s.xsh(&[
        "run",
        script.to_str().unwrap(),
        "--param",
        "domains=100",
        "--report",
        "h100.html",
    ]);
    assert_eq!(code, 0, "{err}");
    let page = s.path("h100.html");
    let size = std::fs::metadata(&page).unwrap().len();
    let mut b = Browser::launch(&exe, &s.0, 1920, 1200);
    let took = b.open(&url(&page), READY);
    let paint = b.eval(
        "(performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint') || {startTime: -1}).startTime",
    );
    println!(
        "100 domains: page {size} bytes, first render (ready) after {:.0} ms by the test's clock, first contentful paint at {} ms by the page's",
        took.as_secs_f64() * 1000.0,
        paint
    );
    assert_eq!(b.errors(), Vec::<String>::new());
    // Scrolling: the diagram and xend.log from top to bottom in steps,
    // each step waiting for a frame.
    let start = Instant::now();
    let frames = b.eval(
        "(async () => { const boxes = [document.getElementById('svgwrap'), document.querySelector('.log')]; let n = 0;\
         for (const box of boxes) { for (let y = 0; y <= box.scrollHeight; y += box.clientHeight) { box.scrollTop = y;\
         await new Promise(r => requestAnimationFrame(r)); n++; } } return n; })()",
    );
    println!(
        "100 domains: scrolled the diagram and xend.log in {} frames, {:.0} ms",
        frames,
        start.elapsed().as_secs_f64() * 1000.0
    );
    assert_eq!(b.errors(), Vec::<String>::new());
}

#[test]
fn a_diagnosis_page_opens_on_its_first_divergence() {
    let Some(exe) = chromium() else { return };
    let s = Scratch::new("report-diag", &[]);
    let (diag, files) = crate::report::seed_diagnosis();
    let html = report::diagnosis::render(
        &diag,
        &files,
        "xsh logs diagnose qemu-dm-ubuntu-kdump.log",
        1,
    )
    .expect("renders");
    let page = s.path("diag.html");
    std::fs::write(&page, &html).unwrap();
    let data = page_data(&html);
    let mut b = Browser::launch(&exe, &s.0, 1600, 1400);
    b.open(&url(&page), READY);
    assert_eq!(b.requests_besides(&url(&page)), Vec::<String>::new());
    assert_eq!(b.errors(), Vec::<String>::new());
    // Opened on the missing line, which selects the model's line and the
    // step that wrote it: destroy_hvm_domain's.
    let first = b.eval("document.querySelector('#real-logs .l.first').textContent");
    assert!(
        first
            .as_str()
            .unwrap()
            .contains("missing: Issued domain 8 poweroff"),
        "{first}"
    );
    let sel = b.eval(
        "[...document.querySelectorAll('#svgwrap g.step.sel')].map(g => Number(g.dataset.step))",
    );
    let step = sel[0].as_u64().expect("a step selected") as usize;
    let ran: Vec<&str> = data["steps"][step][4]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            data["probes"][p.as_u64().unwrap() as usize]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(ran.contains(&"qemu:destroy_hvm_domain"), "{ran:?}");
    let model_line = b.eval("document.querySelector('#logcols .l.sel').lastChild.textContent");
    assert_eq!(model_line, json!("Issued domain 8 poweroff"));
    // The ghost sits right after the real line before it.
    let before = b.eval("document.querySelector('#real-logs .l.first').previousElementSibling.lastChild.textContent");
    assert_eq!(before, json!("shutdown requested in cpu_handle_ioreq"));
    assert_eq!(b.errors(), Vec::<String>::new());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    b.eval("document.getElementById('diagnosis').scrollIntoView()");
    b.eval("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))");
    std::fs::write(root.join("target/report-diagnosis.png"), b.screenshot()).ok();
}

#[test]
fn the_page_diagnose_writes_opens_on_the_missing_cleanup() {
    let Some(exe) = chromium() else { return };
    let s = Scratch::new("report-diag-cli", &[]);
    crate::report::corpus_diagnosis_page(&s);
    let page = s.path("diag.html");
    let mut b = Browser::launch(&exe, &s.0, 1600, 1400);
    b.open(&url(&page), READY);
    assert_eq!(b.requests_besides(&url(&page)), Vec::<String>::new());
    assert_eq!(b.errors(), Vec::<String>::new());
    // Opened on the first model line the log lacks, right after the destroy.
    let first = b.eval("document.querySelector('#real-logs .l.first').textContent");
    assert!(
        first
            .as_str()
            .unwrap()
            .contains("missing: Destroying device model"),
        "{first}"
    );
    let before = b.eval(
        "document.querySelector('#real-logs .l.first').previousElementSibling.lastChild.textContent",
    );
    assert!(
        before
            .as_str()
            .unwrap()
            .ends_with("XendDomainInfo.destroy: domid=23"),
        "{before}"
    );
    // The model's line is selected in its xend.log.
    let model_line = b.eval("document.querySelector('#logcols .l.sel').lastChild.textContent");
    assert!(
        model_line
            .as_str()
            .unwrap()
            .ends_with("Destroying device model"),
        "{model_line}"
    );
    assert_eq!(b.errors(), Vec::<String>::new());
}
