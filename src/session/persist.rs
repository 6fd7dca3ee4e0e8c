//! The encoding of a session's state inside its pickle (`PROTOCOL.md` §6.2).

use x25519_dalek::StaticSecret;

use super::Session;
use super::chain::{ChainKey, MessageKey, RootKey};
use super::message::PreKeyFields;
use super::ratchet::{
    MAX_RETIRED_CHAINS, RatchetKeyPair, RatchetState, ReceivingChain, SendingChain,
};
use super::skipped::{MAX_SKIPPED_TOTAL, SkippedKeys};
use super::x3dh::ASSOCIATED_DATA_LEN;
use crate::error::PickleError;
use crate::identity::{PUBLIC_IDENTITY_LEN, PublicIdentity};
use crate::pickle::codec::{Reader, Writer};

/// Version of the session state encoding.
const SESSION_STATE_VERSION: u8 = 1;

pub(super) fn encode(session: &Session) -> zeroize::Zeroizing<Vec<u8>> {
    let mut w = Writer::new();
    w.u8(SESSION_STATE_VERSION)
        .bytes(&session.session_id)
        .bytes(&session.associated_data)
        .bool(session.we_initiated);
    write_prekey_fields(&mut w, session.pending_prekey.as_ref());
    write_prekey_fields(&mut w, session.accepted_from.as_ref());
    let state = &session.state;
    w.bytes(state.root.as_bytes())
        .bytes(state.ours.secret.as_bytes());
    match &state.sending {
        None => {
            w.bool(false);
        }
        Some(chain) => {
            w.bool(true).bytes(chain.key.as_bytes()).u32(chain.counter);
        }
    }
    match &state.receiving {
        None => {
            w.bool(false);
        }
        Some(chain) => {
            w.bool(true)
                .bytes(&chain.their_key)
                .bytes(chain.key.as_bytes())
                .u32(chain.counter);
        }
    }
    w.u32(state.previous_sending_len).count(state.skipped.len());
    for skipped in state.skipped.iter() {
        w.bytes(&skipped.ratchet_key)
            .u32(skipped.counter)
            .bytes(skipped.key.as_bytes());
    }
    w.count(state.retired.len());
    for key in &state.retired {
        w.bytes(key);
    }
    w.finish()
}

pub(super) fn decode(bytes: &[u8]) -> Result<Session, PickleError> {
    let mut r = Reader::new(bytes);
    if r.u8()? != SESSION_STATE_VERSION {
        return Err(PickleError::UnsupportedVersion);
    }
    let session_id = r.array()?;
    let associated_data: [u8; ASSOCIATED_DATA_LEN] = r.array()?;
    let we_initiated = r.bool()?;
    let peer_half = if we_initiated {
        &associated_data[PUBLIC_IDENTITY_LEN..]
    } else {
        &associated_data[..PUBLIC_IDENTITY_LEN]
    };
    let peer = PublicIdentity::from_bytes(peer_half).map_err(|_| PickleError::Malformed)?;
    let pending_prekey = read_prekey_fields(&mut r)?;
    let accepted_from = read_prekey_fields(&mut r)?;
    let root = RootKey::from_bytes(*r.secret()?);
    let ours = RatchetKeyPair::from_secret(StaticSecret::from(*r.secret::<32>()?));
    let sending = if r.bool()? {
        Some(SendingChain {
            key: ChainKey::from_bytes(*r.secret()?),
            counter: r.u32()?,
        })
    } else {
        None
    };
    let receiving = if r.bool()? {
        Some(ReceivingChain {
            their_key: r.array()?,
            key: ChainKey::from_bytes(*r.secret()?),
            counter: r.u32()?,
        })
    } else {
        None
    };
    let previous_sending_len = r.u32()?;
    let mut skipped = SkippedKeys::default();
    for _ in 0..r.count(MAX_SKIPPED_TOTAL)? {
        let ratchet_key = r.array()?;
        let counter = r.u32()?;
        skipped.insert(ratchet_key, counter, MessageKey::from_bytes(*r.secret()?));
    }
    let mut retired = std::collections::VecDeque::new();
    for _ in 0..r.count(MAX_RETIRED_CHAINS)? {
        retired.push_back(r.array()?);
    }
    r.finish()?;
    Ok(Session {
        session_id,
        associated_data,
        peer,
        we_initiated,
        pending_prekey,
        accepted_from,
        state: RatchetState {
            root,
            ours,
            sending,
            receiving,
            previous_sending_len,
            skipped,
            retired,
        },
    })
}

fn write_prekey_fields(w: &mut Writer, fields: Option<&PreKeyFields>) {
    match fields {
        None => {
            w.bool(false);
        }
        Some(fields) => {
            w.bool(true)
                .bytes(&fields.identity)
                .bytes(&fields.base_key)
                .u32(fields.signed_prekey_id)
                .bool(fields.one_time_prekey_id.is_some())
                .u32(fields.one_time_prekey_id.unwrap_or(0));
        }
    }
}

fn read_prekey_fields(r: &mut Reader<'_>) -> Result<Option<PreKeyFields>, PickleError> {
    if !r.bool()? {
        return Ok(None);
    }
    let identity = r.array()?;
    let base_key = r.array()?;
    let signed_prekey_id = r.u32()?;
    let has_one_time = r.bool()?;
    let one_time_id = r.u32()?;
    Ok(Some(PreKeyFields {
        identity,
        base_key,
        signed_prekey_id,
        one_time_prekey_id: has_one_time.then_some(one_time_id),
    }))
}
