//! Streaming encryption of an attachment into an age v1 file, padded so
//! its length shows only a Padmé bucket (`PROTOCOL.md` §7.4).

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::header::{self, VERSION_LINE};
use super::key::AttachmentKey;
use super::reader::ExpectedCiphertext;
use super::stanza::{self, FILE_KEY_LEN};
use super::stream::{CHUNK_LEN, ENCRYPTED_CHUNK_LEN, PAYLOAD_NONCE_LEN, Stream};
use crate::error::AttachmentError;
use crate::padding::padme;
use crate::rng;

/// Most padding bytes [`AttachmentPadder::pad`] encrypts per call: 256 KiB,
/// so the ciphertext it returns stays small however large the padding.
pub const PADDING_PIECE_LEN: usize = 4 * CHUNK_LEN;

/// What the sender announces once an attachment is written: its key and
/// what the stored file must match.
///
/// `Debug` redacts the key.
pub struct WrittenAttachment {
    /// The attachment's secret key.
    pub key: AttachmentKey,
    /// SHA-256 and length of the complete age file, and the digest of its
    /// header and payload nonce.
    pub ciphertext: ExpectedCiphertext,
    /// Bytes of plaintext pushed, before padding.
    pub plaintext_length: u64,
}

/// Encrypts an attachment chunk by chunk into an age v1 file for a fresh
/// [`AttachmentKey`]. Memory stays at one 64 KiB chunk whatever the file size.
///
/// Feed plaintext with [`push`](Self::push) in pieces of any size; each call
/// appends the ciphertext that is ready (the header first). At the end,
/// [`finish`](Self::finish) pads the plaintext with zero bytes to
/// `padme(length)` and writes the final chunk; or, to keep each output
/// small, [`start_padding`](Self::start_padding) returns an
/// [`AttachmentPadder`] that writes the padding piece by piece.
pub struct AttachmentWriter {
    key: AttachmentKey,
    stream: Stream,
    header: Option<Vec<u8>>,
    header_sha256: [u8; 32],
    /// Plaintext held back until it is known whether it ends the file;
    /// sealed in place, wiped on drop.
    buffer: Zeroizing<Vec<u8>>,
    digest: Sha256,
    length: u64,
    plaintext_length: u64,
    padded: bool,
}

/// The end of an attachment: encrypts the zero padding after the last
/// plaintext byte in pieces of at most [`PADDING_PIECE_LEN`] bytes, then the
/// final chunk. No more plaintext can be pushed.
pub struct AttachmentPadder {
    writer: AttachmentWriter,
    remaining: u64,
}

impl AttachmentWriter {
    /// A writer for a fresh attachment key, whose file is padded.
    ///
    /// # Errors
    /// [`AttachmentError::Rng`].
    pub fn new() -> Result<Self, AttachmentError> {
        let key = AttachmentKey::generate()?;
        let file_key = rng::secret_bytes::<FILE_KEY_LEN>()?;
        let ephemeral = rng::secret_bytes::<32>()?;
        let nonce = rng::public_bytes::<PAYLOAD_NONCE_LEN>()?;
        Self::with_randomness(key, &file_key, *ephemeral, nonce)
    }

    /// A writer for a fresh key whose file holds the plaintext exactly, with
    /// no padding: for exporting a plain age file (§7.6), never for a
    /// descriptor.
    pub(crate) fn unpadded() -> Result<Self, AttachmentError> {
        let mut writer = Self::new()?;
        writer.padded = false;
        Ok(writer)
    }

    /// A writer with caller-chosen randomness: for interoperability tests and
    /// test vectors only.
    pub(crate) fn with_randomness(
        key: AttachmentKey,
        file_key: &[u8; FILE_KEY_LEN],
        ephemeral_seed: [u8; 32],
        nonce: [u8; PAYLOAD_NONCE_LEN],
    ) -> Result<Self, AttachmentError> {
        let (args, body) = stanza::wrap(file_key, key.recipient(), ephemeral_seed)?;
        let mut head = VERSION_LINE.to_vec();
        let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
        header::write_stanza(&mut head, &arg_refs, &body);
        head.extend_from_slice(b"---");
        let mac = stanza::header_mac(file_key, &head);
        header::write_mac(&mut head, &mac);
        head.extend_from_slice(&nonce);
        Ok(Self {
            stream: Stream::new(file_key, &nonce),
            key,
            header_sha256: Sha256::digest(&head).into(),
            header: Some(head),
            // A chunk and its tag: never grows past this, so never reallocates.
            buffer: Zeroizing::new(Vec::with_capacity(ENCRYPTED_CHUNK_LEN)),
            digest: Sha256::new(),
            length: 0,
            plaintext_length: 0,
            padded: true,
        })
    }

    /// The attachment key this file is encrypted to.
    pub fn key(&self) -> &AttachmentKey {
        &self.key
    }

    /// Encrypts `plaintext` (any length) and appends the ciphertext that is
    /// complete to `out`. The last up-to-64 KiB are held back until more data
    /// or [`finish`](Self::finish) tells whether they are the final chunk.
    ///
    /// # Errors
    /// [`AttachmentError::MalformedPayload`] if the chunk counter overflowed
    /// (after 2^88 chunks).
    pub fn push(&mut self, mut plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), AttachmentError> {
        self.emit_header(out);
        self.plaintext_length += plaintext.len() as u64;
        while !plaintext.is_empty() {
            if self.buffer.len() == CHUNK_LEN {
                self.seal_buffer(false, out)?;
            }
            // Fast path: a whole chunk with more data after it cannot be the
            // final chunk, so encrypt it straight into `out` (one copy).
            if self.buffer.is_empty() && plaintext.len() > CHUNK_LEN {
                let start = out.len();
                out.extend_from_slice(&plaintext[..CHUNK_LEN]);
                let tag = self.stream.seal_chunk(&mut out[start..], false)?;
                out.extend_from_slice(&tag);
                self.digest.update(&out[start..]);
                self.length += (out.len() - start) as u64;
                plaintext = &plaintext[CHUNK_LEN..];
                continue;
            }
            let take = (CHUNK_LEN - self.buffer.len()).min(plaintext.len());
            self.buffer.extend_from_slice(&plaintext[..take]);
            plaintext = &plaintext[take..];
        }
        Ok(())
    }

    /// Pads the plaintext, encrypts the held-back data as the final chunk,
    /// appends it all to `out`, and returns what to announce. The padding
    /// is at most about 1/32 of the file (beyond 256 bytes); to keep each
    /// output small use [`start_padding`](Self::start_padding) instead.
    ///
    /// # Errors
    /// As [`push`](Self::push).
    pub fn finish(self, out: &mut Vec<u8>) -> Result<WrittenAttachment, AttachmentError> {
        self.start_padding().finish(out)
    }

    /// Ends the plaintext: what remains to write is the zero padding up to
    /// `padme(length)` (none for an unpadded writer) and the final chunk.
    pub fn start_padding(self) -> AttachmentPadder {
        let remaining = if self.padded {
            padme(self.plaintext_length).saturating_sub(self.plaintext_length)
        } else {
            0
        };
        AttachmentPadder {
            writer: self,
            remaining,
        }
    }

    /// Appends `len` zero bytes of plaintext, sealing chunks as they fill.
    fn push_zeros(&mut self, mut len: usize, out: &mut Vec<u8>) -> Result<(), AttachmentError> {
        self.emit_header(out);
        while len > 0 {
            if self.buffer.len() == CHUNK_LEN {
                self.seal_buffer(false, out)?;
            }
            let filled = self.buffer.len();
            let take = (CHUNK_LEN - filled).min(len);
            self.buffer.resize(filled + take, 0);
            len -= take;
        }
        Ok(())
    }

    fn seal_final(mut self, out: &mut Vec<u8>) -> Result<WrittenAttachment, AttachmentError> {
        self.emit_header(out);
        self.seal_buffer(true, out)?;
        Ok(WrittenAttachment {
            key: self.key,
            ciphertext: ExpectedCiphertext {
                sha256: self.digest.finalize().into(),
                length: self.length,
                header_sha256: self.header_sha256,
            },
            plaintext_length: self.plaintext_length,
        })
    }

    fn emit_header(&mut self, out: &mut Vec<u8>) {
        if let Some(head) = self.header.take() {
            self.record(out, &head);
        }
    }

    fn seal_buffer(&mut self, last: bool, out: &mut Vec<u8>) -> Result<(), AttachmentError> {
        let tag = self.stream.seal_chunk(&mut self.buffer, last)?;
        self.buffer.extend_from_slice(&tag);
        let chunk = std::mem::take(&mut self.buffer);
        self.record(out, &chunk);
        self.buffer = chunk;
        self.buffer.clear();
        Ok(())
    }

    fn record(&mut self, out: &mut Vec<u8>, bytes: &[u8]) {
        self.digest.update(bytes);
        self.length += bytes.len() as u64;
        out.extend_from_slice(bytes);
    }
}

impl AttachmentPadder {
    /// The attachment key the file is encrypted to.
    pub fn key(&self) -> &AttachmentKey {
        &self.writer.key
    }

    /// Encrypts the next piece of padding (at most [`PADDING_PIECE_LEN`]
    /// zero bytes) and appends the ciphertext that is complete to `out`.
    /// Returns `false`, appending nothing, once all padding is written.
    ///
    /// # Errors
    /// As [`AttachmentWriter::push`].
    pub fn pad(&mut self, out: &mut Vec<u8>) -> Result<bool, AttachmentError> {
        if self.remaining == 0 {
            return Ok(false);
        }
        let piece = usize::try_from(self.remaining)
            .unwrap_or(PADDING_PIECE_LEN)
            .min(PADDING_PIECE_LEN);
        self.writer.push_zeros(piece, out)?;
        self.remaining -= piece as u64;
        Ok(true)
    }

    /// Writes any padding left and the final chunk; returns what to
    /// announce.
    ///
    /// # Errors
    /// As [`AttachmentWriter::push`].
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<WrittenAttachment, AttachmentError> {
        while self.pad(out)? {}
        self.writer.seal_final(out)
    }
}

impl core::fmt::Debug for AttachmentPadder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AttachmentPadder")
            .field("writer", &self.writer)
            .field("remaining", &self.remaining)
            .finish()
    }
}

impl core::fmt::Debug for WrittenAttachment {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WrittenAttachment")
            .field("key", &"[redacted]")
            .field("ciphertext", &self.ciphertext)
            .field("plaintext_length", &self.plaintext_length)
            .finish()
    }
}

impl core::fmt::Debug for AttachmentWriter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AttachmentWriter")
            .field("written", &self.length)
            .field("keys", &"[redacted]")
            .finish()
    }
}
