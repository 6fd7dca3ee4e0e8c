//! Reading fixed-size fields of the byte formats. Callers check lengths
//! first; these helpers only decode.

/// The big-endian `u32` at `bytes[at..at + 4]` (the caller has checked that
/// the four bytes exist).
pub(crate) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut out = [0u8; 4];
    out.copy_from_slice(&bytes[at..at + 4]);
    u32::from_be_bytes(out)
}
