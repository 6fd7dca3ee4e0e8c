//! `Session` for JavaScript.

use wasm_bindgen::prelude::*;

use super::account::Account;
use super::error::{bytes_from, bytes_to_js, text_from, to_js};
use super::identity::PublicIdentity;
use super::storage::StorageKey;
use crate::prekey::PreKeyBundle;
use crate::session as core;

/// An end-to-end encrypted session with one other device.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Session {
    pub(super) inner: core::Session,
}

#[wasm_bindgen]
impl Session {
    /// Starts a session from the peer's prekey bundle bytes. Pass `expected`
    /// (for example a contact's verified identity, or the identity a signed
    /// device list names) to refuse a bundle of any other identity
    /// (`identity_mismatch`).
    ///
    /// Throws `malformed_bundle`, `unsupported_version`,
    /// `bad_prekey_signature`, `non_contributory_key`, `identity_mismatch`.
    pub fn initiate(
        account: &Account,
        bundle: &[u8],
        expected: Option<PublicIdentity>,
    ) -> Result<Session, JsValue> {
        let bundle = PreKeyBundle::from_bytes(bundle).map_err(to_js)?;
        core::Session::initiate(
            account.inner.identity(),
            &bundle,
            expected.as_ref().map(|e| &e.inner),
        )
        .map(|inner| Session { inner })
        .map_err(to_js)
    }

    /// Encrypts the next message (`Uint8Array`, or a string as UTF-8).
    /// Throws `message_too_large`, `counter_exhausted`, `invalid_argument`.
    pub fn encrypt(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] message: JsValue,
    ) -> Result<Vec<u8>, JsValue> {
        let message = bytes_from(&message)?;
        self.inner.encrypt(&message).map_err(to_js)
    }

    /// Decrypts a message of this session to bytes. On any error the session
    /// is unchanged and the next good message still decrypts.
    pub fn decrypt(&mut self, message: &[u8]) -> Result<js_sys::Uint8Array, JsValue> {
        let plaintext = self.inner.decrypt(message).map_err(to_js)?;
        Ok(bytes_to_js(&plaintext))
    }

    /// Decrypts a message to text. Throws as `decrypt`, or `invalid_utf8`
    /// (in which case the message still counts as received).
    #[wasm_bindgen(js_name = decryptText)]
    pub fn decrypt_text(&mut self, message: &[u8]) -> Result<js_sys::JsString, JsValue> {
        let bytes = self.inner.decrypt(message).map_err(to_js)?;
        text_from(&bytes)
    }

    /// The session id (16 hex digits), the same on both sides.
    #[wasm_bindgen(getter, js_name = sessionId)]
    pub fn session_id(&self) -> String {
        crate::hex::encode(&self.inner.session_id())
    }

    /// The other device's identity.
    #[wasm_bindgen(js_name = peerIdentity)]
    pub fn peer_identity(&self) -> PublicIdentity {
        PublicIdentity {
            inner: self.inner.peer_identity().clone(),
        }
    }

    /// Whether this side still sends prekey messages (no reply received yet).
    #[wasm_bindgen(getter, js_name = awaitingReply)]
    pub fn awaiting_reply(&self) -> bool {
        self.inner.is_awaiting_reply()
    }

    /// Exports the session, encrypted under a `StorageKey`. Export
    /// after every encrypt and decrypt to persist the ratchet, and save the
    /// export *before* the encrypted message leaves: restoring an older
    /// export (a second tab, a backup) never reuses a key and nonce, but it
    /// lets a peer accept a replay of messages received after that export.
    pub fn export(&self, storage_key: &StorageKey) -> Result<Vec<u8>, JsValue> {
        self.inner.export(&storage_key.inner).map_err(to_js)
    }

    /// Imports a session exported with the same key.
    #[wasm_bindgen(js_name = import)]
    pub fn import(storage_key: &StorageKey, blob: &[u8]) -> Result<Session, JsValue> {
        core::Session::import(&storage_key.inner, blob)
            .map(|inner| Session { inner })
            .map_err(to_js)
    }
}

/// The session id (16 hex digits) a message belongs to, for routing it to the
/// right session, or to `Account.acceptSession` when there is none.
#[wasm_bindgen(js_name = sessionIdOf)]
pub fn session_id_of(message: &[u8]) -> Result<String, JsValue> {
    core::session_id_of(message)
        .map(|id| crate::hex::encode(&id))
        .map_err(to_js)
}

/// What a relay can read from a session message without keys.
#[wasm_bindgen(js_name = inspectSessionMessage, unchecked_return_type = "SessionMessageSummary")]
pub fn inspect_session_message(message: &[u8]) -> Result<JsValue, JsValue> {
    let summary = core::inspect(message).map_err(to_js)?;
    serde_wasm_bindgen::to_value(&summary).map_err(JsValue::from)
}

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** What anyone can read from a session message without keys. */
export interface SessionMessageSummary {
  kind: 'prekey' | 'message';
  sessionId: string;
  ratchetKey: string;
  previousChainLen: number;
  counter: number;
  initiator?: string;
  ciphertextLen: number;
  totalLen: number;
}
"#;
