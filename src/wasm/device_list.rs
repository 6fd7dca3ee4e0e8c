//! `DeviceList`, `PinnedDeviceList` and `DeviceListChange` for JavaScript.

use wasm_bindgen::prelude::*;

use super::error::to_js;
use super::identity::PublicIdentity;
use super::user::{PublicUserIdentity, UserIdentity};
use crate::device_list as core;

/// A user's devices at one version: device ids and their public identities,
/// in ascending order of device id. Valid by construction (ids checked, 1
/// to 16 devices, no id or identity twice). Publish it as `sign()` bytes;
/// read others' with `verify()` or, better, `PinnedDeviceList`.
#[wasm_bindgen]
#[derive(Debug)]
pub struct DeviceList {
    pub(super) inner: core::DeviceList,
}

#[wasm_bindgen]
impl DeviceList {
    /// A user's first list: version 1, with one device.
    ///
    /// Throws `invalid_id` for an empty or too long id, or one with a
    /// character outside `A-Z a-z 0-9 _ -`.
    pub fn create(
        user_id: &str,
        device_id: &str,
        identity: &PublicIdentity,
    ) -> Result<DeviceList, JsValue> {
        let entry = core::DeviceEntry::new(device_id, identity.inner.clone()).map_err(to_js)?;
        core::DeviceList::new(user_id, 1, vec![entry])
            .map(|inner| DeviceList { inner })
            .map_err(to_js)
    }

    /// The next version of this list with a device added (this list is
    /// unchanged).
    ///
    /// Throws `invalid_id`, `duplicate_device` (the id or identity is already
    /// listed), `device_count_out_of_range` (16 devices already) or
    /// `invalid_device_list_version` (the version would overflow).
    #[wasm_bindgen(js_name = withDevice)]
    pub fn with_device(
        &self,
        device_id: &str,
        identity: &PublicIdentity,
    ) -> Result<DeviceList, JsValue> {
        let entry = core::DeviceEntry::new(device_id, identity.inner.clone()).map_err(to_js)?;
        self.inner
            .with_device(entry)
            .map(|inner| DeviceList { inner })
            .map_err(to_js)
    }

    /// The next version of this list without a device (this list is
    /// unchanged).
    ///
    /// Throws `unknown_device`, `device_count_out_of_range` (it is the last
    /// device) or `invalid_device_list_version`.
    #[wasm_bindgen(js_name = withoutDevice)]
    pub fn without_device(&self, device_id: &str) -> Result<DeviceList, JsValue> {
        self.inner
            .without_device(device_id)
            .map(|inner| DeviceList { inner })
            .map_err(to_js)
    }

    /// The user the list belongs to.
    #[wasm_bindgen(getter, js_name = userId)]
    pub fn user_id(&self) -> String {
        self.inner.user_id().to_string()
    }

    /// The list's version: every new list of a user has a higher one.
    #[wasm_bindgen(getter)]
    pub fn version(&self) -> u64 {
        self.inner.version()
    }

    /// The device ids, in ascending order.
    #[wasm_bindgen(js_name = deviceIds)]
    pub fn device_ids(&self) -> Vec<String> {
        device_ids(self.inner.devices())
    }

    /// The identity listed for `deviceId`, or `undefined` if the device is
    /// not on the list.
    #[wasm_bindgen(js_name = identityOf)]
    pub fn identity_of(&self, device_id: &str) -> Option<PublicIdentity> {
        self.inner.device(device_id).map(|identity| PublicIdentity {
            inner: identity.clone(),
        })
    }

    /// Signs the list with the user's key: the bytes to publish through the
    /// relay (and to pass to `verify`, `PinnedDeviceList.pin` or `update`).
    pub fn sign(&self, user: &UserIdentity) -> Vec<u8> {
        self.inner.sign(&user.inner).as_bytes().to_vec()
    }

    /// Verifies signed list bytes under the user key `userKey` and returns
    /// the list. To follow a contact's lists over time use
    /// `PinnedDeviceList`, which also refuses rollbacks and key changes.
    ///
    /// Throws `malformed_device_list`, `device_list_too_large`,
    /// `unsupported_version`, `bad_device_list_signature` or
    /// `duplicate_device`.
    pub fn verify(
        signed_bytes: &[u8],
        user_key: &PublicUserIdentity,
    ) -> Result<DeviceList, JsValue> {
        core::SignedDeviceList::from_bytes(signed_bytes, &user_key.inner)
            .map(|signed| DeviceList {
                inner: signed.into_list(),
            })
            .map_err(to_js)
    }
}

/// A contact's user key, pinned the first time the contact was seen, and
/// the newest device list verified under it. Store `toBytes()` per contact
/// and replace it with `update(...).pinned()` after each accepted update.
#[wasm_bindgen]
#[derive(Debug)]
pub struct PinnedDeviceList {
    pub(super) inner: core::PinnedDeviceList,
}

#[wasm_bindgen]
impl PinnedDeviceList {
    /// Pins `userKey` for `userId`, with the signed list `signedBytes`
    /// verified under it. Use for a contact seen for the first time; the key
    /// should come from somewhere the relay cannot change (an invitation
    /// link, a registration proof, a compared safety number), or be shown as
    /// unverified until it has been.
    ///
    /// Throws as `DeviceList.verify`, and `device_list_user_mismatch` if the
    /// list names another user id.
    pub fn pin(
        user_id: &str,
        user_key: &PublicUserIdentity,
        signed_bytes: &[u8],
    ) -> Result<PinnedDeviceList, JsValue> {
        core::PinnedDeviceList::pin(user_id, &user_key.inner, signed_bytes)
            .map(|inner| PinnedDeviceList { inner })
            .map_err(to_js)
    }

    /// Accepts a newer list. `claimedKey` is the user key that came with it
    /// (from the relay, say); the list is verified under the pinned key only.
    /// This pin is unchanged: keep `change.pinned()` from now on.
    ///
    /// Throws `user_key_changed` if the list verifies under a claimed key
    /// other than the pinned one (block sending and ask the person), as
    /// `DeviceList.verify` under the pinned key, `device_list_user_mismatch`,
    /// `stale_device_list` (an older version), `device_list_conflict` (the
    /// same version with other devices) or `device_list_version_jump`.
    pub fn update(
        &self,
        claimed_key: &PublicUserIdentity,
        signed_bytes: &[u8],
    ) -> Result<DeviceListChange, JsValue> {
        self.inner
            .update(&claimed_key.inner, signed_bytes)
            .map(|inner| DeviceListChange { inner })
            .map_err(to_js)
    }

    /// The user id the key is pinned for.
    #[wasm_bindgen(getter, js_name = userId)]
    pub fn user_id(&self) -> String {
        self.inner.user_id().to_string()
    }

    /// Called on the sender's own pin: the devices to encrypt a message to
    /// `recipient` to, as `LinkedDevice`s (`deviceId`, `identity`): every
    /// device on the recipient's pinned list, then this user's other
    /// devices (never `sendingDevice`). Messages go to users, not devices;
    /// never add a device only the relay names.
    #[wasm_bindgen(js_name = recipientDevices)]
    pub fn recipient_devices(
        &self,
        recipient: &PinnedDeviceList,
        sending_device: &str,
    ) -> Vec<DeviceEntry> {
        crate::device_list::recipient_devices(&[&recipient.inner], &self.inner, sending_device)
            .into_iter()
            .map(|entry| DeviceEntry {
                inner: entry.clone(),
            })
            .collect()
    }

    /// The pinned user key.
    #[wasm_bindgen(js_name = userKey)]
    pub fn user_key(&self) -> PublicUserIdentity {
        PublicUserIdentity {
            inner: self.inner.user_key().clone(),
        }
    }

    /// The newest accepted list.
    pub fn list(&self) -> DeviceList {
        DeviceList {
            inner: self.inner.list().clone(),
        }
    }

    /// The newest accepted list as signed, to hand on (for instance to a
    /// newly linked device, which verifies it again).
    #[wasm_bindgen(js_name = signedBytes)]
    pub fn signed_bytes(&self) -> Vec<u8> {
        self.inner.signed().as_bytes().to_vec()
    }

    /// The storage encoding, for `fromBytes`.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.inner.to_bytes()
    }

    /// Reads a pin stored with `toBytes()`, verifying the list under the
    /// stored key again.
    ///
    /// Throws `malformed_device_list`, `unsupported_version`, or as
    /// `DeviceList.verify`.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<PinnedDeviceList, JsValue> {
        core::PinnedDeviceList::from_bytes(bytes)
            .map(|inner| PinnedDeviceList { inner })
            .map_err(to_js)
    }
}

/// An accepted device list update: the pin to keep from now on, and the
/// devices that came and went.
#[wasm_bindgen]
#[derive(Debug)]
pub struct DeviceListChange {
    inner: core::DeviceListChange,
}

#[wasm_bindgen]
impl DeviceListChange {
    /// The pin to keep (and store) from now on.
    pub fn pinned(&self) -> PinnedDeviceList {
        PinnedDeviceList {
            inner: self.inner.pinned().clone(),
        }
    }

    /// Ids of the devices on the new list and not on the previous one. A
    /// device whose identity changed is in both `added()` and `removed()`.
    pub fn added(&self) -> Vec<String> {
        device_ids(self.inner.added())
    }

    /// Ids of the devices on the previous list and not on the new one.
    pub fn removed(&self) -> Vec<String> {
        device_ids(self.inner.removed())
    }

    /// Whether the update carried the pinned list again: nothing changed.
    #[wasm_bindgen(getter)]
    pub fn unchanged(&self) -> bool {
        self.inner.is_unchanged()
    }
}

fn device_ids(entries: &[core::DeviceEntry]) -> Vec<String> {
    entries
        .iter()
        .map(|entry| entry.device_id().to_string())
        .collect()
}

/// One device of a pinned list: its id and identity.
#[wasm_bindgen]
#[derive(Debug)]
pub struct DeviceEntry {
    inner: core::DeviceEntry,
}

#[wasm_bindgen]
impl DeviceEntry {
    /// The device id.
    #[wasm_bindgen(getter, js_name = deviceId)]
    pub fn device_id(&self) -> String {
        self.inner.device_id().to_string()
    }

    /// The device's public identity.
    #[wasm_bindgen(getter)]
    pub fn identity(&self) -> PublicIdentity {
        PublicIdentity {
            inner: self.inner.identity().clone(),
        }
    }
}
