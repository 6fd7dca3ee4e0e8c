//! File attachments (`PROTOCOL.md` §7): each attachment is a standard age v1
//! file (X25519 recipient stanza, header MAC, ChaCha20-Poly1305 STREAM in
//! 64 KiB chunks) encrypted to a fresh [`AttachmentKey`] made for it alone.
//! The relay stores only that file; the key, the file's SHA-256 and length,
//! its name and media type travel inside a session message as an
//! [`AttachmentDescriptor`].
//!
//! Because the files are plain age, a patient or auditor can open an
//! exported attachment with any age implementation
//! ([`AttachmentKey::to_age_identity`] gives the identity string).
//!
//! [`AttachmentWriter`] and [`AttachmentReader`] stream with bounded memory;
//! [`encrypt`] and [`decrypt`] handle whole files, and `decrypt` returns
//! plaintext only after the whole file verified.

mod descriptor;
mod header;
mod key;
mod reader;
mod stanza;
mod stream;
mod writer;

pub use descriptor::{
    AttachmentDescriptor, DESCRIPTOR_VERSION, MAX_ATTACHMENT_LEN, MAX_FILE_NAME_LEN,
    MAX_MEDIA_TYPE_LEN,
};
pub use header::MAX_HEADER_LEN;
pub use key::AttachmentKey;
pub use reader::{AttachmentReader, ExpectedCiphertext};
pub use stream::{CHUNK_LEN, ENCRYPTED_CHUNK_LEN};
pub use writer::{AttachmentWriter, WrittenAttachment};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::AttachmentError;

/// Encrypts a whole file; returns the age file and its descriptor.
///
/// # Errors
/// [`AttachmentError::MalformedDescriptor`] for a name or media type out of
/// bounds; [`AttachmentError::Rng`].
pub fn encrypt(
    plaintext: &[u8],
    name: &str,
    media_type: &str,
) -> Result<(Vec<u8>, AttachmentDescriptor), AttachmentError> {
    let mut writer = AttachmentWriter::new()?;
    let mut out = Vec::with_capacity(plaintext.len() + plaintext.len() / CHUNK_LEN * 16 + 256);
    writer.push(plaintext, &mut out)?;
    let written = writer.finish(&mut out)?;
    let descriptor = AttachmentDescriptor::new(
        written.key,
        ExpectedCiphertext {
            sha256: written.sha256,
            length: written.length,
        },
        name,
        media_type,
    )?;
    Ok((out, descriptor))
}

/// Decrypts a whole file. Checks the announced length and SHA-256 before
/// decrypting anything, and returns plaintext only if every chunk
/// authenticated and the final chunk was present.
///
/// # Errors
/// [`AttachmentError::Truncated`] or [`AttachmentError::LengthMismatch`]
/// for a wrong length, [`AttachmentError::DigestMismatch`], then any error of
/// [`AttachmentReader`].
pub fn decrypt(
    descriptor: &AttachmentDescriptor,
    file: &[u8],
) -> Result<Zeroizing<Vec<u8>>, AttachmentError> {
    let expected = descriptor.ciphertext;
    let length = file.len() as u64;
    if length < expected.length {
        return Err(AttachmentError::Truncated);
    }
    if length > expected.length {
        return Err(AttachmentError::LengthMismatch);
    }
    let digest: [u8; 32] = Sha256::digest(file).into();
    if !bool::from(digest.ct_eq(&expected.sha256)) {
        return Err(AttachmentError::DigestMismatch);
    }
    let key = AttachmentKey::from_bytes(*descriptor.key.to_bytes());
    let mut reader = AttachmentReader::new(key, Some(expected));
    let mut out = Zeroizing::new(Vec::with_capacity(file.len()));
    reader.push(file, &mut out)?;
    reader.finish(&mut out)?;
    Ok(out)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
