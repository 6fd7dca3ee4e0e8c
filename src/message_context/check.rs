//! Attributing a decrypted message (`PROTOCOL.md` §8.5): by the session's
//! authenticated identity and the sender's verified device list.

use super::MessageContext;
use crate::device_list::DeviceList;
use crate::error::MessageContextError;
use crate::identity::PublicIdentity;

/// A context that passed [`MessageContext::check`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ContextCheck {
    gap: u64,
}

impl ContextCheck {
    /// How many sequence numbers were skipped since the last message seen
    /// from this device in this conversation: messages the relay dropped or
    /// has not delivered yet (0 when none).
    pub fn gap(&self) -> u64 {
        self.gap
    }
}

impl MessageContext {
    /// Checks a decrypted message's context against what the receiver knows:
    /// `session_remote`, the identity the session authenticated;
    /// `sender_devices`, the sender's device list the receiver verified and
    /// pinned (§8.3); the conversation the receiver expects; and
    /// `last_seen`, the highest sequence number accepted so far from this
    /// device in this conversation (0 if none). On success the caller
    /// records this message's sequence as the new `last_seen`.
    ///
    /// # Errors
    /// In this order: [`MessageContextError::SenderUserMismatch`] if the
    /// context names a user other than the list's;
    /// [`MessageContextError::SenderNotOnDeviceList`] if the named device is
    /// not on the list; [`MessageContextError::SenderIdentityMismatch`] if
    /// it is listed with an identity other than the session's;
    /// [`MessageContextError::ConversationMismatch`];
    /// [`MessageContextError::ReplayedSequence`] if the sequence number is
    /// not above `last_seen`.
    pub fn check(
        &self,
        session_remote: &PublicIdentity,
        sender_devices: &DeviceList,
        conversation_id: &str,
        last_seen: u64,
    ) -> Result<ContextCheck, MessageContextError> {
        if self.sender_user_id != sender_devices.user_id() {
            return Err(MessageContextError::SenderUserMismatch);
        }
        match sender_devices.device(&self.sender_device_id) {
            None => return Err(MessageContextError::SenderNotOnDeviceList),
            Some(listed) if listed != session_remote => {
                return Err(MessageContextError::SenderIdentityMismatch);
            }
            Some(_) => {}
        }
        if self.conversation_id != conversation_id {
            return Err(MessageContextError::ConversationMismatch);
        }
        if self.sequence <= last_seen {
            return Err(MessageContextError::ReplayedSequence);
        }
        Ok(ContextCheck {
            gap: self.sequence - last_seen - 1,
        })
    }
}
