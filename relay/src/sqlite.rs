//! The SQLite [`Store`]: one file, WAL journal, `synchronous = FULL`, so a
//! write that returned is on disk before the client hears about it.
//!
//! One connection writes; a small pool of read-only connections reads beside
//! it (WAL lets readers see the last commit while the writer writes), so a
//! read queues neither behind a write nor behind another read. Every read
//! statement is prepared once per connection and cached.

use std::path::Path;
use std::sync::{Condvar, Mutex};

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};

use crate::audit;
use crate::audit::keys::AuditKey;
use crate::ids;
use crate::store::{
    AuditRecord, BlobInfo, Conversation, DeviceAuth, Envelope, Invitation, LinkMessage, Member,
    Page, Registration, Role, Store, StoreError, StoreResult, StoredAuditRecord, StoredDeviceList,
    StoredInvitation, TakenPrekeys,
};

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY, role TEXT NOT NULL, display_name TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), token_hash BLOB NOT NULL UNIQUE,
  created_at INTEGER NOT NULL, revoked_at INTEGER);
CREATE TABLE IF NOT EXISTS invitations (
  code_hash BLOB PRIMARY KEY, role TEXT NOT NULL, inviter TEXT, expires_at INTEGER NOT NULL,
  used_at INTEGER, used_by TEXT);
CREATE TABLE IF NOT EXISTS prekey_bundles (
  device_id TEXT PRIMARY KEY REFERENCES devices(id), bundle BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS one_time_prekeys (
  device_id TEXT NOT NULL REFERENCES devices(id), key_id INTEGER NOT NULL, key BLOB NOT NULL,
  PRIMARY KEY (device_id, key_id));
CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS conversation_members (
  conversation_id TEXT NOT NULL REFERENCES conversations(id), user_id TEXT NOT NULL REFERENCES users(id),
  PRIMARY KEY (conversation_id, user_id));
CREATE TABLE IF NOT EXISTS envelopes (
  id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id TEXT NOT NULL, sender_device TEXT NOT NULL,
  recipient_device TEXT NOT NULL, body BLOB NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS envelopes_by_recipient ON envelopes (recipient_device, id);
CREATE TABLE IF NOT EXISTS blobs (
  id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, uploader TEXT NOT NULL, body BLOB NOT NULL,
  sha256 TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS device_lists (
  user_id TEXT PRIMARY KEY REFERENCES users(id), user_key BLOB NOT NULL, list BLOB NOT NULL,
  version BLOB NOT NULL, registration_proof BLOB, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS link_messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL REFERENCES users(id), offer TEXT NOT NULL,
  sender_device TEXT NOT NULL, body BLOB NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS link_messages_by_offer ON link_messages (user_id, offer, id);
CREATE INDEX IF NOT EXISTS link_messages_by_age ON link_messages (created_at);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, user_id TEXT, device_id TEXT, role TEXT,
  action TEXT NOT NULL, target TEXT, ip TEXT NOT NULL, outcome TEXT NOT NULL, hash BLOB NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
";

/// Each audit record's MAC (`audit::record_mac`), added to logs created
/// before audit keys; records written then have none and do not verify.
const AUDIT_MAC_COLUMN: &str = "ALTER TABLE audit ADD COLUMN mac BLOB";

/// Envelope ids given to clients are random (`public_id`: `ids::new_id("e")`
/// from the relay, or 'e_' and 16 hex digits from the trigger — both the
/// shape `ids::is_issued_id` accepts); the integer `id` only keeps each
/// mailbox in arrival order and never leaves the database. The trigger
/// gives an id to rows written by other tools.
const ENVELOPE_PUBLIC_IDS: &str = "
UPDATE envelopes SET public_id = 'e_' || lower(hex(randomblob(8))) WHERE public_id IS NULL;
CREATE UNIQUE INDEX IF NOT EXISTS envelopes_by_public_id ON envelopes (public_id);
CREATE TRIGGER IF NOT EXISTS envelopes_public_id AFTER INSERT ON envelopes WHEN NEW.public_id IS NULL
  BEGIN UPDATE envelopes SET public_id = 'e_' || lower(hex(randomblob(8))) WHERE id = NEW.id; END;
";

/// The per-user quota sums blob sizes by uploader.
const BLOB_QUOTA_SCHEMA: &str = "
CREATE INDEX IF NOT EXISTS blobs_by_uploader ON blobs (uploader);
";

/// Adds `invitations.for_user` (the user a device invitation adds a device
/// to), `resets_user_key` and `created_by` to databases created before they
/// existed.
fn add_device_invitations(conn: &Connection) -> StoreResult<()> {
    for (column, definition) in [
        ("for_user", "for_user TEXT"),
        (
            "resets_user_key",
            "resets_user_key INTEGER NOT NULL DEFAULT 0",
        ),
        ("created_by", "created_by TEXT"),
    ] {
        let present = conn
            .prepare("SELECT 1 FROM pragma_table_info('invitations') WHERE name = ?1")?
            .exists([column])?;
        if !present {
            conn.execute(
                &format!("ALTER TABLE invitations ADD COLUMN {definition}"),
                [],
            )?;
        }
    }
    Ok(())
}

/// Adds `envelopes.public_id` to databases created before it existed.
fn add_envelope_public_ids(conn: &Connection) -> StoreResult<()> {
    let present = conn
        .prepare("SELECT 1 FROM pragma_table_info('envelopes') WHERE name = 'public_id'")?
        .exists([])?;
    if !present {
        conn.execute("ALTER TABLE envelopes ADD COLUMN public_id TEXT", [])?;
    }
    conn.execute_batch(ENVELOPE_PUBLIC_IDS)?;
    Ok(())
}

/// The indexes of the read paths, apart from the tables so that opening a
/// database made before them adds them. Who is in which conversation is
/// asked by user (membership checks, conversation lists), a user's live
/// devices are listed oldest first (the index covers that query), and a
/// conversation's envelopes and blobs are read by conversation. Revoking a
/// device, and a key reset, withdraw unused invitations by maker and by user.
const INDEXES: &str = "
CREATE INDEX IF NOT EXISTS conversation_members_by_user ON conversation_members (user_id, conversation_id);
CREATE INDEX IF NOT EXISTS devices_by_user ON devices (user_id, revoked_at, created_at, id);
CREATE INDEX IF NOT EXISTS envelopes_by_conversation ON envelopes (conversation_id);
CREATE INDEX IF NOT EXISTS envelopes_by_sender ON envelopes (sender_device);
CREATE INDEX IF NOT EXISTS blobs_by_conversation ON blobs (conversation_id, created_at);
CREATE INDEX IF NOT EXISTS invitations_by_creator ON invitations (created_by) WHERE used_at IS NULL;
CREATE INDEX IF NOT EXISTS invitations_by_user ON invitations (for_user) WHERE used_at IS NULL;
";

/// Whether users ?1 and ?2 share a conversation. One statement over the
/// member indexes that walks the memberships of one user and looks the other
/// up in each conversation, so it costs what the walked user's memberships
/// cost. It walks ?1 unless ?1 has at least ?3 (`FEW_MEMBERSHIPS`), then ?2:
/// a clinician with thousands of patients is never walked for a patient.
/// (`CROSS JOIN` fixes SQLite's join order.)
const SHARES_CONVERSATION: &str = "
SELECT CASE
  WHEN (SELECT count(*) FROM (SELECT 1 FROM conversation_members WHERE user_id = ?1 LIMIT ?3) first) < ?3
  THEN EXISTS (SELECT 1 FROM conversation_members a CROSS JOIN conversation_members b
               WHERE a.user_id = ?1 AND b.conversation_id = a.conversation_id AND b.user_id = ?2)
  ELSE EXISTS (SELECT 1 FROM conversation_members b CROSS JOIN conversation_members a
               WHERE b.user_id = ?2 AND a.conversation_id = b.conversation_id AND a.user_id = ?1)
END";

/// Below this many conversations a user's memberships are walked directly
/// in [`SHARES_CONVERSATION`] (a patient has one or a few).
const FEW_MEMBERSHIPS: i64 = 64;

/// A user (?1) and their non-revoked devices, oldest first; one row per
/// device, or one with a NULL device.
const USER_WITH_DEVICES: &str = "
SELECT u.role, u.display_name, d.id
FROM users u LEFT JOIN devices d ON d.user_id = u.id AND d.revoked_at IS NULL
WHERE u.id = ?1
ORDER BY d.created_at, d.id";

/// A page of user ?1's conversations (ids after ?2, at most ?3 of them, -1
/// for all) with their other members and each one's non-revoked devices:
/// one row per (conversation, member, device), ordered as listed, a member
/// without devices with a NULL device and a conversation without other
/// members with a NULL member. The user themselves is read once with
/// [`USER_WITH_DEVICES`] rather than once per conversation: a clinician is
/// in every conversation of their panel.
const OTHERS_IN_CONVERSATIONS: &str = "
SELECT mine.conversation_id, u.id, u.role, u.display_name, d.id
FROM (SELECT conversation_id FROM conversation_members
      WHERE user_id = ?1 AND conversation_id > ?2 ORDER BY conversation_id LIMIT ?3) mine
LEFT JOIN conversation_members m ON m.conversation_id = mine.conversation_id AND m.user_id <> ?1
LEFT JOIN users u ON u.id = m.user_id
LEFT JOIN devices d ON d.user_id = u.id AND d.revoked_at IS NULL
ORDER BY mine.conversation_id, u.role, u.id, d.created_at, d.id";

/// Read-only connections beside the writer: enough that a slow read (a
/// whole conversation list) does not hold up the others.
const READERS: usize = 4;

/// Prepared statements cached per connection: more than this file has.
const STATEMENT_CACHE: usize = 64;

/// A SQLite-backed store.
pub struct SqliteStore {
    writer: Mutex<Connection>,
    readers: Readers,
    /// The key every appended audit record is MACed with; `None` for a
    /// store opened read-only, which appends nothing.
    audit_key: Option<AuditKey>,
    /// The last audit record (seq, hash) this store committed, or found
    /// at open; every append checks that the database still ends there.
    /// Locked only while `writer` is held.
    tip: Mutex<Option<(i64, Vec<u8>)>>,
}

impl SqliteStore {
    /// Opens (and if needed creates or upgrades) the database file; every
    /// audit record it appends is MACed with `audit_key`.
    pub fn open(path: &Path, audit_key: AuditKey) -> StoreResult<Self> {
        create_private(path)?;
        let writer = Connection::open(path)?;
        writer.execute_batch(SCHEMA)?;
        let has_mac: bool = writer.query_row(
            "SELECT count(*) FROM pragma_table_info('audit') WHERE name = 'mac'",
            [],
            |r| r.get(0),
        )?;
        if !has_mac {
            writer.execute_batch(AUDIT_MAC_COLUMN)?;
        }
        add_envelope_public_ids(&writer)?;
        add_device_invitations(&writer)?;
        writer.execute_batch(BLOB_QUOTA_SCHEMA)?;
        writer.execute_batch(INDEXES)?;
        writer.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let tip = last_audit_record(&writer)?;
        Ok(Self {
            writer: Mutex::new(writer),
            readers: Readers::open(path, READERS)?,
            audit_key: Some(audit_key),
            tip: Mutex::new(tip),
        })
    }

    /// Opens an existing database file read-only, for verification: a
    /// missing file is an error, and nothing is ever created or written.
    pub fn open_read_only(path: &Path) -> StoreResult<Self> {
        let writer = read_only(path)?;
        Ok(Self {
            writer: Mutex::new(writer),
            readers: Readers::open(path, 1)?,
            audit_key: None,
            tip: Mutex::new(None),
        })
    }

    /// Runs a write (and the audit check) on the single writing connection.
    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = self
            .writer
            .lock()
            .map_err(|_| StoreError("database lock poisoned".into()))?;
        f(&mut conn)
    }

    /// Appends `audit` in `tx` and commits, if the database's last audit
    /// record is still the last one this store wrote; otherwise the write is
    /// refused (rolled back) and the mismatch is logged. Records removed,
    /// replaced or added behind the relay's back are never chained over.
    fn commit_audited(&self, tx: Transaction<'_>, audit: &AuditRecord) -> StoreResult<()> {
        self.commit_audited_all(tx, std::slice::from_ref(audit))
    }

    /// Appends `records` in order to the log in `tx` and commits: all of
    /// them or none.
    fn commit_audited_all(&self, tx: Transaction<'_>, records: &[AuditRecord]) -> StoreResult<()> {
        let key = self
            .audit_key
            .as_ref()
            .ok_or_else(|| StoreError("opened without an audit key".into()))?;
        let mut tip = self
            .tip
            .lock()
            .map_err(|_| StoreError("audit tip lock poisoned".into()))?;
        let mut last = last_audit_record(&tx)?;
        check_tip(tip.as_ref(), last.as_ref())?;
        for record in records {
            last = Some(append_audit_in(&tx, key, last, record)?);
        }
        tx.commit()?;
        if let Some(written) = last {
            *tip = Some(written);
        }
        Ok(())
    }

    /// Runs a read on a read-only connection from the pool, waiting for one
    /// if all are busy. It sees every write that has returned.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let lease = self.readers.take()?;
        let conn = lease
            .conn
            .as_ref()
            .ok_or_else(|| StoreError("a leased reader is missing".into()))?;
        f(conn)
    }
}

/// Creates the database file, if it does not exist, with mode 0600: SQLite
/// gives its WAL and shared-memory files the database file's mode, so none
/// of the three is readable by group or others. (An existing file keeps
/// its mode.)
fn create_private(path: &Path) -> StoreResult<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError(format!("{}: {e}", path.display()))),
    }
}

/// The pool of read-only connections (callers already run on blocking
/// threads, so a plain mutex and condition variable suffice).
struct Readers {
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
}

/// A read-only connection to an existing database file, its statements
/// cached.
fn read_only(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

impl Readers {
    /// `count` read-only connections to `path`.
    fn open(path: &Path, count: usize) -> StoreResult<Self> {
        let idle = (0..count)
            .map(|_| read_only(path))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Self {
            idle: Mutex::new(idle),
            returned: Condvar::new(),
        })
    }

    fn take(&self) -> StoreResult<Lease<'_>> {
        let poisoned = |_| StoreError("reader pool lock poisoned".into());
        let mut idle = self.idle.lock().map_err(poisoned)?;
        loop {
            if let Some(conn) = idle.pop() {
                return Ok(Lease {
                    readers: self,
                    conn: Some(conn),
                });
            }
            idle = self.returned.wait(idle).map_err(poisoned)?;
        }
    }
}

/// A reader on loan; it goes back to the pool when dropped (also if the
/// read failed).
struct Lease<'a> {
    readers: &'a Readers,
    /// Always `Some` until `drop` puts it back.
    conn: Option<Connection>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let (Some(conn), Ok(mut idle)) = (self.conn.take(), self.readers.idle.lock()) {
            idle.push(conn);
            self.readers.returned.notify_one();
        }
    }
}

fn role_of(text: String) -> StoreResult<Role> {
    Role::parse(&text).ok_or_else(|| StoreError(format!("unknown role {text}")))
}

impl Store for SqliteStore {
    fn create_invitation(
        &self,
        code_hash: &[u8],
        invitation: &Invitation,
        audit: &AuditRecord,
    ) -> StoreResult<bool> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let inserted = tx.execute(
                "INSERT INTO invitations (code_hash, role, inviter, expires_at, for_user, resets_user_key, created_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (code_hash) DO NOTHING",
                params![
                    code_hash,
                    invitation.role.as_str(),
                    invitation.inviter,
                    invitation.expires_at,
                    invitation.for_user,
                    invitation.resets_user_key,
                    invitation.created_by
                ],
            )?;
            if inserted != 1 {
                return Ok(false);
            }
            self.commit_audited(tx, audit)?;
            Ok(true)
        })
    }

    fn invitation(&self, code_hash: &[u8]) -> StoreResult<Option<StoredInvitation>> {
        self.read(|c| {
            // The role is read as text and checked after the row.
            let row = c
                .prepare_cached(
                    "SELECT role, inviter, expires_at, used_at, for_user, resets_user_key, created_by
                     FROM invitations WHERE code_hash = ?1",
                )?
                .query_row(params![code_hash], |r| {
                    let role: String = r.get(0)?;
                    let used_at: Option<i64> = r.get(3)?;
                    let invitation = Invitation {
                        role: Role::Patient,
                        inviter: r.get(1)?,
                        expires_at: r.get(2)?,
                        for_user: r.get(4)?,
                        resets_user_key: r.get(5)?,
                        created_by: r.get(6)?,
                    };
                    Ok((role, used_at.is_some(), invitation))
                })
                .optional()?;
            row.map(|(role, used, invitation)| {
                Ok(StoredInvitation {
                    invitation: Invitation {
                        role: role_of(role)?,
                        ..invitation
                    },
                    used,
                })
            })
            .transpose()
        })
    }

    fn register(&self, registration: &Registration, audit: &AuditRecord) -> StoreResult<bool> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let r = registration;
            let updated = tx.execute(
                "UPDATE invitations SET used_at = ?1, used_by = ?2
                 WHERE code_hash = ?3 AND used_at IS NULL AND expires_at > ?1",
                params![r.now, r.user_id, r.code_hash],
            )?;
            if updated != 1 {
                return Ok(false);
            }
            if let Some((role, display_name)) = &r.new_user {
                tx.execute(
                    "INSERT INTO users (id, role, display_name, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![r.user_id, role.as_str(), display_name, r.now],
                )?;
            }
            let mut records = vec![AuditRecord {
                target: Some(r.device_id.clone()),
                ..audit.clone()
            }];
            if r.reset_user_key {
                let others: Vec<String> = tx
                    .prepare("SELECT id FROM devices WHERE user_id = ?1 AND revoked_at IS NULL")?
                    .query_map(params![r.user_id], |row| row.get(0))?
                    .collect::<Result<_, _>>()?;
                for device in others {
                    revoke_in(&tx, &device, r.now)?;
                    records.push(AuditRecord {
                        action: "revoke_device".into(),
                        target: Some(device),
                        ..audit.clone()
                    });
                }
                tx.execute(
                    "DELETE FROM device_lists WHERE user_id = ?1",
                    params![r.user_id],
                )?;
                tx.execute(
                    "DELETE FROM invitations WHERE for_user = ?1 AND used_at IS NULL",
                    params![r.user_id],
                )?;
            }
            tx.execute(
                "INSERT INTO devices (id, user_id, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![r.device_id, r.user_id, r.token_hash, r.now],
            )?;
            if let Some((conversation, members)) = &r.conversation {
                tx.execute(
                    "INSERT INTO conversations (id, created_at) VALUES (?1, ?2)",
                    params![conversation, r.now],
                )?;
                for member in members {
                    tx.execute(
                        "INSERT INTO conversation_members (conversation_id, user_id) VALUES (?1, ?2)",
                        params![conversation, member],
                    )?;
                }
            }
            self.commit_audited_all(tx, &records)?;
            Ok(true)
        })
    }

    fn device_by_token(&self, token_hash: &[u8]) -> StoreResult<Option<(DeviceAuth, bool)>> {
        self.read(|c| {
            let row: Option<(String, String, String, Option<i64>)> = c
                .prepare_cached(
                    "SELECT d.id, d.user_id, u.role, d.revoked_at FROM devices d JOIN users u ON u.id = d.user_id
                     WHERE d.token_hash = ?1",
                )?
                .query_row(params![token_hash], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()?;
            match row {
                None => Ok(None),
                Some((device_id, user_id, role, revoked)) => Ok(Some((
                    DeviceAuth {
                        device_id,
                        user_id,
                        role: role_of(role)?,
                    },
                    revoked.is_some(),
                ))),
            }
        })
    }

    fn post_link_message(
        &self,
        message: &LinkMessage,
        max_per_offer: usize,
        expired_before: i64,
        audit: &AuditRecord,
    ) -> StoreResult<Option<i64>> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "DELETE FROM link_messages WHERE created_at < ?1",
                params![expired_before],
            )?;
            let held: i64 = tx.query_row(
                "SELECT count(*) FROM link_messages WHERE user_id = ?1 AND offer = ?2",
                params![message.user_id, message.offer],
                |r| r.get(0),
            )?;
            if usize::try_from(held).map_or(true, |held| held >= max_per_offer) {
                return Ok(None);
            }
            tx.execute(
                "INSERT INTO link_messages (user_id, offer, sender_device, body, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    message.user_id,
                    message.offer,
                    message.sender_device,
                    message.body,
                    message.created_at
                ],
            )?;
            let id = tx.last_insert_rowid();
            self.commit_audited(tx, audit)?;
            Ok(Some(id))
        })
    }

    fn link_messages(
        &self,
        user_id: &str,
        offer: &str,
        after: i64,
        expired_before: i64,
    ) -> StoreResult<Vec<(i64, LinkMessage)>> {
        self.read(|c| {
            let mut statement = c.prepare_cached(
                "SELECT id, sender_device, body, created_at FROM link_messages
                 WHERE user_id = ?1 AND offer = ?2 AND id > ?3 AND created_at >= ?4 ORDER BY id",
            )?;
            let rows = statement
                .query_map(params![user_id, offer, after, expired_before], |r| {
                    Ok((
                        r.get(0)?,
                        LinkMessage {
                            user_id: user_id.to_string(),
                            offer: offer.to_string(),
                            sender_device: r.get(1)?,
                            body: r.get(2)?,
                            created_at: r.get(3)?,
                        },
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    fn revoke_device(&self, device_id: &str, now: i64, audit: &AuditRecord) -> StoreResult<bool> {
        self.with(|c| {
            let tx = c.transaction()?;
            let revoked = revoke_in(&tx, device_id, now)?;
            self.commit_audited(tx, audit)?;
            Ok(revoked)
        })
    }

    fn device_list(&self, user_id: &str) -> StoreResult<Option<StoredDeviceList>> {
        self.read(|c| {
            let row = c
                .prepare_cached(
                    "SELECT user_key, list, version, registration_proof FROM device_lists WHERE user_id = ?1",
                )?
                .query_row(params![user_id], |r| {
                    Ok((
                        StoredDeviceList {
                            user_key: r.get(0)?,
                            list: r.get(1)?,
                            version: 0,
                            registration_proof: r.get(3)?,
                        },
                        r.get::<_, Vec<u8>>(2)?,
                    ))
                })
                .optional()?;
            row.map(|(list, version)| {
                Ok(StoredDeviceList {
                    version: version_of(&version)?,
                    ..list
                })
            })
            .transpose()
        })
    }

    fn user_role(&self, user_id: &str) -> StoreResult<Option<Role>> {
        self.read(|c| {
            let role: Option<String> = c
                .prepare_cached("SELECT role FROM users WHERE id = ?1")?
                .query_row(params![user_id], |r| r.get(0))
                .optional()?;
            role.map(role_of).transpose()
        })
    }

    fn live_devices(&self, user_id: &str) -> StoreResult<Vec<String>> {
        self.read(|c| {
            let mut statement = c.prepare_cached(
                "SELECT id FROM devices WHERE user_id = ?1 AND revoked_at IS NULL ORDER BY created_at, id",
            )?;
            let ids = statement
                .query_map(params![user_id], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(ids)
        })
    }

    fn put_device_list(
        &self,
        user_id: &str,
        previous_version: Option<u64>,
        list: &StoredDeviceList,
        publisher: &str,
        listed: &[String],
        now: i64,
        audit: &AuditRecord,
    ) -> StoreResult<Option<Vec<String>>> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let stored: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT version FROM device_lists WHERE user_id = ?1",
                    params![user_id],
                    |r| r.get(0),
                )
                .optional()?;
            let stored = stored.as_deref().map(version_of).transpose()?;
            if stored != previous_version {
                return Ok(None);
            }
            let live: Vec<String> = tx
                .prepare(
                    "SELECT id FROM devices WHERE user_id = ?1 AND revoked_at IS NULL ORDER BY created_at, id",
                )?
                .query_map(params![user_id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let is_live = |id: &String| live.contains(id);
            if !is_live(&publisher.to_string()) || !listed.iter().all(is_live) {
                return Ok(None);
            }
            tx.execute(
                "INSERT INTO device_lists (user_id, user_key, list, version, registration_proof, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (user_id) DO UPDATE SET user_key = excluded.user_key, list = excluded.list,
                   version = excluded.version, updated_at = excluded.updated_at",
                params![
                    user_id,
                    list.user_key,
                    list.list,
                    list.version.to_be_bytes().as_slice(),
                    list.registration_proof,
                    now
                ],
            )?;
            let revoked: Vec<String> = live
                .into_iter()
                .filter(|id| !listed.contains(id))
                .collect();
            let mut records = vec![audit.clone()];
            for device in &revoked {
                revoke_in(&tx, device, now)?;
                records.push(AuditRecord {
                    action: "revoke_device".into(),
                    target: Some(device.clone()),
                    ..audit.clone()
                });
            }
            self.commit_audited_all(tx, &records)?;
            Ok(Some(revoked))
        })
    }

    fn device_owner(&self, device_id: &str) -> StoreResult<Option<String>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT user_id FROM devices WHERE id = ?1 AND revoked_at IS NULL",
            )?
            .query_row(params![device_id], |r| r.get(0))
            .optional()?)
        })
    }

    fn put_prekeys(
        &self,
        device_id: &str,
        base_bundle: &[u8],
        one_time: &[(u32, [u8; 32])],
        audit: &AuditRecord,
    ) -> StoreResult<()> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute(
                "INSERT INTO prekey_bundles (device_id, bundle) VALUES (?1, ?2)
                 ON CONFLICT(device_id) DO UPDATE SET bundle = excluded.bundle",
                params![device_id, base_bundle],
            )?;
            tx.execute(
                "DELETE FROM one_time_prekeys WHERE device_id = ?1",
                params![device_id],
            )?;
            for (id, key) in one_time {
                tx.execute(
                    "INSERT INTO one_time_prekeys (device_id, key_id, key) VALUES (?1, ?2, ?3)",
                    params![device_id, id, &key[..]],
                )?;
            }
            self.commit_audited(tx, audit)?;
            Ok(())
        })
    }

    fn take_prekeys(
        &self,
        device_id: &str,
        audit: &AuditRecord,
    ) -> StoreResult<Option<TakenPrekeys>> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let bundle: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT bundle FROM prekey_bundles WHERE device_id = ?1",
                    params![device_id],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(bundle) = bundle else {
                return Ok(None);
            };
            let one: Option<(u32, Vec<u8>)> = tx
                .query_row(
                    "DELETE FROM one_time_prekeys WHERE rowid = (
                       SELECT rowid FROM one_time_prekeys WHERE device_id = ?1 ORDER BY key_id LIMIT 1)
                     RETURNING key_id, key",
                    params![device_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            self.commit_audited(tx, audit)?;
            let one = match one {
                None => None,
                Some((id, key)) => {
                    let key: [u8; 32] = key
                        .try_into()
                        .map_err(|_| StoreError("stored one-time prekey has a bad length".into()))?;
                    Some((id, key))
                }
            };
            Ok(Some((bundle, one)))
        })
    }

    fn conversations_of(&self, user_id: &str, page: &Page) -> StoreResult<Vec<Conversation>> {
        let after = page.after.as_deref().unwrap_or("");
        let limit = match page.limit {
            Some(limit) => i64::try_from(limit).unwrap_or(i64::MAX),
            None => -1,
        };
        self.read(|c| {
            let mut me: Option<Member> = None;
            let mut stmt = c.prepare_cached(USER_WITH_DEVICES)?;
            let mut rows = stmt.query(params![user_id])?;
            while let Some(row) = rows.next()? {
                if me.is_none() {
                    me = Some(Member {
                        user_id: user_id.to_string(),
                        role: role_of(row.get(0)?)?,
                        display_name: row.get(1)?,
                        devices: Vec::new(),
                    });
                }
                if let (Some(me), Some(device)) = (me.as_mut(), row.get(2)?) {
                    me.devices.push(device);
                }
            }
            let Some(me) = me else {
                return Ok(Vec::new());
            };

            let mut out: Vec<Conversation> = Vec::new();
            let mut stmt = c.prepare_cached(OTHERS_IN_CONVERSATIONS)?;
            let mut rows = stmt.query(params![user_id, after, limit])?;
            while let Some(row) = rows.next()? {
                let conversation: String = row.get(0)?;
                if out.last().is_none_or(|c| c.id != conversation) {
                    out.push(Conversation {
                        id: conversation,
                        members: Vec::new(),
                    });
                }
                let (Some(current), Some(member)) =
                    (out.last_mut(), row.get::<_, Option<String>>(1)?)
                else {
                    continue;
                };
                if current.members.last().is_none_or(|m| m.user_id != member) {
                    current.members.push(Member {
                        user_id: member,
                        role: role_of(row.get(2)?)?,
                        display_name: row.get(3)?,
                        devices: Vec::new(),
                    });
                }
                if let (Some(member), Some(device)) = (current.members.last_mut(), row.get(4)?) {
                    member.devices.push(device);
                }
            }
            for conversation in &mut out {
                let at = conversation
                    .members
                    .partition_point(|m| member_order(m) < member_order(&me));
                conversation.members.insert(at, me.clone());
            }
            Ok(out)
        })
    }

    fn is_member(&self, conversation_id: &str, user_id: &str) -> StoreResult<bool> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT 1 FROM conversation_members WHERE conversation_id = ?1 AND user_id = ?2",
            )?
            .exists(params![conversation_id, user_id])?)
        })
    }

    fn shares_conversation(&self, user_a: &str, user_b: &str) -> StoreResult<bool> {
        self.read(|c| {
            Ok(c.prepare_cached(SHARES_CONVERSATION)?
                .query_row(params![user_a, user_b, FEW_MEMBERSHIPS], |r| r.get(0))?)
        })
    }

    fn post_envelope(
        &self,
        conversation_id: &str,
        sender_device: &str,
        recipient_device: &str,
        body: &[u8],
        now: i64,
        audit: &AuditRecord,
    ) -> StoreResult<Option<String>> {
        let id = ids::new_id("e")?;
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            // The recipient is checked in the same transaction as the insert:
            // a revocation committed after the handler looked the device up
            // leaves nothing queued for it.
            let inserted = tx.execute(
                "INSERT INTO envelopes (conversation_id, sender_device, recipient_device, body, created_at, public_id)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6
                 WHERE EXISTS (SELECT 1 FROM devices d JOIN conversation_members m ON m.user_id = d.user_id
                               WHERE d.id = ?3 AND d.revoked_at IS NULL AND m.conversation_id = ?1)",
                params![conversation_id, sender_device, recipient_device, body, now, id],
            )?;
            if inserted == 0 {
                return Ok(None);
            }
            self.commit_audited(tx, audit)?;
            Ok(Some(id))
        })
    }

    fn mailbox(&self, device_id: &str, limit: usize) -> StoreResult<Vec<Envelope>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT public_id, conversation_id, sender_device, recipient_device, body, created_at FROM envelopes
                 WHERE recipient_device = ?1 ORDER BY id LIMIT ?2",
            )?;
            let rows = stmt
                .query_map(params![device_id, limit as i64], envelope_row)?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
    }

    fn acknowledge(
        &self,
        device_id: &str,
        ids: &[String],
        audit: &AuditRecord,
    ) -> StoreResult<usize> {
        self.with(|c| {
            let tx = c.transaction()?;
            let mut removed = 0;
            for id in ids {
                removed += tx.execute(
                    "DELETE FROM envelopes WHERE public_id = ?1 AND recipient_device = ?2",
                    params![id, device_id],
                )?;
            }
            self.commit_audited(tx, audit)?;
            Ok(removed)
        })
    }

    fn put_blob(
        &self,
        id: &str,
        conversation_id: &str,
        uploader: &str,
        body: &[u8],
        sha256_hex: &str,
        now: i64,
        audit: &AuditRecord,
    ) -> StoreResult<()> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO blobs (id, conversation_id, uploader, body, sha256, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, conversation_id, uploader, body, sha256_hex, now],
            )?;
            self.commit_audited(tx, audit)?;
            Ok(())
        })
    }

    fn blob_info(&self, id: &str) -> StoreResult<Option<(String, u64)>> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT conversation_id, length(body) FROM blobs WHERE id = ?1")?
                    .query_row(params![id], |r| {
                        Ok((r.get(0)?, r.get::<_, i64>(1)?.unsigned_abs()))
                    })
                    .optional()?,
            )
        })
    }

    fn get_blob(&self, id: &str) -> StoreResult<Option<(String, Vec<u8>)>> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT conversation_id, body FROM blobs WHERE id = ?1")?
                    .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?,
            )
        })
    }

    fn stored_in(&self, conversation_id: &str) -> StoreResult<(Vec<Envelope>, Vec<BlobInfo>)> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT public_id, conversation_id, sender_device, recipient_device, body, created_at FROM envelopes
                 WHERE conversation_id = ?1 ORDER BY id DESC LIMIT 50",
            )?;
            let envelopes = stmt
                .query_map(params![conversation_id], envelope_row)?
                .collect::<Result<_, _>>()?;
            let mut stmt = c.prepare_cached(
                "SELECT id, length(body), sha256, substr(body, 1, 120) FROM blobs
                 WHERE conversation_id = ?1 ORDER BY created_at DESC LIMIT 50",
            )?;
            let blobs = stmt
                .query_map(params![conversation_id], |r| {
                    Ok(BlobInfo {
                        id: r.get(0)?,
                        size: r.get::<_, i64>(1)?.unsigned_abs(),
                        sha256: r.get(2)?,
                        head: r.get(3)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok((envelopes, blobs))
        })
    }

    fn base_bundle(&self, device_id: &str) -> StoreResult<Option<Vec<u8>>> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT bundle FROM prekey_bundles WHERE device_id = ?1")?
                    .query_row(params![device_id], |r| r.get(0))
                    .optional()?,
            )
        })
    }

    fn one_time_prekey_count(&self, device_id: &str) -> StoreResult<u64> {
        self.read(|c| {
            let count: i64 = c
                .prepare_cached("SELECT count(*) FROM one_time_prekeys WHERE device_id = ?1")?
                .query_row(params![device_id], |r| r.get(0))?;
            Ok(count.unsigned_abs())
        })
    }

    fn stored_bytes_of_user(&self, user_id: &str) -> StoreResult<u64> {
        self.read(|c| {
            let bytes: i64 = c
                .prepare_cached(
                    "SELECT (SELECT coalesce(sum(length(body)), 0) FROM blobs
                             WHERE uploader IN (SELECT id FROM devices WHERE user_id = ?1))
                          + (SELECT coalesce(sum(length(body)), 0) FROM envelopes
                             WHERE sender_device IN (SELECT id FROM devices WHERE user_id = ?1))",
                )?
                .query_row(params![user_id], |r| r.get(0))?;
            Ok(bytes.unsigned_abs())
        })
    }

    fn append_audit(&self, record: &AuditRecord) -> StoreResult<()> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            self.commit_audited(tx, record)?;
            Ok(())
        })
    }

    fn append_audit_batch(&self, records: &[AuditRecord]) -> StoreResult<()> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            self.commit_audited_all(tx, records)
        })
    }

    fn audit_head(&self) -> StoreResult<Option<(i64, Vec<u8>)>> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?
                    .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?,
            )
        })
    }

    fn audit_tip(&self) -> StoreResult<Option<(i64, Vec<u8>)>> {
        self.with(|c| {
            let tip = self
                .tip
                .lock()
                .map_err(|_| StoreError("audit tip lock poisoned".into()))?;
            let last = last_audit_record(c)?;
            check_tip(tip.as_ref(), last.as_ref())?;
            Ok(last)
        })
    }

    fn audit_page(&self, after: i64, limit: usize) -> StoreResult<Vec<StoredAuditRecord>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT seq, at, user_id, device_id, role, action, target, ip, outcome, hash, mac
                 FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = stmt
                .query_map(params![after, limit as i64], |row| {
                    Ok(StoredAuditRecord {
                        seq: row.get(0)?,
                        record: AuditRecord {
                            at: row.get(1)?,
                            user_id: row.get(2)?,
                            device_id: row.get(3)?,
                            role: row.get(4)?,
                            action: row.get(5)?,
                            target: row.get(6)?,
                            ip: row.get(7)?,
                            outcome: row.get(8)?,
                        },
                        hash: row.get(9)?,
                        mac: row.get(10)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
    }
}

/// The last audit record's (seq, hash), if any.
fn last_audit_record(conn: &Connection) -> StoreResult<Option<(i64, Vec<u8>)>> {
    Ok(conn
        .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// An error (logged at once, loudly) unless the database's last audit
/// record `found` is the one this store last wrote, `expected`. Only
/// sequence numbers are logged.
fn check_tip(expected: Option<&(i64, Vec<u8>)>, found: Option<&(i64, Vec<u8>)>) -> StoreResult<()> {
    if expected == found {
        return Ok(());
    }
    let seq = |tip: Option<&(i64, Vec<u8>)>| tip.map_or(0, |(seq, _)| *seq);
    let how = match (seq(expected), seq(found)) {
        (e, f) if f < e => format!("records {}..={e} were removed", f + 1),
        (e, f) if f > e => format!("records {}..={f} were added by someone else", e + 1),
        (e, _) => format!("record {e} was replaced"),
    };
    let message = format!(
        "the audit log changed behind the relay: it last wrote record {}, the database now \
         ends at record {} ({how}); refusing to write or checkpoint; run verify-audit",
        seq(expected),
        seq(found)
    );
    eprintln!("careseal-relay: AUDIT LOG TAMPERED: {message}");
    Err(StoreError(message))
}

/// Appends an audit record after `last` inside the caller's transaction:
/// the next sequence number, the hash chained to `last`'s, and the MAC.
/// Returns the new record's (seq, hash).
fn append_audit_in(
    tx: &Connection,
    key: &AuditKey,
    last: Option<(i64, Vec<u8>)>,
    record: &AuditRecord,
) -> StoreResult<(i64, Vec<u8>)> {
    let (seq, previous) = match last {
        None => (1, audit::GENESIS.to_vec()),
        Some((seq, hash)) => (seq + 1, hash),
    };
    let hash = audit::record_hash(&previous, seq, record);
    let mac = audit::record_mac(key, &hash);
    tx.execute(
        "INSERT INTO audit (seq, at, user_id, device_id, role, action, target, ip, outcome, hash, mac)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            seq,
            record.at,
            record.user_id,
            record.device_id,
            record.role,
            record.action,
            record.target,
            record.ip,
            record.outcome,
            &hash[..],
            &mac[..]
        ],
    )?;
    Ok((seq, hash.to_vec()))
}

/// Members are listed by role, then id (as `OTHERS_IN_CONVERSATIONS` sorts).
fn member_order(member: &Member) -> (&str, &str) {
    (member.role.as_str(), &member.user_id)
}

fn envelope_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Envelope> {
    Ok(Envelope {
        id: r.get(0)?,
        conversation_id: r.get(1)?,
        sender_device: r.get(2)?,
        recipient_device: r.get(3)?,
        body: r.get(4)?,
        created_at: r.get(5)?,
    })
}

/// Revokes a device in `tx`: its token stops working, its prekeys are
/// withdrawn, the envelopes queued for it deleted and the unused
/// invitations it made withdrawn. Whether it was live.
fn revoke_in(tx: &Transaction<'_>, device_id: &str, now: i64) -> StoreResult<bool> {
    let updated = tx.execute(
        "UPDATE devices SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
        params![now, device_id],
    )?;
    tx.execute(
        "DELETE FROM one_time_prekeys WHERE device_id = ?1",
        params![device_id],
    )?;
    tx.execute(
        "DELETE FROM prekey_bundles WHERE device_id = ?1",
        params![device_id],
    )?;
    tx.execute(
        "DELETE FROM envelopes WHERE recipient_device = ?1",
        params![device_id],
    )?;
    tx.execute(
        "DELETE FROM invitations WHERE created_by = ?1 AND used_at IS NULL",
        params![device_id],
    )?;
    Ok(updated == 1)
}

/// A device list version as stored: 8 bytes, big-endian (SQLite's integers
/// are signed; versions are not).
fn version_of(bytes: &[u8]) -> StoreResult<u64> {
    let bytes: [u8; 8] = bytes
        .try_into()
        .map_err(|_| StoreError("a stored device list version is not 8 bytes".into()))?;
    Ok(u64::from_be_bytes(bytes))
}

#[cfg(test)]
mod tests;
