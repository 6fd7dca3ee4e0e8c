use super::*;
use crate::error::ErrorCode;

fn fixed() -> Identity {
    Identity::from_seeds([0x11; 32], [0x22; 32])
}

#[test]
fn generated_identities_are_distinct_and_valid() {
    let a = Identity::generate().unwrap();
    let b = Identity::generate().unwrap();
    assert_ne!(a.public_identity(), b.public_identity());
    assert_eq!(
        PublicIdentity::from_bytes(a.public_identity().as_bytes()).unwrap(),
        *a.public_identity()
    );
}

#[test]
fn public_identity_round_trips_through_bytes_and_text() {
    let id = fixed();
    let public = id.public_identity();
    assert_eq!(public.as_bytes().len(), PUBLIC_IDENTITY_LEN);
    assert_eq!(public.as_bytes()[0], PUBLIC_IDENTITY_VERSION);
    let text = public.to_text();
    assert_eq!(text.len(), 87);
    assert!(
        text.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
    assert_eq!(&PublicIdentity::from_text(&text).unwrap(), public);
}

#[test]
fn debug_output_redacts_secrets() {
    let id = fixed();
    let debug = format!("{id:?}");
    assert!(debug.contains("[redacted]"));
    // Neither seed appears in any common rendering.
    for seed in [
        "1111111111",
        "2222222222",
        "17, 17, 17",
        "34, 34, 34",
        "ERERERER",
        "IiIiIiIi",
    ] {
        assert!(!debug.contains(seed), "{debug}");
    }
}

#[test]
fn malformed_public_identities_get_specific_codes() {
    let good = *fixed().public_identity().as_bytes();
    let code = |bytes: &[u8]| PublicIdentity::from_bytes(bytes).unwrap_err().code();

    assert_eq!(code(&[]), "malformed_key");
    assert_eq!(code(&good[..64]), "malformed_key");
    assert_eq!(code(&[&good[..], &[0]].concat()), "malformed_key");

    let mut version = good;
    version[0] = 2;
    assert_eq!(code(&version), "unsupported_version");

    for low in crate::agreement::tests::LOW_ORDER_POINTS {
        let mut bad = good;
        bad[1..33].copy_from_slice(&hex::decode(low).unwrap());
        let c = code(&bad);
        // Encodings at or above p are refused as non-canonical first.
        assert!(
            c == "non_contributory_key" || c == "malformed_key",
            "{low}: {c}"
        );
    }

    for alias in crate::agreement::tests::HIGH_BIT_ALIASES {
        let mut bad = good;
        bad[1..33].copy_from_slice(&hex::decode(alias).unwrap());
        assert_eq!(code(&bad), "malformed_key", "{alias}");
    }

    // p + 2: a non-canonical alias of u = 2.
    let mut non_canonical = good;
    non_canonical[1] = 0xef;
    non_canonical[2..32].fill(0xff);
    non_canonical[32] = 0x7f;
    assert_eq!(code(&non_canonical), "malformed_key");

    // The Ed25519 identity point (small order, a weak key).
    let mut weak = good;
    weak[33..].fill(0);
    weak[33] = 1;
    assert_eq!(code(&weak), "invalid_signing_key");

    // A y-coordinate with no point on the curve (y = 2).
    let mut off_curve = good;
    off_curve[33..].fill(0);
    off_curve[33] = 2;
    assert_eq!(code(&off_curve), "invalid_signing_key");
}

#[test]
fn malformed_text_forms_are_refused() {
    let text = fixed().public_identity().to_text();
    let code = |t: &str| PublicIdentity::from_text(t).unwrap_err().code();
    assert_eq!(code(""), "malformed_key");
    assert_eq!(code(&text[..86]), "malformed_key");
    assert_eq!(code(&format!("{text}=")), "malformed_key");
    assert_eq!(code(&format!("{}+", &text[..86])), "malformed_key");
    assert_eq!(code(&"A".repeat(10_000)), "malformed_key");
}

#[test]
fn fingerprint_is_six_groups_of_five_digits_and_tracks_the_key() {
    let a = fixed().public_identity().fingerprint();
    let rendered = a.to_string();
    assert_eq!(rendered.len(), 35);
    let groups: Vec<&str> = rendered.split(' ').collect();
    assert_eq!(groups.len(), 6);
    assert!(
        groups
            .iter()
            .all(|g| g.len() == 5 && g.bytes().all(|b| b.is_ascii_digit()))
    );
    assert_eq!(a, fixed().public_identity().fingerprint());
    let other = Identity::from_seeds([0x11; 32], [0x23; 32]);
    assert_ne!(a, other.public_identity().fingerprint());
}
