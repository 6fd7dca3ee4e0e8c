//! Messages to users, not devices (`PROTOCOL.md` §8.3, §8.5), as a property
//! over random sequences of device additions, removals and messages between a
//! patient and a clinician, each user with up to four devices, plus a device
//! the relay made up. Every message is encrypted to the devices
//! `recipient_devices` picks from the sending device's pins, and offered by
//! the "relay" to every device that ever existed. Then:
//! - it is readable by exactly the devices on the recipient's and the
//!   sender's lists when it was sent, other than the sending device;
//! - every device that reads it attributes it (by its context, checked
//!   against the sender's pinned list) to the device that really sent it;
//! - the relay's own device reads nothing, and what it sends is attributed
//!   to no one.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeSet;

use careseal::sealed::{open, seal};
use careseal::{
    DeviceEntry, DeviceList, ErrorCode, Identity, MessageBody, MessageContext, MessageEnvelope,
    PinnedDeviceList, SequenceWindow, UserIdentity, recipient_devices,
};
use proptest::prelude::*;

const USERS: [&str; 2] = ["u_patient", "u_clinician"];
const POOL: usize = 4;
const CONVERSATION: &str = "c_care";

#[derive(Debug, Clone)]
enum Step {
    /// User u adds pool device i (if it is not on the list).
    Add(usize, usize),
    /// User u removes pool device i (if it is on the list and not the last).
    Remove(usize, usize),
    /// Pool device i of user u sends a message.
    Send(usize, usize),
    /// The relay's own device sends a message claiming to be device i of u.
    Forge(usize, usize),
}

fn step() -> impl Strategy<Value = Step> {
    let at = || (0..USERS.len(), 0..POOL);
    prop_oneof![
        2 => at().prop_map(|(u, i)| Step::Add(u, i)),
        1 => at().prop_map(|(u, i)| Step::Remove(u, i)),
        4 => at().prop_map(|(u, i)| Step::Send(u, i)),
        1 => at().prop_map(|(u, i)| Step::Forge(u, i)),
    ]
}

/// What one device knows: its relay id (new at every addition: a device
/// added again is a new install), its identity, its pins of both users (up
/// to date while it is on its user's list) and its sequence windows.
struct Device {
    id: String,
    identity: Identity,
    pins: [Option<PinnedDeviceList>; 2],
    windows: std::collections::HashMap<String, SequenceWindow>,
    sequence: u64,
}

impl Device {
    fn fresh(u: usize, i: usize, generation: usize) -> Self {
        Device {
            id: format!("d_{u}_{i}_{generation}"),
            identity: Identity::generate().unwrap(),
            pins: [None, None],
            windows: Default::default(),
            sequence: 0,
        }
    }
}

struct World {
    users: [UserIdentity; 2],
    lists: [DeviceList; 2],
    devices: [[Device; POOL]; 2],
    generation: usize,
}

impl World {
    fn new() -> Self {
        let devices: [[Device; POOL]; 2] =
            std::array::from_fn(|u| std::array::from_fn(|i| Device::fresh(u, i, 0)));
        let lists = std::array::from_fn(|u| {
            let first = &devices[u][0];
            let entry = DeviceEntry::new(&first.id, first.identity.public_identity().clone());
            DeviceList::new(USERS[u], 1, vec![entry.unwrap()]).unwrap()
        });
        let users = std::array::from_fn(|_| UserIdentity::generate().unwrap());
        let mut world = World {
            users,
            lists,
            devices,
            generation: 0,
        };
        for of in 0..2 {
            world.refresh_pins(of);
        }
        world
    }

    fn entry(&self, u: usize, i: usize) -> DeviceEntry {
        let device = &self.devices[u][i];
        DeviceEntry::new(&device.id, device.identity.public_identity().clone()).unwrap()
    }

    fn member(&self, u: usize, i: usize) -> bool {
        self.lists[u].device(&self.devices[u][i].id).is_some()
    }

    /// Every current device of both users updates (or first pins) its pin
    /// of user `of`, as a control message announcing the list would make it.
    fn refresh_pins(&mut self, of: usize) {
        let signed = self.lists[of].sign(&self.users[of]);
        let key = self.users[of].public_identity().clone();
        for u in 0..2 {
            for i in 0..POOL {
                if !self.member(u, i) {
                    continue;
                }
                let device = &mut self.devices[u][i];
                device.pins[of] = Some(match &device.pins[of] {
                    None => PinnedDeviceList::pin(USERS[of], &key, signed.as_bytes()).unwrap(),
                    Some(pin) => pin.update(&key, signed.as_bytes()).unwrap().into_pinned(),
                });
            }
        }
    }

    /// The ground truth: (user, device) pairs on the lists now.
    fn members(&self) -> BTreeSet<(usize, usize)> {
        (0..2)
            .flat_map(|u| (0..POOL).map(move |i| (u, i)))
            .filter(|&(u, i)| self.member(u, i))
            .collect()
    }

    /// Offers `wire` to every device of the pool, on a list or not; returns
    /// who could open it, checking the attribution of what they read.
    fn deliver(
        &mut self,
        wire: &[u8],
        sender: Option<(usize, usize)>,
    ) -> Result<BTreeSet<(usize, usize)>, TestCaseError> {
        let sender_id = sender.map(|(u, i)| self.devices[u][i].id.clone());
        let mut readers = BTreeSet::new();
        for u in 0..2 {
            for i in 0..POOL {
                let device = &mut self.devices[u][i];
                let Ok(opened) = open(&device.identity, wire) else {
                    continue;
                };
                readers.insert((u, i));
                let envelope = MessageEnvelope::from_bytes(opened.message()).unwrap();
                let context = envelope.context();
                let of = USERS
                    .iter()
                    .position(|id| *id == context.sender_user_id())
                    .unwrap();
                let Some(pin) = device.pins[of].as_ref() else {
                    return Err(TestCaseError::fail("a device without pins read a message"));
                };
                let remote = opened.sender().unwrap();
                let key = format!("{}/{}", CONVERSATION, context.sender_device_id());
                let window = device.windows.get(&key).copied().unwrap_or_default();
                let checked = context.check(remote, pin, CONVERSATION, &window);
                match &sender_id {
                    Some(id) => {
                        let check = checked.map_err(|e| TestCaseError::fail(e.code()))?;
                        prop_assert_eq!(context.sender_device_id(), id.as_str());
                        device.windows.insert(key, check.window());
                    }
                    None => prop_assert!(checked.is_err(), "a forged message was attributed"),
                }
            }
        }
        Ok(readers)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn each_message_reaches_exactly_the_listed_devices_at_send_time(
        steps in proptest::collection::vec(step(), 1..25)
    ) {
        let mut world = World::new();
        let relay_device = Identity::generate().unwrap();
        for step in steps {
            match step {
                Step::Add(u, i) | Step::Remove(u, i) => {
                    let adding = matches!(step, Step::Add(..));
                    if adding == world.member(u, i) {
                        continue;
                    }
                    if adding {
                        // A new install: new id, new identity, no pins.
                        world.generation += 1;
                        world.devices[u][i] = Device::fresh(u, i, world.generation);
                    }
                    let next = if adding {
                        world.lists[u].with_device(world.entry(u, i))
                    } else {
                        world.lists[u].without_device(&world.devices[u][i].id)
                    };
                    let Ok(next) = next else { continue };
                    world.lists[u] = next;
                    world.refresh_pins(u);
                    // The new device pins the other user too.
                    world.refresh_pins(1 - u);
                }
                Step::Send(u, i) => {
                    if !world.member(u, i) {
                        continue;
                    }
                    let other = 1 - u;
                    let device = &mut world.devices[u][i];
                    device.sequence += 1;
                    let envelope = MessageEnvelope::new(
                        MessageContext::new(CONVERSATION, USERS[u], &device.id, device.sequence).unwrap(),
                        MessageBody::Text(format!("from {u}/{i}")),
                    );
                    let plaintext = envelope.to_bytes().unwrap();
                    let device = &world.devices[u][i];
                    let own = device.pins[u].as_ref().unwrap();
                    let theirs = device.pins[other].as_ref().unwrap();
                    let targets = recipient_devices(&[theirs], own, &device.id);
                    let wires: Vec<Vec<u8>> = targets
                        .iter()
                        .map(|t| seal(t.identity(), &plaintext, Some(&device.identity)).unwrap())
                        .collect();
                    let mut readers = BTreeSet::new();
                    for wire in &wires {
                        prop_assert!(open(&relay_device, wire).is_err(), "the relay read a message");
                        let read = world.deliver(wire, Some((u, i)))?;
                        prop_assert_eq!(read.len(), 1, "one ciphertext, one reader");
                        readers.extend(read);
                    }
                    let mut expected = world.members();
                    expected.remove(&(u, i));
                    prop_assert_eq!(readers, expected);
                }
                Step::Forge(u, i) => {
                    let claimed = world.devices[u][i].id.clone();
                    let envelope = MessageEnvelope::new(
                        MessageContext::new(CONVERSATION, USERS[u], &claimed, 1_000).unwrap(),
                        MessageBody::Text("forged".into()),
                    );
                    let plaintext = envelope.to_bytes().unwrap();
                    for (v, j) in world.members() {
                        let target = world.devices[v][j].identity.public_identity().clone();
                        let wire = seal(&target, &plaintext, Some(&relay_device)).unwrap();
                        world.deliver(&wire, None)?;
                    }
                }
            }
        }
    }
}
