//! The secret user identity: an Ed25519 signing key, generated from the
//! platform CSPRNG and exported only as an encrypted pickle (§6, §8.2).

use core::fmt;

use ed25519_dalek::{Signer, SigningKey};

use super::PublicUserIdentity;
use crate::error::{PickleError, UserKeyError};
use crate::pickle::codec::{Reader, Writer};
use crate::pickle::{self, PickleKind, StorageKey};
use crate::rng;

/// Version of the user identity state encoding inside its pickle.
const USER_IDENTITY_STATE_VERSION: u8 = 1;

/// A user's secret signing key: it signs the user's device lists. Every
/// device of the user holds it (a new device receives it when it is linked,
/// §8.6); the relay never sees it.
///
/// The key is zeroized when the `UserIdentity` is dropped, and `Debug` shows
/// only the public half.
pub struct UserIdentity {
    signing: SigningKey,
    public: PublicUserIdentity,
}

impl UserIdentity {
    /// Generates a fresh user identity from the platform CSPRNG.
    ///
    /// # Errors
    /// [`UserKeyError::Rng`] if no randomness is available.
    pub fn generate() -> Result<Self, UserKeyError> {
        let seed = rng::secret_bytes::<32>()?;
        Ok(Self::from_seed(*seed))
    }

    /// Builds a user identity from its 32-byte RFC 8032 seed.
    pub(crate) fn from_seed(seed: [u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(&seed);
        let public = PublicUserIdentity::from_key(signing.verifying_key());
        Self { signing, public }
    }

    /// The public half, to share with contacts and in invitation links.
    pub fn public_identity(&self) -> &PublicUserIdentity {
        &self.public
    }

    /// Exports the secret key, encrypted and authenticated under `key`
    /// (`PROTOCOL.md` §6; state encoding §8.2).
    ///
    /// # Errors
    /// [`PickleError::Rng`].
    pub fn export(&self, key: &StorageKey) -> Result<Vec<u8>, PickleError> {
        let seed = zeroize::Zeroizing::new(self.signing.to_bytes());
        let mut w = Writer::new();
        w.u8(USER_IDENTITY_STATE_VERSION).bytes(seed.as_ref());
        pickle::seal(PickleKind::UserIdentity, key, &w.finish())
    }

    /// Imports a user identity exported with the same key.
    ///
    /// # Errors
    /// [`PickleError::DecryptFailed`] for a wrong key or altered blob,
    /// [`PickleError::Malformed`] (including a blob of another kind),
    /// [`PickleError::UnsupportedVersion`].
    pub fn import(key: &StorageKey, blob: &[u8]) -> Result<Self, PickleError> {
        let state = pickle::open(PickleKind::UserIdentity, key, blob)?;
        let mut r = Reader::new(&state);
        if r.u8()? != USER_IDENTITY_STATE_VERSION {
            return Err(PickleError::UnsupportedVersion);
        }
        let seed = r.secret::<32>()?;
        r.finish()?;
        Ok(Self::from_seed(*seed))
    }

    /// An Ed25519 signature over `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

impl fmt::Debug for UserIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserIdentity")
            .field("public", &self.public)
            .field("secret_key", &"[redacted]")
            .finish()
    }
}
