//! Linking a new device (`PROTOCOL.md` §8.6) for JavaScript:
//! `ExistingDeviceLink` on a device the user already has, `NewDeviceLink` on
//! the device being linked, and the `LinkedDevice` the existing one learns.
//!
//! The core makes each side a chain of single-use states consumed by value.
//! A JavaScript object cannot be consumed, so each side is one class holding
//! its current core state: every step takes the state out, leaving `Failed`,
//! and puts the next one back only if the core accepted the step. After any
//! error (a message at the wrong step, such as a replay, included) and after
//! `reject()` the link is finished: its keys are dropped and every later
//! step throws `link_wrong_state`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use js_sys::Uint8Array;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use super::error::{BindingError, bytes_from_array, bytes_to_js, millis_from, to_js};
use super::identity::PublicIdentity;
use crate::linking as core;

/// Where the existing device's side of a link is.
#[derive(Debug)]
enum Existing {
    /// Showing the offer, waiting for the new device's commitment.
    AwaitingCommitment(core::ExistingDeviceLink),
    /// Answered the commitment, waiting for the reveal.
    AwaitingReveal(core::ExistingAwaitingReveal),
    /// Showing the SAS, waiting for the user.
    SasCheck(core::ExistingSasCheck),
    /// Sent the payload, waiting for the new device's identity.
    AwaitingDevice(core::ExistingAwaitingDevice),
    /// Received the new device's identity.
    Linked,
    /// Rejected, or a step failed.
    Failed,
}

impl Existing {
    fn name(&self) -> &'static str {
        match self {
            Self::AwaitingCommitment(_) => "awaitingCommitment",
            Self::AwaitingReveal(_) => "awaitingReveal",
            Self::SasCheck(_) => "sasCheck",
            Self::AwaitingDevice(_) => "awaitingDevice",
            Self::Linked => "linked",
            Self::Failed => "failed",
        }
    }
}

/// Where the new device's side of a link is.
#[derive(Debug)]
enum New {
    /// Sent the commitment, waiting for the existing device's response.
    AwaitingResponse(core::NewDeviceLink),
    /// Showing the SAS, waiting for the user.
    SasCheck(core::NewSasCheck),
    /// Sent its identity, waiting for the payload.
    AwaitingPayload(core::NewAwaitingPayload),
    /// Received the payload.
    Linked,
    /// Rejected, or a step failed.
    Failed,
}

impl New {
    fn name(&self) -> &'static str {
        match self {
            Self::AwaitingResponse(_) => "awaitingResponse",
            Self::SasCheck(_) => "sasCheck",
            Self::AwaitingPayload(_) => "awaitingPayload",
            Self::Linked => "linked",
            Self::Failed => "failed",
        }
    }
}

/// The existing device's side of linking a new device of the same user.
///
/// Show `offerText()` (a QR code or link) on this screen; relay the
/// messages under `offerId()`. Steps, in order: `acceptCommitment`,
/// `acceptReveal` (shows the SAS), then `confirm(payload)` once the user saw
/// the same six digits on both screens (or `reject()`), then
/// `receiveDevice`. Any error finishes the link (`state` is `'failed'`).
/// Call `free()` when done to wipe its keys at once.
#[wasm_bindgen]
#[derive(Debug)]
pub struct ExistingDeviceLink {
    offer: core::LinkOffer,
    state: Existing,
}

#[wasm_bindgen]
impl ExistingDeviceLink {
    /// Starts a link at `nowMs` (`Date.now()`): a fresh ephemeral key and
    /// offer id; the offer expires five minutes later.
    ///
    /// Throws `invalid_argument` for a `nowMs` that is not a time after 2001
    /// within the range of JS dates, or `rng_failed`.
    pub fn offer(now_ms: f64) -> Result<ExistingDeviceLink, JsValue> {
        let now = millis_from(now_ms)?;
        let (link, offer) = core::ExistingDeviceLink::offer(now).map_err(to_js)?;
        Ok(ExistingDeviceLink {
            offer,
            state: Existing::AwaitingCommitment(link),
        })
    }

    /// The offer's text to show as a QR code or in a link (78 characters of
    /// base64url), for `NewDeviceLink.join` on the new device. Show it on
    /// this screen only: not through the relay.
    #[wasm_bindgen(js_name = offerText)]
    pub fn offer_text(&self) -> String {
        self.offer.to_text()
    }

    /// The offer id (22 characters of base64url): names the link's
    /// rendezvous on the relay.
    #[wasm_bindgen(js_name = offerId)]
    pub fn offer_id(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.offer.offer_id())
    }

    /// When the offer expires (milliseconds since 1970, as `Date.now()`).
    #[wasm_bindgen(js_name = expiresAtMs)]
    pub fn expires_at_ms(&self) -> f64 {
        self.offer.expires_at_ms() as f64
    }

    /// The step the link is at.
    #[wasm_bindgen(
        getter,
        unchecked_return_type = "'awaitingCommitment' | 'awaitingReveal' | 'sasCheck' | 'awaitingDevice' | 'linked' | 'failed'"
    )]
    pub fn state(&self) -> String {
        self.state.name().to_string()
    }

    /// Takes the new device's commitment and returns the response to send
    /// it.
    ///
    /// Throws `link_wrong_state`, `invalid_argument` (`nowMs`),
    /// `link_expired`, `malformed_link_message`, `unsupported_version` or
    /// `link_wrong_offer`.
    #[wasm_bindgen(js_name = acceptCommitment)]
    pub fn accept_commitment(&mut self, commit: &[u8], now_ms: f64) -> Result<Vec<u8>, JsValue> {
        let link = match self.take() {
            Existing::AwaitingCommitment(link) => link,
            other => return Err(self.refuse(other)),
        };
        let (next, response) = link
            .accept_commitment(commit, millis_from(now_ms)?)
            .map_err(to_js)?;
        self.state = Existing::AwaitingReveal(next);
        Ok(response)
    }

    /// Takes the new device's reveal and returns the SAS to show: six
    /// digits, which the user must compare with the new device's screen.
    ///
    /// Throws `link_wrong_state`, `invalid_argument` (`nowMs`),
    /// `link_expired`, `link_commitment_mismatch`, `non_contributory_key`,
    /// `malformed_link_message`, `unsupported_version` or
    /// `link_wrong_offer`.
    #[wasm_bindgen(js_name = acceptReveal)]
    pub fn accept_reveal(&mut self, reveal: &[u8], now_ms: f64) -> Result<String, JsValue> {
        let link = match self.take() {
            Existing::AwaitingReveal(link) => link,
            other => return Err(self.refuse(other)),
        };
        let check = link
            .accept_reveal(reveal, millis_from(now_ms)?)
            .map_err(to_js)?;
        let sas = check.sas().to_string();
        self.state = Existing::SasCheck(check);
        Ok(sas)
    }

    /// The SAS again (as `acceptReveal` returned it), while the user
    /// compares. Throws `link_wrong_state` at any other step.
    pub fn sas(&mut self) -> Result<String, JsValue> {
        let check = match self.take() {
            Existing::SasCheck(check) => check,
            other => return Err(self.refuse(other)),
        };
        let sas = check.sas().to_string();
        self.state = Existing::SasCheck(check);
        Ok(sas)
    }

    /// The user saw the same SAS on both screens: encrypts `payload` (what
    /// the new device needs, such as the user identity's export; secret)
    /// for the new device and returns the message to send it.
    ///
    /// Throws `link_wrong_state`, `invalid_argument` (not a `Uint8Array`),
    /// `link_payload_too_large` (over 1 MiB) or `rng_failed`.
    pub fn confirm(&mut self, payload: &Uint8Array) -> Result<Vec<u8>, JsValue> {
        let check = match self.take() {
            Existing::SasCheck(check) => check,
            other => return Err(self.refuse(other)),
        };
        if !payload.is_instance_of::<Uint8Array>() {
            return Err(to_js(BindingError::InvalidArgument));
        }
        let payload = bytes_from_array(payload);
        let (next, message) = check.confirm().send_payload(&payload).map_err(to_js)?;
        self.state = Existing::AwaitingDevice(next);
        Ok(message)
    }

    /// Ends the link and drops its keys: the user saw different strings (or
    /// cancelled). Nothing changes once the link has finished.
    pub fn reject(&mut self) {
        self.state = match self.take() {
            Existing::SasCheck(check) => {
                let _rejected = check.reject();
                Existing::Failed
            }
            Existing::Linked => Existing::Linked,
            _ => Existing::Failed,
        };
    }

    /// Takes the new device's message: its device id and identity, to add
    /// to the user's next signed device list. The link is then `linked`.
    ///
    /// Throws `link_wrong_state`, `link_decrypt_failed`,
    /// `malformed_link_message`, `unsupported_version`, `link_wrong_offer`
    /// or `link_payload_too_large`.
    #[wasm_bindgen(js_name = receiveDevice)]
    pub fn receive_device(&mut self, message: &[u8]) -> Result<LinkedDevice, JsValue> {
        let link = match self.take() {
            Existing::AwaitingDevice(link) => link,
            other => return Err(self.refuse(other)),
        };
        let inner = link.receive_device(message).map_err(to_js)?;
        self.state = Existing::Linked;
        Ok(LinkedDevice { inner })
    }
}

impl ExistingDeviceLink {
    /// The current state, leaving `Failed` until a step puts the next one.
    fn take(&mut self) -> Existing {
        std::mem::replace(&mut self.state, Existing::Failed)
    }

    /// The error for a step the link is not at, given the state `take`
    /// took: a link that had finished linking stays `linked`; any other is
    /// dropped (its keys wiped) and the link `failed` from now on.
    fn refuse(&mut self, state: Existing) -> JsValue {
        if let Existing::Linked = state {
            self.state = Existing::Linked;
        }
        to_js(BindingError::LinkWrongState)
    }
}

/// The new device's side of linking it to its user's existing device.
///
/// Read the existing device's offer (QR code or link) with `join`, and
/// relay the messages under `offerId()`: send `commitment()`, then
/// `acceptResponse` (returns the reveal to send; `sas()` is then the six
/// digits to show), then `confirm(deviceId, identity)` once the user saw the
/// same digits on both screens (or `reject()`), then `receivePayload`. Keep
/// a payload that arrives before the user confirmed until then. Any error
/// finishes the link (`state` is `'failed'`). Call `free()` when done to
/// wipe its keys at once.
#[wasm_bindgen]
#[derive(Debug)]
pub struct NewDeviceLink {
    offer: core::LinkOffer,
    commit: Vec<u8>,
    state: New,
}

#[wasm_bindgen]
impl NewDeviceLink {
    /// Joins the link whose offer text (`ExistingDeviceLink.offerText()`)
    /// was read off the existing device's screen, at `nowMs`
    /// (`Date.now()`).
    ///
    /// Throws `invalid_argument` (`nowMs`), `malformed_link_message`,
    /// `unsupported_version`, `link_expired` or `rng_failed`.
    pub fn join(offer_text: &str, now_ms: f64) -> Result<NewDeviceLink, JsValue> {
        let now = millis_from(now_ms)?;
        let offer = core::LinkOffer::from_text(offer_text).map_err(to_js)?;
        let (link, commit) = core::NewDeviceLink::join(&offer, now).map_err(to_js)?;
        Ok(NewDeviceLink {
            offer,
            commit,
            state: New::AwaitingResponse(link),
        })
    }

    /// The offer id (22 characters of base64url): names the link's
    /// rendezvous on the relay.
    #[wasm_bindgen(js_name = offerId)]
    pub fn offer_id(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.offer.offer_id())
    }

    /// When the offer expires (milliseconds since 1970, by the existing
    /// device's clock).
    #[wasm_bindgen(js_name = expiresAtMs)]
    pub fn expires_at_ms(&self) -> f64 {
        self.offer.expires_at_ms() as f64
    }

    /// The commitment message `join` made, to send to the existing device
    /// (the same bytes on every call).
    pub fn commitment(&self) -> Vec<u8> {
        self.commit.clone()
    }

    /// The step the link is at.
    #[wasm_bindgen(
        getter,
        unchecked_return_type = "'awaitingResponse' | 'sasCheck' | 'awaitingPayload' | 'linked' | 'failed'"
    )]
    pub fn state(&self) -> String {
        self.state.name().to_string()
    }

    /// Takes the existing device's response and returns the reveal to send
    /// it; `sas()` then gives the string to show.
    ///
    /// Throws `link_wrong_state`, `invalid_argument` (`nowMs`),
    /// `link_expired`, `link_commitment_mismatch` (the key is not the one
    /// the offer named), `non_contributory_key`, `malformed_link_message`,
    /// `unsupported_version` or `link_wrong_offer`.
    #[wasm_bindgen(js_name = acceptResponse)]
    pub fn accept_response(&mut self, response: &[u8], now_ms: f64) -> Result<Vec<u8>, JsValue> {
        let link = match self.take() {
            New::AwaitingResponse(link) => link,
            other => return Err(self.refuse(other)),
        };
        let (check, reveal) = link
            .accept_response(response, millis_from(now_ms)?)
            .map_err(to_js)?;
        self.state = New::SasCheck(check);
        Ok(reveal)
    }

    /// The SAS to show: six digits, which the user must compare with the
    /// existing device's screen. Throws `link_wrong_state` at any step but
    /// the comparison.
    pub fn sas(&mut self) -> Result<String, JsValue> {
        let check = match self.take() {
            New::SasCheck(check) => check,
            other => return Err(self.refuse(other)),
        };
        let sas = check.sas().to_string();
        self.state = New::SasCheck(check);
        Ok(sas)
    }

    /// The user saw the same SAS on both screens: encrypts this device's
    /// relay id and public identity for the existing device and returns the
    /// message to send it.
    ///
    /// Throws `link_wrong_state`, `malformed_link_message` (an invalid
    /// device id) or `rng_failed`.
    pub fn confirm(
        &mut self,
        device_id: &str,
        identity: &PublicIdentity,
    ) -> Result<Vec<u8>, JsValue> {
        let check = match self.take() {
            New::SasCheck(check) => check,
            other => return Err(self.refuse(other)),
        };
        let (next, message) = check
            .confirm()
            .send_device(device_id, &identity.inner)
            .map_err(to_js)?;
        self.state = New::AwaitingPayload(next);
        Ok(message)
    }

    /// Ends the link and drops its keys: the user saw different strings (or
    /// cancelled). Nothing changes once the link has finished.
    pub fn reject(&mut self) {
        self.state = match self.take() {
            New::SasCheck(check) => {
                let _rejected = check.reject();
                New::Failed
            }
            New::Linked => New::Linked,
            _ => New::Failed,
        };
    }

    /// Takes the existing device's payload message and returns the payload
    /// (secret: a copy the garbage collector frees unwiped, so use it and
    /// drop it). The link is then `linked`.
    ///
    /// Throws `link_wrong_state`, `link_decrypt_failed`,
    /// `malformed_link_message`, `unsupported_version`, `link_wrong_offer`
    /// or `link_payload_too_large`.
    #[wasm_bindgen(js_name = receivePayload)]
    pub fn receive_payload(&mut self, message: &[u8]) -> Result<Uint8Array, JsValue> {
        let link = match self.take() {
            New::AwaitingPayload(link) => link,
            other => return Err(self.refuse(other)),
        };
        let payload = link.receive_payload(message).map_err(to_js)?;
        self.state = New::Linked;
        Ok(bytes_to_js(&payload))
    }
}

impl NewDeviceLink {
    /// The current state, leaving `Failed` until a step puts the next one.
    fn take(&mut self) -> New {
        std::mem::replace(&mut self.state, New::Failed)
    }

    /// The error for a step the link is not at, given the state `take`
    /// took: a link that had finished linking stays `linked`; any other is
    /// dropped (its keys wiped) and the link `failed` from now on.
    fn refuse(&mut self, state: New) -> JsValue {
        if let New::Linked = state {
            self.state = New::Linked;
        }
        to_js(BindingError::LinkWrongState)
    }
}

/// The device the existing device linked: its relay device id and public
/// identity, authenticated by the confirmed SAS. Add it to the user's device
/// list (`DeviceList.withDevice(deviceId, identity)`), sign and publish.
#[wasm_bindgen]
#[derive(Debug)]
pub struct LinkedDevice {
    inner: core::LinkedDevice,
}

#[wasm_bindgen]
impl LinkedDevice {
    /// The new device's id.
    #[wasm_bindgen(getter, js_name = deviceId)]
    pub fn device_id(&self) -> String {
        self.inner.device_id().to_string()
    }

    /// The new device's public identity.
    #[wasm_bindgen(getter)]
    pub fn identity(&self) -> PublicIdentity {
        PublicIdentity {
            inner: self.inner.identity().clone(),
        }
    }
}
