//! Run-wide settings: the seed, the wall-clock epoch, whose Xen is modelled,
//! and the limits a run is held to.

use crate::time::{Epoch, SimTime};

/// Whose xend and Xen the world models (`sim.profile`).
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
pub enum Profile {
    /// Oracle VM's xen-4.4.4-155.0.72.el6 (the seed): its xend line numbers and
    /// its additions (running lock, hide-devices watch, destroy waits).
    #[default]
    Ovm444,
    /// xen-project RELEASE-4.4.4: upstream line numbers, no Oracle additions.
    Upstream444,
}

impl Profile {
    /// Every profile.
    pub const ALL: [Profile; 2] = [Profile::Ovm444, Profile::Upstream444];

    /// The name scripts use.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Ovm444 => "ovm-4.4.4",
            Profile::Upstream444 => "upstream-4.4.4",
        }
    }

    /// The profile of a name.
    pub fn parse(s: &str) -> Result<Profile, String> {
        Profile::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                format!("unknown profile {s:?}: expected \"ovm-4.4.4\" or \"upstream-4.4.4\"")
            })
    }

    /// True for Oracle's build.
    pub fn is_ovm(self) -> bool {
        self == Profile::Ovm444
    }
}

/// Which xenstored dom0 runs (they differ in transaction conflicts and
/// `@releaseDomain` repetition). 4.4's xencommons starts oxenstored when it
/// is installed, so that is the default (docs/fidelity.md).
#[derive(Copy, Clone, PartialEq, Eq, Debug, Default)]
pub enum XenstoredKind {
    /// The C daemon: any change anywhere fails an open transaction;
    /// `@releaseDomain` once per newly shut-down domain.
    C,
    /// oxenstored: transactions coalesce when their own paths are untouched;
    /// `@releaseDomain` on every VIRQ while any domain is shut down or dying.
    #[default]
    OCaml,
}

impl XenstoredKind {
    /// The name scripts use.
    pub fn name(self) -> &'static str {
        match self {
            XenstoredKind::C => "c",
            XenstoredKind::OCaml => "ocaml",
        }
    }
    /// The kind of a name.
    pub fn parse(s: &str) -> Result<XenstoredKind, String> {
        match s {
            "c" | "C" => Ok(XenstoredKind::C),
            "ocaml" | "oxenstored" => Ok(XenstoredKind::OCaml),
            _ => Err(format!(
                "unknown xenstored {s:?}: expected \"ocaml\" or \"c\""
            )),
        }
    }
}

/// Settings of one run.
#[derive(Clone, Debug)]
pub struct Config {
    /// The seed of the world's one random generator.
    pub seed: u64,
    /// Wall clock at virtual time zero.
    pub epoch: Epoch,
    /// Whose Xen is modelled.
    pub profile: Profile,
    /// Which xenstored runs in dom0.
    pub xenstored: XenstoredKind,
    /// A run stops with an error after this many events.
    pub max_events: u64,
    /// A run stops with an error before an event later than this.
    pub max_virtual_time: SimTime,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 1,
            epoch: Epoch::default(),
            profile: Profile::default(),
            xenstored: XenstoredKind::default(),
            max_events: 50_000_000,
            max_virtual_time: SimTime(100 * 86_400 * 1_000_000_000),
        }
    }
}
