//! The registration proof: the invitee shows the inviter that it holds the
//! code, binding both user keys and its first device list (§8.4).

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::InvitationCode;
use crate::device_list::{PinnedDeviceList, SignedDeviceList};
use crate::error::InvitationError;
use crate::kdf::{self, DOMAIN_INVITATION_PROOF, INFO_INVITATION_PROOF_KEY};
use crate::user::PublicUserIdentity;

/// Length of a registration proof.
pub const REGISTRATION_PROOF_LEN: usize = 32;

/// `HMAC(proof key, transcript)` (`PROTOCOL.md` §8.4), sent by the invitee
/// through the relay to the inviter with its user key and signed device
/// list. Not secret.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RegistrationProof([u8; REGISTRATION_PROOF_LEN]);

impl RegistrationProof {
    /// The invitee's proof that it holds `code`, for the invitation from
    /// `inviter` (from the link), binding its own user key and first signed
    /// device list.
    pub fn compute(
        code: &InvitationCode,
        inviter: &PublicUserIdentity,
        invitee: &PublicUserIdentity,
        invitee_devices: &SignedDeviceList,
    ) -> Self {
        Self::over(code, inviter, invitee, invitee_devices.as_bytes())
    }

    fn over(
        code: &InvitationCode,
        inviter: &PublicUserIdentity,
        invitee: &PublicUserIdentity,
        invitee_devices: &[u8],
    ) -> Self {
        let key = kdf::hkdf_sha256::<32>(&[], code.as_bytes(), INFO_INVITATION_PROOF_KEY);
        let mac = kdf::hmac_sha256(&key, &transcript(inviter, invitee, invitee_devices));
        Self(*mac)
    }

    /// Wraps proof bytes received from the invitee.
    ///
    /// # Errors
    /// [`InvitationError::Malformed`] for a length other than 32.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, InvitationError> {
        bytes
            .try_into()
            .map(Self)
            .map_err(|_| InvitationError::Malformed)
    }

    /// The 32 proof bytes.
    pub fn as_bytes(&self) -> &[u8; REGISTRATION_PROOF_LEN] {
        &self.0
    }
}

/// `DOMAIN_INVITATION_PROOF || inviter (33) || invitee (33) ||
/// SHA-256(invitee's signed device list)`.
pub(super) fn transcript(
    inviter: &PublicUserIdentity,
    invitee: &PublicUserIdentity,
    invitee_devices: &[u8],
) -> Vec<u8> {
    let list_hash = Sha256::digest(invitee_devices);
    [
        DOMAIN_INVITATION_PROOF,
        inviter.as_bytes(),
        invitee.as_bytes(),
        &list_hash,
    ]
    .concat()
}

/// The inviter, holding the code it made, checks what the relay delivered
/// as the registration of the invitee it files under `invitee_user_id`: the
/// invitee's user key, its signed device list and its proof. On success it
/// returns the pin to keep for that user id: the key and list it verified.
/// (An application that already holds a pin for that user id must not
/// replace it with this one without asking.)
///
/// # Errors
/// [`InvitationError::BadDeviceList`] if the list does not verify under
/// `invitee` ([`SignedDeviceList::from_bytes`]);
/// [`InvitationError::UserMismatch`] if it names a user id other than
/// `invitee_user_id`; [`InvitationError::ProofMismatch`] if the proof was
/// not made with this code for exactly these two user keys and this list
/// (compared in constant time).
pub fn verify_registration(
    code: &InvitationCode,
    inviter: &PublicUserIdentity,
    invitee_user_id: &str,
    invitee: &PublicUserIdentity,
    invitee_devices: &[u8],
    proof: &RegistrationProof,
) -> Result<PinnedDeviceList, InvitationError> {
    let list = SignedDeviceList::from_bytes(invitee_devices, invitee)
        .map_err(|_| InvitationError::BadDeviceList)?;
    if list.list().user_id() != invitee_user_id {
        return Err(InvitationError::UserMismatch);
    }
    let expected = RegistrationProof::over(code, inviter, invitee, invitee_devices);
    if !bool::from(expected.0.ct_eq(&proof.0)) {
        return Err(InvitationError::ProofMismatch);
    }
    PinnedDeviceList::pin(invitee_user_id, invitee, invitee_devices)
        .map_err(|_| InvitationError::BadDeviceList)
}
