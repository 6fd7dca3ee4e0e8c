//! The shape of user, device and conversation ids (`PROTOCOL.md` §8.1).
//!
//! The relay issues ids (`u_…`, `d_…`, `c_…` and 16 base64url characters)
//! and accepts any text of this shape; the core checks the same rule
//! wherever an id is signed or carried inside a ciphertext, so an id that
//! passes here is safe to show and to log.

/// Longest id, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// Whether `id` is a well-formed id: 1 to [`MAX_ID_LEN`] characters of
/// `A–Z a–z 0–9 _ -` (the relay's `text::is_id`).
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_relay_rule() {
        assert!(is_valid_id("u_AAAAAAAAAAAAAAAA"));
        assert!(is_valid_id("d_-_09azAZ"));
        assert!(is_valid_id(&"a".repeat(MAX_ID_LEN)));
        assert!(!is_valid_id(&"a".repeat(MAX_ID_LEN + 1)));
        for bad in ["", "d_a b", "d_a=", "d_é", "d_a/b", "d_a.b", "d_a\n"] {
            assert!(!is_valid_id(bad), "{bad:?}");
        }
    }
}
