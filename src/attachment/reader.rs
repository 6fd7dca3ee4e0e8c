//! Streaming decryption of an age v1 attachment.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::header::{self, Parsed};
use super::key::AttachmentKey;
use super::stanza;
use super::stream::{ENCRYPTED_CHUNK_LEN, PAYLOAD_NONCE_LEN, Stream};
use crate::aead::TAG_LEN;
use crate::error::AttachmentError;

/// The digest and length the sender announced for the ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedCiphertext {
    /// SHA-256 of the whole age file.
    pub sha256: [u8; 32],
    /// Length of the whole age file.
    pub length: u64,
}

enum Phase {
    /// Collecting the header and payload nonce.
    Header(Vec<u8>),
    /// Decrypting chunks.
    Payload(Stream),
    /// The final chunk was read.
    Done,
}

/// Decrypts an age v1 attachment chunk by chunk. Memory stays at about two
/// 64 KiB chunks whatever the file size.
///
/// **Streaming output is unverified until [`finish`](Self::finish)
/// succeeds**: each chunk is authenticated before it is returned, but
/// truncation, a missing final chunk and a digest mismatch can only be known
/// at the end. A consumer must discard everything it received if any call
/// returns an error. After an error every later call returns it again.
pub struct AttachmentReader {
    key: AttachmentKey,
    expected: Option<ExpectedCiphertext>,
    phase: Phase,
    pending: Vec<u8>,
    digest: Sha256,
    length: u64,
    failed: Option<AttachmentError>,
}

impl AttachmentReader {
    /// A reader for a file encrypted to `key`; with `expected`, the ciphertext
    /// must also match the announced length and SHA-256.
    pub fn new(key: AttachmentKey, expected: Option<ExpectedCiphertext>) -> Self {
        Self {
            key,
            expected,
            phase: Phase::Header(Vec::new()),
            pending: Vec::with_capacity(2 * ENCRYPTED_CHUNK_LEN),
            digest: Sha256::new(),
            length: 0,
            failed: None,
        }
    }

    /// Consumes ciphertext (any length) and appends the plaintext of every
    /// chunk that authenticated to `out`.
    ///
    /// # Errors
    /// Header errors ([`AttachmentError::MalformedHeader`],
    /// [`AttachmentError::UnsupportedVersion`],
    /// [`AttachmentError::HeaderTooLarge`], [`AttachmentError::WrongKey`],
    /// [`AttachmentError::NonContributory`],
    /// [`AttachmentError::HeaderMacMismatch`]); chunk errors
    /// ([`AttachmentError::ChunkTampered`],
    /// [`AttachmentError::ReorderedChunk`],
    /// [`AttachmentError::DuplicatedChunk`],
    /// [`AttachmentError::TrailingData`]); [`AttachmentError::LengthMismatch`]
    /// as soon as more bytes than announced arrive.
    pub fn push(&mut self, ciphertext: &[u8], out: &mut Vec<u8>) -> Result<(), AttachmentError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        let result = self.push_inner(ciphertext, out);
        if let Err(error) = result {
            self.failed = Some(error);
        }
        result
    }

    /// Ends the stream: decrypts the final chunk and checks the announced
    /// length and digest. Only when this succeeds is the whole output
    /// authentic and complete.
    ///
    /// # Errors
    /// [`AttachmentError::Truncated`], [`AttachmentError::MissingFinalChunk`],
    /// [`AttachmentError::MalformedPayload`],
    /// [`AttachmentError::DigestMismatch`], or a chunk error as in
    /// [`push`](Self::push).
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), AttachmentError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        if let Some(expected) = self.expected
            && self.length < expected.length
        {
            return Err(AttachmentError::Truncated);
        }
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Header(_) => return Err(AttachmentError::Truncated),
            Phase::Done => {}
            Phase::Payload(mut stream) => {
                if self.pending.len() < TAG_LEN {
                    return Err(AttachmentError::Truncated);
                }
                let first = stream.counter() == 0;
                match stream.open_chunk(&mut self.pending, true) {
                    Ok(len) if len == 0 && !first => return Err(AttachmentError::MalformedPayload),
                    Ok(len) => out.extend_from_slice(&self.pending[..len]),
                    Err(AttachmentError::ChunkTampered)
                        if stream.authenticates_as(&self.pending, false) =>
                    {
                        return Err(AttachmentError::MissingFinalChunk);
                    }
                    Err(error) => return Err(error),
                }
            }
        }
        if let Some(expected) = self.expected {
            let digest: [u8; 32] = self.digest.finalize().into();
            if !bool::from(digest.ct_eq(&expected.sha256)) {
                return Err(AttachmentError::DigestMismatch);
            }
        }
        Ok(())
    }

    /// Bytes of ciphertext held back, for memory checks in tests.
    #[cfg(test)]
    pub(crate) fn buffered_capacity(&self) -> usize {
        self.pending.capacity()
    }

    fn push_inner(&mut self, ciphertext: &[u8], out: &mut Vec<u8>) -> Result<(), AttachmentError> {
        self.digest.update(ciphertext);
        self.length += ciphertext.len() as u64;
        if let Some(expected) = self.expected
            && self.length > expected.length
        {
            return Err(AttachmentError::LengthMismatch);
        }
        let mut input = ciphertext;
        if let Phase::Header(buffer) = &mut self.phase {
            // Take only what the header can need, so a huge first push does
            // not make the header buffer huge.
            let room = (header::MAX_HEADER_LEN + PAYLOAD_NONCE_LEN).saturating_sub(buffer.len());
            let take = room.min(input.len());
            buffer.extend_from_slice(&input[..take]);
            input = &input[take..];
            let Parsed::Complete(parsed) = header::parse(buffer)? else {
                return Ok(());
            };
            if buffer.len() < parsed.len + PAYLOAD_NONCE_LEN {
                return Ok(());
            }
            let file_key = stanza::unwrap(&parsed.stanzas, &self.key)?;
            stanza::verify_header_mac(&file_key, &buffer[..parsed.mac_input_len], &parsed.mac)?;
            let mut nonce = [0u8; PAYLOAD_NONCE_LEN];
            nonce.copy_from_slice(&buffer[parsed.len..parsed.len + PAYLOAD_NONCE_LEN]);
            self.pending
                .extend_from_slice(&buffer[parsed.len + PAYLOAD_NONCE_LEN..]);
            self.phase = Phase::Payload(Stream::new(&file_key, &nonce));
        }
        match &mut self.phase {
            Phase::Header(_) => Ok(()),
            Phase::Done => {
                if input.is_empty() {
                    Ok(())
                } else {
                    Err(AttachmentError::TrailingData)
                }
            }
            Phase::Payload(stream) => {
                // Fast path: with nothing held back, every whole chunk that
                // has more input after it decrypts straight into `out`.
                if self.pending.is_empty() {
                    while input.len() > ENCRYPTED_CHUNK_LEN {
                        open_into(stream, &input[..ENCRYPTED_CHUNK_LEN], out)?;
                        input = &input[ENCRYPTED_CHUNK_LEN..];
                    }
                }
                // Never hold more than two chunks, however large the input.
                loop {
                    let room = 2 * ENCRYPTED_CHUNK_LEN - self.pending.len();
                    let take = room.min(input.len());
                    self.pending.extend_from_slice(&input[..take]);
                    input = &input[take..];
                    open_full_chunks(stream, &mut self.pending, out)?;
                    if input.is_empty() {
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// Decrypts one non-final chunk by copying it to the end of `out` and
/// opening it there; `out` is restored on failure.
fn open_into(stream: &mut Stream, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), AttachmentError> {
    let start = out.len();
    out.extend_from_slice(chunk);
    match stream.open_chunk(&mut out[start..], false) {
        Ok(len) => {
            out.truncate(start + len);
            Ok(())
        }
        Err(error) => {
            let failed = out.split_off(start);
            Err(match error {
                AttachmentError::ChunkTampered if stream.authenticates_as(&failed, true) => {
                    AttachmentError::TrailingData
                }
                other => other,
            })
        }
    }
}

/// Decrypts every full chunk in `pending` that is followed by more data (so
/// cannot be the final chunk), then drops them from `pending`.
fn open_full_chunks(
    stream: &mut Stream,
    pending: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<(), AttachmentError> {
    let mut start = 0;
    while pending.len() - start > ENCRYPTED_CHUNK_LEN {
        let chunk = &mut pending[start..start + ENCRYPTED_CHUNK_LEN];
        match stream.open_chunk(chunk, false) {
            Ok(len) => out.extend_from_slice(&chunk[..len]),
            Err(AttachmentError::ChunkTampered) if stream.authenticates_as(chunk, true) => {
                return Err(AttachmentError::TrailingData);
            }
            Err(error) => return Err(error),
        }
        start += ENCRYPTED_CHUNK_LEN;
    }
    pending.drain(..start);
    Ok(())
}

impl core::fmt::Debug for AttachmentReader {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AttachmentReader")
            .field("read", &self.length)
            .field("failed", &self.failed)
            .field("keys", &"[redacted]")
            .finish()
    }
}
