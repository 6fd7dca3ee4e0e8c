//! Session messages received by a device holding a real session and account
//! (`PROTOCOL.md` §5.6): `Session::decrypt`, `Account::accept_session`,
//! `session::inspect` and `session::session_id_of`.
//!
//! Never panics; the parsers agree on structural defects; nothing decrypts
//! or is accepted unless it is one of the genuine messages; and bad input
//! loses nothing: the session's and account's state is unchanged by any
//! input they refuse, and afterwards every genuine message still decrypts.
//!
//! The account is kept between runs while it is unchanged (importing costs
//! scalar multiplications), and the genuine new sessions are accepted for
//! real only after an input that was itself accepted: an unchanged account
//! accepts them, as the seed generator checks.
#![no_main]

use std::cell::RefCell;

use careseal::fuzzing::{account_state, session_state};
use careseal::session::{self, SESSION_ID_LEN};
use careseal::{Account, Session, SessionError};
use careseal_fuzz::{Genuine, accept, begin_iteration, conversation, storage_key};
use libfuzzer_sys::fuzz_target;

thread_local! {
    /// Bob's account, while no input has changed it.
    static ACCOUNT: RefCell<Option<Account>> = const { RefCell::new(None) };
}

fn hex(bytes: &[u8; SESSION_ID_LEN]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn is_one_of(genuine: &[Genuine], plaintext: &[u8]) -> bool {
    genuine.iter().any(|g| g.plaintext == plaintext)
}

fuzz_target!(|data: &[u8]| {
    let conversation = conversation();
    let key = storage_key();
    let mut session = Session::import(&key, &conversation.session).expect("fixture");
    let mut account = ACCOUNT
        .take()
        .unwrap_or_else(|| Account::import(&key, &conversation.account).expect("fixture"));
    begin_iteration();

    let id = session::session_id_of(data);
    match (session::inspect(data), &id) {
        (Ok(summary), Ok(id)) => {
            assert_eq!(summary.session_id, hex(id));
            assert_eq!(summary.total_len, data.len());
        }
        (Err(inspected), Err(structural)) => assert_eq!(inspected, *structural),
        // inspect also validates a prekey message's initiator identity.
        (Err(inspected), Ok(_)) => assert_eq!(inspected, SessionError::Malformed),
        (Ok(_), Err(structural)) => {
            panic!("inspect accepted what session_id_of refused: {structural:?}")
        }
    }

    let before = session_state(&session).expect("state");
    let decrypted = session.decrypt(data).map(|plaintext| plaintext.to_vec());
    match &decrypted {
        Ok(plaintext) => assert!(is_one_of(&conversation.pending, plaintext), "forgery"),
        Err(error) => {
            assert_eq!(session_state(&session).expect("state"), before, "{error:?}");
            if let Err(structural) = &id {
                assert_eq!(error, structural);
            }
        }
    }

    let before = account_state(&account).expect("state");
    let accepted = accept(&mut account, data).map(|accepted| accepted.plaintext.to_vec());
    match &accepted {
        Ok(plaintext) => {
            assert!(is_one_of(&conversation.newcomers, plaintext), "forgery");
            for genuine in &conversation.newcomers {
                if genuine.plaintext != *plaintext {
                    let accepted = accept(&mut account, &genuine.message)
                        .expect("a genuine new session is no longer accepted");
                    assert_eq!(*accepted.plaintext, genuine.plaintext);
                }
            }
        }
        Err(error) => {
            assert_eq!(account_state(&account).expect("state"), before, "{error:?}");
            if let Err(structural) = &id {
                assert_eq!(error, structural);
            }
            ACCOUNT.set(Some(account));
        }
    }

    for genuine in &conversation.pending {
        if decrypted.as_ref().ok() != Some(&genuine.plaintext) {
            assert_eq!(
                session
                    .decrypt(&genuine.message)
                    .map(|plaintext| plaintext.to_vec())
                    .as_ref(),
                Ok(&genuine.plaintext),
                "a genuine message no longer decrypts"
            );
        }
    }
});
