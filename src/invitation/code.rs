//! The invitation code and what the relay may know of it (§8.4).

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::InvitationError;
use crate::kdf::DOMAIN_INVITATION_TOKEN;
use crate::rng;

/// Length of an invitation code in bytes.
pub const INVITATION_CODE_LEN: usize = 32;

/// Length of the text form of a code or token: unpadded base64url of 32
/// bytes.
pub(super) const TEXT_LEN: usize = (INVITATION_CODE_LEN * 4).div_ceil(3);

/// A secret, single-use invitation code: 32 random bytes that only the
/// inviter and (through the link) the invitee know. Zeroized on drop,
/// `Debug` redacted, not `Clone`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct InvitationCode([u8; INVITATION_CODE_LEN]);

impl InvitationCode {
    /// A fresh code from the platform CSPRNG.
    ///
    /// # Errors
    /// [`InvitationError::Rng`].
    pub fn generate() -> Result<Self, InvitationError> {
        Ok(Self(*rng::secret_bytes::<INVITATION_CODE_LEN>()?))
    }

    /// Wraps code bytes (the caller's copy should be zeroized).
    pub fn from_bytes(bytes: [u8; INVITATION_CODE_LEN]) -> Self {
        Self(bytes)
    }

    /// The code bytes.
    pub fn as_bytes(&self) -> &[u8; INVITATION_CODE_LEN] {
        &self.0
    }

    /// The text form: unpadded base64url, 43 characters (secret).
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(URL_SAFE_NO_PAD.encode(self.0))
    }

    /// Parses the text form.
    ///
    /// # Errors
    /// [`InvitationError::Malformed`] for anything but 43 characters of
    /// canonical unpadded base64url.
    pub fn from_text(text: &str) -> Result<Self, InvitationError> {
        if text.len() != TEXT_LEN {
            return Err(InvitationError::Malformed);
        }
        let bytes = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|_| InvitationError::Malformed)?,
        );
        let mut code = [0u8; INVITATION_CODE_LEN];
        if bytes.len() != INVITATION_CODE_LEN {
            return Err(InvitationError::Malformed);
        }
        code.copy_from_slice(&bytes);
        Ok(Self(code))
    }

    /// `SHA-256(DOMAIN_INVITATION_TOKEN || code)`: the one-way image of the
    /// code that the relay is given. Knowing it does not help compute the
    /// code or a registration proof.
    pub fn code_hash(&self) -> [u8; 32] {
        Sha256::new()
            .chain_update(DOMAIN_INVITATION_TOKEN)
            .chain_update(self.0)
            .finalize()
            .into()
    }

    /// The code hash as the relay's invitation id: unpadded base64url, 43
    /// characters of `A–Z a–z 0–9 - _` (a valid id, §8.1). The inviter
    /// registers it with the relay; the invitee redeems it; the relay keeps
    /// only its SHA-256, as it keeps every bearer secret.
    pub fn redemption_token(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.code_hash())
    }
}

impl fmt::Debug for InvitationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InvitationCode([redacted])")
    }
}
