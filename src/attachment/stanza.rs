//! age's X25519 recipient stanza and header MAC (`PROTOCOL.md` §7.2), on
//! the audited primitives.

use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::header::{self, Stanza};
use super::key::AttachmentKey;
use crate::aead::{self, NONCE_LEN};
use crate::agreement;
use crate::error::AttachmentError;
use crate::kdf::{self, INFO_AGE_HEADER, INFO_AGE_X25519};

/// Length of an age file key.
pub(crate) const FILE_KEY_LEN: usize = 16;

/// The stanza type this module reads and writes.
const X25519_TAG: &str = "X25519";

/// The fixed all-zero nonce of stanza bodies (each wrap key is used once).
const ZERO_NONCE: [u8; NONCE_LEN] = [0; NONCE_LEN];

/// Wraps `file_key` for `recipient` with a fresh ephemeral secret; returns
/// the stanza's arguments and body.
pub(crate) fn wrap(
    file_key: &[u8; FILE_KEY_LEN],
    recipient: &PublicKey,
    ephemeral_seed: [u8; 32],
) -> Result<(Vec<String>, Vec<u8>), AttachmentError> {
    let ephemeral = StaticSecret::from(ephemeral_seed);
    let share = PublicKey::from(&ephemeral);
    let wrap_key = wrap_key(&ephemeral, recipient, &share, recipient)?;
    let body = aead::chacha_seal(&wrap_key, &ZERO_NONCE, &[], file_key)
        .map_err(|_| AttachmentError::MalformedHeader)?;
    Ok((
        vec![X25519_TAG.to_string(), header::encode_b64(share.as_bytes())],
        body,
    ))
}

/// Finds and opens the X25519 stanza addressed to `key`. Stanzas of other
/// types are ignored, as the age specification requires; malformed X25519
/// stanzas are rejected.
pub(crate) fn unwrap(
    stanzas: &[Stanza],
    key: &AttachmentKey,
) -> Result<Zeroizing<[u8; FILE_KEY_LEN]>, AttachmentError> {
    for stanza in stanzas {
        if stanza.args.first().map(String::as_str) != Some(X25519_TAG) {
            continue;
        }
        if stanza.args.len() != 2 || stanza.body.len() != FILE_KEY_LEN + aead::TAG_LEN {
            return Err(AttachmentError::MalformedHeader);
        }
        let share: [u8; 32] = header::decode_b64(stanza.args[1].as_bytes())?
            .try_into()
            .map_err(|_| AttachmentError::MalformedHeader)?;
        let share = PublicKey::from(share);
        let wrap_key = wrap_key(key.secret(), &share, &share, key.recipient())?;
        if let Ok(file_key) = aead::chacha_open(&wrap_key, &ZERO_NONCE, &[], &stanza.body) {
            let file_key = Zeroizing::new(file_key);
            let mut out = Zeroizing::new([0u8; FILE_KEY_LEN]);
            out.copy_from_slice(&file_key);
            return Ok(out);
        }
    }
    Err(AttachmentError::WrongKey)
}

/// HKDF(ikm = X25519(secret, public), salt = share || recipient,
/// info = "age-encryption.org/v1/X25519").
fn wrap_key(
    secret: &StaticSecret,
    public: &PublicKey,
    share: &PublicKey,
    recipient: &PublicKey,
) -> Result<Zeroizing<[u8; 32]>, AttachmentError> {
    let shared =
        agreement::diffie_hellman(secret, public).map_err(|_| AttachmentError::NonContributory)?;
    let salt = [share.as_bytes().as_slice(), recipient.as_bytes()].concat();
    Ok(kdf::hkdf_sha256::<32>(
        &salt,
        shared.as_ref(),
        INFO_AGE_X25519,
    ))
}

/// HMAC-SHA256 under HKDF(ikm = file key, salt = empty, info = "header").
pub(crate) fn header_mac(file_key: &[u8; FILE_KEY_LEN], mac_input: &[u8]) -> [u8; 32] {
    let key = kdf::hkdf_sha256::<32>(&[], file_key, INFO_AGE_HEADER);
    *kdf::hmac_sha256(&key, mac_input)
}

/// Constant-time comparison of a header MAC.
pub(crate) fn verify_header_mac(
    file_key: &[u8; FILE_KEY_LEN],
    mac_input: &[u8],
    mac: &[u8; 32],
) -> Result<(), AttachmentError> {
    if bool::from(header_mac(file_key, mac_input).ct_eq(mac)) {
        Ok(())
    } else {
        Err(AttachmentError::HeaderMacMismatch)
    }
}
