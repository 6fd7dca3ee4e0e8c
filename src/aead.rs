//! Thin wrappers over the audited RustCrypto AEADs, so the rest of the crate
//! never touches nonce or key types directly. No cipher code lives here.

use chacha20poly1305::aead::{Aead, AeadInOut, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, XChaCha20Poly1305};

/// Length of a Poly1305 authentication tag in bytes.
pub(crate) const TAG_LEN: usize = 16;
/// Length of an XChaCha20-Poly1305 nonce in bytes.
pub(crate) const XNONCE_LEN: usize = 24;
/// Length of a ChaCha20-Poly1305 (RFC 8439) nonce in bytes.
pub(crate) const NONCE_LEN: usize = 12;

/// Authentication failed (or the input was too long for the cipher).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AeadFailure;

/// XChaCha20-Poly1305 encryption; returns `ciphertext || tag`.
pub(crate) fn xchacha_seal(
    key: &[u8; 32],
    nonce: &[u8; XNONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, AeadFailure> {
    XChaCha20Poly1305::new(&(*key).into())
        .encrypt(
            &(*nonce).into(),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| AeadFailure)
}

/// XChaCha20-Poly1305 decryption of `ciphertext || tag`.
pub(crate) fn xchacha_open(
    key: &[u8; 32],
    nonce: &[u8; XNONCE_LEN],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, AeadFailure> {
    XChaCha20Poly1305::new(&(*key).into())
        .decrypt(
            &(*nonce).into(),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| AeadFailure)
}

/// ChaCha20-Poly1305 (RFC 8439) encryption; returns `ciphertext || tag`.
pub(crate) fn chacha_seal(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, AeadFailure> {
    ChaCha20Poly1305::new(&(*key).into())
        .encrypt(
            &(*nonce).into(),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| AeadFailure)
}

/// ChaCha20-Poly1305 (RFC 8439) decryption of `ciphertext || tag`.
pub(crate) fn chacha_open(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, AeadFailure> {
    ChaCha20Poly1305::new(&(*key).into())
        .decrypt(
            &(*nonce).into(),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| AeadFailure)
}

/// A ChaCha20-Poly1305 key set up once for many in-place operations (the
/// age STREAM payload, `PROTOCOL.md` §7.4).
pub(crate) struct InPlaceChaCha(ChaCha20Poly1305);

impl InPlaceChaCha {
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        Self(ChaCha20Poly1305::new(&(*key).into()))
    }

    /// Encrypts `buffer` in place; returns the tag.
    pub(crate) fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        buffer: &mut [u8],
    ) -> Result<[u8; TAG_LEN], AeadFailure> {
        let tag = self
            .0
            .encrypt_inout_detached(&(*nonce).into(), &[], buffer.into())
            .map_err(|_| AeadFailure)?;
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(&tag);
        Ok(out)
    }

    /// Verifies `tag` over `buffer` and, only if it is valid, decrypts
    /// `buffer` in place. On failure `buffer` is left as it was.
    pub(crate) fn open_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        buffer: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), AeadFailure> {
        self.0
            .decrypt_inout_detached(&(*nonce).into(), &[], buffer.into(), &(*tag).into())
            .map_err(|_| AeadFailure)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
