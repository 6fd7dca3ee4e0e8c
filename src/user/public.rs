//! The public half of a user identity and its byte and text encodings
//! (`PROTOCOL.md` §8.2).

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, VerifyingKey};

use crate::error::UserKeyError;
use crate::identity::Fingerprint;
use crate::kdf::DOMAIN_USER_FINGERPRINT;

/// Version byte that starts a public user identity encoding.
pub const PUBLIC_USER_IDENTITY_VERSION: u8 = 1;

/// Length of a public user identity encoding: version and Ed25519 key.
pub const PUBLIC_USER_IDENTITY_LEN: usize = 1 + 32;

/// Length of the text form: unpadded base64url of
/// [`PUBLIC_USER_IDENTITY_LEN`] bytes. Other lengths are refused before
/// decoding.
const PUBLIC_USER_IDENTITY_TEXT_LEN: usize = (PUBLIC_USER_IDENTITY_LEN * 4).div_ceil(3);

/// A user's public identity: the key that signs the user's device lists,
/// and whose fingerprint makes half of a safety number.
///
/// Every `PublicUserIdentity` holds a key that passed validation: a
/// canonical, non-weak Ed25519 point.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicUserIdentity {
    key: VerifyingKey,
    encoded: [u8; PUBLIC_USER_IDENTITY_LEN],
}

impl PublicUserIdentity {
    pub(super) fn from_key(key: VerifyingKey) -> Self {
        let mut encoded = [0u8; PUBLIC_USER_IDENTITY_LEN];
        encoded[0] = PUBLIC_USER_IDENTITY_VERSION;
        encoded[1..].copy_from_slice(key.as_bytes());
        Self { key, encoded }
    }

    /// Parses and validates the 33-byte encoding.
    ///
    /// # Errors
    /// [`UserKeyError::Malformed`] for an empty input or a wrong length,
    /// [`UserKeyError::UnsupportedVersion`] for an unknown version byte and
    /// [`UserKeyError::InvalidSigningKey`] for an invalid, non-canonical or
    /// weak Ed25519 key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, UserKeyError> {
        match bytes.first() {
            None => return Err(UserKeyError::Malformed),
            Some(&PUBLIC_USER_IDENTITY_VERSION) => {}
            Some(_) => return Err(UserKeyError::UnsupportedVersion),
        }
        let encoded: [u8; PUBLIC_USER_IDENTITY_LEN] =
            bytes.try_into().map_err(|_| UserKeyError::Malformed)?;
        let mut ed = [0u8; 32];
        ed.copy_from_slice(&encoded[1..]);
        let key = VerifyingKey::from_bytes(&ed).map_err(|_| UserKeyError::InvalidSigningKey)?;
        if key.is_weak() || key.as_bytes() != &ed {
            return Err(UserKeyError::InvalidSigningKey);
        }
        Ok(Self { key, encoded })
    }

    /// The 33-byte encoding.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_USER_IDENTITY_LEN] {
        &self.encoded
    }

    /// Parses the text form made by [`PublicUserIdentity::to_text`].
    ///
    /// # Errors
    /// [`UserKeyError::Malformed`] if the text is not unpadded base64url of
    /// the right length; otherwise as [`PublicUserIdentity::from_bytes`].
    pub fn from_text(text: &str) -> Result<Self, UserKeyError> {
        if text.len() != PUBLIC_USER_IDENTITY_TEXT_LEN {
            return Err(UserKeyError::Malformed);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| UserKeyError::Malformed)?;
        Self::from_bytes(&bytes)
    }

    /// The text form: unpadded base64url of the 33-byte encoding (44
    /// characters).
    pub fn to_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.encoded)
    }

    /// The 30-digit fingerprint of this user key (`PROTOCOL.md` §8.2): the
    /// user's own half of every safety number it is part of.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_encoding(DOMAIN_USER_FINGERPRINT, &self.encoded)
    }

    /// Verifies an Ed25519 signature by this user (strict verification).
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.key
            .verify_strict(message, &Signature::from_bytes(signature))
            .is_ok()
    }
}

impl fmt::Debug for PublicUserIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicUserIdentity({})", self.to_text())
    }
}
