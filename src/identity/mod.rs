//! Device identities (`PROTOCOL.md` §1): an X25519 key-agreement key and an
//! Ed25519 signing key, generated from the platform CSPRNG.

pub(crate) mod fingerprint;
mod public;

pub use fingerprint::Fingerprint;
pub use public::{PUBLIC_IDENTITY_LEN, PUBLIC_IDENTITY_VERSION, PublicIdentity};

use core::fmt;

use ed25519_dalek::{Signer, SigningKey};
use x25519_dalek::{PublicKey, StaticSecret};

use zeroize::Zeroizing;

use crate::error::{KeyError, PickleError};
use crate::pickle::codec::{Reader, Writer};
use crate::pickle::{self, PickleKind, StorageKey};
use crate::rng;

/// Version of the identity state encoding inside its pickle.
const IDENTITY_STATE_VERSION: u8 = 1;

/// A device's secret identity: what a patient's browser or a clinician's
/// workstation holds and never sends anywhere.
///
/// Both secret keys are zeroized when the `Identity` is dropped, and `Debug`
/// shows only the public half.
pub struct Identity {
    agreement: StaticSecret,
    signing: SigningKey,
    public: PublicIdentity,
}

impl Identity {
    /// Generates a fresh identity from the platform CSPRNG.
    ///
    /// # Errors
    /// [`KeyError::Rng`] if no randomness is available.
    pub fn generate() -> Result<Self, KeyError> {
        let agreement_seed = rng::secret_bytes::<32>()?;
        let signing_seed = rng::secret_bytes::<32>()?;
        Ok(Self::from_seeds(*agreement_seed, *signing_seed))
    }

    /// Builds an identity from its two 32-byte secret seeds.
    pub(crate) fn from_seeds(agreement_seed: [u8; 32], signing_seed: [u8; 32]) -> Self {
        let agreement = StaticSecret::from(agreement_seed);
        let signing = SigningKey::from_bytes(&signing_seed);
        let public =
            PublicIdentity::from_keys(PublicKey::from(&agreement), signing.verifying_key());
        Self {
            agreement,
            signing,
            public,
        }
    }

    /// The public half, to publish or share.
    pub fn public_identity(&self) -> &PublicIdentity {
        &self.public
    }

    /// The X25519 secret, for key agreement inside the crate.
    pub(crate) fn agreement_secret(&self) -> &StaticSecret {
        &self.agreement
    }

    /// The two 32-byte secret seeds, for export.
    pub(crate) fn secret_seeds(&self) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>) {
        (
            Zeroizing::new(self.agreement.to_bytes()),
            Zeroizing::new(self.signing.to_bytes()),
        )
    }

    /// Exports the identity's secret keys, encrypted and authenticated under
    /// `key` (`PROTOCOL.md` §6).
    ///
    /// # Errors
    /// [`PickleError::Rng`].
    pub fn export(&self, key: &StorageKey) -> Result<Vec<u8>, PickleError> {
        let (agreement, signing) = self.secret_seeds();
        let mut w = Writer::new();
        w.u8(IDENTITY_STATE_VERSION)
            .bytes(agreement.as_ref())
            .bytes(signing.as_ref());
        pickle::seal(PickleKind::Identity, key, &w.finish())
    }

    /// Imports an identity exported with the same key.
    ///
    /// # Errors
    /// [`PickleError::DecryptFailed`] for a wrong key or altered blob,
    /// [`PickleError::Malformed`], [`PickleError::UnsupportedVersion`].
    pub fn import(key: &StorageKey, blob: &[u8]) -> Result<Self, PickleError> {
        let state = pickle::open(PickleKind::Identity, key, blob)?;
        let mut r = Reader::new(&state);
        if r.u8()? != IDENTITY_STATE_VERSION {
            return Err(PickleError::UnsupportedVersion);
        }
        let agreement = r.secret::<32>()?;
        let signing = r.secret::<32>()?;
        r.finish()?;
        Ok(Self::from_seeds(*agreement, *signing))
    }

    /// An Ed25519 signature over `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("public", &self.public)
            .field("secret_keys", &"[redacted]")
            .finish()
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
