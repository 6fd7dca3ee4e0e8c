//! The new device's side of linking (§8.6): commitment, reveal, SAS, its
//! identity, and the payload.

use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::Sas;
use super::format::{
    HEADER_LEN, KIND_COMMIT, KIND_DEVICE, KIND_PAYLOAD, KIND_RESPONSE, KIND_REVEAL, LinkOffer,
    fixed_fields, header, sealed_fields,
};
use super::schedule::{LinkKeys, commitment, ephemeral_hash};
use crate::error::LinkError;
use crate::identity::PublicIdentity;
use crate::ids::is_valid_id;
use crate::rng;
use crate::wire::put_id;

/// The new device after sending its commitment, waiting for the existing
/// device's ephemeral key.
pub struct NewDeviceLink {
    ephemeral: StaticSecret,
    nonce: [u8; 32],
    offer: LinkOffer,
    commit: Vec<u8>,
}

/// The new device with the exchange complete: show [`Self::sas`] and let
/// the user confirm or reject.
pub struct NewSasCheck {
    keys: LinkKeys,
}

/// The new device after the user confirmed the SAS.
pub struct NewConfirmed {
    keys: LinkKeys,
}

/// The new device after sending its identity, waiting for the payload.
pub struct NewAwaitingPayload {
    keys: LinkKeys,
}

impl NewDeviceLink {
    /// Joins the link `offer` (read from the existing device's screen) at
    /// `now_ms`; returns the commitment message to send.
    ///
    /// # Errors
    /// [`LinkError::Expired`] if the offer has expired by this device's
    /// clock; [`LinkError::Rng`].
    pub fn join(offer: &LinkOffer, now_ms: u64) -> Result<(Self, Vec<u8>), LinkError> {
        offer.check_expiry(now_ms)?;
        let ephemeral = StaticSecret::from(*rng::secret_bytes::<32>()?);
        let nonce = rng::public_bytes::<32>()?;
        let key = PublicKey::from(&ephemeral);
        let mut commit = Vec::with_capacity(HEADER_LEN + 32);
        commit.extend_from_slice(&header(KIND_COMMIT, &offer.offer_id));
        commit.extend_from_slice(&commitment(&offer.offer_id, key.as_bytes(), &nonce));
        Ok((
            Self {
                ephemeral,
                nonce,
                offer: offer.clone(),
                commit: commit.clone(),
            },
            commit,
        ))
    }

    /// Takes the existing device's response, checks its key against the
    /// offer, derives the SAS and keys, and returns the reveal to send.
    ///
    /// # Errors
    /// [`LinkError::Expired`]; [`LinkError::CommitmentMismatch`] if the key
    /// is not the one the offer named; [`LinkError::NonContributory`];
    /// otherwise [`LinkError::UnsupportedVersion`], [`LinkError::Malformed`],
    /// [`LinkError::WrongOffer`].
    pub fn accept_response(
        self,
        response: &[u8],
        now_ms: u64,
    ) -> Result<(NewSasCheck, Vec<u8>), LinkError> {
        self.offer.check_expiry(now_ms)?;
        let key = PublicKey::from(fixed_fields::<32>(
            response,
            KIND_RESPONSE,
            &self.offer.offer_id,
        )?);
        if ephemeral_hash(&key) != self.offer.ephemeral_hash {
            return Err(LinkError::CommitmentMismatch);
        }
        let mut reveal = Vec::with_capacity(HEADER_LEN + 64);
        reveal.extend_from_slice(&header(KIND_REVEAL, &self.offer.offer_id));
        reveal.extend_from_slice(PublicKey::from(&self.ephemeral).as_bytes());
        reveal.extend_from_slice(&self.nonce);
        let offer = self.offer.to_bytes();
        let keys = LinkKeys::derive(
            &self.ephemeral,
            &key,
            self.offer.offer_id,
            [&offer, &self.commit, response, &reveal],
        )?;
        Ok((NewSasCheck { keys }, reveal))
    }
}

impl NewSasCheck {
    /// The short authentication string to show.
    pub fn sas(&self) -> Sas {
        self.keys.sas
    }

    /// The user saw the same SAS on both devices.
    pub fn confirm(self) -> NewConfirmed {
        NewConfirmed { keys: self.keys }
    }

    /// The user saw different strings: the link is abandoned (returns
    /// [`LinkError::SasRejected`] to report) and its keys are dropped.
    pub fn reject(self) -> LinkError {
        LinkError::SasRejected
    }
}

impl NewConfirmed {
    /// Encrypts this device's relay id and public identity for the existing
    /// device.
    ///
    /// # Errors
    /// [`LinkError::Malformed`] for an invalid id (§8.1); [`LinkError::Rng`].
    pub fn send_device(
        self,
        device_id: &str,
        identity: &PublicIdentity,
    ) -> Result<(NewAwaitingPayload, Vec<u8>), LinkError> {
        if !is_valid_id(device_id) {
            return Err(LinkError::Malformed);
        }
        let mut plaintext = Vec::with_capacity(1 + device_id.len() + identity.as_bytes().len());
        put_id(&mut plaintext, device_id);
        plaintext.extend_from_slice(identity.as_bytes());
        let message = self.keys.seal(KIND_DEVICE, &plaintext)?;
        Ok((NewAwaitingPayload { keys: self.keys }, message))
    }
}

impl NewAwaitingPayload {
    /// Decrypts the existing device's payload.
    ///
    /// # Errors
    /// [`LinkError::DecryptFailed`] if it fails authentication; for its
    /// header and size [`LinkError::UnsupportedVersion`],
    /// [`LinkError::Malformed`], [`LinkError::WrongOffer`],
    /// [`LinkError::PayloadTooLarge`].
    pub fn receive_payload(self, message: &[u8]) -> Result<Zeroizing<Vec<u8>>, LinkError> {
        let (nonce, ciphertext) = sealed_fields(message, KIND_PAYLOAD, &self.keys.offer_id)?;
        self.keys.open(KIND_PAYLOAD, message, &nonce, ciphertext)
    }
}

redacted_debug!(NewDeviceLink, NewSasCheck, NewConfirmed, NewAwaitingPayload);
