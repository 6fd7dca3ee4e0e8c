//! The device list parser behind `SignedDeviceList::from_bytes`
//! (`PROTOCOL.md` §8.3), past its signature check: never panics; whatever
//! parses is canonical (encodes back to exactly the input), and signing it
//! gives a list that verifies and parses to the same list. With a
//! signature, `from_bytes` never panics either.
#![no_main]

use careseal::fuzzing::decode_device_list_body;
use careseal::{SignedDeviceList, UserIdentity};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn user() -> &'static UserIdentity {
    static USER: OnceLock<UserIdentity> = OnceLock::new();
    USER.get_or_init(|| UserIdentity::generate().expect("user key"))
}

fuzz_target!(|data: &[u8]| {
    let user = user();
    if let Ok(list) = decode_device_list_body(data) {
        assert_eq!(list.to_bytes(), data);
        let signed = list.sign(user);
        let again = SignedDeviceList::from_bytes(signed.as_bytes(), user.public_identity())
            .expect("a signed list verifies");
        assert_eq!(again.list(), &list);
    }
    let _ = SignedDeviceList::from_bytes(data, user.public_identity());
});
