use super::*;
use crate::account::Account;
use crate::device_list::{DeviceEntry, DeviceList, PinnedDeviceList};
use crate::error::ErrorCode;
use crate::identity::{Identity, PublicIdentity};
use crate::session::{MAX_SESSION_MESSAGE_LEN, Session};
use crate::test_support::protocol_md_vector;
use crate::user::UserIdentity;
use proptest::prelude::*;

fn device(n: u8) -> PublicIdentity {
    Identity::from_seeds([n; 32], [n.wrapping_add(100); 32])
        .public_identity()
        .clone()
}

fn context(device_id: &str, sequence: u64) -> MessageContext {
    MessageContext::new("c_clinic", "u_alice", device_id, sequence).unwrap()
}

/// Alice's list (laptop and phone), pinned under her user key.
fn alice_devices() -> PinnedDeviceList {
    pin(&DeviceList::new(
        "u_alice",
        1,
        vec![
            DeviceEntry::new("d_laptop", device(1)).unwrap(),
            DeviceEntry::new("d_phone", device(2)).unwrap(),
        ],
    )
    .unwrap())
}

/// `list` signed by Alice's user key and pinned under it.
fn pin(list: &DeviceList) -> PinnedDeviceList {
    let user = UserIdentity::from_seed([0x51; 32]);
    PinnedDeviceList::pin(
        list.user_id(),
        user.public_identity(),
        list.sign(&user).as_bytes(),
    )
    .unwrap()
}

fn code<T: core::fmt::Debug>(result: Result<T, MessageContextError>) -> &'static str {
    result.unwrap_err().code()
}

#[test]
fn known_answer_envelope() {
    let envelope = MessageEnvelope::new(
        context("d_laptop", 7),
        MessageBody::Text("Refill request".into()),
    );
    let bytes = envelope.to_bytes().unwrap();
    let expected = protocol_md_vector("message-context", "text envelope").unwrap();
    assert_eq!(hex::encode(&*bytes), expected);
    assert_eq!(MessageEnvelope::from_bytes(&bytes).unwrap(), envelope);
}

#[test]
fn every_body_kind_round_trips() {
    for body in [
        MessageBody::Text(String::new()),
        MessageBody::Text("Blood pressure 120/80 — fine".into()),
        MessageBody::Attachment(zeroize::Zeroizing::new(vec![2; 300])),
        MessageBody::Control(ControlKind::DeviceListUpdate, vec![1, 0x4c]),
        MessageBody::Control(ControlKind::Delivered, vec![]),
        MessageBody::Control(ControlKind::Read, vec![9; 8]),
    ] {
        let envelope = MessageEnvelope::new(context("d_phone", u64::MAX), body);
        let parsed = MessageEnvelope::from_bytes(&envelope.to_bytes().unwrap()).unwrap();
        assert_eq!(parsed, envelope);
    }
}

#[test]
fn the_size_bound_is_exact() {
    let ctx = context("d_phone", 1);
    let overhead = 1 + 3 + "c_clinic".len() + "u_alice".len() + "d_phone".len() + 8 + 1;
    let fits = MessageEnvelope::new(
        ctx.clone(),
        MessageBody::Text("a".repeat(MAX_SESSION_MESSAGE_LEN - overhead)),
    );
    let bytes = fits.to_bytes().unwrap();
    assert_eq!(bytes.len(), MAX_SESSION_MESSAGE_LEN);
    assert_eq!(MessageEnvelope::from_bytes(&bytes).unwrap(), fits);
    let over = MessageEnvelope::new(
        ctx.clone(),
        MessageBody::Text("a".repeat(MAX_SESSION_MESSAGE_LEN - overhead + 1)),
    );
    assert_eq!(code(over.to_bytes()), "message_too_large");
    let control_over = MessageEnvelope::new(
        ctx,
        MessageBody::Control(
            ControlKind::Read,
            vec![0; MAX_SESSION_MESSAGE_LEN - overhead],
        ),
    );
    assert_eq!(code(control_over.to_bytes()), "message_too_large");
    let long = [&bytes[..], b"a"].concat();
    assert_eq!(
        code(MessageEnvelope::from_bytes(&long)),
        "message_too_large"
    );
}

#[test]
fn malformed_envelopes_get_specific_codes() {
    let good = MessageEnvelope::new(context("d_phone", 1), MessageBody::Text("hi".into()))
        .to_bytes()
        .unwrap()
        .to_vec();
    let parse = |bytes: &[u8]| code(MessageEnvelope::from_bytes(bytes));
    assert_eq!(parse(&[]), "malformed_message_context");
    let mut version = good.clone();
    version[0] = 2;
    assert_eq!(parse(&version), "unsupported_version");
    // Cut inside every fixed field.
    let body_at = good.len() - 3;
    for len in 1..=body_at {
        assert_eq!(parse(&good[..len]), "malformed_message_context", "{len}");
    }
    let mut kind = good.clone();
    kind[body_at] = b'X';
    assert_eq!(parse(&kind), "unknown_body_kind");
    let mut control = good[..body_at].to_vec();
    control.extend_from_slice(&[b'C', 0x04]);
    assert_eq!(parse(&control), "unknown_body_kind");
    control.truncate(body_at + 1);
    assert_eq!(parse(&control), "malformed_message_context");
    let mut not_utf8 = good.clone();
    not_utf8.push(0xff);
    assert_eq!(parse(&not_utf8), "malformed_message_context");
    let mut seq_zero = good.clone();
    seq_zero[body_at - 8..body_at].fill(0);
    assert_eq!(parse(&seq_zero), "malformed_message_context");
    let mut bad_id = good.clone();
    bad_id[2] = b' ';
    assert_eq!(parse(&bad_id), "malformed_message_context");
    let mut empty_id = good.clone();
    empty_id[1] = 0;
    assert_eq!(parse(&empty_id), "malformed_message_context");

    assert_eq!(
        code(MessageContext::new("", "u", "d", 1)),
        "invalid_message_context"
    );
    assert_eq!(
        code(MessageContext::new("c", "u", "d/1", 1)),
        "invalid_message_context"
    );
    assert_eq!(
        code(MessageContext::new("c", "u", "d", 0)),
        "invalid_message_context"
    );
}

#[test]
fn checks_attribute_by_session_identity_and_device_list() {
    let list = alice_devices();
    let laptop = device(1);
    let ok = context("d_laptop", 5).check(&laptop, &list, "c_clinic", &seen(4));
    assert_eq!(ok.unwrap().gap(), 0);
    let gap = context("d_laptop", 9).check(&laptop, &list, "c_clinic", &seen(4));
    assert_eq!(gap.unwrap().gap(), 4);
    assert_eq!(
        context("d_laptop", 1)
            .check(&laptop, &list, "c_clinic", &SequenceWindow::default())
            .unwrap()
            .gap(),
        0
    );

    // The relay relabels the laptop's message as the phone's.
    assert_eq!(
        code(context("d_phone", 5).check(&laptop, &list, "c_clinic", &seen(4))),
        "sender_identity_mismatch"
    );
    // A device not on Alice's list (the relay's own) claims a listed id.
    assert_eq!(
        code(context("d_laptop", 5).check(&device(9), &list, "c_clinic", &seen(4))),
        "sender_identity_mismatch"
    );
    assert_eq!(
        code(context("d_tablet", 5).check(&device(9), &list, "c_clinic", &seen(4))),
        "sender_not_on_device_list"
    );
    let bob = MessageContext::new("c_clinic", "u_bob", "d_laptop", 5).unwrap();
    assert_eq!(
        code(bob.check(&laptop, &list, "c_clinic", &seen(4))),
        "sender_user_mismatch"
    );
    assert_eq!(
        code(context("d_laptop", 5).check(&laptop, &list, "c_other", &seen(4))),
        "conversation_mismatch"
    );
    assert_eq!(
        code(context("d_laptop", 4).check(&laptop, &list, "c_clinic", &seen(4))),
        "replayed_sequence"
    );
    assert_eq!(
        code(context("d_laptop", 3).check(&laptop, &list, "c_clinic", &seen(4))),
        "replayed_sequence"
    );
}

/// The window after accepting 1 ..= n in order.
fn seen(n: u64) -> SequenceWindow {
    let list = alice_devices();
    (1..=n).fold(SequenceWindow::default(), |window, sequence| {
        context("d_laptop", sequence)
            .check(&device(1), &list, "c_clinic", &window)
            .unwrap()
            .window()
    })
}

#[test]
fn late_messages_fill_their_gap_once_and_old_ones_are_refused() {
    let list = alice_devices();
    let laptop = device(1);
    let at = |sequence, window: &SequenceWindow| {
        context("d_laptop", sequence).check(&laptop, &list, "c_clinic", window)
    };
    // 1, then 5 (gap of 3), then 3 late, then 3 again.
    let w1 = at(1, &SequenceWindow::default()).unwrap().window();
    let five = at(5, &w1).unwrap();
    assert_eq!((five.gap(), five.late()), (3, false));
    assert_eq!(five.window().missing(), 3);
    let three = at(3, &five.window()).unwrap();
    assert_eq!((three.gap(), three.late()), (0, true));
    assert_eq!(three.window().missing(), 2);
    assert_eq!(code(at(3, &three.window())), "replayed_sequence");
    assert_eq!(code(at(5, &three.window())), "replayed_sequence");
    assert_eq!(code(at(1, &three.window())), "replayed_sequence");

    // 64 behind is still in the window; 65 behind is not.
    let far = at(100, &SequenceWindow::default()).unwrap().window();
    assert!(at(100 - SEQUENCE_WINDOW, &far).unwrap().late());
    assert_eq!(
        code(at(100 - SEQUENCE_WINDOW - 1, &far)),
        "sequence_out_of_window"
    );
    // A jump past the window forgets everything below it.
    let jumped = at(1 + SEQUENCE_WINDOW + 1, &w1).unwrap().window();
    assert_eq!(jumped.missing(), SEQUENCE_WINDOW);
    assert_eq!(code(at(1, &jumped)), "sequence_out_of_window");
}

#[test]
fn protocol_md_states_the_window() {
    use crate::test_support::protocol_md_limit;
    assert_eq!(
        protocol_md_limit("SEQUENCE_WINDOW").map(|v| v as u64),
        Some(SEQUENCE_WINDOW)
    );
}

#[test]
fn windows_round_trip_and_refuse_impossible_encodings() {
    let window = seen(70);
    let bytes = window.to_bytes();
    assert_eq!(bytes.len(), SEQUENCE_WINDOW_LEN);
    assert_eq!(SequenceWindow::from_bytes(&bytes).unwrap(), window);
    let small = seen(3);
    assert_eq!(
        SequenceWindow::from_bytes(&small.to_bytes()).unwrap(),
        small
    );
    assert_eq!(
        SequenceWindow::from_bytes(&SequenceWindow::default().to_bytes()).unwrap(),
        SequenceWindow::default()
    );
    // Highest 3 allows bits for 2 and 1 only.
    let mut bad = small.to_bytes();
    bad[SEQUENCE_WINDOW_LEN - 1] |= 0b100;
    assert_eq!(
        code(SequenceWindow::from_bytes(&bad)),
        "malformed_message_context"
    );
    let mut version = small.to_bytes();
    version[0] = 2;
    assert_eq!(
        code(SequenceWindow::from_bytes(&version)),
        "unsupported_version"
    );
    assert_eq!(
        code(SequenceWindow::from_bytes(&bytes[..16])),
        "malformed_message_context"
    );
    assert_eq!(
        code(SequenceWindow::from_bytes(&[])),
        "malformed_message_context"
    );
}

#[test]
fn envelopes_travel_through_a_session_and_check_against_its_identity() {
    let alice_laptop = Account::new().unwrap();
    let mut bob = Account::new().unwrap();
    let mut session =
        Session::initiate(alice_laptop.identity(), &bob.prekey_bundle(), None).unwrap();
    let list = pin(&DeviceList::new(
        "u_alice",
        1,
        vec![DeviceEntry::new("d_laptop", alice_laptop.public_identity().clone()).unwrap()],
    )
    .unwrap());
    let envelope = MessageEnvelope::new(context("d_laptop", 1), MessageBody::Text("hello".into()));
    let message = session.encrypt(&envelope.to_bytes().unwrap()).unwrap();
    let accepted = bob.accept_session(&message, |_| true).unwrap();
    let received = MessageEnvelope::from_bytes(&accepted.plaintext).unwrap();
    assert_eq!(received, envelope);
    let check = received
        .context()
        .check(
            accepted.session.peer_identity(),
            &list,
            "c_clinic",
            &SequenceWindow::default(),
        )
        .unwrap();
    assert_eq!(check.gap(), 0);
}

#[test]
fn debug_output_redacts_bodies() {
    let envelope = MessageEnvelope::new(
        context("d_laptop", 1),
        MessageBody::Text("HIV test positive".into()),
    );
    let debug = format!("{envelope:?}");
    assert!(!debug.contains("HIV"), "{debug}");
    assert!(debug.contains("d_laptop"));
}

#[test]
fn each_message_context_error_has_its_own_code() {
    let mut codes: Vec<_> = MessageContextError::ALL
        .iter()
        .map(ErrorCode::code)
        .collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), MessageContextError::ALL.len());
}

#[derive(Debug, Clone)]
enum Step {
    /// Alice's user adds pool device i (if absent and there is room).
    Add(usize),
    /// Alice's user removes pool device i (if present and not the last).
    Remove(usize),
    /// Pool device i sends a message under its own device id.
    Send(usize),
    /// Pool device i sends a message claiming to be pool device j.
    Relabel(usize, usize),
}

const POOL: usize = 6;

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => (0..POOL).prop_map(Step::Add),
        1 => (0..POOL).prop_map(Step::Remove),
        3 => (0..POOL).prop_map(Step::Send),
        1 => (0..POOL, 0..POOL).prop_map(|(i, j)| Step::Relabel(i, j)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random additions, removals and messages: the receiver, holding the
    /// latest list it accepted, attributes a message only to a device that
    /// was on the sender's list when it was sent, under its own id; each
    /// accepted update reports exactly the devices that came and went.
    #[test]
    fn messages_check_only_for_devices_on_the_list_at_send_time(
        steps in proptest::collection::vec(step(), 1..60)
    ) {
        let user = UserIdentity::from_seed([0x51; 32]);
        let pool: Vec<PublicIdentity> = (0..POOL as u8).map(|i| device(i + 1)).collect();
        let id = |i: usize| format!("d_{i}");
        let mut members = [true, false, false, false, false, false];
        let mut current = DeviceList::new(
            "u_alice",
            1,
            vec![DeviceEntry::new(&id(0), pool[0].clone()).unwrap()],
        ).unwrap();
        let key = user.public_identity();
        let mut pinned = PinnedDeviceList::pin("u_alice", key, current.sign(&user).as_bytes()).unwrap();
        let mut sequences = [0u64; POOL];
        let mut windows = [SequenceWindow::default(); POOL];

        for step in steps {
            match step {
                Step::Add(i) | Step::Remove(i) => {
                    let adding = matches!(step, Step::Add(_));
                    let count = members.iter().filter(|m| **m).count();
                    if adding == members[i] || (!adding && count == 1) {
                        continue;
                    }
                    let next = if adding {
                        current.with_device(DeviceEntry::new(&id(i), pool[i].clone()).unwrap())
                    } else {
                        current.without_device(&id(i))
                    }.unwrap();
                    members[i] = adding;
                    let change = pinned.update(key, next.sign(&user).as_bytes()).unwrap();
                    let expected = [DeviceEntry::new(&id(i), pool[i].clone()).unwrap()];
                    if adding {
                        prop_assert_eq!(change.added(), &expected[..]);
                        prop_assert!(change.removed().is_empty());
                    } else {
                        prop_assert_eq!(change.removed(), &expected[..]);
                        prop_assert!(change.added().is_empty());
                    }
                    // The old list can no longer be replayed.
                    prop_assert_eq!(
                        change.pinned().update(key, current.sign(&user).as_bytes()).unwrap_err().code(),
                        "stale_device_list"
                    );
                    pinned = change.into_pinned();
                    current = next;
                }
                Step::Send(i) | Step::Relabel(i, _) => {
                    let claimed = match step { Step::Relabel(_, j) => j, _ => i };
                    sequences[i] += 1;
                    let envelope = MessageEnvelope::new(
                        MessageContext::new("c_clinic", "u_alice", &id(claimed), sequences[i]).unwrap(),
                        MessageBody::Text(format!("from {i}")),
                    );
                    let received = MessageEnvelope::from_bytes(&envelope.to_bytes().unwrap()).unwrap();
                    let result = received.context().check(
                        &pool[i], &pinned, "c_clinic", &windows[claimed],
                    );
                    if claimed == i && members[i] {
                        let check = result.unwrap();
                        prop_assert_eq!(check.gap(), sequences[i] - windows[i].highest() - 1);
                        windows[i] = check.window();
                    } else if members[claimed] {
                        prop_assert_eq!(result.unwrap_err().code(), "sender_identity_mismatch");
                    } else {
                        prop_assert_eq!(result.unwrap_err().code(), "sender_not_on_device_list");
                    }
                }
            }
        }
    }

    /// Any order of delivery, with duplicates: a number is accepted exactly
    /// when it was not accepted before and is at most SEQUENCE_WINDOW
    /// below the highest accepted so far, and the window's `missing` count
    /// matches the numbers skipped within it.
    #[test]
    fn any_delivery_order_accepts_each_number_once(
        deliveries in proptest::collection::vec(1u64..200, 1..300)
    ) {
        let list = alice_devices();
        let laptop = device(1);
        let mut window = SequenceWindow::default();
        let mut accepted = std::collections::BTreeSet::new();
        for sequence in deliveries {
            let highest = accepted.iter().next_back().copied().unwrap_or(0);
            let expected_ok = !accepted.contains(&sequence)
                && (sequence > highest || highest - sequence <= SEQUENCE_WINDOW);
            let result = context("d_laptop", sequence).check(&laptop, &list, "c_clinic", &window);
            prop_assert_eq!(result.is_ok(), expected_ok, "sequence {} after {:?}", sequence, accepted);
            if let Ok(check) = result {
                prop_assert_eq!(check.late(), sequence < highest);
                window = check.window();
                accepted.insert(sequence);
                let low = sequence.max(highest).saturating_sub(SEQUENCE_WINDOW).max(1);
                let top = sequence.max(highest);
                let missing = (low..top).filter(|n| !accepted.contains(n)).count() as u64;
                prop_assert_eq!(window.missing(), missing);
                prop_assert_eq!(SequenceWindow::from_bytes(&window.to_bytes()).unwrap(), window);
            } else {
                let code = result.unwrap_err().code();
                prop_assert!(code == "replayed_sequence" || code == "sequence_out_of_window");
            }
        }
    }
}
