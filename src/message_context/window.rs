//! Which sequence numbers a receiver has accepted from one sending device in
//! one conversation (`PROTOCOL.md` §8.5): the highest, and a bitmap of the
//! [`SEQUENCE_WINDOW`] numbers below it. A message the relay held back and
//! delivers late is accepted once; a number seen before, or too far behind
//! to be told apart from one, is refused.

use crate::error::MessageContextError;

/// How many sequence numbers below the highest one seen are remembered.
pub const SEQUENCE_WINDOW: u64 = 64;

/// Version byte of the window's storage encoding.
const SEQUENCE_WINDOW_VERSION: u8 = 1;

/// Length of the storage encoding: version, highest, bitmap.
pub const SEQUENCE_WINDOW_LEN: usize = 1 + 8 + 8;

/// The sequence numbers accepted so far from one device in one
/// conversation. Start with [`SequenceWindow::default`] (nothing seen).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SequenceWindow {
    /// The highest number accepted (0: none yet).
    highest: u64,
    /// Bit `i` set: number `highest - 1 - i` was accepted.
    below: u64,
}

/// What accepting one number did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Accepted {
    pub(super) window: SequenceWindow,
    /// Numbers newly skipped over (not yet seen) by this one.
    pub(super) gap: u64,
    /// Whether this number was below the highest already seen: it fills an
    /// earlier gap.
    pub(super) late: bool,
}

impl SequenceWindow {
    /// The highest sequence number accepted (0 when none).
    pub fn highest(&self) -> u64 {
        self.highest
    }

    /// How many numbers in the window below the highest are still unseen:
    /// messages dropped or not yet delivered.
    pub fn missing(&self) -> u64 {
        let span = self.highest.saturating_sub(1).min(SEQUENCE_WINDOW);
        let mask = if span == SEQUENCE_WINDOW {
            u64::MAX
        } else {
            (1u64 << span) - 1
        };
        u64::from((!self.below & mask).count_ones())
    }

    /// The window after accepting `sequence` (at least 1).
    ///
    /// # Errors
    /// [`MessageContextError::ReplayedSequence`] if it was accepted before;
    /// [`MessageContextError::SequenceOutOfWindow`] if it is more than
    /// [`SEQUENCE_WINDOW`] below the highest.
    pub(super) fn accept(&self, sequence: u64) -> Result<Accepted, MessageContextError> {
        if sequence > self.highest {
            let shift = sequence - self.highest;
            // The old highest becomes bit shift-1 (if anything was seen).
            let below = if shift > SEQUENCE_WINDOW {
                0
            } else {
                let moved = if shift == SEQUENCE_WINDOW {
                    0
                } else {
                    self.below << shift
                };
                let old = if self.highest > 0 {
                    1u64 << (shift - 1)
                } else {
                    0
                };
                moved | old
            };
            return Ok(Accepted {
                window: Self {
                    highest: sequence,
                    below,
                },
                gap: shift - 1,
                late: false,
            });
        }
        if sequence == self.highest {
            return Err(MessageContextError::ReplayedSequence);
        }
        let behind = self.highest - sequence; // 1 ..
        if behind > SEQUENCE_WINDOW {
            return Err(MessageContextError::SequenceOutOfWindow);
        }
        let bit = 1u64 << (behind - 1);
        if self.below & bit != 0 {
            return Err(MessageContextError::ReplayedSequence);
        }
        Ok(Accepted {
            window: Self {
                highest: self.highest,
                below: self.below | bit,
            },
            gap: 0,
            late: true,
        })
    }

    /// The storage encoding: version (1), highest and bitmap, big-endian.
    pub fn to_bytes(&self) -> [u8; SEQUENCE_WINDOW_LEN] {
        let mut out = [0u8; SEQUENCE_WINDOW_LEN];
        out[0] = SEQUENCE_WINDOW_VERSION;
        out[1..9].copy_from_slice(&self.highest.to_be_bytes());
        out[9..].copy_from_slice(&self.below.to_be_bytes());
        out
    }

    /// Reads a window stored with [`SequenceWindow::to_bytes`].
    ///
    /// # Errors
    /// [`MessageContextError::Malformed`] for a wrong length, or bits set
    /// for numbers below 1; [`MessageContextError::UnsupportedVersion`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MessageContextError> {
        match bytes.first() {
            None => return Err(MessageContextError::Malformed),
            Some(&SEQUENCE_WINDOW_VERSION) => {}
            Some(_) => return Err(MessageContextError::UnsupportedVersion),
        }
        let bytes: &[u8; SEQUENCE_WINDOW_LEN] = bytes
            .try_into()
            .map_err(|_| MessageContextError::Malformed)?;
        let mut highest = [0u8; 8];
        highest.copy_from_slice(&bytes[1..9]);
        let mut below = [0u8; 8];
        below.copy_from_slice(&bytes[9..]);
        let window = Self {
            highest: u64::from_be_bytes(highest),
            below: u64::from_be_bytes(below),
        };
        // Bits may only stand for numbers 1 ..= highest - 1.
        let span = window.highest.saturating_sub(1).min(SEQUENCE_WINDOW);
        if span < SEQUENCE_WINDOW && window.below >> span != 0 {
            return Err(MessageContextError::Malformed);
        }
        Ok(window)
    }
}
