use super::*;
use crate::account::Account;
use crate::agreement::tests::LOW_ORDER_POINTS;
use crate::error::ErrorCode;

fn bundle_with(count: usize) -> (Account, Vec<u8>) {
    let mut account = Account::new().unwrap();
    account.generate_one_time_prekeys(count).unwrap();
    let bytes = account.prekey_bundle().to_bytes();
    (account, bytes)
}

fn code(bytes: &[u8]) -> &'static str {
    PreKeyBundle::from_bytes(bytes).unwrap_err().code()
}

#[test]
fn bundle_round_trips_through_bytes_and_base64() {
    let (account, bytes) = bundle_with(3);
    let bundle = PreKeyBundle::from_bytes(&bytes).unwrap();
    assert_eq!(bundle.identity(), account.public_identity());
    assert_eq!(bundle.one_time_prekeys().len(), 3);
    assert_eq!(bundle.to_bytes(), bytes);
    assert_eq!(
        PreKeyBundle::from_base64(&bundle.to_base64()).unwrap(),
        bundle
    );
}

#[test]
fn relay_view_carries_one_one_time_prekey_and_keeps_the_signature_valid() {
    let (_, bytes) = bundle_with(3);
    let bundle = PreKeyBundle::from_bytes(&bytes).unwrap();
    let id = bundle.one_time_prekeys()[1].id;
    let single = bundle.with_one_time_prekey(Some(id)).unwrap();
    assert_eq!(single.one_time_prekeys(), &bundle.one_time_prekeys()[1..2]);
    assert!(PreKeyBundle::from_bytes(&single.to_bytes()).is_ok());
    let none = bundle.with_one_time_prekey(None).unwrap();
    assert!(none.one_time_prekeys().is_empty());
    assert!(bundle.with_one_time_prekey(Some(u32::MAX)).is_none());
}

#[test]
fn forged_signed_prekey_is_rejected() {
    let (_, bytes) = bundle_with(0);
    // Any bit of the signed prekey id, key or signature.
    for bit in (67 * 8)..(167 * 8) {
        let mut tampered = bytes.clone();
        tampered[bit / 8] ^= 1 << (bit % 8);
        let got = code(&tampered);
        assert!(
            ["bad_prekey_signature", "non_contributory_key"].contains(&got),
            "bit {bit}: {got}"
        );
    }
    // Another identity's signature over the same key.
    let (_, other) = bundle_with(0);
    let mut swapped = bytes.clone();
    swapped[2..67].copy_from_slice(&other[2..67]);
    assert_eq!(code(&swapped), "bad_prekey_signature");
}

#[test]
fn malformed_bundles_get_specific_codes() {
    let (_, bytes) = bundle_with(2);
    assert_eq!(code(&[]), "malformed_bundle");
    assert_eq!(code(&bytes[..bytes.len() - 1]), "malformed_bundle");
    assert_eq!(code(&[&bytes[..], &[0]].concat()), "malformed_bundle");
    let mut version = bytes.clone();
    version[0] = 2;
    assert_eq!(code(&version), "unsupported_version");
    let mut kind = bytes.clone();
    kind[1] = b'X';
    assert_eq!(code(&kind), "malformed_bundle");
    // Duplicate one-time prekey ids.
    let mut duplicate = bytes.clone();
    let (first, second) = (169, 169 + 36);
    let id = duplicate[first..first + 4].to_vec();
    duplicate[second..second + 4].copy_from_slice(&id);
    assert_eq!(code(&duplicate), "malformed_bundle");
    // A count over the cap, with matching length.
    let (_, mut big) = bundle_with(0);
    let over = MAX_ONE_TIME_PREKEYS_PER_BUNDLE + 1;
    big[167..169].copy_from_slice(&u16::try_from(over).unwrap().to_be_bytes());
    big.extend(std::iter::repeat_n(9u8, over * 36));
    assert_eq!(code(&big), "malformed_bundle");
    assert_eq!(
        PreKeyBundle::from_base64("!!!").unwrap_err().code(),
        "malformed_bundle"
    );
    assert_eq!(
        PreKeyBundle::from_base64(&"A".repeat(100_000))
            .unwrap_err()
            .code(),
        "malformed_bundle"
    );
}

#[test]
fn low_order_prekeys_are_refused() {
    let (_, bytes) = bundle_with(1);
    for point in LOW_ORDER_POINTS {
        let p = hex::decode(point).unwrap();
        let mut spk = bytes.clone();
        spk[71..103].copy_from_slice(&p);
        assert_eq!(code(&spk), "non_contributory_key", "{point}");
        let mut otpk = bytes.clone();
        otpk[173..205].copy_from_slice(&p);
        assert_eq!(code(&otpk), "non_contributory_key", "{point}");
    }
}

#[test]
fn initiate_refuses_a_bundle_of_an_unexpected_identity() {
    let (_, bytes) = bundle_with(1);
    let bundle = PreKeyBundle::from_bytes(&bytes).unwrap();
    let alice = Account::new().unwrap();
    let someone_else = Account::new().unwrap();
    let err = crate::Session::initiate(
        alice.identity(),
        &bundle,
        Some(someone_else.public_identity()),
    )
    .unwrap_err();
    assert_eq!(err.code(), "identity_mismatch");
    assert!(crate::Session::initiate(alice.identity(), &bundle, Some(bundle.identity())).is_ok());
}

#[test]
fn one_time_prekeys_can_be_reattached_by_a_relay() {
    let (_, bytes) = bundle_with(3);
    let bundle = PreKeyBundle::from_bytes(&bytes).unwrap();
    let base = bundle.with_one_time_prekey(None).unwrap();
    let keys = bundle.one_time_prekeys().to_vec();
    assert_eq!(base.with_one_time_prekeys(&keys).unwrap(), bundle);
    let mut bad = keys.clone();
    bad[0].key = [0; 32];
    assert_eq!(
        base.with_one_time_prekeys(&bad).unwrap_err().code(),
        "non_contributory_key"
    );
    let dup = vec![keys[0], keys[0]];
    assert_eq!(
        base.with_one_time_prekeys(&dup).unwrap_err().code(),
        "malformed_bundle"
    );
}
