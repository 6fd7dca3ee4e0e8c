//! The encoding of an account's state inside its pickle (`PROTOCOL.md` §6.2).

use std::collections::{BTreeMap, VecDeque};

use x25519_dalek::StaticSecret;

use super::{Account, MAX_ONE_TIME_PREKEYS, MAX_REMEMBERED_BASE_KEYS, SignedPreKey};
use crate::error::PickleError;
use crate::identity::Identity;
use crate::pickle::codec::{Reader, Writer};

/// Version of the account state encoding.
const ACCOUNT_STATE_VERSION: u8 = 1;

pub(super) fn encode(account: &Account) -> zeroize::Zeroizing<Vec<u8>> {
    let mut w = Writer::new();
    w.u8(ACCOUNT_STATE_VERSION);
    let (agreement, signing) = account.identity.secret_seeds();
    w.bytes(agreement.as_ref()).bytes(signing.as_ref());
    write_signed_prekey(&mut w, &account.signed_prekey);
    match &account.previous_signed_prekey {
        None => {
            w.bool(false);
        }
        Some(previous) => {
            w.bool(true);
            write_signed_prekey(&mut w, previous);
        }
    }
    w.count(account.one_time_prekeys.len());
    for (id, secret) in &account.one_time_prekeys {
        w.u32(*id).bytes(secret.as_bytes());
    }
    w.u32(account.next_prekey_id)
        .count(account.accepted_base_keys.len());
    for key in &account.accepted_base_keys {
        w.bytes(key);
    }
    w.finish()
}

fn write_signed_prekey(w: &mut Writer, key: &SignedPreKey) {
    w.u32(key.id)
        .bytes(key.secret.as_bytes())
        .bytes(&key.signature);
}

fn read_signed_prekey(r: &mut Reader<'_>) -> Result<SignedPreKey, PickleError> {
    Ok(SignedPreKey {
        id: r.u32()?,
        secret: StaticSecret::from(*r.secret::<32>()?),
        signature: r.array()?,
    })
}

pub(super) fn decode(bytes: &[u8]) -> Result<Account, PickleError> {
    let mut r = Reader::new(bytes);
    if r.u8()? != ACCOUNT_STATE_VERSION {
        return Err(PickleError::UnsupportedVersion);
    }
    let agreement = r.secret::<32>()?;
    let signing = r.secret::<32>()?;
    let identity = Identity::from_seeds(*agreement, *signing);
    let signed_prekey = read_signed_prekey(&mut r)?;
    let previous_signed_prekey = if r.bool()? {
        Some(read_signed_prekey(&mut r)?)
    } else {
        None
    };
    let mut one_time_prekeys = BTreeMap::new();
    for _ in 0..r.count(MAX_ONE_TIME_PREKEYS)? {
        let id = r.u32()?;
        let secret = StaticSecret::from(*r.secret::<32>()?);
        if one_time_prekeys.insert(id, secret).is_some() {
            return Err(PickleError::Malformed);
        }
    }
    let next_prekey_id = r.u32()?;
    let mut accepted_base_keys = VecDeque::new();
    for _ in 0..r.count(MAX_REMEMBERED_BASE_KEYS)? {
        accepted_base_keys.push_back(r.array()?);
    }
    r.finish()?;
    Ok(Account {
        identity,
        signed_prekey,
        previous_signed_prekey,
        one_time_prekeys,
        next_prekey_id,
        accepted_base_keys,
    })
}
