//! The linking key schedule (§8.6): commitment, transcript hash, SAS and
//! the two transfer keys.

use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};

use super::Sas;
use super::format::{KIND_DEVICE, KIND_PAYLOAD, LINK_OFFER_ID_LEN, SEALED_HEADER_LEN, header};
use crate::aead::{self, XNONCE_LEN};
use crate::agreement;
use crate::error::LinkError;
use crate::kdf::{
    self, DOMAIN_LINK_COMMITMENT, DOMAIN_LINK_EPHEMERAL, DOMAIN_LINK_TRANSCRIPT, INFO_LINK_KEYS,
};
use crate::rng;
use crate::secret::secret_key;

secret_key!(
    /// A key that encrypts one direction of the post-SAS messages.
    TransferKey
);

/// `SHA-256(DOMAIN_LINK_EPHEMERAL || E)`, carried in the offer.
pub(super) fn ephemeral_hash(key: &PublicKey) -> [u8; 32] {
    Sha256::new()
        .chain_update(DOMAIN_LINK_EPHEMERAL)
        .chain_update(key.as_bytes())
        .finalize()
        .into()
}

/// `SHA-256(DOMAIN_LINK_COMMITMENT || offer id || N || nonce)`.
pub(super) fn commitment(
    offer_id: &[u8; LINK_OFFER_ID_LEN],
    key: &[u8; 32],
    nonce: &[u8; 32],
) -> [u8; 32] {
    Sha256::new()
        .chain_update(DOMAIN_LINK_COMMITMENT)
        .chain_update(offer_id)
        .chain_update(key)
        .chain_update(nonce)
        .finalize()
        .into()
}

/// The shared result of a completed exchange, before or after the SAS was
/// confirmed.
pub(super) struct LinkKeys {
    pub(super) offer_id: [u8; LINK_OFFER_ID_LEN],
    transcript_hash: [u8; 32],
    pub(super) sas: Sas,
    to_new: TransferKey,
    to_existing: TransferKey,
}

impl LinkKeys {
    /// Derives the keys from `X25519(own, peer)` and the four messages, in
    /// order: offer, commit, response, reveal.
    pub(super) fn derive(
        own: &StaticSecret,
        peer: &PublicKey,
        offer_id: [u8; LINK_OFFER_ID_LEN],
        messages: [&[u8]; 4],
    ) -> Result<Self, LinkError> {
        let shared =
            agreement::diffie_hellman(own, peer).map_err(|_| LinkError::NonContributory)?;
        let mut hash = Sha256::new().chain_update(DOMAIN_LINK_TRANSCRIPT);
        for message in messages {
            hash.update(message);
        }
        let transcript_hash: [u8; 32] = hash.finalize().into();
        let okm = kdf::hkdf_sha256::<72>(&transcript_hash, shared.as_ref(), INFO_LINK_KEYS);
        let mut sas = [0u8; 8];
        sas.copy_from_slice(&okm[..8]);
        // Below 10^6, so the cast is lossless.
        let sas = Sas((u64::from_be_bytes(sas) % 1_000_000) as u32);
        let mut to_new = [0u8; 32];
        to_new.copy_from_slice(&okm[8..40]);
        let mut to_existing = [0u8; 32];
        to_existing.copy_from_slice(&okm[40..72]);
        Ok(Self {
            offer_id,
            transcript_hash,
            sas,
            to_new: TransferKey::from_bytes(to_new),
            to_existing: TransferKey::from_bytes(to_existing),
        })
    }

    /// Encrypts a post-SAS message of `kind` (payload to the new device,
    /// device identity to the existing one).
    pub(super) fn seal(&self, kind: u8, plaintext: &[u8]) -> Result<Vec<u8>, LinkError> {
        let nonce = rng::public_bytes::<XNONCE_LEN>()?;
        let mut head = Vec::with_capacity(SEALED_HEADER_LEN);
        head.extend_from_slice(&header(kind, &self.offer_id));
        head.extend_from_slice(&nonce);
        let ciphertext = aead::xchacha_seal(self.key(kind), &nonce, &self.ad(&head), plaintext)
            .map_err(|_| LinkError::PayloadTooLarge)?;
        head.extend_from_slice(&ciphertext);
        Ok(head)
    }

    /// Decrypts a post-SAS message of `kind` whose header is checked.
    pub(super) fn open(
        &self,
        kind: u8,
        message: &[u8],
        nonce: &[u8; XNONCE_LEN],
        ciphertext: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, LinkError> {
        let head = message
            .get(..SEALED_HEADER_LEN)
            .ok_or(LinkError::Malformed)?;
        aead::xchacha_open(self.key(kind), nonce, &self.ad(head), ciphertext)
            .map(zeroize::Zeroizing::new)
            .map_err(|_| LinkError::DecryptFailed)
    }

    fn key(&self, kind: u8) -> &[u8; 32] {
        if kind == KIND_PAYLOAD {
            self.to_new.as_bytes()
        } else {
            debug_assert_eq!(kind, KIND_DEVICE);
            self.to_existing.as_bytes()
        }
    }

    /// `AD = transcript hash (32) || message header (42)`.
    fn ad(&self, head: &[u8]) -> Vec<u8> {
        [&self.transcript_hash[..], head].concat()
    }
}
