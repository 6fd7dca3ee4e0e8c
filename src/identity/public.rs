//! The public half of an identity and its byte and text encodings
//! (`PROTOCOL.md` §1.1).

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, VerifyingKey};
use x25519_dalek::PublicKey;

use super::Fingerprint;
use crate::agreement;
use crate::error::KeyError;

/// Version byte that starts a public identity encoding.
pub const PUBLIC_IDENTITY_VERSION: u8 = 1;

/// Length of a public identity encoding: version, X25519 key, Ed25519 key.
pub const PUBLIC_IDENTITY_LEN: usize = 1 + 32 + 32;

/// Length of the text form: unpadded base64url of [`PUBLIC_IDENTITY_LEN`]
/// bytes. Longer input is refused before decoding.
const PUBLIC_IDENTITY_TEXT_LEN: usize = (PUBLIC_IDENTITY_LEN * 4).div_ceil(3);

/// A device's public identity: what others need to seal to it, verify its
/// signatures and compare its fingerprint.
///
/// Every `PublicIdentity` holds keys that passed validation: a canonical,
/// non-low-order X25519 key and a canonical, non-weak Ed25519 key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicIdentity {
    agreement: PublicKey,
    signing: VerifyingKey,
    encoded: [u8; PUBLIC_IDENTITY_LEN],
}

impl PublicIdentity {
    pub(super) fn from_keys(agreement: PublicKey, signing: VerifyingKey) -> Self {
        let mut encoded = [0u8; PUBLIC_IDENTITY_LEN];
        encoded[0] = PUBLIC_IDENTITY_VERSION;
        encoded[1..33].copy_from_slice(agreement.as_bytes());
        encoded[33..].copy_from_slice(signing.as_bytes());
        Self {
            agreement,
            signing,
            encoded,
        }
    }

    /// Parses and validates the 65-byte encoding.
    ///
    /// # Errors
    /// [`KeyError::Malformed`] for a wrong length or non-canonical X25519 key,
    /// [`KeyError::UnsupportedVersion`] for an unknown version byte,
    /// [`KeyError::NonContributory`] for a low-order X25519 key and
    /// [`KeyError::InvalidSigningKey`] for an invalid or weak Ed25519 key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        match bytes.first() {
            None => return Err(KeyError::Malformed),
            Some(&PUBLIC_IDENTITY_VERSION) => {}
            Some(_) => return Err(KeyError::UnsupportedVersion),
        }
        let encoded: [u8; PUBLIC_IDENTITY_LEN] =
            bytes.try_into().map_err(|_| KeyError::Malformed)?;
        let mut x = [0u8; 32];
        x.copy_from_slice(&encoded[1..33]);
        let mut ed = [0u8; 32];
        ed.copy_from_slice(&encoded[33..]);

        if !agreement::is_canonical(&x) {
            return Err(KeyError::Malformed);
        }
        let agreement = PublicKey::from(x);
        if agreement::is_low_order(&agreement) {
            return Err(KeyError::NonContributory);
        }
        let signing = VerifyingKey::from_bytes(&ed).map_err(|_| KeyError::InvalidSigningKey)?;
        if signing.is_weak() || signing.as_bytes() != &ed {
            return Err(KeyError::InvalidSigningKey);
        }
        Ok(Self {
            agreement,
            signing,
            encoded,
        })
    }

    /// The 65-byte encoding.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_IDENTITY_LEN] {
        &self.encoded
    }

    /// Parses the text form made by [`PublicIdentity::to_text`].
    ///
    /// # Errors
    /// [`KeyError::Malformed`] if the text is not unpadded base64url of the
    /// right length; otherwise as [`PublicIdentity::from_bytes`].
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        if text.len() != PUBLIC_IDENTITY_TEXT_LEN {
            return Err(KeyError::Malformed);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| KeyError::Malformed)?;
        Self::from_bytes(&bytes)
    }

    /// The text form: unpadded base64url of the 65-byte encoding (87
    /// characters), safe in URLs, JSON and QR codes.
    pub fn to_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.encoded)
    }

    /// The human-readable fingerprint to compare out of band.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(self)
    }

    /// The X25519 key-agreement key.
    pub(crate) fn agreement_key(&self) -> &PublicKey {
        &self.agreement
    }

    /// Verifies an Ed25519 signature by this identity (strict verification:
    /// no malleable or small-order signatures).
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.signing
            .verify_strict(message, &Signature::from_bytes(signature))
            .is_ok()
    }
}

impl fmt::Debug for PublicIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicIdentity({})", self.to_text())
    }
}
