//! X25519 key agreement (RFC 7748) that refuses non-contributory results.
//!
//! A shared secret of all zeros means the peer's public key was a low-order
//! point: the "agreement" would not depend on our secret at all, so an
//! attacker could force a known key. Every Diffie-Hellman in CareSeal goes
//! through [`diffie_hellman`], which rejects that case (`PROTOCOL.md` §1.2).

use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// The peer's public key is a low-order point (or otherwise yields an
/// all-zero shared secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NonContributory;

/// X25519(secret, public), refusing non-contributory results.
pub(crate) fn diffie_hellman(
    secret: &StaticSecret,
    public: &PublicKey,
) -> Result<Zeroizing<[u8; 32]>, NonContributory> {
    let shared = secret.diffie_hellman(public);
    if shared.was_contributory() {
        Ok(Zeroizing::new(shared.to_bytes()))
    } else {
        Err(NonContributory)
    }
}

/// Whether `public` is a key we would refuse: the X25519 of any secret with it
/// is all zeros. Checked with a fixed secret, so it costs one scalar
/// multiplication and depends only on public data.
pub(crate) fn is_low_order(public: &PublicKey) -> bool {
    // Any clamped scalar works: low-order points give zero for all of them.
    let probe = StaticSecret::from([0x40u8; 32]);
    diffie_hellman(&probe, public).is_err()
}

/// The field prime 2^255 - 19, little-endian.
const CURVE25519_P: [u8; 32] = {
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    p
};

/// Whether a little-endian X25519 u-coordinate is below 2^255 - 19, so that
/// each key has exactly one accepted encoding (`PROTOCOL.md` §1.1).
pub(crate) fn is_canonical(u: &[u8; 32]) -> bool {
    for i in (0..32).rev() {
        if u[i] != CURVE25519_P[i] {
            return u[i] < CURVE25519_P[i];
        }
    }
    false
}

#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod tests;
