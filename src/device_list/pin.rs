//! Pinning a contact's device list (`PROTOCOL.md` §8.3): the user key
//! first seen for a user id, and the newest list verified under that key.
//! An update is verified under the pinned key, never under a key the relay
//! names; a list signed by another key is a changed identity, not an update.

use super::{DeviceEntry, DeviceList, SignedDeviceList};
use crate::error::DeviceListError;
use crate::user::{PUBLIC_USER_IDENTITY_LEN, PublicUserIdentity};

/// Version byte of a pinned device list's storage encoding.
const PINNED_DEVICE_LIST_VERSION: u8 = 1;

/// Largest step by which one accepted update may raise a list's version:
/// 2^32. A list signed at a far higher version (up to `u64::MAX`, which
/// would freeze the list for good) is refused as
/// [`DeviceListError::VersionJump`]; a holder of the user key needs 2^32
/// updates that one contact accepts in turn to get there, while an honest
/// user never comes near a step this large, however far a contact lags.
pub const MAX_VERSION_STEP: u64 = 1 << 32;

/// A contact's user key and the newest device list accepted under it.
///
/// Made only by [`PinnedDeviceList::pin`], [`PinnedDeviceList::update`] and
/// [`PinnedDeviceList::from_bytes`], each of which verifies the list under
/// the key it holds, so the list is always one the user key signed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PinnedDeviceList {
    user_key: PublicUserIdentity,
    signed: SignedDeviceList,
}

impl PinnedDeviceList {
    /// Pins `user_key` for `user_id`, with the list `signed` verified under
    /// it. Use for a contact seen for the first time; the key should come
    /// from somewhere the relay cannot change (an invitation link, a
    /// registration proof, a compared safety number), or be shown as
    /// unverified until it has been.
    ///
    /// # Errors
    /// As [`SignedDeviceList::from_bytes`];
    /// [`DeviceListError::UserMismatch`] if the list names another user id.
    pub fn pin(
        user_id: &str,
        user_key: &PublicUserIdentity,
        signed: &[u8],
    ) -> Result<Self, DeviceListError> {
        let signed = SignedDeviceList::from_bytes(signed, user_key)?;
        if signed.list().user_id() != user_id {
            return Err(DeviceListError::UserMismatch);
        }
        Ok(Self {
            user_key: user_key.clone(),
            signed,
        })
    }

    /// The pinned user key.
    pub fn user_key(&self) -> &PublicUserIdentity {
        &self.user_key
    }

    /// The user id the key is pinned for.
    pub fn user_id(&self) -> &str {
        self.signed.list().user_id()
    }

    /// The newest accepted list.
    pub fn list(&self) -> &DeviceList {
        self.signed.list()
    }

    /// The newest accepted list as signed, to hand on (for instance to a
    /// newly linked device, which verifies it again).
    pub fn signed(&self) -> &SignedDeviceList {
        &self.signed
    }

    /// Accepts a newer list. `claimed_key` is the user key that came with
    /// it (from the relay, say): a key other than the pinned one is checked
    /// first, so that a list the other key really signed is reported as
    /// [`DeviceListError::UserKeyChanged`] (the application blocks sending
    /// and asks the person), and anything else as a bad signature.
    ///
    /// # Errors
    /// [`DeviceListError::UserKeyChanged`] as above; as
    /// [`SignedDeviceList::from_bytes`] under the pinned key;
    /// [`DeviceListError::UserMismatch`] if the list names another user id;
    /// [`DeviceListError::Stale`] if its version is lower than the pinned
    /// one's; [`DeviceListError::Conflict`] if the version is the same but
    /// the devices differ; [`DeviceListError::VersionJump`] if the version
    /// is more than [`MAX_VERSION_STEP`] above the pinned one.
    pub fn update(
        &self,
        claimed_key: &PublicUserIdentity,
        signed: &[u8],
    ) -> Result<DeviceListChange, DeviceListError> {
        if claimed_key != &self.user_key {
            let under_claimed = SignedDeviceList::from_bytes(signed, claimed_key)?;
            return Err(if under_claimed.list().user_id() == self.user_id() {
                DeviceListError::UserKeyChanged
            } else {
                DeviceListError::UserMismatch
            });
        }
        let signed = SignedDeviceList::from_bytes(signed, &self.user_key)?;
        let (new, current) = (signed.list(), self.list());
        if new.user_id() != current.user_id() {
            return Err(DeviceListError::UserMismatch);
        }
        if new.version() < current.version() {
            return Err(DeviceListError::Stale);
        }
        if new.version() == current.version() && new.devices() != current.devices() {
            return Err(DeviceListError::Conflict);
        }
        if new.version() - current.version() > MAX_VERSION_STEP {
            return Err(DeviceListError::VersionJump);
        }
        let added = difference(new.devices(), current.devices());
        let removed = difference(current.devices(), new.devices());
        Ok(DeviceListChange {
            pinned: Self {
                user_key: self.user_key.clone(),
                signed,
            },
            added,
            removed,
        })
    }

    /// The storage encoding: version (1), user key (33), signed list.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(1 + PUBLIC_USER_IDENTITY_LEN + self.signed.as_bytes().len());
        out.push(PINNED_DEVICE_LIST_VERSION);
        out.extend_from_slice(self.user_key.as_bytes());
        out.extend_from_slice(self.signed.as_bytes());
        out
    }

    /// Reads a pin stored with [`PinnedDeviceList::to_bytes`], verifying the
    /// list under the stored key again.
    ///
    /// # Errors
    /// [`DeviceListError::Malformed`] for a short input or a bad key,
    /// [`DeviceListError::UnsupportedVersion`]; as
    /// [`SignedDeviceList::from_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DeviceListError> {
        match bytes.first() {
            None => return Err(DeviceListError::Malformed),
            Some(&PINNED_DEVICE_LIST_VERSION) => {}
            Some(_) => return Err(DeviceListError::UnsupportedVersion),
        }
        let key = bytes
            .get(1..1 + PUBLIC_USER_IDENTITY_LEN)
            .ok_or(DeviceListError::Malformed)?;
        let user_key =
            PublicUserIdentity::from_bytes(key).map_err(|_| DeviceListError::Malformed)?;
        let signed =
            SignedDeviceList::from_bytes(&bytes[1 + PUBLIC_USER_IDENTITY_LEN..], &user_key)?;
        Ok(Self { user_key, signed })
    }
}

/// The outcome of an accepted update: the pin to keep from now on, and the
/// devices that came and went since the previous list.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DeviceListChange {
    pinned: PinnedDeviceList,
    added: Vec<DeviceEntry>,
    removed: Vec<DeviceEntry>,
}

impl DeviceListChange {
    /// The pin to keep from now on.
    pub fn pinned(&self) -> &PinnedDeviceList {
        &self.pinned
    }

    /// The pin to keep from now on, by value.
    pub fn into_pinned(self) -> PinnedDeviceList {
        self.pinned
    }

    /// Entries on the new list and not on the previous one (a device whose
    /// identity changed appears here and in [`removed`](Self::removed)).
    pub fn added(&self) -> &[DeviceEntry] {
        &self.added
    }

    /// Entries on the previous list and not on the new one.
    pub fn removed(&self) -> &[DeviceEntry] {
        &self.removed
    }

    /// Whether the update carried the pinned list again (same version, same
    /// devices): nothing changed.
    pub fn is_unchanged(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// Entries of `a` that are not in `b`.
fn difference(a: &[DeviceEntry], b: &[DeviceEntry]) -> Vec<DeviceEntry> {
    a.iter()
        .filter(|entry| !b.contains(entry))
        .cloned()
        .collect()
}
