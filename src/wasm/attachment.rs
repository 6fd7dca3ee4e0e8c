//! Attachments for JavaScript: streaming encryptor, decryptor and exporter
//! objects and whole-file helpers. The JS helpers in the npm package
//! (streams, worker) are built on these.
//!
//! Plaintext and descriptors (which hold the attachment key) pass through
//! Rust only in buffers that are wiped when dropped and sized up front, so
//! no copy is left behind by a growing buffer: arguments arrive as
//! `Uint8Array` and are copied into such a buffer (wasm-bindgen's own copy of
//! a `&[u8]` argument is freed unwiped), and results leave as a
//! `Uint8Array` copied out of one.

use js_sys::{JsString, Uint8Array};
use serde::Serialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

use super::error::{BindingError, to_js};
use crate::attachment as core;

/// Copies a JavaScript `Uint8Array` (or Node `Buffer`) into a buffer wiped
/// when dropped; anything else is `invalid_argument`.
fn wiped_copy(array: &Uint8Array) -> Result<Zeroizing<Vec<u8>>, JsValue> {
    if !array.is_instance_of::<Uint8Array>() {
        return Err(to_js(BindingError::InvalidArgument));
    }
    let mut bytes = Zeroizing::new(vec![0u8; array.length() as usize]);
    array.copy_to(&mut bytes);
    Ok(bytes)
}

/// Parses a descriptor from a JavaScript byte array.
fn descriptor_from(bytes: &Uint8Array) -> Result<core::AttachmentDescriptor, JsValue> {
    core::AttachmentDescriptor::from_bytes(&wiped_copy(bytes)?).map_err(to_js)
}

/// Room for the ciphertext of `plaintext_len` bytes: whole chunks and their
/// tags, a held-back chunk and the header. Ciphertext is not secret; this
/// only saves reallocations.
fn ciphertext_capacity(plaintext_len: usize) -> usize {
    plaintext_len + plaintext_len / core::CHUNK_LEN * 16 + 2 * core::ENCRYPTED_CHUNK_LEN + 256
}

/// Where an encryptor is: taking plaintext, writing padding, or done.
#[derive(Debug)]
enum Encrypting {
    Plaintext(core::AttachmentWriter),
    Padding(core::AttachmentPadder),
    Finished(core::WrittenAttachment),
    /// `finish` failed: no file exists.
    Failed,
}

/// Encrypts one attachment chunk by chunk into an age file for a fresh key,
/// padded to a Padmé bucket.
#[wasm_bindgen]
#[derive(Debug)]
pub struct AttachmentEncryptor {
    state: Encrypting,
}

#[wasm_bindgen]
impl AttachmentEncryptor {
    /// A new encryptor with a fresh attachment key.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Result<AttachmentEncryptor, JsValue> {
        Ok(Self {
            state: Encrypting::Plaintext(core::AttachmentWriter::new().map_err(to_js)?),
        })
    }

    /// Encrypts the next piece of plaintext (any size); returns the
    /// ciphertext that is ready (possibly empty). Throws `already_finished`
    /// after `pad()` or `finish()`.
    pub fn push(&mut self, plaintext: &Uint8Array) -> Result<Vec<u8>, JsValue> {
        let Encrypting::Plaintext(writer) = &mut self.state else {
            return Err(to_js(BindingError::AlreadyFinished));
        };
        let plaintext = wiped_copy(plaintext)?;
        let mut out = Vec::with_capacity(ciphertext_capacity(plaintext.len()));
        writer.push(&plaintext, &mut out).map_err(to_js)?;
        Ok(out)
    }

    /// Ends the plaintext and encrypts the next piece of padding (at most
    /// 256 KiB); returns its ciphertext (possibly empty), or `undefined` once
    /// all padding is written. Optional: `finish()` writes whatever padding
    /// is left, but calling this until it returns `undefined` keeps every
    /// output small.
    pub fn pad(&mut self) -> Result<Option<Vec<u8>>, JsValue> {
        self.state = match std::mem::replace(&mut self.state, Encrypting::Failed) {
            Encrypting::Plaintext(writer) => Encrypting::Padding(writer.start_padding()),
            other => other,
        };
        let Encrypting::Padding(padder) = &mut self.state else {
            return Err(to_js(BindingError::AlreadyFinished));
        };
        let mut out = Vec::with_capacity(ciphertext_capacity(core::PADDING_PIECE_LEN));
        let more = padder.pad(&mut out).map_err(to_js)?;
        Ok(more.then_some(out))
    }

    /// Ends the file: writes any padding left and the final chunk; returns
    /// the last ciphertext bytes.
    pub fn finish(&mut self) -> Result<Vec<u8>, JsValue> {
        let padder = match std::mem::replace(&mut self.state, Encrypting::Failed) {
            Encrypting::Plaintext(writer) => writer.start_padding(),
            Encrypting::Padding(padder) => padder,
            done @ (Encrypting::Finished(_) | Encrypting::Failed) => {
                self.state = done;
                return Err(to_js(BindingError::AlreadyFinished));
            }
        };
        let mut out = Vec::with_capacity(ciphertext_capacity(core::PADDING_PIECE_LEN));
        let written = padder.finish(&mut out).map_err(to_js)?;
        self.state = Encrypting::Finished(written);
        Ok(out)
    }

    /// The attachment key as an age identity string (`AGE-SECRET-KEY-1…`):
    /// with it, any age tool opens the stored file, to the padded plaintext
    /// (use `exportPlainAge` for a file of the exact bytes). Treat it like
    /// the file's plaintext.
    #[wasm_bindgen(js_name = ageIdentity)]
    pub fn age_identity(&self) -> JsString {
        let key = match &self.state {
            Encrypting::Plaintext(writer) => writer.key(),
            Encrypting::Padding(padder) => padder.key(),
            Encrypting::Finished(written) => &written.key,
            // A failed finish leaves no file to open.
            Encrypting::Failed => return JsString::from(""),
        };
        JsString::from(key.to_age_identity().as_str())
    }

    /// The descriptor to send inside a session message, once `finish()` was
    /// called. Throws `not_finished` before, `malformed_descriptor` for a
    /// name or media type that is not allowed.
    pub fn descriptor(&self, name: &str, media_type: &str) -> Result<Uint8Array, JsValue> {
        let Encrypting::Finished(written) = &self.state else {
            return Err(to_js(BindingError::NotFinished));
        };
        let descriptor = core::AttachmentDescriptor::new(
            core::AttachmentKey::from_bytes(*written.key.to_bytes()),
            written.ciphertext,
            written.plaintext_length,
            name,
            media_type,
        )
        .map_err(to_js)?;
        Ok(Uint8Array::from(&descriptor.to_bytes()[..]))
    }
}

/// Decrypts one attachment chunk by chunk.
///
/// From a descriptor, nothing is returned before the file's header matches
/// it, and exactly the announced plaintext length is returned. Output of
/// `push` is authenticated per chunk but complete only when `finish()`
/// succeeds: discard everything on any error.
#[wasm_bindgen]
#[derive(Debug)]
pub struct AttachmentDecryptor {
    reader: Option<core::AttachmentReader>,
    info: AttachmentInfo,
}

#[wasm_bindgen]
impl AttachmentDecryptor {
    /// A decryptor for the attachment a descriptor announces: the file must
    /// also match the announced header, length, padding and SHA-256.
    #[wasm_bindgen(js_name = fromDescriptor)]
    pub fn from_descriptor(descriptor: &Uint8Array) -> Result<AttachmentDecryptor, JsValue> {
        let descriptor = descriptor_from(descriptor)?;
        Ok(Self {
            reader: Some(core::AttachmentReader::for_descriptor(&descriptor)),
            info: AttachmentInfo::of(&descriptor),
        })
    }

    /// A decryptor for a plain age file and an age identity string
    /// (`AGE-SECRET-KEY-1…`), with no descriptor: nothing ties the file to a
    /// sender, and every byte (padding included) is returned.
    #[wasm_bindgen(js_name = fromAgeIdentity)]
    pub fn from_age_identity(identity: &JsString) -> Result<AttachmentDecryptor, JsValue> {
        let identity = Zeroizing::new(
            identity
                .as_string()
                .ok_or_else(|| to_js(BindingError::InvalidArgument))?,
        );
        let key = core::AttachmentKey::from_age_identity(&identity).map_err(to_js)?;
        Ok(Self {
            reader: Some(core::AttachmentReader::new(key)),
            info: AttachmentInfo::default(),
        })
    }

    /// Decrypts the next piece of the file (any size); returns the plaintext
    /// of every chunk that authenticated.
    pub fn push(&mut self, ciphertext: &[u8]) -> Result<Uint8Array, JsValue> {
        let reader = self
            .reader
            .as_mut()
            .ok_or_else(|| to_js(BindingError::AlreadyFinished))?;
        let mut out = Zeroizing::new(Vec::with_capacity(core::AttachmentReader::output_capacity(
            ciphertext.len(),
        )));
        reader.push(ciphertext, &mut out).map_err(to_js)?;
        Ok(Uint8Array::from(&out[..]))
    }

    /// Ends the file: verifies the final chunk, length, padding and digest;
    /// returns the last plaintext bytes.
    pub fn finish(&mut self) -> Result<Uint8Array, JsValue> {
        let reader = self
            .reader
            .take()
            .ok_or_else(|| to_js(BindingError::AlreadyFinished))?;
        let mut out = Zeroizing::new(Vec::with_capacity(core::AttachmentReader::output_capacity(
            0,
        )));
        reader.finish(&mut out).map_err(to_js)?;
        Ok(Uint8Array::from(&out[..]))
    }

    /// The announced file name, media type, plaintext length, ciphertext
    /// length and SHA-256.
    #[wasm_bindgen(unchecked_return_type = "AttachmentInfo")]
    pub fn info(&self) -> Result<JsValue, JsValue> {
        serde_wasm_bindgen::to_value(&self.info).map_err(JsValue::from)
    }
}

/// Re-encrypts a stored attachment, chunk by chunk, into a plain age file of
/// exactly the original bytes (no padding) for a fresh key, for other age
/// tools. The exported file is complete only when `finish()` succeeds.
#[wasm_bindgen]
#[derive(Debug)]
pub struct AttachmentExporter {
    exporter: Option<core::AttachmentExporter>,
    key: Option<core::AttachmentKey>,
}

#[wasm_bindgen]
impl AttachmentExporter {
    /// An exporter for the attachment a descriptor announces; the stored
    /// file is checked as `AttachmentDecryptor.fromDescriptor` checks it.
    #[wasm_bindgen(js_name = fromDescriptor)]
    pub fn from_descriptor(descriptor: &Uint8Array) -> Result<AttachmentExporter, JsValue> {
        let descriptor = descriptor_from(descriptor)?;
        Ok(Self {
            exporter: Some(core::AttachmentExporter::new(&descriptor).map_err(to_js)?),
            key: None,
        })
    }

    /// Consumes the next piece of the stored file (any size); returns the
    /// exported file's ciphertext that is ready (possibly empty).
    pub fn push(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>, JsValue> {
        let exporter = self
            .exporter
            .as_mut()
            .ok_or_else(|| to_js(BindingError::AlreadyFinished))?;
        let mut out = Vec::with_capacity(ciphertext_capacity(ciphertext.len()));
        exporter.push(ciphertext, &mut out).map_err(to_js)?;
        Ok(out)
    }

    /// Ends both files, verifying the stored one; returns the exported
    /// file's last bytes.
    pub fn finish(&mut self) -> Result<Vec<u8>, JsValue> {
        let exporter = self
            .exporter
            .take()
            .ok_or_else(|| to_js(BindingError::AlreadyFinished))?;
        let mut out = Vec::with_capacity(ciphertext_capacity(0));
        self.key = Some(exporter.finish(&mut out).map_err(to_js)?);
        Ok(out)
    }

    /// The age identity string (`AGE-SECRET-KEY-1…`) that opens the
    /// exported file, once `finish()` succeeded (throws `not_finished`
    /// before). Treat it like the file's plaintext.
    #[wasm_bindgen(js_name = ageIdentity)]
    pub fn age_identity(&self) -> Result<JsString, JsValue> {
        let key = self
            .key
            .as_ref()
            .ok_or_else(|| to_js(BindingError::NotFinished))?;
        Ok(JsString::from(key.to_age_identity().as_str()))
    }
}

/// Public facts of an attachment (no key).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct AttachmentInfo {
    name: String,
    media_type: String,
    plaintext_length: f64,
    ciphertext_length: f64,
    ciphertext_sha256: String,
}

impl AttachmentInfo {
    fn of(descriptor: &core::AttachmentDescriptor) -> Self {
        Self {
            name: descriptor.name().to_string(),
            media_type: descriptor.media_type().to_string(),
            // Lengths up to MAX_ATTACHMENT_LEN (2^36) are exact in an f64.
            plaintext_length: descriptor.plaintext_length() as f64,
            ciphertext_length: descriptor.ciphertext().length as f64,
            ciphertext_sha256: crate::hex::encode(&descriptor.ciphertext().sha256),
        }
    }
}

/// Public facts of a descriptor: `{ name, mediaType, plaintextLength,
/// ciphertextLength, ciphertextSha256 }`, without the key.
#[wasm_bindgen(js_name = describeAttachment, unchecked_return_type = "AttachmentInfo")]
pub fn describe_attachment(descriptor: &Uint8Array) -> Result<JsValue, JsValue> {
    let descriptor = descriptor_from(descriptor)?;
    serde_wasm_bindgen::to_value(&AttachmentInfo::of(&descriptor)).map_err(JsValue::from)
}

/// The attachment key of a descriptor as an age identity string
/// (`AGE-SECRET-KEY-1…`): any age tool opens the stored file with it, to the
/// padded plaintext. To hand out a file of the exact bytes, use
/// `exportPlainAge`. Treat it like the file's plaintext.
#[wasm_bindgen(js_name = attachmentAgeIdentity)]
pub fn attachment_age_identity(descriptor: &Uint8Array) -> Result<JsString, JsValue> {
    let descriptor = descriptor_from(descriptor)?;
    Ok(JsString::from(descriptor.key().to_age_identity().as_str()))
}

/// A whole file encrypted in one call.
#[wasm_bindgen]
pub struct EncryptedAttachment {
    file: Vec<u8>,
    descriptor: Zeroizing<Vec<u8>>,
}

#[wasm_bindgen]
impl EncryptedAttachment {
    /// The age file to upload.
    #[wasm_bindgen(getter)]
    pub fn file(&self) -> Vec<u8> {
        self.file.clone()
    }

    /// The descriptor to send inside a session message.
    #[wasm_bindgen(getter)]
    pub fn descriptor(&self) -> Uint8Array {
        Uint8Array::from(&self.descriptor[..])
    }
}

impl std::fmt::Debug for EncryptedAttachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The descriptor holds the attachment key.
        f.debug_struct("EncryptedAttachment")
            .field("file_len", &self.file.len())
            .field("descriptor", &"[redacted]")
            .finish()
    }
}

/// Encrypts a whole file held in memory. For large files use
/// `AttachmentEncryptor` (or the package's stream and worker helpers).
#[wasm_bindgen(js_name = encryptAttachment)]
pub fn encrypt_attachment(
    plaintext: &Uint8Array,
    name: &str,
    media_type: &str,
) -> Result<EncryptedAttachment, JsValue> {
    let plaintext = wiped_copy(plaintext)?;
    let (file, descriptor) = core::encrypt(&plaintext, name, media_type).map_err(to_js)?;
    Ok(EncryptedAttachment {
        file,
        descriptor: descriptor.to_bytes(),
    })
}

/// Decrypts a whole file; returns plaintext only if the length, header,
/// digest, padding and every chunk verified.
#[wasm_bindgen(js_name = decryptAttachment)]
pub fn decrypt_attachment(descriptor: &Uint8Array, file: &[u8]) -> Result<Uint8Array, JsValue> {
    let descriptor = descriptor_from(descriptor)?;
    let plaintext = core::decrypt(&descriptor, file).map_err(to_js)?;
    Ok(Uint8Array::from(&plaintext[..]))
}

/// An attachment exported as a plain age file: the file and the identity
/// string that opens it.
#[wasm_bindgen]
pub struct PlainAgeFile {
    file: Vec<u8>,
    identity: Zeroizing<String>,
}

#[wasm_bindgen]
impl PlainAgeFile {
    /// The age file of the attachment's exact bytes.
    #[wasm_bindgen(getter)]
    pub fn file(&self) -> Vec<u8> {
        self.file.clone()
    }

    /// The age identity string (`AGE-SECRET-KEY-1…`) that opens it. Treat it
    /// like the file's plaintext.
    #[wasm_bindgen(getter)]
    pub fn identity(&self) -> JsString {
        JsString::from(self.identity.as_str())
    }
}

impl std::fmt::Debug for PlainAgeFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainAgeFile")
            .field("file_len", &self.file.len())
            .field("identity", &"[redacted]")
            .finish()
    }
}

/// Exports a whole stored file as a plain age file of the attachment's exact
/// bytes, for a fresh key, after the same checks as `decryptAttachment`.
/// For large files use `AttachmentExporter` (or the package's stream and
/// worker helpers).
#[wasm_bindgen(js_name = exportPlainAge)]
pub fn export_plain_age(descriptor: &Uint8Array, file: &[u8]) -> Result<PlainAgeFile, JsValue> {
    let descriptor = descriptor_from(descriptor)?;
    let exported = core::export_plain_age(&descriptor, file).map_err(to_js)?;
    Ok(PlainAgeFile {
        file: exported.file,
        identity: exported.identity,
    })
}

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** Public facts of an attachment descriptor (no key). */
export interface AttachmentInfo {
  name: string;
  mediaType: string;
  /** The file's exact length; the stored file shows only its padded size. */
  plaintextLength: number;
  ciphertextLength: number;
  ciphertextSha256: string;
}
"#;
