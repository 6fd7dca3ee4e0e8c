//! Pairwise sessions (`PROTOCOL.md` §5): X3DH to start asynchronously, then
//! the Double Ratchet for forward secrecy and post-compromise recovery.
//!
//! A [`Session`] exists only once key agreement has happened: the initiator
//! gets one from [`Session::initiate`] with the peer's [`PreKeyBundle`], the
//! responder from [`crate::Account::accept_session`] with the first message.
//! There is no way to encrypt before that.
//!
//! Every call that reads a message is all-or-nothing: the ratchet runs on a
//! copy of the state, and the copy replaces the state only if the message
//! authenticated. A tampered, replayed, reordered-beyond-limits or foreign
//! message changes nothing, and the next good message still decrypts.

mod chain;
mod message;
mod persist;
mod ratchet;
mod skipped;
mod x3dh;

pub use message::{
    MAX_SESSION_ENVELOPE_LEN, MAX_SESSION_MESSAGE_LEN, SESSION_ID_LEN, SESSION_MESSAGE_VERSION,
    SessionMessageSummary, inspect, session_id_of,
};
pub use skipped::{MAX_SKIPPED_PER_CHAIN, MAX_SKIPPED_TOTAL};

pub(crate) use message::{ParsedEnvelope, ParsedMessage, PreKeyFields, parse};
pub(crate) use x3dh::{X3dhOutput, respond};

use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::aead::XNONCE_LEN;
use crate::error::{PickleError, PreKeyError, SessionError};
use crate::identity::{Identity, PublicIdentity};
use crate::padding;
use crate::pickle::{self, PickleKind, StorageKey};
use crate::prekey::PreKeyBundle;
use crate::rng;
use ratchet::RatchetState;
use x3dh::ASSOCIATED_DATA_LEN;

/// One side of an end-to-end encrypted conversation between two devices.
///
/// `Debug` shows only the session id and the peer.
pub struct Session {
    session_id: [u8; SESSION_ID_LEN],
    associated_data: [u8; ASSOCIATED_DATA_LEN],
    peer: PublicIdentity,
    we_initiated: bool,
    /// Set on the initiator until the first message from the peer arrives:
    /// until then every outgoing message is a prekey message, so the peer
    /// can create the session from whichever arrives first.
    pending_prekey: Option<PreKeyFields>,
    /// Set on the responder: the prekey fields that created the session.
    /// Later prekey messages must carry exactly these.
    accepted_from: Option<PreKeyFields>,
    state: RatchetState,
}

impl Session {
    /// Starts a session with the owner of `bundle` (X3DH, initiator side).
    /// Uses the bundle's first one-time prekey, if it has one.
    ///
    /// Pass `expected` when you know whose device this should be (for
    /// example a verified contact): a bundle of any other identity is refused.
    ///
    /// # Errors
    /// [`PreKeyError::IdentityMismatch`], [`PreKeyError::NonContributory`],
    /// [`PreKeyError::Rng`].
    pub fn initiate(
        identity: &Identity,
        bundle: &PreKeyBundle,
        expected: Option<&PublicIdentity>,
    ) -> Result<Self, PreKeyError> {
        if expected.is_some_and(|e| e != bundle.identity()) {
            return Err(PreKeyError::IdentityMismatch);
        }
        let one_time = bundle.one_time_prekeys().first();
        let one_time_key = one_time.map(|k| PublicKey::from(k.key));
        let ephemeral = StaticSecret::from(*rng::secret_bytes::<32>()?);
        let agreed = x3dh::initiate(
            identity.agreement_secret(),
            identity.public_identity(),
            &ephemeral,
            bundle.identity(),
            bundle.signed_prekey(),
            one_time_key.as_ref(),
        )
        .map_err(|_| PreKeyError::NonContributory)?;
        let state =
            RatchetState::initiator(agreed.root, bundle.signed_prekey()).map_err(|e| match e {
                SessionError::Rng => PreKeyError::Rng,
                _ => PreKeyError::NonContributory,
            })?;
        Ok(Self {
            session_id: agreed.session_id,
            associated_data: agreed.associated_data,
            peer: bundle.identity().clone(),
            we_initiated: true,
            accepted_from: None,
            pending_prekey: Some(PreKeyFields {
                identity: *identity.public_identity().as_bytes(),
                base_key: PublicKey::from(&ephemeral).to_bytes(),
                signed_prekey_id: bundle.signed_prekey_id(),
                one_time_prekey_id: one_time.map(|k| k.id),
            }),
            state,
        })
    }

    /// The responder's session, before its first message is decrypted.
    pub(crate) fn responder(
        agreed: X3dhOutput,
        initiator: PublicIdentity,
        fields: PreKeyFields,
        signed_prekey: StaticSecret,
    ) -> Self {
        Self {
            session_id: agreed.session_id,
            associated_data: agreed.associated_data,
            peer: initiator,
            we_initiated: false,
            pending_prekey: None,
            accepted_from: Some(fields),
            state: RatchetState::responder(agreed.root, signed_prekey),
        }
    }

    /// The session identifier: the same on both sides, different for every
    /// session. Route incoming messages with [`session_id_of`].
    pub fn session_id(&self) -> [u8; SESSION_ID_LEN] {
        self.session_id
    }

    /// The other device's identity.
    pub fn peer_identity(&self) -> &PublicIdentity {
        &self.peer
    }

    /// Whether this side still sends prekey messages (it started the session
    /// and has not yet heard back).
    pub fn is_awaiting_reply(&self) -> bool {
        self.pending_prekey.is_some()
    }

    /// Encrypts `plaintext` (padded to a size bucket) as the next message.
    ///
    /// # Errors
    /// [`SessionError::MessageTooLarge`] above [`MAX_SESSION_MESSAGE_LEN`];
    /// [`SessionError::CounterExhausted`] after 2^32 - 1 messages without
    /// a reply.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, SessionError> {
        if plaintext.len() > MAX_SESSION_MESSAGE_LEN {
            return Err(SessionError::MessageTooLarge);
        }
        let mut state = self.state.clone();
        let (header, message_key) = state.next_sending_key()?;
        // A fresh random nonce for every message: even if this state was
        // restored from an export that already sent this counter, key and
        // nonce never repeat together (PROTOCOL.md §5.4).
        let nonce = rng::public_bytes::<XNONCE_LEN>()?;
        let header_bytes = header.to_bytes(&self.session_id, &nonce);
        let padded = padding::padded(plaintext);
        let ciphertext = message_key
            .seal(&nonce, &self.aad(&header_bytes), &padded)
            .map_err(|_| SessionError::MessageTooLarge)?;

        let mut out =
            Vec::with_capacity(message::PREKEY_HEADER_LEN + header_bytes.len() + ciphertext.len());
        if let Some(fields) = &self.pending_prekey {
            out.extend_from_slice(&fields.to_bytes());
        }
        out.extend_from_slice(&header_bytes);
        out.extend_from_slice(&ciphertext);
        self.state = state;
        Ok(out)
    }

    /// Decrypts a message of this session.
    ///
    /// Guarantees: the plaintext was sent by the peer in this session and not
    /// altered; each message decrypts at most once; messages may arrive in any
    /// order within [`MAX_SKIPPED_PER_CHAIN`] per chain and
    /// [`MAX_SKIPPED_TOTAL`] in all. On any error the session is unchanged.
    ///
    /// # Errors
    /// Structural: [`SessionError::Empty`], [`SessionError::EnvelopeTooLarge`],
    /// [`SessionError::UnsupportedVersion`], [`SessionError::Malformed`],
    /// [`SessionError::Truncated`]. Then [`SessionError::WrongSession`],
    /// [`SessionError::Replayed`], [`SessionError::TooManySkipped`],
    /// [`SessionError::NonContributory`], [`SessionError::DecryptFailed`].
    pub fn decrypt(&mut self, message: &[u8]) -> Result<Zeroizing<Vec<u8>>, SessionError> {
        match message::parse(message)? {
            ParsedEnvelope::Message(inner) => self.decrypt_parsed(&inner),
            ParsedEnvelope::PreKey(fields, inner) => {
                // Only the fields that created this session are acceptable:
                // the outer fields are not covered by the inner message's
                // authentication, so they are compared instead.
                if self.accepted_from.as_ref() != Some(&fields) {
                    return Err(SessionError::WrongSession);
                }
                self.decrypt_parsed(&inner)
            }
        }
    }

    /// Decrypts the normal message part of a parsed envelope, all or nothing.
    pub(crate) fn decrypt_parsed(
        &mut self,
        message: &ParsedMessage<'_>,
    ) -> Result<Zeroizing<Vec<u8>>, SessionError> {
        if message.session_id != self.session_id {
            return Err(SessionError::WrongSession);
        }
        let mut state = self.state.clone();
        let message_key = state.receiving_key(&message.header)?;
        let padded = message_key
            .open(
                &message.nonce,
                &self.aad(message.header_bytes),
                message.ciphertext,
            )
            .map_err(|_| SessionError::DecryptFailed)?;
        let plaintext = padding::unpad(&padded).ok_or(SessionError::Malformed)?;
        // The padding bucket of the largest message holds a little more than
        // the limit; a peer that sends more is refused like a sender would be.
        if plaintext.len() > MAX_SESSION_MESSAGE_LEN {
            return Err(SessionError::MessageTooLarge);
        }
        let plaintext = Zeroizing::new(plaintext.to_vec());
        self.state = state;
        self.pending_prekey = None;
        Ok(plaintext)
    }

    /// AD = identity(initiator) || identity(responder) || message header.
    fn aad(&self, header_bytes: &[u8]) -> Vec<u8> {
        [&self.associated_data[..], header_bytes].concat()
    }

    /// Exports the session, encrypted and authenticated under `key`.
    ///
    /// # Errors
    /// [`PickleError::Rng`], [`PickleError::TooLarge`].
    pub fn export(&self, key: &StorageKey) -> Result<Vec<u8>, PickleError> {
        pickle::seal(PickleKind::Session, key, &persist::encode(self))
    }

    /// Imports a session exported with the same key. The restored session
    /// carries on exactly where the exported one was.
    ///
    /// # Errors
    /// [`PickleError::DecryptFailed`] for a wrong key or altered blob,
    /// [`PickleError::Malformed`], [`PickleError::UnsupportedVersion`],
    /// [`PickleError::TooLarge`].
    pub fn import(key: &StorageKey, blob: &[u8]) -> Result<Self, PickleError> {
        let state = pickle::open(PickleKind::Session, key, blob)?;
        persist::decode(&state)
    }
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("session_id", &crate::hex::encode(&self.session_id))
            .field("we_initiated", &self.we_initiated)
            .field("state", &"[redacted]")
            .finish()
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
