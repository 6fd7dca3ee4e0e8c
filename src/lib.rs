//! # CareSeal
//!
//! End-to-end encryption for patient messaging. This crate is the protocol
//! core: device identities, sealed messages to a public identity and (in later
//! modules) pairwise sessions and attachments. It is pure Rust, builds and
//! tests natively, and is compiled to WebAssembly for browsers; the only code
//! that knows about JavaScript lives in the `wasm` module, built for
//! `wasm32` targets alone.
//!
//! The wire formats and key schedule are specified in `docs/PROTOCOL.md`;
//! comments in the code refer to its sections as `PROTOCOL.md §N`.
//!
//! ```
//! use careseal::{Identity, sealed};
//!
//! let clinic = Identity::generate()?;
//! let envelope = sealed::seal(clinic.public_identity(), b"I need a refill", None)?;
//! let opened = sealed::open(&clinic, &envelope)?;
//! assert_eq!(opened.message(), b"I need a refill");
//! assert!(opened.sender().is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![forbid(unsafe_code)]

pub mod account;
mod aead;
mod agreement;
pub mod attachment;
pub mod device_list;
pub mod error;
mod hex;
pub mod identity;
pub mod ids;
pub mod invitation;
mod kdf;
pub mod linking;
pub mod message_context;
mod padding;
pub mod pickle;
pub mod prekey;
mod rng;
pub mod sealed;
mod secret;
pub mod session;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod test_support;
pub mod user;
mod wire;

#[cfg(feature = "bench")]
pub mod bench;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use account::{AcceptedSession, Account, PreKeyMaintenance};
pub use attachment::{AttachmentDescriptor, AttachmentKey, AttachmentReader, AttachmentWriter};
pub use device_list::{
    DeviceEntry, DeviceList, DeviceListChange, PinnedDeviceList, SignedDeviceList,
    recipient_devices,
};
pub use error::{
    AttachmentError, DeviceListError, ErrorCode, InvitationError, KeyError, LinkError,
    MessageContextError, PickleError, PreKeyError, RngError, SealedError, SessionError,
    UserKeyError,
};
pub use identity::{Fingerprint, Identity, PublicIdentity};
pub use invitation::{
    InvitationCode, InvitationLink, RegistrationProof, invitation_link_fragment,
    verify_registration,
};
pub use linking::{ExistingDeviceLink, LinkOffer, LinkedDevice, NewDeviceLink, Sas};
pub use message_context::{
    ContextCheck, ControlKind, MessageBody, MessageContext, MessageEnvelope, SequenceWindow,
};
pub use pickle::StorageKey;
pub use prekey::PreKeyBundle;
pub use session::Session;
pub use user::{PublicUserIdentity, SafetyNumber, UserIdentity, safety_number};
