//! The append-only audit log: who did what, when, from where, and whether it
//! worked — never content.
//!
//! Three things make it tamper-evident against whoever can write the
//! database (docs/RELAY.md, "Audit log"):
//! - each record's hash covers the previous record's hash, so editing or
//!   deleting a record breaks the chain from there on ([`record_hash`]);
//! - each record carries an HMAC of its hash under a key kept outside the
//!   database ([`keys::AuditKey`]), so a recomputed chain does not verify;
//! - signed checkpoints of the chain's head, appended to a file outside the
//!   database ([`checkpoint`]), so a truncated tail does not verify.

pub mod checkpoint;
pub mod coverage;
pub mod keys;
pub mod verify;

use std::net::IpAddr;

use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::ids;
use crate::store::{AuditRecord, DeviceAuth};

/// The hash before the first record.
pub const GENESIS: [u8; 32] = [0; 32];

/// Domain separation of a record's hash.
const RECORD_HASH_CONTEXT: &[u8] = b"careseal-relay audit v1";

/// Domain separation of a record's MAC.
const RECORD_MAC_CONTEXT: &[u8] = b"careseal-relay audit mac v1";

/// SHA-256 over the previous hash, the sequence number and every field,
/// each length-prefixed so no two records encode alike.
pub fn record_hash(previous: &[u8], seq: i64, record: &AuditRecord) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(RECORD_HASH_CONTEXT);
    hash.update(previous);
    hash.update(seq.to_be_bytes());
    hash.update(record.at.to_be_bytes());
    for field in [
        record.user_id.as_deref(),
        record.device_id.as_deref(),
        record.role.as_deref(),
        Some(record.action.as_str()),
        record.target.as_deref(),
        Some(record.ip.as_str()),
        Some(record.outcome.as_str()),
    ] {
        match field {
            None => hash.update([0u8]),
            Some(text) => {
                hash.update([1u8]);
                hash.update((text.len() as u64).to_be_bytes());
                hash.update(text.as_bytes());
            }
        }
    }
    hash.finalize().into()
}

/// HMAC-SHA256 of a record's hash under the audit key. The hash covers the
/// sequence number, the previous hash and every field, so the MAC does too.
pub fn record_mac(key: &keys::AuditKey, hash: &[u8]) -> [u8; 32] {
    key.mac(&[RECORD_MAC_CONTEXT, hash])
}

/// Whether `mac` is the MAC of `hash` (compared in constant time).
pub fn record_mac_matches(key: &keys::AuditKey, hash: &[u8], mac: &[u8]) -> bool {
    key.verify(&[RECORD_MAC_CONTEXT, hash], mac)
}

/// A record of `who` doing `action` to `target` from `ip`. The target is
/// kept only if it has the shape of an id the relay issues
/// ([`ids::is_issued_id`]): whatever else a client put in a path never
/// reaches the append-only log.
pub fn record(
    who: Option<&DeviceAuth>,
    ip: IpAddr,
    action: &str,
    target: Option<&str>,
    outcome: Result<(), ApiError>,
) -> AuditRecord {
    AuditRecord {
        at: crate::state::now_ms(),
        user_id: who.map(|w| w.user_id.clone()),
        device_id: who.map(|w| w.device_id.clone()),
        role: who.map(|w| w.role.as_str().to_string()),
        action: action.to_string(),
        target: target.filter(|t| ids::is_issued_id(t)).map(str::to_string),
        ip: ip.to_string(),
        outcome: match outcome {
            Ok(()) => "ok".to_string(),
            Err(e) => e.code.to_string(),
        },
    }
}
