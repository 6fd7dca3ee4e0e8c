//! The invitation link fragment: code and inviter, out of band (§8.4).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use super::RegistrationProof;
use super::code::{INVITATION_CODE_LEN, InvitationCode};
use crate::device_list::SignedDeviceList;
use crate::error::InvitationError;
use crate::user::{PUBLIC_USER_IDENTITY_LEN, PublicUserIdentity};

/// Version byte of invitation link fragments.
const FRAGMENT_VERSION: u8 = 1;

/// Kind byte of invitation link fragments: `'I'`.
const FRAGMENT_KIND: u8 = 0x49;

/// Fragment bytes: version, kind, code, inviter.
const FRAGMENT_LEN: usize = 2 + INVITATION_CODE_LEN + PUBLIC_USER_IDENTITY_LEN;

/// Fragment text: unpadded base64url of [`FRAGMENT_LEN`] bytes (90
/// characters).
const FRAGMENT_TEXT_LEN: usize = (FRAGMENT_LEN * 4).div_ceil(3);

/// What an invitation link's fragment carries: the secret code and the
/// inviter's user identity, which the invitee pins.
#[derive(Debug)]
pub struct InvitationLink {
    code: InvitationCode,
    inviter: PublicUserIdentity,
}

/// The URL fragment (without `#`) of an invitation link: unpadded base64url
/// of `0x01 || 0x49 || code (32) || inviter (33)`, 90 characters. It holds
/// the code, so it is secret; browsers do not send fragments to servers.
pub fn invitation_link_fragment(
    code: &InvitationCode,
    inviter: &PublicUserIdentity,
) -> Zeroizing<String> {
    let mut bytes = Zeroizing::new([0u8; FRAGMENT_LEN]);
    bytes[0] = FRAGMENT_VERSION;
    bytes[1] = FRAGMENT_KIND;
    bytes[2..2 + INVITATION_CODE_LEN].copy_from_slice(code.as_bytes());
    bytes[2 + INVITATION_CODE_LEN..].copy_from_slice(inviter.as_bytes());
    Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_ref()))
}

impl InvitationLink {
    /// Parses a fragment made by [`invitation_link_fragment`], with or
    /// without its leading `#`.
    ///
    /// # Errors
    /// [`InvitationError::Malformed`] for another length, non-canonical
    /// base64url, another kind or an invalid inviter key;
    /// [`InvitationError::UnsupportedVersion`] for another version.
    pub fn parse_fragment(fragment: &str) -> Result<Self, InvitationError> {
        let text = fragment.strip_prefix('#').unwrap_or(fragment);
        if text.len() != FRAGMENT_TEXT_LEN {
            return Err(InvitationError::Malformed);
        }
        let bytes = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| InvitationError::Malformed)?,
        );
        match bytes.first() {
            Some(&FRAGMENT_VERSION) => {}
            Some(_) => return Err(InvitationError::UnsupportedVersion),
            None => return Err(InvitationError::Malformed),
        }
        if bytes.len() != FRAGMENT_LEN || bytes[1] != FRAGMENT_KIND {
            return Err(InvitationError::Malformed);
        }
        let mut code = [0u8; INVITATION_CODE_LEN];
        code.copy_from_slice(&bytes[2..2 + INVITATION_CODE_LEN]);
        let code = InvitationCode::from_bytes(code);
        let inviter = PublicUserIdentity::from_bytes(&bytes[2 + INVITATION_CODE_LEN..])
            .map_err(|_| InvitationError::Malformed)?;
        Ok(Self { code, inviter })
    }

    /// The invitation code.
    pub fn code(&self) -> &InvitationCode {
        &self.code
    }

    /// The inviter's user identity, to pin.
    pub fn inviter(&self) -> &PublicUserIdentity {
        &self.inviter
    }

    /// The invitee's [`RegistrationProof`] for this invitation, binding its
    /// user key `invitee` and its first signed device list, given as the
    /// bytes it will send. The list is verified under `invitee` first, as
    /// [`super::verify_registration`] will, so no proof is made over a list
    /// the inviter would refuse.
    ///
    /// # Errors
    /// [`InvitationError::BadDeviceList`] if `invitee_devices` does not
    /// verify under `invitee` ([`SignedDeviceList::from_bytes`]).
    pub fn registration_proof(
        &self,
        invitee: &PublicUserIdentity,
        invitee_devices: &[u8],
    ) -> Result<RegistrationProof, InvitationError> {
        let devices = SignedDeviceList::from_bytes(invitee_devices, invitee)
            .map_err(|_| InvitationError::BadDeviceList)?;
        Ok(RegistrationProof::compute(
            &self.code,
            &self.inviter,
            invitee,
            &devices,
        ))
    }
}
