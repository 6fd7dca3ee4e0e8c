//! X3DH key agreement (`PROTOCOL.md` §5.2), following Signal's published
//! specification with separate X25519 and Ed25519 identity keys:
//!
//! ```text
//! DH1 = DH(IK_A, SPK_B)   DH2 = DH(EK_A, IK_B)   DH3 = DH(EK_A, SPK_B)
//! DH4 = DH(EK_A, OPK_B)   (only when a one-time prekey was used)
//! SK  = HKDF(salt = 32 zero bytes, ikm = 0xFF * 32 || DH1 || DH2 || DH3 [|| DH4],
//!            info = INFO_X3DH), 32 bytes
//! AD  = identity(A) (65) || identity(B) (65)
//! session id = SHA-256(DOMAIN_SESSION_ID || AD || EK_A)[0..8]
//! ```

use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::chain::RootKey;
use super::message::SESSION_ID_LEN;
use crate::agreement;
use crate::identity::{PUBLIC_IDENTITY_LEN, PublicIdentity};
use crate::kdf::{self, DOMAIN_SESSION_ID, INFO_X3DH};

/// Length of the associated data both identities form.
pub(crate) const ASSOCIATED_DATA_LEN: usize = 2 * PUBLIC_IDENTITY_LEN;

/// A Diffie-Hellman in X3DH produced an all-zero result.
pub(crate) struct NonContributory;

/// The result of X3DH, the same on both sides.
pub(crate) struct X3dhOutput {
    pub(crate) root: RootKey,
    pub(crate) associated_data: [u8; ASSOCIATED_DATA_LEN],
    pub(crate) session_id: [u8; SESSION_ID_LEN],
}

/// The four (or three) Diffie-Hellman results, in order.
struct DhResults(Zeroizing<Vec<u8>>);

impl DhResults {
    fn new() -> Self {
        let mut ikm = Zeroizing::new(Vec::with_capacity(32 * 5));
        // F: 32 0xFF bytes, so the input never starts like an X25519 output.
        ikm.extend_from_slice(&[0xff; 32]);
        Self(ikm)
    }

    fn push(&mut self, secret: &StaticSecret, public: &PublicKey) -> Result<(), NonContributory> {
        let dh = agreement::diffie_hellman(secret, public).map_err(|_| NonContributory)?;
        self.0.extend_from_slice(dh.as_ref());
        Ok(())
    }
}

/// The initiator's side (Alice): her identity secret, a fresh ephemeral
/// secret, and the responder's validated keys.
pub(crate) fn initiate(
    our_identity_secret: &StaticSecret,
    ours: &PublicIdentity,
    ephemeral: &StaticSecret,
    theirs: &PublicIdentity,
    their_signed_prekey: &PublicKey,
    their_one_time_prekey: Option<&PublicKey>,
) -> Result<X3dhOutput, NonContributory> {
    let mut dh = DhResults::new();
    dh.push(our_identity_secret, their_signed_prekey)?;
    dh.push(ephemeral, theirs.agreement_key())?;
    dh.push(ephemeral, their_signed_prekey)?;
    if let Some(one_time) = their_one_time_prekey {
        dh.push(ephemeral, one_time)?;
    }
    Ok(finish(&dh, ours, theirs, &PublicKey::from(ephemeral)))
}

/// The responder's side (Bob): his identity secret, signed prekey secret,
/// optional one-time prekey secret, and the initiator's identity and base key.
pub(crate) fn respond(
    our_identity_secret: &StaticSecret,
    ours: &PublicIdentity,
    signed_prekey: &StaticSecret,
    one_time_prekey: Option<&StaticSecret>,
    theirs: &PublicIdentity,
    their_base_key: &PublicKey,
) -> Result<X3dhOutput, NonContributory> {
    let mut dh = DhResults::new();
    dh.push(signed_prekey, theirs.agreement_key())?;
    dh.push(our_identity_secret, their_base_key)?;
    dh.push(signed_prekey, their_base_key)?;
    if let Some(one_time) = one_time_prekey {
        dh.push(one_time, their_base_key)?;
    }
    Ok(finish(&dh, theirs, ours, their_base_key))
}

fn finish(
    dh: &DhResults,
    initiator: &PublicIdentity,
    responder: &PublicIdentity,
    base_key: &PublicKey,
) -> X3dhOutput {
    let sk = kdf::hkdf_sha256::<32>(&[0u8; 32], &dh.0, INFO_X3DH);
    let mut associated_data = [0u8; ASSOCIATED_DATA_LEN];
    associated_data[..PUBLIC_IDENTITY_LEN].copy_from_slice(initiator.as_bytes());
    associated_data[PUBLIC_IDENTITY_LEN..].copy_from_slice(responder.as_bytes());
    let digest = Sha256::new()
        .chain_update(DOMAIN_SESSION_ID)
        .chain_update(associated_data)
        .chain_update(base_key.as_bytes())
        .finalize();
    let mut session_id = [0u8; SESSION_ID_LEN];
    session_id.copy_from_slice(&digest[..SESSION_ID_LEN]);
    X3dhOutput {
        root: RootKey::from_bytes(*sk),
        associated_data,
        session_id,
    }
}
