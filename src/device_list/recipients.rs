//! Which devices a message goes to (`PROTOCOL.md` §8.3): messages are sent
//! to users, not devices. A message is encrypted to every device on the
//! recipients' pinned lists and to the sender's own other devices, so every
//! device of every user in the conversation shows the whole conversation —
//! and to no device that only the relay names.

use super::{DeviceEntry, PinnedDeviceList};

/// The devices to encrypt one message to: every device on each of
/// `recipients` (the pinned lists of the users the message is for), then
/// every device on `own` (the sender's own pinned list), each once, never
/// `sending_device` of the sender's own user.
pub fn recipient_devices<'a>(
    recipients: &[&'a PinnedDeviceList],
    own: &'a PinnedDeviceList,
    sending_device: &str,
) -> Vec<&'a DeviceEntry> {
    let mut out: Vec<&'a DeviceEntry> = Vec::new();
    let lists = recipients.iter().copied().chain(core::iter::once(own));
    for pinned in lists {
        let sender_user = pinned.user_id() == own.user_id();
        for entry in pinned.list().devices() {
            let is_sender = sender_user && entry.device_id() == sending_device;
            if !is_sender && !out.contains(&entry) {
                out.push(entry);
            }
        }
    }
    out
}
