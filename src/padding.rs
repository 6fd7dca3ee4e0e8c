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

use zeroize::Zeroizing;

/// Marker byte that ends the content and starts the padding.
const PAD_MARKER: u8 = 0x80;

/// Padmé with the [`MIN_PADDED_LEN`] floor: the bucket a total of `len`
/// bytes is rounded up to (`PROTOCOL.md` §1.4). In 64 bits so attachments
/// larger than 4 GiB pad the same on 32-bit WebAssembly; exact for every
/// `len` up to 2^63.
pub(crate) const fn padme(len: u64) -> u64 {
    if len <= MIN_PADDED_LEN as u64 {
        return MIN_PADDED_LEN as u64;
    }
    let exponent = len.ilog2();
    let significant = exponent.ilog2() + 1;
    let low_bits = exponent - significant;
    let mask = (1u64 << low_bits) - 1;
    len.saturating_add(mask) & !mask
}

/// The padded length for `content_len` bytes of content and the marker.
pub(crate) const fn padded_len(content_len: usize) -> usize {
    // Messages are bounded far below 4 GiB, so the bucket fits a usize.
    padme(content_len.saturating_add(1) as u64) as usize
}

/// `content` followed by the marker and zeros, in a buffer allocated once at
/// its final size (growing a vector would free an unwiped copy of the
/// plaintext) and wiped when dropped.
pub(crate) fn padded(content: &[u8]) -> Zeroizing<Vec<u8>> {
    let target = padded_len(content.len());
    let mut out = Zeroizing::new(Vec::with_capacity(target));
    out.extend_from_slice(content);
    out.push(PAD_MARKER);
    out.resize(target, 0);
    out
}

/// Strips canonical padding, or returns `None` if `padded` is not the exact
/// output of [`padded`] for some content.
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
    fn padme_known_values_in_64_bits() {
        assert_eq!(padme(0), 256);
        assert_eq!(padme(256), 256);
        assert_eq!(padme(257), 272); // E=8, S=4, 4 low bits cleared
        assert_eq!(padme(1000), 1024);
        assert_eq!(padme(1024), 1024);
        assert_eq!(padme(65537), 67584);
        // Beyond 32 bits: L = 2^32 + 1, E=32, S=6, 26 low bits.
        assert_eq!(padme((1 << 32) + 1), (1 << 32) + (1 << 26));
        assert_eq!(padme(64 << 30), 64 << 30);
        for len in 0..100_000usize {
            assert_eq!(padded_len(len) as u64, padme(len as u64 + 1), "{len}");
        }
    }

    #[test]
    fn pad_round_trips() {
        for len in [0, 1, 254, 255, 256, 1000, 70_000] {
            let content: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let padded = padded(&content);
            assert_eq!(padded.len(), padded_len(len));
            assert_eq!(
                padded.capacity(),
                padded.len(),
                "allocated once, at its final size"
            );
            assert_eq!(unpad(&padded), Some(&content[..]));
        }
    }

    #[test]
    fn non_canonical_padding_is_refused() {
        let padded = padded(b"hello").to_vec();
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
