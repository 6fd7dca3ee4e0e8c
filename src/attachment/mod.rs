//! File attachments (`PROTOCOL.md` §7): each attachment is a standard age v1
//! file (X25519 recipient stanza, header MAC, ChaCha20-Poly1305 STREAM in
//! 64 KiB chunks) encrypted to a fresh [`AttachmentKey`] made for it alone.
//! The relay stores only that file; the key, the file's SHA-256 and length,
//! the digest of its header, its name and media type travel inside a session
//! message as an [`AttachmentDescriptor`].
//!
//! age does not authenticate senders: anyone who knows a recipient can write
//! a file to it. A reader made [`for_descriptor`](AttachmentReader::for_descriptor)
//! therefore checks the header and payload nonce against the descriptor
//! before it opens any chunk.
//!
//! [`AttachmentWriter`] and [`AttachmentReader`] stream with bounded memory;
//! [`encrypt`] and [`decrypt`] handle whole files, and `decrypt` returns
//! plaintext only after the whole file verified.
//!
//! Stored files are padded (`PROTOCOL.md` §7.4), so age tools open them to
//! the padded plaintext. [`export_plain_age`] and [`AttachmentExporter`]
//! re-encrypt an attachment to a fresh key as a plain age file of its exact
//! bytes, for other age tools.

mod descriptor;
mod export;
mod header;
mod key;
mod name;
mod reader;
mod stanza;
mod stream;
mod writer;

pub use descriptor::{
    AttachmentDescriptor, DESCRIPTOR_VERSION, MAX_ATTACHMENT_LEN, MAX_FILE_NAME_LEN,
    MAX_MEDIA_TYPE_LEN,
};
pub use export::{AttachmentExporter, PlainAgeFile};
pub use header::MAX_HEADER_LEN;
pub use key::AttachmentKey;
pub use reader::{AttachmentReader, ExpectedCiphertext};
pub use stream::{CHUNK_LEN, ENCRYPTED_CHUNK_LEN};
pub use writer::{AttachmentPadder, AttachmentWriter, PADDING_PIECE_LEN, WrittenAttachment};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::AttachmentError;
use crate::padding::padme;

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
    let padded = padme(plaintext.len() as u64);
    let mut out = Vec::with_capacity(
        usize::try_from(padded + padded / CHUNK_LEN as u64 * 16).unwrap_or(0) + 256,
    );
    writer.push(plaintext, &mut out)?;
    let written = writer.finish(&mut out)?;
    let descriptor = AttachmentDescriptor::new(
        written.key,
        written.ciphertext,
        written.plaintext_length,
        name,
        media_type,
    )?;
    Ok((out, descriptor))
}

/// Decrypts a whole file. Checks the announced length, the header and
/// payload nonce against the descriptor, and the SHA-256 before decrypting
/// anything, and returns plaintext only if every chunk authenticated and the
/// final chunk was present.
///
/// # Errors
/// [`AttachmentError::Truncated`] or [`AttachmentError::LengthMismatch`]
/// for a wrong length, a header error (such as
/// [`AttachmentError::HeaderMismatch`]),
/// [`AttachmentError::DigestMismatch`], then any error of
/// [`AttachmentReader`].
pub fn decrypt(
    descriptor: &AttachmentDescriptor,
    file: &[u8],
) -> Result<Zeroizing<Vec<u8>>, AttachmentError> {
    let (mut reader, payload) = open_whole_file(descriptor, file)?;
    // `out` briefly holds padding and tags too; the file's length bounds it.
    let mut out = Zeroizing::new(Vec::with_capacity(payload.len()));
    reader.push(payload, &mut out)?;
    reader.finish(&mut out)?;
    Ok(out)
}

/// Exports a whole stored file as a plain age file of the attachment's exact
/// bytes (no padding) for a fresh key, after the same checks as
/// [`decrypt`]; see [`AttachmentExporter`] to stream.
///
/// # Errors
/// As [`decrypt`]; [`AttachmentError::Rng`].
pub fn export_plain_age(
    descriptor: &AttachmentDescriptor,
    file: &[u8],
) -> Result<PlainAgeFile, AttachmentError> {
    let (reader, payload) = open_whole_file(descriptor, file)?;
    let mut exporter = AttachmentExporter::from_reader(reader)?;
    // Without padding the exported file is never longer than the stored one.
    let mut out = Vec::with_capacity(file.len());
    // In pieces, so the plaintext held at once stays small.
    for piece in payload.chunks(EXPORT_PIECE_LEN) {
        exporter.push(piece, &mut out)?;
    }
    let key = exporter.finish(&mut out)?;
    Ok(PlainAgeFile {
        file: out,
        identity: key.to_age_identity(),
    })
}

/// Stored ciphertext re-encrypted per step by [`export_plain_age`].
const EXPORT_PIECE_LEN: usize = 4 * ENCRYPTED_CHUNK_LEN;

/// What the whole-file APIs check before any chunk, in order: the announced
/// length, the header and payload nonce against the descriptor, and the
/// SHA-256 of the file. Returns a reader past the nonce and the payload.
fn open_whole_file<'a>(
    descriptor: &AttachmentDescriptor,
    file: &'a [u8],
) -> Result<(AttachmentReader, &'a [u8]), AttachmentError> {
    let expected = descriptor.ciphertext();
    let length = file.len() as u64;
    if length < expected.length {
        return Err(AttachmentError::Truncated);
    }
    if length > expected.length {
        return Err(AttachmentError::LengthMismatch);
    }
    let mut reader = AttachmentReader::for_descriptor(descriptor);
    let header_len = reader.read_header(file)?;
    let digest: [u8; 32] = Sha256::digest(file).into();
    if !bool::from(digest.ct_eq(&expected.sha256)) {
        return Err(AttachmentError::DigestMismatch);
    }
    Ok((reader, &file[header_len..]))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
