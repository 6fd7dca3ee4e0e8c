//! The device list parser behind `SignedDeviceList::from_bytes`
//! (`PROTOCOL.md` §8.3), past its signature check: never panics; whatever
//! parses is canonical (encodes back to exactly the input), and signing it
//! gives a list that verifies and parses to the same list. With a
//! signature, `from_bytes` never panics either, and neither does reading a
//! stored pin (`PinnedDeviceList::from_bytes`), whose every success encodes
//! back to the input.
#![no_main]

use careseal::fuzzing::decode_device_list_body;
use careseal::{PinnedDeviceList, SignedDeviceList, UserIdentity};
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
    if let Ok(pinned) = PinnedDeviceList::from_bytes(data) {
        assert_eq!(pinned.to_bytes(), data);
    }
});
