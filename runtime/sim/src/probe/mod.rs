//! Probes: every modelled function runs through `call`, which pushes its
//! frame on the current context, records it in the trace, and — only when a
//! script hooked that probe — stops at the function's *site* to let the hook
//! host observe or replace the rest of the function.
//!
//! The site is the function's entry, or just after its own entry log line
//! when it has one (`ProbeDef::entry_log`); such bodies call `Sim::site()`
//! there. A replaced function's remainder is kept as a boxed future in a
//! `CallCell`, so a hook can run it now, later (`sim.after(5.0, || ctx.orig())`)
//! or never; until then the frame stays on its context, suspended.

mod call;
mod defs;

pub use call::{Call, CallCell, CallState, HookHost, Site, SiteOutcome};
pub use defs::{Probe, ProbeDef, PROBE_DEFS};

/// The layers a probe can belong to: the five of the shutdown path, with the
/// `xm` client, dom0's kernel backends and hotplug scripts, and the other
/// toolstack (`xl` and libxl) as layers of their own.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Layer {
    /// The `xm` command-line client in dom0.
    Xm,
    /// The xend daemon.
    Xend,
    /// xenstored.
    Xs,
    /// The guest: Linux kernel, init and userspace.
    Guest,
    /// qemu-dm, the device model.
    Qemu,
    /// The Xen hypervisor.
    Xen,
    /// dom0's kernel backends, udev and hotplug scripts.
    Dom0,
    /// The `xl` command-line tool (xl.c, xl_cmdimpl.c): each command, and the
    /// per-domain monitor a daemonised `xl create` leaves behind.
    Xl,
    /// libxl, the library `xl` runs on: shutdown, domain-death events,
    /// destroy, device teardown and its hotplug scripts, the device model.
    Libxl,
}

impl Layer {
    /// The probe-name prefix (`"xend"` in `"xend:XendDomainInfo.destroy"`).
    pub fn prefix(self) -> &'static str {
        match self {
            Layer::Xm => "xm",
            Layer::Xend => "xend",
            Layer::Xs => "xs",
            Layer::Guest => "guest",
            Layer::Qemu => "qemu",
            Layer::Xen => "xen",
            Layer::Dom0 => "dom0",
            Layer::Xl => "xl",
            Layer::Libxl => "libxl",
        }
    }

    /// The layer of a probe-name prefix.
    pub fn from_prefix(s: &str) -> Option<Layer> {
        Some(match s {
            "xm" => Layer::Xm,
            "xend" => Layer::Xend,
            "xs" => Layer::Xs,
            "guest" => Layer::Guest,
            "qemu" => Layer::Qemu,
            "xen" => Layer::Xen,
            "dom0" => Layer::Dom0,
            "xl" => Layer::Xl,
            "libxl" => Layer::Libxl,
            _ => return None,
        })
    }
}

impl Probe {
    /// The probe's definition.
    pub fn def(self) -> &'static ProbeDef {
        &PROBE_DEFS[self as usize]
    }

    /// The canonical `layer:function` name.
    pub fn name(self) -> &'static str {
        self.def().name
    }

    /// The function name without the layer prefix.
    pub fn function(self) -> &'static str {
        let n = self.def().name;
        n.split_once(':').map_or(n, |(_, f)| f)
    }

    /// The probe's layer.
    pub fn layer(self) -> Layer {
        self.def().layer
    }

    /// Looks a probe up by its full name.
    pub fn by_name(name: &str) -> Option<Probe> {
        // Indexed once: a script may install a hook on every probe in every
        // world it makes.
        static BY_NAME: std::sync::OnceLock<crate::fxhash::FxHashMap<&'static str, Probe>> =
            std::sync::OnceLock::new();
        BY_NAME
            .get_or_init(|| {
                PROBE_DEFS
                    .iter()
                    .zip(Probe::ALL)
                    .map(|(d, &p)| (d.name, p))
                    .collect()
            })
            .get(name)
            .copied()
    }

    /// The `n` probe names closest to `name`, for "did you mean" errors.
    pub fn nearest(name: &str, n: usize) -> Vec<&'static str> {
        let mut scored: Vec<(usize, &'static str)> = PROBE_DEFS
            .iter()
            .map(|d| (distance(name, d.name), d.name))
            .collect();
        scored.sort();
        scored.into_iter().take(n).map(|(_, s)| s).collect()
    }
}

/// Edit distance, with a bonus for a shared function name, so
/// `"xend:destroyDevice"` finds `"xend:XendDomainInfo.destroyDevice"`.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    let d = prev[b.len()];
    let tail = |s: &[char]| {
        s.iter()
            .rev()
            .take_while(|c| !matches!(c, ':' | '.'))
            .count()
    };
    let ta: String = a[a.len() - tail(&a)..].iter().collect();
    let tb: String = b[b.len() - tail(&b)..].iter().collect();
    if !ta.is_empty() && ta == tb {
        d / 4
    } else {
        d
    }
}
