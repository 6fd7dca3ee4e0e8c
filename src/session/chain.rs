//! Symmetric-key ratchet (`PROTOCOL.md` §5.3–5.4): root, chain and message
//! keys and the KDFs between them.

use zeroize::Zeroizing;

use crate::aead::{self, XNONCE_LEN};
use crate::kdf::{self, INFO_MESSAGE_KEY, INFO_RATCHET_ROOT};
use crate::secret::secret_key;

secret_key!(
    /// The Double Ratchet root key.
    clone RootKey
);
secret_key!(
    /// A sending or receiving chain key.
    clone ChainKey
);
secret_key!(
    /// The key of one position in a chain; deleted once used. After a state
    /// rollback the same key can be derived again, so it is never used as an
    /// AEAD key with a derived nonce: every message draws a fresh random
    /// nonce (`PROTOCOL.md` §5.4).
    clone MessageKey
);

/// Input byte of HMAC(chain key, ·) that yields the message key.
const MESSAGE_KEY_SEED: u8 = 0x01;
/// Input byte of HMAC(chain key, ·) that yields the next chain key.
const CHAIN_KEY_SEED: u8 = 0x02;

impl RootKey {
    /// KDF_RK: HKDF(salt = root key, ikm = DH output, info =
    /// INFO_RATCHET_ROOT), 64 bytes: the new root key, then a chain key.
    pub(crate) fn advance(&self, dh_output: &[u8; 32]) -> (RootKey, ChainKey) {
        let okm = kdf::hkdf_sha256::<64>(self.as_bytes(), dh_output, INFO_RATCHET_ROOT);
        let mut root = [0u8; 32];
        let mut chain = [0u8; 32];
        root.copy_from_slice(&okm[..32]);
        chain.copy_from_slice(&okm[32..]);
        (RootKey::from_bytes(root), ChainKey::from_bytes(chain))
    }
}

impl ChainKey {
    /// KDF_CK: message key = HMAC(ck, 0x01), next chain key = HMAC(ck, 0x02).
    pub(crate) fn advance(&self) -> (ChainKey, MessageKey) {
        let message = kdf::hmac_sha256(self.as_bytes(), &[MESSAGE_KEY_SEED]);
        let next = kdf::hmac_sha256(self.as_bytes(), &[CHAIN_KEY_SEED]);
        (
            ChainKey::from_bytes(*next),
            MessageKey::from_bytes(*message),
        )
    }
}

/// Authentication failed.
pub(crate) struct Inauthentic;

impl MessageKey {
    /// HKDF(salt = 32 zero bytes, ikm = message key, info =
    /// INFO_MESSAGE_KEY), 32 bytes: the XChaCha20-Poly1305 key.
    fn cipher_key(&self) -> Zeroizing<[u8; 32]> {
        kdf::hkdf_sha256::<32>(&[0u8; 32], self.as_bytes(), INFO_MESSAGE_KEY)
    }

    /// Encrypts one padded plaintext under the random `nonce` the header
    /// carries; consumes the key.
    pub(crate) fn seal(
        self,
        nonce: &[u8; XNONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, Inauthentic> {
        aead::xchacha_seal(&self.cipher_key(), nonce, aad, plaintext).map_err(|_| Inauthentic)
    }

    /// Decrypts one ciphertext. Borrows the key: the caller deletes it only if
    /// this succeeds.
    pub(crate) fn open(
        &self,
        nonce: &[u8; XNONCE_LEN],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Inauthentic> {
        aead::xchacha_open(&self.cipher_key(), nonce, aad, ciphertext)
            .map(Zeroizing::new)
            .map_err(|_| Inauthentic)
    }
}
