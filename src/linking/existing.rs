//! The existing device's side of linking (§8.6): offer, response, SAS,
//! payload, and the new device's identity.

use super::format::{
    HEADER_LEN, KIND_COMMIT, KIND_DEVICE, KIND_PAYLOAD, KIND_RESPONSE, KIND_REVEAL,
    LINK_OFFER_ID_LEN, LinkOffer, MAX_LINK_PAYLOAD_LEN, OFFER_LEN, fixed_fields, header,
    sealed_fields,
};
use super::schedule::{LinkKeys, commitment, ephemeral_hash};
use super::{LINK_OFFER_TTL_MS, LinkedDevice, Sas};
use crate::error::LinkError;
use crate::identity::{PUBLIC_IDENTITY_LEN, PublicIdentity};
use crate::rng;
use crate::wire::Reader;
use x25519_dalek::{PublicKey, StaticSecret};

/// The existing device after showing an offer, waiting for the new
/// device's commitment.
pub struct ExistingDeviceLink {
    ephemeral: StaticSecret,
    offer: LinkOffer,
}

/// The existing device after answering the commitment with its ephemeral
/// key, waiting for the new device to reveal its own.
pub struct ExistingAwaitingReveal {
    ephemeral: StaticSecret,
    offer: LinkOffer,
    commit: Vec<u8>,
    committed: [u8; 32],
    response: Vec<u8>,
}

/// The existing device with the exchange complete: show [`Self::sas`] and
/// let the user confirm or reject.
pub struct ExistingSasCheck {
    keys: LinkKeys,
}

/// The existing device after the user confirmed the SAS.
pub struct ExistingConfirmed {
    keys: LinkKeys,
}

/// The existing device after sending the payload, waiting for the new
/// device's identity.
pub struct ExistingAwaitingDevice {
    keys: LinkKeys,
}

impl ExistingDeviceLink {
    /// Starts a link at `now_ms` (milliseconds since the Unix epoch): a
    /// fresh ephemeral key and offer id; the offer expires
    /// [`LINK_OFFER_TTL_MS`] later. Show the returned offer's text as a QR
    /// code or link.
    ///
    /// # Errors
    /// [`LinkError::Rng`].
    pub fn offer(now_ms: u64) -> Result<(Self, LinkOffer), LinkError> {
        let ephemeral = StaticSecret::from(*rng::secret_bytes::<32>()?);
        let offer = LinkOffer {
            offer_id: rng::public_bytes::<LINK_OFFER_ID_LEN>()?,
            expires_at_ms: now_ms.saturating_add(LINK_OFFER_TTL_MS),
            ephemeral_hash: ephemeral_hash(&PublicKey::from(&ephemeral)),
        };
        Ok((
            Self {
                ephemeral,
                offer: offer.clone(),
            },
            offer,
        ))
    }

    /// Takes the new device's commitment and returns the response to send
    /// (this device's ephemeral key).
    ///
    /// # Errors
    /// [`LinkError::Expired`] after the offer's expiry; otherwise
    /// [`LinkError::UnsupportedVersion`], [`LinkError::Malformed`],
    /// [`LinkError::WrongOffer`].
    pub fn accept_commitment(
        self,
        commit: &[u8],
        now_ms: u64,
    ) -> Result<(ExistingAwaitingReveal, Vec<u8>), LinkError> {
        self.offer.check_expiry(now_ms)?;
        let committed = fixed_fields::<32>(commit, KIND_COMMIT, &self.offer.offer_id)?;
        let mut response = Vec::with_capacity(HEADER_LEN + 32);
        response.extend_from_slice(&header(KIND_RESPONSE, &self.offer.offer_id));
        response.extend_from_slice(PublicKey::from(&self.ephemeral).as_bytes());
        Ok((
            ExistingAwaitingReveal {
                ephemeral: self.ephemeral,
                offer: self.offer,
                commit: commit.to_vec(),
                committed,
                response: response.clone(),
            },
            response,
        ))
    }
}

impl ExistingAwaitingReveal {
    /// Takes the new device's reveal, checks it against the commitment and
    /// derives the SAS and keys.
    ///
    /// # Errors
    /// [`LinkError::Expired`]; [`LinkError::CommitmentMismatch`] if the key
    /// and nonce are not the ones committed to; [`LinkError::NonContributory`]
    /// for a low-order key; otherwise [`LinkError::UnsupportedVersion`],
    /// [`LinkError::Malformed`], [`LinkError::WrongOffer`].
    pub fn accept_reveal(self, reveal: &[u8], now_ms: u64) -> Result<ExistingSasCheck, LinkError> {
        self.offer.check_expiry(now_ms)?;
        let fields = fixed_fields::<64>(reveal, KIND_REVEAL, &self.offer.offer_id)?;
        let mut key = [0u8; 32];
        key.copy_from_slice(&fields[..32]);
        let mut nonce = [0u8; 32];
        nonce.copy_from_slice(&fields[32..]);
        if commitment(&self.offer.offer_id, &key, &nonce) != self.committed {
            return Err(LinkError::CommitmentMismatch);
        }
        let offer: [u8; OFFER_LEN] = self.offer.to_bytes();
        let keys = LinkKeys::derive(
            &self.ephemeral,
            &PublicKey::from(key),
            self.offer.offer_id,
            [&offer, &self.commit, &self.response, reveal],
        )?;
        Ok(ExistingSasCheck { keys })
    }
}

impl ExistingSasCheck {
    /// The short authentication string to show.
    pub fn sas(&self) -> Sas {
        self.keys.sas
    }

    /// The user saw the same SAS on both devices.
    pub fn confirm(self) -> ExistingConfirmed {
        ExistingConfirmed { keys: self.keys }
    }

    /// The user saw different strings: the link is abandoned (returns
    /// [`LinkError::SasRejected`] to report) and its keys are dropped.
    pub fn reject(self) -> LinkError {
        LinkError::SasRejected
    }
}

impl ExistingConfirmed {
    /// Encrypts `payload` (opaque: what the new device needs, such as the
    /// user identity's pickle) for the new device.
    ///
    /// # Errors
    /// [`LinkError::PayloadTooLarge`] above [`MAX_LINK_PAYLOAD_LEN`];
    /// [`LinkError::Rng`].
    pub fn send_payload(
        self,
        payload: &[u8],
    ) -> Result<(ExistingAwaitingDevice, Vec<u8>), LinkError> {
        if payload.len() > MAX_LINK_PAYLOAD_LEN {
            return Err(LinkError::PayloadTooLarge);
        }
        let message = self.keys.seal(KIND_PAYLOAD, payload)?;
        Ok((ExistingAwaitingDevice { keys: self.keys }, message))
    }
}

impl ExistingAwaitingDevice {
    /// Decrypts the new device's id and identity, to add to a new signed
    /// device list (§8.3).
    ///
    /// # Errors
    /// [`LinkError::DecryptFailed`] if the message fails authentication;
    /// [`LinkError::Malformed`] for a bad id or identity, or
    /// [`LinkError::UnsupportedVersion`], [`LinkError::WrongOffer`],
    /// [`LinkError::PayloadTooLarge`] for its header and size.
    pub fn receive_device(self, message: &[u8]) -> Result<LinkedDevice, LinkError> {
        let (nonce, ciphertext) = sealed_fields(message, KIND_DEVICE, &self.keys.offer_id)?;
        let plaintext = self.keys.open(KIND_DEVICE, message, &nonce, ciphertext)?;
        let mut r = Reader::new(&plaintext, LinkError::Malformed);
        let device_id = r.id()?.to_string();
        let identity = PublicIdentity::from_bytes(r.take(PUBLIC_IDENTITY_LEN)?)
            .map_err(|_| LinkError::Malformed)?;
        r.finish()?;
        Ok(LinkedDevice {
            device_id,
            identity,
        })
    }
}

redacted_debug!(
    ExistingDeviceLink,
    ExistingAwaitingReveal,
    ExistingSasCheck,
    ExistingConfirmed,
    ExistingAwaitingDevice
);

#[cfg(all(test, not(target_arch = "wasm32")))]
impl ExistingAwaitingDevice {
    pub(super) fn keys_offer_id(&self) -> [u8; LINK_OFFER_ID_LEN] {
        self.keys.offer_id
    }
}
