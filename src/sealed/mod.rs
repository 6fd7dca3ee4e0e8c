//! Sealed messages (`PROTOCOL.md` §3): one-shot encryption to a public
//! identity with no session, for example a first contact with a clinic's
//! intake inbox.
//!
//! Each envelope uses a fresh ephemeral X25519 key, so the sender needs no
//! identity of its own and the recipient learns nothing about the sender
//! unless the sender signs its identity into the ciphertext. There is no
//! forward secrecy against later theft of the recipient's identity key and no
//! replay protection: use sessions for conversations.

mod format;

pub use format::{
    EnvelopeSummary, MAX_SEALED_ENVELOPE_LEN, MAX_SEALED_MESSAGE_LEN, MIN_SEALED_ENVELOPE_LEN,
    SEALED_HEADER_LEN, SEALED_KIND, SEALED_VERSION, inspect,
};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::aead::{self, XNONCE_LEN};
use crate::agreement;
use crate::error::SealedError;
use crate::identity::{Identity, PUBLIC_IDENTITY_LEN, PublicIdentity};
use crate::kdf::{self, DOMAIN_RECIPIENT_HINT, DOMAIN_SEALED_SENDER, INFO_SEALED_KEY};
use crate::padding;
use crate::rng;
use crate::secret::secret_key;
use format::{HINT_LEN, SealedHeader};

secret_key!(
    /// The XChaCha20-Poly1305 key of one sealed envelope.
    SealedMessageKey
);

/// A successfully opened sealed message.
///
/// The message bytes are zeroized when this value is dropped.
pub struct OpenedMessage {
    message: Zeroizing<Vec<u8>>,
    sender: Option<PublicIdentity>,
}

impl OpenedMessage {
    /// The plaintext.
    pub fn message(&self) -> &[u8] {
        &self.message
    }

    /// The sender's identity, present only if the sender signed it into the
    /// envelope and the signature verified. `None` means anonymous.
    pub fn sender(&self) -> Option<&PublicIdentity> {
        self.sender.as_ref()
    }
}

impl core::fmt::Debug for OpenedMessage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OpenedMessage")
            .field("message", &"[redacted]")
            .field("sender", &self.sender)
            .finish()
    }
}

/// Seals `message` to `recipient`.
///
/// With `sender: None` the envelope is anonymous. With `Some(identity)` the
/// sender's public identity and an Ed25519 signature over this exact envelope
/// travel inside the ciphertext, so only the recipient learns who sent it,
/// and cannot present the signature as part of any other envelope.
///
/// # Errors
/// [`SealedError::MessageTooLarge`] above [`MAX_SEALED_MESSAGE_LEN`],
/// [`SealedError::Rng`] if no randomness is available.
pub fn seal(
    recipient: &PublicIdentity,
    message: &[u8],
    sender: Option<&Identity>,
) -> Result<Vec<u8>, SealedError> {
    let ephemeral_seed = rng::secret_bytes::<32>()?;
    let nonce = rng::public_bytes::<XNONCE_LEN>()?;
    seal_with(recipient, message, sender, *ephemeral_seed, nonce)
}

/// [`seal`] with caller-chosen randomness: for test vectors only.
pub(crate) fn seal_with(
    recipient: &PublicIdentity,
    message: &[u8],
    sender: Option<&Identity>,
    ephemeral_seed: [u8; 32],
    nonce: [u8; XNONCE_LEN],
) -> Result<Vec<u8>, SealedError> {
    if message.len() > MAX_SEALED_MESSAGE_LEN {
        return Err(SealedError::MessageTooLarge);
    }
    seal_payload_with(recipient, ephemeral_seed, nonce, |header_bytes| {
        let payload = Zeroizing::new(match sender {
            None => format::encode_payload(None, message),
            Some(sender) => {
                let sender_public = sender.public_identity().as_bytes();
                let signed = sender_signed_bytes(header_bytes, recipient, sender_public, message);
                format::encode_payload(Some((sender_public, &sender.sign(&signed))), message)
            }
        });
        padding::padded(&payload)
    })
}

/// Encrypts the payload that `make_payload` builds for the envelope's header,
/// as it is: padding and bounds are the caller's (`PROTOCOL.md` §3.3–3.4).
pub(crate) fn seal_payload_with(
    recipient: &PublicIdentity,
    ephemeral_seed: [u8; 32],
    nonce: [u8; XNONCE_LEN],
    make_payload: impl FnOnce(&[u8; SEALED_HEADER_LEN]) -> Zeroizing<Vec<u8>>,
) -> Result<Vec<u8>, SealedError> {
    let ephemeral = StaticSecret::from(ephemeral_seed);
    let header = SealedHeader {
        recipient_hint: recipient_hint(recipient),
        ephemeral_key: PublicKey::from(&ephemeral).to_bytes(),
        nonce,
    };
    let header_bytes = header.to_bytes();
    let key = derive_key(
        &ephemeral,
        recipient.agreement_key(),
        &header.ephemeral_key,
        recipient,
    )?;
    let payload = make_payload(&header_bytes);

    let aad = associated_data(&header_bytes, recipient);
    let ciphertext = aead::xchacha_seal(key.as_bytes(), &nonce, &aad, &payload)
        .map_err(|_| SealedError::MessageTooLarge)?;

    let mut envelope = Vec::with_capacity(header_bytes.len() + ciphertext.len());
    envelope.extend_from_slice(&header_bytes);
    envelope.extend_from_slice(&ciphertext);
    Ok(envelope)
}

/// Opens an envelope sealed to `recipient`.
///
/// On success the message was made for exactly this identity and was not
/// altered in any bit. If a sender identity is returned, its owner signed
/// this envelope. Sealed envelopes carry no counter: the same envelope opens
/// every time it is presented, so callers that need replay protection must
/// track what they have seen (sessions do this for you).
///
/// # Errors
/// [`SealedError::Empty`], [`SealedError::TooLarge`],
/// [`SealedError::UnsupportedVersion`], [`SealedError::Malformed`],
/// [`SealedError::Truncated`] for structural defects (checked in that order,
/// before any cryptography); [`SealedError::WrongRecipient`] if the envelope
/// names another identity; [`SealedError::NonContributory`] for a low-order
/// ephemeral key; [`SealedError::DecryptFailed`] if authentication fails;
/// [`SealedError::Malformed`] for ill-formed authenticated contents;
/// [`SealedError::MessageTooLarge`] for a message above
/// [`MAX_SEALED_MESSAGE_LEN`] (which `seal` never makes);
/// [`SealedError::BadSignature`] if a named sender's signature is invalid.
pub fn open(recipient: &Identity, envelope: &[u8]) -> Result<OpenedMessage, SealedError> {
    let parsed = format::parse_envelope(envelope)?;
    let us = recipient.public_identity();
    if !bool::from(parsed.header.recipient_hint.ct_eq(&recipient_hint(us))) {
        return Err(SealedError::WrongRecipient);
    }
    let key = derive_key(
        recipient.agreement_secret(),
        &PublicKey::from(parsed.header.ephemeral_key),
        &parsed.header.ephemeral_key,
        us,
    )?;
    let aad = associated_data(parsed.header_bytes, us);
    let padded = Zeroizing::new(
        aead::xchacha_open(
            key.as_bytes(),
            &parsed.header.nonce,
            &aad,
            parsed.ciphertext,
        )
        .map_err(|_| SealedError::DecryptFailed)?,
    );
    let payload = padding::unpad(&padded).ok_or(SealedError::Malformed)?;
    let (sender, message) = format::parse_payload(payload)?;
    let sender = match sender {
        None => None,
        Some(signed) => Some((
            PublicIdentity::from_bytes(signed.identity).map_err(|_| SealedError::Malformed)?,
            signed.signature,
        )),
    };
    // The padding bucket of the largest signed message also holds longer
    // anonymous ones, which seal never makes (PROTOCOL.md §3.5, step 10).
    if message.len() > MAX_SEALED_MESSAGE_LEN {
        return Err(SealedError::MessageTooLarge);
    }
    let sender = match sender {
        None => None,
        Some((identity, signature)) => {
            let signed_bytes =
                sender_signed_bytes(parsed.header_bytes, us, identity.as_bytes(), message);
            if !identity.verify(&signed_bytes, &signature) {
                return Err(SealedError::BadSignature);
            }
            Some(identity)
        }
    };
    Ok(OpenedMessage {
        message: Zeroizing::new(message.to_vec()),
        sender,
    })
}

/// SHA-256(DOMAIN_RECIPIENT_HINT || identity encoding), first 8 bytes.
fn recipient_hint(recipient: &PublicIdentity) -> [u8; HINT_LEN] {
    let digest = Sha256::new()
        .chain_update(DOMAIN_RECIPIENT_HINT)
        .chain_update(recipient.as_bytes())
        .finalize();
    let mut hint = [0u8; HINT_LEN];
    hint.copy_from_slice(&digest[..HINT_LEN]);
    hint
}

/// HKDF-SHA256(salt = ephemeral || recipient X25519 key, ikm = DH,
/// info = INFO_SEALED_KEY), 32 bytes (`PROTOCOL.md` §3.3).
fn derive_key(
    our_secret: &StaticSecret,
    their_public: &PublicKey,
    ephemeral_key: &[u8; 32],
    recipient: &PublicIdentity,
) -> Result<SealedMessageKey, SealedError> {
    let shared = agreement::diffie_hellman(our_secret, their_public)
        .map_err(|_| SealedError::NonContributory)?;
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral_key);
    salt[32..].copy_from_slice(recipient.agreement_key().as_bytes());
    let okm = kdf::hkdf_sha256::<32>(&salt, shared.as_ref(), INFO_SEALED_KEY);
    Ok(SealedMessageKey::from_bytes(*okm))
}

/// header || recipient identity encoding.
fn associated_data(header_bytes: &[u8], recipient: &PublicIdentity) -> Vec<u8> {
    [header_bytes, recipient.as_bytes()].concat()
}

/// DOMAIN_SEALED_SENDER || header || recipient identity || sender identity ||
/// message: what a named sender signs.
fn sender_signed_bytes(
    header_bytes: &[u8],
    recipient: &PublicIdentity,
    sender: &[u8; PUBLIC_IDENTITY_LEN],
    message: &[u8],
) -> Vec<u8> {
    [
        DOMAIN_SEALED_SENDER,
        header_bytes,
        recipient.as_bytes(),
        sender,
        message,
    ]
    .concat()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
