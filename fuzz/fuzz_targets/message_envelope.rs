//! `MessageEnvelope::from_bytes` (`PROTOCOL.md` §8.5), the plaintext inside
//! every session message: never panics; whatever parses encodes back to
//! exactly the input. The same for a stored sequence window
//! (`SequenceWindow::from_bytes`).
#![no_main]

use careseal::{MessageEnvelope, SequenceWindow};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = MessageEnvelope::from_bytes(data) {
        let bytes = envelope.to_bytes().expect("a parsed envelope encodes");
        assert_eq!(bytes.as_slice(), data);
    }
    if let Ok(window) = SequenceWindow::from_bytes(data) {
        assert_eq!(window.to_bytes().as_slice(), data);
    }
});
