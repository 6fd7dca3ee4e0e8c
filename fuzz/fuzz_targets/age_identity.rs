//! `AttachmentKey::from_age_identity` (`PROTOCOL.md` §7.1), for identity
//! strings a user pastes: never panics, and whatever parses is the same key
//! as its canonical (upper-case) form, which is the input up to case and
//! surrounding whitespace.
#![no_main]

use careseal::AttachmentKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = AttachmentKey::from_age_identity(text) {
        let canonical = key.to_age_identity();
        assert_eq!(canonical.as_str(), text.trim().to_uppercase());
        let again = AttachmentKey::from_age_identity(&canonical).expect("canonical form");
        assert_eq!(again.to_bytes(), key.to_bytes());
    }
});
