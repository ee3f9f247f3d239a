//! The integration tests of xsh, in one binary.
//!
//! - `seed` — the seed's four goldens, produced through the public script API;
//! - `variations` — change one thing, the logs change as the reference says;
//! - `determinism` — same script and seed, same bytes in every log;
//! - `errors` — bad input: a positioned error, a non-zero exit, no panic;
//! - `cli` — the `xsh` binary's exit codes and outputs;
//! - `hooks` — a hook's value, `orig()` now, later, twice or never, errors in hooks;
//! - `alternatives` — the other ways a shutdown goes, each as the reference predicts;
//! - `limits` — every runaway stops at its limit with its own message, within 5 s;
//! - `test_runner` — tests/rhai/*.rhai through `xsh test`'s runner, and the runner itself;
//! - `reports` — the report of each kind of mistake (tests/errors/), as golden files;
//! - `scripts` — every script in scripts/ reproduces its golden output and logs;
//! - `repl` — `xsh repl` in a pseudo-terminal (multi-line, completion, history) and piped;
//! - `definitions` — `.d.rhai` editor definitions and docs/api.md from the engine's metadata.
//! - `explore` — `xsh explore` of the shutdown's alternatives against the reference, its walk, failures and CLI;
//! - `explore_cli` — `--choose` escapes and names, samples reaching every combination, merge checks, zero counts;
//! - `run_outputs` — outputs refused (trace off, missing folder), a reused `--log-dir`, `xsh test --log-dir`, a full stdout;
//! - `scale` — a 2,000-domain run of scripts/host_shutdown.rhai does the work and writes the logs pinned before the core was made to scale;
//! - `outputs` — `--trace`, `--timeline` (validated as trace-event JSON) and `--sequence` of the seed's run;
//! - `logs`, `logs_cli`, `logs_diff`, `logs_explain`, `logs_props` — real logs in: fixtures, scripts' logs, explain, diff, check, `xsh logs`, no panic on any input;

mod alternatives;
mod cli;
mod definitions;
mod determinism;
mod errors;
mod explore;
mod explore_cli;
mod first_hour;
mod hooks;
mod limits;
mod logs;
mod logs_cli;
mod logs_diff;
mod logs_explain;
mod logs_props;
mod model_reference;
mod outputs;
mod repl;
mod reports;
mod run_outputs;
mod scale;
mod scripts;
mod seed;
mod test_runner;
mod util;
mod variations;
