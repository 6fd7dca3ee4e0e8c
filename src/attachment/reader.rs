//! Streaming decryption of an age v1 attachment.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::descriptor::AttachmentDescriptor;
use super::header::{self, Parsed};
use super::key::AttachmentKey;
use super::stanza;
use super::stream::{ENCRYPTED_CHUNK_LEN, PAYLOAD_NONCE_LEN, Stream};
use crate::aead::TAG_LEN;
use crate::error::AttachmentError;
use crate::padding::padme;

/// What a descriptor announces about the stored age file (`PROTOCOL.md`
/// §7.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedCiphertext {
    /// SHA-256 of the whole age file.
    pub sha256: [u8; 32],
    /// Length of the whole age file.
    pub length: u64,
    /// SHA-256 of the header (through the MAC line's newline) followed by
    /// the 16-byte payload nonce. They fix the file key and payload key, so
    /// a file with this header can only hold chunks its writer made: age
    /// itself does not authenticate the sender, and anyone who knows the
    /// recipient could otherwise write a file whose chunks all verify.
    pub header_sha256: [u8; 32],
}

/// What a reader made for a descriptor checks.
#[derive(Clone, Copy)]
struct Announced {
    ciphertext: ExpectedCiphertext,
    /// Plaintext bytes to release.
    plaintext_length: u64,
    /// Plaintext bytes the file holds: `padme(plaintext_length)`, the rest
    /// zeros.
    padded_length: u64,
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
/// Made [`for_descriptor`](Self::for_descriptor), the reader checks the
/// header and payload nonce against the descriptor before it opens any
/// chunk, so everything it returns was written by whoever made the
/// descriptor; it returns exactly the announced plaintext length and checks
/// that the rest of the file is zero padding to `padme(length)`. Made with
/// [`new`](Self::new) for a plain age file, it returns every byte and
/// nothing ties the file to a sender: anyone who knows the recipient can
/// write one.
///
/// **Streaming output is incomplete until [`finish`](Self::finish)
/// succeeds**: each chunk is authenticated before it is returned, but
/// truncation, a missing final chunk and a digest mismatch can only be known
/// at the end. A consumer must discard everything it received if any call
/// returns an error. After an error every later call returns it again.
pub struct AttachmentReader {
    key: AttachmentKey,
    expected: Option<Announced>,
    phase: Phase,
    /// Ciphertext held back; chunks are opened in place here, so it is
    /// wiped as they are handed out and when the reader is dropped.
    pending: Zeroizing<Vec<u8>>,
    digest: Sha256,
    length: u64,
    /// Plaintext bytes decrypted so far, padding included.
    decrypted: u64,
    failed: Option<AttachmentError>,
}

impl AttachmentReader {
    /// A reader for the attachment `descriptor` announces: the file must
    /// match its header digest (checked before any chunk is opened), length,
    /// SHA-256 and padding, and only the announced plaintext length is
    /// returned.
    pub fn for_descriptor(descriptor: &AttachmentDescriptor) -> Self {
        let plaintext_length = descriptor.plaintext_length();
        Self::with(
            AttachmentKey::from_bytes(*descriptor.key().to_bytes()),
            Some(Announced {
                ciphertext: descriptor.ciphertext(),
                plaintext_length,
                padded_length: padme(plaintext_length),
            }),
        )
    }

    /// A reader for a plain age file encrypted to `key`, such as one made by
    /// another age implementation. Nothing binds such a file to a sender.
    pub fn new(key: AttachmentKey) -> Self {
        Self::with(key, None)
    }

    fn with(key: AttachmentKey, expected: Option<Announced>) -> Self {
        Self {
            key,
            expected,
            phase: Phase::Header(Vec::new()),
            // Never grows past this, so never reallocates.
            pending: Zeroizing::new(Vec::with_capacity(2 * ENCRYPTED_CHUNK_LEN)),
            digest: Sha256::new(),
            length: 0,
            decrypted: 0,
            failed: None,
        }
    }

    /// Consumes ciphertext (any length) and appends the plaintext of every
    /// chunk that authenticated to `out` (with a descriptor: only up to the
    /// announced length).
    ///
    /// # Errors
    /// Header errors ([`AttachmentError::MalformedHeader`],
    /// [`AttachmentError::UnsupportedVersion`],
    /// [`AttachmentError::HeaderTooLarge`],
    /// [`AttachmentError::HeaderMismatch`], [`AttachmentError::WrongKey`],
    /// [`AttachmentError::NonContributory`],
    /// [`AttachmentError::HeaderMacMismatch`]); chunk errors
    /// ([`AttachmentError::ChunkTampered`],
    /// [`AttachmentError::ReorderedChunk`],
    /// [`AttachmentError::DuplicatedChunk`],
    /// [`AttachmentError::TrailingData`]); [`AttachmentError::LengthMismatch`]
    /// as soon as more bytes than announced arrive;
    /// [`AttachmentError::MalformedPadding`] as soon as a padding byte is not
    /// zero or the plaintext runs past its padded length.
    pub fn push(&mut self, ciphertext: &[u8], out: &mut Vec<u8>) -> Result<(), AttachmentError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        let start = out.len();
        let pushed = self.push_inner(ciphertext, out);
        // Even after a failure, padding never reaches `out`.
        let result = pushed.and(self.unpad(out, start));
        if let Err(error) = result {
            self.failed = Some(error);
        }
        result
    }

    /// Ends the stream: decrypts the final chunk and checks the announced
    /// length, padding and digest. Only when this succeeds is the whole
    /// output authentic and complete.
    ///
    /// # Errors
    /// [`AttachmentError::Truncated`], [`AttachmentError::MissingFinalChunk`],
    /// [`AttachmentError::MalformedPayload`],
    /// [`AttachmentError::MalformedPadding`],
    /// [`AttachmentError::DigestMismatch`], or a chunk error as in
    /// [`push`](Self::push).
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), AttachmentError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        if let Some(expected) = self.expected
            && self.length < expected.ciphertext.length
        {
            return Err(AttachmentError::Truncated);
        }
        let start = out.len();
        let last = self.finish_payload(out);
        last.and(self.unpad(out, start))?;
        if let Some(expected) = self.expected {
            if self.decrypted != expected.padded_length {
                return Err(AttachmentError::MalformedPadding);
            }
            let digest: [u8; 32] = self.digest.finalize().into();
            if !bool::from(digest.ct_eq(&expected.ciphertext.sha256)) {
                return Err(AttachmentError::DigestMismatch);
            }
        }
        Ok(())
    }

    /// Decrypts what is held back as the final chunk.
    fn finish_payload(&mut self, out: &mut Vec<u8>) -> Result<(), AttachmentError> {
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Header(_) => Err(AttachmentError::Truncated),
            Phase::Done => Ok(()),
            Phase::Payload(mut stream) => {
                if self.pending.len() < TAG_LEN {
                    return Err(AttachmentError::Truncated);
                }
                let first = stream.counter() == 0;
                match stream.open_chunk(&mut self.pending, true) {
                    Ok(0) if !first => Err(AttachmentError::MalformedPayload),
                    Ok(len) => {
                        out.extend_from_slice(&self.pending[..len]);
                        Ok(())
                    }
                    Err(AttachmentError::ChunkTampered)
                        if stream.authenticates_as(&self.pending, false) =>
                    {
                        Err(AttachmentError::MissingFinalChunk)
                    }
                    Err(error) => Err(error),
                }
            }
        }
    }

    /// With a descriptor: counts the plaintext appended to `out` since
    /// `start`, keeps only what lies within the announced length, and checks
    /// that the rest is zeros within the padded length (`PROTOCOL.md`
    /// §7.5).
    fn unpad(&mut self, out: &mut Vec<u8>, start: usize) -> Result<(), AttachmentError> {
        let Some(expected) = self.expected else {
            return Ok(());
        };
        let appended = &out[start..];
        let before = self.decrypted;
        self.decrypted += appended.len() as u64;
        let keep = usize::try_from(expected.plaintext_length.saturating_sub(before))
            .unwrap_or(usize::MAX)
            .min(appended.len());
        let padding_ok = self.decrypted <= expected.padded_length
            && appended[keep..].iter().all(|byte| *byte == 0);
        out.truncate(start + keep);
        if padding_ok {
            Ok(())
        } else {
            Err(AttachmentError::MalformedPadding)
        }
    }

    /// The most bytes one [`push`](Self::push) of `input_len` bytes, or
    /// [`finish`](Self::finish) (`input_len` = 0), appends to `out`, counting
    /// what stays there only briefly (ciphertext opened in place, padding).
    /// Reserve this much so plaintext is never copied by a growing buffer
    /// and left behind in freed memory.
    pub fn output_capacity(input_len: usize) -> usize {
        // At most one encrypted chunk is held back between calls; everything
        // else comes from this call's input.
        input_len.saturating_add(ENCRYPTED_CHUNK_LEN)
    }

    /// Bytes of ciphertext held back, for memory checks in tests.
    #[cfg(all(test, not(target_arch = "wasm32")))]
    pub(crate) fn buffered_capacity(&self) -> usize {
        self.pending.capacity()
    }

    /// Reads only the header and payload nonce at the start of a whole
    /// file, so the whole-file APIs can check them before anything else;
    /// returns their length.
    pub(crate) fn read_header(&mut self, file: &[u8]) -> Result<usize, AttachmentError> {
        let result = self.take_header(file).and_then(|used| {
            if matches!(self.phase, Phase::Header(_)) {
                return Err(AttachmentError::Truncated);
            }
            self.count(&file[..used])?;
            Ok(used)
        });
        if let Err(error) = result {
            self.failed = Some(error);
        }
        result
    }

    fn push_inner(&mut self, ciphertext: &[u8], out: &mut Vec<u8>) -> Result<(), AttachmentError> {
        self.count(ciphertext)?;
        let used = self.take_header(ciphertext)?;
        let mut input = &ciphertext[used..];
        match &mut self.phase {
            // The header takes all input until it is complete.
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

    /// Adds ciphertext to the running digest and length; more than announced
    /// is refused as soon as it arrives.
    fn count(&mut self, ciphertext: &[u8]) -> Result<(), AttachmentError> {
        self.digest.update(ciphertext);
        self.length += ciphertext.len() as u64;
        match self.expected {
            Some(expected) if self.length > expected.ciphertext.length => {
                Err(AttachmentError::LengthMismatch)
            }
            _ => Ok(()),
        }
    }

    /// Feeds `input` to the header phase and returns how many of its bytes
    /// belong to the header and payload nonce (none once the payload
    /// began). When both are complete, checks them against the descriptor
    /// (`PROTOCOL.md` §7.5) before anything else, opens the file key,
    /// verifies the header MAC, and moves on to the payload.
    fn take_header(&mut self, input: &[u8]) -> Result<usize, AttachmentError> {
        let Phase::Header(buffer) = &mut self.phase else {
            return Ok(0);
        };
        let before = buffer.len();
        // Take only what the header can need, so a huge first push does not
        // make the header buffer huge.
        let room = (header::MAX_HEADER_LEN + PAYLOAD_NONCE_LEN).saturating_sub(before);
        let take = room.min(input.len());
        buffer.extend_from_slice(&input[..take]);
        let Parsed::Complete(parsed) = header::parse(buffer)? else {
            return Ok(take);
        };
        let end = parsed.len + PAYLOAD_NONCE_LEN;
        if buffer.len() < end {
            return Ok(take);
        }
        if let Some(expected) = &self.expected {
            let digest: [u8; 32] = Sha256::digest(&buffer[..end]).into();
            if !bool::from(digest.ct_eq(&expected.ciphertext.header_sha256)) {
                return Err(AttachmentError::HeaderMismatch);
            }
        }
        let file_key = stanza::unwrap(&parsed.stanzas, &self.key)?;
        stanza::verify_header_mac(&file_key, &buffer[..parsed.mac_input_len], &parsed.mac)?;
        let mut nonce = [0u8; PAYLOAD_NONCE_LEN];
        nonce.copy_from_slice(&buffer[parsed.len..end]);
        self.phase = Phase::Payload(Stream::new(&file_key, &nonce));
        Ok(end.saturating_sub(before))
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
            Ok(len) => {
                out.extend_from_slice(&chunk[..len]);
                // `drain` below would leave this plaintext in spare capacity.
                chunk[..len].zeroize();
            }
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
