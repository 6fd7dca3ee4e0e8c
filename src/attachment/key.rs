//! The per-attachment age X25519 identity (`PROTOCOL.md` §7.1).

use bech32::{Bech32, Hrp};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::error::AttachmentError;
use crate::rng;

/// Human-readable part of an age identity string.
const IDENTITY_HRP: Hrp = Hrp::parse_unchecked("AGE-SECRET-KEY-");
/// Human-readable part of an age recipient string.
const RECIPIENT_HRP: Hrp = Hrp::parse_unchecked("age");

/// The secret key of one attachment: an age X25519 identity made for that
/// attachment alone. Whoever holds it can read the attachment, so it travels
/// only inside an encrypted session message; deleting those copies makes the
/// stored ciphertext unreadable forever.
///
/// Zeroized on drop; `Debug` redacted.
pub struct AttachmentKey {
    secret: StaticSecret,
    recipient: PublicKey,
}

impl AttachmentKey {
    /// A fresh key from the platform CSPRNG.
    ///
    /// # Errors
    /// [`AttachmentError::Rng`].
    pub fn generate() -> Result<Self, AttachmentError> {
        Ok(Self::from_bytes(*rng::secret_bytes::<32>()?))
    }

    /// A key from its 32 secret bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let secret = StaticSecret::from(bytes);
        let recipient = PublicKey::from(&secret);
        Self { secret, recipient }
    }

    /// The 32 secret bytes (zeroized when dropped).
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// The age identity string (`AGE-SECRET-KEY-1…`), which `age -d -i`
    /// and other age implementations accept.
    pub fn to_age_identity(&self) -> Zeroizing<String> {
        // Encoding 32 bytes under a fixed, valid prefix cannot fail; an empty
        // string (which no age tool accepts) would be the only other outcome.
        Zeroizing::new(
            bech32::encode_upper::<Bech32>(IDENTITY_HRP, self.secret.as_bytes())
                .unwrap_or_default(),
        )
    }

    /// Parses an age identity string (either case).
    ///
    /// # Errors
    /// [`AttachmentError::MalformedKey`] for anything but a Bech32 string
    /// with the `AGE-SECRET-KEY-` prefix and 32 bytes of data.
    pub fn from_age_identity(text: &str) -> Result<Self, AttachmentError> {
        let checked = bech32::primitives::decode::CheckedHrpstring::new::<Bech32>(text.trim())
            .map_err(|_| AttachmentError::MalformedKey)?;
        if checked.hrp().to_lowercase() != IDENTITY_HRP.to_lowercase() {
            return Err(AttachmentError::MalformedKey);
        }
        let bytes: Zeroizing<Vec<u8>> = Zeroizing::new(checked.byte_iter().collect());
        let array: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| AttachmentError::MalformedKey)?;
        Ok(Self::from_bytes(array))
    }

    /// The age recipient string (`age1…`) files for this key are encrypted to.
    pub fn age_recipient(&self) -> String {
        bech32::encode_lower::<Bech32>(RECIPIENT_HRP, self.recipient.as_bytes()).unwrap_or_default()
    }

    pub(crate) fn secret(&self) -> &StaticSecret {
        &self.secret
    }

    pub(crate) fn recipient(&self) -> &PublicKey {
        &self.recipient
    }
}

impl core::fmt::Debug for AttachmentKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Not even the recipient: it names the attachment (whoever knows it
        // can address files to it) and is derived from the secret.
        f.write_str("AttachmentKey([redacted])")
    }
}
