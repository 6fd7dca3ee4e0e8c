//! `Account` for JavaScript.

use wasm_bindgen::prelude::*;

use super::error::to_js;
use super::identity::PublicIdentity;
use super::session::Session;
use crate::account as core;
use crate::pickle::StorageKey;

/// A device account: identity, signed prekey and one-time prekeys. Publish
/// `prekeyBundle()` through your server; accept sessions others start.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Account {
    pub(super) inner: core::Account,
}

/// A session accepted from its first message, with that message's plaintext.
#[wasm_bindgen]
#[derive(Debug)]
pub struct AcceptedSession {
    session: Option<Session>,
    plaintext: Vec<u8>,
}

#[wasm_bindgen]
impl AcceptedSession {
    /// The new session. Can be taken once; a second call throws
    /// `invalid_argument`.
    #[wasm_bindgen(js_name = takeSession)]
    pub fn take_session(&mut self) -> Result<Session, JsValue> {
        self.session
            .take()
            .ok_or_else(|| to_js(super::error::BindingError::AlreadyTaken))
    }

    /// The first message's plaintext bytes.
    #[wasm_bindgen(getter)]
    pub fn plaintext(&self) -> Vec<u8> {
        self.plaintext.clone()
    }

    /// The first message's plaintext as text. Throws `invalid_utf8`.
    pub fn text(&self) -> Result<String, JsValue> {
        super::error::text_from(&self.plaintext)
    }
}

#[wasm_bindgen]
impl Account {
    /// A new account with a fresh identity and signed prekey.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Result<Account, JsValue> {
        core::Account::new()
            .map(|inner| Account { inner })
            .map_err(to_js)
    }

    /// The account's public identity.
    #[wasm_bindgen(js_name = publicIdentity)]
    pub fn public_identity(&self) -> PublicIdentity {
        PublicIdentity {
            inner: self.inner.public_identity().clone(),
        }
    }

    /// Generates `count` more one-time prekeys. Throws `too_many_prekeys`.
    #[wasm_bindgen(js_name = generateOneTimePrekeys)]
    pub fn generate_one_time_prekeys(&mut self, count: usize) -> Result<(), JsValue> {
        self.inner.generate_one_time_prekeys(count).map_err(to_js)
    }

    /// How many one-time prekeys are still unused.
    #[wasm_bindgen(getter, js_name = oneTimePrekeyCount)]
    pub fn one_time_prekey_count(&self) -> usize {
        self.inner.one_time_prekey_count()
    }

    /// Replaces the signed prekey (the previous one keeps working).
    #[wasm_bindgen(js_name = rotateSignedPrekey)]
    pub fn rotate_signed_prekey(&mut self) -> Result<(), JsValue> {
        self.inner.rotate_signed_prekey().map_err(to_js)
    }

    /// The prekey bundle to publish, as bytes.
    #[wasm_bindgen(js_name = prekeyBundle)]
    pub fn prekey_bundle(&self) -> Vec<u8> {
        self.inner.prekey_bundle().to_bytes()
    }

    /// Accepts a session from its first (prekey) message. The one-time prekey
    /// it used is deleted only if the message authenticated; on error the
    /// account is unchanged. Export the account afterwards.
    #[wasm_bindgen(js_name = acceptSession)]
    pub fn accept_session(&mut self, message: &[u8]) -> Result<AcceptedSession, JsValue> {
        let accepted = self.inner.accept_session(message).map_err(to_js)?;
        Ok(AcceptedSession {
            session: Some(Session {
                inner: accepted.session,
            }),
            plaintext: accepted.plaintext,
        })
    }

    /// Exports the account, encrypted under a 32-byte storage key.
    pub fn export(&self, storage_key: &[u8]) -> Result<Vec<u8>, JsValue> {
        let key = StorageKey::from_slice(storage_key).map_err(to_js)?;
        self.inner.export(&key).map_err(to_js)
    }

    /// Imports an account exported with the same key. Throws
    /// `pickle_decrypt_failed` for a wrong key or an altered blob.
    #[wasm_bindgen(js_name = import)]
    pub fn import(storage_key: &[u8], blob: &[u8]) -> Result<Account, JsValue> {
        let key = StorageKey::from_slice(storage_key).map_err(to_js)?;
        core::Account::import(&key, blob)
            .map(|inner| Account { inner })
            .map_err(to_js)
    }
}
