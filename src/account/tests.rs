use super::*;
use crate::error::ErrorCode;

fn start(from: &Account, to: &PreKeyBundle, text: &[u8]) -> (Session, Vec<u8>) {
    let mut session = Session::initiate(from.identity(), to, None).unwrap();
    let first = session.encrypt(text).unwrap();
    (session, first)
}

#[test]
fn one_time_prekey_is_consumed_exactly_once() {
    let mut bob = Account::new().unwrap();
    bob.generate_one_time_prekeys(1).unwrap();
    let bundle = bob.prekey_bundle();
    let (_, from_alice) = start(&Account::new().unwrap(), &bundle, b"alice");
    let (_, from_carol) = start(&Account::new().unwrap(), &bundle, b"carol");
    assert_eq!(bob.accept_session(&from_alice).unwrap().plaintext, b"alice");
    assert_eq!(bob.one_time_prekey_count(), 0);
    // The same one-time prekey in a second session start is refused.
    let err = bob.accept_session(&from_carol).unwrap_err();
    assert_eq!(err.code(), "unknown_one_time_prekey");
    // A bundle without one-time prekeys still works (X3DH without DH4).
    let (_, again) = start(&Account::new().unwrap(), &bob.prekey_bundle(), b"dave");
    assert_eq!(bob.accept_session(&again).unwrap().plaintext, b"dave");
}

#[test]
fn replayed_prekey_message_is_refused() {
    let mut bob = Account::new().unwrap();
    let (_, first) = start(&Account::new().unwrap(), &bob.prekey_bundle(), b"hi");
    bob.accept_session(&first).unwrap();
    assert_eq!(
        bob.accept_session(&first).unwrap_err().code(),
        "replayed_message"
    );
}

#[test]
fn accept_refuses_normal_messages_and_unknown_prekeys() {
    let mut bob = Account::new().unwrap();
    let (mut a, first) = start(&Account::new().unwrap(), &bob.prekey_bundle(), b"hi");
    let mut b = bob.accept_session(&first).unwrap().session;
    a.decrypt(&b.encrypt(b"reply").unwrap()).unwrap();
    let normal = a.encrypt(b"normal").unwrap();
    assert_eq!(
        bob.accept_session(&normal).unwrap_err().code(),
        "not_a_prekey_message"
    );

    let mut stranger = Account::new().unwrap();
    let (_, first) = start(&Account::new().unwrap(), &stranger.prekey_bundle(), b"x");
    assert_eq!(
        bob.accept_session(&first).unwrap_err().code(),
        "unknown_signed_prekey"
    );
    assert!(stranger.accept_session(&first).is_ok());
}

#[test]
fn rotated_signed_prekey_still_accepts_old_bundles() {
    let mut bob = Account::new().unwrap();
    let old = bob.prekey_bundle();
    bob.rotate_signed_prekey().unwrap();
    let new = bob.prekey_bundle();
    assert_ne!(old.signed_prekey_id(), new.signed_prekey_id());
    let (_, via_old) = start(&Account::new().unwrap(), &old, b"old");
    let (_, via_new) = start(&Account::new().unwrap(), &new, b"new");
    assert_eq!(bob.accept_session(&via_old).unwrap().plaintext, b"old");
    assert_eq!(bob.accept_session(&via_new).unwrap().plaintext, b"new");
}

#[test]
fn one_time_prekey_cap_is_enforced() {
    let mut bob = Account::new().unwrap();
    bob.generate_one_time_prekeys(MAX_ONE_TIME_PREKEYS).unwrap();
    let err = bob.generate_one_time_prekeys(1).unwrap_err();
    assert_eq!(err.code(), "too_many_prekeys");
    assert_eq!(
        bob.prekey_bundle().one_time_prekeys().len(),
        MAX_ONE_TIME_PREKEYS_PER_BUNDLE
    );
}

#[test]
fn exported_account_accepts_sessions_from_bundles_published_before() {
    let key = StorageKey::from_bytes([4; 32]);
    let mut bob = Account::new().unwrap();
    bob.generate_one_time_prekeys(2).unwrap();
    let bundle = bob.prekey_bundle();
    let (_, first) = start(&Account::new().unwrap(), &bundle, b"after restart");
    let mut restored = Account::import(&key, &bob.export(&key).unwrap()).unwrap();
    assert_eq!(restored.public_identity(), bob.public_identity());
    assert_eq!(
        restored.accept_session(&first).unwrap().plaintext,
        b"after restart"
    );
    // Its replay memory survives an export too.
    let mut again = Account::import(&key, &restored.export(&key).unwrap()).unwrap();
    assert_eq!(
        again.accept_session(&first).unwrap_err().code(),
        "replayed_message"
    );
    assert_eq!(
        Account::import(&StorageKey::from_bytes([5; 32]), &bob.export(&key).unwrap())
            .unwrap_err()
            .code(),
        "pickle_decrypt_failed"
    );
}

#[test]
fn identity_export_round_trips() {
    let key = StorageKey::from_bytes([6; 32]);
    let id = Identity::generate().unwrap();
    let restored = Identity::import(&key, &id.export(&key).unwrap()).unwrap();
    assert_eq!(restored.public_identity(), id.public_identity());
    let envelope = crate::sealed::seal(id.public_identity(), b"x", None).unwrap();
    assert_eq!(
        crate::sealed::open(&restored, &envelope).unwrap().message(),
        b"x"
    );
}
