//! age's STREAM payload encryption (`PROTOCOL.md` §7.4): ChaCha20-Poly1305
//! over 64 KiB chunks, nonce = 11-byte big-endian counter || last-chunk flag.
//! One chunk at a time, in place: no allocation per chunk.

use zeroize::Zeroizing;

use super::stanza::FILE_KEY_LEN;
use crate::aead::{InPlaceChaCha, NONCE_LEN, TAG_LEN};
use crate::error::AttachmentError;
use crate::kdf::{self, INFO_AGE_PAYLOAD};

/// Plaintext bytes per chunk: 64 KiB.
pub const CHUNK_LEN: usize = 64 * 1024;

/// Ciphertext bytes per full chunk.
pub const ENCRYPTED_CHUNK_LEN: usize = CHUNK_LEN + TAG_LEN;

/// Length of the payload nonce that precedes the first chunk.
pub(crate) const PAYLOAD_NONCE_LEN: usize = 16;

/// How far from its place a chunk is looked for, once it fails to
/// authenticate, to tell reordered and duplicated chunks from altered ones.
const REORDER_WINDOW: u128 = 8;

/// The STREAM state shared by both directions: the payload key and the next
/// chunk counter.
pub(crate) struct Stream {
    cipher: InPlaceChaCha,
    counter: u128,
}

impl Stream {
    /// payload key = HKDF(ikm = file key, salt = nonce, info = "payload").
    pub(crate) fn new(file_key: &[u8; FILE_KEY_LEN], nonce: &[u8; PAYLOAD_NONCE_LEN]) -> Self {
        let key: Zeroizing<[u8; 32]> = kdf::hkdf_sha256::<32>(nonce, file_key, INFO_AGE_PAYLOAD);
        Self {
            cipher: InPlaceChaCha::new(&key),
            counter: 0,
        }
    }

    /// Chunks processed so far.
    pub(crate) fn counter(&self) -> u128 {
        self.counter
    }

    /// Encrypts the next chunk in place (`buffer` holds at most `CHUNK_LEN`
    /// bytes) and returns its tag.
    pub(crate) fn seal_chunk(
        &mut self,
        buffer: &mut [u8],
        last: bool,
    ) -> Result<[u8; TAG_LEN], AttachmentError> {
        let tag = self
            .cipher
            .seal_in_place(&chunk_nonce(self.counter, last), buffer)
            .map_err(|_| AttachmentError::MalformedPayload)?;
        self.counter += 1;
        Ok(tag)
    }

    /// Decrypts the next chunk in place. `chunk` is ciphertext then tag. On
    /// failure, looks for the chunk at nearby positions to report reordering
    /// or duplication; `chunk` is unchanged on any failure.
    pub(crate) fn open_chunk(
        &mut self,
        chunk: &mut [u8],
        last: bool,
    ) -> Result<usize, AttachmentError> {
        let Some(body_len) = chunk.len().checked_sub(TAG_LEN) else {
            return Err(AttachmentError::Truncated);
        };
        let (body, tag) = chunk.split_at_mut(body_len);
        let mut tag_bytes = [0u8; TAG_LEN];
        tag_bytes.copy_from_slice(tag);
        if self
            .cipher
            .open_in_place(&chunk_nonce(self.counter, last), body, &tag_bytes)
            .is_ok()
        {
            self.counter += 1;
            return Ok(body_len);
        }
        Err(self.diagnose(body, &tag_bytes))
    }

    /// Whether `chunk` would authenticate as the next chunk with the given
    /// last-chunk flag, without changing anything.
    pub(crate) fn authenticates_as(&self, chunk: &[u8], last: bool) -> bool {
        self.authenticates_at(chunk, self.counter, last)
    }

    fn authenticates_at(&self, chunk: &[u8], counter: u128, last: bool) -> bool {
        let Some(body_len) = chunk.len().checked_sub(TAG_LEN) else {
            return false;
        };
        let mut scratch = Zeroizing::new(chunk[..body_len].to_vec());
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&chunk[body_len..]);
        self.cipher
            .open_in_place(&chunk_nonce(counter, last), &mut scratch, &tag)
            .is_ok()
    }

    /// Classifies a chunk that failed at the current position.
    fn diagnose(&self, body: &[u8], tag: &[u8; TAG_LEN]) -> AttachmentError {
        let chunk = [body, tag].concat();
        let earliest = self.counter.saturating_sub(REORDER_WINDOW);
        for counter in earliest..self.counter + REORDER_WINDOW + 1 {
            if counter == self.counter {
                continue;
            }
            for last in [false, true] {
                if self.authenticates_at(&chunk, counter, last) {
                    return if counter < self.counter {
                        AttachmentError::DuplicatedChunk
                    } else {
                        AttachmentError::ReorderedChunk
                    };
                }
            }
        }
        AttachmentError::ChunkTampered
    }
}

/// The 12-byte chunk nonce: 11-byte big-endian counter, then 0x01 for the
/// last chunk or 0x00.
fn chunk_nonce(counter: u128, last: bool) -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    nonce[..11].copy_from_slice(&counter.to_be_bytes()[5..]);
    nonce[11] = u8::from(last);
    nonce
}
