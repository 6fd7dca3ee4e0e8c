use super::*;
use crate::account::Account;
use crate::agreement::tests::LOW_ORDER_POINTS;
use crate::error::ErrorCode;
use proptest::prelude::*;

/// Bob publishes a bundle with one-time prekeys; Alice starts a session and
/// sends "hello"; Bob accepts it.
fn established() -> (Account, Account, Session, Session) {
    let alice = Account::new().unwrap();
    let mut bob = Account::new().unwrap();
    bob.generate_one_time_prekeys(5).unwrap();
    let mut a = Session::initiate(alice.identity(), &bob.prekey_bundle(), None).unwrap();
    let first = a.encrypt(b"hello").unwrap();
    let accepted = bob.accept_session(&first, |_| true).unwrap();
    assert_eq!(accepted.plaintext.to_vec(), b"hello");
    (alice, bob, a, accepted.session)
}

fn code<T: core::fmt::Debug>(result: Result<T, SessionError>) -> &'static str {
    result.unwrap_err().code()
}

#[test]
fn conversation_both_ways_with_a_ratchet_step_each_turn() {
    let (alice, bob, mut a, mut b) = established();
    assert_eq!(a.session_id(), b.session_id());
    assert_eq!(a.peer_identity(), bob.public_identity());
    assert_eq!(b.peer_identity(), alice.public_identity());
    let mut last_ratchet_key = [0u8; 32];
    for turn in 0..20 {
        let (sender, receiver) = if turn % 2 == 0 {
            (&mut b, &mut a)
        } else {
            (&mut a, &mut b)
        };
        let text = format!("turn {turn}");
        let message = sender.encrypt(text.as_bytes()).unwrap();
        let ratchet_key: [u8; 32] = message[10..42].try_into().unwrap();
        if turn > 1 {
            assert_ne!(ratchet_key, last_ratchet_key, "new ratchet key every turn");
        }
        last_ratchet_key = ratchet_key;
        assert_eq!(
            receiver.decrypt(&message).unwrap().to_vec(),
            text.as_bytes()
        );
    }
}

#[test]
fn initiator_sends_prekey_messages_until_the_first_reply() {
    let alice = Account::new().unwrap();
    let mut bob = Account::new().unwrap();
    let mut a = Session::initiate(alice.identity(), &bob.prekey_bundle(), None).unwrap();
    let m1 = a.encrypt(b"one").unwrap();
    let m2 = a.encrypt(b"two").unwrap();
    assert_eq!(m1[1], b'P');
    assert_eq!(m2[1], b'P');
    assert!(a.is_awaiting_reply());
    // The second message arrives first and starts the session.
    let mut b = bob.accept_session(&m2, |_| true).unwrap();
    assert_eq!(b.plaintext.to_vec(), b"two");
    assert_eq!(b.session.decrypt(&m1).unwrap().to_vec(), b"one");
    let reply = b.session.encrypt(b"got both").unwrap();
    assert_eq!(reply[1], b'M');
    assert_eq!(a.decrypt(&reply).unwrap().to_vec(), b"got both");
    assert!(!a.is_awaiting_reply());
    assert_eq!(a.encrypt(b"three").unwrap()[1], b'M');
}

#[test]
fn out_of_order_within_and_across_chains() {
    let (_, _, mut a, mut b) = established();
    let a1: Vec<_> = (0..5)
        .map(|i| a.encrypt(format!("a{i}").as_bytes()).unwrap())
        .collect();
    assert_eq!(b.decrypt(&a1[3]).unwrap().to_vec(), b"a3");
    let b1 = b.encrypt(b"b0").unwrap();
    assert_eq!(a.decrypt(&b1).unwrap().to_vec(), b"b0");
    let a2 = a.encrypt(b"next chain").unwrap();
    assert_eq!(b.decrypt(&a2).unwrap().to_vec(), b"next chain");
    // Late messages from the previous chain still decrypt, each once.
    for i in [4, 0, 2, 1] {
        assert_eq!(
            b.decrypt(&a1[i]).unwrap().to_vec(),
            format!("a{i}").as_bytes()
        );
    }
    assert_eq!(code(b.decrypt(&a1[0])), "replayed_message");
    assert_eq!(code(b.decrypt(&a1[3])), "replayed_message");
}

#[test]
fn replayed_message_is_rejected_and_the_session_carries_on() {
    let (_, _, mut a, mut b) = established();
    let m = a.encrypt(b"take 2 tablets").unwrap();
    assert_eq!(b.decrypt(&m).unwrap().to_vec(), b"take 2 tablets");
    assert_eq!(code(b.decrypt(&m)), "replayed_message");
    let next = a.encrypt(b"after replay").unwrap();
    assert_eq!(b.decrypt(&next).unwrap().to_vec(), b"after replay");
}

#[test]
fn every_bit_flip_is_rejected_and_changes_nothing() {
    let (_, _, mut a, mut b) = established();
    let reply = b.encrypt(b"reply").unwrap();
    a.decrypt(&reply).unwrap().to_vec();
    let message = a.encrypt(b"BP 120/80").unwrap();
    for bit in 0..message.len() * 8 {
        let mut tampered = message.clone();
        tampered[bit / 8] ^= 1 << (bit % 8);
        let got = code(b.decrypt(&tampered));
        let allowed: &[&str] = match bit / 8 {
            0 => &["unsupported_version"],
            1 => &["malformed_message"],
            2..=9 => &["wrong_session"],
            10..=41 => &["decrypt_failed", "non_contributory_key"],
            // Counters: a flipped high bit can jump past the skip cap.
            42..=49 => &["decrypt_failed", "too_many_skipped"],
            _ => &["decrypt_failed"],
        };
        assert!(allowed.contains(&got), "bit {bit}: {got}");
    }
    assert_eq!(b.decrypt(&message).unwrap().to_vec(), b"BP 120/80");
}

#[test]
fn every_bit_flip_of_a_prekey_message_is_refused_without_consuming_anything() {
    let alice = Account::new().unwrap();
    let mut bob = Account::new().unwrap();
    bob.generate_one_time_prekeys(1).unwrap();
    let mut a = Session::initiate(alice.identity(), &bob.prekey_bundle(), None).unwrap();
    let first = a.encrypt(b"first contact").unwrap();
    for bit in (0..first.len() * 8).step_by(3) {
        let mut tampered = first.clone();
        tampered[bit / 8] ^= 1 << (bit % 8);
        assert!(
            bob.accept_session(&tampered, |_| true).is_err(),
            "bit {bit}"
        );
        assert_eq!(bob.one_time_prekey_count(), 1, "bit {bit}");
    }
    assert_eq!(
        bob.accept_session(&first, |_| true)
            .unwrap()
            .plaintext
            .to_vec(),
        b"first contact"
    );
    assert_eq!(bob.one_time_prekey_count(), 0);
}

#[test]
fn jump_beyond_the_skip_cap_is_refused_and_nothing_is_stored() {
    let (_, _, mut a, mut b) = established();
    let held: Vec<_> = (0..=MAX_SKIPPED_PER_CHAIN)
        .map(|i| a.encrypt(format!("m{i}").as_bytes()).unwrap())
        .collect();
    let beyond = a.encrypt(b"too far").unwrap();
    // "hello" was counter 0; `beyond` is counter MAX + 2: a jump of MAX + 1.
    assert_eq!(code(b.decrypt(&beyond)), "too_many_skipped");
    assert_eq!(b.state.skipped.len(), 0);
    // Exactly at the cap is accepted.
    let last = held.last().unwrap();
    assert_eq!(
        b.decrypt(last).unwrap().to_vec(),
        format!("m{MAX_SKIPPED_PER_CHAIN}").as_bytes()
    );
    assert_eq!(b.state.skipped.len(), MAX_SKIPPED_PER_CHAIN as usize);
    assert_eq!(b.decrypt(&held[0]).unwrap().to_vec(), b"m0");
    assert_eq!(b.decrypt(&beyond).unwrap().to_vec(), b"too far");
}

#[test]
fn skipped_store_evicts_the_oldest_beyond_the_total_cap() {
    let (_, _, mut a, mut b) = established();
    let mut oldest = None;
    // Three chains of 900 skipped keys each: 2700 > MAX_SKIPPED_TOTAL.
    for round in 0..3 {
        let chain: Vec<_> = (0..901).map(|_| a.encrypt(b"x").unwrap()).collect();
        if round == 0 {
            oldest = Some(chain[0].clone());
        }
        b.decrypt(chain.last().unwrap()).unwrap().to_vec();
        let reply = b.encrypt(b"ack").unwrap();
        a.decrypt(&reply).unwrap().to_vec();
    }
    assert_eq!(b.state.skipped.len(), MAX_SKIPPED_TOTAL);
    assert_eq!(code(b.decrypt(&oldest.unwrap())), "replayed_message");
    let fresh = a.encrypt(b"still fine").unwrap();
    assert_eq!(b.decrypt(&fresh).unwrap().to_vec(), b"still fine");
}

#[test]
fn altered_prekey_fields_are_rejected_by_an_existing_session() {
    let (_, _, mut a, mut b) = established();
    let second = a.encrypt(b"second prekey message").unwrap();
    assert_eq!(second[1], b'P');
    for bit in 16..(message::PREKEY_HEADER_LEN * 8) {
        let mut tampered = second.clone();
        tampered[bit / 8] ^= 1 << (bit % 8);
        let got = code(b.decrypt(&tampered));
        assert!(
            ["wrong_session", "malformed_message"].contains(&got),
            "bit {bit}: {got}"
        );
    }
    assert_eq!(
        b.decrypt(&second).unwrap().to_vec(),
        b"second prekey message"
    );
    // The initiator never accepts a prekey message into its own session.
    let reflected = second.clone();
    assert_eq!(code(a.decrypt(&reflected)), "wrong_session");
}

#[test]
fn message_for_another_session_is_rejected() {
    let (_, _, mut a, mut b) = established();
    let (_, _, mut other, _) = established();
    let foreign = other.encrypt(b"not yours").unwrap();
    assert_eq!(code(b.decrypt(&foreign)), "wrong_session");
    let good = a.encrypt(b"yours").unwrap();
    assert_eq!(b.decrypt(&good).unwrap().to_vec(), b"yours");
}

#[test]
fn structural_defects_get_their_own_codes() {
    let (_, _, mut a, mut b) = established();
    let m = a.encrypt(b"x").unwrap();
    assert_eq!(code(b.decrypt(&[])), "empty_message");
    for len in 1..m.len() {
        assert_eq!(code(b.decrypt(&m[..len])), "truncated_message", "len {len}");
    }
    let mut version = m.clone();
    version[0] = 7;
    assert_eq!(code(b.decrypt(&version)), "unsupported_version");
    let huge = vec![1u8; MAX_SESSION_ENVELOPE_LEN + 1];
    assert_eq!(code(b.decrypt(&huge)), "envelope_too_large");
    assert_eq!(
        a.encrypt(&vec![0; MAX_SESSION_MESSAGE_LEN + 1])
            .unwrap_err()
            .code(),
        "message_too_large"
    );
    let largest = a.encrypt(&vec![7; MAX_SESSION_MESSAGE_LEN]).unwrap();
    assert!(largest.len() <= MAX_SESSION_ENVELOPE_LEN);
    assert_eq!(b.decrypt(&m).unwrap().to_vec(), b"x");
    assert_eq!(
        b.decrypt(&largest).unwrap().to_vec(),
        vec![7; MAX_SESSION_MESSAGE_LEN]
    );
}

#[test]
fn low_order_ratchet_keys_are_refused() {
    let (_, _, mut a, mut b) = established();
    a.decrypt(&b.encrypt(b"reply").unwrap()).unwrap().to_vec();
    let m = a.encrypt(b"x").unwrap();
    assert_eq!(m[1], b'M');
    for point in LOW_ORDER_POINTS {
        let mut bad = m.clone();
        bad[10..42].copy_from_slice(&hex::decode(point).unwrap());
        assert_eq!(code(b.decrypt(&bad)), "non_contributory_key", "{point}");
    }
    assert_eq!(b.decrypt(&m).unwrap().to_vec(), b"x");
}

#[test]
fn padding_hides_message_length() {
    let (_, _, mut a, _) = established();
    let short = a.encrypt(b"ok").unwrap();
    let longer = a.encrypt(&[b'a'; 200]).unwrap();
    assert_eq!(short.len(), longer.len());
}

#[test]
fn counter_exhaustion_is_an_error_not_a_wrap() {
    let (_, _, mut a, _) = established();
    if let Some(chain) = a.state.sending.as_mut() {
        chain.counter = u32::MAX;
    }
    assert_eq!(a.encrypt(b"x").unwrap_err().code(), "counter_exhausted");
}

#[test]
fn forward_secrecy_earlier_messages_cannot_be_decrypted_from_later_state() {
    let (_, _, mut a, b) = established();
    let mut b = b;
    let key = StorageKey::from_bytes([9; 32]);
    let sent: Vec<_> = (0..4)
        .map(|i| a.encrypt(format!("m{i}").as_bytes()).unwrap())
        .collect();
    for m in &sent {
        b.decrypt(m).unwrap().to_vec();
    }
    // Everything Bob's device holds after message N, as an attacker would
    // find it on disk.
    let captured = b.export(&key).unwrap();
    for m in &sent {
        let mut stolen = Session::import(&key, &captured).unwrap();
        assert_eq!(code(stolen.decrypt(m)), "replayed_message");
    }
    // The X3DH-era first message is out of reach too.
    let mut stolen = Session::import(&key, &captured).unwrap();
    assert!(stolen.state.skipped.len() == 0);
    assert!(stolen.decrypt(&sent[0]).is_err());
}

#[test]
fn post_compromise_recovery_after_both_sides_ratchet() {
    let (_, _, mut a, mut b) = established();
    let key = StorageKey::from_bytes([3; 32]);
    // The thief copies Bob's whole state.
    let mut thief = Session::import(&key, &b.export(&key).unwrap()).unwrap();

    // Right after the theft the thief reads along.
    let compromised = a.encrypt(b"before recovery").unwrap();
    assert_eq!(
        thief.decrypt(&compromised).unwrap().to_vec(),
        b"before recovery"
    );
    assert_eq!(
        b.decrypt(&compromised).unwrap().to_vec(),
        b"before recovery"
    );

    // Alice takes a DH ratchet step on Bob's reply; Bob takes one on hers.
    let reply = b.encrypt(b"bob replies").unwrap();
    assert_eq!(a.decrypt(&reply).unwrap().to_vec(), b"bob replies");
    let alice_stepped = a.encrypt(b"alice stepped").unwrap();
    assert_eq!(
        b.decrypt(&alice_stepped).unwrap().to_vec(),
        b"alice stepped"
    );
    let bob_stepped = b.encrypt(b"bob stepped").unwrap();
    assert_eq!(a.decrypt(&bob_stepped).unwrap().to_vec(), b"bob stepped");

    // Both sides have now ratcheted with keys made after the theft: the
    // thief's copy (which also sees every message go by) is locked out.
    let _ = thief.decrypt(&alice_stepped);
    for text in [&b"healed"[..], b"still private", b"and again"] {
        let m = a.encrypt(text).unwrap();
        assert!(thief.decrypt(&m).is_err());
        assert_eq!(b.decrypt(&m).unwrap().to_vec(), text);
    }
}

#[test]
fn export_import_mid_conversation_carries_on() {
    let (_, _, mut a, b) = established();
    let key = StorageKey::from_bytes([1; 32]);
    let pending = a.encrypt(b"in flight").unwrap();
    let mut b = Session::import(&key, &b.export(&key).unwrap()).unwrap();
    let mut a = Session::import(&key, &a.export(&key).unwrap()).unwrap();
    assert_eq!(b.decrypt(&pending).unwrap().to_vec(), b"in flight");
    let reply = b.encrypt(b"restored").unwrap();
    assert_eq!(a.decrypt(&reply).unwrap().to_vec(), b"restored");
}

#[test]
fn wrong_storage_key_and_tampered_export_are_errors() {
    let (_, _, a, _) = established();
    let blob = a.export(&StorageKey::from_bytes([1; 32])).unwrap();
    let wrong = Session::import(&StorageKey::from_bytes([2; 32]), &blob).unwrap_err();
    assert_eq!(wrong.code(), "pickle_decrypt_failed");
    let mut tampered = blob.clone();
    *tampered.last_mut().unwrap() ^= 1;
    let err = Session::import(&StorageKey::from_bytes([1; 32]), &tampered).unwrap_err();
    assert_eq!(err.code(), "pickle_decrypt_failed");
    let account_blob = Account::new()
        .unwrap()
        .export(&StorageKey::from_bytes([1; 32]))
        .unwrap();
    let err = Session::import(&StorageKey::from_bytes([1; 32]), &account_blob).unwrap_err();
    assert_eq!(err.code(), "malformed_pickle");
}

#[test]
fn debug_output_is_redacted() {
    let (alice, _, a, _) = established();
    let debug = format!("{a:?} {alice:?}");
    assert!(debug.contains("[redacted]"));
    let seed = alice.identity().secret_seeds().0;
    assert!(!debug.contains(&hex::encode(seed.as_ref())));
}

#[test]
fn inspect_and_session_id_of_show_only_public_fields() {
    let (alice, _, mut a, _) = established();
    let m = a.encrypt(b"private").unwrap();
    let summary = inspect(&m).unwrap();
    assert_eq!(summary.kind, "prekey");
    assert_eq!(summary.initiator, Some(alice.public_identity().to_text()));
    assert_eq!(summary.session_id, hex::encode(a.session_id()));
    assert_eq!(session_id_of(&m).unwrap(), a.session_id());
    assert_eq!(summary.total_len, m.len());
}

/// One step of a random two-party schedule.
#[derive(Debug, Clone)]
enum Step {
    /// Alice (true) or Bob (false) sends a new message.
    Send(bool),
    /// Deliver the pending message at this index (modulo), removing it.
    Deliver(usize),
    /// Deliver it but keep it pending, so it arrives again later.
    Duplicate(usize),
    /// Drop it.
    Drop(usize),
    /// Export and re-import the receiving party's state.
    Reload(bool),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => any::<bool>().prop_map(Step::Send),
        3 => any::<usize>().prop_map(Step::Deliver),
        1 => any::<usize>().prop_map(Step::Duplicate),
        1 => any::<usize>().prop_map(Step::Drop),
        1 => any::<bool>().prop_map(Step::Reload),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random interleavings of sending, delivery in any order, duplication,
    /// loss and reloads: every delivered message decrypts exactly once to its
    /// plaintext; every second delivery is refused as a replay.
    #[test]
    fn random_schedules_deliver_each_message_exactly_once(steps in proptest::collection::vec(step(), 1..120)) {
        let alice = Account::new().unwrap();
        let mut bob = Account::new().unwrap();
        bob.generate_one_time_prekeys(1).unwrap();
        let key = StorageKey::from_bytes([5; 32]);
        let mut a = Session::initiate(alice.identity(), &bob.prekey_bundle(), None).unwrap();
        let mut b: Option<Session> = None;
        // (to_bob, plaintext, ciphertext, delivered_before)
        let mut pending: Vec<(bool, Vec<u8>, Vec<u8>, bool)> = Vec::new();
        let mut sent = 0u32;

        for step in steps {
            match step {
                Step::Send(from_alice) => {
                    let text = format!("msg {sent}").into_bytes();
                    sent += 1;
                    if from_alice {
                        pending.push((true, text.clone(), a.encrypt(&text).unwrap(), false));
                    } else if let Some(b) = b.as_mut() {
                        pending.push((false, text.clone(), b.encrypt(&text).unwrap(), false));
                    }
                }
                Step::Deliver(i) | Step::Duplicate(i) if !pending.is_empty() => {
                    let index = i % pending.len();
                    let keep = matches!(step, Step::Duplicate(_));
                    let (to_bob, text, message, delivered) = pending[index].clone();
                    let result = if to_bob {
                        match b.as_mut() {
                            Some(session) => session.decrypt(&message),
                            None => bob.accept_session(&message, |_| true).map(|accepted| {
                                b = Some(accepted.session);
                                accepted.plaintext
                            }),
                        }
                    } else {
                        a.decrypt(&message)
                    };
                    if delivered {
                        prop_assert_eq!(result.unwrap_err().code(), "replayed_message");
                    } else {
                        prop_assert_eq!(result.unwrap().to_vec(), text);
                    }
                    if keep {
                        pending[index].3 = true;
                    } else {
                        pending.remove(index);
                    }
                }
                Step::Drop(i) if !pending.is_empty() => {
                    let index = i % pending.len();
                    pending.remove(index);
                }
                Step::Reload(alice_side) => {
                    if alice_side {
                        a = Session::import(&key, &a.export(&key).unwrap()).unwrap();
                    } else if let Some(session) = b.take() {
                        b = Some(Session::import(&key, &session.export(&key).unwrap()).unwrap());
                    }
                }
                _ => {}
            }
        }
    }
}

#[test]
fn protocol_md_limits_match_the_code() {
    use crate::account::{
        MAX_BASE_KEYS_PER_SIGNED_PREKEY, MAX_ONE_TIME_PREKEYS, SIGNED_PREKEY_GRACE_SECS,
        SIGNED_PREKEY_ROTATION_SECS,
    };
    use crate::test_support::protocol_md_limit;
    assert_eq!(
        protocol_md_limit("MAX_SESSION_MESSAGE_LEN").unwrap(),
        MAX_SESSION_MESSAGE_LEN
    );
    assert_eq!(
        protocol_md_limit("MAX_SESSION_ENVELOPE_LEN").unwrap(),
        MAX_SESSION_ENVELOPE_LEN
    );
    assert_eq!(
        protocol_md_limit("MAX_SKIPPED_PER_CHAIN").unwrap(),
        MAX_SKIPPED_PER_CHAIN as usize
    );
    assert_eq!(
        protocol_md_limit("MAX_SKIPPED_TOTAL").unwrap(),
        MAX_SKIPPED_TOTAL
    );
    assert_eq!(
        protocol_md_limit("MAX_RETIRED_CHAINS").unwrap(),
        ratchet::MAX_RETIRED_CHAINS
    );
    assert_eq!(
        protocol_md_limit("MAX_BASE_KEYS_PER_SIGNED_PREKEY").unwrap(),
        MAX_BASE_KEYS_PER_SIGNED_PREKEY
    );
    assert_eq!(
        protocol_md_limit("MAX_SESSIONS_PER_INITIATOR").unwrap(),
        crate::account::MAX_SESSIONS_PER_INITIATOR
    );
    assert_eq!(
        protocol_md_limit("MAX_PREVIOUS_SIGNED_PREKEYS").unwrap(),
        crate::account::MAX_PREVIOUS_SIGNED_PREKEYS
    );
    assert_eq!(
        protocol_md_limit("SIGNED_PREKEY_ROTATION_SECS").unwrap() as u64,
        SIGNED_PREKEY_ROTATION_SECS
    );
    assert_eq!(
        protocol_md_limit("SIGNED_PREKEY_GRACE_SECS").unwrap() as u64,
        SIGNED_PREKEY_GRACE_SECS
    );
    assert!(
        crate::test_support::PROTOCOL_MD
            .contains(&format!("`MAX_ONE_TIME_PREKEYS` = {MAX_ONE_TIME_PREKEYS}"))
    );
}

/// A normal message's body (ciphertext without tag) and its nonce.
fn body_and_nonce(message: &[u8]) -> (&[u8], &[u8]) {
    let header = message::MESSAGE_HEADER_LEN;
    (
        &message[header..message.len() - crate::aead::TAG_LEN],
        &message[header - crate::aead::XNONCE_LEN..header],
    )
}

#[test]
fn rolled_back_state_never_reuses_key_and_nonce() {
    let key = StorageKey::from_bytes([9; 32]);
    let (_, _, mut a, mut b) = established();
    // One reply so that Alice sends normal (not prekey) messages.
    a.decrypt(&b.encrypt(b"ok").unwrap()).unwrap();
    let saved = a.export(&key).unwrap();
    let receiver_saved = b.export(&key).unwrap();

    // Two tabs restore the same state and each sends a different message
    // at the same chain position.
    let p1 = b"biopsy: benign.";
    let p2 = b"biopsy: malign.";
    let c1 = a.encrypt(p1).unwrap();
    let mut tab = Session::import(&key, &saved).unwrap();
    let c2 = tab.encrypt(p2).unwrap();
    assert_eq!(c1[..50], c2[..50], "same session, ratchet key and counter");

    let (body1, nonce1) = body_and_nonce(&c1);
    let (body2, nonce2) = body_and_nonce(&c2);
    assert_ne!(nonce1, nonce2, "every message draws a fresh nonce");
    let cipher_xor: Vec<u8> = body1.iter().zip(body2).map(|(x, y)| x ^ y).collect();
    let plain_xor: Vec<u8> = padding::padded(p1)
        .iter()
        .zip(padding::padded(p2).iter())
        .map(|(x, y)| x ^ y)
        .collect();
    assert_eq!(cipher_xor.len(), plain_xor.len());
    assert_ne!(cipher_xor, plain_xor, "no shared keystream");
    // Not even a shared keystream block: no 64-byte block of the XOR matches.
    for (c, p) in cipher_xor.chunks(64).zip(plain_xor.chunks(64)) {
        assert_ne!(c, p);
    }

    // Each decrypts exactly once at a receiver, and the second one to arrive
    // at the same position is a replay.
    assert_eq!(b.decrypt(&c1).unwrap().to_vec(), p1);
    assert_eq!(code(b.decrypt(&c1)), "replayed_message");
    assert_eq!(code(b.decrypt(&c2)), "replayed_message");
    let mut other = Session::import(&key, &receiver_saved).unwrap();
    assert_eq!(other.decrypt(&c2).unwrap().to_vec(), p2);
    assert_eq!(code(other.decrypt(&c2)), "replayed_message");
}

#[test]
fn version_1_session_messages_are_refused() {
    let (_, _, mut a, mut b) = established();
    let mut message = a.encrypt(b"hi").unwrap();
    message[0] = 1;
    assert_eq!(code(b.decrypt(&message)), "unsupported_version");
    message[0] = SESSION_MESSAGE_VERSION;
    assert_eq!(b.decrypt(&message).unwrap().to_vec(), b"hi");
}

#[test]
fn accept_refuses_an_identity_the_caller_did_not_approve() {
    let alice = Account::new().unwrap();
    let carol = Account::new().unwrap();
    let mut bob = Account::new().unwrap();
    bob.generate_one_time_prekeys(1).unwrap();
    let mut a = Session::initiate(alice.identity(), &bob.prekey_bundle(), None).unwrap();
    let first = a.encrypt(b"from alice").unwrap();

    let mut seen = None;
    let refused = bob.accept_session(&first, |initiator| {
        seen = Some(initiator.clone());
        initiator == carol.public_identity()
    });
    assert_eq!(refused.unwrap_err().code(), "identity_mismatch");
    assert_eq!(seen.as_ref(), Some(alice.public_identity()));
    // Nothing was committed: the one-time prekey is still there and the
    // same message is accepted once the caller approves.
    assert_eq!(bob.one_time_prekey_count(), 1);
    let accepted = bob
        .accept_session(&first, |initiator| initiator == alice.public_identity())
        .unwrap();
    assert_eq!(accepted.plaintext.to_vec(), b"from alice");
    assert_eq!(bob.one_time_prekey_count(), 0);
}

#[test]
fn approval_sees_only_authenticated_identities() {
    // Mallory starts a session but writes Alice's identity into the prekey
    // message: it fails authentication before the caller is ever asked.
    let alice = Account::new().unwrap();
    let mallory = Account::new().unwrap();
    let mut bob = Account::new().unwrap();
    let mut m = Session::initiate(mallory.identity(), &bob.prekey_bundle(), None).unwrap();
    let mut forged = m.encrypt(b"I am Alice").unwrap();
    forged[2..67].copy_from_slice(alice.public_identity().as_bytes());
    let mut asked = false;
    let result = bob.accept_session(&forged, |_| {
        asked = true;
        true
    });
    assert!(result.is_err());
    assert!(
        !asked,
        "the decision is never made on an unauthenticated claim"
    );
}

#[test]
fn accepted_session_debug_shows_no_plaintext() {
    let alice = Account::new().unwrap();
    let mut bob = Account::new().unwrap();
    let mut a = Session::initiate(alice.identity(), &bob.prekey_bundle(), None).unwrap();
    let accepted = bob
        .accept_session(&a.encrypt(b"Marker-debug-plaintext").unwrap(), |_| true)
        .unwrap();
    let shown = format!("{accepted:?}");
    assert!(!shown.contains("Marker"), "{shown}");
    assert!(!shown.contains("77, 97, 114"), "{shown}"); // "Mar" as bytes
    assert!(shown.contains("redacted"), "{shown}");
}

/// What `Session::encrypt` would send for `plaintext`, without its length
/// check: input an honest sender never makes.
fn encrypt_unchecked(session: &mut Session, plaintext: &[u8]) -> Vec<u8> {
    let (header, message_key) = session.state.next_sending_key().unwrap();
    let nonce = [7u8; crate::aead::XNONCE_LEN];
    let header_bytes = header.to_bytes(&session.session_id, &nonce);
    let ciphertext = message_key
        .seal(
            &nonce,
            &session.aad(&header_bytes),
            &padding::padded(plaintext),
        )
        .unwrap_or_else(|_| panic!("seal"));
    let mut out = Vec::new();
    if let Some(fields) = &session.pending_prekey {
        out.extend_from_slice(&fields.to_bytes());
    }
    out.extend_from_slice(&header_bytes);
    out.extend_from_slice(&ciphertext);
    out
}

#[test]
fn a_peer_cannot_send_more_than_the_message_limit() {
    // padded(MAX) has room for more than MAX bytes; the receiver enforces the
    // limit too, changes nothing, and the next good message decrypts.
    let (_, _, mut a, mut b) = established();
    assert!(
        padding::padded_len(MAX_SESSION_MESSAGE_LEN + 1)
            == padding::padded_len(MAX_SESSION_MESSAGE_LEN)
    );
    let over = encrypt_unchecked(&mut a, &vec![b'x'; MAX_SESSION_MESSAGE_LEN + 1]);
    assert!(over.len() <= MAX_SESSION_ENVELOPE_LEN);
    assert_eq!(code(b.decrypt(&over)), "message_too_large");
    let at = a.encrypt(&vec![b'y'; MAX_SESSION_MESSAGE_LEN]).unwrap();
    assert_eq!(b.decrypt(&at).unwrap().len(), MAX_SESSION_MESSAGE_LEN);
    // And as the first message of a session.
    let alice = Account::new().unwrap();
    let mut bob = Account::new().unwrap();
    let mut s = Session::initiate(alice.identity(), &bob.prekey_bundle(), None).unwrap();
    let first = encrypt_unchecked(&mut s, &vec![b'z'; MAX_SESSION_MESSAGE_LEN + 1]);
    assert_eq!(
        bob.accept_session(&first, |_| true).unwrap_err().code(),
        "message_too_large"
    );
}
