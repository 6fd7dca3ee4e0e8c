//! Sealed messages for JavaScript.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::error::{bytes_from, bytes_to_js, text_from, to_js};
use super::identity::{Identity, PublicIdentity};
use crate::sealed as core;

/// Seals `message` (bytes, or a string as UTF-8) to `recipient`, anonymously.
/// Returns the envelope bytes to hand to the relay.
///
/// Throws `CareSealError` with code `message_too_large` above
/// `limits().maxSealedMessageLen`, or `invalid_argument`.
#[wasm_bindgen]
pub fn seal(
    recipient: &PublicIdentity,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] message: JsValue,
) -> Result<Vec<u8>, JsValue> {
    let message = bytes_from(&message)?;
    core::seal(&recipient.inner, &message, None).map_err(to_js)
}

#[wasm_bindgen]
impl Identity {
    /// Seals `message` to `recipient` with this identity signed inside the
    /// ciphertext: only the recipient learns who sent it.
    ///
    /// Throws as `seal`.
    #[wasm_bindgen(js_name = sealSigned)]
    pub fn seal_signed(
        &self,
        recipient: &PublicIdentity,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] message: JsValue,
    ) -> Result<Vec<u8>, JsValue> {
        let message = bytes_from(&message)?;
        core::seal(&recipient.inner, &message, Some(&self.inner)).map_err(to_js)
    }

    /// Opens an envelope sealed to this identity.
    ///
    /// Throws `CareSealError` with code `empty_envelope`,
    /// `envelope_too_large`, `unsupported_version`, `malformed_envelope`,
    /// `truncated_envelope`, `wrong_recipient`, `non_contributory_key`,
    /// `decrypt_failed` or `bad_signature`. Nothing is kept on failure.
    pub fn open(&self, envelope: &[u8]) -> Result<OpenedMessage, JsValue> {
        core::open(&self.inner, envelope)
            .map(|inner| OpenedMessage { inner })
            .map_err(to_js)
    }
}

/// An opened sealed message.
#[wasm_bindgen]
#[derive(Debug)]
pub struct OpenedMessage {
    inner: core::OpenedMessage,
}

#[wasm_bindgen]
impl OpenedMessage {
    /// The plaintext bytes (a copy).
    #[wasm_bindgen(getter)]
    pub fn message(&self) -> js_sys::Uint8Array {
        bytes_to_js(self.inner.message())
    }

    /// The plaintext as a string. Throws `invalid_utf8` if it is not text.
    pub fn text(&self) -> Result<js_sys::JsString, JsValue> {
        text_from(self.inner.message())
    }

    /// The sender, if it signed its identity into the envelope; otherwise
    /// `undefined` (anonymous).
    #[wasm_bindgen(getter)]
    pub fn sender(&self) -> Option<PublicIdentity> {
        self.inner.sender().map(|inner| PublicIdentity {
            inner: inner.clone(),
        })
    }
}

/// What a relay (or anyone) can read from an envelope without keys: version,
/// kind, recipient hint, ephemeral key, nonce and sizes, as a plain object.
///
/// Throws for structurally invalid envelopes, with the same codes as `open`.
#[wasm_bindgen(js_name = inspectEnvelope, unchecked_return_type = "EnvelopeSummary")]
pub fn inspect_envelope(envelope: &[u8]) -> Result<JsValue, JsValue> {
    let summary = core::inspect(envelope).map_err(to_js)?;
    serde_wasm_bindgen::to_value(&summary).map_err(JsValue::from)
}

/// The size limits this build enforces.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Limits {
    max_sealed_message_len: usize,
    max_sealed_envelope_len: usize,
    max_session_message_len: usize,
    max_session_envelope_len: usize,
}

/// The size limits this build enforces, as a plain object
/// `{ maxSealedMessageLen, maxSealedEnvelopeLen, maxSessionMessageLen,
/// maxSessionEnvelopeLen }`.
#[wasm_bindgen(unchecked_return_type = "Limits")]
pub fn limits() -> Result<JsValue, JsValue> {
    serde_wasm_bindgen::to_value(&Limits {
        max_sealed_message_len: core::MAX_SEALED_MESSAGE_LEN,
        max_sealed_envelope_len: core::MAX_SEALED_ENVELOPE_LEN,
        max_session_message_len: crate::session::MAX_SESSION_MESSAGE_LEN,
        max_session_envelope_len: crate::session::MAX_SESSION_ENVELOPE_LEN,
    })
    .map_err(JsValue::from)
}

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** What anyone can read from a sealed envelope without keys. */
export interface EnvelopeSummary {
  version: number;
  kind: number;
  recipientHint: string;
  ephemeralKey: string;
  nonce: string;
  ciphertextLen: number;
  totalLen: number;
}
/** Size limits enforced by this build. */
export interface Limits {
  maxSealedMessageLen: number;
  maxSealedEnvelopeLen: number;
  maxSessionMessageLen: number;
  maxSessionEnvelopeLen: number;
}
"#;
