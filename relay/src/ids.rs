//! Random identifiers and secrets, and their hashes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::store::StoreError;

/// The prefixes of the ids the relay issues: users, devices,
/// conversations, blobs, envelopes.
pub const ID_PREFIXES: [&str; 5] = ["u", "d", "c", "b", "e"];

/// Random bytes in an id: 96 bits, 16 characters of base64url.
pub const ID_RANDOM_BYTES: usize = 12;

/// Characters after the prefix and `_` of an issued id.
const ID_RANDOM_CHARS: usize = (ID_RANDOM_BYTES * 4).div_ceil(3);

/// A random id with a readable prefix (`u_…`, `d_…`, `c_…`, `b_…`, `e_…`).
pub fn new_id(prefix: &str) -> Result<String, StoreError> {
    Ok(format!("{prefix}_{}", random_text(ID_RANDOM_BYTES)?))
}

/// Whether `text` has the shape of an id [`new_id`] issues: a known prefix,
/// `_`, and exactly [`ID_RANDOM_CHARS`] base64url characters. Only such
/// text is ever written to the audit log as a target.
pub fn is_issued_id(text: &str) -> bool {
    let Some((prefix, random)) = text.split_once('_') else {
        return false;
    };
    ID_PREFIXES.contains(&prefix)
        && random.len() == ID_RANDOM_CHARS
        && random
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_the_shape_of_issued_ids_is_accepted() {
        for prefix in ID_PREFIXES {
            let id = new_id(prefix).unwrap();
            assert!(is_issued_id(&id), "{id}");
            assert!(!is_issued_id(&format!("{id}A")), "one character over");
            assert!(!is_issued_id(&id[..id.len() - 1]), "one character short");
        }
        for bad in [
            "",
            "d_",
            "x_AAAAAAAAAAAAAAAA",
            "d_AAAAAAAAAAAAAAA=",
            "d_AAAAAAAA AAAAAAA",
            "Bearer AAAAAAAAAAAAAAAAAAAA",
            "d_AAAAAAAAAAAAAAAé",
        ] {
            assert!(!is_issued_id(bad), "{bad}");
        }
    }
}
