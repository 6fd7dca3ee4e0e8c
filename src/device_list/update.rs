//! Accepting a newer signed device list over the one pinned
//! (`PROTOCOL.md` §8.3): no rollback, no equivocation, and a report of what
//! changed for the user interface ("Dr Lee added a device").

use super::{DeviceEntry, DeviceList, SignedDeviceList};
use crate::error::DeviceListError;

/// The outcome of an accepted update: the list to pin from now on, and the
/// devices that came and went since the previous one.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DeviceListChange {
    list: DeviceList,
    added: Vec<DeviceEntry>,
    removed: Vec<DeviceEntry>,
}

impl DeviceListChange {
    /// The list now pinned.
    pub fn list(&self) -> &DeviceList {
        &self.list
    }

    /// The list now pinned, by value.
    pub fn into_list(self) -> DeviceList {
        self.list
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

/// Accepts `new` (already verified against the user's pinned key by
/// [`SignedDeviceList::from_bytes`]) over the `current` pinned list, if any.
///
/// # Errors
/// [`DeviceListError::UserMismatch`] if `new` names another user id,
/// [`DeviceListError::Stale`] if its version is lower than the current
/// one's, [`DeviceListError::Conflict`] if the version is the same but the
/// devices differ.
pub fn accept_update(
    current: Option<&DeviceList>,
    new: SignedDeviceList,
) -> Result<DeviceListChange, DeviceListError> {
    let new = new.into_list();
    let Some(current) = current else {
        return Ok(DeviceListChange {
            added: new.devices.clone(),
            removed: Vec::new(),
            list: new,
        });
    };
    if new.user_id != current.user_id {
        return Err(DeviceListError::UserMismatch);
    }
    if new.version < current.version {
        return Err(DeviceListError::Stale);
    }
    if new.version == current.version && new.devices != current.devices {
        return Err(DeviceListError::Conflict);
    }
    let added = difference(&new.devices, &current.devices);
    let removed = difference(&current.devices, &new.devices);
    Ok(DeviceListChange {
        list: new,
        added,
        removed,
    })
}

/// Entries of `a` that are not in `b`.
fn difference(a: &[DeviceEntry], b: &[DeviceEntry]) -> Vec<DeviceEntry> {
    a.iter()
        .filter(|entry| !b.contains(entry))
        .cloned()
        .collect()
}
