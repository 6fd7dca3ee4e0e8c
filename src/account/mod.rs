//! A device's account (`PROTOCOL.md` §4): its identity plus the secret
//! halves of its prekeys, and the responder side of session start.

mod persist;

use std::collections::{BTreeMap, VecDeque};

use x25519_dalek::{PublicKey, StaticSecret};

use crate::agreement;
use crate::error::{KeyError, PickleError, PreKeyError, SessionError};
use crate::identity::{Identity, PublicIdentity};
use crate::pickle::{self, PickleKind, StorageKey};
use crate::prekey::{self, MAX_ONE_TIME_PREKEYS_PER_BUNDLE, OneTimePreKey, PreKeyBundle};
use crate::rng;
use crate::session::{self, ParsedEnvelope, Session};

/// Most one-time prekey secrets an account holds; generating more is refused
/// (`too_many_prekeys`).
pub const MAX_ONE_TIME_PREKEYS: usize = 200;

/// How many accepted session base keys are remembered, so that a replayed
/// prekey message (with or without a one-time prekey) is refused
/// (`replayed_message`) instead of creating a duplicate session.
pub const MAX_REMEMBERED_BASE_KEYS: usize = 1000;

/// A signed prekey's secret with its published id and signature.
#[derive(Clone)]
pub(crate) struct SignedPreKey {
    pub(crate) id: u32,
    pub(crate) secret: StaticSecret,
    pub(crate) signature: [u8; 64],
}

/// A device account: identity, signed prekey (and the previous one, during
/// rotation), one-time prekeys, and replay memory for session starts.
pub struct Account {
    identity: Identity,
    signed_prekey: SignedPreKey,
    previous_signed_prekey: Option<SignedPreKey>,
    one_time_prekeys: BTreeMap<u32, StaticSecret>,
    next_prekey_id: u32,
    accepted_base_keys: VecDeque<[u8; 32]>,
}

/// The result of accepting a session: the new session and the first
/// message's plaintext.
#[derive(Debug)]
pub struct AcceptedSession {
    /// The new session; store it (exported) before acknowledging the message.
    pub session: Session,
    /// The plaintext of the message that started the session.
    pub plaintext: Vec<u8>,
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
        let signed_prekey = make_signed_prekey(&identity, first_id)?;
        let mut account = Self {
            identity,
            signed_prekey,
            previous_signed_prekey: None,
            one_time_prekeys: BTreeMap::new(),
            next_prekey_id: first_id,
            accepted_base_keys: VecDeque::new(),
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

    /// Replaces the signed prekey; the previous one still accepts sessions
    /// started from bundles published before the rotation.
    ///
    /// # Errors
    /// [`PreKeyError::Rng`].
    pub fn rotate_signed_prekey(&mut self) -> Result<(), PreKeyError> {
        let id = self.take_prekey_id();
        let fresh = make_signed_prekey(&self.identity, id)?;
        self.previous_signed_prekey = Some(std::mem::replace(&mut self.signed_prekey, fresh));
        Ok(())
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
            self.signed_prekey.id,
            PublicKey::from(&self.signed_prekey.secret),
            self.signed_prekey.signature,
            one_time,
        )
    }

    /// Accepts a session from its first (prekey) message and decrypts that
    /// message. The one-time prekey it used is deleted only if the message
    /// authenticated, so it can never start a second session; on any error
    /// the account is unchanged.
    ///
    /// Check [`Session::peer_identity`] of the result: anyone can start a
    /// session with a published bundle.
    ///
    /// # Errors
    /// The structural errors of [`Session::decrypt`];
    /// [`SessionError::NotPreKeyMessage`], [`SessionError::Replayed`],
    /// [`SessionError::UnknownSignedPreKey`],
    /// [`SessionError::UnknownOneTimePreKey`],
    /// [`SessionError::NonContributory`], [`SessionError::WrongSession`],
    /// [`SessionError::DecryptFailed`].
    pub fn accept_session(&mut self, message: &[u8]) -> Result<AcceptedSession, SessionError> {
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
        if self.accepted_base_keys.contains(&fields.base_key) {
            return Err(SessionError::Replayed);
        }
        let signed_prekey = self
            .find_signed_prekey(fields.signed_prekey_id)
            .ok_or(SessionError::UnknownSignedPreKey)?;
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

        // Authenticated: consume the one-time prekey and remember the base key.
        if let Some(id) = fields.one_time_prekey_id {
            self.one_time_prekeys.remove(&id);
        }
        if self.accepted_base_keys.len() >= MAX_REMEMBERED_BASE_KEYS {
            self.accepted_base_keys.pop_front();
        }
        self.accepted_base_keys.push_back(fields.base_key);
        Ok(AcceptedSession { session, plaintext })
    }

    fn find_signed_prekey(&self, id: u32) -> Option<&SignedPreKey> {
        std::iter::once(&self.signed_prekey)
            .chain(self.previous_signed_prekey.as_ref())
            .find(|k| k.id == id)
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

fn make_signed_prekey(identity: &Identity, id: u32) -> Result<SignedPreKey, PreKeyError> {
    let secret = StaticSecret::from(*rng::secret_bytes::<32>()?);
    let public = PublicKey::from(&secret);
    let signature = identity.sign(&prekey::signed_prekey_message(
        identity.public_identity(),
        id,
        public.as_bytes(),
    ));
    Ok(SignedPreKey {
        id,
        secret,
        signature,
    })
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
