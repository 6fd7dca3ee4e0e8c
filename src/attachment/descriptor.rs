//! The attachment descriptor (`PROTOCOL.md` §7.5): what a session message
//! carries, encrypted, to announce an attachment.

use zeroize::Zeroizing;

use super::key::AttachmentKey;
use super::reader::ExpectedCiphertext;
use crate::error::AttachmentError;

/// Version byte of descriptors.
pub const DESCRIPTOR_VERSION: u8 = 1;

/// Longest file name, in UTF-8 bytes.
pub const MAX_FILE_NAME_LEN: usize = 255;

/// Longest media type, in ASCII bytes.
pub const MAX_MEDIA_TYPE_LEN: usize = 127;

/// Largest attachment a descriptor may announce: 64 GiB.
pub const MAX_ATTACHMENT_LEN: u64 = 64 * 1024 * 1024 * 1024;

/// Fixed part: version, key, digest, length, name length.
const FIXED_LEN: usize = 1 + 32 + 32 + 8 + 2;

/// Everything needed to fetch, verify and open one attachment. Send it as
/// the plaintext of a session message; deleting every copy (and the session
/// keys that carried it) makes the stored ciphertext unreadable forever.
///
/// `Debug` redacts the key.
#[derive(Debug)]
pub struct AttachmentDescriptor {
    /// The attachment's secret key.
    pub key: AttachmentKey,
    /// SHA-256 and length of the stored ciphertext.
    pub ciphertext: ExpectedCiphertext,
    /// The file's name (UTF-8, at most [`MAX_FILE_NAME_LEN`] bytes, no
    /// control characters).
    pub name: String,
    /// The file's media type (printable ASCII, at most
    /// [`MAX_MEDIA_TYPE_LEN`] bytes).
    pub media_type: String,
}

impl AttachmentDescriptor {
    /// Builds a descriptor, checking the name and media type bounds.
    ///
    /// # Errors
    /// [`AttachmentError::MalformedDescriptor`] for a name or media type out
    /// of bounds, or a length above [`MAX_ATTACHMENT_LEN`].
    pub fn new(
        key: AttachmentKey,
        ciphertext: ExpectedCiphertext,
        name: &str,
        media_type: &str,
    ) -> Result<Self, AttachmentError> {
        check(name, media_type, ciphertext.length)?;
        Ok(Self {
            key,
            ciphertext,
            name: name.to_string(),
            media_type: media_type.to_string(),
        })
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
        // Both lengths were checked against their bounds on construction.
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
        match bytes.first() {
            None => return Err(AttachmentError::MalformedDescriptor),
            Some(&DESCRIPTOR_VERSION) => {}
            Some(_) => return Err(AttachmentError::UnsupportedVersion),
        }
        if bytes.len() < FIXED_LEN + 1 {
            return Err(AttachmentError::MalformedDescriptor);
        }
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&bytes[1..33]);
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(&bytes[33..65]);
        let mut length = [0u8; 8];
        length.copy_from_slice(&bytes[65..73]);
        let name_len = usize::from(u16::from_be_bytes([bytes[73], bytes[74]]));
        let name_end = FIXED_LEN + name_len;
        let Some(&type_len) = bytes.get(name_end) else {
            return Err(AttachmentError::MalformedDescriptor);
        };
        if bytes.len() != name_end + 1 + usize::from(type_len) {
            return Err(AttachmentError::MalformedDescriptor);
        }
        let name = std::str::from_utf8(&bytes[FIXED_LEN..name_end])
            .map_err(|_| AttachmentError::MalformedDescriptor)?;
        let media_type = std::str::from_utf8(&bytes[name_end + 1..])
            .map_err(|_| AttachmentError::MalformedDescriptor)?;
        Self::new(
            AttachmentKey::from_bytes(*key),
            ExpectedCiphertext {
                sha256,
                length: u64::from_be_bytes(length),
            },
            name,
            media_type,
        )
    }
}

fn check(name: &str, media_type: &str, length: u64) -> Result<(), AttachmentError> {
    let name_ok = name.len() <= MAX_FILE_NAME_LEN && !name.chars().any(char::is_control);
    let type_ok = media_type.len() <= MAX_MEDIA_TYPE_LEN
        && media_type.bytes().all(|b| (0x20..0x7f).contains(&b));
    if name_ok && type_ok && length <= MAX_ATTACHMENT_LEN {
        Ok(())
    } else {
        Err(AttachmentError::MalformedDescriptor)
    }
}
