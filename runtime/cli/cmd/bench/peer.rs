//! The SimPy peer (`../shared/peers/simpy_shutdown.py`): where it is,
//! whether it can run here (Python 3 with SimPy), and its commands.
//! Without it the benchmark says why and still reports xsh's side.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the peer is looked for when `--peer` is not given.
pub const DEFAULT: &str = "../shared/peers/simpy_shutdown.py";

/// The peer, or why there is none.
pub enum Peer {
    /// It runs: `python3 PATH ...`.
    Ready(PathBuf),
    /// Why it is left out.
    Absent(String),
}

impl Peer {
    /// The peer `--peer` names (`none` leaves it out), checked to run.
    pub fn find(flag: Option<&str>) -> Peer {
        let path = match flag {
            Some("none") => return Peer::Absent("left out (--peer none)".into()),
            Some(p) => PathBuf::from(p),
            None => PathBuf::from(DEFAULT),
        };
        if !path.is_file() {
            return Peer::Absent(format!(
                "not found at {} (give its path with --peer)",
                path.display()
            ));
        }
        match Command::new("python3")
            .args(["-c", "import simpy"])
            .output()
        {
            Err(e) => Peer::Absent(format!("cannot run python3: {e}")),
            Ok(o) if !o.status.success() => Peer::Absent(
                "python3 cannot import simpy (pip install simpy): only xsh's side is measured"
                    .into(),
            ),
            Ok(_) => Peer::Ready(path),
        }
    }

    /// `python3 PEER args...`, or `None` without a peer.
    pub fn command(&self, args: &[&str]) -> Option<Command> {
        match self {
            Peer::Ready(p) => Some(python(p, args)),
            Peer::Absent(_) => None,
        }
    }

    /// Why there is no peer, if there is none.
    pub fn absent(&self) -> Option<&str> {
        match self {
            Peer::Ready(_) => None,
            Peer::Absent(why) => Some(why),
        }
    }
}

fn python(path: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("python3");
    c.arg(path).args(args);
    c
}

/// A number of the JSON line the peer prints last.
pub fn json_num(stdout: &str, key: &str) -> Option<f64> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))?;
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    v.get(key)?.as_f64()
}
