//! Key derivation (HKDF-SHA256, RFC 5869) and every domain-separation string
//! the protocol uses. `docs/PROTOCOL.md` §2 quotes these strings byte for byte;
//! change one and you change the protocol.

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// HKDF info for the key of a sealed message (`PROTOCOL.md` §3.3).
pub(crate) const INFO_SEALED_KEY: &[u8] = b"CareSeal v1 sealed message key";

/// Prefix hashed with a recipient's identity to make the 8-byte recipient hint
/// of a sealed envelope (`PROTOCOL.md` §3.2).
pub(crate) const DOMAIN_RECIPIENT_HINT: &[u8] = b"CareSeal v1 recipient hint";

/// Prefix of the message an identity signs to name itself as the sender of a
/// sealed message (`PROTOCOL.md` §3.4).
pub(crate) const DOMAIN_SEALED_SENDER: &[u8] = b"CareSeal v1 sealed sender";

/// Prefix hashed with a public identity to make its fingerprint
/// (`PROTOCOL.md` §1.3).
pub(crate) const DOMAIN_FINGERPRINT: &[u8] = b"CareSeal v1 fingerprint";

/// HKDF info for the X3DH shared secret (`PROTOCOL.md` §5.2).
pub(crate) const INFO_X3DH: &[u8] = b"CareSeal v1 X3DH";

/// HKDF info of the root-key KDF of the Double Ratchet (`PROTOCOL.md` §5.3).
pub(crate) const INFO_RATCHET_ROOT: &[u8] = b"CareSeal v1 ratchet root";

/// HKDF info turning a message key into an XChaCha20-Poly1305 key
/// (`PROTOCOL.md` §5.4). "v2": session messages of version 2, whose nonce is
/// random and travels in the header.
pub(crate) const INFO_MESSAGE_KEY: &[u8] = b"CareSeal v2 message key";

/// Prefix of what an identity signs to publish a signed prekey
/// (`PROTOCOL.md` §4.1).
pub(crate) const DOMAIN_SIGNED_PREKEY: &[u8] = b"CareSeal v1 signed prekey";

/// Prefix hashed to make a session's identifier (`PROTOCOL.md` §5.2).
pub(crate) const DOMAIN_SESSION_ID: &[u8] = b"CareSeal v1 session id";

/// HKDF info for the key that encrypts exported state (`PROTOCOL.md` §6).
pub(crate) const INFO_PICKLE_KEY: &[u8] = b"CareSeal v1 pickle key";

/// HKDF info of age's X25519 recipient stanza wrap key (age v1 spec;
/// `PROTOCOL.md` §7.2). Fixed by the age format, not by CareSeal.
pub(crate) const INFO_AGE_X25519: &[u8] = b"age-encryption.org/v1/X25519";

/// HKDF info of age's header MAC key (`PROTOCOL.md` §7.2).
pub(crate) const INFO_AGE_HEADER: &[u8] = b"header";

/// HKDF info of age's payload key (`PROTOCOL.md` §7.4).
pub(crate) const INFO_AGE_PAYLOAD: &[u8] = b"payload";

/// Prefix hashed with a public user identity to make its fingerprint, the
/// half of a safety number (`PROTOCOL.md` §8.2).
pub(crate) const DOMAIN_USER_FINGERPRINT: &[u8] = b"CareSeal v1 user fingerprint";

/// Prefix of what a user identity signs to publish its device list
/// (`PROTOCOL.md` §8.3).
pub(crate) const DOMAIN_DEVICE_LIST: &[u8] = b"CareSeal v1 device list";

/// Prefix hashed with an invitation code to make the redemption token the
/// relay sees (`PROTOCOL.md` §8.4).
pub(crate) const DOMAIN_INVITATION_TOKEN: &[u8] = b"CareSeal v1 invitation token";

/// HKDF info turning an invitation code into the registration proof key
/// (`PROTOCOL.md` §8.4).
pub(crate) const INFO_INVITATION_PROOF_KEY: &[u8] = b"CareSeal v1 invitation proof key";

/// Prefix of the transcript a registration proof authenticates
/// (`PROTOCOL.md` §8.4).
pub(crate) const DOMAIN_INVITATION_PROOF: &[u8] = b"CareSeal v1 invitation proof";

/// Prefix hashed with the existing device's ephemeral key in a link offer
/// (`PROTOCOL.md` §8.6).
pub(crate) const DOMAIN_LINK_EPHEMERAL: &[u8] = b"CareSeal v1 link ephemeral";

/// Prefix of the new device's commitment to its ephemeral key
/// (`PROTOCOL.md` §8.6).
pub(crate) const DOMAIN_LINK_COMMITMENT: &[u8] = b"CareSeal v1 link commitment";

/// Prefix of the linking transcript hash (`PROTOCOL.md` §8.6).
pub(crate) const DOMAIN_LINK_TRANSCRIPT: &[u8] = b"CareSeal v1 link transcript";

/// HKDF info of the linking key schedule: the short authentication string
/// and both transfer keys (`PROTOCOL.md` §8.6).
pub(crate) const INFO_LINK_KEYS: &[u8] = b"CareSeal v1 link keys";

/// HKDF-SHA256 extract-then-expand of `ikm` into `N` bytes.
pub(crate) fn hkdf_sha256<const N: usize>(
    salt: &[u8],
    ikm: &[u8],
    info: &[u8],
) -> Zeroizing<[u8; N]> {
    const { assert!(N <= 255 * 32, "HKDF-SHA256 output is at most 8160 bytes") };
    let mut out = Zeroizing::new([0u8; N]);
    // Expand fails only for outputs over 255 hash lengths, excluded above.
    let _ = Hkdf::<Sha256>::new(Some(salt), ikm).expand(info, out.as_mut());
    out
}

/// HMAC-SHA256 with a 32-byte key.
pub(crate) fn hmac_sha256(key: &[u8; 32], data: &[u8]) -> Zeroizing<[u8; 32]> {
    // HMAC zero-pads keys shorter than the 64-byte block (RFC 2104 §2), so
    // passing the padded block is the same function, and infallible.
    let mut block = Zeroizing::new([0u8; 64]);
    block[..32].copy_from_slice(key);
    let mut mac = Hmac::<Sha256>::new(&(*block).into());
    mac.update(data);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
