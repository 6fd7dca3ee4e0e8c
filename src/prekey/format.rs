//! Byte layout of a prekey bundle (`PROTOCOL.md` §4.2). Parsing and
//! serialising only; signature verification is the caller's.

use x25519_dalek::PublicKey;

use super::{OneTimePreKey, PreKeyBundle};
use crate::agreement;
use crate::error::{KeyError, PreKeyError};
use crate::identity::{PUBLIC_IDENTITY_LEN, PublicIdentity};
use crate::wire::u32_at;

/// Version byte of prekey bundles.
pub const PREKEY_BUNDLE_VERSION: u8 = 1;

/// Kind byte of prekey bundles: `'B'`.
const BUNDLE_KIND: u8 = 0x42;

/// Most one-time prekeys one bundle may carry; a larger count is malformed.
pub const MAX_ONE_TIME_PREKEYS_PER_BUNDLE: usize = 100;

/// Fixed part: version, kind, identity, signed prekey id, key, signature,
/// one-time prekey count (u16).
const FIXED_LEN: usize = 2 + PUBLIC_IDENTITY_LEN + 4 + 32 + 64 + 2;

/// One one-time prekey entry: id and key.
const ONE_TIME_ENTRY_LEN: usize = 4 + 32;

/// Largest well-formed bundle.
pub(crate) const MAX_BUNDLE_LEN: usize =
    FIXED_LEN + MAX_ONE_TIME_PREKEYS_PER_BUNDLE * ONE_TIME_ENTRY_LEN;

pub(super) fn serialize(bundle: &PreKeyBundle) -> Vec<u8> {
    let mut out = Vec::with_capacity(FIXED_LEN + bundle.one_time_prekeys.len() * 36);
    out.push(PREKEY_BUNDLE_VERSION);
    out.push(BUNDLE_KIND);
    out.extend_from_slice(bundle.identity.as_bytes());
    out.extend_from_slice(&bundle.signed_prekey_id.to_be_bytes());
    out.extend_from_slice(bundle.signed_prekey.as_bytes());
    out.extend_from_slice(&bundle.signature);
    // Bundles are built with at most MAX_ONE_TIME_PREKEYS_PER_BUNDLE keys.
    let count = u16::try_from(bundle.one_time_prekeys.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&count.to_be_bytes());
    for key in &bundle.one_time_prekeys {
        out.extend_from_slice(&key.id.to_be_bytes());
        out.extend_from_slice(&key.key);
    }
    out
}

pub(super) fn parse(bytes: &[u8]) -> Result<PreKeyBundle, PreKeyError> {
    match bytes.first() {
        None => return Err(PreKeyError::MalformedBundle),
        Some(&PREKEY_BUNDLE_VERSION) => {}
        Some(_) => return Err(PreKeyError::UnsupportedVersion),
    }
    if bytes.len() > MAX_BUNDLE_LEN || bytes.len() < FIXED_LEN || bytes[1] != BUNDLE_KIND {
        return Err(PreKeyError::MalformedBundle);
    }
    let identity = PublicIdentity::from_bytes(&bytes[2..67]).map_err(|error| match error {
        KeyError::NonContributory => PreKeyError::NonContributory,
        _ => PreKeyError::MalformedBundle,
    })?;
    let signed_prekey_id = u32_at(bytes, 67);
    let signed_prekey = validated_key(&bytes[71..103])?;
    let mut signature = [0u8; 64];
    signature.copy_from_slice(&bytes[103..167]);
    let count = usize::from(u16::from_be_bytes([bytes[167], bytes[168]]));
    if count > MAX_ONE_TIME_PREKEYS_PER_BUNDLE
        || bytes.len() != FIXED_LEN + count * ONE_TIME_ENTRY_LEN
    {
        return Err(PreKeyError::MalformedBundle);
    }
    let mut one_time_prekeys = Vec::with_capacity(count);
    for entry in bytes[FIXED_LEN..].chunks_exact(ONE_TIME_ENTRY_LEN) {
        let id = u32_at(entry, 0);
        if one_time_prekeys.iter().any(|k: &OneTimePreKey| k.id == id) {
            return Err(PreKeyError::MalformedBundle);
        }
        let key = validated_key(&entry[4..])?;
        one_time_prekeys.push(OneTimePreKey {
            id,
            key: key.to_bytes(),
        });
    }
    Ok(PreKeyBundle::from_parts(
        identity,
        signed_prekey_id,
        signed_prekey,
        signature,
        one_time_prekeys,
    ))
}

/// A canonical, non-low-order X25519 public key.
pub(crate) fn validated_key(bytes: &[u8]) -> Result<PublicKey, PreKeyError> {
    let array: [u8; 32] = bytes.try_into().map_err(|_| PreKeyError::MalformedBundle)?;
    if !agreement::is_canonical(&array) {
        return Err(PreKeyError::NonContributory);
    }
    let key = PublicKey::from(array);
    if agreement::is_low_order(&key) {
        return Err(PreKeyError::NonContributory);
    }
    Ok(key)
}
