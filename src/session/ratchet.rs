//! The Double Ratchet state machine (`PROTOCOL.md` §5.3–5.5), following
//! Signal's specification: a DH ratchet step whenever the speaker changes, a
//! symmetric chain step per message, and a bounded store of skipped keys.
//!
//! Methods here mutate `self` freely; [`super::Session`] runs them on a clone
//! and keeps the result only when a message authenticated, so bad input never
//! changes the state.

use std::collections::VecDeque;

use x25519_dalek::{PublicKey, StaticSecret};

use super::chain::{ChainKey, MessageKey, RootKey};
use super::message::MessageHeader;
use super::skipped::{MAX_SKIPPED_PER_CHAIN, SkippedKeys};
use crate::agreement;
use crate::error::SessionError;
use crate::rng;

/// How many retired receiving ratchet keys are remembered, so that a late
/// message on an old chain is reported as `replayed_message` rather than as a
/// failed decryption.
pub(crate) const MAX_RETIRED_CHAINS: usize = 32;

/// Our current ratchet key pair.
#[derive(Clone)]
pub(crate) struct RatchetKeyPair {
    pub(crate) secret: StaticSecret,
    pub(crate) public: [u8; 32],
}

impl RatchetKeyPair {
    pub(crate) fn generate() -> Result<Self, SessionError> {
        let seed = rng::secret_bytes::<32>()?;
        Ok(Self::from_secret(StaticSecret::from(*seed)))
    }

    pub(crate) fn from_secret(secret: StaticSecret) -> Self {
        let public = PublicKey::from(&secret).to_bytes();
        Self { secret, public }
    }
}

/// A sending chain.
#[derive(Clone)]
pub(crate) struct SendingChain {
    pub(crate) key: ChainKey,
    pub(crate) counter: u32,
}

/// A receiving chain, for the peer's ratchet key `their_key`.
#[derive(Clone)]
pub(crate) struct ReceivingChain {
    pub(crate) their_key: [u8; 32],
    pub(crate) key: ChainKey,
    pub(crate) counter: u32,
}

/// The full Double Ratchet state of one side of a session.
#[derive(Clone)]
pub(crate) struct RatchetState {
    pub(crate) root: RootKey,
    pub(crate) ours: RatchetKeyPair,
    pub(crate) sending: Option<SendingChain>,
    pub(crate) receiving: Option<ReceivingChain>,
    pub(crate) previous_sending_len: u32,
    pub(crate) skipped: SkippedKeys,
    pub(crate) retired: VecDeque<[u8; 32]>,
}

impl RatchetState {
    /// The initiator's state after X3DH: it already knows the responder's
    /// signed prekey as the first ratchet key, so it can send at once.
    pub(crate) fn initiator(shared: RootKey, their_key: &PublicKey) -> Result<Self, SessionError> {
        let ours = RatchetKeyPair::generate()?;
        let dh = agreement::diffie_hellman(&ours.secret, their_key)
            .map_err(|_| SessionError::NonContributory)?;
        let (root, chain) = shared.advance(&dh);
        Ok(Self {
            root,
            ours,
            sending: Some(SendingChain {
                key: chain,
                counter: 0,
            }),
            receiving: None,
            previous_sending_len: 0,
            skipped: SkippedKeys::default(),
            retired: VecDeque::new(),
        })
    }

    /// The responder's state after X3DH: its signed prekey is its first
    /// ratchet key; it sends only after the first message arrives.
    pub(crate) fn responder(shared: RootKey, signed_prekey: StaticSecret) -> Self {
        Self {
            root: shared,
            ours: RatchetKeyPair::from_secret(signed_prekey),
            sending: None,
            receiving: None,
            previous_sending_len: 0,
            skipped: SkippedKeys::default(),
            retired: VecDeque::new(),
        }
    }

    /// Advances the sending chain: returns the header fields and the key of
    /// the next message.
    pub(crate) fn next_sending_key(&mut self) -> Result<(MessageHeader, MessageKey), SessionError> {
        let Some(chain) = self.sending.as_mut() else {
            // Only a responder that has not received anything lacks a
            // sending chain, and sessions are never handed out in that state.
            return Err(SessionError::CounterExhausted);
        };
        if chain.counter == u32::MAX {
            return Err(SessionError::CounterExhausted);
        }
        let (next, message_key) = chain.key.advance();
        let header = MessageHeader {
            ratchet_key: self.ours.public,
            previous_chain_len: self.previous_sending_len,
            counter: chain.counter,
        };
        chain.key = next;
        chain.counter += 1;
        Ok((header, message_key))
    }

    /// Finds the key for a received header, performing a DH ratchet step and
    /// storing skipped keys as needed.
    pub(crate) fn receiving_key(
        &mut self,
        header: &MessageHeader,
    ) -> Result<MessageKey, SessionError> {
        if let Some(key) = self.skipped.take(&header.ratchet_key, header.counter) {
            return Ok(key);
        }
        let current = self.receiving.as_ref().map(|c| c.their_key);
        if current != Some(header.ratchet_key) {
            if self.retired.contains(&header.ratchet_key) {
                return Err(SessionError::Replayed);
            }
            self.skip_to(header.previous_chain_len)?;
            self.ratchet_step(&header.ratchet_key)?;
        }
        self.skip_to(header.counter)?;
        let Some(chain) = self.receiving.as_mut() else {
            return Err(SessionError::DecryptFailed);
        };
        if header.counter < chain.counter {
            // Already received: its key was used and deleted.
            return Err(SessionError::Replayed);
        }
        let (next, message_key) = chain.key.advance();
        chain.key = next;
        chain.counter = chain.counter.saturating_add(1);
        Ok(message_key)
    }

    /// Stores the keys of the current receiving chain up to (not including)
    /// `until`.
    fn skip_to(&mut self, until: u32) -> Result<(), SessionError> {
        let Some(chain) = self.receiving.as_mut() else {
            return Ok(());
        };
        if until <= chain.counter {
            return Ok(());
        }
        if until - chain.counter > MAX_SKIPPED_PER_CHAIN {
            return Err(SessionError::TooManySkipped);
        }
        while chain.counter < until {
            let (next, message_key) = chain.key.advance();
            self.skipped
                .insert(chain.their_key, chain.counter, message_key);
            chain.key = next;
            chain.counter += 1;
        }
        Ok(())
    }

    /// The DH ratchet step for a new peer ratchet key.
    fn ratchet_step(&mut self, their_key: &[u8; 32]) -> Result<(), SessionError> {
        let their_public = PublicKey::from(*their_key);
        let receive_dh = agreement::diffie_hellman(&self.ours.secret, &their_public)
            .map_err(|_| SessionError::NonContributory)?;
        let (root, receiving_key) = self.root.advance(&receive_dh);

        let ours = RatchetKeyPair::generate()?;
        let send_dh = agreement::diffie_hellman(&ours.secret, &their_public)
            .map_err(|_| SessionError::NonContributory)?;
        let (root, sending_key) = root.advance(&send_dh);

        if let Some(old) = self.receiving.take() {
            if self.retired.len() >= MAX_RETIRED_CHAINS {
                self.retired.pop_front();
            }
            self.retired.push_back(old.their_key);
        }
        self.previous_sending_len = self.sending.as_ref().map_or(0, |c| c.counter);
        self.root = root;
        self.ours = ours;
        self.receiving = Some(ReceivingChain {
            their_key: *their_key,
            key: receiving_key,
            counter: 0,
        });
        self.sending = Some(SendingChain {
            key: sending_key,
            counter: 0,
        });
        Ok(())
    }
}
