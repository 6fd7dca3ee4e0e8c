//! The authenticated contents of sealed envelopes (`PROTOCOL.md` §3.4–3.5):
//! the input is encrypted to the fixed recipient as an envelope's payload
//! (`careseal::fuzzing::seal_payload`), so the checks `sealed::open` runs
//! after the AEAD (padding, sender flag and identity, the message bound, the
//! signature) see the fuzzer's bytes. Never panics; what opens is at most
//! `MAX_SEALED_MESSAGE_LEN` bytes and is exactly an anonymous payload's
//! message (a sender signature cannot be forged).
#![no_main]

use careseal::SealedError;
use careseal::fuzzing::seal_payload;
use careseal::sealed::{self, MAX_SEALED_MESSAGE_LEN};
use careseal_fuzz::{begin_iteration, recipient};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let recipient = recipient();
    begin_iteration();
    let envelope = seal_payload(recipient.public_identity(), data).expect("seal");
    match sealed::open(recipient, &envelope) {
        Ok(opened) => {
            let message = opened.message();
            assert!(message.len() <= MAX_SEALED_MESSAGE_LEN);
            assert!(opened.sender().is_none(), "a forged sender verified");
            assert_eq!(data.first(), Some(&0));
            assert_eq!(&data[1..1 + message.len()], message);
        }
        Err(error) => assert!(
            matches!(
                error,
                SealedError::Truncated
                    | SealedError::TooLarge
                    | SealedError::Malformed
                    | SealedError::MessageTooLarge
                    | SealedError::BadSignature
            ),
            "{error:?}"
        ),
    }
});
