//! `PreKeyBundle::from_bytes` and `from_base64` (`PROTOCOL.md` §4.2): never
//! panic; whatever parses serialises back to exactly the input, and rebuilding
//! it from its own one-time prekeys gives the same bundle.
#![no_main]

use careseal::PreKeyBundle;
use careseal::prekey::MAX_ONE_TIME_PREKEYS_PER_BUNDLE;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = PreKeyBundle::from_bytes(data) {
        assert_eq!(bundle.to_bytes(), data);
        let keys = bundle.one_time_prekeys();
        assert!(keys.len() <= MAX_ONE_TIME_PREKEYS_PER_BUNDLE);
        assert_eq!(bundle.with_one_time_prekeys(keys).as_ref(), Ok(&bundle));
        if let Some(first) = keys.first() {
            let single = bundle
                .with_one_time_prekey(Some(first.id))
                .expect("a bundle has its own one-time prekeys");
            assert_eq!(single.one_time_prekeys(), &[*first]);
        }
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(bundle) = PreKeyBundle::from_base64(text)
    {
        assert_eq!(bundle.to_base64(), text);
    }
});
