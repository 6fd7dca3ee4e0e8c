//! Prekeys (`PROTOCOL.md` §4): what a device publishes so that others can
//! start a session with it while it is offline.
//!
//! A [`PreKeyBundle`] holds the device's public identity, a signed prekey
//! (an X25519 key signed by the identity's Ed25519 key) and up to
//! [`MAX_ONE_TIME_PREKEYS_PER_BUNDLE`] one-time prekeys. The relay stores it
//! and hands each one-time prekey out at most once
//! ([`PreKeyBundle::with_one_time_prekey`]). One-time prekeys are not signed:
//! a relay that withholds them only reduces a session start to the
//! signed-prekey-only case of X3DH.

mod format;

pub use format::{MAX_ONE_TIME_PREKEYS_PER_BUNDLE, PREKEY_BUNDLE_VERSION};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use x25519_dalek::PublicKey;

use crate::error::PreKeyError;
use crate::identity::PublicIdentity;
use crate::kdf::DOMAIN_SIGNED_PREKEY;

/// Longest base64 text accepted by [`PreKeyBundle::from_base64`], checked
/// before decoding.
const MAX_BUNDLE_TEXT_LEN: usize = format::MAX_BUNDLE_LEN.div_ceil(3) * 4;

/// A one-time prekey as published: its id and X25519 public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OneTimePreKey {
    /// The id the owner uses to find the secret half.
    pub id: u32,
    /// The X25519 public key.
    pub key: [u8; 32],
}

/// A verified prekey bundle. Every value of this type passed signature
/// verification and key validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreKeyBundle {
    identity: PublicIdentity,
    signed_prekey_id: u32,
    signed_prekey: PublicKey,
    signature: [u8; 64],
    one_time_prekeys: Vec<OneTimePreKey>,
}

impl PreKeyBundle {
    /// Builds a bundle from parts the owner made and signed.
    pub(crate) fn from_parts(
        identity: PublicIdentity,
        signed_prekey_id: u32,
        signed_prekey: PublicKey,
        signature: [u8; 64],
        one_time_prekeys: Vec<OneTimePreKey>,
    ) -> Self {
        Self {
            identity,
            signed_prekey_id,
            signed_prekey,
            signature,
            one_time_prekeys,
        }
    }

    /// Parses a bundle and verifies its signed prekey signature.
    ///
    /// # Errors
    /// [`PreKeyError::MalformedBundle`], [`PreKeyError::UnsupportedVersion`],
    /// [`PreKeyError::NonContributory`] for a low-order or non-canonical
    /// prekey, [`PreKeyError::BadSignature`] if the signature does not verify.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PreKeyError> {
        let bundle = format::parse(bytes)?;
        if !bundle.identity.verify(
            &signed_prekey_message(
                &bundle.identity,
                bundle.signed_prekey_id,
                bundle.signed_prekey.as_bytes(),
            ),
            &bundle.signature,
        ) {
            return Err(PreKeyError::BadSignature);
        }
        Ok(bundle)
    }

    /// The byte encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        format::serialize(self)
    }

    /// Parses the unpadded base64url text form.
    ///
    /// # Errors
    /// [`PreKeyError::MalformedBundle`] for bad text, otherwise as
    /// [`PreKeyBundle::from_bytes`].
    pub fn from_base64(text: &str) -> Result<Self, PreKeyError> {
        if text.len() > MAX_BUNDLE_TEXT_LEN {
            return Err(PreKeyError::MalformedBundle);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| PreKeyError::MalformedBundle)?;
        Self::from_bytes(&bytes)
    }

    /// The unpadded base64url text form.
    pub fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.to_bytes())
    }

    /// The owner's public identity.
    pub fn identity(&self) -> &PublicIdentity {
        &self.identity
    }

    /// The one-time prekeys this bundle carries.
    pub fn one_time_prekeys(&self) -> &[OneTimePreKey] {
        &self.one_time_prekeys
    }

    /// The same bundle with exactly one of its one-time prekeys (or none, for
    /// `None`): what a relay hands to one session initiator.
    ///
    /// Returns `None` if `id` is not in this bundle.
    pub fn with_one_time_prekey(&self, id: Option<u32>) -> Option<Self> {
        let one_time_prekeys = match id {
            None => Vec::new(),
            Some(id) => vec![*self.one_time_prekeys.iter().find(|k| k.id == id)?],
        };
        Some(Self {
            one_time_prekeys,
            ..self.clone()
        })
    }

    /// The same bundle carrying exactly `keys` as its one-time prekeys (for a
    /// relay that stores one-time prekeys apart from the signed part).
    ///
    /// # Errors
    /// [`PreKeyError::MalformedBundle`] for more than
    /// [`MAX_ONE_TIME_PREKEYS_PER_BUNDLE`] keys or duplicate ids,
    /// [`PreKeyError::NonContributory`] for a low-order or non-canonical key.
    pub fn with_one_time_prekeys(&self, keys: &[OneTimePreKey]) -> Result<Self, PreKeyError> {
        let mut bundle = self.clone();
        bundle.one_time_prekeys = Vec::new();
        let mut bytes = bundle.to_bytes();
        if keys.len() > MAX_ONE_TIME_PREKEYS_PER_BUNDLE {
            return Err(PreKeyError::MalformedBundle);
        }
        let count = keys.len() as u16;
        let at = bytes.len() - 2;
        bytes[at..].copy_from_slice(&count.to_be_bytes());
        for key in keys {
            bytes.extend_from_slice(&key.id.to_be_bytes());
            bytes.extend_from_slice(&key.key);
        }
        // Re-parse: the same validation as any received bundle.
        Self::from_bytes(&bytes)
    }

    pub(crate) fn signed_prekey_id(&self) -> u32 {
        self.signed_prekey_id
    }

    pub(crate) fn signed_prekey(&self) -> &PublicKey {
        &self.signed_prekey
    }
}

/// DOMAIN_SIGNED_PREKEY || identity (65) || id (4, big-endian) || key (32):
/// what an identity signs to publish a signed prekey.
pub(crate) fn signed_prekey_message(identity: &PublicIdentity, id: u32, key: &[u8; 32]) -> Vec<u8> {
    [
        DOMAIN_SIGNED_PREKEY,
        identity.as_bytes(),
        &id.to_be_bytes(),
        key,
    ]
    .concat()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
