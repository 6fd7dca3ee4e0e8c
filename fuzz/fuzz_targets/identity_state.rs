//! The identity state decoder behind `Identity::import`, on decrypted state
//! bytes (`PROTOCOL.md` §6.2): never panics, and whatever decodes encodes
//! back to exactly the input.
#![no_main]

use careseal::fuzzing::{decode_identity_state, identity_state};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(identity) = decode_identity_state(data) {
        assert_eq!(identity_state(&identity).expect("state").as_slice(), data);
    }
});
