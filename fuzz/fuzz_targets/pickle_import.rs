//! `Identity`, `Account` and `Session` import under a fixed storage key
//! (`PROTOCOL.md` §6): never panic, and what imports (only genuine blobs:
//! they are authenticated) exports back to the same state.
#![no_main]

use careseal::fuzzing::{account_state, identity_state, session_state};
use careseal::{Account, Identity, Session};
use careseal_fuzz::storage_key;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = storage_key();
    if let Ok(identity) = Identity::import(&key, data) {
        let again = Identity::import(&key, &identity.export(&key).expect("export"));
        assert_eq!(
            identity_state(&again.expect("re-import")).expect("state"),
            identity_state(&identity).expect("state")
        );
    }
    if let Ok(account) = Account::import(&key, data) {
        let again = Account::import(&key, &account.export(&key).expect("export"));
        assert_eq!(
            account_state(&again.expect("re-import")).expect("state"),
            account_state(&account).expect("state")
        );
    }
    if let Ok(session) = Session::import(&key, data) {
        let again = Session::import(&key, &session.export(&key).expect("export"));
        assert_eq!(
            session_state(&again.expect("re-import")).expect("state"),
            session_state(&session).expect("state")
        );
    }
});
