//! The test runner behind `xsh test` and `cargo test`: finds `*.rhai` files,
//! runs each `fn test_*()` in a fresh world and engine (with stdlib/testing
//! loaded as globals), in file order, and words the outcome like cargo test.
//!
//! A file's top-level statements run before each of its tests, in that
//! test's fresh world: they are its setup (a start time, hooks, domains).
//! Everything the tests see is deterministic — same files, seed and
//! limits, same worlds. Each result also carries how long it took on the
//! wall clock, for the reporter to show; the report text built here
//! (`summary_text`) leaves it out, so it stays the same from run to run.
//!
//! - `report.rs` — the cargo-style text and the JUnit XML of a run;
//! - `glob.rs` — `glob_match` and `grep`, the log-pattern primitives of the
//!   stdlib's assertions.

use std::path::{Path, PathBuf};

use xsh_sim::Config;

use crate::{Host, Limits, ScriptError};

mod glob;
mod report;

pub use glob::{glob_match, grep};
pub use report::{failure_text, junit, summary_text};

/// How to run tests.
#[derive(Clone, Debug)]
pub struct Options {
    /// The world's settings (seed, event and virtual-time limits) for every test.
    pub config: Config,
    /// Script limits for every test (wall time is per test).
    pub limits: Limits,
    /// Run only tests whose `file::name` contains one of these (all if empty).
    pub filters: Vec<String>,
    /// Stop after the first failure.
    pub fail_fast: bool,
    /// Lines of each log shown for a failure.
    pub log_lines: usize,
    /// Write each test's logs to `<dir>/<file stem>/<test>/`.
    pub log_dir: Option<PathBuf>,
    /// Write a report page per failing test under this folder
    /// (`output::report::tests_index`).
    pub report_dir: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            config: Config::default(),
            limits: Limits::default(),
            filters: Vec::new(),
            fail_fast: false,
            log_lines: 6,
            log_dir: None,
            report_dir: None,
        }
    }
}

/// A test file, read.
#[derive(Clone, Debug)]
pub struct TestFile {
    /// Its path as given or found.
    pub path: PathBuf,
    /// Its name in reports (the path, with `/`).
    pub name: String,
    /// Its text.
    pub src: String,
}

/// The outcome of one test.
#[derive(Clone, Debug)]
pub struct TestResult {
    /// The file's name.
    pub file: String,
    /// The test function, or "" when the whole file failed (it does not
    /// parse, or its setup cannot be loaded).
    pub name: String,
    /// `None` when it passed.
    pub error: Option<ScriptError>,
    /// What the test printed.
    pub output: String,
    /// Each non-empty log's last lines: (log name, text).
    pub log_tails: Vec<(String, String)>,
    /// Wall-clock time the test took (shown by `xsh test`, never by the
    /// deterministic report text).
    pub elapsed: std::time::Duration,
    /// Its report page (`--report`, failures only), or why none was written.
    pub page: Option<Result<PathBuf, String>>,
}

impl TestResult {
    /// `file::name`, as the report and filters use it.
    pub fn id(&self) -> String {
        if self.name.is_empty() {
            self.file.clone()
        } else {
            format!("{}::{}", self.file, self.name)
        }
    }

    /// Passed?
    pub fn passed(&self) -> bool {
        self.error.is_none()
    }
}

/// What the runner tells its reporter, as it goes.
pub enum Event<'a> {
    /// Every file is compiled: this many tests will run.
    Plan { tests: usize },
    /// A test is about to run.
    Start { file: &'a str, name: &'a str },
    /// It ran.
    Done(&'a TestResult),
}

/// All outcomes of a run.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Every test run, in order.
    pub results: Vec<TestResult>,
    /// Tests left out by the filters.
    pub filtered_out: usize,
    /// Files with no `fn test_*()`.
    pub empty_files: Vec<String>,
    /// Selected tests left unrun because `fail_fast` stopped the run.
    pub not_run: usize,
}

impl Summary {
    /// Tests that passed.
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.passed()).count()
    }

    /// Tests that failed.
    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }

    /// The failures, in order.
    pub fn failures(&self) -> impl Iterator<Item = &TestResult> {
        self.results.iter().filter(|r| !r.passed())
    }

    /// 0 when all passed, 3 when the only failures were limits reached, 1
    /// otherwise.
    pub fn exit_code(&self) -> u8 {
        let mut codes = self
            .failures()
            .filter_map(|r| r.error.as_ref())
            .map(|e| e.exit_code());
        match codes.next() {
            None => 0,
            Some(first) if codes.all(|c| c == first) => first,
            Some(_) => 1,
        }
    }

    /// The last line: `test result: ok. 3 passed, 0 failed`.
    pub fn result_line(&self) -> String {
        let verdict = if self.failed() == 0 { "ok" } else { "FAILED" };
        let mut s = format!(
            "test result: {verdict}. {} passed, {} failed",
            self.passed(),
            self.failed()
        );
        if self.filtered_out > 0 {
            s.push_str(&format!("; {} filtered out", self.filtered_out));
        }
        if self.not_run > 0 {
            s.push_str(&format!("; {} not run (--fail-fast)", self.not_run));
        }
        s
    }
}

/// The test files under `paths`: files as given; folders searched
/// recursively, in name order, for `*.rhai` files that define a
/// `fn test_…` (a folder may hold helpers and other scripts too, such as
/// tests/errors/). A path that does not exist is an error (a usage error
/// for the CLI).
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            collect(p, &mut out).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(format!("no such file or folder: {}", p.display()));
        }
    }
    Ok(out)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "rhai") {
            // An unreadable file is kept, so reading it reports the error.
            let has_tests = std::fs::read_to_string(&p).map_or(true, |t| t.contains("fn test_"));
            if has_tests {
                out.push(p);
            }
        }
    }
    Ok(())
}

/// Reads a test file.
pub fn read(path: &Path) -> Result<TestFile, String> {
    let src = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let name = path.display().to_string().replace('\\', "/");
    Ok(TestFile {
        path: path.to_path_buf(),
        name,
        src,
    })
}

/// The names of the `fn test_*()` of a compiled file, in file order. Rhai
/// keeps functions in a hash table, so the order comes from the text: the
/// line where each `fn test_…(` is defined.
pub fn test_names(src: &str, ast: &rhai::AST) -> Vec<String> {
    let defined: Vec<&str> = ast
        .iter_functions()
        .filter(|f| f.name.starts_with("test_") && f.params.is_empty())
        .map(|f| f.name)
        .collect();
    let mut found: Vec<(usize, String)> = Vec::new();
    for (i, line) in src.lines().enumerate() {
        let l = line.trim_start();
        let l = l.strip_prefix("private ").unwrap_or(l).trim_start();
        let Some(rest) = l.strip_prefix("fn ") else {
            continue;
        };
        let name: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if defined.contains(&name.as_str()) && !found.iter().any(|(_, n)| *n == name) {
            found.push((i, name));
        }
    }
    // A definition the scan missed (odd formatting) still runs, last.
    for d in defined {
        if !found.iter().any(|(_, n)| n == d) {
            found.push((usize::MAX, d.to_string()));
        }
    }
    found.sort();
    found.into_iter().map(|(_, n)| n).collect()
}

/// The `fn test_*(...)` of a file that take parameters, with the line of
/// each definition: the runner cannot call them, so it reports each as a
/// failure instead of passing over it (cargo refuses such a test too).
pub fn tests_with_params(src: &str, ast: &rhai::AST) -> Vec<(String, usize, usize)> {
    let mut found: Vec<(String, usize, usize)> = ast
        .iter_functions()
        .filter(|f| f.name.starts_with("test_") && !f.params.is_empty())
        .map(|f| {
            let line = src
                .lines()
                .position(|l| {
                    let l = l.trim_start();
                    let l = l.strip_prefix("private ").unwrap_or(l);
                    l.strip_prefix("fn ").is_some_and(|r| {
                        r.trim_start()
                            .strip_prefix(f.name)
                            .is_some_and(|r| r.trim_start().starts_with('('))
                    })
                })
                .map_or(0, |i| i + 1);
            (f.name.to_string(), f.params.len(), line)
        })
        .collect();
    found.sort_by_key(|(n, _, line)| (*line, n.clone()));
    found
}

/// The failure of a `fn test_*` that takes parameters.
fn takes_params(file: &TestFile, name: &str, params: usize, line: usize) -> TestResult {
    let s = if params == 1 { "" } else { "s" };
    let msg = format!(
        "{name} takes {params} parameter{s}, so it was not run: a test function takes none (put the values in the test, or call a helper from a test)"
    );
    let pos = if line > 0 {
        rhai::Position::new(line as u16, 1)
    } else {
        rhai::Position::NONE
    };
    TestResult {
        file: file.name.clone(),
        name: name.to_string(),
        error: Some(ScriptError::runtime(
            &file.name,
            &file.src,
            rhai::EvalAltResult::ErrorRuntime(msg.into(), pos),
        )),
        output: String::new(),
        log_tails: Vec::new(),
        elapsed: std::time::Duration::ZERO,
        page: None,
    }
}

/// The ids (`file::name`) of the tests `run` would run, in order; the
/// files that do not compile are listed by their name.
pub fn list(files: &[TestFile], opts: &Options) -> Vec<String> {
    let mut ids = Vec::new();
    for file in files {
        match new_host(opts).and_then(|h| h.compile(&file.name, &file.src)) {
            Ok(ast) => {
                let mut named: Vec<(usize, String)> = test_names(&file.src, &ast)
                    .into_iter()
                    .map(|n| (0, n))
                    .collect();
                named.extend(
                    tests_with_params(&file.src, &ast)
                        .into_iter()
                        .map(|(n, _, l)| (l, n)),
                );
                for (_, n) in named {
                    let id = format!("{}::{n}", file.name);
                    if selected(opts, &id) {
                        ids.push(id);
                    }
                }
            }
            Err(_) => ids.push(file.name.clone()),
        }
    }
    ids
}

fn selected(opts: &Options, id: &str) -> bool {
    opts.filters.is_empty() || opts.filters.iter().any(|f| id.contains(f.as_str()))
}

fn log_tails(host: &Host, lines: usize) -> Vec<(String, String)> {
    let logs = host.sim().logs.borrow();
    let mut all = vec![("xend.log".to_string(), logs.xend.text().to_string())];
    for (name, sink) in &logs.files {
        all.push((name.clone(), sink.text().to_string()));
    }
    all.push(("xen.log".to_string(), logs.xen.text().to_string()));
    all.into_iter()
        .filter(|(_, text)| !text.is_empty())
        .map(|(name, text)| {
            let v: Vec<&str> = text.lines().collect();
            let tail = v[v.len().saturating_sub(lines)..].join("\n");
            (name, tail)
        })
        .collect()
}

/// The folder under `--log-dir` for a test file's logs: its path as given,
/// so `d1/same.rhai` and `d2/same.rhai` each get their own. The path stays
/// under `--log-dir`: a root becomes `_root`, a `..` becomes `_up`, and a
/// name that starts with `_` gets one more, so no two paths share a folder.
pub fn log_folder(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Prefix(p) => {
                let drive: String = p
                    .as_os_str()
                    .to_string_lossy()
                    .chars()
                    .filter(|c| c.is_alphanumeric())
                    .collect();
                out.push(format!("_{drive}"));
            }
            Component::RootDir => out.push("_root"),
            Component::CurDir => {}
            Component::ParentDir => out.push("_up"),
            Component::Normal(n) => {
                let n = n.to_string_lossy();
                if n.starts_with('_') {
                    out.push(format!("_{n}"));
                } else {
                    out.push(n.as_ref());
                }
            }
        }
    }
    if out.as_os_str().is_empty() {
        out.push("test");
    }
    out
}

fn new_host(opts: &Options) -> Result<Host, ScriptError> {
    Host::with_globals(opts.config.clone(), opts.limits.clone(), &["testing"])
}

fn file_failure(file: &TestFile, error: ScriptError) -> TestResult {
    TestResult {
        file: file.name.clone(),
        name: String::new(),
        error: Some(error),
        output: String::new(),
        log_tails: Vec::new(),
        elapsed: std::time::Duration::ZERO,
        page: None,
    }
}

fn run_one(
    file: &TestFile,
    ast: &std::rc::Rc<rhai::AST>,
    name: &str,
    opts: &Options,
) -> TestResult {
    let started = std::time::Instant::now();
    let host = match new_host(opts) {
        Ok(h) => h,
        Err(e) => return file_failure(file, e),
    };
    let mut setup_error = None;
    if opts.report_dir.is_some() {
        crate::output::report::prepare(host.sim());
    }
    if let Some(dir) = &opts.log_dir {
        let dir = dir.join(log_folder(&file.path)).join(name);
        if let Err(e) = host.sim().logs.borrow_mut().stream_to_dir(&dir) {
            setup_error = Some(format!("cannot write logs to {}: {e}", dir.display()));
        }
    }
    let error = match setup_error {
        Some(msg) => Some(ScriptError::runtime(
            &file.name,
            &file.src,
            rhai::EvalAltResult::ErrorRuntime(msg.into(), rhai::Position::NONE),
        )),
        None => {
            // A failing test shows its logs' tails, and its report page
            // (`--report`) everything.
            host.state.observe_extra.set(match opts.report_dir {
                Some(_) => crate::output::report::OBSERVE,
                None => crate::observe::Observe {
                    logs: true,
                    ..Default::default()
                },
            });
            host.observe_for(ast);
            host.call_fn(&file.name, &file.src, ast, name).err()
        }
    };
    // Flushing keeps what a failing test wrote, as `xsh run` does.
    let _ = host.sim().logs.borrow_mut().flush();
    let output = host.state.output.borrow().clone();
    let page = match (&opts.report_dir, &error) {
        (Some(dir), Some(e)) => Some(write_page(dir, file, name, opts, &host, e, &output)),
        _ => None,
    };
    TestResult {
        file: file.name.clone(),
        name: name.to_string(),
        log_tails: if error.is_some() && opts.log_lines > 0 {
            log_tails(&host, opts.log_lines)
        } else {
            Vec::new()
        },
        error,
        output,
        elapsed: started.elapsed(),
        page,
    }
}

/// A failing test's report page, written while its world is still there.
fn write_page(
    dir: &Path,
    file: &TestFile,
    name: &str,
    opts: &Options,
    host: &Host,
    error: &ScriptError,
    output: &str,
) -> Result<PathBuf, String> {
    use crate::output::report::{self, tests_index};
    let path = tests_index::page_path(dir, &file.path, name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot make {}: {e}", parent.display()))?;
    }
    let id = format!("{}::{name}", file.name);
    let mut command = format!(
        "xsh test {} --filter {}",
        crate::explore::report::shell_word(&file.name),
        crate::explore::report::shell_word(&id)
    );
    if opts.config.seed != 1 {
        command.push_str(&format!(" --seed {}", opts.config.seed));
    }
    let info = report::RunInfo {
        title: id,
        script: file.name.clone(),
        command,
        params: Vec::new(),
        failure: Some(tests_index::failure_text(error)),
        printed: output.to_string(),
        index: Some(tests_index::back_href(dir, &path)),
    };
    report::write(host, &info, &path)?;
    Ok(path)
}

/// Runs the tests of `files`, telling `report` as it goes.
pub fn run(files: &[TestFile], opts: &Options, report: &mut dyn FnMut(Event)) -> Summary {
    let mut summary = Summary::default();
    // Compile everything first, so the plan (and a syntax error) is known
    // before the first test runs. An AST does not belong to an engine, so
    // one compile serves every test of the file.
    let mut plan = Vec::new();
    for file in files {
        match new_host(opts).and_then(|h| h.compile(&file.name, &file.src)) {
            Ok(ast) => {
                let all = test_names(&file.src, &ast);
                let with_params = tests_with_params(&file.src, &ast);
                if all.is_empty() && with_params.is_empty() {
                    summary.empty_files.push(file.name.clone());
                }
                let total = all.len() + with_params.len();
                let names: Vec<Test> = all
                    .into_iter()
                    .map(Test::Call)
                    .chain(
                        with_params
                            .into_iter()
                            .map(|(n, p, l)| Test::TakesParams(n, p, l)),
                    )
                    .filter(|t| selected(opts, &format!("{}::{}", file.name, t.name())))
                    .collect();
                summary.filtered_out += total - names.len();
                plan.push((file, Ok(std::rc::Rc::new(ast)), names));
            }
            Err(e) => plan.push((file, Err(e), Vec::new())),
        }
    }
    let tests = plan
        .iter()
        .map(|(_, ast, names)| if ast.is_ok() { names.len() } else { 1 })
        .sum();
    report(Event::Plan { tests });
    for (file, ast, names) in plan {
        let ast = match ast {
            Ok(ast) => ast,
            Err(e) => {
                report(Event::Start {
                    file: &file.name,
                    name: "",
                });
                let r = file_failure(file, e);
                report(Event::Done(&r));
                summary.results.push(r);
                if opts.fail_fast {
                    summary.not_run = tests - summary.results.len();
                    return summary;
                }
                continue;
            }
        };
        for test in names {
            report(Event::Start {
                file: &file.name,
                name: test.name(),
            });
            let r = match &test {
                Test::Call(name) => run_one(file, &ast, name, opts),
                Test::TakesParams(name, params, line) => takes_params(file, name, *params, *line),
            };
            report(Event::Done(&r));
            let failed = !r.passed();
            summary.results.push(r);
            if failed && opts.fail_fast {
                summary.not_run = tests - summary.results.len();
                return summary;
            }
        }
    }
    summary
}

/// One test of the plan.
enum Test {
    /// A `fn test_*()` to call.
    Call(String),
    /// A `fn test_*(...)` with parameters: reported, not called.
    TakesParams(String, usize, usize),
}

impl Test {
    fn name(&self) -> &str {
        match self {
            Test::Call(n) | Test::TakesParams(n, ..) => n,
        }
    }
}

/// Finds, reads and runs the tests under `paths` with no reporter: what
/// `cargo test` calls.
pub fn run_paths(paths: &[PathBuf], opts: &Options) -> Result<Summary, String> {
    let files = discover(paths)?
        .iter()
        .map(|p| read(p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(run(&files, opts, &mut |_| {}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_names_come_in_file_order() {
        let src = "fn test_b() {}\nfn helper() {}\nfn test_a() {}\nfn test_with_arg(x) {}\n// fn test_c() {}\n";
        let host = Host::new(Config::default(), Limits::default());
        let ast = host.compile("t.rhai", src).expect("compiles");
        assert_eq!(test_names(src, &ast), vec!["test_b", "test_a"]);
    }

    #[test]
    fn each_test_file_gets_its_own_log_folder() {
        let folder = |p: &str| log_folder(Path::new(p)).display().to_string();
        assert_eq!(folder("d1/same.rhai"), "d1/same.rhai");
        assert_eq!(folder("./d2/same.rhai"), "d2/same.rhai");
        assert_eq!(folder("../t/x.rhai"), "_up/t/x.rhai");
        assert_eq!(folder("/tmp/x.rhai"), "_root/tmp/x.rhai");
        // A folder really named `_up` or `_root` stays apart from those.
        assert_eq!(folder("_up/t/x.rhai"), "__up/t/x.rhai");
        assert_eq!(folder("_root/tmp/x.rhai"), "__root/tmp/x.rhai");
    }
}
