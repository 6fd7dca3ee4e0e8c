//! Byte layouts of session messages (`PROTOCOL.md` §5.6): the normal
//! ratchet message and the prekey message that starts a session. Parsing and
//! serialising only.

use serde::Serialize;

use crate::aead::{TAG_LEN, XNONCE_LEN};
use crate::error::SessionError;
use crate::identity::PUBLIC_IDENTITY_LEN;
use crate::padding::{MIN_PADDED_LEN, padded_len};
use crate::wire::u32_at;

/// Version byte of session messages. Version 1 derived the nonce from the
/// message key, so a rolled-back state reused key and nonce; it is refused
/// (`unsupported_version`).
pub const SESSION_MESSAGE_VERSION: u8 = 2;

/// Kind byte of a normal ratchet message: `'M'`.
pub(crate) const KIND_MESSAGE: u8 = 0x4d;
/// Kind byte of a prekey message: `'P'`.
pub(crate) const KIND_PREKEY: u8 = 0x50;

/// Length of a session identifier.
pub const SESSION_ID_LEN: usize = 8;

/// Length of a normal message's header: version, kind, session id, ratchet
/// key, previous chain length, counter, random nonce.
pub(crate) const MESSAGE_HEADER_LEN: usize = 2 + SESSION_ID_LEN + 32 + 4 + 4 + XNONCE_LEN;

/// Length of a prekey message's fields before the embedded normal message:
/// version, kind, identity, base key, signed prekey id, flags, one-time
/// prekey id.
pub(crate) const PREKEY_HEADER_LEN: usize = 2 + PUBLIC_IDENTITY_LEN + 32 + 4 + 1 + 4;

/// Largest plaintext a session encrypts: 64 KiB. Files go through
/// attachments.
pub const MAX_SESSION_MESSAGE_LEN: usize = 64 * 1024;

/// Largest session message (a prekey message at the plaintext limit); longer
/// input is refused before any work.
pub const MAX_SESSION_ENVELOPE_LEN: usize =
    PREKEY_HEADER_LEN + MESSAGE_HEADER_LEN + padded_len(MAX_SESSION_MESSAGE_LEN) + TAG_LEN;

/// Smallest normal message: header, one padding bucket, tag.
const MIN_MESSAGE_LEN: usize = MESSAGE_HEADER_LEN + MIN_PADDED_LEN + TAG_LEN;

/// Flag bit: the prekey message used a one-time prekey.
const FLAG_ONE_TIME_PREKEY: u8 = 0x01;

/// The ratchet fields of a normal message's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MessageHeader {
    pub(crate) ratchet_key: [u8; 32],
    pub(crate) previous_chain_len: u32,
    pub(crate) counter: u32,
}

impl MessageHeader {
    /// The wire header: these fields with the session id and the message's
    /// random nonce.
    pub(crate) fn to_bytes(
        &self,
        session_id: &[u8; SESSION_ID_LEN],
        nonce: &[u8; XNONCE_LEN],
    ) -> [u8; MESSAGE_HEADER_LEN] {
        let mut out = [0u8; MESSAGE_HEADER_LEN];
        out[0] = SESSION_MESSAGE_VERSION;
        out[1] = KIND_MESSAGE;
        out[2..10].copy_from_slice(session_id);
        out[10..42].copy_from_slice(&self.ratchet_key);
        out[42..46].copy_from_slice(&self.previous_chain_len.to_be_bytes());
        out[46..50].copy_from_slice(&self.counter.to_be_bytes());
        out[50..MESSAGE_HEADER_LEN].copy_from_slice(nonce);
        out
    }
}

/// A parsed normal message, borrowing its input.
pub(crate) struct ParsedMessage<'a> {
    pub(crate) session_id: [u8; SESSION_ID_LEN],
    pub(crate) header: MessageHeader,
    pub(crate) nonce: [u8; XNONCE_LEN],
    pub(crate) header_bytes: &'a [u8],
    pub(crate) ciphertext: &'a [u8],
}

/// The X3DH fields of a prekey message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PreKeyFields {
    pub(crate) identity: [u8; PUBLIC_IDENTITY_LEN],
    pub(crate) base_key: [u8; 32],
    pub(crate) signed_prekey_id: u32,
    pub(crate) one_time_prekey_id: Option<u32>,
}

impl PreKeyFields {
    pub(crate) fn to_bytes(&self) -> [u8; PREKEY_HEADER_LEN] {
        let mut out = [0u8; PREKEY_HEADER_LEN];
        out[0] = SESSION_MESSAGE_VERSION;
        out[1] = KIND_PREKEY;
        out[2..67].copy_from_slice(&self.identity);
        out[67..99].copy_from_slice(&self.base_key);
        out[99..103].copy_from_slice(&self.signed_prekey_id.to_be_bytes());
        if let Some(id) = self.one_time_prekey_id {
            out[103] = FLAG_ONE_TIME_PREKEY;
            out[104..108].copy_from_slice(&id.to_be_bytes());
        }
        out
    }
}

/// Either kind of session message.
pub(crate) enum ParsedEnvelope<'a> {
    /// A normal ratchet message.
    Message(ParsedMessage<'a>),
    /// A prekey message and its embedded normal message.
    PreKey(PreKeyFields, ParsedMessage<'a>),
}

impl<'a> ParsedEnvelope<'a> {
    pub(crate) fn message(&self) -> &ParsedMessage<'a> {
        match self {
            Self::Message(m) | Self::PreKey(_, m) => m,
        }
    }
}

/// Parses a session message. Checks in order: empty, too large, version,
/// kind, truncated, field values.
pub(crate) fn parse(bytes: &[u8]) -> Result<ParsedEnvelope<'_>, SessionError> {
    let Some(&version) = bytes.first() else {
        return Err(SessionError::Empty);
    };
    if bytes.len() > MAX_SESSION_ENVELOPE_LEN {
        return Err(SessionError::EnvelopeTooLarge);
    }
    if version != SESSION_MESSAGE_VERSION {
        return Err(SessionError::UnsupportedVersion);
    }
    match bytes.get(1) {
        None => Err(SessionError::Truncated),
        Some(&KIND_MESSAGE) => parse_message(bytes).map(ParsedEnvelope::Message),
        Some(&KIND_PREKEY) => {
            if bytes.len() < PREKEY_HEADER_LEN + MIN_MESSAGE_LEN {
                return Err(SessionError::Truncated);
            }
            let (fields, inner) = bytes.split_at(PREKEY_HEADER_LEN);
            let mut identity = [0u8; PUBLIC_IDENTITY_LEN];
            identity.copy_from_slice(&fields[2..67]);
            let mut base_key = [0u8; 32];
            base_key.copy_from_slice(&fields[67..99]);
            let one_time_prekey_id = match fields[103] {
                0 if fields[104..108] == [0; 4] => None,
                FLAG_ONE_TIME_PREKEY => Some(u32_at(fields, 104)),
                _ => return Err(SessionError::Malformed),
            };
            let fields = PreKeyFields {
                identity,
                base_key,
                signed_prekey_id: u32_at(fields, 99),
                one_time_prekey_id,
            };
            Ok(ParsedEnvelope::PreKey(fields, parse_message(inner)?))
        }
        Some(_) => Err(SessionError::Malformed),
    }
}

fn parse_message(bytes: &[u8]) -> Result<ParsedMessage<'_>, SessionError> {
    match (bytes.first(), bytes.get(1)) {
        (Some(&SESSION_MESSAGE_VERSION), Some(&KIND_MESSAGE)) => {}
        (Some(&SESSION_MESSAGE_VERSION), None) | (None, _) => {
            return Err(SessionError::Truncated);
        }
        (Some(&SESSION_MESSAGE_VERSION), Some(_)) => return Err(SessionError::Malformed),
        (Some(_), _) => return Err(SessionError::UnsupportedVersion),
    }
    if bytes.len() < MIN_MESSAGE_LEN {
        return Err(SessionError::Truncated);
    }
    let (header_bytes, ciphertext) = bytes.split_at(MESSAGE_HEADER_LEN);
    let mut session_id = [0u8; SESSION_ID_LEN];
    session_id.copy_from_slice(&header_bytes[2..10]);
    let mut ratchet_key = [0u8; 32];
    ratchet_key.copy_from_slice(&header_bytes[10..42]);
    let mut nonce = [0u8; XNONCE_LEN];
    nonce.copy_from_slice(&header_bytes[50..MESSAGE_HEADER_LEN]);
    Ok(ParsedMessage {
        session_id,
        nonce,
        header: MessageHeader {
            ratchet_key,
            previous_chain_len: u32_at(header_bytes, 42),
            counter: u32_at(header_bytes, 46),
        },
        header_bytes,
        ciphertext,
    })
}

/// What anyone holding a session message (such as the relay) can read from
/// it without keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionMessageSummary {
    /// `"prekey"` for a session-starting message, `"message"` otherwise.
    pub kind: &'static str,
    /// The session identifier, hex-encoded.
    pub session_id: String,
    /// The sender's current ratchet public key, hex-encoded.
    pub ratchet_key: String,
    /// Length of the sender's previous sending chain.
    pub previous_chain_len: u32,
    /// The message number in the current chain.
    pub counter: u32,
    /// For a prekey message, the initiator's identity in text form.
    pub initiator: Option<String>,
    /// Ciphertext length including the tag (a padding bucket).
    pub ciphertext_len: usize,
    /// Length of the whole message.
    pub total_len: usize,
}

/// Describes a session message's cleartext fields without decrypting.
///
/// # Errors
/// The structural errors of [`crate::Session::decrypt`].
pub fn inspect(message: &[u8]) -> Result<SessionMessageSummary, SessionError> {
    let parsed = parse(message)?;
    let inner = parsed.message();
    let initiator = match &parsed {
        ParsedEnvelope::PreKey(fields, _) => Some(
            crate::identity::PublicIdentity::from_bytes(&fields.identity)
                .map(|id| id.to_text())
                .map_err(|_| SessionError::Malformed)?,
        ),
        ParsedEnvelope::Message(_) => None,
    };
    Ok(SessionMessageSummary {
        kind: if initiator.is_some() {
            "prekey"
        } else {
            "message"
        },
        session_id: crate::hex::encode(&inner.session_id),
        ratchet_key: crate::hex::encode(&inner.header.ratchet_key),
        previous_chain_len: inner.header.previous_chain_len,
        counter: inner.header.counter,
        initiator,
        ciphertext_len: inner.ciphertext.len(),
        total_len: message.len(),
    })
}

/// The session identifier a message belongs to, for routing it to the right
/// [`crate::Session`] (or to [`crate::Account::accept_session`]).
///
/// # Errors
/// The structural errors of [`crate::Session::decrypt`].
pub fn session_id_of(message: &[u8]) -> Result<[u8; SESSION_ID_LEN], SessionError> {
    Ok(parse(message)?.message().session_id)
}
