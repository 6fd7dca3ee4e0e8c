//! The encoding of an account's state inside its pickle (`PROTOCOL.md` §6.2).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use x25519_dalek::StaticSecret;

use super::signed_prekey::INITIATOR_TAG_LEN;
use super::{
    Account, MAX_BASE_KEYS_PER_SIGNED_PREKEY, MAX_ONE_TIME_PREKEYS, MAX_PREVIOUS_SIGNED_PREKEYS,
    SignedPreKey, SignedPreKeys,
};
use crate::error::PickleError;
use crate::identity::Identity;
use crate::pickle::codec::{Reader, Writer};

/// Version of the account state encoding. Version 1 kept one bounded list
/// of base keys for the whole account; version 2 keeps them per signed
/// prekey with their initiators' tags, each signed prekey's clock, and up to
/// [`MAX_PREVIOUS_SIGNED_PREKEYS`] replaced keys.
const ACCOUNT_STATE_VERSION: u8 = 2;

/// The version-1 encoding, still read (see [`decode`]).
const ACCOUNT_STATE_V1: u8 = 1;

/// The most base keys a version-1 state held; a full list may have evicted
/// some.
const V1_MAX_BASE_KEYS: usize = 1000;

/// The initiator tag of base keys imported from version 1, which did not
/// record initiators.
const UNKNOWN_INITIATOR: [u8; INITIATOR_TAG_LEN] = [0; INITIATOR_TAG_LEN];

pub(super) fn encode(account: &Account) -> zeroize::Zeroizing<Vec<u8>> {
    let mut w = Writer::new();
    w.u8(ACCOUNT_STATE_VERSION);
    let (agreement, signing) = account.identity.secret_seeds();
    w.bytes(agreement.as_ref()).bytes(signing.as_ref());
    let keys = &account.signed_prekeys;
    write_signed_prekey(&mut w, &keys.current);
    w.count(keys.previous.len());
    for previous in &keys.previous {
        write_signed_prekey(&mut w, previous);
    }
    w.count(account.one_time_prekeys.len());
    for (id, secret) in &account.one_time_prekeys {
        w.u32(*id).bytes(secret.as_bytes());
    }
    w.u32(account.next_prekey_id);
    w.finish()
}

fn write_signed_prekey(w: &mut Writer, key: &SignedPreKey) {
    w.u32(key.id)
        .bytes(key.secret.as_bytes())
        .bytes(&key.signature)
        .u64(key.since)
        .bool(key.closed)
        .count(key.accepted.len());
    for (base_key, tag) in &key.accepted {
        w.bytes(base_key).bytes(tag);
    }
}

/// Reads a signed prekey; version 1 stored only id, secret and signature.
fn read_signed_prekey(r: &mut Reader<'_>, version: u8) -> Result<SignedPreKey, PickleError> {
    let mut key = SignedPreKey {
        id: r.u32()?,
        secret: StaticSecret::from(*r.secret::<32>()?),
        signature: r.array()?,
        since: 0,
        closed: false,
        accepted: BTreeMap::new(),
    };
    if version == ACCOUNT_STATE_VERSION {
        key.since = r.u64()?;
        key.closed = r.bool()?;
        for _ in 0..r.count(MAX_BASE_KEYS_PER_SIGNED_PREKEY)? {
            let base_key = r.array()?;
            if key.accepted.insert(base_key, r.array()?).is_some() {
                return Err(PickleError::Malformed);
            }
        }
    }
    Ok(key)
}

/// Decodes version 2, or version 1. A version-1 state's base keys are
/// remembered by both of its signed prekeys (it did not say which accepted
/// which); if its list was full, it may have evicted base keys whose prekey
/// messages would then replay, so both signed prekeys are closed: they
/// accept no new session, and the next maintenance replaces and deletes
/// them.
pub(super) fn decode(bytes: &[u8]) -> Result<Account, PickleError> {
    let mut r = Reader::new(bytes);
    let version = r.u8()?;
    if version != ACCOUNT_STATE_VERSION && version != ACCOUNT_STATE_V1 {
        return Err(PickleError::UnsupportedVersion);
    }
    let agreement = r.secret::<32>()?;
    let signing = r.secret::<32>()?;
    let identity = Identity::from_seeds(*agreement, *signing);
    let current = read_signed_prekey(&mut r, version)?;
    let previous_count = if version == ACCOUNT_STATE_V1 {
        usize::from(r.bool()?)
    } else {
        r.count(MAX_PREVIOUS_SIGNED_PREKEYS)?
    };
    let mut previous = VecDeque::with_capacity(previous_count);
    for _ in 0..previous_count {
        previous.push_back(read_signed_prekey(&mut r, version)?);
    }
    let mut one_time_prekeys = BTreeMap::new();
    for _ in 0..r.count(MAX_ONE_TIME_PREKEYS)? {
        let id = r.u32()?;
        let secret = StaticSecret::from(*r.secret::<32>()?);
        if one_time_prekeys.insert(id, secret).is_some() {
            return Err(PickleError::Malformed);
        }
    }
    let next_prekey_id = r.u32()?;
    let mut signed_prekeys = SignedPreKeys { current, previous };
    if version == ACCOUNT_STATE_V1 {
        let count = r.count(V1_MAX_BASE_KEYS)?;
        let mut base_keys = BTreeSet::new();
        for _ in 0..count {
            base_keys.insert(r.array::<32>()?);
        }
        for key in std::iter::once(&mut signed_prekeys.current).chain(&mut signed_prekeys.previous)
        {
            key.closed = count == V1_MAX_BASE_KEYS;
            key.accepted = base_keys.iter().map(|k| (*k, UNKNOWN_INITIATOR)).collect();
        }
    }
    r.finish()?;
    let mut ids = BTreeSet::new();
    for key in std::iter::once(&signed_prekeys.current).chain(&signed_prekeys.previous) {
        if !ids.insert(key.id) {
            return Err(PickleError::Malformed);
        }
    }
    Ok(Account {
        identity,
        signed_prekeys,
        one_time_prekeys,
        next_prekey_id,
    })
}
