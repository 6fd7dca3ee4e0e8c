//! Byte layout of a sealed envelope and of its encrypted payload
//! (`PROTOCOL.md` §3.2 and §3.4). Parsing and serialising only: no keys.

use serde::Serialize;

use crate::aead::{TAG_LEN, XNONCE_LEN};
use crate::error::SealedError;
use crate::identity::PUBLIC_IDENTITY_LEN;
use crate::padding::{MIN_PADDED_LEN, padded_len};

/// Format version of sealed envelopes produced by this library.
pub const SEALED_VERSION: u8 = 1;

/// Second byte of every sealed envelope: `'S'`, distinguishing it from the
/// other CareSeal message kinds.
pub const SEALED_KIND: u8 = 0x53;

/// Length of the recipient hint.
pub(crate) const HINT_LEN: usize = 8;

/// Length of the cleartext header: version, kind, hint, ephemeral key, nonce.
pub const SEALED_HEADER_LEN: usize = 2 + HINT_LEN + 32 + XNONCE_LEN;

/// Largest message [`super::seal`] accepts: 256 KiB. Files go through
/// attachments, not sealed messages.
pub const MAX_SEALED_MESSAGE_LEN: usize = 256 * 1024;

/// Payload bytes around the message: the sender flag, and for a signed
/// sender, its identity and signature.
const MAX_PAYLOAD_OVERHEAD: usize = 1 + PUBLIC_IDENTITY_LEN + SIGNATURE_LEN;

/// Largest envelope [`super::open`] reads; anything longer is refused before
/// any work is done.
pub const MAX_SEALED_ENVELOPE_LEN: usize =
    SEALED_HEADER_LEN + padded_len(MAX_SEALED_MESSAGE_LEN + MAX_PAYLOAD_OVERHEAD) + TAG_LEN;

/// Smallest well-formed envelope: header, one minimum padding bucket, tag.
pub const MIN_SEALED_ENVELOPE_LEN: usize = SEALED_HEADER_LEN + MIN_PADDED_LEN + TAG_LEN;

/// Length of an Ed25519 signature.
const SIGNATURE_LEN: usize = 64;

/// Payload flag: no sender identity.
const SENDER_ANONYMOUS: u8 = 0x00;
/// Payload flag: a signed sender identity follows.
const SENDER_SIGNED: u8 = 0x01;

/// The cleartext header of a sealed envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SealedHeader {
    pub(crate) recipient_hint: [u8; HINT_LEN],
    pub(crate) ephemeral_key: [u8; 32],
    pub(crate) nonce: [u8; XNONCE_LEN],
}

impl SealedHeader {
    pub(crate) fn to_bytes(&self) -> [u8; SEALED_HEADER_LEN] {
        let mut out = [0u8; SEALED_HEADER_LEN];
        out[0] = SEALED_VERSION;
        out[1] = SEALED_KIND;
        out[2..10].copy_from_slice(&self.recipient_hint);
        out[10..42].copy_from_slice(&self.ephemeral_key);
        out[42..].copy_from_slice(&self.nonce);
        out
    }
}

/// A parsed envelope borrowing its input.
pub(crate) struct ParsedEnvelope<'a> {
    pub(crate) header: SealedHeader,
    pub(crate) header_bytes: &'a [u8],
    pub(crate) ciphertext: &'a [u8],
}

/// Splits an envelope into header and ciphertext, checking size bounds,
/// version and kind. Checks run in this order, so each defect has one code:
/// empty, too large, version, kind, truncated.
pub(crate) fn parse_envelope(bytes: &[u8]) -> Result<ParsedEnvelope<'_>, SealedError> {
    let Some(&version) = bytes.first() else {
        return Err(SealedError::Empty);
    };
    if bytes.len() > MAX_SEALED_ENVELOPE_LEN {
        return Err(SealedError::TooLarge);
    }
    if version != SEALED_VERSION {
        return Err(SealedError::UnsupportedVersion);
    }
    match bytes.get(1) {
        None => return Err(SealedError::Truncated),
        Some(&SEALED_KIND) => {}
        Some(_) => return Err(SealedError::Malformed),
    }
    if bytes.len() < MIN_SEALED_ENVELOPE_LEN {
        return Err(SealedError::Truncated);
    }
    let (header_bytes, ciphertext) = bytes.split_at(SEALED_HEADER_LEN);
    let mut header = SealedHeader {
        recipient_hint: [0; HINT_LEN],
        ephemeral_key: [0; 32],
        nonce: [0; XNONCE_LEN],
    };
    header.recipient_hint.copy_from_slice(&header_bytes[2..10]);
    header.ephemeral_key.copy_from_slice(&header_bytes[10..42]);
    header.nonce.copy_from_slice(&header_bytes[42..]);
    Ok(ParsedEnvelope {
        header,
        header_bytes,
        ciphertext,
    })
}

/// The sender field of a decrypted payload.
pub(crate) struct SignedSender<'a> {
    pub(crate) identity: &'a [u8],
    pub(crate) signature: [u8; SIGNATURE_LEN],
}

/// Serialises the (unpadded) payload: sender flag, optional signed sender,
/// message.
pub(crate) fn encode_payload(
    sender: Option<(&[u8; PUBLIC_IDENTITY_LEN], &[u8; SIGNATURE_LEN])>,
    message: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(padded_len(MAX_PAYLOAD_OVERHEAD + message.len()));
    match sender {
        None => out.push(SENDER_ANONYMOUS),
        Some((identity, signature)) => {
            out.push(SENDER_SIGNED);
            out.extend_from_slice(identity);
            out.extend_from_slice(signature);
        }
    }
    out.extend_from_slice(message);
    out
}

/// Splits an unpadded payload into its sender field and message.
pub(crate) fn parse_payload(
    payload: &[u8],
) -> Result<(Option<SignedSender<'_>>, &[u8]), SealedError> {
    match payload.split_first() {
        Some((&SENDER_ANONYMOUS, message)) => Ok((None, message)),
        Some((&SENDER_SIGNED, rest)) if rest.len() >= PUBLIC_IDENTITY_LEN + SIGNATURE_LEN => {
            let (identity, rest) = rest.split_at(PUBLIC_IDENTITY_LEN);
            let (signature, message) = rest.split_at(SIGNATURE_LEN);
            let mut sig = [0u8; SIGNATURE_LEN];
            sig.copy_from_slice(signature);
            Ok((
                Some(SignedSender {
                    identity,
                    signature: sig,
                }),
                message,
            ))
        }
        _ => Err(SealedError::Malformed),
    }
}

/// What anyone holding an envelope (such as the relay) can read from it
/// without a key: the cleartext header and the sizes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvelopeSummary {
    /// The format version byte.
    pub version: u8,
    /// The kind byte (`0x53` for sealed messages).
    pub kind: u8,
    /// The 8-byte recipient hint, hex-encoded.
    pub recipient_hint: String,
    /// The ephemeral X25519 public key, hex-encoded.
    pub ephemeral_key: String,
    /// The XChaCha20 nonce, hex-encoded.
    pub nonce: String,
    /// Length of the ciphertext including its tag (a padding bucket, not the
    /// message length).
    pub ciphertext_len: usize,
    /// Length of the whole envelope.
    pub total_len: usize,
}

/// Describes an envelope's cleartext parts without decrypting anything.
///
/// # Errors
/// As [`super::open`] for structural defects: empty, too large, wrong
/// version or kind, truncated.
pub fn inspect(envelope: &[u8]) -> Result<EnvelopeSummary, SealedError> {
    let parsed = parse_envelope(envelope)?;
    Ok(EnvelopeSummary {
        version: SEALED_VERSION,
        kind: SEALED_KIND,
        recipient_hint: crate::hex::encode(&parsed.header.recipient_hint),
        ephemeral_key: crate::hex::encode(&parsed.header.ephemeral_key),
        nonce: crate::hex::encode(&parsed.header.nonce),
        ciphertext_len: parsed.ciphertext.len(),
        total_len: envelope.len(),
    })
}
