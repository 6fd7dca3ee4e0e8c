//! Storage behind one small interface. Handlers see only [`Store`]; the
//! SQLite implementation is in `sqlite.rs`, and another backend (such as
//! PostgreSQL) implements the same trait.

use serde::Serialize;

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A patient.
    Patient,
    /// A clinician (can invite patients and revoke devices).
    Clinician,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Clinician => "clinician",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "patient" => Some(Role::Patient),
            "clinician" => Some(Role::Clinician),
            _ => None,
        }
    }
}

/// An authenticated device.
#[derive(Debug, Clone)]
pub struct DeviceAuth {
    /// The device id.
    pub device_id: String,
    /// Its user.
    pub user_id: String,
    /// The user's role.
    pub role: Role,
}

/// Why an invitation could not be redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationProblem {
    /// No invitation has this code.
    Unknown,
    /// It expired.
    Expired,
    /// It was already used.
    Used,
}

/// A registered user and device.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Registered {
    /// The new user's id.
    pub user_id: String,
    /// The new device's id.
    pub device_id: String,
    /// The role the invitation granted.
    pub role: Role,
}

/// A conversation member.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// User id.
    pub user_id: String,
    /// Role.
    pub role: Role,
    /// Display name.
    pub display_name: String,
    /// Devices that are not revoked.
    pub devices: Vec<String>,
}

/// A conversation and its members.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    /// Conversation id.
    pub id: String,
    /// Members.
    pub members: Vec<Member>,
}

/// A queued envelope.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// Envelope id (for acknowledgement).
    pub id: i64,
    /// Conversation.
    pub conversation_id: String,
    /// Sending device.
    pub sender_device: String,
    /// Receiving device.
    pub recipient_device: String,
    /// Ciphertext, base64.
    pub body: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// Metadata of a stored blob.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobInfo {
    /// Blob id.
    pub id: String,
    /// Size in bytes.
    pub size: i64,
    /// SHA-256, hex.
    pub sha256: String,
    /// The first bytes, base64 (what anyone with the disk sees).
    pub head: String,
}

/// One audit record as stored.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    /// Unix milliseconds.
    pub at: i64,
    /// Acting user, if known.
    pub user_id: Option<String>,
    /// Acting device, if known.
    pub device_id: Option<String>,
    /// Acting role, if known.
    pub role: Option<String>,
    /// What was done (`register`, `post_envelope`, `auth_failed`, …).
    pub action: String,
    /// What it was done to (ids only, never content).
    pub target: Option<String>,
    /// Remote address.
    pub ip: String,
    /// `ok` or the error class (`unauthorized`, `forbidden`, …).
    pub outcome: String,
}

/// Result of verifying the audit chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditCheck {
    /// Every record's hash links to the previous one.
    Intact {
        /// Records checked.
        records: u64,
    },
    /// The first record whose hash does not match.
    BrokenAt {
        /// Its sequence number.
        seq: i64,
    },
}

/// A device's published prekeys as handed to one initiator: the bundle
/// without one-time prekeys, and at most one one-time prekey `(id, key)`.
pub type TakenPrekeys = (Vec<u8>, Option<(u32, [u8; 32])>);

/// A storage failure (reported as 500 without detail).
#[derive(Debug)]
pub struct StoreError(pub String);

impl<E: std::error::Error> From<E> for StoreError {
    fn from(error: E) -> Self {
        StoreError(error.to_string())
    }
}

/// Storage result.
pub type StoreResult<T> = Result<T, StoreError>;

/// Everything the relay stores. Implementations must make each call atomic.
pub trait Store: Send + Sync {
    /// Stores an invitation (by the hash of its code).
    fn create_invitation(
        &self,
        code_hash: &[u8],
        role: Role,
        inviter: Option<&str>,
        expires_at: i64,
    ) -> StoreResult<()>;

    /// Redeems an invitation and registers a user and device in one step.
    /// A patient invited by a clinician gets a conversation with them.
    fn redeem_invitation(
        &self,
        code_hash: &[u8],
        now: i64,
        display_name: &str,
        token_hash: &[u8],
    ) -> StoreResult<Result<Registered, InvitationProblem>>;

    /// The device a token belongs to (revoked devices included, flagged).
    fn device_by_token(&self, token_hash: &[u8]) -> StoreResult<Option<(DeviceAuth, bool)>>;

    /// Revokes a device and withdraws its prekeys. Returns whether it existed.
    fn revoke_device(&self, device_id: &str, now: i64) -> StoreResult<bool>;

    /// The user a device belongs to, if the device is not revoked.
    fn device_owner(&self, device_id: &str) -> StoreResult<Option<String>>;

    /// Replaces a device's prekey bundle (without one-time prekeys) and its
    /// one-time prekeys.
    fn put_prekeys(
        &self,
        device_id: &str,
        base_bundle: &[u8],
        one_time: &[(u32, [u8; 32])],
    ) -> StoreResult<()>;

    /// The base bundle and at most one one-time prekey, which is deleted in
    /// the same transaction (so it is handed out once).
    fn take_prekeys(&self, device_id: &str) -> StoreResult<Option<TakenPrekeys>>;

    /// Conversations a user is a member of.
    fn conversations_of(&self, user_id: &str) -> StoreResult<Vec<Conversation>>;

    /// Whether a user is a member of a conversation.
    fn is_member(&self, conversation_id: &str, user_id: &str) -> StoreResult<bool>;

    /// Queues an envelope; returns its id.
    fn post_envelope(
        &self,
        conversation_id: &str,
        sender_device: &str,
        recipient_device: &str,
        body: &[u8],
        now: i64,
    ) -> StoreResult<i64>;

    /// Queued envelopes of a device, oldest first.
    fn mailbox(&self, device_id: &str, limit: usize) -> StoreResult<Vec<Envelope>>;

    /// Deletes acknowledged envelopes of a device; returns how many.
    fn acknowledge(&self, device_id: &str, ids: &[i64]) -> StoreResult<usize>;

    /// Stores a blob.
    fn put_blob(
        &self,
        id: &str,
        conversation_id: &str,
        uploader: &str,
        body: &[u8],
        sha256_hex: &str,
        now: i64,
    ) -> StoreResult<()>;

    /// A blob and its conversation.
    fn get_blob(&self, id: &str) -> StoreResult<Option<(String, Vec<u8>)>>;

    /// What the relay holds for a conversation: queued envelopes and blobs.
    fn stored_in(&self, conversation_id: &str) -> StoreResult<(Vec<Envelope>, Vec<BlobInfo>)>;

    /// Appends an audit record, chaining its hash to the previous one.
    fn append_audit(&self, record: &AuditRecord) -> StoreResult<()>;

    /// Recomputes the audit chain.
    fn verify_audit(&self) -> StoreResult<AuditCheck>;
}
