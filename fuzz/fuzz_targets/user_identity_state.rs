//! The user identity state decoder behind `UserIdentity::import`, on
//! decrypted state bytes (`PROTOCOL.md` §6.2, §8.2): never panics, and
//! whatever decodes encodes back to exactly the input.
#![no_main]

use careseal::fuzzing::{decode_user_identity_state, user_identity_state};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(identity) = decode_user_identity_state(data) {
        assert_eq!(
            user_identity_state(&identity).expect("state").as_slice(),
            data
        );
    }
});
