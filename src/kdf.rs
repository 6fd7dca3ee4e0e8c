//! Key derivation (HKDF-SHA256, RFC 5869) and every domain-separation string
//! the protocol uses. `docs/PROTOCOL.md` §2 quotes these strings byte for byte;
//! change one and you change the protocol.

use hkdf::Hkdf;
use sha2::Sha256;

/// HKDF info for the key of a sealed message (`PROTOCOL.md` §3.3).
pub(crate) const INFO_SEALED_KEY: &[u8] = b"CareSeal v1 sealed message key";

/// Prefix hashed with a recipient's identity to make the 8-byte recipient hint
/// of a sealed envelope (`PROTOCOL.md` §3.2).
pub(crate) const DOMAIN_RECIPIENT_HINT: &[u8] = b"CareSeal v1 recipient hint";

/// Prefix of the message an identity signs to name itself as the sender of a
/// sealed message (`PROTOCOL.md` §3.4).
pub(crate) const DOMAIN_SEALED_SENDER: &[u8] = b"CareSeal v1 sealed sender";

/// Prefix hashed with a public identity to make its fingerprint
/// (`PROTOCOL.md` §1.3).
pub(crate) const DOMAIN_FINGERPRINT: &[u8] = b"CareSeal v1 fingerprint";

/// HKDF-SHA256 extract-then-expand of `ikm` into `out`.
///
/// `out` must be at most 255 * 32 bytes; every caller in this crate asks for
/// 32 and the function returns `false` (never panics) if that were violated.
#[must_use]
pub(crate) fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) -> bool {
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, out)
        .is_ok()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    /// RFC 5869 Appendix A.1, test case 1.
    #[test]
    fn rfc5869_test_case_1() {
        let ikm = [0x0bu8; 22];
        let salt = hex::decode("000102030405060708090a0b0c").unwrap();
        let info = hex::decode("f0f1f2f3f4f5f6f7f8f9").unwrap();
        let mut okm = [0u8; 42];
        assert!(hkdf_sha256(&salt, &ikm, &info, &mut okm));
        assert_eq!(
            hex::encode(okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
    }

    #[test]
    fn protocol_md_quotes_every_domain_string() {
        let doc = include_str!("../docs/PROTOCOL.md");
        for (name, value) in [
            ("INFO_SEALED_KEY", INFO_SEALED_KEY),
            ("DOMAIN_RECIPIENT_HINT", DOMAIN_RECIPIENT_HINT),
            ("DOMAIN_SEALED_SENDER", DOMAIN_SEALED_SENDER),
            ("DOMAIN_FINGERPRINT", DOMAIN_FINGERPRINT),
        ] {
            let row = format!("| `{name}` | `{}` |", std::str::from_utf8(value).unwrap());
            assert!(doc.contains(&row), "PROTOCOL.md lacks {row}");
        }
    }

    #[test]
    fn every_info_string_is_distinct() {
        let all = [
            INFO_SEALED_KEY,
            DOMAIN_RECIPIENT_HINT,
            DOMAIN_SEALED_SENDER,
            DOMAIN_FINGERPRINT,
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
