//! JavaScript bindings (built for `wasm32` only). Thin wrappers over the
//! core types: no cryptography and no protocol decisions here, only
//! conversion of arguments, results and errors.
//!
//! Every fallible call returns `Result<_, JsValue>` whose error is a JS
//! `Error` with a stable `code` property (see [`error`]).

mod account;
mod attachment;
#[cfg(feature = "bench")]
mod bench;
mod device_list;
mod error;
mod identity;
mod invitation;
mod linking;
mod message;
mod sealed;
mod session;
mod storage;
mod user;

pub use account::{AcceptedSession, Account};
pub use attachment::{
    AttachmentDecryptor, AttachmentEncryptor, AttachmentExporter, EncryptedAttachment,
    PlainAgeFile, attachment_age_identity, decrypt_attachment, describe_attachment,
    encrypt_attachment, export_plain_age,
};
pub use device_list::{DeviceEntry, DeviceList, DeviceListChange, PinnedDeviceList};
pub use identity::{Identity, PublicIdentity};
pub use invitation::{InvitationCode, InvitationLink, verify_registration};
pub use linking::{ExistingDeviceLink, LinkedDevice, NewDeviceLink};
pub use message::{
    ContextCheck, MessageEnvelope, encode_attachment_message, encode_control_message,
    encode_text_message,
};
pub use sealed::{OpenedMessage, inspect_envelope, limits, seal};
pub use session::{Session, inspect_session_message, session_id_of};
pub use storage::StorageKey;
pub use user::{PublicUserIdentity, UserIdentity, safety_number};

use wasm_bindgen::prelude::*;

/// Installs a panic hook that prints Rust panics to the browser console.
///
/// A debugging aid only: CareSeal's library code has no panicking paths
/// (`clippy::unwrap_used`, `expect_used` and `panic` are denied), and errors
/// reach JavaScript as thrown `Error`s with a `code`.
#[wasm_bindgen(js_name = installPanicHook)]
pub fn install_panic_hook() {
    console_error_panic_hook::set_once();
}
