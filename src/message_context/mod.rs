//! The context inside every session message (`PROTOCOL.md` §8.5): which
//! conversation, which user and device sent it, its place in that device's
//! sequence, and a typed body. It travels *inside* the ciphertext, so the
//! relay cannot relabel a sender, move a message to another conversation or
//! replay it unnoticed; what it can still do — drop messages — shows up as
//! a gap in the sequence.
//!
//! [`MessageEnvelope`] is the plaintext given to [`crate::Session::encrypt`];
//! [`MessageContext::check`] attributes a decrypted one by the session's
//! authenticated identity and the sender's verified device list, never by
//! the relay's metadata.

mod check;
mod format;
mod window;

pub use check::ContextCheck;
pub use format::MESSAGE_CONTEXT_VERSION;
pub use window::{SEQUENCE_WINDOW, SEQUENCE_WINDOW_LEN, SequenceWindow};

use core::fmt;

use zeroize::Zeroizing;

use crate::error::MessageContextError;
use crate::ids::is_valid_id;

/// Who sent a message, where, and its place in the sender's sequence.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MessageContext {
    conversation_id: String,
    sender_user_id: String,
    sender_device_id: String,
    sequence: u64,
}

impl MessageContext {
    /// A context, checking the ids (§8.1) and that `sequence` is at least 1.
    /// Sequence numbers count up from 1 per conversation and sending device.
    ///
    /// # Errors
    /// [`MessageContextError::InvalidField`].
    pub fn new(
        conversation_id: &str,
        sender_user_id: &str,
        sender_device_id: &str,
        sequence: u64,
    ) -> Result<Self, MessageContextError> {
        let ids_valid = [conversation_id, sender_user_id, sender_device_id]
            .iter()
            .all(|id| is_valid_id(id));
        if !ids_valid || sequence == 0 {
            return Err(MessageContextError::InvalidField);
        }
        Ok(Self {
            conversation_id: conversation_id.to_string(),
            sender_user_id: sender_user_id.to_string(),
            sender_device_id: sender_device_id.to_string(),
            sequence,
        })
    }

    /// The conversation the message belongs to.
    pub fn conversation_id(&self) -> &str {
        &self.conversation_id
    }

    /// The user the sender claims to be (checked by [`Self::check`]).
    pub fn sender_user_id(&self) -> &str {
        &self.sender_user_id
    }

    /// The device the sender claims to be (checked by [`Self::check`]).
    pub fn sender_device_id(&self) -> &str {
        &self.sender_device_id
    }

    /// The message's number in its sender device's sequence for this
    /// conversation.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }
}

/// What kind of control message a [`MessageBody::Control`] is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum ControlKind {
    /// The sender's user published a new device list; the payload is its
    /// signed bytes (§8.3), to verify and accept.
    DeviceListUpdate = 0x01,
    /// The payload acknowledges delivery of earlier messages (its format is
    /// the application's).
    Delivered = 0x02,
    /// The payload acknowledges that earlier messages were read (its format
    /// is the application's).
    Read = 0x03,
}

impl ControlKind {
    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0x01 => Some(Self::DeviceListUpdate),
            0x02 => Some(Self::Delivered),
            0x03 => Some(Self::Read),
            _ => None,
        }
    }
}

/// The typed content of a message. `Debug` shows only the kind: the
/// content may be a patient's words or an attachment key.
#[derive(Clone, PartialEq, Eq)]
pub enum MessageBody {
    /// UTF-8 text.
    Text(String),
    /// An attachment descriptor's bytes (§7.5; it holds the attachment key,
    /// so it is zeroized on drop). Parse it with
    /// [`crate::AttachmentDescriptor::from_bytes`].
    Attachment(Zeroizing<Vec<u8>>),
    /// A control message and its payload.
    Control(ControlKind, Vec<u8>),
}

impl fmt::Debug for MessageBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(_) => f.write_str("Text([redacted])"),
            Self::Attachment(_) => f.write_str("Attachment([redacted])"),
            Self::Control(kind, _) => write!(f, "Control({kind:?}, [redacted])"),
        }
    }
}

/// A session message's plaintext: context and body.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MessageEnvelope {
    context: MessageContext,
    body: MessageBody,
}

impl MessageEnvelope {
    /// An envelope; [`Self::to_bytes`] checks the size.
    pub fn new(context: MessageContext, body: MessageBody) -> Self {
        Self { context, body }
    }

    /// The context.
    pub fn context(&self) -> &MessageContext {
        &self.context
    }

    /// The body.
    pub fn body(&self) -> &MessageBody {
        &self.body
    }

    /// The context and body, by value.
    pub fn into_parts(self) -> (MessageContext, MessageBody) {
        (self.context, self.body)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
