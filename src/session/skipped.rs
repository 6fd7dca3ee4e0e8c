//! The bounded store of skipped message keys (`PROTOCOL.md` §5.5): keys of
//! messages that have not arrived yet because later ones came first.

use std::collections::VecDeque;

use super::chain::MessageKey;

/// Most messages one chain may skip at once: a header whose counter is
/// further ahead than this is refused (`too_many_skipped`), and nothing is
/// stored.
pub const MAX_SKIPPED_PER_CHAIN: u32 = 1000;

/// Most skipped keys kept in total. Beyond it the oldest are deleted: a
/// message delayed past that many others can no longer be decrypted
/// (`replayed_message`).
pub const MAX_SKIPPED_TOTAL: usize = 2000;

/// One stored key: the sender's ratchet key, the message number, the key.
#[derive(Clone)]
pub(crate) struct SkippedKey {
    pub(crate) ratchet_key: [u8; 32],
    pub(crate) counter: u32,
    pub(crate) key: MessageKey,
}

/// Skipped keys in insertion order (oldest first).
#[derive(Clone, Default)]
pub(crate) struct SkippedKeys {
    keys: VecDeque<SkippedKey>,
}

impl SkippedKeys {
    /// Stores a key, deleting the oldest if the store is full.
    pub(crate) fn insert(&mut self, ratchet_key: [u8; 32], counter: u32, key: MessageKey) {
        if self.keys.len() >= MAX_SKIPPED_TOTAL {
            self.keys.pop_front();
        }
        self.keys.push_back(SkippedKey {
            ratchet_key,
            counter,
            key,
        });
    }

    /// Removes and returns the key for (ratchet key, counter), if stored.
    pub(crate) fn take(&mut self, ratchet_key: &[u8; 32], counter: u32) -> Option<MessageKey> {
        let index = self
            .keys
            .iter()
            .position(|k| &k.ratchet_key == ratchet_key && k.counter == counter)?;
        self.keys.remove(index).map(|k| k.key)
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &SkippedKey> {
        self.keys.iter()
    }
}
