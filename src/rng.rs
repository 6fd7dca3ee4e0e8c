//! The platform CSPRNG: the operating system natively, `crypto.getRandomValues`
//! in browsers and Node (via `getrandom`'s `wasm_js` backend).

use zeroize::Zeroizing;

use crate::error::RngError;

/// Fills `dest` with cryptographically secure random bytes.
pub(crate) fn fill(dest: &mut [u8]) -> Result<(), RngError> {
    #[cfg(feature = "fuzzing")]
    if crate::fuzzing::fill_deterministic(dest) {
        return Ok(());
    }
    getrandom::fill(dest).map_err(|_| RngError::Unavailable)
}

/// Returns `N` random bytes, zeroized when dropped (for key material).
pub(crate) fn secret_bytes<const N: usize>() -> Result<Zeroizing<[u8; N]>, RngError> {
    let mut bytes = Zeroizing::new([0u8; N]);
    fill(bytes.as_mut())?;
    Ok(bytes)
}

/// Returns `N` random public bytes (nonces).
pub(crate) fn public_bytes<const N: usize>() -> Result<[u8; N], RngError> {
    let mut bytes = [0u8; N];
    fill(&mut bytes)?;
    Ok(bytes)
}
