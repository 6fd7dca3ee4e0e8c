//! Exporting an attachment as a plain age file of its exact bytes
//! (`PROTOCOL.md` §7.6), for patients and auditors who open it with other
//! age tools: the stored file is read with its descriptor (header digest,
//! padding, digest all checked) and re-encrypted, without padding, to a
//! fresh key. The stored file's own key is never handed out.

use zeroize::{Zeroize, Zeroizing};

use super::descriptor::AttachmentDescriptor;
use super::key::AttachmentKey;
use super::reader::AttachmentReader;
use super::writer::AttachmentWriter;
use crate::error::AttachmentError;

/// Re-encrypts a stored attachment, chunk by chunk, into a plain age file of
/// exactly the original bytes for a fresh key. Memory stays at a few 64 KiB
/// chunks plus the plaintext of one push, which is wiped after each call.
///
/// The exported file is complete and verified only when
/// [`finish`](Self::finish) succeeds; discard it on any error.
pub struct AttachmentExporter {
    reader: AttachmentReader,
    writer: AttachmentWriter,
    plaintext: Zeroizing<Vec<u8>>,
}

impl AttachmentExporter {
    /// An exporter for the attachment `descriptor` announces.
    ///
    /// # Errors
    /// [`AttachmentError::Rng`] for the fresh key.
    pub fn new(descriptor: &AttachmentDescriptor) -> Result<Self, AttachmentError> {
        Self::from_reader(AttachmentReader::for_descriptor(descriptor))
    }

    pub(crate) fn from_reader(reader: AttachmentReader) -> Result<Self, AttachmentError> {
        Ok(Self {
            reader,
            writer: AttachmentWriter::unpadded()?,
            plaintext: Zeroizing::new(Vec::new()),
        })
    }

    /// Consumes stored ciphertext (any length) and appends the exported
    /// file's ciphertext that is ready to `out`.
    ///
    /// # Errors
    /// Any error of [`AttachmentReader::push`].
    pub fn push(&mut self, ciphertext: &[u8], out: &mut Vec<u8>) -> Result<(), AttachmentError> {
        // Reserved up front so the plaintext is never copied by a growing
        // buffer and left behind un-wiped.
        self.plaintext
            .reserve(AttachmentReader::output_capacity(ciphertext.len()));
        let read = self.reader.push(ciphertext, &mut self.plaintext);
        let written = read.and_then(|()| self.writer.push(&self.plaintext, out));
        self.plaintext.zeroize();
        written
    }

    /// Ends the stored file (checking its final chunk, padding and digest)
    /// and the exported one; returns the exported file's key.
    ///
    /// # Errors
    /// Any error of [`AttachmentReader::finish`].
    pub fn finish(self, out: &mut Vec<u8>) -> Result<AttachmentKey, AttachmentError> {
        let Self {
            reader,
            mut writer,
            mut plaintext,
        } = self;
        plaintext.reserve(AttachmentReader::output_capacity(0));
        let read = reader.finish(&mut plaintext);
        let written = read.and_then(|()| writer.push(&plaintext, out));
        plaintext.zeroize();
        written?;
        Ok(writer.finish(out)?.key)
    }
}

impl core::fmt::Debug for AttachmentExporter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AttachmentExporter")
            .field("reader", &self.reader)
            .field("writer", &self.writer)
            .finish()
    }
}

/// An attachment exported as a plain age file: the file, and the age
/// identity string (`AGE-SECRET-KEY-1…`) that opens it. Treat the identity
/// like the file's plaintext.
///
/// `Debug` redacts the identity.
pub struct PlainAgeFile {
    /// The age v1 file of the attachment's exact bytes.
    pub file: Vec<u8>,
    /// The identity that opens it (zeroized when dropped).
    pub identity: Zeroizing<String>,
}

impl core::fmt::Debug for PlainAgeFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PlainAgeFile")
            .field("file_len", &self.file.len())
            .field("identity", &"[redacted]")
            .finish()
    }
}
