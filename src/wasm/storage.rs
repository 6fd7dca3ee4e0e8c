//! `StorageKey` for JavaScript: the key that encrypts exported state, copied
//! into WebAssembly memory once and held there (wiped on `free()`), instead
//! of once per export and import.

use wasm_bindgen::prelude::*;

use super::error::to_js;
use crate::error::PickleError;
use crate::pickle;

/// A 32-byte key that encrypts exported state (`export` / `import` of
/// `Identity`, `Account` and `Session`). Make it once per unlock from the
/// bytes your application keeps safe, wipe your copy of those bytes
/// (`bytes.fill(0)`), and `free()` it on lock.
#[wasm_bindgen]
#[derive(Debug)]
pub struct StorageKey {
    pub(super) inner: pickle::StorageKey,
}

#[wasm_bindgen]
impl StorageKey {
    /// Wraps exactly 32 bytes. Throws `invalid_storage_key` for any other
    /// length. The bytes are copied straight into the key, with no
    /// intermediate buffer left behind in WebAssembly memory.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &js_sys::Uint8Array) -> Result<StorageKey, JsValue> {
        if bytes.length() != 32 {
            return Err(to_js(PickleError::InvalidStorageKey));
        }
        let mut key = zeroize::Zeroizing::new([0u8; 32]);
        bytes.copy_to(key.as_mut());
        Ok(StorageKey {
            inner: pickle::StorageKey::from_bytes(*key),
        })
    }

    /// A fresh random key from `crypto.getRandomValues`. Throws
    /// `rng_failed`.
    pub fn generate() -> Result<StorageKey, JsValue> {
        pickle::StorageKey::generate()
            .map(|inner| StorageKey { inner })
            .map_err(to_js)
    }

    /// The key bytes, to keep under your own protection (for example
    /// wrapped by a non-extractable WebCrypto key). Wipe the copy when done.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> js_sys::Uint8Array {
        js_sys::Uint8Array::from(&self.inner.as_bytes()[..])
    }
}
