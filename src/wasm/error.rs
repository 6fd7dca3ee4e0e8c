//! The one conversion from core errors to JavaScript: an `Error` named
//! `CareSealError` whose `code` property is the stable string code and whose
//! message is fixed text (never secrets or plaintext).

use core::fmt::Display;

use wasm_bindgen::{JsCast, JsValue};
use zeroize::Zeroizing;

use crate::error::ErrorCode;

/// Errors that only arise at the JavaScript boundary.
#[derive(Debug, Clone, Copy)]
pub(crate) enum BindingError {
    /// An argument had the wrong JavaScript type.
    InvalidArgument,
    /// Bytes asked for as text are not UTF-8.
    InvalidUtf8,
    /// A single-use value was already taken.
    AlreadyTaken,
    /// A stream was used after `finish()`.
    AlreadyFinished,
    /// A result was asked for before `finish()`.
    NotFinished,
    /// A message body was read as a kind it is not (`text()` of an
    /// attachment, say).
    WrongBodyKind,
    /// A device-link method was called at a step the link is not at (or
    /// after the link finished).
    LinkWrongState,
}

impl ErrorCode for BindingError {
    fn code(&self) -> &'static str {
        match self {
            Self::InvalidArgument => "invalid_argument",
            Self::InvalidUtf8 => "invalid_utf8",
            Self::AlreadyTaken => "already_taken",
            Self::AlreadyFinished => "already_finished",
            Self::NotFinished => "not_finished",
            Self::WrongBodyKind => "wrong_body_kind",
            Self::LinkWrongState => "link_wrong_state",
        }
    }
}

impl Display for BindingError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::InvalidArgument => "expected a Uint8Array or a string",
            Self::InvalidUtf8 => "the message is not valid UTF-8 text",
            Self::AlreadyTaken => "this value was already taken",
            Self::AlreadyFinished => "the stream was already finished",
            Self::NotFinished => "the stream is not finished yet",
            Self::WrongBodyKind => "the message body is of another kind",
            Self::LinkWrongState => "the link is not at the step this call needs",
        })
    }
}

/// Converts any CareSeal error into a JS `Error` with `name` and `code`.
pub(crate) fn to_js<E: ErrorCode + Display>(error: E) -> JsValue {
    let js = js_sys::Error::new(&format!("{} ({})", error, error.code()));
    js.set_name("CareSealError");
    // Setting a property on a fresh Error object cannot fail; if it somehow
    // did, the error is still thrown, only without `code`.
    let _ = js_sys::Reflect::set(&js, &"code".into(), &error.code().into());
    js.into()
}

/// Reads a `Uint8Array | string` argument as bytes (strings as UTF-8), in a
/// buffer wiped when dropped: arguments are usually plaintext.
pub(crate) fn bytes_from(value: &JsValue) -> Result<Zeroizing<Vec<u8>>, JsValue> {
    if let Some(text) = value.dyn_ref::<js_sys::JsString>() {
        // Encoded here from UTF-16 code units into one buffer of its final
        // capacity: passing a `String` would leave unwiped copies of the
        // plaintext in freed WebAssembly memory. Lone surrogates become
        // U+FFFD, as `TextEncoder` does.
        let mut bytes = Zeroizing::new(Vec::with_capacity(3 * text.length() as usize));
        let mut utf8 = [0u8; 4];
        for unit in char::decode_utf16(text.iter()) {
            let c = unit.unwrap_or(char::REPLACEMENT_CHARACTER);
            bytes.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        }
        return Ok(bytes);
    }
    if let Some(array) = value.dyn_ref::<js_sys::Uint8Array>() {
        return Ok(bytes_from_array(array));
    }
    Err(to_js(BindingError::InvalidArgument))
}

/// Copies a `Uint8Array` argument into a buffer wiped when dropped (taking
/// `&[u8]` instead would leave wasm-bindgen's unwiped copy in freed
/// WebAssembly memory).
pub(crate) fn bytes_from_array(array: &js_sys::Uint8Array) -> Zeroizing<Vec<u8>> {
    let mut bytes = Zeroizing::new(vec![0u8; array.length() as usize]);
    array.copy_to(&mut bytes);
    bytes
}

/// Decodes plaintext bytes as UTF-8 text, made in JavaScript straight from
/// `bytes`: no second Rust copy is left unwiped in WebAssembly memory.
pub(crate) fn text_from(bytes: &[u8]) -> Result<js_sys::JsString, JsValue> {
    std::str::from_utf8(bytes)
        .map(js_sys::JsString::from)
        .map_err(|_| to_js(BindingError::InvalidUtf8))
}

/// Copies plaintext bytes into a new `Uint8Array`; the caller's buffer stays
/// the only Rust copy (and is wiped when it drops).
pub(crate) fn bytes_to_js(bytes: &[u8]) -> js_sys::Uint8Array {
    js_sys::Uint8Array::from(bytes)
}

/// Reads a `Date.now()` argument (milliseconds since 1970), with the bounds
/// `Account.maintainSignedPrekeys` uses: after 2001 (so seconds passed by
/// mistake are refused) and at most the largest JS date; anything else,
/// `NaN` included, is `invalid_argument`.
pub(crate) fn millis_from(now_millis: f64) -> Result<u64, JsValue> {
    const EARLIEST_MILLIS: f64 = 1.0e12;
    const LATEST_MILLIS: f64 = 8.64e15;
    if !(EARLIEST_MILLIS..=LATEST_MILLIS).contains(&now_millis) {
        return Err(to_js(BindingError::InvalidArgument));
    }
    // In range, so the cast only drops the fraction of a millisecond.
    Ok(now_millis as u64)
}
