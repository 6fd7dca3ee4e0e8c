use super::*;
use crate::agreement::tests::LOW_ORDER_POINTS;
use crate::error::ErrorCode;
use proptest::prelude::*;

fn clinic() -> Identity {
    Identity::from_seeds([0x31; 32], [0x32; 32])
}

fn patient() -> Identity {
    Identity::from_seeds([0x41; 32], [0x42; 32])
}

fn code(result: Result<OpenedMessage, SealedError>) -> &'static str {
    result.unwrap_err().code()
}

#[test]
fn anonymous_round_trip() {
    let clinic = clinic();
    let envelope = seal(clinic.public_identity(), b"refill request", None).unwrap();
    let opened = open(&clinic, &envelope).unwrap();
    assert_eq!(opened.message(), b"refill request");
    assert!(opened.sender().is_none());
}

#[test]
fn signed_sender_round_trip_names_the_sender() {
    let (clinic, patient) = (clinic(), patient());
    let envelope = seal(clinic.public_identity(), b"it's me", Some(&patient)).unwrap();
    let opened = open(&clinic, &envelope).unwrap();
    assert_eq!(opened.message(), b"it's me");
    assert_eq!(opened.sender(), Some(patient.public_identity()));
}

#[test]
fn sealing_twice_gives_unrelated_envelopes() {
    let clinic = clinic();
    let a = seal(clinic.public_identity(), b"same", None).unwrap();
    let b = seal(clinic.public_identity(), b"same", None).unwrap();
    assert_eq!(a.len(), b.len());
    assert_ne!(a[10..], b[10..]);
}

#[test]
fn fixed_randomness_is_deterministic() {
    let clinic = clinic();
    let a = seal_with(clinic.public_identity(), b"x", None, [5; 32], [6; 24]).unwrap();
    let b = seal_with(clinic.public_identity(), b"x", None, [5; 32], [6; 24]).unwrap();
    assert_eq!(a, b);
    assert_eq!(open(&clinic, &a).unwrap().message(), b"x");
}

#[test]
fn padding_hides_the_exact_length() {
    let clinic = clinic();
    let short = seal(clinic.public_identity(), b"yes", None).unwrap();
    let longer = seal(
        clinic.public_identity(),
        b"I'd like to reschedule to Tuesday.",
        None,
    )
    .unwrap();
    assert_eq!(short.len(), longer.len());
    assert_eq!(short.len(), MIN_SEALED_ENVELOPE_LEN);
}

#[test]
fn every_single_bit_flip_is_rejected_with_a_specific_code() {
    let (clinic, patient) = (clinic(), patient());
    for sender in [None, Some(&patient)] {
        let envelope = seal(clinic.public_identity(), b"HbA1c 6.1%", sender).unwrap();
        for bit in 0..envelope.len() * 8 {
            let mut tampered = envelope.clone();
            tampered[bit / 8] ^= 1 << (bit % 8);
            let got = code(open(&clinic, &tampered));
            let expected: &[&str] = match bit / 8 {
                0 => &["unsupported_version"],
                1 => &["malformed_envelope"],
                2..=9 => &["wrong_recipient"],
                10..=41 => &["decrypt_failed", "non_contributory_key"],
                _ => &["decrypt_failed"],
            };
            assert!(expected.contains(&got), "bit {bit}: {got}");
        }
        // The untouched envelope still opens: nothing was consumed.
        assert!(open(&clinic, &envelope).is_ok());
    }
}

#[test]
fn wrong_recipient_is_rejected() {
    let (clinic, patient) = (clinic(), patient());
    let envelope = seal(clinic.public_identity(), b"for the clinic", None).unwrap();
    assert_eq!(code(open(&patient, &envelope)), "wrong_recipient");
}

#[test]
fn readdressed_envelope_fails_authentication() {
    // A relay rewrites the hint to another recipient's: it still cannot
    // make the envelope open for them.
    let (clinic, patient) = (clinic(), patient());
    let mut envelope = seal(clinic.public_identity(), b"for the clinic", None).unwrap();
    envelope[2..10].copy_from_slice(&recipient_hint(patient.public_identity()));
    assert_eq!(code(open(&patient, &envelope)), "decrypt_failed");
}

#[test]
fn low_order_ephemeral_keys_are_rejected() {
    let clinic = clinic();
    let envelope = seal(clinic.public_identity(), b"hello", None).unwrap();
    for point in LOW_ORDER_POINTS {
        let mut tampered = envelope.clone();
        tampered[10..42].copy_from_slice(&hex::decode(point).unwrap());
        assert_eq!(
            code(open(&clinic, &tampered)),
            "non_contributory_key",
            "{point}"
        );
    }
}

#[test]
fn structural_defects_get_their_own_codes() {
    let clinic = clinic();
    let envelope = seal(clinic.public_identity(), b"hello", None).unwrap();

    assert_eq!(code(open(&clinic, &[])), "empty_envelope");
    for len in 1..envelope.len() {
        let got = code(open(&clinic, &envelope[..len]));
        assert_eq!(got, "truncated_envelope", "length {len}");
    }

    let mut version = envelope.clone();
    version[0] = 2;
    assert_eq!(code(open(&clinic, &version)), "unsupported_version");
    let mut kind = envelope.clone();
    kind[1] = b'X';
    assert_eq!(code(open(&clinic, &kind)), "malformed_envelope");

    let oversized = vec![SEALED_VERSION; MAX_SEALED_ENVELOPE_LEN + 1];
    assert_eq!(code(open(&clinic, &oversized)), "envelope_too_large");
}

#[test]
fn truncating_a_long_envelope_above_the_minimum_fails_authentication() {
    let clinic = clinic();
    let envelope = seal(clinic.public_identity(), &[7u8; 4000], None).unwrap();
    for cut in [1, 16, 17, 1000] {
        let got = code(open(&clinic, &envelope[..envelope.len() - cut]));
        assert_eq!(got, "decrypt_failed", "cut {cut}");
    }
    let mut extended = envelope.clone();
    extended.push(0);
    assert_eq!(code(open(&clinic, &extended)), "decrypt_failed");
}

#[test]
fn message_size_limit_is_exact() {
    let clinic = clinic();
    let patient = patient();
    let largest = vec![0xabu8; MAX_SEALED_MESSAGE_LEN];
    let envelope = seal(clinic.public_identity(), &largest, Some(&patient)).unwrap();
    assert!(envelope.len() <= MAX_SEALED_ENVELOPE_LEN);
    assert_eq!(open(&clinic, &envelope).unwrap().message(), &largest[..]);

    let too_large = vec![0u8; MAX_SEALED_MESSAGE_LEN + 1];
    assert_eq!(
        seal(clinic.public_identity(), &too_large, None)
            .unwrap_err()
            .code(),
        "message_too_large"
    );
}

/// Encrypts an arbitrary (already padded or not) payload the way `seal` does,
/// so tests can present authenticated but ill-formed contents.
fn seal_raw_payload(recipient: &PublicIdentity, payload: &[u8]) -> Vec<u8> {
    let ephemeral = StaticSecret::from([9u8; 32]);
    let header = SealedHeader {
        recipient_hint: recipient_hint(recipient),
        ephemeral_key: PublicKey::from(&ephemeral).to_bytes(),
        nonce: [3; 24],
    };
    let header_bytes = header.to_bytes();
    let key = derive_key(
        &ephemeral,
        recipient.agreement_key(),
        &header.ephemeral_key,
        recipient,
    )
    .unwrap();
    let ct = aead::xchacha_seal(
        key.as_bytes(),
        &header.nonce,
        &associated_data(&header_bytes, recipient),
        payload,
    )
    .unwrap();
    [&header_bytes[..], &ct].concat()
}

#[test]
fn message_one_over_the_limit_is_refused_on_open_too() {
    // seal refuses it, but anyone can encrypt to a public identity with their
    // own code: an anonymous payload of MAX_SEALED_MESSAGE_LEN + 1 bytes pads
    // into the same bucket as the largest signed message, so the envelope is
    // within MAX_SEALED_ENVELOPE_LEN and authenticates.
    let clinic = clinic();
    let payload = padding::padded(&format::encode_payload(
        None,
        &vec![0x61; MAX_SEALED_MESSAGE_LEN + 1],
    ));
    let envelope = seal_raw_payload(clinic.public_identity(), &payload);
    assert!(envelope.len() <= MAX_SEALED_ENVELOPE_LEN);
    assert_eq!(code(open(&clinic, &envelope)), "message_too_large");

    let payload = padding::padded(&format::encode_payload(
        None,
        &vec![0x61; MAX_SEALED_MESSAGE_LEN],
    ));
    let envelope = seal_raw_payload(clinic.public_identity(), &payload);
    assert_eq!(
        open(&clinic, &envelope).unwrap().message().len(),
        MAX_SEALED_MESSAGE_LEN
    );
}

#[test]
fn forged_sender_signature_is_rejected() {
    let (clinic, patient) = (clinic(), patient());
    let impostor = Identity::from_seeds([0x51; 32], [0x52; 32]);
    // The impostor claims to be the patient but can only sign as itself.
    let payload = padding::padded(&format::encode_payload(
        Some((
            patient.public_identity().as_bytes(),
            &impostor.sign(b"anything"),
        )),
        b"send my records to this address",
    ));
    let envelope = seal_raw_payload(clinic.public_identity(), &payload);
    assert_eq!(code(open(&clinic, &envelope)), "bad_signature");
}

#[test]
fn signature_from_another_envelope_does_not_transfer() {
    // The clinic re-seals a signed message from the patient to a third
    // party: the signature covers the original header, so it fails.
    let (clinic, patient) = (clinic(), patient());
    let third = Identity::from_seeds([0x61; 32], [0x62; 32]);
    let original = seal(clinic.public_identity(), b"consent given", Some(&patient)).unwrap();
    let header_bytes = &original[..SEALED_HEADER_LEN];
    let signature = patient.sign(&sender_signed_bytes(
        header_bytes,
        clinic.public_identity(),
        patient.public_identity().as_bytes(),
        b"consent given",
    ));
    let payload = padding::padded(&format::encode_payload(
        Some((patient.public_identity().as_bytes(), &signature)),
        b"consent given",
    ));
    let forwarded = seal_raw_payload(third.public_identity(), &payload);
    assert_eq!(code(open(&third, &forwarded)), "bad_signature");
}

#[test]
fn authenticated_but_malformed_payloads_are_rejected() {
    let clinic = clinic();
    // Unknown sender flag.
    let payload = padding::padded(&[0x07, b'h', b'i']);
    assert_eq!(
        code(open(
            &clinic,
            &seal_raw_payload(clinic.public_identity(), &payload)
        )),
        "malformed_envelope"
    );
    // Signed flag with too few bytes for identity and signature.
    let payload = padding::padded(&[0x01; 40]);
    assert_eq!(
        code(open(
            &clinic,
            &seal_raw_payload(clinic.public_identity(), &payload)
        )),
        "malformed_envelope"
    );
    // Non-canonical padding (a zero-filled block without the marker).
    let payload = vec![0u8; 256];
    assert_eq!(
        code(open(
            &clinic,
            &seal_raw_payload(clinic.public_identity(), &payload)
        )),
        "malformed_envelope"
    );
}

#[test]
fn inspect_shows_only_cleartext_parts() {
    let clinic = clinic();
    let envelope = seal(clinic.public_identity(), b"private", None).unwrap();
    let summary = inspect(&envelope).unwrap();
    assert_eq!(summary.version, SEALED_VERSION);
    assert_eq!(summary.kind, SEALED_KIND);
    assert_eq!(summary.total_len, envelope.len());
    assert_eq!(summary.ciphertext_len, envelope.len() - SEALED_HEADER_LEN);
    assert_eq!(summary.ephemeral_key, hex::encode(&envelope[10..42]));
    assert_eq!(inspect(&[]).unwrap_err().code(), "empty_envelope");
}

#[test]
fn opened_message_debug_is_redacted() {
    let clinic = clinic();
    let envelope = seal(clinic.public_identity(), b"diagnosis: flu", None).unwrap();
    let debug = format!("{:?}", open(&clinic, &envelope).unwrap());
    assert!(
        !debug.contains("flu") && debug.contains("[redacted]"),
        "{debug}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_message_round_trips(message in proptest::collection::vec(any::<u8>(), 0..3000), signed in any::<bool>()) {
        let (clinic, patient) = (clinic(), patient());
        let sender = signed.then_some(&patient);
        let envelope = seal(clinic.public_identity(), &message, sender).unwrap();
        let opened = open(&clinic, &envelope).unwrap();
        prop_assert_eq!(opened.message(), &message[..]);
        prop_assert_eq!(opened.sender().is_some(), signed);
    }

    #[test]
    fn arbitrary_bytes_never_open(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let clinic = clinic();
        prop_assert!(open(&clinic, &bytes).is_err());
    }
}

/// The `key: value` lines of the PROTOCOL.md §3.6 vector block.
fn protocol_vector(key: &str) -> String {
    let block = crate::test_support::PROTOCOL_MD
        .split("<!-- vector:sealed -->")
        .nth(1)
        .and_then(|rest| rest.split("```").nth(1))
        .expect("PROTOCOL.md keeps the sealed vector block");
    block
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {key} in the vector block"))
        .trim()
        .to_string()
}

fn vector_bytes(key: &str) -> Vec<u8> {
    hex::decode(protocol_vector(key)).unwrap()
}

fn vector_array<const N: usize>(key: &str) -> [u8; N] {
    vector_bytes(key).try_into().unwrap()
}

#[test]
fn protocol_md_vectors_match_the_code() {
    let recipient = Identity::from_seeds(
        vector_array("recipient x25519 seed"),
        vector_array("recipient ed25519 seed"),
    );
    let sender = Identity::from_seeds(
        vector_array("sender x25519 seed"),
        vector_array("sender ed25519 seed"),
    );
    let us = recipient.public_identity();
    assert_eq!(us.as_bytes().to_vec(), vector_bytes("recipient identity"));
    assert_eq!(
        us.fingerprint().to_string(),
        protocol_vector("recipient fingerprint")
    );
    assert_eq!(recipient_hint(us).to_vec(), vector_bytes("recipient hint"));
    assert_eq!(
        sender.public_identity().as_bytes().to_vec(),
        vector_bytes("sender identity")
    );

    let message = vector_bytes("message");
    let ephemeral = vector_array("ephemeral seed");
    let nonce = vector_array("nonce");
    let anonymous = seal_with(us, &message, None, ephemeral, nonce).unwrap();
    assert_eq!(anonymous, vector_bytes("anonymous envelope"));
    let signed = seal_with(us, &message, Some(&sender), ephemeral, nonce).unwrap();
    assert_eq!(signed, vector_bytes("signed envelope"));

    assert_eq!(
        open(&recipient, &anonymous).unwrap().message(),
        &message[..]
    );
    let opened = open(&recipient, &signed).unwrap();
    assert_eq!(opened.sender(), Some(sender.public_identity()));
}

#[test]
fn protocol_md_limits_match_the_code() {
    use crate::test_support::protocol_md_limit;
    assert_eq!(
        protocol_md_limit("MAX_SEALED_MESSAGE_LEN").unwrap(),
        MAX_SEALED_MESSAGE_LEN
    );
    assert_eq!(
        protocol_md_limit("MAX_SEALED_ENVELOPE_LEN").unwrap(),
        MAX_SEALED_ENVELOPE_LEN
    );
    assert_eq!(
        protocol_md_limit("MIN_SEALED_ENVELOPE_LEN").unwrap(),
        MIN_SEALED_ENVELOPE_LEN
    );
}
