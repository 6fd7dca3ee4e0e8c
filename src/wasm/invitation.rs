//! `InvitationCode`, `InvitationLink` and `verifyRegistration` for
//! JavaScript.

use wasm_bindgen::prelude::*;

use super::device_list::PinnedDeviceList;
use super::error::{bytes_from, text_from, to_js};
use super::user::PublicUserIdentity;
use crate::error::InvitationError;
use crate::invitation as core;

/// A secret, single-use invitation code, made by the inviter (the
/// clinician), who keeps it until the invitee's registration arrives and is
/// checked with `verifyRegistration`. Call `free()` when done to wipe it.
#[wasm_bindgen]
#[derive(Debug)]
pub struct InvitationCode {
    inner: core::InvitationCode,
}

#[wasm_bindgen]
impl InvitationCode {
    /// A fresh code from `crypto.getRandomValues`. Throws `rng_failed`.
    pub fn generate() -> Result<InvitationCode, JsValue> {
        core::InvitationCode::generate()
            .map(|inner| InvitationCode { inner })
            .map_err(to_js)
    }

    /// The one-way token to register the invitation with the relay (43
    /// characters). It does not reveal the code.
    #[wasm_bindgen(js_name = redemptionToken)]
    pub fn redemption_token(&self) -> String {
        self.inner.redemption_token()
    }

    /// The fragment (without `#`) of the link to hand the invitee out of
    /// band: the code and the inviter's user key, 90 characters. Secret:
    /// it holds the code.
    #[wasm_bindgen(js_name = linkFragment)]
    pub fn link_fragment(&self, inviter: &PublicUserIdentity) -> Result<js_sys::JsString, JsValue> {
        let fragment = core::invitation_link_fragment(&self.inner, &inviter.inner);
        text_from(fragment.as_bytes())
    }

    /// The code as text (43 characters of base64url), to keep until the
    /// registration arrives. Secret: anyone who has it can register as the
    /// invitee. Store it as you store exported state, not in clear.
    #[wasm_bindgen(js_name = toText)]
    pub fn to_text(&self) -> Result<js_sys::JsString, JsValue> {
        text_from(self.inner.to_text().as_bytes())
    }

    /// Reads a code made by `toText()`. Throws `malformed_invitation`.
    #[wasm_bindgen(js_name = fromText)]
    pub fn from_text(
        #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    ) -> Result<InvitationCode, JsValue> {
        let bytes = secret_text(&text)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| to_js(InvitationError::Malformed))?;
        core::InvitationCode::from_text(text)
            .map(|inner| InvitationCode { inner })
            .map_err(to_js)
    }
}

/// What the invitee reads from an invitation link's fragment: the secret
/// code and the inviter's user key, which the invitee pins. Call `free()`
/// when done to wipe the code.
#[wasm_bindgen]
#[derive(Debug)]
pub struct InvitationLink {
    inner: core::InvitationLink,
}

#[wasm_bindgen]
impl InvitationLink {
    /// Parses a link's fragment, with or without its leading `#`.
    ///
    /// Throws `malformed_invitation` or `unsupported_version`.
    #[wasm_bindgen(js_name = parseFragment)]
    pub fn parse_fragment(
        #[wasm_bindgen(unchecked_param_type = "string")] fragment: JsValue,
    ) -> Result<InvitationLink, JsValue> {
        let bytes = secret_text(&fragment)?;
        let fragment =
            std::str::from_utf8(&bytes).map_err(|_| to_js(InvitationError::Malformed))?;
        core::InvitationLink::parse_fragment(fragment)
            .map(|inner| InvitationLink { inner })
            .map_err(to_js)
    }

    /// The token with which the invitee redeems the invitation at the relay.
    #[wasm_bindgen(js_name = redemptionToken)]
    pub fn redemption_token(&self) -> String {
        self.inner.code().redemption_token()
    }

    /// The inviter's user key, to pin.
    pub fn inviter(&self) -> PublicUserIdentity {
        PublicUserIdentity {
            inner: self.inner.inviter().clone(),
        }
    }

    /// The invitee's registration proof (32 bytes), binding its user key
    /// `invitee` and its first signed device list (`DeviceList.sign` bytes),
    /// to send through the relay with both.
    ///
    /// Throws `invitation_device_list_invalid` if the list does not verify
    /// under `invitee`.
    #[wasm_bindgen(js_name = registrationProof)]
    pub fn registration_proof(
        &self,
        invitee: &PublicUserIdentity,
        invitee_signed_device_list: &[u8],
    ) -> Result<Vec<u8>, JsValue> {
        self.inner
            .registration_proof(&invitee.inner, invitee_signed_device_list)
            .map(|proof| proof.as_bytes().to_vec())
            .map_err(to_js)
    }
}

/// The inviter, holding the code it made, checks the registration of the
/// invitee it files under `inviteeUserId` as the relay delivered it: the
/// invitee's user key, signed device list and proof. Returns the pin to
/// keep for that user id. Do not replace a pin already kept for the id
/// without asking the person.
///
/// Throws `malformed_invitation` (a proof that is not 32 bytes),
/// `invitation_device_list_invalid`, `invitation_user_mismatch` (the list
/// names another user id) or `invitation_proof_mismatch`.
#[wasm_bindgen(js_name = verifyRegistration)]
pub fn verify_registration(
    code: &InvitationCode,
    inviter: &PublicUserIdentity,
    invitee_user_id: &str,
    invitee: &PublicUserIdentity,
    invitee_signed_device_list: &[u8],
    proof: &[u8],
) -> Result<PinnedDeviceList, JsValue> {
    let proof = core::RegistrationProof::from_bytes(proof).map_err(to_js)?;
    core::verify_registration(
        &code.inner,
        &inviter.inner,
        invitee_user_id,
        &invitee.inner,
        invitee_signed_device_list,
        &proof,
    )
    .map(|inner| PinnedDeviceList { inner })
    .map_err(to_js)
}

/// Reads a secret string argument into a buffer wiped when dropped; anything
/// but a string is `invalid_argument`.
fn secret_text(value: &JsValue) -> Result<zeroize::Zeroizing<Vec<u8>>, JsValue> {
    if !value.is_string() {
        return Err(to_js(super::error::BindingError::InvalidArgument));
    }
    bytes_from(value)
}
