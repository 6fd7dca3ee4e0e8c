//! Who may see whom: the relay's membership rules in one place, between the
//! API (which turns the answers into status codes) and the [`Store`] (which
//! answers each question with one indexed query).
//!
//! A user sees their own devices and the devices of everyone they share a
//! conversation with; a conversation's envelopes and blobs are for its
//! members only.

use crate::store::{Store, StoreResult};

/// What a user may do with a device id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceAccess {
    /// No such device, or it was revoked.
    Missing,
    /// The device exists but its owner shares no conversation with the user.
    Hidden,
    /// The user may see the device (and fetch its bundle, or revoke it if
    /// they are a clinician).
    Visible {
        /// The device's owner.
        owner: String,
    },
}

/// Whether `viewer` may see `other`'s devices: they are the same user, or
/// they share a conversation.
pub fn may_see(store: &dyn Store, viewer: &str, other: &str) -> StoreResult<bool> {
    Ok(viewer == other || store.shares_conversation(viewer, other)?)
}

/// What `viewer` may do with the device `device_id`.
pub fn device_access(
    store: &dyn Store,
    viewer: &str,
    device_id: &str,
) -> StoreResult<DeviceAccess> {
    let Some(owner) = store.device_owner(device_id)? else {
        return Ok(DeviceAccess::Missing);
    };
    if may_see(store, viewer, &owner)? {
        Ok(DeviceAccess::Visible { owner })
    } else {
        Ok(DeviceAccess::Hidden)
    }
}

/// Whether the device `device_id` may act for its user `user_id` (invite,
/// link another device, revoke): it is on the user's published signed device
/// list, or the user has published none. A device that registered through a
/// link offer but was never confirmed and listed cannot.
pub fn acts_for_user(store: &dyn Store, user_id: &str, device_id: &str) -> StoreResult<bool> {
    let Some(stored) = store.device_list(user_id)? else {
        return Ok(true);
    };
    let Ok(key) = careseal::PublicUserIdentity::from_bytes(&stored.user_key) else {
        return Ok(false);
    };
    Ok(careseal::SignedDeviceList::from_bytes(&stored.list, &key)
        .is_ok_and(|signed| signed.list().device(device_id).is_some()))
}

/// Whether `user` is a member of `conversation` (and so may post to it and
/// read what the relay holds for it).
pub fn is_member(store: &dyn Store, conversation: &str, user: &str) -> StoreResult<bool> {
    store.is_member(conversation, user)
}
