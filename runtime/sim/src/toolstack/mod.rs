//! The toolstack in dom0: `xm` (the client) and xend (the daemon).

pub mod xend;
pub mod xm;
