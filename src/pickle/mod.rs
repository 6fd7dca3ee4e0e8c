//! Encrypted, authenticated, versioned export of secret state ("pickles",
//! after vodozemac), under a caller-supplied 32-byte storage key
//! (`PROTOCOL.md` §6).
//!
//! A blob names its kind (identity, account or session), so a session blob
//! cannot be imported as an account. A wrong key and an altered blob are the
//! same error: authentication failed. Nothing is returned unless the whole
//! blob verified.

pub(crate) mod codec;

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::aead::{self, TAG_LEN, XNONCE_LEN};
use crate::error::PickleError;
use crate::kdf::{self, INFO_PICKLE_KEY};
use crate::rng;

/// Version byte of exported state.
pub const PICKLE_VERSION: u8 = 1;

/// Largest blob `import` reads: 1 MiB (a session with a full skipped-key
/// store is about 150 KiB).
pub const MAX_PICKLE_LEN: usize = 1024 * 1024;

/// Header: version, kind, nonce.
const PICKLE_HEADER_LEN: usize = 2 + XNONCE_LEN;

/// What a blob holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PickleKind {
    /// An [`crate::Identity`].
    Identity = 0x49,
    /// An [`crate::Account`].
    Account = 0x41,
    /// A [`crate::Session`].
    Session = 0x53,
    /// A [`crate::UserIdentity`].
    UserIdentity = 0x55,
}

/// A 32-byte key that encrypts exported state. Supplied by the application
/// (for example from a non-extractable WebCrypto key or a platform keystore);
/// zeroized on drop, `Debug` redacted.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct StorageKey([u8; 32]);

impl StorageKey {
    /// Wraps 32 bytes of key material.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Wraps a slice, which must be exactly 32 bytes.
    ///
    /// # Errors
    /// [`PickleError::InvalidStorageKey`] for any other length.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, PickleError> {
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| PickleError::InvalidStorageKey)?;
        Ok(Self(array))
    }

    /// A fresh random key.
    ///
    /// # Errors
    /// [`PickleError::Rng`].
    pub fn generate() -> Result<Self, PickleError> {
        Ok(Self(*rng::secret_bytes::<32>()?))
    }

    /// The key bytes, for the application to store under its own
    /// protection.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The AEAD key for one kind of blob:
    /// HKDF(salt = "", ikm = storage key, info = INFO_PICKLE_KEY || kind).
    fn derive(&self, kind: PickleKind) -> Zeroizing<[u8; 32]> {
        let info = [INFO_PICKLE_KEY, &[kind as u8]].concat();
        kdf::hkdf_sha256::<32>(&[], &self.0, &info)
    }
}

impl fmt::Debug for StorageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StorageKey([redacted])")
    }
}

/// Encrypts an encoded state.
pub(crate) fn seal(
    kind: PickleKind,
    key: &StorageKey,
    state: &[u8],
) -> Result<Vec<u8>, PickleError> {
    let nonce = rng::public_bytes::<XNONCE_LEN>()?;
    let header = header(kind, &nonce);
    let ciphertext = aead::xchacha_seal(&key.derive(kind), &nonce, &header[..2], state)
        .map_err(|_| PickleError::TooLarge)?;
    if PICKLE_HEADER_LEN + ciphertext.len() > MAX_PICKLE_LEN {
        return Err(PickleError::TooLarge);
    }
    Ok([&header[..], &ciphertext].concat())
}

/// Authenticates and decrypts a blob of the expected kind.
pub(crate) fn open(
    kind: PickleKind,
    key: &StorageKey,
    blob: &[u8],
) -> Result<Zeroizing<Vec<u8>>, PickleError> {
    if blob.len() > MAX_PICKLE_LEN {
        return Err(PickleError::TooLarge);
    }
    match blob.first() {
        None => return Err(PickleError::Malformed),
        Some(&PICKLE_VERSION) => {}
        Some(_) => return Err(PickleError::UnsupportedVersion),
    }
    if blob.get(1) != Some(&(kind as u8)) || blob.len() < PICKLE_HEADER_LEN + TAG_LEN {
        return Err(PickleError::Malformed);
    }
    let mut nonce = [0u8; XNONCE_LEN];
    nonce.copy_from_slice(&blob[2..PICKLE_HEADER_LEN]);
    aead::xchacha_open(
        &key.derive(kind),
        &nonce,
        &blob[..2],
        &blob[PICKLE_HEADER_LEN..],
    )
    .map(Zeroizing::new)
    .map_err(|_| PickleError::DecryptFailed)
}

fn header(kind: PickleKind, nonce: &[u8; XNONCE_LEN]) -> [u8; PICKLE_HEADER_LEN] {
    let mut out = [0u8; PICKLE_HEADER_LEN];
    out[0] = PICKLE_VERSION;
    out[1] = kind as u8;
    out[2..].copy_from_slice(nonce);
    out
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
