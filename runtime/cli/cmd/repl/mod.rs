//! `xsh repl [SCRIPT]`: an interactive session in one world. On a terminal
//! it is a line editor (rustyline) with a history file, multi-line input and
//! tab completion; with stdin from a pipe or a file it reads line by line
//! under the same multi-line rule, so a session can be replayed.
//!
//! - `session.rs` — the world, the variables and the `:commands`;
//! - `input.rs` — when an input is whole;
//! - `complete.rs` — what Tab offers.

mod complete;
mod input;
mod session;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::FileHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{CompletionType, Config, Context, Editor, Helper};

use self::complete::Candidates;
use self::session::{Outcome, Session};
use super::run::LimitFlags;

/// Flags of `xsh repl`.
#[derive(Args, Clone)]
pub struct Flags {
    /// A script to run first; its variables and functions stay.
    pub script: Option<PathBuf>,
    /// Seed of the world's random generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The history file (default: $XSH_HISTORY, else ~/.xsh_history).
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    #[command(flatten)]
    pub limits: LimitFlags,
}

const PROMPT: &str = "xsh> ";

/// Runs the session.
pub fn main(f: Flags) -> ExitCode {
    if let Err(msg) = f.limits.check() {
        eprintln!("error: {msg}");
        return ExitCode::from(2);
    }
    let interactive = std::io::stdin().is_terminal();
    // Reports go to stderr: colour follows it, as for `xsh run`.
    let mut session = Session::new(f.limits.config(f.seed), f.limits.limits(), super::color());
    if let Some(script) = &f.script {
        // Say why (missing, a directory, no permission), as `xsh run` does.
        let why = match std::fs::metadata(script) {
            Err(e) => Some(e.to_string()),
            Ok(m) if !m.is_file() => Some("not a file".to_string()),
            Ok(_) => None,
        };
        if let Some(why) = why {
            eprintln!("error: cannot read {}: {why}", script.display());
            return ExitCode::from(2);
        }
        if let Outcome::Quit = show(session.load(&script.display().to_string())) {
            return ExitCode::SUCCESS;
        }
    }
    if interactive {
        edit(session, history_file(&f))
    } else {
        replay(session)
    }
}

/// Prints what an input did; tells whether the session should end.
fn show(outcome: Outcome) -> Outcome {
    match &outcome {
        Outcome::Show(text) => println!("{text}"),
        Outcome::Error(report) => {
            let _ = std::io::stdout().flush();
            eprint!("{report}");
        }
        Outcome::Quiet | Outcome::Quit => {}
    }
    outcome
}

fn history_file(f: &Flags) -> Option<PathBuf> {
    f.history
        .clone()
        .or_else(|| std::env::var_os("XSH_HISTORY").map(PathBuf::from))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".xsh_history")))
}

/// A piped session: lines gathered until an input is whole, then run; no
/// prompts. Exits 1 if any input failed, so a replayed session can be
/// checked like a script.
fn replay(mut session: Session) -> ExitCode {
    let stdin = std::io::stdin();
    let mut pending = String::new();
    for line in stdin.lock().lines() {
        let Ok(line) = line else {
            break;
        };
        pending.push_str(&line);
        pending.push('\n');
        if !input::is_complete(&pending) {
            continue;
        }
        let text = std::mem::take(&mut pending);
        if let Outcome::Quit = show(session.input(&text)) {
            break;
        }
    }
    if !pending.trim().is_empty() {
        // Input ended inside an open bracket: let the parser say where.
        show(session.input(&pending));
    }
    if let Err(e) = std::io::stdout().flush() {
        eprintln!("error: cannot write to stdout: {e}");
        return ExitCode::from(2);
    }
    if let Some(e) = session.stdout_error() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    if session.failures > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The terminal session.
fn edit(mut session: Session, history: Option<PathBuf>) -> ExitCode {
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .history_ignore_space(true)
        .build();
    let mut rl: Editor<ReplHelper, FileHistory> = match Editor::with_config(config) {
        Ok(rl) => rl,
        Err(e) => {
            eprintln!("error: cannot start the line editor: {e}");
            return ExitCode::from(2);
        }
    };
    #[cfg(unix)]
    {
        ctrl_c::install();
        session.on_interrupt(std::rc::Rc::new(ctrl_c::pressed));
    }
    rl.set_helper(Some(ReplHelper(session.candidates())));
    if let Some(h) = &history {
        // A first session has no history yet.
        let _ = rl.load_history(h);
    }
    println!(
        "xsh {} — :help for commands, Ctrl-D to leave",
        env!("CARGO_PKG_VERSION")
    );
    loop {
        match rl.readline(PROMPT) {
            Ok(text) => {
                if !text.trim().is_empty() {
                    let _ = rl.add_history_entry(text.as_str());
                    if let Some(h) = &history {
                        let _ = rl.append_history(h);
                    }
                }
                #[cfg(unix)]
                ctrl_c::clear();
                if let Outcome::Quit = show(session.input(&text)) {
                    break;
                }
                if let Some(helper) = rl.helper_mut() {
                    helper.0 = session.candidates();
                }
            }
            // Ctrl-C drops the line being typed, as a shell does.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::SUCCESS
}

/// Completion and the multi-line rule for rustyline.
struct ReplHelper(Candidates);

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, words) = self.0.complete(line, pos);
        Ok((
            start,
            words
                .into_iter()
                .map(|w| Pair {
                    display: w.clone(),
                    replacement: w,
                })
                .collect(),
        ))
    }
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if input::is_complete(ctx.input()) {
            ValidationResult::Valid(None)
        } else {
            ValidationResult::Incomplete
        })
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}

impl Highlighter for ReplHelper {}

impl Helper for ReplHelper {}

/// Ctrl-C while an input runs stops it, as a debugger's prompt does, and
/// the session goes on. (While a line is typed the editor reads Ctrl-C as a
/// key: it drops the line.)
#[cfg(unix)]
mod ctrl_c {
    use std::sync::atomic::{AtomicBool, Ordering};

    static PRESSED: AtomicBool = AtomicBool::new(false);

    extern "C" fn on_sigint(_: libc::c_int) {
        // Only an atomic store: all a signal handler may safely do here.
        PRESSED.store(true, Ordering::SeqCst);
    }

    /// Catches SIGINT for the rest of the process.
    pub fn install() {
        let handler = on_sigint as extern "C" fn(libc::c_int);
        // SAFETY: the handler is async-signal-safe (one atomic store).
        unsafe {
            libc::signal(libc::SIGINT, handler as libc::sighandler_t);
        }
    }

    /// Was Ctrl-C pressed since the last `clear`?
    pub fn pressed() -> bool {
        PRESSED.load(Ordering::SeqCst)
    }

    /// Forgets an earlier Ctrl-C.
    pub fn clear() {
        PRESSED.store(false, Ordering::SeqCst);
    }
}
