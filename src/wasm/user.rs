//! `UserIdentity`, `PublicUserIdentity` and `safetyNumber` for JavaScript.

use wasm_bindgen::prelude::*;

use super::error::to_js;
use super::storage::StorageKey;
use crate::user as core;

/// A user's secret signing key: it signs the user's device lists. Every
/// device of the user holds it; the relay never sees it. Call `free()` when
/// done to wipe it at once; otherwise it is wiped when the object is
/// garbage-collected.
#[wasm_bindgen]
#[derive(Debug)]
pub struct UserIdentity {
    pub(super) inner: core::UserIdentity,
}

#[wasm_bindgen]
impl UserIdentity {
    /// Generates a new user identity from `crypto.getRandomValues`.
    ///
    /// Throws `CareSealError` with code `rng_failed` if no randomness is
    /// available.
    pub fn generate() -> Result<UserIdentity, JsValue> {
        core::UserIdentity::generate()
            .map(|inner| UserIdentity { inner })
            .map_err(to_js)
    }

    /// The public half, to share with contacts and in invitation links.
    #[wasm_bindgen(js_name = publicIdentity)]
    pub fn public_identity(&self) -> PublicUserIdentity {
        PublicUserIdentity {
            inner: self.inner.public_identity().clone(),
        }
    }

    /// Exports the secret key, encrypted under a `StorageKey`. Throws
    /// `rng_failed`.
    pub fn export(&self, storage_key: &StorageKey) -> Result<Vec<u8>, JsValue> {
        self.inner.export(&storage_key.inner).map_err(to_js)
    }

    /// Imports a user identity exported with the same key. Throws
    /// `pickle_decrypt_failed` for a wrong key or an altered blob,
    /// `malformed_pickle` (also for an export of anything else) and
    /// `unsupported_version`.
    #[wasm_bindgen(js_name = import)]
    pub fn import(storage_key: &StorageKey, blob: &[u8]) -> Result<UserIdentity, JsValue> {
        core::UserIdentity::import(&storage_key.inner, blob)
            .map(|inner| UserIdentity { inner })
            .map_err(to_js)
    }
}

/// The public half of a user identity: the key that signs the user's device
/// lists. Safe to send to the relay, share or show.
#[wasm_bindgen]
#[derive(Debug)]
pub struct PublicUserIdentity {
    pub(super) inner: core::PublicUserIdentity,
}

#[wasm_bindgen]
impl PublicUserIdentity {
    /// Parses and validates the 33-byte encoding.
    ///
    /// Throws `malformed_user_key`, `unsupported_version` or
    /// `invalid_signing_key`.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<PublicUserIdentity, JsValue> {
        core::PublicUserIdentity::from_bytes(bytes)
            .map(|inner| PublicUserIdentity { inner })
            .map_err(to_js)
    }

    /// Parses the 44-character text form made by `toText()`.
    ///
    /// Throws as `fromBytes`, and `malformed_user_key` for bad text.
    #[wasm_bindgen(js_name = fromText)]
    pub fn from_text(text: &str) -> Result<PublicUserIdentity, JsValue> {
        core::PublicUserIdentity::from_text(text)
            .map(|inner| PublicUserIdentity { inner })
            .map_err(to_js)
    }

    /// The 33-byte encoding.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.inner.as_bytes().to_vec()
    }

    /// The text form (unpadded base64url, 44 characters).
    #[wasm_bindgen(js_name = toText)]
    pub fn to_text(&self) -> String {
        self.inner.to_text()
    }

    /// The 30-digit fingerprint, as six groups of five digits: this user's
    /// half of every safety number.
    pub fn fingerprint(&self) -> String {
        self.inner.fingerprint().to_string()
    }

    /// Whether `other` is the same user key.
    pub fn equals(&self, other: &PublicUserIdentity) -> bool {
        self.inner == other.inner
    }
}

/// The 60-digit safety number two users compare to know each holds the
/// other's genuine user key, as twelve groups of five digits. The same
/// whichever way round the two keys are passed, and unchanged when either
/// user adds or removes a device.
#[wasm_bindgen(js_name = safetyNumber)]
pub fn safety_number(a: &PublicUserIdentity, b: &PublicUserIdentity) -> String {
    core::safety_number(&a.inner, &b.inner).to_string()
}
