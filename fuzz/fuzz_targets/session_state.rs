//! The session state decoder behind `Session::import`, on decrypted state
//! bytes (`PROTOCOL.md` §6.2): never panics; whatever decodes encodes to a
//! state of the same length that decodes to itself (a fixed point); and the
//! decoded session can encrypt and decrypt without panicking.
#![no_main]

use careseal::fuzzing::{decode_session_state, session_state};
use careseal_fuzz::{begin_iteration, conversation};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let pending = &conversation().pending;
    begin_iteration();
    let Ok(mut session) = decode_session_state(data) else {
        return;
    };
    let state = session_state(&session).expect("state");
    assert_eq!(state.len(), data.len());
    let again = decode_session_state(&state).expect("an encoded state decodes");
    assert_eq!(session_state(&again).expect("state"), state);

    let _ = session.encrypt(b"after import");
    for genuine in pending {
        let _ = session.decrypt(&genuine.message);
    }
});
