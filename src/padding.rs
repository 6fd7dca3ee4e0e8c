//! Length hiding: plaintexts are padded before encryption so a ciphertext's
//! length reveals only a size bucket (`PROTOCOL.md` §1.4).
//!
//! Buckets: every plaintext up to `MIN_PADDED_LEN - 1` bytes pads to
//! `MIN_PADDED_LEN`; above that, the Padmé function (Nikitin et al., "Reducing
//! Metadata Leakage from Encrypted Files and Communication with PURBs", PETS
//! 2019) rounds up, leaking O(log log n) bits with at most ~12% overhead.
//! The padding itself is ISO/IEC 7816-4: one `0x80` byte, then zeros.

/// The smallest padded size: short replies ("yes", "thank you") all look
/// alike on the wire.
pub(crate) const MIN_PADDED_LEN: usize = 256;

/// Marker byte that ends the content and starts the padding.
const PAD_MARKER: u8 = 0x80;

/// The padded length for `content_len` bytes of content.
pub(crate) const fn padded_len(content_len: usize) -> usize {
    let len = content_len.saturating_add(1);
    if len <= MIN_PADDED_LEN {
        return MIN_PADDED_LEN;
    }
    let exponent = len.ilog2();
    let significant = exponent.ilog2() + 1;
    let low_bits = exponent - significant;
    let mask = (1usize << low_bits) - 1;
    (len + mask) & !mask
}

/// Appends the marker and zeros to `content`.
pub(crate) fn pad(content: &mut Vec<u8>) {
    let target = padded_len(content.len());
    content.push(PAD_MARKER);
    content.resize(target, 0);
}

/// Strips canonical padding, or returns `None` if `padded` is not the exact
/// output of [`pad`] for some content.
pub(crate) fn unpad(padded: &[u8]) -> Option<&[u8]> {
    let marker = padded.iter().rposition(|b| *b != 0)?;
    if padded[marker] != PAD_MARKER || padded_len(marker) != padded.len() {
        return None;
    }
    Some(&padded[..marker])
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn short_contents_share_the_minimum_bucket() {
        for len in 0..MIN_PADDED_LEN {
            assert_eq!(padded_len(len), MIN_PADDED_LEN, "{len}");
        }
        assert!(padded_len(MIN_PADDED_LEN) > MIN_PADDED_LEN);
    }

    #[test]
    fn padme_known_values() {
        // Padmé(L) for L = content + 1 marker byte.
        assert_eq!(padded_len(999), 1024); // L=1000: E=9, S=4, 5 low bits cleared
        assert_eq!(padded_len(1023), 1024);
        assert_eq!(padded_len(1024), 1088); // L=1025: E=10, S=4, 6 low bits
        assert_eq!(padded_len(65535), 65536);
        assert_eq!(padded_len(65536), 67584); // L=65537: E=16, S=5, 11 low bits
    }

    #[test]
    fn padded_len_is_monotonic_and_overhead_is_bounded() {
        let mut last = 0;
        for len in 0..200_000 {
            let p = padded_len(len);
            assert!(p > len && p >= last, "{len}");
            if len > 4096 {
                assert!((p - len) * 100 <= len * 12, "{len} -> {p}");
            }
            last = p;
        }
    }

    #[test]
    fn pad_round_trips() {
        for len in [0, 1, 254, 255, 256, 1000, 70_000] {
            let content: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut padded = content.clone();
            pad(&mut padded);
            assert_eq!(padded.len(), padded_len(len));
            assert_eq!(unpad(&padded), Some(&content[..]));
        }
    }

    #[test]
    fn non_canonical_padding_is_refused() {
        let mut padded = b"hello".to_vec();
        pad(&mut padded);
        let mut no_marker = padded.clone();
        no_marker[5] = 0x81;
        assert_eq!(unpad(&no_marker), None);
        let mut short = padded.clone();
        short.pop();
        assert_eq!(unpad(&short), None);
        assert_eq!(unpad(&[0u8; 256]), None);
        assert_eq!(unpad(&[]), None);
    }
}
