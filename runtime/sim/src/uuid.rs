//! A VM's or a device's uuid: 128 bits, written the way xend, libxl and
//! Xen write it (`8-4-4-4-12` lower-case hex). Held as a number, not as its
//! 36 characters: a host's ten thousand VMs and their devices carry one
//! each, copied into Xen's domain, qemu-dm and xend's records.

use std::fmt;

/// A uuid. The nil uuid is Domain-0's handle in Xen, and a VM's or a
/// device's before its toolstack gives it one.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Debug)]
pub struct Uuid(pub u128);

impl Uuid {
    /// All zeros.
    pub const NIL: Uuid = Uuid(0);

    /// A random (version 4) uuid from two 64-bit draws, laid out as
    /// `uuid.createString()` (xend) and `libxl_uuid_generate` lay theirs:
    /// the version nibble 4 and the variant bits 10.
    pub fn random(a: u64, b: u64) -> Uuid {
        let time_low = (a >> 32) as u128;
        let time_mid = ((a >> 16) & 0xffff) as u128;
        let version = (0x4000 | (a & 0x0fff)) as u128;
        let variant = (0x8000 | ((b >> 48) & 0x3fff)) as u128;
        let node = (b & 0xffff_ffff_ffff) as u128;
        Uuid(time_low << 96 | time_mid << 80 | version << 64 | variant << 48 | node)
    }

    /// Is it the nil uuid?
    pub fn is_nil(self) -> bool {
        self == Uuid::NIL
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            x >> 96,
            (x >> 80) & 0xffff,
            (x >> 64) & 0xffff,
            (x >> 48) & 0xffff,
            x & 0xffff_ffff_ffff
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Uuid;

    /// The fields land where the string form puts them, the version and
    /// variant bits included, whatever the draws.
    #[test]
    fn a_random_uuid_is_written_field_by_field() {
        let u = Uuid::random(0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210);
        assert_eq!(u.to_string(), "01234567-89ab-4def-bedc-ba9876543210");
        let ones = Uuid::random(u64::MAX, u64::MAX).to_string();
        assert_eq!(ones, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(
            Uuid::NIL.to_string(),
            "00000000-0000-0000-0000-000000000000"
        );
        assert!(Uuid::NIL.is_nil() && !u.is_nil());
    }
}
