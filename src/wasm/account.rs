//! `Account` for JavaScript.

use wasm_bindgen::prelude::*;

use zeroize::Zeroizing;

use super::error::{BindingError, bytes_to_js, to_js};
use super::identity::PublicIdentity;
use super::session::Session;
use super::storage::StorageKey;
use crate::account as core;

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
    plaintext: Zeroizing<Vec<u8>>,
}

impl From<core::AcceptedSession> for AcceptedSession {
    fn from(accepted: core::AcceptedSession) -> Self {
        AcceptedSession {
            session: Some(Session {
                inner: accepted.session,
            }),
            plaintext: accepted.plaintext,
        }
    }
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

    /// The first message's plaintext bytes (a copy).
    #[wasm_bindgen(getter)]
    pub fn plaintext(&self) -> js_sys::Uint8Array {
        bytes_to_js(&self.plaintext)
    }

    /// The first message's plaintext as text. Throws `invalid_utf8`.
    pub fn text(&self) -> Result<js_sys::JsString, JsValue> {
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

    /// Accepts a session from its first (prekey) message, only from
    /// `expected`: a first message from any other identity throws
    /// `identity_mismatch` and changes nothing. The one-time prekey it used
    /// is deleted only if the session is accepted; on any error the account
    /// is unchanged. Export the account afterwards.
    #[wasm_bindgen(js_name = acceptSession)]
    pub fn accept_session(
        &mut self,
        message: &[u8],
        expected: &PublicIdentity,
    ) -> Result<AcceptedSession, JsValue> {
        let accepted = self
            .inner
            .accept_session(message, |initiator| initiator == &expected.inner)
            .map_err(to_js)?;
        Ok(AcceptedSession::from(accepted))
    }

    /// Accepts a session from its first (prekey) message if `approve`,
    /// called once with the initiator's authenticated identity before
    /// anything is committed, returns `true` (for example: the identity is on
    /// the sender's verified device list). Any other return value, or an
    /// exception (rethrown), refuses it: `identity_mismatch`, and the account
    /// is unchanged. Compare the whole identity (`equals`), not a part of
    /// it. The callback runs while this account is in use: it must not call
    /// any method of the same account (capture what it needs first), and it
    /// must be synchronous (a returned Promise is a refusal).
    #[wasm_bindgen(js_name = acceptSessionIf)]
    pub fn accept_session_if(
        &mut self,
        message: &[u8],
        #[wasm_bindgen(unchecked_param_type = "(initiator: PublicIdentity) => boolean")]
        approve: &js_sys::Function,
    ) -> Result<AcceptedSession, JsValue> {
        let mut thrown = None;
        let result = self.inner.accept_session(message, |initiator| {
            let argument: JsValue = PublicIdentity {
                inner: initiator.clone(),
            }
            .into();
            match approve.call1(&JsValue::NULL, &argument) {
                Ok(answer) => answer.as_bool() == Some(true),
                Err(exception) => {
                    thrown = Some(exception);
                    false
                }
            }
        });
        if let Some(exception) = thrown {
            return Err(exception);
        }
        result.map(AcceptedSession::from).map_err(to_js)
    }

    /// Keeps the signed prekeys on schedule: call at start-up and about
    /// daily with `Date.now()` (milliseconds; anything that is not a time
    /// after 2001 and within the range of JS dates throws
    /// `invalid_argument`). Returns `"rotated"` (export the account and
    /// publish the new `prekeyBundle()`), `"retired"` or `"started"` (export
    /// the account) or `"unchanged"`. Process waiting messages first: a
    /// message to a retired signed prekey can no longer be read.
    #[wasm_bindgen(js_name = maintainSignedPrekeys, unchecked_return_type = "'rotated' | 'retired' | 'started' | 'unchanged'")]
    pub fn maintain_signed_prekeys(&mut self, now_millis: f64) -> Result<JsValue, JsValue> {
        // Milliseconds since 1970: after 2001 (so seconds passed by mistake
        // are refused) and at most the largest JS date.
        const EARLIEST_MILLIS: f64 = 1.0e12;
        const LATEST_MILLIS: f64 = 8.64e15;
        if !(EARLIEST_MILLIS..=LATEST_MILLIS).contains(&now_millis) {
            return Err(to_js(BindingError::InvalidArgument));
        }
        let now = (now_millis / 1000.0) as u64;
        let outcome = self.inner.maintain_signed_prekeys(now).map_err(to_js)?;
        Ok(JsValue::from_str(match outcome {
            core::PreKeyMaintenance::Rotated => "rotated",
            core::PreKeyMaintenance::RetiredPrevious => "retired",
            core::PreKeyMaintenance::ClockStarted => "started",
            _ => "unchanged",
        }))
    }

    /// Exports the account, encrypted under a `StorageKey`.
    pub fn export(&self, storage_key: &StorageKey) -> Result<Vec<u8>, JsValue> {
        self.inner.export(&storage_key.inner).map_err(to_js)
    }

    /// Imports an account exported with the same key. Throws
    /// `pickle_decrypt_failed` for a wrong key or an altered blob.
    #[wasm_bindgen(js_name = import)]
    pub fn import(storage_key: &StorageKey, blob: &[u8]) -> Result<Account, JsValue> {
        core::Account::import(&storage_key.inner, blob)
            .map(|inner| Account { inner })
            .map_err(to_js)
    }
}
