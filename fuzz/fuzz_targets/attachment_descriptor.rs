//! `AttachmentDescriptor::from_bytes` (`PROTOCOL.md` §7.5): never panics,
//! and whatever parses serialises back to exactly the input.
#![no_main]

use careseal::AttachmentDescriptor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(descriptor) = AttachmentDescriptor::from_bytes(data) {
        assert_eq!(descriptor.to_bytes().as_slice(), data);
    }
});
