use super::*;
use crate::error::ErrorCode;

fn key(byte: u8) -> StorageKey {
    StorageKey::from_bytes([byte; 32])
}

#[test]
fn round_trip_and_kind_separation() {
    let blob = seal(PickleKind::Session, &key(1), b"state").unwrap();
    assert_eq!(
        &*open(PickleKind::Session, &key(1), &blob).unwrap(),
        b"state"
    );
    assert_eq!(
        open(PickleKind::Account, &key(1), &blob).unwrap_err(),
        PickleError::Malformed
    );
}

#[test]
fn wrong_key_and_every_bit_flip_fail() {
    let blob = seal(PickleKind::Account, &key(1), b"account state").unwrap();
    assert_eq!(
        open(PickleKind::Account, &key(2), &blob).unwrap_err(),
        PickleError::DecryptFailed
    );
    for bit in 0..blob.len() * 8 {
        let mut tampered = blob.clone();
        tampered[bit / 8] ^= 1 << (bit % 8);
        let code = open(PickleKind::Account, &key(1), &tampered)
            .unwrap_err()
            .code();
        assert!(
            [
                "pickle_decrypt_failed",
                "unsupported_version",
                "malformed_pickle"
            ]
            .contains(&code),
            "bit {bit}: {code}"
        );
    }
}

#[test]
fn bounds_are_enforced() {
    assert_eq!(
        open(PickleKind::Session, &key(1), &[]).unwrap_err(),
        PickleError::Malformed
    );
    let big = vec![PICKLE_VERSION; MAX_PICKLE_LEN + 1];
    assert_eq!(
        open(PickleKind::Session, &key(1), &big).unwrap_err(),
        PickleError::TooLarge
    );
    assert_eq!(
        StorageKey::from_slice(&[0; 31]).unwrap_err(),
        PickleError::InvalidStorageKey
    );
    assert_eq!(format!("{:?}", key(7)), "StorageKey([redacted])");
}
