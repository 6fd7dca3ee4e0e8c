//! What the API sends: the JSON shapes of the domain types the store
//! returns, with their encodings (base64 ciphertext, lowercase roles,
//! camelCase names). The store and the domain rules know nothing of JSON;
//! this is the one place that does.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

use crate::store::{BlobInfo, Conversation, Envelope, Member, StoredDeviceList};

/// A conversation member as sent.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    /// User id.
    pub user_id: String,
    /// `patient` or `clinician`.
    pub role: &'static str,
    /// Display name.
    pub display_name: String,
    /// Devices that are not revoked.
    pub devices: Vec<String>,
}

/// A conversation as sent.
#[derive(Debug, Clone, Serialize)]
pub struct ConversationView {
    /// Conversation id.
    pub id: String,
    /// Members.
    pub members: Vec<MemberView>,
}

/// A queued envelope as sent.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvelopeView {
    /// Envelope id.
    pub id: String,
    /// Conversation.
    pub conversation_id: String,
    /// Sending device (the relay's claim; clients check it cryptographically).
    pub sender_device: String,
    /// Receiving device.
    pub recipient_device: String,
    /// Ciphertext, base64.
    pub body: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// A stored blob's metadata as sent.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobInfoView {
    /// Blob id.
    pub id: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, hex.
    pub sha256: String,
    /// The first bytes, base64 (what anyone with the disk sees).
    pub head: String,
}

impl From<Member> for MemberView {
    fn from(member: Member) -> Self {
        Self {
            user_id: member.user_id,
            role: member.role.as_str(),
            display_name: member.display_name,
            devices: member.devices,
        }
    }
}

impl From<Conversation> for ConversationView {
    fn from(conversation: Conversation) -> Self {
        Self {
            id: conversation.id,
            members: conversation.members.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<Envelope> for EnvelopeView {
    fn from(envelope: Envelope) -> Self {
        Self {
            id: envelope.id,
            conversation_id: envelope.conversation_id,
            sender_device: envelope.sender_device,
            recipient_device: envelope.recipient_device,
            body: STANDARD.encode(&envelope.body),
            created_at: envelope.created_at,
        }
    }
}

impl From<BlobInfo> for BlobInfoView {
    fn from(blob: BlobInfo) -> Self {
        Self {
            id: blob.id,
            size: blob.size,
            sha256: blob.sha256,
            head: STANDARD.encode(&blob.head),
        }
    }
}

/// Each item of `items` as sent.
pub fn views<T, V: From<T>>(items: Vec<T>) -> Vec<V> {
    items.into_iter().map(Into::into).collect()
}

/// A user's signed device list as sent. The client verifies `list` under
/// the user key it pinned; `userKey` is the relay's claim.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceListView {
    /// The user.
    pub user_id: String,
    /// The user key the list was published with, base64.
    pub user_key: String,
    /// The signed list, base64.
    pub list: String,
    /// The list's version, as a decimal string (it may exceed 2^53).
    pub version: String,
    /// The registration proof of the user's first list, base64, if any.
    pub registration_proof: Option<String>,
}

impl DeviceListView {
    /// The view of `user_id`'s stored list.
    pub fn new(user_id: String, stored: StoredDeviceList) -> Self {
        Self {
            user_id,
            user_key: STANDARD.encode(&stored.user_key),
            list: STANDARD.encode(&stored.list),
            version: stored.version.to_string(),
            registration_proof: stored.registration_proof.map(|p| STANDARD.encode(p)),
        }
    }
}
