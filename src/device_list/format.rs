//! Byte layout and signature of a device list (`PROTOCOL.md` §8.3).

use super::{DEVICE_LIST_VERSION, DeviceEntry, DeviceList, MAX_DEVICES, check_distinct};
use crate::error::DeviceListError;
use crate::identity::{PUBLIC_IDENTITY_LEN, PublicIdentity};
use crate::ids::MAX_ID_LEN;
use crate::kdf::DOMAIN_DEVICE_LIST;
use crate::user::{PublicUserIdentity, UserIdentity};
use crate::wire::{Reader, put_id};

/// Kind byte of device lists: `'L'`.
const DEVICE_LIST_KIND: u8 = 0x4C;

/// Length of an Ed25519 signature.
const SIGNATURE_LEN: usize = 64;

/// Fixed part: version, kind, user id length, list version, device count.
const FIXED_LEN: usize = 2 + 1 + 8 + 1;

/// Longest entry: id length, id, identity.
const MAX_ENTRY_LEN: usize = 1 + MAX_ID_LEN + PUBLIC_IDENTITY_LEN;

/// Shortest signed list: one-byte ids, one device.
const MIN_SIGNED_DEVICE_LIST_LEN: usize =
    FIXED_LEN + 1 + (1 + 1 + PUBLIC_IDENTITY_LEN) + SIGNATURE_LEN;

/// Longest signed list: 64-byte ids, [`MAX_DEVICES`] devices, signature.
/// Longer input is refused before any work.
pub const MAX_SIGNED_DEVICE_LIST_LEN: usize =
    FIXED_LEN + MAX_ID_LEN + MAX_DEVICES * MAX_ENTRY_LEN + SIGNATURE_LEN;

/// A device list with its user's signature: the bytes that travel through
/// the relay, and the list they were verified to carry.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignedDeviceList {
    list: DeviceList,
    bytes: Vec<u8>,
}

impl DeviceList {
    /// The canonical encoding (without signature).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(FIXED_LEN + MAX_ID_LEN + self.devices.len() * MAX_ENTRY_LEN);
        out.push(DEVICE_LIST_VERSION);
        out.push(DEVICE_LIST_KIND);
        put_id(&mut out, &self.user_id);
        out.extend_from_slice(&self.version.to_be_bytes());
        // At most MAX_DEVICES entries, by construction.
        out.push(u8::try_from(self.devices.len()).unwrap_or(u8::MAX));
        for entry in &self.devices {
            put_id(&mut out, &entry.device_id);
            out.extend_from_slice(entry.identity.as_bytes());
        }
        out
    }

    /// Signs the list with the user's key.
    pub fn sign(&self, user: &UserIdentity) -> SignedDeviceList {
        let mut bytes = self.to_bytes();
        let signature = user.sign(&signature_input(user.public_identity(), &bytes));
        bytes.extend_from_slice(&signature);
        SignedDeviceList {
            list: self.clone(),
            bytes,
        }
    }
}

impl SignedDeviceList {
    /// Verifies and parses a signed list of the user whose key is `user`.
    ///
    /// Checks in order: empty [`DeviceListError::Malformed`]; longer than
    /// [`MAX_SIGNED_DEVICE_LIST_LEN`] [`DeviceListError::TooLarge`];
    /// version [`DeviceListError::UnsupportedVersion`]; kind or shorter
    /// than the smallest list [`DeviceListError::Malformed`]; the signature
    /// (strict) [`DeviceListError::BadSignature`]; then the fields, each as
    /// [`DeviceList::new`] requires, in canonical order with no trailing
    /// bytes ([`DeviceListError::Malformed`], or
    /// [`DeviceListError::DuplicateDevice`] for a repeated id or identity).
    ///
    /// # Errors
    /// As above.
    pub fn from_bytes(bytes: &[u8], user: &PublicUserIdentity) -> Result<Self, DeviceListError> {
        match bytes.first() {
            None => return Err(DeviceListError::Malformed),
            Some(_) if bytes.len() > MAX_SIGNED_DEVICE_LIST_LEN => {
                return Err(DeviceListError::TooLarge);
            }
            Some(&DEVICE_LIST_VERSION) => {}
            Some(_) => return Err(DeviceListError::UnsupportedVersion),
        }
        if bytes.len() < MIN_SIGNED_DEVICE_LIST_LEN || bytes[1] != DEVICE_LIST_KIND {
            return Err(DeviceListError::Malformed);
        }
        let (body, signature) = bytes.split_at(bytes.len() - SIGNATURE_LEN);
        let mut sig = [0u8; SIGNATURE_LEN];
        sig.copy_from_slice(signature);
        if !user.verify(&signature_input(user, body), &sig) {
            return Err(DeviceListError::BadSignature);
        }
        let list = parse_body(body)?;
        Ok(Self {
            list,
            bytes: bytes.to_vec(),
        })
    }

    /// The signed bytes, to publish or store.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The verified list.
    pub fn list(&self) -> &DeviceList {
        &self.list
    }

    /// The verified list, without its signature.
    pub fn into_list(self) -> DeviceList {
        self.list
    }
}

/// Parses an unsigned list body, its version and kind checked as
/// [`SignedDeviceList::from_bytes`] does (for the fuzzer).
#[cfg(feature = "fuzzing")]
pub(crate) fn parse_unsigned(body: &[u8]) -> Result<DeviceList, DeviceListError> {
    if body.first() != Some(&DEVICE_LIST_VERSION) || body.get(1) != Some(&DEVICE_LIST_KIND) {
        return Err(DeviceListError::Malformed);
    }
    parse_body(body)
}

/// What the user's key signs: `DOMAIN_DEVICE_LIST || user key (33) || list`.
pub(crate) fn signature_input(user: &PublicUserIdentity, body: &[u8]) -> Vec<u8> {
    [DOMAIN_DEVICE_LIST, user.as_bytes(), body].concat()
}

/// Parses the signed part (everything before the signature).
fn parse_body(body: &[u8]) -> Result<DeviceList, DeviceListError> {
    let mut r = Reader::new(body, DeviceListError::Malformed);
    r.take(2)?; // version and kind, checked by the caller
    let user_id = r.id()?.to_string();
    let version = r.u64()?;
    let count = usize::from(r.u8()?);
    if version == 0 || count == 0 || count > MAX_DEVICES {
        return Err(DeviceListError::Malformed);
    }
    let mut devices: Vec<DeviceEntry> = Vec::with_capacity(count);
    for _ in 0..count {
        let device_id = r.id()?;
        let identity = PublicIdentity::from_bytes(r.take(PUBLIC_IDENTITY_LEN)?)
            .map_err(|_| DeviceListError::Malformed)?;
        if let Some(previous) = devices.last() {
            if previous.device_id.as_str() > device_id {
                return Err(DeviceListError::Malformed);
            }
        }
        devices.push(DeviceEntry {
            device_id: device_id.to_string(),
            identity,
        });
    }
    r.finish()?;
    check_distinct(&devices)?;
    Ok(DeviceList {
        user_id,
        version,
        devices,
    })
}

/// Encodes entries as given (unsorted or repeated), signed: for tests of
/// the reader's refusals.
#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) fn sign_raw(
    user: &UserIdentity,
    user_id: &str,
    version: u64,
    devices: &[(&str, &PublicIdentity)],
) -> Vec<u8> {
    let mut body = vec![DEVICE_LIST_VERSION, DEVICE_LIST_KIND];
    put_id(&mut body, user_id);
    body.extend_from_slice(&version.to_be_bytes());
    body.push(devices.len() as u8);
    for (id, identity) in devices {
        put_id(&mut body, id);
        body.extend_from_slice(identity.as_bytes());
    }
    let signature = user.sign(&signature_input(user.public_identity(), &body));
    [body, signature.to_vec()].concat()
}
