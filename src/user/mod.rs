//! User identities (`PROTOCOL.md` §8.2): one long-term Ed25519 signing key
//! per *person*, above the per-device identities of §1. A user key signs
//! the user's device list (§8.3), so a contact verified once — by comparing
//! the safety number of two user keys — stays verified when either side adds
//! or removes a device, and a relay cannot add a device on its own.

mod identity;
mod public;
mod safety_number;

pub use identity::UserIdentity;
pub use public::{PUBLIC_USER_IDENTITY_LEN, PUBLIC_USER_IDENTITY_VERSION, PublicUserIdentity};
pub use safety_number::{SafetyNumber, safety_number};

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
