//! Linking a new device to its user (`PROTOCOL.md` §8.6).
//!
//! An existing device E shows a [`LinkOffer`] (a QR code or link); the new
//! device N reads it and the two talk through the relay. N commits to its
//! ephemeral key before E reveals its own, so a relay in the middle must
//! fix its keys before it can see what they would make of the short
//! authentication string ([`Sas`]), and matches both screens with
//! probability 10^-6. Both users' screens show the SAS; only after the user
//! confirms it on each does E send N the payload it needs (the user
//! identity's pickle, pins, conversations: opaque here) and N send E its
//! device identity for a new signed device list.
//!
//! Each side is a chain of state types consumed by value, so a message
//! cannot be processed twice or out of order, and nothing is encrypted
//! before the user confirmed the SAS.

/// `Debug` shows the state only: every field holds or derives from a secret.
macro_rules! redacted_debug {
    ($($name:ident),+) => {$(
        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    )+};
}

mod existing;
mod format;
mod joining;
mod schedule;

pub use existing::{
    ExistingAwaitingDevice, ExistingAwaitingReveal, ExistingConfirmed, ExistingDeviceLink,
    ExistingSasCheck,
};
pub use format::{LINK_OFFER_ID_LEN, LinkOffer, MAX_LINK_PAYLOAD_LEN};
pub use joining::{NewAwaitingPayload, NewConfirmed, NewDeviceLink, NewSasCheck};

use core::fmt;

use crate::identity::PublicIdentity;

/// How long an offer stays valid after the existing device made it: five
/// minutes, in milliseconds.
pub const LINK_OFFER_TTL_MS: u64 = 5 * 60 * 1000;

/// The six-digit short authentication string both devices show; the user
/// confirms on each that they are equal.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Sas(u32);

impl Sas {
    /// The value, below 1 000 000.
    pub fn value(&self) -> u32 {
        self.0
    }
}

impl fmt::Display for Sas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

impl fmt::Debug for Sas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sas({self})")
    }
}

/// What the new device told the existing one, authenticated by the
/// confirmed exchange: its relay device id and its public identity, to add
/// to the user's next signed device list.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LinkedDevice {
    device_id: String,
    identity: PublicIdentity,
}

impl LinkedDevice {
    /// The new device's id.
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// The new device's public identity.
    pub fn identity(&self) -> &PublicIdentity {
        &self.identity
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
