//! A device's account (`PROTOCOL.md` §4): its identity plus the secret
//! halves of its prekeys, and the responder side of session start.

mod persist;
mod signed_prekey;

use std::collections::{BTreeMap, VecDeque};

use zeroize::Zeroizing;

use x25519_dalek::{PublicKey, StaticSecret};

use crate::agreement;
use crate::error::{KeyError, PickleError, PreKeyError, SessionError};
use crate::identity::{Identity, PublicIdentity};
use crate::pickle::{self, PickleKind, StorageKey};
use crate::prekey::{MAX_ONE_TIME_PREKEYS_PER_BUNDLE, OneTimePreKey, PreKeyBundle};
use crate::rng;
use crate::session::{self, ParsedEnvelope, Session};
use signed_prekey::{SignedPreKey, SignedPreKeys, initiator_tag};

pub use signed_prekey::{
    MAX_BASE_KEYS_PER_SIGNED_PREKEY, MAX_PREVIOUS_SIGNED_PREKEYS, MAX_SESSIONS_PER_INITIATOR,
    PreKeyMaintenance, SIGNED_PREKEY_GRACE_SECS, SIGNED_PREKEY_ROTATION_SECS,
};

/// Most one-time prekey secrets an account holds; generating more is refused
/// (`too_many_prekeys`).
pub const MAX_ONE_TIME_PREKEYS: usize = 200;

/// A device account: identity, signed prekey (and the previous one, during
/// rotation), one-time prekeys, and replay memory for session starts.
pub struct Account {
    identity: Identity,
    signed_prekeys: SignedPreKeys,
    one_time_prekeys: BTreeMap<u32, StaticSecret>,
    next_prekey_id: u32,
}

/// The result of accepting a session: the new session and the first
/// message's plaintext (wiped when dropped).
///
/// `Debug` shows the session's redacted form and the plaintext's length only.
pub struct AcceptedSession {
    /// The new session; store it (exported) before acknowledging the message.
    pub session: Session,
    /// The plaintext of the message that started the session.
    pub plaintext: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for AcceptedSession {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AcceptedSession")
            .field("session", &self.session)
            .field(
                "plaintext",
                &format_args!("[redacted; {} bytes]", self.plaintext.len()),
            )
            .finish()
    }
}

impl Account {
    /// A new account with a fresh identity and signed prekey, and no
    /// one-time prekeys yet.
    ///
    /// # Errors
    /// [`PreKeyError::Rng`].
    pub fn new() -> Result<Self, PreKeyError> {
        let identity = Identity::generate().map_err(|_: KeyError| PreKeyError::Rng)?;
        Self::with_identity(identity)
    }

    /// A new account around an existing identity.
    ///
    /// # Errors
    /// [`PreKeyError::Rng`].
    pub fn with_identity(identity: Identity) -> Result<Self, PreKeyError> {
        // Prekey ids start at a random point, so a prekey message sent to the
        // wrong account names an id that account almost surely lacks.
        let first_id = u32::from_be_bytes(rng::public_bytes::<4>()?).max(1);
        let current = SignedPreKey::generate(&identity, first_id)?;
        let mut account = Self {
            identity,
            signed_prekeys: SignedPreKeys {
                current,
                previous: VecDeque::new(),
            },
            one_time_prekeys: BTreeMap::new(),
            next_prekey_id: first_id,
        };
        account.take_prekey_id();
        Ok(account)
    }

    /// The account's identity (also usable for sealed messages).
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The public identity.
    pub fn public_identity(&self) -> &PublicIdentity {
        self.identity.public_identity()
    }

    /// Generates `count` more one-time prekeys.
    ///
    /// # Errors
    /// [`PreKeyError::TooManyOneTimePreKeys`] if the account would hold more
    /// than [`MAX_ONE_TIME_PREKEYS`]; [`PreKeyError::Rng`].
    pub fn generate_one_time_prekeys(&mut self, count: usize) -> Result<(), PreKeyError> {
        if self.one_time_prekeys.len().saturating_add(count) > MAX_ONE_TIME_PREKEYS {
            return Err(PreKeyError::TooManyOneTimePreKeys);
        }
        for _ in 0..count {
            let secret = StaticSecret::from(*rng::secret_bytes::<32>()?);
            let id = self.take_prekey_id();
            self.one_time_prekeys.insert(id, secret);
        }
        Ok(())
    }

    /// How many one-time prekeys are still unused.
    pub fn one_time_prekey_count(&self) -> usize {
        self.one_time_prekeys.len()
    }

    /// Replaces the signed prekey now; the replaced one still accepts
    /// sessions started from bundles published before (and still refuses
    /// replays of them) until maintenance retires it after its grace period.
    /// If [`MAX_PREVIOUS_SIGNED_PREKEYS`] replaced keys are already kept, the
    /// oldest is deleted. Prefer
    /// [`maintain_signed_prekeys`](Self::maintain_signed_prekeys), which
    /// never deletes a key in its grace period.
    ///
    /// # Errors
    /// [`PreKeyError::Rng`]; the account is then unchanged.
    pub fn rotate_signed_prekey(&mut self) -> Result<(), PreKeyError> {
        let fresh = SignedPreKey::generate(&self.identity, self.next_prekey_id)?;
        self.take_prekey_id();
        self.signed_prekeys.rotate(fresh, 0);
        Ok(())
    }

    /// Keeps the signed prekeys on schedule; call it at start-up and then
    /// about daily with the current time (Unix seconds; CareSeal reads no
    /// clock of its own), after reading waiting messages.
    ///
    /// It replaces the signed prekey once it has been current for
    /// [`SIGNED_PREKEY_ROTATION_SECS`], or early once its replay memory is
    /// three quarters full, and deletes a replaced one
    /// [`SIGNED_PREKEY_GRACE_SECS`] after its replacement. It never deletes a
    /// replaced key before its grace period ends: with
    /// [`MAX_PREVIOUS_SIGNED_PREKEYS`] in their grace, a due rotation waits.
    /// The first call on an account starts the clock; a clock reading
    /// earlier than a stored one restarts that key's clock, so a clock that
    /// jumped ahead once cannot stall rotation.
    ///
    /// Export the account after any outcome but
    /// [`PreKeyMaintenance::Unchanged`]; after
    /// [`PreKeyMaintenance::Rotated`] also publish the new
    /// [`prekey_bundle`](Self::prekey_bundle).
    ///
    /// # Errors
    /// [`PreKeyError::Rng`]; the account is then unchanged.
    pub fn maintain_signed_prekeys(&mut self, now: u64) -> Result<PreKeyMaintenance, PreKeyError> {
        let Self {
            identity,
            signed_prekeys,
            next_prekey_id,
            ..
        } = self;
        let outcome =
            signed_prekeys.maintain(now, || SignedPreKey::generate(identity, *next_prekey_id))?;
        if outcome == PreKeyMaintenance::Rotated {
            self.take_prekey_id();
        }
        Ok(outcome)
    }

    /// The id of the current signed prekey (the one in the published bundle).
    pub fn signed_prekey_id(&self) -> u32 {
        self.signed_prekeys.current.id
    }

    /// The bundle to publish: identity, signed prekey and up to
    /// [`MAX_ONE_TIME_PREKEYS_PER_BUNDLE`] one-time prekeys.
    pub fn prekey_bundle(&self) -> PreKeyBundle {
        let one_time = self
            .one_time_prekeys
            .iter()
            .take(MAX_ONE_TIME_PREKEYS_PER_BUNDLE)
            .map(|(id, secret)| OneTimePreKey {
                id: *id,
                key: PublicKey::from(secret).to_bytes(),
            })
            .collect();
        PreKeyBundle::from_parts(
            self.public_identity().clone(),
            self.signed_prekeys.current.id,
            PublicKey::from(&self.signed_prekeys.current.secret),
            self.signed_prekeys.current.signature,
            one_time,
        )
    }

    /// Accepts a session from its first (prekey) message and decrypts that
    /// message, if `approve` accepts the initiator's identity.
    ///
    /// Anyone can start a session with a published bundle, so the caller
    /// decides who may: `approve` is called once, with the initiator's
    /// identity, after the message authenticated and before anything is
    /// committed. Return `true` only for an identity you expect, comparing
    /// the *whole* identity (`|id| id == &expected`, or membership in a
    /// signed device list): the session proves the sender holds the
    /// identity's X25519 key, while its Ed25519 half is only claimed. If it
    /// returns `false` the result is [`SessionError::IdentityMismatch`] and
    /// the account is unchanged.
    ///
    /// The one-time prekey the message used is deleted only if the session
    /// is accepted, so it can never start a second session; on any error the
    /// account is unchanged.
    ///
    /// # Errors
    /// The structural errors of [`Session::decrypt`];
    /// [`SessionError::NotPreKeyMessage`], [`SessionError::Replayed`],
    /// [`SessionError::UnknownSignedPreKey`],
    /// [`SessionError::UnknownOneTimePreKey`],
    /// [`SessionError::SignedPreKeyExhausted`], [`SessionError::TooManySessions`],
    /// [`SessionError::NonContributory`], [`SessionError::WrongSession`],
    /// [`SessionError::DecryptFailed`], [`SessionError::IdentityMismatch`].
    pub fn accept_session(
        &mut self,
        message: &[u8],
        approve: impl FnOnce(&PublicIdentity) -> bool,
    ) -> Result<AcceptedSession, SessionError> {
        let parsed = session::parse(message)?;
        let ParsedEnvelope::PreKey(fields, inner) = parsed else {
            return Err(SessionError::NotPreKeyMessage);
        };
        let initiator = PublicIdentity::from_bytes(&fields.identity).map_err(|e| match e {
            KeyError::NonContributory => SessionError::NonContributory,
            _ => SessionError::Malformed,
        })?;
        if !agreement::is_canonical(&fields.base_key) {
            return Err(SessionError::Malformed);
        }
        let signed_prekey = self
            .signed_prekeys
            .find(fields.signed_prekey_id)
            .ok_or(SessionError::UnknownSignedPreKey)?;
        signed_prekey.check_new_session(&fields.base_key)?;
        let one_time = match fields.one_time_prekey_id {
            None => None,
            Some(id) => Some(
                self.one_time_prekeys
                    .get(&id)
                    .ok_or(SessionError::UnknownOneTimePreKey)?,
            ),
        };
        let agreed = session::respond(
            self.identity.agreement_secret(),
            self.identity.public_identity(),
            &signed_prekey.secret,
            one_time,
            &initiator,
            &PublicKey::from(fields.base_key),
        )
        .map_err(|_| SessionError::NonContributory)?;
        if agreed.session_id != inner.session_id {
            return Err(SessionError::WrongSession);
        }
        let mut session = Session::responder(
            agreed,
            initiator,
            fields.clone(),
            signed_prekey.secret.clone(),
        );
        let plaintext = session.decrypt_parsed(&inner)?;
        let tag = initiator_tag(session.peer_identity());
        signed_prekey.check_initiator(&tag)?;
        if !approve(session.peer_identity()) {
            return Err(SessionError::IdentityMismatch);
        }

        // Authenticated and approved: consume the one-time prekey and
        // remember the base key for the signed prekey's lifetime.
        if let Some(id) = fields.one_time_prekey_id {
            self.one_time_prekeys.remove(&id);
        }
        if let Some(signed_prekey) = self.signed_prekeys.find_mut(fields.signed_prekey_id) {
            signed_prekey.remember(fields.base_key, tag);
        }
        Ok(AcceptedSession { session, plaintext })
    }

    fn take_prekey_id(&mut self) -> u32 {
        let id = self.next_prekey_id;
        self.next_prekey_id = self.next_prekey_id.wrapping_add(1).max(1);
        id
    }

    /// Exports the account (identity and prekey secrets), encrypted and
    /// authenticated under `key`.
    ///
    /// # Errors
    /// [`PickleError::Rng`], [`PickleError::TooLarge`].
    pub fn export(&self, key: &StorageKey) -> Result<Vec<u8>, PickleError> {
        pickle::seal(PickleKind::Account, key, &persist::encode(self))
    }

    /// Imports an account exported with the same key.
    ///
    /// # Errors
    /// [`PickleError::DecryptFailed`] for a wrong key or altered blob,
    /// [`PickleError::Malformed`], [`PickleError::UnsupportedVersion`],
    /// [`PickleError::TooLarge`].
    pub fn import(key: &StorageKey, blob: &[u8]) -> Result<Self, PickleError> {
        let state = pickle::open(PickleKind::Account, key, blob)?;
        persist::decode(&state)
    }
}

impl core::fmt::Debug for Account {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Account")
            .field("identity", &self.identity)
            .field("one_time_prekeys", &self.one_time_prekeys.len())
            .field("secrets", &"[redacted]")
            .finish()
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
