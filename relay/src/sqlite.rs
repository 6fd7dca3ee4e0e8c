//! The SQLite [`Store`]: one file, WAL journal, `synchronous = FULL`, so a
//! write that returned is on disk before the client hears about it.

use std::path::Path;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rusqlite::{Connection, OptionalExtension, params};

use crate::audit;
use crate::ids;
use crate::store::{
    AuditCheck, AuditRecord, BlobInfo, Conversation, DeviceAuth, Envelope, InvitationProblem,
    Member, Registered, Role, Store, StoreError, StoreResult, TakenPrekeys,
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
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, user_id TEXT, device_id TEXT, role TEXT,
  action TEXT NOT NULL, target TEXT, ip TEXT NOT NULL, outcome TEXT NOT NULL, hash BLOB NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
";

/// A SQLite-backed store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (and if needed creates) the database file.
    pub fn open(path: &Path) -> StoreResult<Self> {
        let conn = Connection::open(path)?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| StoreError("database lock poisoned".into()))?;
        f(&mut conn)
    }
}

fn role_of(text: String) -> StoreResult<Role> {
    Role::parse(&text).ok_or_else(|| StoreError(format!("unknown role {text}")))
}

impl Store for SqliteStore {
    fn create_invitation(
        &self,
        code_hash: &[u8],
        role: Role,
        inviter: Option<&str>,
        expires_at: i64,
    ) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO invitations (code_hash, role, inviter, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![code_hash, role.as_str(), inviter, expires_at],
            )?;
            Ok(())
        })
    }

    fn redeem_invitation(
        &self,
        code_hash: &[u8],
        now: i64,
        display_name: &str,
        token_hash: &[u8],
    ) -> StoreResult<Result<Registered, InvitationProblem>> {
        self.with(|c| {
            let tx = c.transaction()?;
            let row: Option<(String, Option<String>, i64, Option<i64>)> = tx
                .query_row(
                    "SELECT role, inviter, expires_at, used_at FROM invitations WHERE code_hash = ?1",
                    params![code_hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            let Some((role, inviter, expires_at, used_at)) = row else {
                return Ok(Err(InvitationProblem::Unknown));
            };
            if used_at.is_some() {
                return Ok(Err(InvitationProblem::Used));
            }
            if expires_at <= now {
                return Ok(Err(InvitationProblem::Expired));
            }
            let role = role_of(role)?;
            let user_id = ids::new_id("u")?;
            let device_id = ids::new_id("d")?;
            tx.execute(
                "INSERT INTO users (id, role, display_name, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![user_id, role.as_str(), display_name, now],
            )?;
            tx.execute(
                "INSERT INTO devices (id, user_id, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![device_id, user_id, token_hash, now],
            )?;
            let updated = tx.execute(
                "UPDATE invitations SET used_at = ?1, used_by = ?2 WHERE code_hash = ?3 AND used_at IS NULL",
                params![now, user_id, code_hash],
            )?;
            if updated != 1 {
                return Ok(Err(InvitationProblem::Used));
            }
            if let (Role::Patient, Some(inviter)) = (role, inviter) {
                let conversation = ids::new_id("c")?;
                tx.execute(
                    "INSERT INTO conversations (id, created_at) VALUES (?1, ?2)",
                    params![conversation, now],
                )?;
                for member in [&inviter, &user_id] {
                    tx.execute(
                        "INSERT INTO conversation_members (conversation_id, user_id) VALUES (?1, ?2)",
                        params![conversation, member],
                    )?;
                }
            }
            tx.commit()?;
            Ok(Ok(Registered {
                user_id,
                device_id,
                role,
            }))
        })
    }

    fn device_by_token(&self, token_hash: &[u8]) -> StoreResult<Option<(DeviceAuth, bool)>> {
        self.with(|c| {
            let row: Option<(String, String, String, Option<i64>)> = c
                .query_row(
                    "SELECT d.id, d.user_id, u.role, d.revoked_at FROM devices d JOIN users u ON u.id = d.user_id
                     WHERE d.token_hash = ?1",
                    params![token_hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
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

    fn revoke_device(&self, device_id: &str, now: i64) -> StoreResult<bool> {
        self.with(|c| {
            let tx = c.transaction()?;
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
            tx.commit()?;
            Ok(updated == 1)
        })
    }

    fn device_owner(&self, device_id: &str) -> StoreResult<Option<String>> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT user_id FROM devices WHERE id = ?1 AND revoked_at IS NULL",
                params![device_id],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    fn put_prekeys(
        &self,
        device_id: &str,
        base_bundle: &[u8],
        one_time: &[(u32, [u8; 32])],
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
            tx.commit()?;
            Ok(())
        })
    }

    fn take_prekeys(&self, device_id: &str) -> StoreResult<Option<TakenPrekeys>> {
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
            tx.commit()?;
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

    fn conversations_of(&self, user_id: &str) -> StoreResult<Vec<Conversation>> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT conversation_id FROM conversation_members WHERE user_id = ?1 ORDER BY conversation_id",
            )?;
            let ids: Vec<String> = stmt
                .query_map(params![user_id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut out = Vec::new();
            for id in ids {
                let mut members_stmt = c.prepare(
                    "SELECT u.id, u.role, u.display_name FROM conversation_members m JOIN users u ON u.id = m.user_id
                     WHERE m.conversation_id = ?1 ORDER BY u.role, u.id",
                )?;
                let members: Vec<(String, String, String)> = members_stmt
                    .query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<Result<_, _>>()?;
                let mut list = Vec::new();
                for (member, role, display_name) in members {
                    let mut devices_stmt = c.prepare(
                        "SELECT id FROM devices WHERE user_id = ?1 AND revoked_at IS NULL ORDER BY created_at, id",
                    )?;
                    let devices: Vec<String> = devices_stmt
                        .query_map(params![member], |r| r.get(0))?
                        .collect::<Result<_, _>>()?;
                    list.push(Member {
                        user_id: member,
                        role: role_of(role)?,
                        display_name,
                        devices,
                    });
                }
                out.push(Conversation { id, members: list });
            }
            Ok(out)
        })
    }

    fn is_member(&self, conversation_id: &str, user_id: &str) -> StoreResult<bool> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT 1 FROM conversation_members WHERE conversation_id = ?1 AND user_id = ?2",
                params![conversation_id, user_id],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
        })
    }

    fn post_envelope(
        &self,
        conversation_id: &str,
        sender_device: &str,
        recipient_device: &str,
        body: &[u8],
        now: i64,
    ) -> StoreResult<i64> {
        self.with(|c| {
            c.execute(
                "INSERT INTO envelopes (conversation_id, sender_device, recipient_device, body, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![conversation_id, sender_device, recipient_device, body, now],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    fn mailbox(&self, device_id: &str, limit: usize) -> StoreResult<Vec<Envelope>> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT id, conversation_id, sender_device, recipient_device, body, created_at FROM envelopes
                 WHERE recipient_device = ?1 ORDER BY id LIMIT ?2",
            )?;
            let rows = stmt
                .query_map(params![device_id, limit as i64], envelope_row)?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
    }

    fn acknowledge(&self, device_id: &str, ids: &[i64]) -> StoreResult<usize> {
        self.with(|c| {
            let tx = c.transaction()?;
            let mut removed = 0;
            for id in ids {
                removed += tx.execute(
                    "DELETE FROM envelopes WHERE id = ?1 AND recipient_device = ?2",
                    params![id, device_id],
                )?;
            }
            tx.commit()?;
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
    ) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO blobs (id, conversation_id, uploader, body, sha256, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, conversation_id, uploader, body, sha256_hex, now],
            )?;
            Ok(())
        })
    }

    fn get_blob(&self, id: &str) -> StoreResult<Option<(String, Vec<u8>)>> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT conversation_id, body FROM blobs WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
        })
    }

    fn stored_in(&self, conversation_id: &str) -> StoreResult<(Vec<Envelope>, Vec<BlobInfo>)> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT id, conversation_id, sender_device, recipient_device, body, created_at FROM envelopes
                 WHERE conversation_id = ?1 ORDER BY id DESC LIMIT 50",
            )?;
            let envelopes = stmt
                .query_map(params![conversation_id], envelope_row)?
                .collect::<Result<_, _>>()?;
            let mut stmt = c.prepare(
                "SELECT id, length(body), sha256, substr(body, 1, 120) FROM blobs
                 WHERE conversation_id = ?1 ORDER BY created_at DESC LIMIT 50",
            )?;
            let blobs = stmt
                .query_map(params![conversation_id], |r| {
                    let head: Vec<u8> = r.get(3)?;
                    Ok(BlobInfo {
                        id: r.get(0)?,
                        size: r.get(1)?,
                        sha256: r.get(2)?,
                        head: STANDARD.encode(head),
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok((envelopes, blobs))
        })
    }

    fn append_audit(&self, record: &AuditRecord) -> StoreResult<()> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let last: Option<(i64, Vec<u8>)> = tx
                .query_row("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            let (seq, previous) = match last {
                None => (1, audit::GENESIS.to_vec()),
                Some((seq, hash)) => (seq + 1, hash),
            };
            let hash = audit::record_hash(&previous, seq, record);
            tx.execute(
                "INSERT INTO audit (seq, at, user_id, device_id, role, action, target, ip, outcome, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
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
                    &hash[..]
                ],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn verify_audit(&self) -> StoreResult<AuditCheck> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT seq, at, user_id, device_id, role, action, target, ip, outcome, hash FROM audit ORDER BY seq",
            )?;
            let mut rows = stmt.query([])?;
            let mut previous = audit::GENESIS.to_vec();
            let mut expected_seq = 1;
            let mut records = 0;
            while let Some(row) = rows.next()? {
                let seq: i64 = row.get(0)?;
                let record = AuditRecord {
                    at: row.get(1)?,
                    user_id: row.get(2)?,
                    device_id: row.get(3)?,
                    role: row.get(4)?,
                    action: row.get(5)?,
                    target: row.get(6)?,
                    ip: row.get(7)?,
                    outcome: row.get(8)?,
                };
                let stored: Vec<u8> = row.get(9)?;
                if seq != expected_seq || audit::record_hash(&previous, seq, &record)[..] != stored[..] {
                    return Ok(AuditCheck::BrokenAt { seq: expected_seq.min(seq) });
                }
                previous = stored;
                expected_seq += 1;
                records += 1;
            }
            Ok(AuditCheck::Intact { records })
        })
    }
}

fn envelope_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Envelope> {
    let body: Vec<u8> = r.get(4)?;
    Ok(Envelope {
        id: r.get(0)?,
        conversation_id: r.get(1)?,
        sender_device: r.get(2)?,
        recipient_device: r.get(3)?,
        body: STANDARD.encode(body),
        created_at: r.get(5)?,
    })
}
