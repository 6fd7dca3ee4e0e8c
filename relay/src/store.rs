//! Storage behind one small interface. Handlers see only [`Store`]; the
//! SQLite implementation is in `sqlite.rs`, and another backend (such as
//! PostgreSQL) implements the same trait. Its types are domain types with
//! raw bytes: how the API encodes them is `api::wire`'s business.

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// An invitation: whom it registers and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The role of the user it registers (for a device of an existing
    /// user, that user's role).
    pub role: Role,
    /// The clinician who invited, if any.
    pub inviter: Option<String>,
    /// `None`: it registers a new user. `Some(user)`: a device of `user`.
    pub for_user: Option<String>,
    /// With `for_user`: the user lost every device and starts over with a
    /// new user key (the user's other devices are revoked and its device
    /// list forgotten when it is redeemed).
    pub resets_user_key: bool,
    /// Unix milliseconds.
    pub expires_at: i64,
    /// The device that made it, if any: revoking that device withdraws the
    /// invitations it made that were not used yet.
    pub created_by: Option<String>,
}

/// An invitation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredInvitation {
    /// The invitation.
    pub invitation: Invitation,
    /// Whether it was redeemed.
    pub used: bool,
}

/// A registration the domain decided on, for the store to carry out.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The hash of the invitation's code (marked used, if still unused).
    pub code_hash: Vec<u8>,
    /// The user: new (with its role and display name) or existing.
    pub user_id: String,
    /// The role and display name of a new user; `None` for an existing one.
    pub new_user: Option<(Role, String)>,
    /// The new device.
    pub device_id: String,
    /// The new device's token, hashed.
    pub token_hash: Vec<u8>,
    /// A conversation to create with these members, if any.
    pub conversation: Option<(String, Vec<String>)>,
    /// Revoke the user's other devices, forget its device list and withdraw
    /// every other unused invitation for the user.
    pub reset_user_key: bool,
    /// Unix milliseconds.
    pub now: i64,
}

/// A conversation member.
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone)]
pub struct Conversation {
    /// Conversation id.
    pub id: String,
    /// Members.
    pub members: Vec<Member>,
}

/// A queued envelope.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// Envelope id (for acknowledgement): random, so it says nothing about
    /// other traffic. Mailbox order comes from a separate internal column.
    pub id: String,
    /// Conversation.
    pub conversation_id: String,
    /// Sending device.
    pub sender_device: String,
    /// Receiving device.
    pub recipient_device: String,
    /// Ciphertext.
    pub body: Vec<u8>,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// Metadata of a stored blob.
#[derive(Debug, Clone)]
pub struct BlobInfo {
    /// Blob id.
    pub id: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, hex.
    pub sha256: String,
    /// The first bytes (what anyone with the disk sees).
    pub head: Vec<u8>,
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

/// An audit record with its place in the log, as read back for
/// verification.
#[derive(Debug, Clone)]
pub struct StoredAuditRecord {
    /// Sequence number (1, 2, …).
    pub seq: i64,
    /// The record.
    pub record: AuditRecord,
    /// Its chain hash, as stored.
    pub hash: Vec<u8>,
    /// Its MAC, as stored (none in logs written before audit keys).
    pub mac: Option<Vec<u8>>,
}

/// Which part of a list to read: the items whose ids sort after `after`, at
/// most `limit` of them (every one when `limit` is `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// Start after this id (the last id of the previous page).
    pub after: Option<String>,
    /// Most items to return.
    pub limit: Option<usize>,
}

impl Page {
    /// The whole list.
    pub const ALL: Page = Page {
        after: None,
        limit: None,
    };
}

/// A user's signed device list as the relay keeps it (`PROTOCOL.md` §8.3):
/// raw bytes the relay checked when they were published, and which every
/// client checks again under the user key it pinned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDeviceList {
    /// The user's public identity (33 bytes, §8.2).
    pub user_key: Vec<u8>,
    /// The signed device list.
    pub list: Vec<u8>,
    /// The list's version (also inside `list`).
    pub version: u64,
    /// The registration proof (§8.4) the user's first list came with, for
    /// the inviting clinician to verify; none for users not invited by one.
    pub registration_proof: Option<Vec<u8>>,
}

/// A message of a device link (`PROTOCOL.md` §8.6) between two devices of
/// one user: opaque bytes, sealed or committed by the devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkMessage {
    /// The user both devices belong to.
    pub user_id: String,
    /// The exchange's name: the SHA-256 of the link's offer id, base64.
    pub offer: String,
    /// The device that posted it.
    pub sender_device: String,
    /// The message.
    pub body: Vec<u8>,
    /// Unix milliseconds.
    pub created_at: i64,
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
///
/// Every call that changes state takes the audit record of that change and
/// appends it (see [`Store::append_audit`]) in the same transaction, so a
/// change is never stored without its record, nor a record without its
/// change. The record is appended only when the call succeeds in the sense
/// its documentation gives (an invitation that cannot be redeemed, or a
/// bundle that does not exist, stores neither).
pub trait Store: Send + Sync {
    /// Stores an invitation (by the hash of its code). Returns `false`,
    /// storing nothing, if an invitation with that hash exists.
    fn create_invitation(
        &self,
        code_hash: &[u8],
        invitation: &Invitation,
        audit: &AuditRecord,
    ) -> StoreResult<bool>;

    /// The invitation with this code hash, used or not.
    fn invitation(&self, code_hash: &[u8]) -> StoreResult<Option<StoredInvitation>>;

    /// Carries out a registration the domain decided on
    /// (`domain::onboarding`), in one transaction with its audit record
    /// (whose target becomes the new device) and one `revoke_device` record
    /// per device a key reset revokes. Returns `false`, storing nothing, if
    /// the invitation was used in the meantime.
    fn register(&self, registration: &Registration, audit: &AuditRecord) -> StoreResult<bool>;

    /// The device a token belongs to (revoked devices included, flagged).
    fn device_by_token(&self, token_hash: &[u8]) -> StoreResult<Option<(DeviceAuth, bool)>>;

    /// Revokes a device, withdraws its prekeys and deletes the envelopes
    /// queued for it. Returns whether it existed.
    fn revoke_device(&self, device_id: &str, now: i64, audit: &AuditRecord) -> StoreResult<bool>;

    /// The user a device belongs to, if the device is not revoked.
    fn device_owner(&self, device_id: &str) -> StoreResult<Option<String>>;

    /// Replaces a device's prekey bundle (without one-time prekeys) and its
    /// one-time prekeys.
    fn put_prekeys(
        &self,
        device_id: &str,
        base_bundle: &[u8],
        one_time: &[(u32, [u8; 32])],
        audit: &AuditRecord,
    ) -> StoreResult<()>;

    /// The base bundle and at most one one-time prekey, which is deleted in
    /// the same transaction (so it is handed out once). Audited only if the
    /// device has a bundle.
    fn take_prekeys(
        &self,
        device_id: &str,
        audit: &AuditRecord,
    ) -> StoreResult<Option<TakenPrekeys>>;

    /// Conversations a user is a member of, ordered by id, with their
    /// members (ordered by role, then id) and each member's non-revoked
    /// devices (oldest first). Set-based: the cost does not depend on how
    /// many conversations the user has beyond the page read.
    fn conversations_of(&self, user_id: &str, page: &Page) -> StoreResult<Vec<Conversation>>;

    /// Whether a user is a member of a conversation.
    fn is_member(&self, conversation_id: &str, user_id: &str) -> StoreResult<bool>;

    /// Whether two users are members of one same conversation (one indexed
    /// query, as cheap for a clinician with thousands of patients as for a
    /// patient with one clinician).
    fn shares_conversation(&self, user_a: &str, user_b: &str) -> StoreResult<bool>;

    /// Queues an envelope; returns its (random) id, or `None` (nothing
    /// stored) if the recipient device is revoked, unknown, or not a
    /// member's, checked in the same transaction as the insert.
    fn post_envelope(
        &self,
        conversation_id: &str,
        sender_device: &str,
        recipient_device: &str,
        body: &[u8],
        now: i64,
        audit: &AuditRecord,
    ) -> StoreResult<Option<String>>;

    /// Queued envelopes of a device, oldest first.
    fn mailbox(&self, device_id: &str, limit: usize) -> StoreResult<Vec<Envelope>>;

    /// Deletes acknowledged envelopes of a device; returns how many.
    fn acknowledge(
        &self,
        device_id: &str,
        ids: &[String],
        audit: &AuditRecord,
    ) -> StoreResult<usize>;

    /// Stores a blob.
    #[allow(clippy::too_many_arguments)] // the blob's fields, then its audit record
    fn put_blob(
        &self,
        id: &str,
        conversation_id: &str,
        uploader: &str,
        body: &[u8],
        sha256_hex: &str,
        now: i64,
        audit: &AuditRecord,
    ) -> StoreResult<()>;

    /// A blob's conversation and size, without reading the blob.
    fn blob_info(&self, id: &str) -> StoreResult<Option<(String, u64)>>;

    /// A blob and its conversation.
    fn get_blob(&self, id: &str) -> StoreResult<Option<(String, Vec<u8>)>>;

    /// What the relay holds for a conversation: queued envelopes and blobs.
    fn stored_in(&self, conversation_id: &str) -> StoreResult<(Vec<Envelope>, Vec<BlobInfo>)>;

    /// A device's bundle without any one-time prekey, taking nothing.
    fn base_bundle(&self, device_id: &str) -> StoreResult<Option<Vec<u8>>>;

    /// Stores a link message unless its exchange already holds
    /// `max_per_offer` messages (then `None`, nothing stored), after
    /// deleting every link message created before `expired_before`.
    /// Returns its id.
    fn post_link_message(
        &self,
        message: &LinkMessage,
        max_per_offer: usize,
        expired_before: i64,
        audit: &AuditRecord,
    ) -> StoreResult<Option<i64>>;

    /// The link messages of one exchange of a user with ids above `after`,
    /// created at or after `expired_before`, oldest first.
    fn link_messages(
        &self,
        user_id: &str,
        offer: &str,
        after: i64,
        expired_before: i64,
    ) -> StoreResult<Vec<(i64, LinkMessage)>>;

    /// A user's role, if the user exists.
    fn user_role(&self, user_id: &str) -> StoreResult<Option<Role>>;

    /// A user's device list, if one was published.
    fn device_list(&self, user_id: &str) -> StoreResult<Option<StoredDeviceList>>;

    /// A user's non-revoked device ids.
    fn live_devices(&self, user_id: &str) -> StoreResult<Vec<String>>;

    /// Stores `list` as `user_id`'s device list and revokes (as
    /// [`Store::revoke_device`] does) every live device of the user that
    /// `listed` leaves out, in one transaction with `audit` and one
    /// `revoke_device` record per revoked device (its id as the target).
    /// Stores nothing and returns `None` unless, inside that transaction,
    /// the stored list still has `previous_version` (`None`: no list yet)
    /// and `publisher` and every device in `listed` are still live devices
    /// of the user. Returns the revoked devices.
    #[allow(clippy::too_many_arguments)] // the list, what it must still match, its audit record
    fn put_device_list(
        &self,
        user_id: &str,
        previous_version: Option<u64>,
        list: &StoredDeviceList,
        publisher: &str,
        listed: &[String],
        now: i64,
        audit: &AuditRecord,
    ) -> StoreResult<Option<Vec<String>>>;

    /// How many one-time prekeys of a device are left to hand out.
    fn one_time_prekey_count(&self, device_id: &str) -> StoreResult<u64>;

    /// Total bytes a user's devices have stored on the relay, for the
    /// quota: the blobs they uploaded and the envelopes they sent that are
    /// still queued.
    fn stored_bytes_of_user(&self, user_id: &str) -> StoreResult<u64>;

    /// Appends an audit record on its own (for what changes nothing else):
    /// its hash chained to the previous record's, and its MAC under the
    /// audit key (`audit::record_hash`, `audit::record_mac`).
    fn append_audit(&self, record: &AuditRecord) -> StoreResult<()>;

    /// Appends several records the relay built itself (the refusal
    /// summaries of a window) in one transaction: all or none.
    fn append_audit_batch(&self, records: &[AuditRecord]) -> StoreResult<()>;

    /// The last audit record's sequence number and chain hash.
    fn audit_head(&self) -> StoreResult<Option<(i64, Vec<u8>)>>;

    /// The last audit record's sequence number and chain hash, read on the
    /// writing side, after checking that it is the last record this store
    /// wrote (or found when it was opened). An error if the log was cut,
    /// replaced or extended behind the store's back: nothing may then be
    /// appended or checkpointed.
    fn audit_tip(&self) -> StoreResult<Option<(i64, Vec<u8>)>>;

    /// Up to `limit` audit records after sequence number `after`, in order.
    fn audit_page(&self, after: i64, limit: usize) -> StoreResult<Vec<StoredAuditRecord>>;
}
