//! `Identity` and `PublicIdentity` for JavaScript.

use wasm_bindgen::prelude::*;

use super::error::to_js;
use super::storage::StorageKey;
use crate::identity as core;

/// A device identity whose secret keys live only in this WebAssembly
/// instance. Call `free()` when done to wipe them at once; otherwise they are
/// wiped when the object is garbage-collected.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Identity {
    pub(super) inner: core::Identity,
}

#[wasm_bindgen]
impl Identity {
    /// Generates a new identity from `crypto.getRandomValues`.
    ///
    /// Throws `CareSealError` with code `rng_failed` if no randomness is
    /// available.
    pub fn generate() -> Result<Identity, JsValue> {
        core::Identity::generate()
            .map(|inner| Identity { inner })
            .map_err(to_js)
    }

    /// The public half, to publish or share.
    #[wasm_bindgen(js_name = publicIdentity)]
    pub fn public_identity(&self) -> PublicIdentity {
        PublicIdentity {
            inner: self.inner.public_identity().clone(),
        }
    }

    /// Exports the secret keys, encrypted under a `StorageKey`.
    pub fn export(&self, storage_key: &StorageKey) -> Result<Vec<u8>, JsValue> {
        self.inner.export(&storage_key.inner).map_err(to_js)
    }

    /// Imports an identity exported with the same key.
    #[wasm_bindgen(js_name = import)]
    pub fn import(storage_key: &StorageKey, blob: &[u8]) -> Result<Identity, JsValue> {
        core::Identity::import(&storage_key.inner, blob)
            .map(|inner| Identity { inner })
            .map_err(to_js)
    }
}

/// The public half of an identity: safe to send to the relay, share or show.
#[wasm_bindgen]
#[derive(Debug)]
pub struct PublicIdentity {
    pub(super) inner: core::PublicIdentity,
}

#[wasm_bindgen]
impl PublicIdentity {
    /// Parses and validates the 65-byte encoding.
    ///
    /// Throws `CareSealError` with code `malformed_key`,
    /// `unsupported_version`, `non_contributory_key` or `invalid_signing_key`.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<PublicIdentity, JsValue> {
        core::PublicIdentity::from_bytes(bytes)
            .map(|inner| PublicIdentity { inner })
            .map_err(to_js)
    }

    /// Parses the 87-character text form made by `toText()`.
    ///
    /// Throws as `fromBytes`, and `malformed_key` for bad text.
    #[wasm_bindgen(js_name = fromText)]
    pub fn from_text(text: &str) -> Result<PublicIdentity, JsValue> {
        core::PublicIdentity::from_text(text)
            .map(|inner| PublicIdentity { inner })
            .map_err(to_js)
    }

    /// The 65-byte encoding.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.inner.as_bytes().to_vec()
    }

    /// The text form (unpadded base64url, 87 characters).
    #[wasm_bindgen(js_name = toText)]
    pub fn to_text(&self) -> String {
        self.inner.to_text()
    }

    /// The 30-digit fingerprint, as six groups of five digits.
    pub fn fingerprint(&self) -> String {
        self.inner.fingerprint().to_string()
    }

    /// Whether `other` is the same identity.
    pub fn equals(&self, other: &PublicIdentity) -> bool {
        self.inner == other.inner
    }
}
