//! Message envelopes (the context inside every session message) for
//! JavaScript: `encodeTextMessage` and friends, `MessageEnvelope` and
//! `ContextCheck`.

use wasm_bindgen::prelude::*;
use zeroize::Zeroize;

use super::device_list::PinnedDeviceList;
use super::error::{BindingError, bytes_from, bytes_from_array, bytes_to_js, text_from, to_js};
use super::identity::PublicIdentity;
use crate::message_context::{
    self as core, ControlKind, MessageBody, MessageContext, SequenceWindow,
};

/// The plaintext to pass to `Session.encrypt`: a text message (a string, or
/// UTF-8 bytes) with its context. `sequence` counts up from 1 per
/// conversation and sending device.
///
/// Throws `invalid_message_context` (a bad id, or sequence 0),
/// `invalid_utf8`, `invalid_argument` or `message_too_large`.
#[wasm_bindgen(js_name = encodeTextMessage)]
pub fn encode_text_message(
    conversation_id: &str,
    sender_user_id: &str,
    sender_device_id: &str,
    sequence: u64,
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array")] text: JsValue,
) -> Result<js_sys::Uint8Array, JsValue> {
    let context = MessageContext::new(conversation_id, sender_user_id, sender_device_id, sequence)
        .map_err(to_js)?;
    let mut bytes = bytes_from(&text)?;
    // Moved out of the wiped buffer, not copied; wiped again below.
    let text = String::from_utf8(std::mem::take(&mut *bytes)).map_err(|error| {
        error.into_bytes().zeroize();
        to_js(BindingError::InvalidUtf8)
    })?;
    encode(context, MessageBody::Text(text))
}

/// The plaintext to pass to `Session.encrypt`: an attachment message
/// carrying a descriptor (from `EncryptedAttachment.descriptor` or
/// `AttachmentEncryptor.descriptor`), with its context.
///
/// Throws `invalid_message_context` or `message_too_large`.
#[wasm_bindgen(js_name = encodeAttachmentMessage)]
pub fn encode_attachment_message(
    conversation_id: &str,
    sender_user_id: &str,
    sender_device_id: &str,
    sequence: u64,
    descriptor_bytes: &js_sys::Uint8Array,
) -> Result<js_sys::Uint8Array, JsValue> {
    let context = MessageContext::new(conversation_id, sender_user_id, sender_device_id, sequence)
        .map_err(to_js)?;
    encode(
        context,
        MessageBody::Attachment(bytes_from_array(descriptor_bytes)),
    )
}

/// The plaintext to pass to `Session.encrypt`: a control message with its
/// context. `kind` is `'device_list_update'` (the payload is the sender
/// user's new signed device list), `'delivered'` or `'read'` (the payload's
/// format is the application's).
///
/// Throws `invalid_message_context`, `invalid_argument` (another kind) or
/// `message_too_large`.
#[wasm_bindgen(js_name = encodeControlMessage)]
pub fn encode_control_message(
    conversation_id: &str,
    sender_user_id: &str,
    sender_device_id: &str,
    sequence: u64,
    #[wasm_bindgen(unchecked_param_type = "'device_list_update' | 'delivered' | 'read'")]
    kind: &str,
    payload: &[u8],
) -> Result<js_sys::Uint8Array, JsValue> {
    let context = MessageContext::new(conversation_id, sender_user_id, sender_device_id, sequence)
        .map_err(to_js)?;
    let kind = control_kind_from_name(kind).ok_or_else(|| to_js(BindingError::InvalidArgument))?;
    encode(context, MessageBody::Control(kind, payload.to_vec()))
}

fn encode(context: MessageContext, body: MessageBody) -> Result<js_sys::Uint8Array, JsValue> {
    let envelope = core::MessageEnvelope::new(context, body);
    let result = envelope.to_bytes().map(|bytes| bytes_to_js(&bytes));
    let (_, mut body) = envelope.into_parts();
    wipe_text(&mut body);
    result.map_err(to_js)
}

/// Wipes a text body, which the core keeps in a plain `String`.
fn wipe_text(body: &mut MessageBody) {
    if let MessageBody::Text(text) = body {
        text.zeroize();
    }
}

fn control_kind_from_name(name: &str) -> Option<ControlKind> {
    match name {
        "device_list_update" => Some(ControlKind::DeviceListUpdate),
        "delivered" => Some(ControlKind::Delivered),
        "read" => Some(ControlKind::Read),
        _ => None,
    }
}

fn control_kind_name(kind: ControlKind) -> &'static str {
    match kind {
        ControlKind::DeviceListUpdate => "device_list_update",
        ControlKind::Delivered => "delivered",
        ControlKind::Read => "read",
    }
}

/// A decrypted session message: who claims to have sent it, where, its
/// place in the sender's sequence, and its body. Nothing here is checked
/// until `check()` succeeds: attribute a message only after that. Call
/// `free()` when done to wipe the body at once.
#[wasm_bindgen]
#[derive(Debug)]
pub struct MessageEnvelope {
    context: MessageContext,
    body: MessageBody,
}

impl Drop for MessageEnvelope {
    fn drop(&mut self) {
        // Attachment bodies wipe themselves; text is a plain `String`.
        wipe_text(&mut self.body);
    }
}

#[wasm_bindgen]
impl MessageEnvelope {
    /// Parses the plaintext returned by `Session.decrypt`.
    ///
    /// Throws `malformed_message_context`, `message_too_large`,
    /// `unsupported_version` or `unknown_body_kind`.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(plaintext: &js_sys::Uint8Array) -> Result<MessageEnvelope, JsValue> {
        let bytes = bytes_from_array(plaintext);
        let (context, body) = core::MessageEnvelope::from_bytes(&bytes)
            .map_err(to_js)?
            .into_parts();
        Ok(MessageEnvelope { context, body })
    }

    /// The conversation the message claims to belong to.
    #[wasm_bindgen(getter, js_name = conversationId)]
    pub fn conversation_id(&self) -> String {
        self.context.conversation_id().to_string()
    }

    /// The user the sender claims to be (checked by `check()`).
    #[wasm_bindgen(getter, js_name = senderUserId)]
    pub fn sender_user_id(&self) -> String {
        self.context.sender_user_id().to_string()
    }

    /// The device the sender claims to be (checked by `check()`).
    #[wasm_bindgen(getter, js_name = senderDeviceId)]
    pub fn sender_device_id(&self) -> String {
        self.context.sender_device_id().to_string()
    }

    /// The message's number in its sender device's sequence for this
    /// conversation.
    #[wasm_bindgen(getter)]
    pub fn sequence(&self) -> u64 {
        self.context.sequence()
    }

    /// The body's kind: `'text'`, `'attachment'` or `'control'`.
    #[wasm_bindgen(getter, unchecked_return_type = "'text' | 'attachment' | 'control'")]
    pub fn kind(&self) -> String {
        match self.body {
            MessageBody::Text(_) => "text",
            MessageBody::Attachment(_) => "attachment",
            MessageBody::Control(..) => "control",
        }
        .to_string()
    }

    /// The text of a text message. Throws `wrong_body_kind` for any other.
    pub fn text(&self) -> Result<js_sys::JsString, JsValue> {
        match &self.body {
            MessageBody::Text(text) => text_from(text.as_bytes()),
            _ => Err(to_js(BindingError::WrongBodyKind)),
        }
    }

    /// The attachment descriptor bytes of an attachment message (secret: it
    /// holds the attachment key), for `AttachmentDecryptor.fromDescriptor`
    /// or `decryptAttachment`. Throws `wrong_body_kind` for any other.
    pub fn attachment(&self) -> Result<js_sys::Uint8Array, JsValue> {
        match &self.body {
            MessageBody::Attachment(descriptor) => Ok(bytes_to_js(descriptor)),
            _ => Err(to_js(BindingError::WrongBodyKind)),
        }
    }

    /// The kind of a control message: `'device_list_update'`,
    /// `'delivered'` or `'read'`. Throws `wrong_body_kind` for any other
    /// message.
    #[wasm_bindgen(
        js_name = controlKind,
        unchecked_return_type = "'device_list_update' | 'delivered' | 'read'"
    )]
    pub fn control_kind(&self) -> Result<String, JsValue> {
        match &self.body {
            MessageBody::Control(kind, _) => Ok(control_kind_name(*kind).to_string()),
            _ => Err(to_js(BindingError::WrongBodyKind)),
        }
    }

    /// The payload of a control message (for `'device_list_update'`, the
    /// signed list to pass to `PinnedDeviceList.update`). Throws
    /// `wrong_body_kind` for any other message.
    #[wasm_bindgen(js_name = controlPayload)]
    pub fn control_payload(&self) -> Result<js_sys::Uint8Array, JsValue> {
        match &self.body {
            MessageBody::Control(_, payload) => Ok(bytes_to_js(payload)),
            _ => Err(to_js(BindingError::WrongBodyKind)),
        }
    }

    /// Checks the message's context against what the receiver knows:
    /// `sessionRemote`, the session's `peerIdentity()`; `sender`, the
    /// `PinnedDeviceList` kept for the sender's user id (a list verified
    /// under a key the relay named cannot be passed here); the conversation
    /// the receiver expects; and `window`, the bytes stored from the last
    /// `ContextCheck.window()` for this sender device and conversation
    /// (`undefined` for the first message). On success store the returned
    /// `window()` in place of the old one.
    ///
    /// Throws, in this order: `sender_user_mismatch`,
    /// `sender_not_on_device_list`, `sender_identity_mismatch`,
    /// `conversation_mismatch`, `replayed_sequence`,
    /// `sequence_out_of_window`; and `malformed_message_context` or
    /// `unsupported_version` for window bytes that are not a stored window.
    pub fn check(
        &self,
        session_remote: &PublicIdentity,
        sender: &PinnedDeviceList,
        conversation_id: &str,
        window: Option<Vec<u8>>,
    ) -> Result<ContextCheck, JsValue> {
        let window = match window {
            Some(bytes) => SequenceWindow::from_bytes(&bytes).map_err(to_js)?,
            None => SequenceWindow::default(),
        };
        self.context
            .check(
                &session_remote.inner,
                &sender.inner,
                conversation_id,
                &window,
            )
            .map(|inner| ContextCheck { inner })
            .map_err(to_js)
    }
}

/// A message context that passed `MessageEnvelope.check()`.
#[wasm_bindgen]
#[derive(Debug)]
pub struct ContextCheck {
    inner: core::ContextCheck,
}

#[wasm_bindgen]
impl ContextCheck {
    /// How many sequence numbers this message skipped over: messages the
    /// relay dropped or has not delivered yet (0 when none).
    #[wasm_bindgen(getter)]
    pub fn gap(&self) -> u64 {
        self.inner.gap()
    }

    /// Whether this message came after a later one from the same device:
    /// it fills an earlier gap.
    #[wasm_bindgen(getter)]
    pub fn late(&self) -> bool {
        self.inner.late()
    }

    /// The sequence window to store (17 bytes) for this sender device and
    /// conversation, in place of the one passed to `check()`.
    pub fn window(&self) -> Vec<u8> {
        self.inner.window().to_bytes().to_vec()
    }
}
