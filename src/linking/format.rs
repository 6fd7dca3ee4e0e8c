//! Byte layouts of the link offer and the linking messages (§8.6).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::aead::{TAG_LEN, XNONCE_LEN};
use crate::error::LinkError;
use crate::wire::Reader;

/// Version byte of offers and linking messages.
pub(super) const LINK_VERSION: u8 = 1;

/// Kind bytes.
pub(super) const KIND_OFFER: u8 = 0x4F; // 'O'
pub(super) const KIND_COMMIT: u8 = 0x43; // 'C'
pub(super) const KIND_RESPONSE: u8 = 0x52; // 'R'
pub(super) const KIND_REVEAL: u8 = 0x56; // 'V'
pub(super) const KIND_PAYLOAD: u8 = 0x50; // 'P'
pub(super) const KIND_DEVICE: u8 = 0x44; // 'D'

/// Length of an offer id: random, names the relay's rendezvous.
pub const LINK_OFFER_ID_LEN: usize = 16;

/// Largest payload the existing device may send: 1 MiB (a user identity
/// pickle, pins and a conversation list).
pub const MAX_LINK_PAYLOAD_LEN: usize = 1024 * 1024;

/// Every message starts with version, kind and offer id.
pub(super) const HEADER_LEN: usize = 2 + LINK_OFFER_ID_LEN;

/// Offer: header, expiry (u64 ms), hash of E's ephemeral key.
pub(super) const OFFER_LEN: usize = HEADER_LEN + 8 + 32;

/// Offer text: unpadded base64url of [`OFFER_LEN`] bytes.
const OFFER_TEXT_LEN: usize = (OFFER_LEN * 4).div_ceil(3);

/// Header of an encrypted message: header and nonce.
pub(super) const SEALED_HEADER_LEN: usize = HEADER_LEN + XNONCE_LEN;

/// Longest encrypted message.
const MAX_SEALED_LEN: usize = SEALED_HEADER_LEN + MAX_LINK_PAYLOAD_LEN + TAG_LEN;

/// What the existing device shows (as a QR code or in a link) to start a
/// link: where to meet, until when, and a hash of its ephemeral key.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LinkOffer {
    pub(super) offer_id: [u8; LINK_OFFER_ID_LEN],
    pub(super) expires_at_ms: u64,
    pub(super) ephemeral_hash: [u8; 32],
}

impl LinkOffer {
    /// The random offer id, which names the rendezvous on the relay.
    pub fn offer_id(&self) -> &[u8; LINK_OFFER_ID_LEN] {
        &self.offer_id
    }

    /// When the offer expires (milliseconds since the Unix epoch, by the
    /// existing device's clock).
    pub fn expires_at_ms(&self) -> u64 {
        self.expires_at_ms
    }

    /// Refuses the offer after its expiry: `now_ms` later than
    /// [`Self::expires_at_ms`].
    pub(super) fn check_expiry(&self, now_ms: u64) -> Result<(), LinkError> {
        if now_ms > self.expires_at_ms {
            Err(LinkError::Expired)
        } else {
            Ok(())
        }
    }

    /// The 58-byte encoding.
    pub fn to_bytes(&self) -> [u8; OFFER_LEN] {
        let mut out = [0u8; OFFER_LEN];
        out[..HEADER_LEN].copy_from_slice(&header(KIND_OFFER, &self.offer_id));
        out[HEADER_LEN..HEADER_LEN + 8].copy_from_slice(&self.expires_at_ms.to_be_bytes());
        out[HEADER_LEN + 8..].copy_from_slice(&self.ephemeral_hash);
        out
    }

    /// Parses the 58-byte encoding.
    ///
    /// # Errors
    /// [`LinkError::UnsupportedVersion`], [`LinkError::Malformed`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LinkError> {
        let mut r = open_header(bytes, KIND_OFFER, None)?;
        let offer_id = r.array()?;
        let expires_at_ms = r.u64()?;
        let ephemeral_hash = r.array()?;
        r.finish()?;
        Ok(Self {
            offer_id,
            expires_at_ms,
            ephemeral_hash,
        })
    }

    /// The text form for a QR code or link: unpadded base64url, 78
    /// characters.
    pub fn to_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.to_bytes())
    }

    /// Parses the text form.
    ///
    /// # Errors
    /// [`LinkError::Malformed`] for another length or non-canonical
    /// base64url; otherwise as [`LinkOffer::from_bytes`].
    pub fn from_text(text: &str) -> Result<Self, LinkError> {
        if text.len() != OFFER_TEXT_LEN {
            return Err(LinkError::Malformed);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| LinkError::Malformed)?;
        Self::from_bytes(&bytes)
    }
}

/// Version, kind, offer id.
pub(super) fn header(kind: u8, offer_id: &[u8; LINK_OFFER_ID_LEN]) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    out[0] = LINK_VERSION;
    out[1] = kind;
    out[2..].copy_from_slice(offer_id);
    out
}

/// Checks version and kind and, when `offer_id` is given, that the message
/// belongs to that offer; returns a reader positioned at the offer id (if
/// not checked) or just after it.
pub(super) fn open_header<'a>(
    bytes: &'a [u8],
    kind: u8,
    offer_id: Option<&[u8; LINK_OFFER_ID_LEN]>,
) -> Result<Reader<'a, LinkError>, LinkError> {
    match bytes.first() {
        None => return Err(LinkError::Malformed),
        Some(&LINK_VERSION) => {}
        Some(_) => return Err(LinkError::UnsupportedVersion),
    }
    let mut r = Reader::new(&bytes[1..], LinkError::Malformed);
    if r.u8()? != kind {
        return Err(LinkError::Malformed);
    }
    if let Some(expected) = offer_id {
        if &r.array::<LINK_OFFER_ID_LEN>()? != expected {
            return Err(LinkError::WrongOffer);
        }
    }
    Ok(r)
}

/// A fixed-size message (commit, response, reveal): its fields after the
/// header, which must be exactly `N` bytes.
pub(super) fn fixed_fields<const N: usize>(
    bytes: &[u8],
    kind: u8,
    offer_id: &[u8; LINK_OFFER_ID_LEN],
) -> Result<[u8; N], LinkError> {
    let mut r = open_header(bytes, kind, Some(offer_id))?;
    let fields = r.array::<N>()?;
    r.finish()?;
    Ok(fields)
}

/// An encrypted message's nonce and ciphertext, after its header and size
/// are checked.
pub(super) fn sealed_fields<'a>(
    bytes: &'a [u8],
    kind: u8,
    offer_id: &[u8; LINK_OFFER_ID_LEN],
) -> Result<([u8; XNONCE_LEN], &'a [u8]), LinkError> {
    if bytes.len() > MAX_SEALED_LEN {
        return Err(LinkError::PayloadTooLarge);
    }
    let mut r = open_header(bytes, kind, Some(offer_id))?;
    let nonce = r.array::<XNONCE_LEN>()?;
    let ciphertext = r.rest();
    if ciphertext.len() < TAG_LEN {
        return Err(LinkError::Malformed);
    }
    Ok((nonce, ciphertext))
}
