//! The toolstacks in dom0: `xm` (the client) with xend (the daemon), and
//! `xl` with libxl (no daemon). A host runs one of them (`Toolstack`).

pub mod xend;
pub mod xl;
pub mod xm;

/// Which toolstack runs in dom0.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Toolstack {
    /// xend, driven by `xm`.
    Xm,
    /// `xl` over libxl.
    Xl,
}

impl Toolstack {
    /// The name scripts use (`sim.toolstack`).
    pub fn name(self) -> &'static str {
        match self {
            Toolstack::Xm => "xm",
            Toolstack::Xl => "xl",
        }
    }

    /// The toolstack of a name.
    pub fn parse(s: &str) -> Result<Toolstack, String> {
        match s {
            "xm" | "xend" => Ok(Toolstack::Xm),
            "xl" | "libxl" => Ok(Toolstack::Xl),
            _ => Err(format!(
                "unknown toolstack {s:?}: expected \"xm\" (xend) or \"xl\""
            )),
        }
    }
}
