//! Byte layout of a message envelope (`PROTOCOL.md` §8.5).

use zeroize::Zeroizing;

use super::{ControlKind, MessageBody, MessageContext, MessageEnvelope};
use crate::error::MessageContextError;
use crate::session::MAX_SESSION_MESSAGE_LEN;
use crate::wire::{Reader, put_id};

/// Version byte of message envelopes.
pub const MESSAGE_CONTEXT_VERSION: u8 = 1;

/// Body kind bytes.
const BODY_TEXT: u8 = 0x54; // 'T'
const BODY_ATTACHMENT: u8 = 0x41; // 'A'
const BODY_CONTROL: u8 = 0x43; // 'C'

impl MessageEnvelope {
    /// The encoding, to pass to [`crate::Session::encrypt`] (zeroized on
    /// drop: it holds the message).
    ///
    /// # Errors
    /// [`MessageContextError::TooLarge`] if it would exceed
    /// `MAX_SESSION_MESSAGE_LEN`.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>, MessageContextError> {
        let c = &self.context;
        let (kind, control, content): (u8, Option<u8>, &[u8]) = match &self.body {
            MessageBody::Text(text) => (BODY_TEXT, None, text.as_bytes()),
            MessageBody::Attachment(descriptor) => (BODY_ATTACHMENT, None, descriptor),
            MessageBody::Control(kind, payload) => (BODY_CONTROL, Some(*kind as u8), payload),
        };
        let ids = c.conversation_id.len() + c.sender_user_id.len() + c.sender_device_id.len();
        let len = 1 + 3 + ids + 8 + 1 + usize::from(control.is_some()) + content.len();
        if len > MAX_SESSION_MESSAGE_LEN {
            return Err(MessageContextError::TooLarge);
        }
        let mut out = Zeroizing::new(Vec::with_capacity(len));
        out.push(MESSAGE_CONTEXT_VERSION);
        put_id(&mut out, &c.conversation_id);
        put_id(&mut out, &c.sender_user_id);
        put_id(&mut out, &c.sender_device_id);
        out.extend_from_slice(&c.sequence.to_be_bytes());
        out.push(kind);
        out.extend(control);
        out.extend_from_slice(content);
        Ok(out)
    }

    /// Parses a decrypted session plaintext.
    ///
    /// Checks in order: empty [`MessageContextError::Malformed`]; longer
    /// than `MAX_SESSION_MESSAGE_LEN` [`MessageContextError::TooLarge`];
    /// version [`MessageContextError::UnsupportedVersion`]; ids and
    /// sequence [`MessageContextError::Malformed`]; body or control kind
    /// [`MessageContextError::UnknownKind`]; text that is not UTF-8
    /// [`MessageContextError::Malformed`].
    ///
    /// # Errors
    /// As above.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MessageContextError> {
        match bytes.first() {
            None => return Err(MessageContextError::Malformed),
            Some(_) if bytes.len() > MAX_SESSION_MESSAGE_LEN => {
                return Err(MessageContextError::TooLarge);
            }
            Some(&MESSAGE_CONTEXT_VERSION) => {}
            Some(_) => return Err(MessageContextError::UnsupportedVersion),
        }
        let mut r = Reader::new(&bytes[1..], MessageContextError::Malformed);
        let conversation_id = r.id()?.to_string();
        let sender_user_id = r.id()?.to_string();
        let sender_device_id = r.id()?.to_string();
        let sequence = r.u64()?;
        if sequence == 0 {
            return Err(MessageContextError::Malformed);
        }
        let body = match r.u8()? {
            BODY_TEXT => MessageBody::Text(
                core::str::from_utf8(r.rest())
                    .map_err(|_| MessageContextError::Malformed)?
                    .to_string(),
            ),
            BODY_ATTACHMENT => MessageBody::Attachment(Zeroizing::new(r.rest().to_vec())),
            BODY_CONTROL => {
                let kind =
                    ControlKind::from_byte(r.u8()?).ok_or(MessageContextError::UnknownKind)?;
                MessageBody::Control(kind, r.rest().to_vec())
            }
            _ => return Err(MessageContextError::UnknownKind),
        };
        r.finish()?;
        Ok(Self {
            context: MessageContext {
                conversation_id,
                sender_user_id,
                sender_device_id,
                sequence,
            },
            body,
        })
    }
}
