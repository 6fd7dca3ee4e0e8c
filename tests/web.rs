//! The core behaviours again, through the JavaScript bindings, in Node and in
//! headless Chromium (`scripts/test.sh` runs this file in both).
#![cfg(target_arch = "wasm32")]

use careseal::wasm::{
    Account, AttachmentDecryptor, AttachmentEncryptor, AttachmentExporter, Identity,
    PublicIdentity, Session, StorageKey, decrypt_attachment, describe_attachment,
    encrypt_attachment, export_plain_age, inspect_envelope, inspect_session_message, limits, seal,
    session_id_of,
};
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

/// The `code` property of a thrown CareSeal error, after checking it is a JS
/// `Error` named `CareSealError`.
fn code_of(error: JsValue) -> String {
    let error: js_sys::Error = error.dyn_into().expect("a JS Error");
    assert_eq!(String::from(error.name()), "CareSealError");
    Reflect::get(&error, &"code".into())
        .unwrap()
        .as_string()
        .expect("a string code")
}

fn bytes(value: &[u8]) -> JsValue {
    Uint8Array::from(value).into()
}

#[wasm_bindgen_test]
fn sealed_round_trip_with_text_and_bytes() {
    let clinic = Identity::generate().unwrap();
    let envelope = seal(&clinic.public_identity(), "refill, please".into()).unwrap();
    let opened = clinic.open(&envelope).unwrap();
    assert_eq!(opened.text().unwrap(), "refill, please");
    assert!(opened.sender().is_none());

    let envelope = seal(&clinic.public_identity(), bytes(&[0, 159, 255])).unwrap();
    let opened = clinic.open(&envelope).unwrap();
    assert_eq!(opened.message().to_vec(), vec![0, 159, 255]);
    assert_eq!(code_of(opened.text().unwrap_err()), "invalid_utf8");
}

#[wasm_bindgen_test]
fn signed_sender_is_reported() {
    let clinic = Identity::generate().unwrap();
    let patient = Identity::generate().unwrap();
    let envelope = patient
        .seal_signed(&clinic.public_identity(), "from me".into())
        .unwrap();
    let sender = clinic.open(&envelope).unwrap().sender().unwrap();
    assert!(sender.equals(&patient.public_identity()));
    assert_eq!(
        sender.fingerprint(),
        patient.public_identity().fingerprint()
    );
}

#[wasm_bindgen_test]
fn every_bit_flip_is_rejected_and_the_identity_still_works() {
    let clinic = Identity::generate().unwrap();
    let envelope = seal(&clinic.public_identity(), "lab result".into()).unwrap();
    for bit in 0..envelope.len() * 8 {
        let mut tampered = envelope.clone();
        tampered[bit / 8] ^= 1 << (bit % 8);
        let code = code_of(clinic.open(&tampered).unwrap_err());
        assert!(
            [
                "unsupported_version",
                "malformed_envelope",
                "wrong_recipient",
                "decrypt_failed",
                "non_contributory_key"
            ]
            .contains(&code.as_str()),
            "bit {bit}: {code}"
        );
    }
    assert_eq!(
        clinic.open(&envelope).unwrap().text().unwrap(),
        "lab result"
    );
}

#[wasm_bindgen_test]
fn bad_envelopes_get_specific_codes() {
    let clinic = Identity::generate().unwrap();
    let other = Identity::generate().unwrap();
    let envelope = seal(&clinic.public_identity(), "hi".into()).unwrap();

    assert_eq!(code_of(clinic.open(&[]).unwrap_err()), "empty_envelope");
    assert_eq!(
        code_of(clinic.open(&envelope[..envelope.len() - 1]).unwrap_err()),
        "truncated_envelope"
    );
    assert_eq!(
        code_of(other.open(&envelope).unwrap_err()),
        "wrong_recipient"
    );
    let mut version = envelope.clone();
    version[0] = 9;
    assert_eq!(
        code_of(clinic.open(&version).unwrap_err()),
        "unsupported_version"
    );

    let max = Reflect::get(&limits().unwrap(), &"maxSealedEnvelopeLen".into())
        .unwrap()
        .as_f64()
        .unwrap() as usize;
    let oversized = vec![1u8; max + 1];
    assert_eq!(
        code_of(clinic.open(&oversized).unwrap_err()),
        "envelope_too_large"
    );

    let max_message = Reflect::get(&limits().unwrap(), &"maxSealedMessageLen".into())
        .unwrap()
        .as_f64()
        .unwrap() as usize;
    let too_long = vec![b'a'; max_message + 1];
    assert_eq!(
        code_of(seal(&clinic.public_identity(), bytes(&too_long)).unwrap_err()),
        "message_too_large"
    );
    assert_eq!(
        code_of(seal(&clinic.public_identity(), JsValue::from(42)).unwrap_err()),
        "invalid_argument"
    );
}

#[wasm_bindgen_test]
fn public_identity_text_form_and_validation() {
    let id = Identity::generate().unwrap().public_identity();
    let parsed = PublicIdentity::from_text(&id.to_text()).unwrap();
    assert!(parsed.equals(&id));
    assert!(
        PublicIdentity::from_bytes(&id.to_bytes())
            .unwrap()
            .equals(&id)
    );
    assert_eq!(
        code_of(PublicIdentity::from_text("nope").unwrap_err()),
        "malformed_key"
    );

    let mut low_order = id.to_bytes();
    low_order[1..33].fill(0);
    assert_eq!(
        code_of(PublicIdentity::from_bytes(&low_order).unwrap_err()),
        "non_contributory_key"
    );
    let fingerprint = id.fingerprint();
    assert_eq!(fingerprint.len(), 35);
}

#[wasm_bindgen_test]
fn inspect_reveals_only_the_cleartext_header() {
    let clinic = Identity::generate().unwrap();
    let envelope = seal(&clinic.public_identity(), "secret".into()).unwrap();
    let summary = inspect_envelope(&envelope).unwrap();
    let get = |k: &str| Reflect::get(&summary, &k.into()).unwrap();
    assert_eq!(get("version").as_f64(), Some(1.0));
    assert_eq!(get("totalLen").as_f64(), Some(envelope.len() as f64));
    assert_eq!(get("ephemeralKey").as_string().unwrap().len(), 64);
    assert_eq!(
        code_of(inspect_envelope(&[]).unwrap_err()),
        "empty_envelope"
    );
}

fn storage_key(byte: u8) -> StorageKey {
    StorageKey::new(&Uint8Array::from(&[byte; 32][..])).unwrap()
}

#[wasm_bindgen_test]
fn rolled_back_session_never_reuses_key_and_nonce() {
    let (_, _, mut a, mut b) = established();
    a.decrypt(&b.encrypt("ok".into()).unwrap()).unwrap();
    let key = StorageKey::generate().unwrap();
    let saved = a.export(&key).unwrap();
    let receiver_saved = b.export(&key).unwrap();
    // Two tabs restore the same state and send different messages.
    let c1 = a.encrypt("biopsy: benign.".into()).unwrap();
    let mut tab = Session::import(&key, &saved).unwrap();
    let c2 = tab.encrypt("biopsy: malign.".into()).unwrap();
    assert_eq!(c1[..50], c2[..50], "same chain position");
    assert_eq!(c1.len(), c2.len());
    // Header 74 bytes (the last 24 the nonce), then the padded ciphertext.
    assert_ne!(c1[50..74], c2[50..74], "fresh nonce per message");
    let xor_c: Vec<u8> = c1[74..].iter().zip(&c2[74..]).map(|(x, y)| x ^ y).collect();
    let mut xor_p = vec![0u8; xor_c.len() - 16];
    for (i, (x, y)) in b"biopsy: benign."
        .iter()
        .zip(b"biopsy: malign.")
        .enumerate()
    {
        xor_p[i] = x ^ y;
    }
    assert_ne!(&xor_c[..xor_p.len()], &xor_p[..], "no shared keystream");
    assert_eq!(b.decrypt_text(&c1).unwrap(), "biopsy: benign.");
    assert_eq!(code_of(b.decrypt(&c1).unwrap_err()), "replayed_message");
    let mut other = Session::import(&key, &receiver_saved).unwrap();
    assert_eq!(other.decrypt_text(&c2).unwrap(), "biopsy: malign.");
    assert_eq!(code_of(other.decrypt(&c2).unwrap_err()), "replayed_message");
}

#[wasm_bindgen_test]
fn accept_refuses_unexpected_initiators_and_changes_nothing() {
    let alice = Account::new().unwrap();
    let carol = Account::new().unwrap();
    let mut bob = Account::new().unwrap();
    bob.generate_one_time_prekeys(1).unwrap();
    let mut a = Session::initiate(&alice, &bob.prekey_bundle(), None).unwrap();
    let first = a.encrypt("from alice".into()).unwrap();
    assert_eq!(
        code_of(
            bob.accept_session(&first, &carol.public_identity())
                .unwrap_err()
        ),
        "identity_mismatch"
    );
    let refuse = js_sys::Function::new_with_args("initiator", "return false");
    assert_eq!(
        code_of(bob.accept_session_if(&first, &refuse).unwrap_err()),
        "identity_mismatch"
    );
    let truthy_but_not_true = js_sys::Function::new_with_args("initiator", "return 1");
    assert_eq!(
        code_of(
            bob.accept_session_if(&first, &truthy_but_not_true)
                .unwrap_err()
        ),
        "identity_mismatch"
    );
    let throws = js_sys::Function::new_with_args("initiator", "throw new Error('no')");
    let thrown: js_sys::Error = bob
        .accept_session_if(&first, &throws)
        .unwrap_err()
        .dyn_into()
        .unwrap();
    assert_eq!(String::from(thrown.message()), "no");
    assert_eq!(bob.one_time_prekey_count(), 1);
    let expected = alice.public_identity().to_text();
    let approve = js_sys::Function::new_with_args(
        "initiator",
        &format!("return initiator.toText() === '{expected}'"),
    );
    let accepted = bob.accept_session_if(&first, &approve).unwrap();
    assert_eq!(accepted.text().unwrap(), "from alice");
    assert_eq!(bob.one_time_prekey_count(), 0);
}

fn established() -> (Account, Account, Session, Session) {
    let alice = Account::new().unwrap();
    let mut bob = Account::new().unwrap();
    bob.generate_one_time_prekeys(2).unwrap();
    let mut a = Session::initiate(&alice, &bob.prekey_bundle(), None).unwrap();
    let first = a.encrypt("hello from the patient".into()).unwrap();
    let mut accepted = bob
        .accept_session(&first, &alice.public_identity())
        .unwrap();
    assert_eq!(accepted.text().unwrap(), "hello from the patient");
    let b = accepted.take_session().unwrap();
    assert_eq!(
        code_of(accepted.take_session().unwrap_err()),
        "already_taken"
    );
    (alice, bob, a, b)
}

#[wasm_bindgen_test]
fn session_conversation_with_out_of_order_delivery() {
    let (alice, bob, mut a, mut b) = established();
    assert_eq!(a.session_id(), b.session_id());
    assert!(b.peer_identity().equals(&alice.public_identity()));
    assert!(a.peer_identity().equals(&bob.public_identity()));
    assert_eq!(
        session_id_of(&b.encrypt("x".into()).unwrap()).unwrap(),
        a.session_id()
    );
    let late = b.encrypt("first reply".into()).unwrap();
    let early = b.encrypt("second reply".into()).unwrap();
    assert_eq!(a.decrypt_text(&early).unwrap(), "second reply");
    assert_eq!(a.decrypt_text(&late).unwrap(), "first reply");
    assert!(!a.awaiting_reply());
    for turn in 0..6 {
        let m = a.encrypt(format!("a{turn}").into()).unwrap();
        assert_eq!(b.decrypt_text(&m).unwrap(), format!("a{turn}"));
        let r = b.encrypt(bytes(&[turn])).unwrap();
        assert_eq!(a.decrypt(&r).unwrap().to_vec(), vec![turn]);
    }
}

#[wasm_bindgen_test]
fn session_bad_input_gets_specific_codes_and_changes_nothing() {
    let (alice, mut bob, mut a, mut b) = established();
    let m = a.encrypt("BP 120/80".into()).unwrap();
    let mut tampered = m.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert_eq!(code_of(b.decrypt(&tampered).unwrap_err()), "decrypt_failed");
    assert_eq!(
        code_of(b.decrypt(&m[..60]).unwrap_err()),
        "truncated_message"
    );
    assert_eq!(code_of(b.decrypt(&[]).unwrap_err()), "empty_message");
    assert_eq!(b.decrypt_text(&m).unwrap(), "BP 120/80");
    assert_eq!(code_of(b.decrypt(&m).unwrap_err()), "replayed_message");
    assert_eq!(
        code_of(
            bob.accept_session(&m, &alice.public_identity())
                .unwrap_err()
        ),
        "replayed_message"
    );

    let (_, _, mut other, _) = established();
    let foreign = other.encrypt("not yours".into()).unwrap();
    assert_eq!(code_of(b.decrypt(&foreign).unwrap_err()), "wrong_session");

    let mut forged = bob.prekey_bundle();
    forged[120] ^= 1;
    let stranger = Account::new().unwrap();
    assert_eq!(
        code_of(Session::initiate(&stranger, &forged, None).unwrap_err()),
        "bad_prekey_signature"
    );
    assert_eq!(
        code_of(
            Session::initiate(
                &stranger,
                &bob.prekey_bundle(),
                Some(stranger.public_identity())
            )
            .unwrap_err()
        ),
        "identity_mismatch"
    );
    let next = a.encrypt("still works".into()).unwrap();
    assert_eq!(b.decrypt_text(&next).unwrap(), "still works");
}

#[wasm_bindgen_test]
fn exported_state_restores_and_rejects_wrong_keys() {
    let (alice, _, mut a, b) = established();
    let key = storage_key(7);
    let blob = b.export(&key).unwrap();
    let mut restored = Session::import(&key, &blob).unwrap();
    let m = a.encrypt("after reload".into()).unwrap();
    assert_eq!(restored.decrypt_text(&m).unwrap(), "after reload");
    assert_eq!(
        code_of(Session::import(&storage_key(8), &blob).unwrap_err()),
        "pickle_decrypt_failed"
    );
    assert_eq!(
        code_of(StorageKey::new(&Uint8Array::from(&[8u8; 31][..])).unwrap_err()),
        "invalid_storage_key"
    );
    let account_blob = alice.export(&key).unwrap();
    let again = Account::import(&key, &account_blob).unwrap();
    assert!(again.public_identity().equals(&alice.public_identity()));
    assert_eq!(
        code_of(Session::import(&key, &account_blob).unwrap_err()),
        "malformed_pickle"
    );
    let summary = inspect_session_message(&m).unwrap();
    assert_eq!(
        Reflect::get(&summary, &"kind".into())
            .unwrap()
            .as_string()
            .unwrap(),
        "prekey"
    );
}

fn encrypt_in_pieces(plaintext: &[u8], piece: usize) -> (Vec<u8>, Uint8Array) {
    let mut encryptor = AttachmentEncryptor::new().unwrap();
    assert_eq!(
        code_of(encryptor.descriptor("x", "").unwrap_err()),
        "not_finished"
    );
    let mut file = Vec::new();
    for part in plaintext.chunks(piece) {
        file.extend(encryptor.push(&Uint8Array::from(part)).unwrap());
    }
    while let Some(padding) = encryptor.pad().unwrap() {
        file.extend(padding);
    }
    file.extend(encryptor.finish().unwrap());
    assert_eq!(
        code_of(encryptor.push(&Uint8Array::from(&[1u8][..])).unwrap_err()),
        "already_finished"
    );
    let descriptor = encryptor.descriptor("scan.pdf", "application/pdf").unwrap();
    (file, descriptor)
}

#[wasm_bindgen_test]
fn attachments_stream_in_and_out_at_chunk_edges() {
    for len in [0usize, 1, 65535, 65536, 65537, 300_000] {
        let plaintext: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        let (file, descriptor) = encrypt_in_pieces(&plaintext, 10_000);
        let mut decryptor = AttachmentDecryptor::from_descriptor(&descriptor).unwrap();
        let mut out = Vec::new();
        for part in file.chunks(7_777) {
            out.extend(decryptor.push(part).unwrap().to_vec());
        }
        out.extend(decryptor.finish().unwrap().to_vec());
        assert_eq!(out, plaintext, "size {len}");
        assert_eq!(
            decrypt_attachment(&descriptor, &file).unwrap().to_vec(),
            plaintext
        );
    }
}

#[wasm_bindgen_test]
fn attachment_errors_have_codes() {
    let plaintext = Uint8Array::from(&vec![9u8; 200_000][..]);
    let whole = encrypt_attachment(&plaintext, "a.bin", "application/octet-stream").unwrap();
    let (file, descriptor) = (whole.file(), whole.descriptor());
    let info = describe_attachment(&descriptor).unwrap();
    assert_eq!(
        Reflect::get(&info, &"ciphertextLength".into())
            .unwrap()
            .as_f64(),
        Some(file.len() as f64)
    );
    assert_eq!(
        Reflect::get(&info, &"plaintextLength".into())
            .unwrap()
            .as_f64(),
        Some(200_000.0)
    );
    let mut tampered = file.clone();
    tampered[1000] ^= 1;
    assert_eq!(
        code_of(decrypt_attachment(&descriptor, &tampered).unwrap_err()),
        "digest_mismatch"
    );
    let mut streaming = AttachmentDecryptor::from_descriptor(&descriptor).unwrap();
    assert_eq!(
        code_of(streaming.push(&tampered).unwrap_err()),
        "chunk_tampered"
    );
    assert_eq!(
        code_of(decrypt_attachment(&descriptor, &file[..file.len() - 1]).unwrap_err()),
        "truncated_attachment"
    );
    let other = encrypt_attachment(&Uint8Array::from(&b"other"[..]), "other.txt", "").unwrap();
    let mut wrong = AttachmentDecryptor::from_descriptor(&other.descriptor()).unwrap();
    assert_eq!(code_of(wrong.push(&file).unwrap_err()), "length_mismatch");
    assert_eq!(
        code_of(AttachmentDecryptor::from_descriptor(&descriptor.subarray(0, 10)).unwrap_err()),
        "malformed_descriptor"
    );
    assert_eq!(
        code_of(encrypt_attachment(&plaintext, "  ", "").unwrap_err()),
        "malformed_descriptor"
    );
}

#[wasm_bindgen_test]
fn attachments_are_padded_and_export_to_the_exact_bytes() {
    let sizes = [1000usize, 1010];
    let mut lengths = Vec::new();
    for len in sizes {
        let plaintext: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let whole = encrypt_attachment(&Uint8Array::from(&plaintext[..]), "a.bin", "").unwrap();
        let (file, descriptor) = (whole.file(), whole.descriptor());
        lengths.push(file.len());
        let exported = export_plain_age(&descriptor, &file).unwrap();
        let mut reader = AttachmentDecryptor::from_age_identity(&exported.identity()).unwrap();
        let mut out = reader.push(&exported.file()).unwrap().to_vec();
        out.extend(reader.finish().unwrap().to_vec());
        assert_eq!(out, plaintext, "size {len}");
        let mut exporter = AttachmentExporter::from_descriptor(&descriptor).unwrap();
        assert_eq!(
            code_of(exporter.age_identity().unwrap_err()),
            "not_finished"
        );
        let mut streamed = exporter.push(&file).unwrap();
        streamed.extend(exporter.finish().unwrap());
        let mut reader =
            AttachmentDecryptor::from_age_identity(&exporter.age_identity().unwrap()).unwrap();
        let mut out = reader.push(&streamed).unwrap().to_vec();
        out.extend(reader.finish().unwrap().to_vec());
        assert_eq!(out, plaintext, "size {len}");
    }
    // Both sizes pad to 1024 bytes: the stored files are the same length.
    assert_eq!(lengths[0], lengths[1]);
}

#[wasm_bindgen_test]
fn text_with_any_unicode_round_trips_and_prekey_maintenance_takes_milliseconds() {
    let (_, mut bob, mut a, mut b) = established();
    let text = "Résultats: ✓ — 👋 \u{202e}x";
    let message = a.encrypt(text.into()).unwrap();
    assert_eq!(b.decrypt_text(&message).unwrap(), text);
    // A lone surrogate becomes U+FFFD, as TextEncoder does.
    let lone: JsValue = js_sys::JsString::from_char_code1(0xd800).into();
    let message = a.encrypt(lone).unwrap();
    assert_eq!(b.decrypt_text(&message).unwrap(), "\u{fffd}");

    let now = js_sys::Date::now();
    assert_eq!(
        bob.maintain_signed_prekeys(now)
            .unwrap()
            .as_string()
            .unwrap(),
        "started"
    );
    assert_eq!(
        bob.maintain_signed_prekeys(now)
            .unwrap()
            .as_string()
            .unwrap(),
        "unchanged"
    );
    for wrong in [now / 1000.0, -1.0, f64::NAN, f64::INFINITY, 1e20] {
        assert_eq!(
            code_of(bob.maintain_signed_prekeys(wrong).unwrap_err()),
            "invalid_argument"
        );
    }
}
