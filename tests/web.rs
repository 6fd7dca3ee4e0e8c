//! The core behaviours again, through the JavaScript bindings, in Node and in
//! headless Chromium (`scripts/test.sh` runs this file in both).
#![cfg(target_arch = "wasm32")]

use careseal::wasm::{
    Account, AttachmentDecryptor, AttachmentEncryptor, AttachmentExporter, DeviceList,
    ExistingDeviceLink, Identity, InvitationCode, InvitationLink, MessageEnvelope, NewDeviceLink,
    PinnedDeviceList, PublicIdentity, PublicUserIdentity, Session, StorageKey, UserIdentity,
    decrypt_attachment, describe_attachment, encode_attachment_message, encode_control_message,
    encode_text_message, encrypt_attachment, export_plain_age, inspect_envelope,
    inspect_session_message, limits, safety_number, seal, session_id_of, verify_registration,
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

#[wasm_bindgen_test]
fn user_identity_exports_and_safety_numbers_are_symmetric() {
    let alice = UserIdentity::generate().unwrap();
    let bob = UserIdentity::generate().unwrap();
    let key = storage_key(3);
    let blob = alice.export(&key).unwrap();
    let again = UserIdentity::import(&key, &blob).unwrap();
    assert!(again.public_identity().equals(&alice.public_identity()));
    assert!(!again.public_identity().equals(&bob.public_identity()));
    assert_eq!(
        code_of(UserIdentity::import(&storage_key(4), &blob).unwrap_err()),
        "pickle_decrypt_failed"
    );
    let device_blob = Identity::generate().unwrap().export(&key).unwrap();
    assert_eq!(
        code_of(UserIdentity::import(&key, &device_blob).unwrap_err()),
        "malformed_pickle"
    );

    let public = alice.public_identity();
    assert_eq!(public.to_bytes().len(), 33);
    assert_eq!(public.to_text().len(), 44);
    assert!(
        PublicUserIdentity::from_text(&public.to_text())
            .unwrap()
            .equals(&public)
    );
    assert!(
        PublicUserIdentity::from_bytes(&public.to_bytes())
            .unwrap()
            .equals(&public)
    );
    assert_eq!(
        code_of(PublicUserIdentity::from_text("nope").unwrap_err()),
        "malformed_user_key"
    );
    let mut version = public.to_bytes();
    version[0] = 9;
    assert_eq!(
        code_of(PublicUserIdentity::from_bytes(&version).unwrap_err()),
        "unsupported_version"
    );

    let number = safety_number(&alice.public_identity(), &bob.public_identity());
    assert_eq!(
        number,
        safety_number(&bob.public_identity(), &alice.public_identity())
    );
    // Twelve groups of five digits; each user's fingerprint is one half.
    assert_eq!(number.len(), 71);
    assert_eq!(public.fingerprint().len(), 35);
    assert!(number.contains(&public.fingerprint()));
    assert!(number.contains(&bob.public_identity().fingerprint()));
}

#[wasm_bindgen_test]
fn device_lists_are_signed_verified_pinned_and_updated() {
    let alice = UserIdentity::generate().unwrap();
    let mallory = UserIdentity::generate().unwrap();
    let phone = Identity::generate().unwrap().public_identity();
    let laptop = Identity::generate().unwrap().public_identity();

    let v1 = DeviceList::create("u_alice", "d_phone", &phone).unwrap();
    assert_eq!((v1.user_id().as_str(), v1.version()), ("u_alice", 1));
    assert_eq!(v1.device_ids(), vec!["d_phone"]);
    let signed1 = v1.sign(&alice);
    let verified = DeviceList::verify(&signed1, &alice.public_identity()).unwrap();
    assert_eq!(verified.device_ids(), vec!["d_phone"]);
    assert!(verified.identity_of("d_phone").unwrap().equals(&phone));
    assert!(verified.identity_of("d_laptop").is_none());
    assert_eq!(
        code_of(DeviceList::verify(&signed1, &mallory.public_identity()).unwrap_err()),
        "bad_device_list_signature"
    );

    let pinned = PinnedDeviceList::pin("u_alice", &alice.public_identity(), &signed1).unwrap();
    assert_eq!(pinned.user_id(), "u_alice");
    assert!(pinned.user_key().equals(&alice.public_identity()));
    assert_eq!(
        code_of(PinnedDeviceList::pin("u_bob", &alice.public_identity(), &signed1).unwrap_err()),
        "device_list_user_mismatch"
    );

    // A device is added.
    let v2 = v1.with_device("d_laptop", &laptop).unwrap();
    assert_eq!((v1.version(), v2.version()), (1, 2));
    assert_eq!(v2.device_ids(), vec!["d_laptop", "d_phone"]);
    let signed2 = v2.sign(&alice);
    let change = pinned.update(&alice.public_identity(), &signed2).unwrap();
    assert_eq!(change.added(), vec!["d_laptop"]);
    assert!(change.removed().is_empty());
    assert!(!change.unchanged());
    let pinned = change.pinned();
    assert_eq!(pinned.list().version(), 2);
    assert!(
        pinned
            .update(&alice.public_identity(), &signed2)
            .unwrap()
            .unchanged()
    );
    assert_eq!(
        code_of(
            pinned
                .update(&alice.public_identity(), &signed1)
                .unwrap_err()
        ),
        "stale_device_list"
    );

    // Another key signs a list for the same user id: as the claimed key, a
    // changed identity; as the pinned key's list, a bad signature.
    let forged = DeviceList::create("u_alice", "d_evil", &laptop)
        .unwrap()
        .with_device("d_evil2", &phone)
        .unwrap()
        .with_device("d_evil3", &Identity::generate().unwrap().public_identity())
        .unwrap()
        .sign(&mallory);
    assert_eq!(
        code_of(
            pinned
                .update(&mallory.public_identity(), &forged)
                .unwrap_err()
        ),
        "user_key_changed"
    );
    assert_eq!(
        code_of(
            pinned
                .update(&alice.public_identity(), &forged)
                .unwrap_err()
        ),
        "bad_device_list_signature"
    );

    // A device is removed; the pin survives storage.
    let v3 = v2.without_device("d_phone").unwrap();
    let signed3 = v3.sign(&alice);
    let change = pinned.update(&alice.public_identity(), &signed3).unwrap();
    assert!(change.added().is_empty());
    assert_eq!(change.removed(), vec!["d_phone"]);
    let stored = PinnedDeviceList::from_bytes(&change.pinned().to_bytes()).unwrap();
    assert_eq!(stored.user_id(), "u_alice");
    assert!(stored.user_key().equals(&alice.public_identity()));
    assert_eq!(stored.list().device_ids(), vec!["d_laptop"]);
    assert_eq!(stored.signed_bytes(), signed3);
    assert_eq!(
        code_of(PinnedDeviceList::from_bytes(&[]).unwrap_err()),
        "malformed_device_list"
    );

    assert_eq!(
        code_of(DeviceList::create("u alice", "d_phone", &phone).unwrap_err()),
        "invalid_id"
    );
    assert_eq!(
        code_of(v1.with_device("d_tablet", &phone).unwrap_err()),
        "duplicate_device"
    );
    assert_eq!(
        code_of(v1.without_device("d_phone").unwrap_err()),
        "device_count_out_of_range"
    );
    assert_eq!(
        code_of(v1.without_device("d_tablet").unwrap_err()),
        "unknown_device"
    );
}

/// Encodes a text message from Alice's phone in conversation `c_1` and
/// sends it through `session`.
fn send_text(session: &mut Session, device: &str, sequence: u64, text: &str) -> Vec<u8> {
    let plaintext = encode_text_message("c_1", "u_alice", device, sequence, text.into()).unwrap();
    session.encrypt(plaintext.into()).unwrap()
}

#[wasm_bindgen_test]
fn message_envelopes_round_trip_and_are_checked_in_order() {
    let (alice, _, mut a, mut b) = established();
    let other_device = Identity::generate().unwrap().public_identity();
    let alice_user = UserIdentity::generate().unwrap();
    let list = DeviceList::create("u_alice", "d_phone", &alice.public_identity())
        .unwrap()
        .with_device("d_laptop", &other_device)
        .unwrap();
    let devices = PinnedDeviceList::pin(
        "u_alice",
        &alice_user.public_identity(),
        &list.sign(&alice_user),
    )
    .unwrap();
    let remote = b.peer_identity();
    let receive = |b: &mut Session, wire: &[u8]| {
        MessageEnvelope::from_bytes(&b.decrypt(wire).unwrap()).unwrap()
    };

    let first = receive(&mut b, &send_text(&mut a, "d_phone", 1, "first"));
    assert_eq!(first.conversation_id(), "c_1");
    assert_eq!(first.sender_user_id(), "u_alice");
    assert_eq!(first.sender_device_id(), "d_phone");
    assert_eq!(first.sequence(), 1);
    assert_eq!(first.kind(), "text");
    assert_eq!(first.text().unwrap(), "first");
    assert_eq!(code_of(first.attachment().unwrap_err()), "wrong_body_kind");
    assert_eq!(
        code_of(first.control_kind().unwrap_err()),
        "wrong_body_kind"
    );
    let checked = first.check(&remote, &devices, "c_1", None).unwrap();
    assert_eq!((checked.gap(), checked.late()), (0, false));
    let window = checked.window();
    assert_eq!(window.len(), 17);

    // The relay holds back message 2: message 3 shows a gap of one.
    let held = send_text(&mut a, "d_phone", 2, "second");
    let third = receive(&mut b, &send_text(&mut a, "d_phone", 3, "third"));
    let checked = third.check(&remote, &devices, "c_1", Some(window)).unwrap();
    assert_eq!((checked.gap(), checked.late()), (1, false));
    let window = checked.window();

    // Message 2 arrives late and is accepted once.
    let second = receive(&mut b, &held);
    let checked = second
        .check(&remote, &devices, "c_1", Some(window.clone()))
        .unwrap();
    assert_eq!((checked.gap(), checked.late()), (0, true));
    let window = checked.window();

    // A new ciphertext that repeats sequence number 2.
    let replay = receive(&mut b, &send_text(&mut a, "d_phone", 2, "second"));
    assert_eq!(
        code_of(
            replay
                .check(&remote, &devices, "c_1", Some(window.clone()))
                .unwrap_err()
        ),
        "replayed_sequence"
    );

    // Alice's phone claims to be her laptop (listed with another identity).
    let relabelled = receive(&mut b, &send_text(&mut a, "d_laptop", 4, "from my laptop"));
    assert_eq!(
        code_of(
            relabelled
                .check(&remote, &devices, "c_1", Some(window.clone()))
                .unwrap_err()
        ),
        "sender_identity_mismatch"
    );
    let unlisted = receive(&mut b, &send_text(&mut a, "d_tablet", 4, "tablet"));
    assert_eq!(
        code_of(
            unlisted
                .check(&remote, &devices, "c_1", Some(window.clone()))
                .unwrap_err()
        ),
        "sender_not_on_device_list"
    );
    let fourth = receive(&mut b, &send_text(&mut a, "d_phone", 4, "fourth"));
    assert_eq!(
        code_of(
            fourth
                .check(&remote, &devices, "c_2", Some(window.clone()))
                .unwrap_err()
        ),
        "conversation_mismatch"
    );
    assert_eq!(
        code_of(
            fourth
                .check(&remote, &devices, "c_1", Some(vec![1, 2, 3]))
                .unwrap_err()
        ),
        "malformed_message_context"
    );
    let checked = fourth
        .check(&remote, &devices, "c_1", Some(window))
        .unwrap();
    assert_eq!((checked.gap(), checked.late()), (0, false));
}

#[wasm_bindgen_test]
fn attachment_and_control_messages_and_encoding_errors() {
    let descriptor = Uint8Array::from(&[1u8, 2, 3][..]);
    let plaintext = encode_attachment_message("c_1", "u_alice", "d_phone", 7, &descriptor).unwrap();
    let envelope = MessageEnvelope::from_bytes(&plaintext).unwrap();
    assert_eq!(envelope.kind(), "attachment");
    assert_eq!(envelope.sequence(), 7);
    assert_eq!(envelope.attachment().unwrap().to_vec(), vec![1, 2, 3]);
    assert_eq!(code_of(envelope.text().unwrap_err()), "wrong_body_kind");

    let plaintext = encode_control_message("c_1", "u_alice", "d_phone", 8, "read", &[9]).unwrap();
    let envelope = MessageEnvelope::from_bytes(&plaintext).unwrap();
    assert_eq!(envelope.kind(), "control");
    assert_eq!(envelope.control_kind().unwrap(), "read");
    assert_eq!(envelope.control_payload().unwrap().to_vec(), vec![9]);
    assert_eq!(
        code_of(envelope.attachment().unwrap_err()),
        "wrong_body_kind"
    );
    for kind in ["device_list_update", "delivered"] {
        let plaintext = encode_control_message("c_1", "u_alice", "d_phone", 9, kind, &[]).unwrap();
        let envelope = MessageEnvelope::from_bytes(&plaintext).unwrap();
        assert_eq!(envelope.control_kind().unwrap(), kind);
    }
    assert_eq!(
        code_of(encode_control_message("c_1", "u_alice", "d_phone", 9, "typing", &[]).unwrap_err()),
        "invalid_argument"
    );

    let text_bytes = encode_text_message("c_1", "u_alice", "d_phone", 1, bytes("héllo".as_bytes()));
    let envelope = MessageEnvelope::from_bytes(&text_bytes.unwrap()).unwrap();
    assert_eq!(envelope.text().unwrap(), "héllo");
    assert_eq!(
        code_of(encode_text_message("c_1", "u_alice", "d_phone", 1, bytes(&[0xff])).unwrap_err()),
        "invalid_utf8"
    );
    assert_eq!(
        code_of(encode_text_message("c_1", "u_alice", "d_phone", 0, "x".into()).unwrap_err()),
        "invalid_message_context"
    );
    assert_eq!(
        code_of(encode_text_message("c 1", "u_alice", "d_phone", 1, "x".into()).unwrap_err()),
        "invalid_message_context"
    );
    assert_eq!(
        code_of(MessageEnvelope::from_bytes(&Uint8Array::new_with_length(0)).unwrap_err()),
        "malformed_message_context"
    );
}

#[wasm_bindgen_test]
fn invitations_bind_both_user_keys_and_the_first_device_list() {
    let clinician = UserIdentity::generate().unwrap();
    let patient = UserIdentity::generate().unwrap();
    let mallory = UserIdentity::generate().unwrap();
    let code = InvitationCode::generate().unwrap();
    let fragment = String::from(code.link_fragment(&clinician.public_identity()).unwrap());
    assert_eq!(fragment.len(), 90);

    // The patient opens the link and registers.
    let link = InvitationLink::parse_fragment(format!("#{fragment}").into()).unwrap();
    assert!(link.inviter().equals(&clinician.public_identity()));
    assert_eq!(link.redemption_token(), code.redemption_token());
    let phone = Identity::generate().unwrap().public_identity();
    let signed = DeviceList::create("u_patient", "d_phone", &phone)
        .unwrap()
        .sign(&patient);
    let proof = link
        .registration_proof(&patient.public_identity(), &signed)
        .unwrap();
    assert_eq!(proof.len(), 32);

    // The clinician, who kept the code (here as text), verifies and pins.
    let kept = InvitationCode::from_text(code.to_text().unwrap().into()).unwrap();
    assert_eq!(kept.redemption_token(), code.redemption_token());
    let pinned = verify_registration(
        &kept,
        &clinician.public_identity(),
        "u_patient",
        &patient.public_identity(),
        &signed,
        &proof,
    )
    .unwrap();
    assert_eq!(pinned.user_id(), "u_patient");
    assert_eq!(pinned.list().device_ids(), vec!["d_phone"]);
    assert!(pinned.user_key().equals(&patient.public_identity()));
    assert_eq!(
        code_of(
            verify_registration(
                &kept,
                &clinician.public_identity(),
                "u_someone_else",
                &patient.public_identity(),
                &signed,
                &proof,
            )
            .unwrap_err()
        ),
        "invitation_user_mismatch"
    );

    // A proof over another invitee key (and its own list) does not verify
    // as the patient's registration, nor does the patient's proof for it.
    let mallory_signed = DeviceList::create("u_patient", "d_phone", &phone)
        .unwrap()
        .sign(&mallory);
    let mallory_proof = link
        .registration_proof(&mallory.public_identity(), &mallory_signed)
        .unwrap();
    let verify = |invitee: &UserIdentity, signed: &[u8], proof: &[u8]| {
        verify_registration(
            &code,
            &clinician.public_identity(),
            "u_patient",
            &invitee.public_identity(),
            signed,
            proof,
        )
    };
    assert_eq!(
        code_of(verify(&patient, &signed, &mallory_proof).unwrap_err()),
        "invitation_proof_mismatch"
    );
    assert_eq!(
        code_of(verify(&mallory, &mallory_signed, &proof).unwrap_err()),
        "invitation_proof_mismatch"
    );
    assert_eq!(
        code_of(verify(&patient, &mallory_signed, &proof).unwrap_err()),
        "invitation_device_list_invalid"
    );
    assert_eq!(
        code_of(verify(&patient, &signed, &proof[..31]).unwrap_err()),
        "malformed_invitation"
    );
    assert_eq!(
        code_of(
            link.registration_proof(&patient.public_identity(), &mallory_signed)
                .unwrap_err()
        ),
        "invitation_device_list_invalid"
    );

    assert_eq!(
        code_of(InvitationLink::parse_fragment("nope".into()).unwrap_err()),
        "malformed_invitation"
    );
    assert_eq!(
        code_of(InvitationLink::parse_fragment(JsValue::from(3)).unwrap_err()),
        "invalid_argument"
    );
    assert_eq!(
        code_of(InvitationCode::from_text("nope".into()).unwrap_err()),
        "malformed_invitation"
    );
}

/// A time to link at (`Date.now()` milliseconds); offers live 300 000 ms.
const LINK_T0: f64 = 1_700_000_000_000.0;

/// A link up to both sides showing the SAS: the two sides and the existing
/// device's SAS.
fn link_to_sas() -> (ExistingDeviceLink, NewDeviceLink, String) {
    let mut existing = ExistingDeviceLink::offer(LINK_T0).unwrap();
    let mut joining = NewDeviceLink::join(&existing.offer_text(), LINK_T0 + 1.0).unwrap();
    let response = existing
        .accept_commitment(&joining.commitment(), LINK_T0 + 2.0)
        .unwrap();
    let reveal = joining.accept_response(&response, LINK_T0 + 3.0).unwrap();
    let sas = existing.accept_reveal(&reveal, LINK_T0 + 4.0).unwrap();
    (existing, joining, sas)
}

fn new_device() -> PublicIdentity {
    Identity::generate().unwrap().public_identity()
}

#[wasm_bindgen_test]
fn a_device_link_agrees_on_the_sas_and_carries_payload_and_device() {
    let mut existing = ExistingDeviceLink::offer(LINK_T0).unwrap();
    assert_eq!(existing.state(), "awaitingCommitment");
    let text = existing.offer_text();
    assert_eq!(text.len(), 78);
    assert_eq!(existing.offer_id().len(), 22);
    assert_eq!(existing.expires_at_ms(), LINK_T0 + 300_000.0);

    let mut joining = NewDeviceLink::join(&text, LINK_T0 + 1.0).unwrap();
    assert_eq!(joining.state(), "awaitingResponse");
    assert_eq!(joining.offer_id(), existing.offer_id());
    assert_eq!(joining.expires_at_ms(), existing.expires_at_ms());
    let commit = joining.commitment();
    assert_eq!(commit, joining.commitment(), "the same bytes to resend");

    let response = existing.accept_commitment(&commit, LINK_T0 + 2.0).unwrap();
    assert_eq!(existing.state(), "awaitingReveal");
    let reveal = joining.accept_response(&response, LINK_T0 + 3.0).unwrap();
    assert_eq!(joining.state(), "sasCheck");
    let sas = existing.accept_reveal(&reveal, LINK_T0 + 4.0).unwrap();
    assert_eq!(existing.state(), "sasCheck");
    assert_eq!(sas.len(), 6);
    assert!(sas.bytes().all(|b| b.is_ascii_digit()), "{sas}");
    assert_eq!(joining.sas().unwrap(), sas);
    assert_eq!(existing.sas().unwrap(), sas, "asking again changes nothing");

    // The user saw the same digits on both screens and confirms on each.
    let payload = b"user identity export \x00\xff";
    let payload_message = existing.confirm(&Uint8Array::from(&payload[..])).unwrap();
    assert_eq!(existing.state(), "awaitingDevice");
    let tablet = new_device();
    let device_message = joining.confirm("d_tablet", &tablet).unwrap();
    assert_eq!(joining.state(), "awaitingPayload");

    let received = joining.receive_payload(&payload_message).unwrap();
    assert_eq!(received.to_vec(), payload.to_vec());
    assert_eq!(joining.state(), "linked");
    let linked = existing.receive_device(&device_message).unwrap();
    assert_eq!(existing.state(), "linked");
    assert_eq!(linked.device_id(), "d_tablet");
    assert!(linked.identity().equals(&tablet));

    // The existing device puts it on the user's next device list.
    let list = DeviceList::create("u_patient", "d_phone", &new_device())
        .unwrap()
        .with_device(&linked.device_id(), &linked.identity())
        .unwrap();
    assert_eq!(list.device_ids(), vec!["d_phone", "d_tablet"]);
}

#[wasm_bindgen_test]
fn a_relay_joining_the_same_offer_shows_a_different_sas() {
    let mut differ = 0;
    for _ in 0..4 {
        // The relay (which photographed the QR code, say) joins the offer
        // and gets its commitment to the existing device first.
        let mut existing = ExistingDeviceLink::offer(LINK_T0).unwrap();
        let text = existing.offer_text();
        let mut relay = NewDeviceLink::join(&text, LINK_T0).unwrap();
        let mut genuine = NewDeviceLink::join(&text, LINK_T0).unwrap();
        let response = existing
            .accept_commitment(&relay.commitment(), LINK_T0)
            .unwrap();
        let relay_reveal = relay.accept_response(&response, LINK_T0).unwrap();
        genuine.accept_response(&response, LINK_T0).unwrap();
        let existing_sas = existing.accept_reveal(&relay_reveal, LINK_T0).unwrap();
        assert_eq!(relay.sas().unwrap(), existing_sas);
        if genuine.sas().unwrap() != existing_sas {
            differ += 1;
        }

        // The user sees different strings and rejects on both screens:
        // nothing can be sent any more.
        existing.reject();
        genuine.reject();
        assert_eq!(existing.state(), "failed");
        assert_eq!(genuine.state(), "failed");
        assert_eq!(
            code_of(
                existing
                    .confirm(&Uint8Array::from(&b"secret"[..]))
                    .unwrap_err()
            ),
            "link_wrong_state"
        );
        assert_eq!(
            code_of(genuine.confirm("d_tablet", &new_device()).unwrap_err()),
            "link_wrong_state"
        );
    }
    // Equal by chance with probability 10^-6 each.
    assert!(differ >= 3, "{differ}");

    // Having committed, the relay cannot hand on the genuine device's key.
    let mut existing = ExistingDeviceLink::offer(LINK_T0).unwrap();
    let text = existing.offer_text();
    let relay = NewDeviceLink::join(&text, LINK_T0).unwrap();
    let response = existing
        .accept_commitment(&relay.commitment(), LINK_T0)
        .unwrap();
    let mut genuine = NewDeviceLink::join(&text, LINK_T0).unwrap();
    let genuine_reveal = genuine.accept_response(&response, LINK_T0).unwrap();
    assert_eq!(
        code_of(
            existing
                .accept_reveal(&genuine_reveal, LINK_T0)
                .unwrap_err()
        ),
        "link_commitment_mismatch"
    );
    assert_eq!(existing.state(), "failed");
}

#[wasm_bindgen_test]
fn device_link_offers_expire_after_five_minutes_and_times_are_milliseconds() {
    let late = LINK_T0 + 300_001.0;
    let mut existing = ExistingDeviceLink::offer(LINK_T0).unwrap();
    let text = existing.offer_text();
    assert_eq!(
        code_of(NewDeviceLink::join(&text, late).unwrap_err()),
        "link_expired"
    );
    let joining = NewDeviceLink::join(&text, LINK_T0 + 300_000.0).unwrap();
    assert_eq!(
        code_of(
            existing
                .accept_commitment(&joining.commitment(), late)
                .unwrap_err()
        ),
        "link_expired"
    );
    assert_eq!(existing.state(), "failed");

    let mut existing = ExistingDeviceLink::offer(LINK_T0).unwrap();
    let mut joining = NewDeviceLink::join(&existing.offer_text(), LINK_T0).unwrap();
    let response = existing
        .accept_commitment(&joining.commitment(), LINK_T0)
        .unwrap();
    assert_eq!(
        code_of(joining.accept_response(&response, late).unwrap_err()),
        "link_expired"
    );
    assert_eq!(joining.state(), "failed");

    for wrong in [LINK_T0 / 1000.0, -1.0, f64::NAN, f64::INFINITY, 1e20] {
        assert_eq!(
            code_of(ExistingDeviceLink::offer(wrong).unwrap_err()),
            "invalid_argument"
        );
        assert_eq!(
            code_of(NewDeviceLink::join(&text, wrong).unwrap_err()),
            "invalid_argument"
        );
    }
    let mut existing = ExistingDeviceLink::offer(LINK_T0).unwrap();
    let joining = NewDeviceLink::join(&existing.offer_text(), LINK_T0).unwrap();
    assert_eq!(
        code_of(
            existing
                .accept_commitment(&joining.commitment(), f64::NAN)
                .unwrap_err()
        ),
        "invalid_argument"
    );
    assert_eq!(existing.state(), "failed");
    assert_eq!(
        code_of(NewDeviceLink::join(&text[..77], LINK_T0).unwrap_err()),
        "malformed_link_message"
    );
}

#[wasm_bindgen_test]
fn a_device_link_step_out_of_order_throws_and_finishes_the_link() {
    // The new device asks for the SAS before the exchange: the link is
    // over, even for the step it was at.
    let mut existing = ExistingDeviceLink::offer(LINK_T0).unwrap();
    let mut joining = NewDeviceLink::join(&existing.offer_text(), LINK_T0).unwrap();
    assert_eq!(code_of(joining.sas().unwrap_err()), "link_wrong_state");
    assert_eq!(joining.state(), "failed");
    let response = existing
        .accept_commitment(&joining.commitment(), LINK_T0)
        .unwrap();
    assert_eq!(
        code_of(joining.accept_response(&response, LINK_T0).unwrap_err()),
        "link_wrong_state"
    );

    // Confirming before there is a SAS encrypts nothing.
    let mut existing = ExistingDeviceLink::offer(LINK_T0).unwrap();
    assert_eq!(
        code_of(
            existing
                .confirm(&Uint8Array::from(&b"secret"[..]))
                .unwrap_err()
        ),
        "link_wrong_state"
    );
    assert_eq!(existing.state(), "failed");
    assert_eq!(
        code_of(existing.receive_device(&[1, b'D']).unwrap_err()),
        "link_wrong_state"
    );

    // Bad arguments at the right step finish the link too.
    let (mut existing, mut joining, _) = link_to_sas();
    assert_eq!(
        code_of(joining.confirm("d tablet", &new_device()).unwrap_err()),
        "malformed_link_message"
    );
    assert_eq!(joining.state(), "failed");
    let not_bytes: Uint8Array = JsValue::from("secret").unchecked_into();
    assert_eq!(
        code_of(existing.confirm(&not_bytes).unwrap_err()),
        "invalid_argument"
    );
    assert_eq!(existing.state(), "failed");
    let (mut existing, _, _) = link_to_sas();
    assert_eq!(
        code_of(
            existing
                .confirm(&Uint8Array::new_with_length(1024 * 1024 + 1))
                .unwrap_err()
        ),
        "link_payload_too_large"
    );
    assert_eq!(existing.state(), "failed");
}

#[wasm_bindgen_test]
fn a_replayed_device_link_message_throws_and_finishes_the_link() {
    // The commitment again, once answered.
    let mut existing = ExistingDeviceLink::offer(LINK_T0).unwrap();
    let mut joining = NewDeviceLink::join(&existing.offer_text(), LINK_T0).unwrap();
    let commit = joining.commitment();
    let response = existing.accept_commitment(&commit, LINK_T0).unwrap();
    assert_eq!(
        code_of(existing.accept_commitment(&commit, LINK_T0).unwrap_err()),
        "link_wrong_state"
    );
    assert_eq!(existing.state(), "failed");
    let reveal = joining.accept_response(&response, LINK_T0).unwrap();
    assert_eq!(
        code_of(existing.accept_reveal(&reveal, LINK_T0).unwrap_err()),
        "link_wrong_state"
    );

    // The response again, once taken.
    assert_eq!(
        code_of(joining.accept_response(&response, LINK_T0).unwrap_err()),
        "link_wrong_state"
    );
    assert_eq!(joining.state(), "failed");
    assert_eq!(code_of(joining.sas().unwrap_err()), "link_wrong_state");

    // A tampered payload finishes the link: the genuine one is then refused.
    let (mut existing, mut joining, _) = link_to_sas();
    let payload_message = existing.confirm(&Uint8Array::from(&b"pickle"[..])).unwrap();
    joining.confirm("d_tablet", &new_device()).unwrap();
    let mut tampered = payload_message.clone();
    *tampered.last_mut().unwrap() ^= 1;
    assert_eq!(
        code_of(joining.receive_payload(&tampered).unwrap_err()),
        "link_decrypt_failed"
    );
    assert_eq!(joining.state(), "failed");
    assert_eq!(
        code_of(joining.receive_payload(&payload_message).unwrap_err()),
        "link_wrong_state"
    );

    // Once linked, the last messages again are refused; the links stay
    // linked, and reject() no longer changes them.
    let (mut existing, mut joining, _) = link_to_sas();
    let payload_message = existing.confirm(&Uint8Array::from(&b"pickle"[..])).unwrap();
    let device_message = joining.confirm("d_tablet", &new_device()).unwrap();
    joining.receive_payload(&payload_message).unwrap();
    existing.receive_device(&device_message).unwrap();
    assert_eq!(
        code_of(joining.receive_payload(&payload_message).unwrap_err()),
        "link_wrong_state"
    );
    assert_eq!(
        code_of(existing.receive_device(&device_message).unwrap_err()),
        "link_wrong_state"
    );
    existing.reject();
    joining.reject();
    assert_eq!(existing.state(), "linked");
    assert_eq!(joining.state(), "linked");
}

#[wasm_bindgen_test]
fn recipients_are_the_peer_s_devices_and_the_sender_s_other_devices() {
    let pin = |user: &UserIdentity, id: &str, devices: &[(&str, &Identity)]| {
        let mut list =
            DeviceList::create(id, devices[0].0, &devices[0].1.public_identity()).unwrap();
        for (device, identity) in &devices[1..] {
            list = list
                .with_device(device, &identity.public_identity())
                .unwrap();
        }
        PinnedDeviceList::pin(id, &user.public_identity(), &list.sign(user)).unwrap()
    };
    let (patient, clinician) = (
        UserIdentity::generate().unwrap(),
        UserIdentity::generate().unwrap(),
    );
    let (laptop, phone, desk) = (
        Identity::generate().unwrap(),
        Identity::generate().unwrap(),
        Identity::generate().unwrap(),
    );
    let own = pin(
        &patient,
        "u_p",
        &[("d_laptop", &laptop), ("d_phone", &phone)],
    );
    let theirs = pin(&clinician, "u_c", &[("d_desk", &desk)]);
    let targets = own.recipient_devices(&theirs, "d_laptop");
    let ids: Vec<String> = targets.iter().map(|t| t.device_id()).collect();
    assert_eq!(ids, vec!["d_desk", "d_phone"]);
    assert!(targets[0].identity().equals(&desk.public_identity()));
    assert!(targets[1].identity().equals(&phone.public_identity()));
}
