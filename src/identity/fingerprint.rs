//! Human-readable fingerprints of public identities (`PROTOCOL.md` §1.3) and
//! of public user identities (§8.2).

use core::fmt;

use sha2::{Digest, Sha512};

use super::PublicIdentity;
use crate::kdf::DOMAIN_FINGERPRINT;

/// Number of five-digit groups in a fingerprint.
const GROUPS: usize = 6;

/// A 30-digit fingerprint of a public identity, shown as six groups of five
/// digits ("12345 67890 ..."), for people to compare out of band.
///
/// It is SHA-512 over a domain string and the identity's encoding; each group
/// is five bytes of the digest, big-endian, modulo 100000. About 99.6 bits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u32; GROUPS]);

impl Fingerprint {
    pub(super) fn of(identity: &PublicIdentity) -> Self {
        Self::of_encoding(DOMAIN_FINGERPRINT, identity.as_bytes())
    }

    /// The fingerprint of a public key encoding under a domain string: of a
    /// device identity (§1.3) or of a user identity (§8.2).
    pub(crate) fn of_encoding(domain: &[u8], encoding: &[u8]) -> Self {
        let digest = Sha512::new()
            .chain_update(domain)
            .chain_update(encoding)
            .finalize();
        let mut groups = [0u32; GROUPS];
        for (group, chunk) in groups.iter_mut().zip(digest.chunks_exact(5)) {
            let value = chunk.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            // Below 100000, so the cast is lossless.
            *group = (value % 100_000) as u32;
        }
        Self(groups)
    }

    /// The six five-digit groups.
    pub fn groups(&self) -> [u32; GROUPS] {
        self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_groups(f, &self.0)
    }
}

/// Five-digit groups separated by spaces, as fingerprints and safety
/// numbers are shown.
pub(crate) fn write_groups(f: &mut fmt::Formatter<'_>, groups: &[u32]) -> fmt::Result {
    for (i, group) in groups.iter().enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        write!(f, "{group:05}")?;
    }
    Ok(())
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}
