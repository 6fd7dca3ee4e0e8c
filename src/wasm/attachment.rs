//! Attachments for JavaScript: streaming encryptor and decryptor objects and
//! whole-file helpers. The JS helpers in the npm package (streams, worker)
//! are built on these.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::error::{BindingError, to_js};
use crate::attachment as core;

/// Encrypts one attachment chunk by chunk into an age file for a fresh key.
#[wasm_bindgen]
#[derive(Debug)]
pub struct AttachmentEncryptor {
    writer: Option<core::AttachmentWriter>,
    written: Option<core::WrittenAttachment>,
}

#[wasm_bindgen]
impl AttachmentEncryptor {
    /// A new encryptor with a fresh attachment key.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Result<AttachmentEncryptor, JsValue> {
        Ok(Self {
            writer: Some(core::AttachmentWriter::new().map_err(to_js)?),
            written: None,
        })
    }

    /// Encrypts the next piece of plaintext (any size); returns the
    /// ciphertext that is ready (possibly empty). Throws `already_finished`
    /// after `finish()`.
    pub fn push(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, JsValue> {
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| to_js(BindingError::AlreadyFinished))?;
        let mut out = Vec::new();
        writer.push(plaintext, &mut out).map_err(to_js)?;
        Ok(out)
    }

    /// Ends the file; returns the last ciphertext bytes.
    pub fn finish(&mut self) -> Result<Vec<u8>, JsValue> {
        let writer = self
            .writer
            .take()
            .ok_or_else(|| to_js(BindingError::AlreadyFinished))?;
        let mut out = Vec::new();
        self.written = Some(writer.finish(&mut out).map_err(to_js)?);
        Ok(out)
    }

    /// The attachment key as an age identity string (`AGE-SECRET-KEY-1…`):
    /// with it, any age tool opens the file. Treat it like the file's
    /// plaintext.
    #[wasm_bindgen(js_name = ageIdentity)]
    pub fn age_identity(&self) -> String {
        let key = match (&self.writer, &self.written) {
            (Some(writer), _) => writer.key(),
            (None, Some(written)) => &written.key,
            // A failed finish leaves neither; no file exists to open.
            (None, None) => return String::new(),
        };
        key.to_age_identity().to_string()
    }

    /// The descriptor to send inside a session message, once `finish()` was
    /// called. Throws `not_finished` before, `malformed_descriptor` for a
    /// name or media type out of bounds.
    pub fn descriptor(&self, name: &str, media_type: &str) -> Result<Vec<u8>, JsValue> {
        let written = self
            .written
            .as_ref()
            .ok_or_else(|| to_js(BindingError::NotFinished))?;
        let descriptor = core::AttachmentDescriptor::new(
            core::AttachmentKey::from_bytes(*written.key.to_bytes()),
            core::ExpectedCiphertext {
                sha256: written.sha256,
                length: written.length,
            },
            name,
            media_type,
        )
        .map_err(to_js)?;
        Ok(descriptor.to_bytes().to_vec())
    }
}

/// Decrypts one attachment chunk by chunk.
///
/// Output of `push` is authenticated per chunk but complete only when
/// `finish()` succeeds: discard everything on any error.
#[wasm_bindgen]
#[derive(Debug)]
pub struct AttachmentDecryptor {
    reader: Option<core::AttachmentReader>,
    info: AttachmentInfo,
}

#[wasm_bindgen]
impl AttachmentDecryptor {
    /// A decryptor for the attachment a descriptor announces: the file must
    /// also match the announced length and SHA-256.
    #[wasm_bindgen(js_name = fromDescriptor)]
    pub fn from_descriptor(descriptor: &[u8]) -> Result<AttachmentDecryptor, JsValue> {
        let descriptor = core::AttachmentDescriptor::from_bytes(descriptor).map_err(to_js)?;
        let info = AttachmentInfo::of(&descriptor);
        Ok(Self {
            reader: Some(core::AttachmentReader::new(
                descriptor.key,
                Some(descriptor.ciphertext),
            )),
            info,
        })
    }

    /// A decryptor for a plain age file and an age identity string
    /// (`AGE-SECRET-KEY-1…`), with no digest check.
    #[wasm_bindgen(js_name = fromAgeIdentity)]
    pub fn from_age_identity(identity: &str) -> Result<AttachmentDecryptor, JsValue> {
        let key = core::AttachmentKey::from_age_identity(identity).map_err(to_js)?;
        Ok(Self {
            reader: Some(core::AttachmentReader::new(key, None)),
            info: AttachmentInfo::default(),
        })
    }

    /// Decrypts the next piece of the file (any size); returns the plaintext
    /// of every chunk that authenticated.
    pub fn push(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>, JsValue> {
        let reader = self
            .reader
            .as_mut()
            .ok_or_else(|| to_js(BindingError::AlreadyFinished))?;
        let mut out = Vec::new();
        reader.push(ciphertext, &mut out).map_err(to_js)?;
        Ok(out)
    }

    /// Ends the file: verifies the final chunk, length and digest; returns
    /// the last plaintext bytes.
    pub fn finish(&mut self) -> Result<Vec<u8>, JsValue> {
        let reader = self
            .reader
            .take()
            .ok_or_else(|| to_js(BindingError::AlreadyFinished))?;
        let mut out = Vec::new();
        reader.finish(&mut out).map_err(to_js)?;
        Ok(out)
    }

    /// The announced file name, media type, ciphertext length and SHA-256.
    #[wasm_bindgen(unchecked_return_type = "AttachmentInfo")]
    pub fn info(&self) -> Result<JsValue, JsValue> {
        serde_wasm_bindgen::to_value(&self.info).map_err(JsValue::from)
    }
}

/// Public facts of an attachment (no key).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct AttachmentInfo {
    name: String,
    media_type: String,
    ciphertext_length: f64,
    ciphertext_sha256: String,
}

impl AttachmentInfo {
    fn of(descriptor: &core::AttachmentDescriptor) -> Self {
        Self {
            name: descriptor.name.clone(),
            media_type: descriptor.media_type.clone(),
            // Lengths up to MAX_ATTACHMENT_LEN (2^36) are exact in an f64.
            ciphertext_length: descriptor.ciphertext.length as f64,
            ciphertext_sha256: crate::hex::encode(&descriptor.ciphertext.sha256),
        }
    }
}

/// Public facts of a descriptor: `{ name, mediaType, ciphertextLength,
/// ciphertextSha256 }`, without the key.
#[wasm_bindgen(js_name = describeAttachment, unchecked_return_type = "AttachmentInfo")]
pub fn describe_attachment(descriptor: &[u8]) -> Result<JsValue, JsValue> {
    let descriptor = core::AttachmentDescriptor::from_bytes(descriptor).map_err(to_js)?;
    serde_wasm_bindgen::to_value(&AttachmentInfo::of(&descriptor)).map_err(JsValue::from)
}

/// The attachment key of a descriptor as an age identity string
/// (`AGE-SECRET-KEY-1…`), for exporting an attachment to be opened with
/// standard age tools. Treat it like the file's plaintext.
#[wasm_bindgen(js_name = attachmentAgeIdentity)]
pub fn attachment_age_identity(descriptor: &[u8]) -> Result<String, JsValue> {
    let descriptor = core::AttachmentDescriptor::from_bytes(descriptor).map_err(to_js)?;
    Ok(descriptor.key.to_age_identity().to_string())
}

/// A whole file encrypted in one call.
#[wasm_bindgen]
#[derive(Debug)]
pub struct EncryptedAttachment {
    file: Vec<u8>,
    descriptor: Vec<u8>,
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
    pub fn descriptor(&self) -> Vec<u8> {
        self.descriptor.clone()
    }
}

/// Encrypts a whole file held in memory. For large files use
/// `AttachmentEncryptor` (or the package's stream and worker helpers).
#[wasm_bindgen(js_name = encryptAttachment)]
pub fn encrypt_attachment(
    plaintext: &[u8],
    name: &str,
    media_type: &str,
) -> Result<EncryptedAttachment, JsValue> {
    let (file, descriptor) = core::encrypt(plaintext, name, media_type).map_err(to_js)?;
    Ok(EncryptedAttachment {
        file,
        descriptor: descriptor.to_bytes().to_vec(),
    })
}

/// Decrypts a whole file; returns plaintext only if the length, digest and
/// every chunk verified.
#[wasm_bindgen(js_name = decryptAttachment)]
pub fn decrypt_attachment(descriptor: &[u8], file: &[u8]) -> Result<Vec<u8>, JsValue> {
    let descriptor = core::AttachmentDescriptor::from_bytes(descriptor).map_err(to_js)?;
    core::decrypt(&descriptor, file)
        .map(|plaintext| plaintext.to_vec())
        .map_err(to_js)
}

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** Public facts of an attachment descriptor (no key). */
export interface AttachmentInfo {
  name: string;
  mediaType: string;
  ciphertextLength: number;
  ciphertextSha256: string;
}
"#;
