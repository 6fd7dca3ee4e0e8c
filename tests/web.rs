//! The core behaviours again, through the JavaScript bindings, in Node and in
//! headless Chromium (`scripts/test.sh` runs this file in both).
#![cfg(target_arch = "wasm32")]

use careseal::wasm::{Identity, PublicIdentity, inspect_envelope, limits, seal};
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
    assert_eq!(opened.message(), vec![0, 159, 255]);
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
