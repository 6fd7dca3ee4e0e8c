//! Hooks for the fuzz targets in `fuzz/` (feature `fuzzing`, off by default,
//! never in the npm package or a release build). Not API: nothing here is
//! stable, and nothing here is safe to use outside a fuzzer.
//!
//! Two things a fuzzer cannot do through the public API:
//!
//! - Reach past an AEAD. Exported state is authenticated (`PROTOCOL.md` §6),
//!   so mutated blobs stop there. The `decode_*_state` functions take the
//!   *decrypted* state bytes, seal them under a fixed key and import them:
//!   the same decoder an import runs, on bytes of the fuzzer's choosing. The
//!   `*_state` functions give the state bytes of a value back, for round
//!   trips and seeds. Likewise [`seal_payload`] encrypts any payload to a
//!   recipient, for the checks `sealed::open` runs after decryption.
//! - Repeat a run. [`seed_rng`] makes every random byte this crate draws on
//!   the calling thread a function of a seed, so a fuzz target sets up the
//!   same accounts, sessions and attachment keys in every process, the seed
//!   generator writes genuine messages for them, and a crashing input
//!   reproduces.

use std::cell::Cell;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::device_list::DeviceList;
use crate::error::{DeviceListError, PickleError, SealedError};
use crate::pickle::{self, PickleKind, StorageKey};
use crate::{Account, Identity, PublicIdentity, Session, UserIdentity, rng, sealed};

/// The storage key the state hooks seal under (any fixed key would do).
const STATE_KEY: [u8; 32] = [0x5a; 32];

thread_local! {
    /// The seed and next block number of the deterministic generator, when
    /// one is installed on this thread.
    static DETERMINISTIC: Cell<Option<(u64, u64)>> = const { Cell::new(None) };
}

/// From now on, on this thread, every random byte is SHA-256(seed ||
/// block number) output: the same seed gives the same keys, nonces and
/// ratchet steps. **Every secret becomes predictable**: for fuzzing only.
pub fn seed_rng(seed: u64) {
    DETERMINISTIC.with(|state| state.set(Some((seed, 0))));
}

/// Returns this thread to the platform generator.
pub fn unseed_rng() {
    DETERMINISTIC.with(|state| state.set(None));
}

/// Fills `dest` from the deterministic generator if one is installed on this
/// thread; returns `false` (and leaves `dest` alone) otherwise.
pub(crate) fn fill_deterministic(dest: &mut [u8]) -> bool {
    DETERMINISTIC.with(|state| {
        let Some((seed, mut block)) = state.get() else {
            return false;
        };
        for chunk in dest.chunks_mut(32) {
            let output = Sha256::new()
                .chain_update(seed.to_be_bytes())
                .chain_update(block.to_be_bytes())
                .finalize();
            chunk.copy_from_slice(&output[..chunk.len()]);
            block = block.wrapping_add(1);
        }
        state.set(Some((seed, block)));
        true
    })
}

fn state_key() -> StorageKey {
    StorageKey::from_bytes(STATE_KEY)
}

/// Runs the identity state decoder of [`Identity::import`] on `state`.
///
/// # Errors
/// As [`Identity::import`] after decryption.
pub fn decode_identity_state(state: &[u8]) -> Result<Identity, PickleError> {
    let key = state_key();
    Identity::import(&key, &pickle::seal(PickleKind::Identity, &key, state)?)
}

/// Runs the account state decoder of [`Account::import`] on `state`.
///
/// # Errors
/// As [`Account::import`] after decryption.
pub fn decode_account_state(state: &[u8]) -> Result<Account, PickleError> {
    let key = state_key();
    Account::import(&key, &pickle::seal(PickleKind::Account, &key, state)?)
}

/// Runs the session state decoder of [`Session::import`] on `state`.
///
/// # Errors
/// As [`Session::import`] after decryption.
pub fn decode_session_state(state: &[u8]) -> Result<Session, PickleError> {
    let key = state_key();
    Session::import(&key, &pickle::seal(PickleKind::Session, &key, state)?)
}

/// Runs the device list parser of [`SignedDeviceList::from_bytes`] on
/// `body`, the part the signature covers, without the signature check (so
/// the fuzzer reaches the fields).
///
/// # Errors
/// As [`SignedDeviceList::from_bytes`] after its signature check.
pub fn decode_device_list_body(body: &[u8]) -> Result<DeviceList, DeviceListError> {
    crate::device_list::parse_unsigned(body)
}

/// Runs the user identity state decoder of [`UserIdentity::import`] on
/// `state`. (The other decoders of `PROTOCOL.md` §8 — signed device lists,
/// message envelopes, invitation fragments, link offers — take their input
/// in clear through the public API.)
///
/// # Errors
/// As [`UserIdentity::import`] after decryption.
pub fn decode_user_identity_state(state: &[u8]) -> Result<UserIdentity, PickleError> {
    let key = state_key();
    UserIdentity::import(&key, &pickle::seal(PickleKind::UserIdentity, &key, state)?)
}

/// The state bytes [`UserIdentity::export`] encrypts.
///
/// # Errors
/// As [`UserIdentity::export`].
pub fn user_identity_state(identity: &UserIdentity) -> Result<Zeroizing<Vec<u8>>, PickleError> {
    let key = state_key();
    pickle::open(PickleKind::UserIdentity, &key, &identity.export(&key)?)
}

/// The state bytes [`Identity::export`] encrypts.
///
/// # Errors
/// As [`Identity::export`].
pub fn identity_state(identity: &Identity) -> Result<Zeroizing<Vec<u8>>, PickleError> {
    let key = state_key();
    pickle::open(PickleKind::Identity, &key, &identity.export(&key)?)
}

/// The state bytes [`Account::export`] encrypts.
///
/// # Errors
/// As [`Account::export`].
pub fn account_state(account: &Account) -> Result<Zeroizing<Vec<u8>>, PickleError> {
    let key = state_key();
    pickle::open(PickleKind::Account, &key, &account.export(&key)?)
}

/// The state bytes [`Session::export`] encrypts.
///
/// # Errors
/// As [`Session::export`].
pub fn session_state(session: &Session) -> Result<Zeroizing<Vec<u8>>, PickleError> {
    let key = state_key();
    pickle::open(PickleKind::Session, &key, &session.export(&key)?)
}

/// Seals `payload` to `recipient` as the envelope's plaintext, as it is: the
/// sender flag, sender and message, and padding are the caller's, and no
/// bound applies (`PROTOCOL.md` §3.4). Draws its randomness as
/// [`sealed::seal`] does.
///
/// # Errors
/// [`SealedError::Rng`].
pub fn seal_payload(recipient: &PublicIdentity, payload: &[u8]) -> Result<Vec<u8>, SealedError> {
    let ephemeral_seed = rng::secret_bytes::<32>()?;
    let nonce = rng::public_bytes()?;
    sealed::seal_payload_with(recipient, *ephemeral_seed, nonce, |_| {
        Zeroizing::new(payload.to_vec())
    })
}

/// `content` with canonical padding (`PROTOCOL.md` §1.4), to build payloads
/// for [`seal_payload`].
pub fn pad(content: &[u8]) -> Vec<u8> {
    crate::padding::padded(content).to_vec()
}
