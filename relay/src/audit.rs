//! The append-only audit log: who did what, when, from where, and whether it
//! worked — never content. Each record's hash covers the previous record's
//! hash, so editing or deleting any record breaks the chain from there on.

use sha2::{Digest, Sha256};

use crate::store::AuditRecord;

/// The hash before the first record.
pub const GENESIS: [u8; 32] = [0; 32];

/// SHA-256 over the previous hash, the sequence number and every field,
/// each length-prefixed so no two records encode alike.
pub fn record_hash(previous: &[u8], seq: i64, record: &AuditRecord) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"careseal-relay audit v1");
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
