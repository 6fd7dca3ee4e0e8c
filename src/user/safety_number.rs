//! The safety number of two users (`PROTOCOL.md` §8.2): the two user
//! fingerprints in ascending order, so both sides show the same 60 digits
//! and neither changes when a device is added or removed.

use core::fmt;

use super::PublicUserIdentity;

/// Number of five-digit groups in a safety number: six per user.
const GROUPS: usize = 12;

/// A 60-digit number two users compare (read aloud or as a QR code) to know
/// that each holds the other's genuine user key. Shown as twelve groups of
/// five digits; each half is one user's fingerprint.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SafetyNumber([u32; GROUPS]);

/// The safety number of two user identities. Symmetric:
/// `safety_number(a, b) == safety_number(b, a)`.
pub fn safety_number(a: &PublicUserIdentity, b: &PublicUserIdentity) -> SafetyNumber {
    let (a, b) = (a.fingerprint().groups(), b.fingerprint().groups());
    // Digit strings of one length compare as their groups do.
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    let mut groups = [0u32; GROUPS];
    groups[..GROUPS / 2].copy_from_slice(&low);
    groups[GROUPS / 2..].copy_from_slice(&high);
    SafetyNumber(groups)
}

impl SafetyNumber {
    /// The twelve five-digit groups.
    pub fn groups(&self) -> [u32; GROUPS] {
        self.0
    }
}

impl fmt::Display for SafetyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::identity::fingerprint::write_groups(f, &self.0)
    }
}

impl fmt::Debug for SafetyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SafetyNumber({self})")
    }
}
