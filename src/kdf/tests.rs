use super::*;

const ALL: &[(&str, &[u8])] = &[
    ("INFO_AGE_X25519", INFO_AGE_X25519),
    ("INFO_AGE_HEADER", INFO_AGE_HEADER),
    ("INFO_AGE_PAYLOAD", INFO_AGE_PAYLOAD),
    ("INFO_SEALED_KEY", INFO_SEALED_KEY),
    ("DOMAIN_RECIPIENT_HINT", DOMAIN_RECIPIENT_HINT),
    ("DOMAIN_SEALED_SENDER", DOMAIN_SEALED_SENDER),
    ("DOMAIN_FINGERPRINT", DOMAIN_FINGERPRINT),
    ("INFO_X3DH", INFO_X3DH),
    ("INFO_RATCHET_ROOT", INFO_RATCHET_ROOT),
    ("INFO_MESSAGE_KEY", INFO_MESSAGE_KEY),
    ("DOMAIN_SIGNED_PREKEY", DOMAIN_SIGNED_PREKEY),
    ("DOMAIN_SESSION_ID", DOMAIN_SESSION_ID),
    ("INFO_PICKLE_KEY", INFO_PICKLE_KEY),
    ("DOMAIN_USER_FINGERPRINT", DOMAIN_USER_FINGERPRINT),
    ("DOMAIN_DEVICE_LIST", DOMAIN_DEVICE_LIST),
    ("DOMAIN_INVITATION_TOKEN", DOMAIN_INVITATION_TOKEN),
    ("INFO_INVITATION_PROOF_KEY", INFO_INVITATION_PROOF_KEY),
    ("DOMAIN_INVITATION_PROOF", DOMAIN_INVITATION_PROOF),
    ("DOMAIN_LINK_EPHEMERAL", DOMAIN_LINK_EPHEMERAL),
    ("DOMAIN_LINK_COMMITMENT", DOMAIN_LINK_COMMITMENT),
    ("DOMAIN_LINK_TRANSCRIPT", DOMAIN_LINK_TRANSCRIPT),
    ("INFO_LINK_KEYS", INFO_LINK_KEYS),
];

/// RFC 5869 Appendix A.1, test case 1.
#[test]
fn rfc5869_test_case_1() {
    let ikm = [0x0bu8; 22];
    let salt = hex::decode("000102030405060708090a0b0c").unwrap();
    let info = hex::decode("f0f1f2f3f4f5f6f7f8f9").unwrap();
    let okm = hkdf_sha256::<42>(&salt, &ikm, &info);
    assert_eq!(
        hex::encode(okm.as_ref()),
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    );
}

/// RFC 4231 §4.3, test case 2 (a key shorter than 32 bytes is zero-padded
/// the same way HMAC pads it).
#[test]
fn rfc4231_test_case_2() {
    let mut key = [0u8; 32];
    key[..4].copy_from_slice(b"Jefe");
    assert_eq!(
        hex::encode(hmac_sha256(&key, b"what do ya want for nothing?").as_ref()),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[test]
fn protocol_md_quotes_every_domain_string() {
    let doc = crate::test_support::PROTOCOL_MD;
    for (name, value) in ALL.iter().copied() {
        let row = format!("| `{name}` | `{}` |", std::str::from_utf8(value).unwrap());
        assert!(doc.contains(&row), "PROTOCOL.md lacks {row}");
    }
}

#[test]
fn every_info_string_is_distinct() {
    for (i, (_, a)) in ALL.iter().enumerate() {
        for (_, b) in &ALL[i + 1..] {
            assert_ne!(a, b);
        }
    }
}
