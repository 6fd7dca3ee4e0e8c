//! Random identifiers and secrets, and their hashes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::store::StoreError;

/// A random id with a readable prefix (`u_…`, `d_…`, `c_…`, `b_…`).
pub fn new_id(prefix: &str) -> Result<String, StoreError> {
    Ok(format!("{prefix}_{}", random_text(12)?))
}

/// `bytes` random bytes as unpadded base64url.
pub fn random_text(bytes: usize) -> Result<String, StoreError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| StoreError(format!("random: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// SHA-256 of a bearer token or invitation code: what the database keeps.
/// (Both are 256-bit or 128-bit random values, so a fast hash suffices.)
pub fn secret_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}
