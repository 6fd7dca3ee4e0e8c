use super::*;
use crate::error::{ErrorCode, UserKeyError};
use crate::identity::Identity;
use crate::pickle::StorageKey;
use crate::test_support::protocol_md_vector;

fn alice() -> UserIdentity {
    UserIdentity::from_seed([0x51; 32])
}

fn bob() -> UserIdentity {
    UserIdentity::from_seed([0x52; 32])
}

fn vector(key: &str) -> String {
    protocol_md_vector("users", key).unwrap_or_else(|| panic!("PROTOCOL.md lacks {key}"))
}

#[test]
fn known_answer_user_identities_fingerprints_and_safety_number() {
    let (a, b) = (alice(), bob());
    assert_eq!(
        hex::encode(a.public_identity().as_bytes()),
        vector("user A identity")
    );
    assert_eq!(
        hex::encode(b.public_identity().as_bytes()),
        vector("user B identity")
    );
    assert_eq!(
        a.public_identity().fingerprint().to_string(),
        vector("user A fingerprint")
    );
    assert_eq!(
        b.public_identity().fingerprint().to_string(),
        vector("user B fingerprint")
    );
    assert_eq!(
        safety_number(a.public_identity(), b.public_identity()).to_string(),
        vector("safety number")
    );
}

#[test]
fn generated_user_identities_are_distinct_and_valid() {
    let a = UserIdentity::generate().unwrap();
    let b = UserIdentity::generate().unwrap();
    assert_ne!(a.public_identity(), b.public_identity());
    assert_eq!(
        &PublicUserIdentity::from_bytes(a.public_identity().as_bytes()).unwrap(),
        a.public_identity()
    );
}

#[test]
fn public_user_identity_round_trips_through_bytes_and_text() {
    let public = alice().public_identity().clone();
    assert_eq!(public.as_bytes().len(), PUBLIC_USER_IDENTITY_LEN);
    assert_eq!(public.as_bytes()[0], PUBLIC_USER_IDENTITY_VERSION);
    let text = public.to_text();
    assert_eq!(text.len(), 44);
    assert_eq!(PublicUserIdentity::from_text(&text).unwrap(), public);
    assert_eq!(
        PublicUserIdentity::from_bytes(public.as_bytes()).unwrap(),
        public
    );
}

#[test]
fn malformed_public_user_identities_get_specific_codes() {
    let good = *alice().public_identity().as_bytes();
    let code = |bytes: &[u8]| PublicUserIdentity::from_bytes(bytes).unwrap_err().code();
    assert_eq!(code(&[]), "malformed_user_key");
    assert_eq!(code(&good[..32]), "malformed_user_key");
    assert_eq!(code(&[&good[..], &[0]].concat()), "malformed_user_key");
    let mut version = good;
    version[0] = 2;
    assert_eq!(code(&version), "unsupported_version");
    // A device identity (65 bytes, version 1) is not a user identity.
    let device = Identity::from_seeds([1; 32], [2; 32]);
    assert_eq!(
        code(device.public_identity().as_bytes()),
        "malformed_user_key"
    );
    // The Ed25519 identity point (small order) and an off-curve y.
    let mut weak = [0u8; 33];
    weak[0] = 1;
    weak[1] = 1;
    assert_eq!(code(&weak), "invalid_signing_key");
    weak[1] = 2;
    assert_eq!(code(&weak), "invalid_signing_key");

    let text = alice().public_identity().to_text();
    let text_code = |t: &str| PublicUserIdentity::from_text(t).unwrap_err().code();
    assert_eq!(text_code(""), "malformed_user_key");
    assert_eq!(text_code(&text[..43]), "malformed_user_key");
    assert_eq!(text_code(&format!("{text}=")), "malformed_user_key");
    assert_eq!(
        text_code(&format!("{}+", &text[..43])),
        "malformed_user_key"
    );
}

#[test]
fn user_identity_export_round_trips_and_refuses_other_kinds() {
    let key = StorageKey::from_bytes([7; 32]);
    let a = alice();
    let blob = a.export(&key).unwrap();
    assert_eq!(blob[1], b'U');
    let back = UserIdentity::import(&key, &blob).unwrap();
    assert_eq!(back.public_identity(), a.public_identity());
    // The imported key signs as the original did (Ed25519 is deterministic).
    assert_eq!(back.sign(b"m"), a.sign(b"m"));

    let wrong = StorageKey::from_bytes([8; 32]);
    assert_eq!(
        UserIdentity::import(&wrong, &blob).unwrap_err().code(),
        "pickle_decrypt_failed"
    );
    let device_blob = Identity::from_seeds([1; 32], [2; 32]).export(&key).unwrap();
    assert_eq!(
        UserIdentity::import(&key, &device_blob).unwrap_err().code(),
        "malformed_pickle"
    );
    assert_eq!(
        Identity::import(&key, &blob).unwrap_err().code(),
        "malformed_pickle"
    );
}

#[test]
fn debug_output_redacts_the_user_key() {
    let debug = format!("{:?}", alice());
    assert!(debug.contains("[redacted]"));
    for seed in ["5151515151", "81, 81, 81", "UVFRUVFR"] {
        assert!(!debug.contains(seed), "{debug}");
    }
}

#[test]
fn safety_number_is_symmetric_sixty_digits_and_each_half_is_a_fingerprint() {
    let (a, b) = (alice(), bob());
    let ab = safety_number(a.public_identity(), b.public_identity());
    let ba = safety_number(b.public_identity(), a.public_identity());
    assert_eq!(ab, ba);
    let rendered = ab.to_string();
    assert_eq!(rendered.len(), 12 * 5 + 11);
    assert_eq!(rendered.bytes().filter(u8::is_ascii_digit).count(), 60);
    let fa = a.public_identity().fingerprint().to_string();
    let fb = b.public_identity().fingerprint().to_string();
    let (low, high) = if fa <= fb { (fa, fb) } else { (fb, fa) };
    assert_eq!(rendered, format!("{low} {high}"));
    // Another user changes it.
    let c = UserIdentity::from_seed([0x53; 32]);
    assert_ne!(ab, safety_number(a.public_identity(), c.public_identity()));
}

#[test]
fn user_fingerprint_is_domain_separated_from_device_fingerprints() {
    // The same Ed25519 key as a user and inside a device identity.
    let device = Identity::from_seeds([0x11; 32], [0x51; 32]);
    assert_ne!(
        device.public_identity().fingerprint(),
        alice().public_identity().fingerprint()
    );
}

#[test]
fn each_user_key_error_has_its_own_code() {
    let mut codes: Vec<_> = UserKeyError::ALL.iter().map(ErrorCode::code).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), UserKeyError::ALL.len());
}

#[test]
#[ignore = "prints the vectors for PROTOCOL.md"]
fn print_vectors() {
    let (a, b) = (alice(), bob());
    println!(
        "user A identity: {}",
        hex::encode(a.public_identity().as_bytes())
    );
    println!(
        "user B identity: {}",
        hex::encode(b.public_identity().as_bytes())
    );
    println!("user A fingerprint: {}", a.public_identity().fingerprint());
    println!("user B fingerprint: {}", b.public_identity().fingerprint());
    println!(
        "safety number: {}",
        safety_number(a.public_identity(), b.public_identity())
    );
}
