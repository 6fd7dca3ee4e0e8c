//! Signed device lists (`PROTOCOL.md` §8.3): which devices belong to a user,
//! signed by the user's key, so the relay's answer to "which devices does
//! this user have?" is a claim a client can check rather than take.
//!
//! A [`DeviceList`] is valid by construction (ids checked, 1 to
//! [`MAX_DEVICES`] entries, no duplicate id or identity, kept sorted). It is
//! signed into a [`SignedDeviceList`], whose bytes are what travels. A
//! reader keeps a [`PinnedDeviceList`] per contact: the user key first seen
//! for the user id and the newest list verified under it; updates are
//! verified under that key, rollbacks, equivocation and version jumps are
//! refused, and the change reports which devices came and went.

mod format;

#[cfg(feature = "fuzzing")]
pub(crate) use format::parse_unsigned;
mod pin;
mod recipients;

pub use format::{MAX_SIGNED_DEVICE_LIST_LEN, SignedDeviceList};
pub use pin::{DeviceListChange, MAX_VERSION_STEP, PinnedDeviceList};
pub use recipients::recipient_devices;

use crate::error::DeviceListError;
use crate::identity::PublicIdentity;
use crate::ids::is_valid_id;

/// Version byte of device list encodings.
pub const DEVICE_LIST_VERSION: u8 = 1;

/// Most devices one list may hold.
pub const MAX_DEVICES: usize = 16;

/// One device of a user: the relay-issued device id and the device's public
/// identity (§1.1).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DeviceEntry {
    device_id: String,
    identity: PublicIdentity,
}

impl DeviceEntry {
    /// An entry, checking the id (`PROTOCOL.md` §8.1).
    ///
    /// # Errors
    /// [`DeviceListError::InvalidId`].
    pub fn new(device_id: &str, identity: PublicIdentity) -> Result<Self, DeviceListError> {
        if !is_valid_id(device_id) {
            return Err(DeviceListError::InvalidId);
        }
        Ok(Self {
            device_id: device_id.to_string(),
            identity,
        })
    }

    /// The device id.
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// The device's public identity.
    pub fn identity(&self) -> &PublicIdentity {
        &self.identity
    }
}

/// A user's devices at one version. Valid by construction; entries are kept
/// in ascending order of device id (the canonical order of the encoding).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DeviceList {
    user_id: String,
    version: u64,
    devices: Vec<DeviceEntry>,
}

impl DeviceList {
    /// A list, checking every rule of `PROTOCOL.md` §8.3 and sorting the
    /// entries.
    ///
    /// # Errors
    /// [`DeviceListError::InvalidId`] for a bad user id,
    /// [`DeviceListError::InvalidVersion`] for version 0,
    /// [`DeviceListError::DeviceCount`] for no device or more than
    /// [`MAX_DEVICES`], [`DeviceListError::DuplicateDevice`] for a device
    /// id or identity listed twice.
    pub fn new(
        user_id: &str,
        version: u64,
        mut devices: Vec<DeviceEntry>,
    ) -> Result<Self, DeviceListError> {
        if !is_valid_id(user_id) {
            return Err(DeviceListError::InvalidId);
        }
        if version == 0 {
            return Err(DeviceListError::InvalidVersion);
        }
        if devices.is_empty() || devices.len() > MAX_DEVICES {
            return Err(DeviceListError::DeviceCount);
        }
        devices.sort_by(|a, b| a.device_id.cmp(&b.device_id));
        check_distinct(&devices)?;
        Ok(Self {
            user_id: user_id.to_string(),
            version,
            devices,
        })
    }

    /// The user the list belongs to.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The list's version: every new list of a user has a higher one.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The devices, in ascending order of device id.
    pub fn devices(&self) -> &[DeviceEntry] {
        &self.devices
    }

    /// The identity listed for `device_id`, if the device is on the list.
    pub fn device(&self, device_id: &str) -> Option<&PublicIdentity> {
        self.devices
            .iter()
            .find(|entry| entry.device_id == device_id)
            .map(|entry| &entry.identity)
    }

    /// The device id under which `identity` is listed, if it is.
    pub fn contains_identity(&self, identity: &PublicIdentity) -> Option<&str> {
        self.devices
            .iter()
            .find(|entry| &entry.identity == identity)
            .map(|entry| entry.device_id.as_str())
    }

    /// Checks that `device_id` is on the list with exactly `identity`.
    ///
    /// # Errors
    /// [`DeviceListError::UnknownDevice`] if the id is not listed,
    /// [`DeviceListError::IdentityMismatch`] if it is listed with another
    /// identity.
    pub fn check_device(
        &self,
        device_id: &str,
        identity: &PublicIdentity,
    ) -> Result<(), DeviceListError> {
        match self.device(device_id) {
            None => Err(DeviceListError::UnknownDevice),
            Some(listed) if listed == identity => Ok(()),
            Some(_) => Err(DeviceListError::IdentityMismatch),
        }
    }

    /// The next version of this list with `entry` added.
    ///
    /// # Errors
    /// As [`DeviceList::new`]; [`DeviceListError::InvalidVersion`] if the
    /// version would overflow.
    pub fn with_device(&self, entry: DeviceEntry) -> Result<Self, DeviceListError> {
        let mut devices = self.devices.clone();
        devices.push(entry);
        Self::new(&self.user_id, self.next_version()?, devices)
    }

    /// The next version of this list without `device_id`.
    ///
    /// # Errors
    /// [`DeviceListError::UnknownDevice`] if it is not listed,
    /// [`DeviceListError::DeviceCount`] if it is the last device,
    /// [`DeviceListError::InvalidVersion`] if the version would overflow.
    pub fn without_device(&self, device_id: &str) -> Result<Self, DeviceListError> {
        if self.device(device_id).is_none() {
            return Err(DeviceListError::UnknownDevice);
        }
        let devices = self
            .devices
            .iter()
            .filter(|entry| entry.device_id != device_id)
            .cloned()
            .collect();
        Self::new(&self.user_id, self.next_version()?, devices)
    }

    fn next_version(&self) -> Result<u64, DeviceListError> {
        self.version
            .checked_add(1)
            .ok_or(DeviceListError::InvalidVersion)
    }
}

/// Refuses two entries with one device id or one identity. `devices` is
/// sorted by device id, so equal ids are neighbours.
fn check_distinct(devices: &[DeviceEntry]) -> Result<(), DeviceListError> {
    let same_id = devices
        .windows(2)
        .any(|pair| pair[0].device_id == pair[1].device_id);
    let same_identity = devices
        .iter()
        .enumerate()
        .any(|(i, a)| devices[i + 1..].iter().any(|b| a.identity == b.identity));
    if same_id || same_identity {
        Err(DeviceListError::DuplicateDevice)
    } else {
        Ok(())
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
