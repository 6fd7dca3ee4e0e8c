//! `sealed::open` by a fixed recipient (`PROTOCOL.md` §3): never panics; a
//! structural defect gets the same code from `open` and `inspect`; whatever
//! opens was well formed and holds at most `MAX_SEALED_MESSAGE_LEN` bytes.
#![no_main]

use careseal::sealed::{self, MAX_SEALED_MESSAGE_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let summary = sealed::inspect(data);
    match sealed::open(careseal_fuzz::recipient(), data) {
        Ok(opened) => {
            assert!(opened.message().len() <= MAX_SEALED_MESSAGE_LEN);
            let summary = summary.expect("an envelope that opens is well formed");
            assert_eq!(summary.total_len, data.len());
        }
        Err(error) => {
            if let Err(structural) = summary {
                assert_eq!(error, structural);
            }
        }
    }
});
