//! Secret key newtypes: zeroized on drop, never `Clone`, `Debug` as
//! `[redacted]`.

/// Declares a 32-byte secret key newtype. The `clone` form is for keys that
/// live in ratchet state, which is cloned so that a failed decryption can be
/// discarded whole; every clone zeroizes on drop as well.
macro_rules! secret_key {
    ($(#[$meta:meta])* clone $name:ident) => {
        $crate::secret::secret_key!(@define $(#[$meta])* #[derive(Clone)] $name);
    };
    ($(#[$meta:meta])* $name:ident) => {
        $crate::secret::secret_key!(@define $(#[$meta])* $name);
    };
    (@define $(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
        pub(crate) struct $name([u8; 32]);

        #[allow(dead_code)]
        impl $name {
            /// Wraps key bytes; the caller's copy should be zeroized.
            pub(crate) fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            /// The key bytes, for handing to a primitive.
            pub(crate) fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{}([redacted])", stringify!($name))
            }
        }
    };
}

pub(crate) use secret_key;
