//! The account state decoder behind `Account::import`, on decrypted state
//! bytes (`PROTOCOL.md` §6.2): never panics; whatever decodes encodes to a
//! state that decodes to itself (a fixed point), of the same length when the
//! input was already in the current version (a version-1 state is rewritten
//! as version 2, which stores more per signed prekey); and the
//! decoded account can publish a bundle and accept a session without
//! panicking.
#![no_main]

use careseal::PreKeyBundle;
use careseal::fuzzing::{account_state, decode_account_state};
use careseal_fuzz::{accept, begin_iteration, conversation};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let newcomer = &conversation().newcomers[0].message;
    begin_iteration();
    let Ok(mut account) = decode_account_state(data) else {
        return;
    };
    let state = account_state(&account).expect("state");
    if data.first() == state.first() {
        assert_eq!(state.len(), data.len());
    }
    let again = decode_account_state(&state).expect("an encoded state decodes");
    assert_eq!(account_state(&again).expect("state"), state);

    let bundle = account.prekey_bundle().to_bytes();
    if let Ok(parsed) = PreKeyBundle::from_bytes(&bundle) {
        assert_eq!(parsed.to_bytes(), bundle);
    }
    let _ = accept(&mut account, newcomer);
});
