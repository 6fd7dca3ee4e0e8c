//! Streaming encryption of an attachment into an age v1 file.

use sha2::{Digest, Sha256};

use super::header::{self, VERSION_LINE};
use super::key::AttachmentKey;
use super::stanza::{self, FILE_KEY_LEN};
use super::stream::{CHUNK_LEN, ENCRYPTED_CHUNK_LEN, PAYLOAD_NONCE_LEN, Stream};
use crate::error::AttachmentError;
use crate::rng;

/// What the sender announces once an attachment is written: its key and the
/// SHA-256 and length of the whole ciphertext.
#[derive(Debug)]
pub struct WrittenAttachment {
    /// The attachment's secret key.
    pub key: AttachmentKey,
    /// SHA-256 of the complete age file.
    pub sha256: [u8; 32],
    /// Length of the complete age file in bytes.
    pub length: u64,
}

/// Encrypts an attachment chunk by chunk into an age v1 file for a fresh
/// [`AttachmentKey`]. Memory stays at one 64 KiB chunk whatever the file size.
///
/// Feed plaintext with [`push`](Self::push) in pieces of any size; each call
/// appends the ciphertext that is ready (the header first). Call
/// [`finish`](Self::finish) exactly once at the end.
pub struct AttachmentWriter {
    key: AttachmentKey,
    stream: Stream,
    header: Option<Vec<u8>>,
    buffer: Vec<u8>,
    digest: Sha256,
    length: u64,
}

impl AttachmentWriter {
    /// A writer for a fresh attachment key.
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
            header: Some(head),
            buffer: Vec::with_capacity(ENCRYPTED_CHUNK_LEN),
            digest: Sha256::new(),
            length: 0,
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

    /// Encrypts the held-back data as the final chunk, appends it to `out`,
    /// and returns the key, digest and length to announce.
    ///
    /// # Errors
    /// As [`push`](Self::push).
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<WrittenAttachment, AttachmentError> {
        self.emit_header(out);
        self.seal_buffer(true, out)?;
        Ok(WrittenAttachment {
            key: self.key,
            sha256: self.digest.finalize().into(),
            length: self.length,
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

impl core::fmt::Debug for AttachmentWriter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AttachmentWriter")
            .field("written", &self.length)
            .field("keys", &"[redacted]")
            .finish()
    }
}
