//! Error types. One enum per concern; every variant has a stable string code
//! (see [`ErrorCode`]) that the JavaScript bindings expose as `error.code`.
//!
//! No error carries key material or plaintext: messages are fixed strings.

use core::fmt;

/// A stable, machine-readable code for an error, such as `"decrypt_failed"`.
///
/// Codes never change meaning once released; callers may match on them.
pub trait ErrorCode {
    /// The stable string code of this error.
    fn code(&self) -> &'static str;
}

macro_rules! error_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => ($code:literal, $msg:literal), )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every variant, for exhaustive checks of codes and messages.
            pub const ALL: &'static [Self] = &[$( Self::$variant, )+];
        }

        impl ErrorCode for $name {
            fn code(&self) -> &'static str {
                match self { $( Self::$variant => $code, )+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self { $( Self::$variant => f.write_str($msg), )+ }
            }
        }

        impl std::error::Error for $name {}
    };
}

error_enum! {
    /// The platform's cryptographically secure random number generator failed.
    pub enum RngError {
        /// `getrandom` (in browsers: `crypto.getRandomValues`) returned an error.
        Unavailable => ("rng_failed", "the platform random number generator failed"),
    }
}

error_enum! {
    /// Errors from parsing or using public keys and identities.
    pub enum KeyError {
        /// The key bytes or text form have the wrong length or encoding.
        Malformed => ("malformed_key", "the key is malformed"),
        /// The key encoding has a version this library does not know.
        UnsupportedVersion => ("unsupported_version", "the key uses an unsupported format version"),
        /// The X25519 key is a low-order point: a Diffie-Hellman with it would
        /// not depend on our secret.
        NonContributory => ("non_contributory_key", "the key is a low-order point and is refused"),
        /// The Ed25519 key is not a valid, canonical, non-weak point.
        InvalidSigningKey => ("invalid_signing_key", "the signing key is invalid"),
        /// Randomness for a new key could not be obtained.
        Rng => ("rng_failed", "the platform random number generator failed"),
    }
}

error_enum! {
    /// Errors from sealing or opening a sealed message (`PROTOCOL.md` §3).
    pub enum SealedError {
        /// The envelope has no bytes at all.
        Empty => ("empty_envelope", "the envelope is empty"),
        /// The envelope is shorter than its fixed header plus the smallest
        /// possible ciphertext.
        Truncated => ("truncated_envelope", "the envelope is truncated"),
        /// The envelope is longer than `MAX_SEALED_ENVELOPE_LEN`.
        TooLarge => ("envelope_too_large", "the envelope exceeds the maximum size"),
        /// The plaintext to seal is longer than `MAX_SEALED_MESSAGE_LEN`.
        MessageTooLarge => ("message_too_large", "the message exceeds the maximum size"),
        /// The envelope's version byte is not one this library reads.
        UnsupportedVersion => ("unsupported_version", "the envelope uses an unsupported format version"),
        /// The envelope is not a sealed message, or its authenticated contents
        /// do not follow the format.
        Malformed => ("malformed_envelope", "the envelope is malformed"),
        /// The envelope is addressed to a different identity.
        WrongRecipient => ("wrong_recipient", "the envelope is addressed to a different identity"),
        /// A public key in the envelope, or the recipient's key, is a
        /// low-order point.
        NonContributory => ("non_contributory_key", "a key is a low-order point and is refused"),
        /// Authentication failed: the envelope was altered or was not made for
        /// this key.
        DecryptFailed => ("decrypt_failed", "the envelope failed authentication"),
        /// The envelope names a sender whose signature does not verify.
        BadSignature => ("bad_signature", "the sender signature does not verify"),
        /// Randomness for sealing could not be obtained.
        Rng => ("rng_failed", "the platform random number generator failed"),
    }
}

impl From<RngError> for KeyError {
    fn from(_: RngError) -> Self {
        Self::Rng
    }
}

impl From<RngError> for SealedError {
    fn from(_: RngError) -> Self {
        Self::Rng
    }
}
