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
    assert_eq!(accepted(&mut bob, &from_alice), b"alice");
    assert_eq!(bob.one_time_prekey_count(), 0);
    // The same one-time prekey in a second session start is refused.
    let err = bob.accept_session(&from_carol, |_| true).unwrap_err();
    assert_eq!(err.code(), "unknown_one_time_prekey");
    // A bundle without one-time prekeys still works (X3DH without DH4).
    let (_, again) = start(&Account::new().unwrap(), &bob.prekey_bundle(), b"dave");
    assert_eq!(accepted(&mut bob, &again), b"dave");
}

/// Accepts a first message from anyone; returns its plaintext.
fn accepted(bob: &mut Account, first: &[u8]) -> Vec<u8> {
    bob.accept_session(first, |_| true)
        .unwrap()
        .plaintext
        .to_vec()
}

/// The code of a refused first message.
fn refusal(bob: &mut Account, first: &[u8]) -> &'static str {
    bob.accept_session(first, |_| true).unwrap_err().code()
}

/// `bob`'s state in the version-1 layout (PROTOCOL.md §6.2), with no
/// previous signed prekey or one-time prekeys, remembering `base_keys`.
fn version_1_state(bob: &Account, base_keys: &[[u8; 32]]) -> zeroize::Zeroizing<Vec<u8>> {
    use crate::pickle::codec::Writer;
    let mut w = Writer::new();
    w.u8(1);
    let (agreement, signing) = bob.identity.secret_seeds();
    w.bytes(agreement.as_ref()).bytes(signing.as_ref());
    let spk = &bob.signed_prekeys.current;
    w.u32(spk.id)
        .bytes(spk.secret.as_bytes())
        .bytes(&spk.signature);
    w.bool(false)
        .count(0)
        .u32(bob.next_prekey_id)
        .count(base_keys.len());
    for key in base_keys {
        w.bytes(key);
    }
    w.finish()
}

/// Starts `count` sessions with `bob` (no one-time prekeys) and accepts each.
fn accept_many(bob: &mut Account, count: usize) {
    let bundle = bob.prekey_bundle();
    for _ in 0..count {
        // A different initiator each time (one may start only
        // MAX_SESSIONS_PER_INITIATOR).
        let (_, first) = start(&Account::new().unwrap(), &bundle, b"x");
        bob.accept_session(&first, |_| true).unwrap();
    }
}

/// Fills the current signed prekey's replay memory up to `len` with made-up
/// base keys (as if that many sessions had started).
fn fill_replay_memory(bob: &mut Account, len: usize) {
    let current = &mut bob.signed_prekeys.current;
    let mut i = 0u32;
    while current.accepted.len() < len {
        let mut base_key = [0xee; 32];
        base_key[..4].copy_from_slice(&i.to_be_bytes());
        current.accepted.insert(base_key, [0xee; 8]);
        i += 1;
    }
}

#[test]
fn prekey_message_replay_is_refused_after_many_later_session_starts() {
    // A relay withholds one-time prekeys and replays an old first message
    // after more session starts than the old 1000-entry memory held.
    let mut bob = Account::new().unwrap();
    let (_, first) = start(&Account::new().unwrap(), &bob.prekey_bundle(), b"hi");
    bob.accept_session(&first, |_| true).unwrap();
    accept_many(&mut bob, 1001);
    assert_eq!(refusal(&mut bob, &first), "replayed_message");
}

#[test]
fn full_replay_memory_refuses_new_sessions_until_rotation() {
    let mut bob = Account::new().unwrap();
    let (_, early) = start(&Account::new().unwrap(), &bob.prekey_bundle(), b"early");
    bob.accept_session(&early, |_| true).unwrap();
    // Real session starts up to the bound (the rest of the memory filled
    // directly, to keep the test fast): the last one still fits.
    fill_replay_memory(&mut bob, MAX_BASE_KEYS_PER_SIGNED_PREKEY - 1);
    accept_many(&mut bob, 1);
    assert_eq!(
        bob.signed_prekeys.current.accepted.len(),
        MAX_BASE_KEYS_PER_SIGNED_PREKEY
    );
    // One over: refused, and nothing forgotten.
    let (_, over) = start(&Account::new().unwrap(), &bob.prekey_bundle(), b"over");
    assert_eq!(refusal(&mut bob, &over), "signed_prekey_exhausted");
    // Maintenance rotates a full signed prekey at once, whatever its age.
    assert_eq!(
        bob.maintain_signed_prekeys(1).unwrap(),
        PreKeyMaintenance::Rotated
    );
    let (_, fresh) = start(&Account::new().unwrap(), &bob.prekey_bundle(), b"fresh");
    assert_eq!(accepted(&mut bob, &fresh), b"fresh");
    // The replaced key still remembers its base keys.
    assert_eq!(refusal(&mut bob, &early), "replayed_message");
}

#[test]
fn maintenance_rotates_weekly_and_retires_after_the_grace_period() {
    let start_time = 1_800_000_000;
    let mut bob = Account::new().unwrap();
    let first_bundle = bob.prekey_bundle();
    // The first call starts the clock, and says so (export the account).
    assert_eq!(
        bob.maintain_signed_prekeys(start_time).unwrap(),
        PreKeyMaintenance::ClockStarted
    );
    let due = start_time + SIGNED_PREKEY_ROTATION_SECS;
    assert_eq!(
        bob.maintain_signed_prekeys(due - 1).unwrap(),
        PreKeyMaintenance::Unchanged
    );
    assert_eq!(
        bob.maintain_signed_prekeys(due).unwrap(),
        PreKeyMaintenance::Rotated
    );
    assert_ne!(
        bob.prekey_bundle().signed_prekey_id(),
        first_bundle.signed_prekey_id()
    );
    // Within the grace period the old bundle still works.
    let (_, late) = start(&Account::new().unwrap(), &first_bundle, b"late");
    assert_eq!(accepted(&mut bob, &late), b"late");
    let (_, later) = start(&Account::new().unwrap(), &first_bundle, b"later");
    assert_eq!(
        bob.maintain_signed_prekeys(due + SIGNED_PREKEY_GRACE_SECS - 1)
            .unwrap(),
        PreKeyMaintenance::Unchanged
    );
    assert_eq!(
        bob.maintain_signed_prekeys(due + SIGNED_PREKEY_GRACE_SECS)
            .unwrap(),
        PreKeyMaintenance::Rotated
    );
    assert_eq!(refusal(&mut bob, &later), "unknown_signed_prekey");
    // A clock that jumped ahead once and came back restarts the clocks at
    // the earlier time rather than stalling rotation until the real time
    // catches up.
    let now = due + SIGNED_PREKEY_GRACE_SECS;
    assert_eq!(
        bob.maintain_signed_prekeys(now + 100 * SIGNED_PREKEY_ROTATION_SECS)
            .unwrap(),
        PreKeyMaintenance::Rotated
    );
    assert_eq!(
        bob.maintain_signed_prekeys(now).unwrap(),
        PreKeyMaintenance::ClockStarted
    );
    assert_eq!(
        bob.maintain_signed_prekeys(now + SIGNED_PREKEY_ROTATION_SECS)
            .unwrap(),
        PreKeyMaintenance::Rotated
    );
}

#[test]
fn version_1_account_state_is_read_and_keeps_its_replay_memory() {
    let bob = Account::new().unwrap();
    let base_key = [0x42; 32];
    let restored = persist::decode(&version_1_state(&bob, &[base_key])).unwrap();
    assert_eq!(restored.public_identity(), bob.public_identity());
    assert!(
        restored
            .signed_prekeys
            .current
            .accepted
            .contains_key(&base_key)
    );
    assert!(!restored.signed_prekeys.current.closed);
    assert_eq!(restored.signed_prekeys.current.since, 0);
    // And it is written back as version 2.
    assert_eq!(persist::encode(&restored)[0], 2);
}

#[test]
fn replayed_prekey_message_is_refused() {
    let mut bob = Account::new().unwrap();
    let (_, first) = start(&Account::new().unwrap(), &bob.prekey_bundle(), b"hi");
    bob.accept_session(&first, |_| true).unwrap();
    assert_eq!(refusal(&mut bob, &first), "replayed_message");
}

#[test]
fn accept_refuses_normal_messages_and_unknown_prekeys() {
    let mut bob = Account::new().unwrap();
    let (mut a, first) = start(&Account::new().unwrap(), &bob.prekey_bundle(), b"hi");
    let mut b = bob.accept_session(&first, |_| true).unwrap().session;
    a.decrypt(&b.encrypt(b"reply").unwrap()).unwrap().to_vec();
    let normal = a.encrypt(b"normal").unwrap();
    assert_eq!(refusal(&mut bob, &normal), "not_a_prekey_message");

    let mut stranger = Account::new().unwrap();
    let (_, first) = start(&Account::new().unwrap(), &stranger.prekey_bundle(), b"x");
    assert_eq!(refusal(&mut bob, &first), "unknown_signed_prekey");
    assert!(stranger.accept_session(&first, |_| true).is_ok());
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
    assert_eq!(accepted(&mut bob, &via_old), b"old");
    assert_eq!(accepted(&mut bob, &via_new), b"new");
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
    assert_eq!(accepted(&mut restored, &first), b"after restart");
    // Its replay memory survives an export too.
    let mut again = Account::import(&key, &restored.export(&key).unwrap()).unwrap();
    assert_eq!(refusal(&mut again, &first), "replayed_message");
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

#[test]
fn a_full_version_1_replay_list_closes_its_signed_prekeys() {
    // Version 1 evicted the oldest of 1000 base keys: a first message whose
    // base key was evicted would replay. Such a state accepts no new
    // session on its old signed prekeys, and maintenance replaces them.
    let mut bob = Account::new().unwrap();
    let (_, first) = start(
        &Account::new().unwrap(),
        &bob.prekey_bundle(),
        b"take 2 tablets",
    );
    bob.accept_session(&first, |_| true).unwrap();
    let others: Vec<[u8; 32]> = (0..1000u32)
        .map(|i| {
            let mut key = [0x11; 32];
            key[..4].copy_from_slice(&i.to_be_bytes());
            key
        })
        .collect();
    let mut restored = persist::decode(&version_1_state(&bob, &others)).unwrap();
    assert_eq!(refusal(&mut restored, &first), "signed_prekey_exhausted");
    let old_bundle = restored.prekey_bundle();
    assert_eq!(
        restored.maintain_signed_prekeys(1_000).unwrap(),
        PreKeyMaintenance::Rotated
    );
    assert_eq!(refusal(&mut restored, &first), "signed_prekey_exhausted");
    // New sessions use the new signed prekey; the closed one is deleted at
    // the next maintenance, whatever the grace period.
    let (_, fresh) = start(&Account::new().unwrap(), &restored.prekey_bundle(), b"new");
    assert_eq!(accepted(&mut restored, &fresh), b"new");
    assert_eq!(
        restored.maintain_signed_prekeys(1_001).unwrap(),
        PreKeyMaintenance::RetiredPrevious
    );
    let (_, late) = start(&Account::new().unwrap(), &old_bundle, b"late");
    assert_eq!(refusal(&mut restored, &late), "unknown_signed_prekey");
}

#[test]
fn one_initiator_cannot_fill_a_signed_prekeys_memory() {
    let mut bob = Account::new().unwrap();
    let mallory = Account::new().unwrap();
    let bundle = bob.prekey_bundle();
    for _ in 0..MAX_SESSIONS_PER_INITIATOR {
        let (_, first) = start(&mallory, &bundle, b"x");
        bob.accept_session(&first, |_| true).unwrap();
    }
    // One over: refused, and nothing committed.
    let (_, over) = start(&mallory, &bundle, b"x");
    assert_eq!(refusal(&mut bob, &over), "too_many_sessions");
    assert_eq!(
        bob.signed_prekeys.current.accepted.len(),
        MAX_SESSIONS_PER_INITIATOR
    );
    // Anyone else still starts a session.
    let (_, carol) = start(&Account::new().unwrap(), &bundle, b"carol");
    assert_eq!(accepted(&mut bob, &carol), b"carol");
}

#[test]
fn early_rotation_never_deletes_a_key_in_its_grace_period() {
    let mut bob = Account::new().unwrap();
    bob.maintain_signed_prekeys(1_000).unwrap();
    let first_bundle = bob.prekey_bundle();
    let (_, late) = start(
        &Account::new().unwrap(),
        &first_bundle,
        b"late but in grace",
    );
    // Floods fill the replay memory again and again within minutes.
    let mut rotations = 0;
    for minute in 1..=10u64 {
        fill_replay_memory(&mut bob, MAX_BASE_KEYS_PER_SIGNED_PREKEY / 4 * 3);
        if bob.maintain_signed_prekeys(1_000 + 60 * minute).unwrap() == PreKeyMaintenance::Rotated {
            rotations += 1;
        }
    }
    assert_eq!(rotations, MAX_PREVIOUS_SIGNED_PREKEYS);
    assert_eq!(
        bob.signed_prekeys.previous.len(),
        MAX_PREVIOUS_SIGNED_PREKEYS
    );
    // The first key is still there: a message sent to it in its grace
    // period is read.
    assert_eq!(accepted(&mut bob, &late), b"late but in grace");
    // A full current key refuses new sessions until a slot frees up.
    fill_replay_memory(&mut bob, MAX_BASE_KEYS_PER_SIGNED_PREKEY);
    let (_, refused) = start(&Account::new().unwrap(), &bob.prekey_bundle(), b"x");
    assert_eq!(refusal(&mut bob, &refused), "signed_prekey_exhausted");
    assert_eq!(
        bob.maintain_signed_prekeys(1_060 + SIGNED_PREKEY_GRACE_SECS)
            .unwrap(),
        PreKeyMaintenance::Rotated
    );
}

#[test]
fn maintenance_reports_exactly_what_changed() {
    let mut bob = Account::new().unwrap();
    let before = persist::encode(&bob);
    assert_eq!(
        bob.maintain_signed_prekeys(5).unwrap(),
        PreKeyMaintenance::ClockStarted
    );
    assert_ne!(persist::encode(&bob), before);
    let started = persist::encode(&bob);
    assert_eq!(
        bob.maintain_signed_prekeys(6).unwrap(),
        PreKeyMaintenance::Unchanged
    );
    assert_eq!(persist::encode(&bob), started);
}

#[test]
fn duplicate_signed_prekey_ids_in_state_are_malformed() {
    let mut bob = Account::new().unwrap();
    bob.rotate_signed_prekey().unwrap();
    bob.signed_prekeys.previous[0].id = bob.signed_prekeys.current.id;
    assert_eq!(
        persist::decode(&persist::encode(&bob)).unwrap_err().code(),
        "malformed_pickle"
    );
}
