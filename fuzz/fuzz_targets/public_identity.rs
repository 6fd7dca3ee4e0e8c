//! `PublicIdentity::from_bytes` and `from_text` (`PROTOCOL.md` §1.1): never
//! panic, and whatever parses encodes back to exactly the input, so every
//! identity has one accepted encoding in each form.
#![no_main]

use careseal::PublicIdentity;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(identity) = PublicIdentity::from_bytes(data) {
        assert_eq!(identity.as_bytes().as_slice(), data);
        assert_eq!(
            PublicIdentity::from_text(&identity.to_text()).as_ref(),
            Ok(&identity)
        );
        assert_eq!(identity.fingerprint().to_string().len(), 6 * 5 + 5);
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(identity) = PublicIdentity::from_text(text)
    {
        assert_eq!(identity.to_text(), text);
        assert_eq!(
            PublicIdentity::from_bytes(identity.as_bytes()).as_ref(),
            Ok(&identity)
        );
    }
});
