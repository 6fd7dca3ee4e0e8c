//! Signed prekeys (`PROTOCOL.md` §4.1): the current one, the replaced ones
//! still in their grace period, the base keys of the sessions each accepted
//! (replay memory, §5.2), and the rotation schedule.

use std::collections::{BTreeMap, VecDeque};

use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};

use crate::error::{PreKeyError, SessionError};
use crate::identity::{Identity, PublicIdentity};
use crate::prekey;
use crate::rng;

/// How many session base keys are remembered for one signed prekey: a
/// prekey message whose base key is remembered is refused
/// (`replayed_message`) instead of starting a second session. Base keys are
/// kept for as long as their signed prekey is accepted, so a replay is
/// refused for the signed prekey's whole life; when a signed prekey's memory
/// is full, further session starts with it are refused
/// (`signed_prekey_exhausted`) until it is rotated.
pub const MAX_BASE_KEYS_PER_SIGNED_PREKEY: usize = 4096;

/// How many sessions one initiator identity may start with one signed
/// prekey (`too_many_sessions` beyond): no single peer can fill a signed
/// prekey's replay memory.
pub const MAX_SESSIONS_PER_INITIATOR: usize = 32;

/// How many replaced signed prekeys are kept in their grace period. A
/// rotation that would need to delete one still in its grace waits instead.
pub const MAX_PREVIOUS_SIGNED_PREKEYS: usize = 3;

/// How long a signed prekey is current before
/// [`crate::Account::maintain_signed_prekeys`] replaces it: 7 days.
pub const SIGNED_PREKEY_ROTATION_SECS: u64 = 7 * 24 * 60 * 60;

/// How long a replaced signed prekey still accepts sessions (from bundles
/// fetched before the rotation) before it and its replay memory are
/// deleted: 7 days.
pub const SIGNED_PREKEY_GRACE_SECS: u64 = 7 * 24 * 60 * 60;

/// Maintenance rotates early once the current signed prekey's replay memory
/// holds this many base keys (three quarters of
/// [`MAX_BASE_KEYS_PER_SIGNED_PREKEY`]), if a slot for a previous key is free.
const ROTATE_AT_BASE_KEYS: usize = MAX_BASE_KEYS_PER_SIGNED_PREKEY / 4 * 3;

/// Length of the tag that counts an initiator's sessions.
pub(crate) const INITIATOR_TAG_LEN: usize = 8;

/// What [`crate::Account::maintain_signed_prekeys`] did. Export the account
/// after anything but `Unchanged`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PreKeyMaintenance {
    /// Nothing changed.
    Unchanged,
    /// A signed prekey's clock was started (or reset after it had run ahead
    /// of the current time).
    ClockStarted,
    /// A replaced signed prekey passed its grace period (or had an
    /// incomplete replay memory) and was deleted with its replay memory.
    RetiredPrevious,
    /// The signed prekey was replaced. Publish the new
    /// [`crate::Account::prekey_bundle`].
    Rotated,
}

/// The first bytes of SHA-256 of an initiator's identity: counts its
/// sessions without storing the identity.
pub(crate) fn initiator_tag(initiator: &PublicIdentity) -> [u8; INITIATOR_TAG_LEN] {
    let digest = Sha256::digest(initiator.as_bytes());
    let mut tag = [0u8; INITIATOR_TAG_LEN];
    tag.copy_from_slice(&digest[..INITIATOR_TAG_LEN]);
    tag
}

/// A signed prekey's secret with its published id and signature, its clock
/// and the base keys of the sessions it accepted.
#[derive(Clone)]
pub(crate) struct SignedPreKey {
    pub(crate) id: u32,
    pub(crate) secret: StaticSecret,
    pub(crate) signature: [u8; 64],
    /// The caller's clock (Unix seconds) when this key became current, or,
    /// for a replaced key, when it was replaced; 0 until maintenance starts
    /// the clock.
    pub(crate) since: u64,
    /// Set when the replay memory is known to be incomplete (imported from
    /// a format that evicted base keys): the key accepts no new session.
    pub(crate) closed: bool,
    /// Base key of each accepted session, with its initiator's tag.
    pub(crate) accepted: BTreeMap<[u8; 32], [u8; INITIATOR_TAG_LEN]>,
}

impl SignedPreKey {
    /// A fresh signed prekey with id `id`, signed by `identity`.
    pub(crate) fn generate(identity: &Identity, id: u32) -> Result<Self, PreKeyError> {
        let secret = StaticSecret::from(*rng::secret_bytes::<32>()?);
        let public = PublicKey::from(&secret);
        let signature = identity.sign(&prekey::signed_prekey_message(
            identity.public_identity(),
            id,
            public.as_bytes(),
        ));
        Ok(Self {
            id,
            secret,
            signature,
            since: 0,
            closed: false,
            accepted: BTreeMap::new(),
        })
    }

    /// Whether a session with `base_key` may start: not a replay, and room
    /// in the replay memory.
    pub(crate) fn check_new_session(&self, base_key: &[u8; 32]) -> Result<(), SessionError> {
        if self.accepted.contains_key(base_key) {
            return Err(SessionError::Replayed);
        }
        if self.closed || self.accepted.len() >= MAX_BASE_KEYS_PER_SIGNED_PREKEY {
            return Err(SessionError::SignedPreKeyExhausted);
        }
        Ok(())
    }

    /// Whether the initiator with `tag` may start one more session.
    pub(crate) fn check_initiator(
        &self,
        tag: &[u8; INITIATOR_TAG_LEN],
    ) -> Result<(), SessionError> {
        let started = self.accepted.values().filter(|t| *t == tag).count();
        if started >= MAX_SESSIONS_PER_INITIATOR {
            return Err(SessionError::TooManySessions);
        }
        Ok(())
    }

    /// Remembers an accepted session's base key.
    pub(crate) fn remember(&mut self, base_key: [u8; 32], tag: [u8; INITIATOR_TAG_LEN]) {
        self.accepted.insert(base_key, tag);
    }
}

/// The current signed prekey and the replaced ones still in their grace
/// period, oldest first.
#[derive(Clone)]
pub(crate) struct SignedPreKeys {
    pub(crate) current: SignedPreKey,
    pub(crate) previous: VecDeque<SignedPreKey>,
}

/// What a maintenance run will do, decided before anything changes.
struct Plan {
    start_clocks: bool,
    retire: bool,
    rotate: bool,
}

impl SignedPreKeys {
    /// The key with `id`, current or previous.
    pub(crate) fn find(&self, id: u32) -> Option<&SignedPreKey> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == id)
    }

    /// The key with `id`, current or previous, to update.
    pub(crate) fn find_mut(&mut self, id: u32) -> Option<&mut SignedPreKey> {
        std::iter::once(&mut self.current)
            .chain(&mut self.previous)
            .find(|k| k.id == id)
    }

    /// Makes `fresh` current now (`now` = 0 when the caller gave no time);
    /// the replaced key starts its grace period. If
    /// [`MAX_PREVIOUS_SIGNED_PREKEYS`] are already kept, the oldest is
    /// deleted: callers that must not do that check first.
    pub(crate) fn rotate(&mut self, mut fresh: SignedPreKey, now: u64) {
        fresh.since = now;
        let mut replaced = std::mem::replace(&mut self.current, fresh);
        replaced.since = now;
        if self.previous.len() >= MAX_PREVIOUS_SIGNED_PREKEYS {
            self.previous.pop_front();
        }
        self.previous.push_back(replaced);
    }

    /// Runs the schedule at `now` (Unix seconds). `fresh` makes the next
    /// signed prekey; it is called only if a rotation is due, before
    /// anything changes, so an error leaves the keys as they were.
    pub(crate) fn maintain(
        &mut self,
        now: u64,
        fresh: impl FnOnce() -> Result<SignedPreKey, PreKeyError>,
    ) -> Result<PreKeyMaintenance, PreKeyError> {
        let plan = self.plan(now);
        let fresh = if plan.rotate { Some(fresh()?) } else { None };
        if plan.start_clocks {
            for key in std::iter::once(&mut self.current).chain(&mut self.previous) {
                if key.since == 0 || key.since > now {
                    key.since = now;
                }
            }
        }
        if plan.retire {
            self.previous.retain(|k| !retirable(k, now));
        }
        if let Some(fresh) = fresh {
            self.rotate(fresh, now);
        }
        Ok(if plan.rotate {
            PreKeyMaintenance::Rotated
        } else if plan.retire {
            PreKeyMaintenance::RetiredPrevious
        } else if plan.start_clocks {
            PreKeyMaintenance::ClockStarted
        } else {
            PreKeyMaintenance::Unchanged
        })
    }

    fn plan(&self, now: u64) -> Plan {
        // A clock not started, or one that ran ahead of `now` (a glitch that
        // would otherwise stall rotation until the real time caught up),
        // restarts at `now`.
        let start_clocks = std::iter::once(&self.current)
            .chain(&self.previous)
            .any(|k| k.since == 0 || k.since > now);
        let since = |k: &SignedPreKey| {
            if k.since == 0 || k.since > now {
                now
            } else {
                k.since
            }
        };
        let retirable_now =
            |k: &SignedPreKey| k.closed || now - since(k) >= SIGNED_PREKEY_GRACE_SECS;
        let retiring = self.previous.iter().filter(|k| retirable_now(k)).count();
        let current = &self.current;
        let due = current.closed
            || now - since(current) >= SIGNED_PREKEY_ROTATION_SECS
            || current.accepted.len() >= ROTATE_AT_BASE_KEYS;
        // Never delete a replaced key before its grace period ends: rotate
        // only if a slot is free once the retirable ones are gone.
        let room = self.previous.len() - retiring < MAX_PREVIOUS_SIGNED_PREKEYS;
        Plan {
            start_clocks,
            retire: retiring > 0,
            rotate: due && room,
        }
    }
}

/// Whether a replaced key may be deleted at `now` (its clock already
/// started or reset).
fn retirable(key: &SignedPreKey, now: u64) -> bool {
    key.closed || now.saturating_sub(key.since) >= SIGNED_PREKEY_GRACE_SECS
}
