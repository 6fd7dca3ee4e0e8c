//! The attachment descriptor (`PROTOCOL.md` §7.5): what a session message
//! carries, encrypted, to announce an attachment. Format only; the reader
//! enforces what it announces.

use zeroize::Zeroizing;

use super::key::AttachmentKey;
use super::name::is_valid_file_name;
use super::reader::ExpectedCiphertext;
use crate::error::AttachmentError;
use crate::padding::padme;

/// Version byte of descriptors. Version 1 (no header digest, no padding) is
/// refused.
pub const DESCRIPTOR_VERSION: u8 = 2;

/// Longest file name, in UTF-8 bytes.
pub const MAX_FILE_NAME_LEN: usize = 255;

/// Longest media type, in ASCII bytes.
pub const MAX_MEDIA_TYPE_LEN: usize = 127;

/// Largest attachment a descriptor may announce: 64 GiB.
pub const MAX_ATTACHMENT_LEN: u64 = 64 * 1024 * 1024 * 1024;

/// Fixed part: version, key, file digest, file length, header digest,
/// plaintext length, name length.
const FIXED_LEN: usize = 1 + 32 + 32 + 8 + 32 + 8 + 2;

/// Everything needed to fetch, verify and open one attachment. Send it as
/// the plaintext of a session message; deleting every copy (and the session
/// keys that carried it) makes the stored ciphertext unreadable forever.
///
/// Valid by construction: [`new`](Self::new) and
/// [`from_bytes`](Self::from_bytes) check every field. `Debug` redacts the
/// key and the file name (which can say as much about a patient as the file
/// itself).
pub struct AttachmentDescriptor {
    key: AttachmentKey,
    ciphertext: ExpectedCiphertext,
    plaintext_length: u64,
    name: String,
    media_type: String,
}

impl AttachmentDescriptor {
    /// Builds a descriptor, checking every field.
    ///
    /// # Errors
    /// [`AttachmentError::MalformedDescriptor`] for a name or media type out
    /// of bounds (see [`name`](Self::name) for what a name may contain), a
    /// file length above [`MAX_ATTACHMENT_LEN`], or a plaintext length whose
    /// padded length (`padme`, `PROTOCOL.md` §1.4) is not below the file
    /// length.
    pub fn new(
        key: AttachmentKey,
        ciphertext: ExpectedCiphertext,
        plaintext_length: u64,
        name: &str,
        media_type: &str,
    ) -> Result<Self, AttachmentError> {
        check(name, media_type, ciphertext.length, plaintext_length)?;
        Ok(Self {
            key,
            ciphertext,
            plaintext_length,
            name: name.to_string(),
            media_type: media_type.to_string(),
        })
    }

    /// The attachment's secret key.
    pub fn key(&self) -> &AttachmentKey {
        &self.key
    }

    /// What the stored age file must match: its SHA-256 and length, and the
    /// digest of its header and payload nonce.
    pub fn ciphertext(&self) -> ExpectedCiphertext {
        self.ciphertext
    }

    /// Length of the plaintext, before the zero padding the file carries.
    pub fn plaintext_length(&self) -> u64 {
        self.plaintext_length
    }

    /// The file's name: UTF-8, at most [`MAX_FILE_NAME_LEN`] bytes; no
    /// control or format characters, no `/` or `\`; not empty, `.` or `..`
    /// once surrounding white space is trimmed.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's media type: printable ASCII, at most
    /// [`MAX_MEDIA_TYPE_LEN`] bytes (may be empty).
    pub fn media_type(&self) -> &str {
        &self.media_type
    }

    /// The byte encoding (zeroized when dropped: it holds the key).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(
            FIXED_LEN + 1 + self.name.len() + self.media_type.len(),
        ));
        out.push(DESCRIPTOR_VERSION);
        out.extend_from_slice(self.key.to_bytes().as_ref());
        out.extend_from_slice(&self.ciphertext.sha256);
        out.extend_from_slice(&self.ciphertext.length.to_be_bytes());
        out.extend_from_slice(&self.ciphertext.header_sha256);
        out.extend_from_slice(&self.plaintext_length.to_be_bytes());
        // Both lengths were checked against their bounds on construction
        // (255 and 127), and the fields cannot be changed after it.
        out.extend_from_slice(&(self.name.len() as u16).to_be_bytes());
        out.extend_from_slice(self.name.as_bytes());
        out.push(self.media_type.len() as u8);
        out.extend_from_slice(self.media_type.as_bytes());
        out
    }

    /// Parses and validates the byte encoding.
    ///
    /// # Errors
    /// [`AttachmentError::MalformedDescriptor`] for any deviation;
    /// [`AttachmentError::UnsupportedVersion`] for another version.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AttachmentError> {
        let mut fields = Fields { rest: bytes };
        match fields.array::<1>()? {
            [DESCRIPTOR_VERSION] => {}
            _ => return Err(AttachmentError::UnsupportedVersion),
        }
        let key = Zeroizing::new(fields.array::<32>()?);
        let sha256 = fields.array::<32>()?;
        let length = u64::from_be_bytes(fields.array::<8>()?);
        let header_sha256 = fields.array::<32>()?;
        let plaintext_length = u64::from_be_bytes(fields.array::<8>()?);
        let name_len = u16::from_be_bytes(fields.array::<2>()?);
        let name = fields.text(usize::from(name_len))?;
        let [type_len] = fields.array::<1>()?;
        let media_type = fields.text(usize::from(type_len))?;
        if !fields.rest.is_empty() {
            return Err(AttachmentError::MalformedDescriptor);
        }
        Self::new(
            AttachmentKey::from_bytes(*key),
            ExpectedCiphertext {
                sha256,
                length,
                header_sha256,
            },
            plaintext_length,
            name,
            media_type,
        )
    }
}

/// The descriptor's fields in order; running out is a malformed descriptor.
struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], AttachmentError> {
        if self.rest.len() < len {
            return Err(AttachmentError::MalformedDescriptor);
        }
        let (field, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(field)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], AttachmentError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn text(&mut self, len: usize) -> Result<&'a str, AttachmentError> {
        std::str::from_utf8(self.take(len)?).map_err(|_| AttachmentError::MalformedDescriptor)
    }
}

impl core::fmt::Debug for AttachmentDescriptor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AttachmentDescriptor")
            .field("key", &"[redacted]")
            .field("ciphertext", &self.ciphertext)
            .field("plaintext_length", &self.plaintext_length)
            .field("name", &"[redacted]")
            .field("media_type", &self.media_type)
            .finish()
    }
}

fn check(
    name: &str,
    media_type: &str,
    length: u64,
    plaintext_length: u64,
) -> Result<(), AttachmentError> {
    let name_ok = is_valid_file_name(name);
    let type_ok = media_type.len() <= MAX_MEDIA_TYPE_LEN
        && media_type.bytes().all(|b| (0x20..0x7f).contains(&b));
    // The file holds the padded plaintext and more (header, nonce, tags).
    let lengths_ok = length <= MAX_ATTACHMENT_LEN
        && plaintext_length < length
        && padme(plaintext_length) < length;
    if name_ok && type_ok && lengths_ok {
        Ok(())
    } else {
        Err(AttachmentError::MalformedDescriptor)
    }
}
