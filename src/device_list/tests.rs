use super::format::sign_raw;
use super::*;
use crate::error::ErrorCode;
use crate::identity::Identity;
use crate::ids::MAX_ID_LEN;
use crate::test_support::protocol_md_vector;
use crate::user::UserIdentity;

fn alice() -> UserIdentity {
    UserIdentity::from_seed([0x51; 32])
}

fn device(n: u8) -> PublicIdentity {
    Identity::from_seeds([n; 32], [n.wrapping_add(1); 32])
        .public_identity()
        .clone()
}

fn laptop() -> PublicIdentity {
    Identity::from_seeds([0x31; 32], [0x32; 32])
        .public_identity()
        .clone()
}

fn phone() -> PublicIdentity {
    Identity::from_seeds([0x41; 32], [0x42; 32])
        .public_identity()
        .clone()
}

fn entry(id: &str, identity: PublicIdentity) -> DeviceEntry {
    DeviceEntry::new(id, identity).unwrap()
}

/// The list of the PROTOCOL.md vector, given in reverse order.
fn vector_list() -> DeviceList {
    DeviceList::new(
        "u_alice",
        1,
        vec![entry("d_phone", phone()), entry("d_laptop", laptop())],
    )
    .unwrap()
}

fn code<T: core::fmt::Debug>(result: Result<T, DeviceListError>) -> &'static str {
    result.unwrap_err().code()
}

fn vector(key: &str) -> String {
    protocol_md_vector("device-list", key).unwrap_or_else(|| panic!("PROTOCOL.md lacks {key}"))
}

#[test]
fn known_answer_signature_input_and_signed_list() {
    let user = alice();
    let list = vector_list();
    assert_eq!(hex::encode(list.to_bytes()), vector("list encoding"));
    assert_eq!(
        hex::encode(format::signature_input(
            user.public_identity(),
            &list.to_bytes()
        )),
        vector("signature input")
    );
    let signed = list.sign(&user);
    assert_eq!(hex::encode(signed.as_bytes()), vector("signed list"));
    let parsed = SignedDeviceList::from_bytes(
        &hex::decode(vector("signed list")).unwrap(),
        user.public_identity(),
    )
    .unwrap();
    assert_eq!(parsed.list(), &list);
}

#[test]
fn signed_list_round_trips_in_canonical_order() {
    let user = alice();
    let list = vector_list();
    let ids: Vec<_> = list.devices().iter().map(DeviceEntry::device_id).collect();
    assert_eq!(ids, ["d_laptop", "d_phone"]);
    let signed = list.sign(&user);
    let parsed = SignedDeviceList::from_bytes(signed.as_bytes(), user.public_identity()).unwrap();
    assert_eq!(parsed, signed);
    assert_eq!(parsed.into_list(), list);
}

#[test]
fn every_single_bit_flip_is_refused() {
    let user = alice();
    let signed = vector_list().sign(&user);
    let bytes = signed.as_bytes();
    for bit in 0..bytes.len() * 8 {
        let mut tampered = bytes.to_vec();
        tampered[bit / 8] ^= 1 << (bit % 8);
        let got = code(SignedDeviceList::from_bytes(
            &tampered,
            user.public_identity(),
        ));
        let expected = match bit / 8 {
            0 => "unsupported_version",
            1 => "malformed_device_list",
            _ => "bad_device_list_signature",
        };
        assert_eq!(got, expected, "bit {bit}");
    }
}

#[test]
fn another_users_key_does_not_verify() {
    let signed = vector_list().sign(&alice());
    let mallory = UserIdentity::from_seed([0x66; 32]);
    assert_eq!(
        code(SignedDeviceList::from_bytes(
            signed.as_bytes(),
            mallory.public_identity()
        )),
        "bad_device_list_signature"
    );
}

#[test]
fn length_bounds_are_exact() {
    let user = alice();
    let key = user.public_identity();
    // The largest list: 64-byte ids, MAX_DEVICES devices.
    let long_id = |c: char| format!("d_{}", c.to_string().repeat(MAX_ID_LEN - 2));
    let devices = (0..MAX_DEVICES)
        .map(|i| entry(&long_id(char::from(b'a' + i as u8)), device(i as u8 + 1)))
        .collect();
    let largest = DeviceList::new(&"u".repeat(MAX_ID_LEN), u64::MAX, devices)
        .unwrap()
        .sign(&user);
    assert_eq!(largest.as_bytes().len(), MAX_SIGNED_DEVICE_LIST_LEN);
    assert!(SignedDeviceList::from_bytes(largest.as_bytes(), key).is_ok());
    let one_over = [largest.as_bytes(), &[0]].concat();
    assert_eq!(
        code(SignedDeviceList::from_bytes(&one_over, key)),
        "device_list_too_large"
    );
    assert_eq!(
        code(SignedDeviceList::from_bytes(&[], key)),
        "malformed_device_list"
    );

    // The smallest list: one-byte ids, one device.
    let smallest = DeviceList::new("u", 1, vec![entry("d", laptop())])
        .unwrap()
        .sign(&user);
    assert!(SignedDeviceList::from_bytes(smallest.as_bytes(), key).is_ok());
    let short = &smallest.as_bytes()[..smallest.as_bytes().len() - 1];
    assert_eq!(
        code(SignedDeviceList::from_bytes(short, key)),
        "malformed_device_list"
    );
    // A byte appended after the signature moves the signature.
    let trailing = [smallest.as_bytes(), &[0]].concat();
    assert_eq!(
        code(SignedDeviceList::from_bytes(&trailing, key)),
        "bad_device_list_signature"
    );
}

#[test]
fn signed_but_non_canonical_lists_are_refused() {
    let user = alice();
    let key = user.public_identity();
    let parse = |bytes: Vec<u8>| code(SignedDeviceList::from_bytes(&bytes, key));
    let (l, p) = (laptop(), phone());

    assert!(
        SignedDeviceList::from_bytes(&sign_raw(&user, "u_a", 1, &[("d_a", &l), ("d_b", &p)]), key)
            .is_ok()
    );
    assert_eq!(
        parse(sign_raw(&user, "u_a", 1, &[("d_b", &l), ("d_a", &p)])),
        "malformed_device_list"
    );
    assert_eq!(
        parse(sign_raw(&user, "u_a", 1, &[("d_a", &l), ("d_a", &p)])),
        "duplicate_device"
    );
    assert_eq!(
        parse(sign_raw(&user, "u_a", 1, &[("d_a", &l), ("d_b", &l)])),
        "duplicate_device"
    );
    assert_eq!(
        parse(sign_raw(&user, "u_a", 0, &[("d_a", &l)])),
        "malformed_device_list"
    );
    assert_eq!(
        parse(sign_raw(&user, "u a", 1, &[("d_a", &l)])),
        "malformed_device_list"
    );
    assert_eq!(
        parse(sign_raw(&user, "u_a", 1, &[("d.a", &l)])),
        "malformed_device_list"
    );
    assert_eq!(
        parse(sign_raw(&user, "", 1, &[("d_a", &l)])),
        "malformed_device_list"
    );
    let ids: Vec<String> = (0..=MAX_DEVICES).map(|i| format!("d_{i:02}")).collect();
    let identities: Vec<PublicIdentity> = (0..=MAX_DEVICES).map(|i| device(i as u8 + 1)).collect();
    let too_many: Vec<(&str, &PublicIdentity)> = ids
        .iter()
        .map(String::as_str)
        .zip(identities.iter())
        .collect();
    assert!(
        SignedDeviceList::from_bytes(&sign_raw(&user, "u_a", 1, &too_many[..MAX_DEVICES]), key)
            .is_ok()
    );
    assert_eq!(
        parse(sign_raw(&user, "u_a", 1, &too_many)),
        "malformed_device_list"
    );
    // A signed body with a byte after the last entry.
    let mut body = sign_raw(&user, "u_a", 1, &[("d_a", &l)]);
    body.truncate(body.len() - 64);
    body.push(0);
    let signature = user.sign(&format::signature_input(key, &body));
    assert_eq!(
        parse([body, signature.to_vec()].concat()),
        "malformed_device_list"
    );
}

#[test]
fn construction_checks_every_rule() {
    let (l, p) = (laptop(), phone());
    assert_eq!(code(DeviceEntry::new("", l.clone())), "invalid_id");
    assert_eq!(code(DeviceEntry::new("d/1", l.clone())), "invalid_id");
    assert_eq!(
        code(DeviceEntry::new(&"d".repeat(MAX_ID_LEN + 1), l.clone())),
        "invalid_id"
    );
    assert_eq!(
        code(DeviceList::new("u a", 1, vec![entry("d", l.clone())])),
        "invalid_id"
    );
    assert_eq!(
        code(DeviceList::new("u", 0, vec![entry("d", l.clone())])),
        "invalid_device_list_version"
    );
    assert_eq!(
        code(DeviceList::new("u", 1, vec![])),
        "device_count_out_of_range"
    );
    let seventeen = (0..=MAX_DEVICES)
        .map(|i| entry(&format!("d{i}"), device(i as u8 + 1)))
        .collect();
    assert_eq!(
        code(DeviceList::new("u", 1, seventeen)),
        "device_count_out_of_range"
    );
    assert_eq!(
        code(DeviceList::new(
            "u",
            1,
            vec![entry("d", l.clone()), entry("d", p.clone())]
        )),
        "duplicate_device"
    );
    assert_eq!(
        code(DeviceList::new(
            "u",
            1,
            vec![entry("d1", l.clone()), entry("d2", l.clone())]
        )),
        "duplicate_device"
    );
}

#[test]
fn lookups_name_devices_and_identities() {
    let list = vector_list();
    assert_eq!(list.device("d_phone"), Some(&phone()));
    assert_eq!(list.device("d_tablet"), None);
    assert_eq!(list.contains_identity(&laptop()), Some("d_laptop"));
    assert_eq!(list.contains_identity(&device(9)), None);
    assert!(list.check_device("d_laptop", &laptop()).is_ok());
    assert_eq!(
        code(list.check_device("d_tablet", &laptop())),
        "unknown_device"
    );
    assert_eq!(
        code(list.check_device("d_laptop", &phone())),
        "device_identity_mismatch"
    );
}

fn pin(list: &DeviceList) -> PinnedDeviceList {
    let user = alice();
    PinnedDeviceList::pin(
        "u_alice",
        user.public_identity(),
        list.sign(&user).as_bytes(),
    )
    .unwrap()
}

fn update(
    pinned: &PinnedDeviceList,
    list: &DeviceList,
) -> Result<DeviceListChange, DeviceListError> {
    let user = alice();
    pinned.update(user.public_identity(), list.sign(&user).as_bytes())
}

#[test]
fn updates_report_added_and_removed_devices() {
    let v1 = vector_list();
    let first = pin(&v1);
    assert_eq!(first.list(), &v1);
    assert_eq!(first.user_id(), "u_alice");

    let v2 = v1
        .with_device(entry("d_tablet", device(7)))
        .unwrap()
        .without_device("d_phone")
        .unwrap();
    assert_eq!(v2.version(), 3);
    let change = update(&first, &v2).unwrap();
    assert_eq!(change.added(), &[entry("d_tablet", device(7))]);
    assert_eq!(change.removed(), &[entry("d_phone", phone())]);
    assert!(!change.is_unchanged());
    assert_eq!(change.pinned().list(), &v2);

    let again = update(change.pinned(), &v2).unwrap();
    assert!(again.is_unchanged());
}

#[test]
fn stale_conflicting_foreign_and_jumping_updates_are_refused() {
    let v1 = vector_list();
    let v2 = v1.with_device(entry("d_tablet", device(7))).unwrap();
    let pinned = pin(&v2);
    assert_eq!(code(update(&pinned, &v1)), "stale_device_list");
    let other_v2 = DeviceList::new("u_alice", 2, vec![entry("d_laptop", laptop())]).unwrap();
    assert_eq!(code(update(&pinned, &other_v2)), "device_list_conflict");
    let bob_v3 = DeviceList::new("u_bob", 3, vec![entry("d_laptop", laptop())]).unwrap();
    assert_eq!(code(update(&pinned, &bob_v3)), "device_list_user_mismatch");

    // A stolen key cannot freeze the list at the last version, nor jump far.
    let step = DeviceList::new("u_alice", 2 + MAX_VERSION_STEP, v2.devices().to_vec()).unwrap();
    assert!(update(&pinned, &step).is_ok());
    let jump = DeviceList::new("u_alice", 3 + MAX_VERSION_STEP, v2.devices().to_vec()).unwrap();
    assert_eq!(code(update(&pinned, &jump)), "device_list_version_jump");
    let last = DeviceList::new("u_alice", u64::MAX, v2.devices().to_vec()).unwrap();
    assert_eq!(code(update(&pinned, &last)), "device_list_version_jump");

    assert_eq!(code(v1.without_device("d_tablet")), "unknown_device");
    let single = DeviceList::new("u", 1, vec![entry("d", laptop())]).unwrap();
    assert_eq!(
        code(single.without_device("d")),
        "device_count_out_of_range"
    );
    let end = DeviceList::new("u", u64::MAX, vec![entry("d", laptop())]).unwrap();
    assert_eq!(
        code(end.with_device(entry("e", phone()))),
        "invalid_device_list_version"
    );
}

#[test]
fn updates_are_verified_under_the_pinned_key_only() {
    let pinned = pin(&vector_list());
    let mallory = UserIdentity::from_seed([0x66; 32]);
    let v2 = vector_list()
        .with_device(entry("d_relay", device(9)))
        .unwrap();
    let forged = v2.sign(&mallory);

    // The relay names its own key with its list: a changed identity, loudly.
    assert_eq!(
        code(pinned.update(mallory.public_identity(), forged.as_bytes())),
        "user_key_changed"
    );
    // The relay names the pinned key but signed with its own: a bad signature.
    assert_eq!(
        code(pinned.update(alice().public_identity(), forged.as_bytes())),
        "bad_device_list_signature"
    );
    // Another key's list for another user id is not a key change.
    let bob = DeviceList::new("u_bob", 1, vec![entry("d_laptop", laptop())]).unwrap();
    assert_eq!(
        code(pinned.update(mallory.public_identity(), bob.sign(&mallory).as_bytes())),
        "device_list_user_mismatch"
    );
    // Garbage under another key is a bad signature, not a key change.
    let mut tampered = forged.as_bytes().to_vec();
    tampered[20] ^= 1;
    assert_eq!(
        code(pinned.update(mallory.public_identity(), &tampered)),
        "bad_device_list_signature"
    );
    // Nothing changed: the pinned list still takes a good update.
    assert!(update(&pinned, &v2).is_ok());
}

#[test]
fn a_first_pin_checks_the_expected_user_id() {
    let user = alice();
    let signed = vector_list().sign(&user);
    assert_eq!(
        code(PinnedDeviceList::pin(
            "u_bob",
            user.public_identity(),
            signed.as_bytes()
        )),
        "device_list_user_mismatch"
    );
    let mallory = UserIdentity::from_seed([0x66; 32]);
    assert_eq!(
        code(PinnedDeviceList::pin(
            "u_alice",
            mallory.public_identity(),
            signed.as_bytes()
        )),
        "bad_device_list_signature"
    );
}

#[test]
fn pins_round_trip_and_are_verified_again_when_read() {
    let pinned = pin(&vector_list());
    let bytes = pinned.to_bytes();
    assert_eq!(PinnedDeviceList::from_bytes(&bytes).unwrap(), pinned);
    for cut in 0..bytes.len() {
        assert!(
            PinnedDeviceList::from_bytes(&bytes[..cut]).is_err(),
            "cut {cut}"
        );
    }
    for i in 0..bytes.len() {
        let mut flipped = bytes.clone();
        flipped[i] ^= 0x01;
        assert!(PinnedDeviceList::from_bytes(&flipped).is_err(), "byte {i}");
    }
}

#[test]
fn protocol_md_states_the_limits() {
    use crate::test_support::protocol_md_limit;
    assert_eq!(protocol_md_limit("MAX_DEVICES"), Some(MAX_DEVICES));
    assert_eq!(
        protocol_md_limit("MAX_VERSION_STEP").map(|v| v as u64),
        Some(MAX_VERSION_STEP)
    );
    assert_eq!(
        protocol_md_limit("MAX_SIGNED_DEVICE_LIST_LEN"),
        Some(MAX_SIGNED_DEVICE_LIST_LEN)
    );
}

#[test]
fn each_device_list_error_has_its_own_code() {
    let mut codes: Vec<_> = DeviceListError::ALL.iter().map(ErrorCode::code).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), DeviceListError::ALL.len());
}

#[test]
#[ignore = "prints the vectors for PROTOCOL.md"]
fn print_vectors() {
    let user = alice();
    let list = vector_list();
    println!("list encoding: {}", hex::encode(list.to_bytes()));
    println!(
        "signature input: {}",
        hex::encode(format::signature_input(
            user.public_identity(),
            &list.to_bytes()
        ))
    );
    println!("signed list: {}", hex::encode(list.sign(&user).as_bytes()));
}
