//! Attributing a decrypted message (`PROTOCOL.md` §8.5): by the session's
//! authenticated identity and the sender's verified device list.

use super::{MessageContext, SequenceWindow};
use crate::device_list::PinnedDeviceList;
use crate::error::MessageContextError;
use crate::identity::PublicIdentity;

/// A context that passed [`MessageContext::check`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ContextCheck {
    window: SequenceWindow,
    gap: u64,
    late: bool,
}

impl ContextCheck {
    /// The sequence window to store for this device and conversation in
    /// place of the one passed to [`MessageContext::check`].
    pub fn window(&self) -> SequenceWindow {
        self.window
    }

    /// How many sequence numbers this message skipped over: messages the
    /// relay dropped or has not delivered yet (0 when none).
    pub fn gap(&self) -> u64 {
        self.gap
    }

    /// Whether this message came after a later one from the same device: it
    /// fills an earlier gap.
    pub fn late(&self) -> bool {
        self.late
    }
}

impl MessageContext {
    /// Checks a decrypted message's context against what the receiver knows:
    /// `session_remote`, the identity the session authenticated;
    /// `sender`, the sender's pinned device list (§8.3: only a list verified
    /// under the key pinned for the sender's user id can be one, never a
    /// list verified under a key the relay named); the conversation the receiver expects; and `window`,
    /// the sequence numbers accepted so far from this device in this
    /// conversation. On success the caller stores
    /// [`ContextCheck::window`] in place of `window`.
    ///
    /// # Errors
    /// In this order: [`MessageContextError::SenderUserMismatch`] if the
    /// context names a user other than the list's;
    /// [`MessageContextError::SenderNotOnDeviceList`] if the named device is
    /// not on the list; [`MessageContextError::SenderIdentityMismatch`] if
    /// it is listed with an identity other than the session's;
    /// [`MessageContextError::ConversationMismatch`];
    /// [`MessageContextError::ReplayedSequence`] if the sequence number was
    /// accepted before; [`MessageContextError::SequenceOutOfWindow`] if it is
    /// too far below the highest to tell.
    pub fn check(
        &self,
        session_remote: &PublicIdentity,
        sender: &PinnedDeviceList,
        conversation_id: &str,
        window: &SequenceWindow,
    ) -> Result<ContextCheck, MessageContextError> {
        let sender_devices = sender.list();
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
        let accepted = window.accept(self.sequence)?;
        Ok(ContextCheck {
            window: accepted.window,
            gap: accepted.gap,
            late: accepted.late,
        })
    }
}
