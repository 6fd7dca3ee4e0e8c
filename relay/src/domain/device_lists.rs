//! Publishing a user's signed device list (`PROTOCOL.md` §8.3).
//!
//! The relay cannot make a list (it holds no user key), and clients verify
//! every list under the key they pinned, so nothing here is what keeps a
//! conversation safe. These checks keep the relay's own view consistent and
//! refuse what an honest client would never send: a list that does not
//! verify, another user's list, a rollback, a changed user key, devices the
//! user does not have. A device left off a newer list is revoked with it:
//! removing a device from the list is how a user removes it. So any device
//! of a user can remove the user's other devices (a stolen one too); each
//! removal is its own `revoke_device` audit record, and a clinician can
//! revoke the thief's device and invite the user again.

use careseal::device_list::MAX_VERSION_STEP;
use careseal::{PublicUserIdentity, SignedDeviceList};

use crate::store::{AuditRecord, Store, StoreResult, StoredDeviceList};

/// Length of a registration proof (`PROTOCOL.md` §8.4).
const REGISTRATION_PROOF_LEN: usize = careseal::invitation::REGISTRATION_PROOF_LEN;

/// Why a published list was refused. Each has a stable code, the same as
/// the careseal error code where there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The user key is not a valid public user identity.
    MalformedUserKey,
    /// The list does not parse or verify under the given key; the careseal
    /// error code says why.
    InvalidList(&'static str),
    /// The registration proof is not 32 bytes.
    MalformedProof,
    /// The list names another user.
    OtherUser,
    /// The publishing device is not on the list.
    PublisherNotListed,
    /// A listed device id is not a live device of the user.
    UnknownDevice,
    /// The user published a list under another user key before.
    UserKeyChanged,
    /// The version is not above the stored list's (and the list differs).
    Stale,
    /// The version is more than `MAX_VERSION_STEP` above the stored one.
    VersionJump,
    /// Another list was stored between reading and writing; try again.
    Conflict,
}

impl Refusal {
    /// The stable code sent to the client and written to the audit log.
    pub fn code(self) -> &'static str {
        match self {
            Self::MalformedUserKey => "malformed_user_key",
            Self::InvalidList(code) => code,
            Self::MalformedProof => "malformed_registration_proof",
            Self::OtherUser => "device_list_user_mismatch",
            Self::PublisherNotListed => "publisher_not_on_device_list",
            Self::UnknownDevice => "unknown_device",
            Self::UserKeyChanged => "user_key_changed",
            Self::Stale => "stale_device_list",
            Self::VersionJump => "device_list_version_jump",
            Self::Conflict => "device_list_conflict",
        }
    }
}

/// A device list as published: the raw bytes of the request.
#[derive(Debug, Clone)]
pub struct Publication {
    /// The user key (33 bytes).
    pub user_key: Vec<u8>,
    /// The signed list.
    pub list: Vec<u8>,
    /// The registration proof, sent with a user's first list only.
    pub registration_proof: Option<Vec<u8>>,
}

/// What publishing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The version now stored.
    pub version: u64,
    /// Devices revoked because the new list left them off.
    pub revoked: Vec<String>,
}

/// Checks and stores `publication` as the device list of `user_id`, sent
/// by its device `device_id`. `audit` is committed with the change.
///
/// # Errors
/// A [`Refusal`] (nothing stored), or a storage error.
pub fn publish(
    store: &dyn Store,
    user_id: &str,
    device_id: &str,
    publication: Publication,
    now: i64,
    audit: &AuditRecord,
) -> StoreResult<Result<Published, Refusal>> {
    let Ok(user_key) = PublicUserIdentity::from_bytes(&publication.user_key) else {
        return Ok(Err(Refusal::MalformedUserKey));
    };
    let signed = match SignedDeviceList::from_bytes(&publication.list, &user_key) {
        Ok(signed) => signed,
        Err(e) => return Ok(Err(Refusal::InvalidList(careseal::ErrorCode::code(&e)))),
    };
    let list = signed.list();
    if list.user_id() != user_id {
        return Ok(Err(Refusal::OtherUser));
    }
    if list.device(device_id).is_none() {
        return Ok(Err(Refusal::PublisherNotListed));
    }
    let live = store.live_devices(user_id)?;
    if list
        .devices()
        .iter()
        .any(|entry| !live.iter().any(|id| id == entry.device_id()))
    {
        return Ok(Err(Refusal::UnknownDevice));
    }
    let stored = store.device_list(user_id)?;
    let registration_proof = match (&stored, publication.registration_proof) {
        // A proof is kept from the first list only.
        (Some(stored), _) => stored.registration_proof.clone(),
        (None, Some(proof)) if proof.len() != REGISTRATION_PROOF_LEN => {
            return Ok(Err(Refusal::MalformedProof));
        }
        (None, proof) => proof,
    };
    if let Some(stored) = &stored {
        if stored.user_key != publication.user_key {
            return Ok(Err(Refusal::UserKeyChanged));
        }
        // The same list again changes nothing but revoking live devices it
        // leaves off (a device that joined through a link offer and was
        // never confirmed): how a cancelled link is cleaned up.
        let same = stored.list == publication.list;
        if !same && list.version() <= stored.version {
            return Ok(Err(Refusal::Stale));
        }
        if !same && list.version() - stored.version > MAX_VERSION_STEP {
            return Ok(Err(Refusal::VersionJump));
        }
    }
    let listed: Vec<String> = list
        .devices()
        .iter()
        .map(|entry| entry.device_id().to_string())
        .collect();
    let version = list.version();
    let record = StoredDeviceList {
        user_key: publication.user_key,
        list: publication.list,
        version,
        registration_proof,
    };
    let previous = stored.map(|s| s.version);
    // Checked again in the write's transaction: the stored version, and
    // that the publisher and every listed device are still live (a device
    // revoked meanwhile cannot publish, nor be listed).
    match store.put_device_list(user_id, previous, &record, device_id, &listed, now, audit)? {
        Some(revoked) => Ok(Ok(Published { version, revoked })),
        None => Ok(Err(Refusal::Conflict)),
    }
}
