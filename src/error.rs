//! Error types. One enum per concern; every variant has a stable string code
//! (see [`ErrorCode`]) that the JavaScript bindings expose as `error.code`.
//!
//! No error carries key material or plaintext: messages are fixed strings.

use core::fmt;

/// A stable, machine-readable code for an error, such as `"decrypt_failed"`.
///
/// Codes never change meaning once released; callers may match on them.
pub trait ErrorCode {
    /// The stable string code of this error.
    fn code(&self) -> &'static str;
}

macro_rules! error_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => ($code:literal, $msg:literal), )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every variant, for exhaustive checks of codes and messages.
            pub const ALL: &'static [Self] = &[$( Self::$variant, )+];
        }

        impl ErrorCode for $name {
            fn code(&self) -> &'static str {
                match self { $( Self::$variant => $code, )+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self { $( Self::$variant => f.write_str($msg), )+ }
            }
        }

        impl std::error::Error for $name {}
    };
}

error_enum! {
    /// The platform's cryptographically secure random number generator failed.
    pub enum RngError {
        /// `getrandom` (in browsers: `crypto.getRandomValues`) returned an error.
        Unavailable => ("rng_failed", "the platform random number generator failed"),
    }
}

error_enum! {
    /// Errors from parsing or using public keys and identities.
    pub enum KeyError {
        /// The key bytes or text form have the wrong length or encoding.
        Malformed => ("malformed_key", "the key is malformed"),
        /// The key encoding has a version this library does not know.
        UnsupportedVersion => ("unsupported_version", "the key uses an unsupported format version"),
        /// The X25519 key is a low-order point: a Diffie-Hellman with it would
        /// not depend on our secret.
        NonContributory => ("non_contributory_key", "the key is a low-order point and is refused"),
        /// The Ed25519 key is not a valid, canonical, non-weak point.
        InvalidSigningKey => ("invalid_signing_key", "the signing key is invalid"),
        /// Randomness for a new key could not be obtained.
        Rng => ("rng_failed", "the platform random number generator failed"),
    }
}

error_enum! {
    /// Errors from sealing or opening a sealed message (`PROTOCOL.md` §3).
    pub enum SealedError {
        /// The envelope has no bytes at all.
        Empty => ("empty_envelope", "the envelope is empty"),
        /// The envelope is shorter than its fixed header plus the smallest
        /// possible ciphertext.
        Truncated => ("truncated_envelope", "the envelope is truncated"),
        /// The envelope is longer than `MAX_SEALED_ENVELOPE_LEN`.
        TooLarge => ("envelope_too_large", "the envelope exceeds the maximum size"),
        /// The plaintext to seal, or the one an envelope holds, is longer
        /// than `MAX_SEALED_MESSAGE_LEN`.
        MessageTooLarge => ("message_too_large", "the message exceeds the maximum size"),
        /// The envelope's version byte is not one this library reads.
        UnsupportedVersion => ("unsupported_version", "the envelope uses an unsupported format version"),
        /// The envelope is not a sealed message, or its authenticated contents
        /// do not follow the format.
        Malformed => ("malformed_envelope", "the envelope is malformed"),
        /// The envelope is addressed to a different identity.
        WrongRecipient => ("wrong_recipient", "the envelope is addressed to a different identity"),
        /// A public key in the envelope, or the recipient's key, is a
        /// low-order point.
        NonContributory => ("non_contributory_key", "a key is a low-order point and is refused"),
        /// Authentication failed: the envelope was altered or was not made for
        /// this key.
        DecryptFailed => ("decrypt_failed", "the envelope failed authentication"),
        /// The envelope names a sender whose signature does not verify.
        BadSignature => ("bad_signature", "the sender signature does not verify"),
        /// Randomness for sealing could not be obtained.
        Rng => ("rng_failed", "the platform random number generator failed"),
    }
}

error_enum! {
    /// Errors from prekey bundles and the prekeys an account holds
    /// (`PROTOCOL.md` §4).
    pub enum PreKeyError {
        /// The bundle bytes do not follow the format (length, flags, counts).
        MalformedBundle => ("malformed_bundle", "the prekey bundle is malformed"),
        /// The bundle has a version this library does not read.
        UnsupportedVersion => ("unsupported_version", "the prekey bundle uses an unsupported format version"),
        /// The signed prekey's signature does not verify under the bundle's
        /// identity.
        BadSignature => ("bad_prekey_signature", "the signed prekey signature does not verify"),
        /// The bundle belongs to a different identity than the caller expected.
        IdentityMismatch => ("identity_mismatch", "the bundle belongs to a different identity"),
        /// A prekey in the bundle is a low-order X25519 point or not canonical.
        NonContributory => ("non_contributory_key", "a prekey is a low-order point and is refused"),
        /// Generating more one-time prekeys would exceed the account's cap.
        TooManyOneTimePreKeys => ("too_many_prekeys", "the account already holds the maximum number of one-time prekeys"),
        /// Randomness for new prekeys could not be obtained.
        Rng => ("rng_failed", "the platform random number generator failed"),
    }
}

error_enum! {
    /// Errors from starting, using or accepting a session (`PROTOCOL.md` §5).
    pub enum SessionError {
        /// The message has no bytes at all.
        Empty => ("empty_message", "the message is empty"),
        /// The message is shorter than its format requires.
        Truncated => ("truncated_message", "the message is truncated"),
        /// The message is longer than `MAX_SESSION_ENVELOPE_LEN`.
        EnvelopeTooLarge => ("envelope_too_large", "the message exceeds the maximum size"),
        /// The plaintext is longer than `MAX_SESSION_MESSAGE_LEN`.
        MessageTooLarge => ("message_too_large", "the plaintext exceeds the maximum size"),
        /// The message's version byte is not one this library reads.
        UnsupportedVersion => ("unsupported_version", "the message uses an unsupported format version"),
        /// The message's kind or fields do not follow the format.
        Malformed => ("malformed_message", "the message is malformed"),
        /// The message belongs to another session.
        WrongSession => ("wrong_session", "the message belongs to a different session"),
        /// A session can only be accepted from a prekey message.
        NotPreKeyMessage => ("not_a_prekey_message", "a session can only be accepted from a prekey message"),
        /// The prekey message names a signed prekey this account does not have.
        UnknownSignedPreKey => ("unknown_signed_prekey", "the message names an unknown signed prekey"),
        /// The prekey message names a one-time prekey that was already used
        /// or never existed.
        UnknownOneTimePreKey => ("unknown_one_time_prekey", "the one-time prekey was already used or never existed"),
        /// The caller refused the initiator's identity when accepting a
        /// session.
        IdentityMismatch => ("identity_mismatch", "the session was started by an identity the caller did not accept"),
        /// The signed prekey named by the prekey message has remembered
        /// `MAX_BASE_KEYS_PER_SIGNED_PREKEY` sessions; rotate it.
        SignedPreKeyExhausted => ("signed_prekey_exhausted", "the signed prekey accepted its maximum number of sessions and must be rotated"),
        /// The initiator already started `MAX_SESSIONS_PER_INITIATOR`
        /// sessions with this signed prekey.
        TooManySessions => ("too_many_sessions", "the initiator started the maximum number of sessions with this signed prekey"),
        /// The message counter jumps further ahead than
        /// `MAX_SKIPPED_PER_CHAIN`.
        TooManySkipped => ("too_many_skipped", "the message skips more messages than allowed"),
        /// The message was already decrypted, or its key has been deleted.
        Replayed => ("replayed_message", "the message was already received or its key was deleted"),
        /// Authentication failed: the message was altered or is not for this
        /// session state.
        DecryptFailed => ("decrypt_failed", "the message failed authentication"),
        /// A public key in the message is a low-order point.
        NonContributory => ("non_contributory_key", "a key is a low-order point and is refused"),
        /// The sending counter would overflow (after 2^32 - 1 messages
        /// without a reply).
        CounterExhausted => ("counter_exhausted", "the sending chain is exhausted; a reply is needed"),
        /// Randomness for a new ratchet key could not be obtained.
        Rng => ("rng_failed", "the platform random number generator failed"),
    }
}

error_enum! {
    /// Errors from exporting or importing encrypted state (`PROTOCOL.md` §6).
    pub enum PickleError {
        /// The blob is not an exported state of the expected kind.
        Malformed => ("malformed_pickle", "the exported state is malformed"),
        /// The blob has a version this library does not read.
        UnsupportedVersion => ("unsupported_version", "the exported state uses an unsupported format version"),
        /// Authentication failed: a wrong storage key, or the blob was altered.
        DecryptFailed => ("pickle_decrypt_failed", "the exported state failed authentication: wrong key or altered"),
        /// The storage key is not exactly 32 bytes.
        InvalidStorageKey => ("invalid_storage_key", "the storage key must be exactly 32 bytes"),
        /// The blob is larger than `MAX_PICKLE_LEN`.
        TooLarge => ("pickle_too_large", "the exported state exceeds the maximum size"),
        /// Randomness for the export nonce could not be obtained.
        Rng => ("rng_failed", "the platform random number generator failed"),
    }
}

error_enum! {
    /// Errors from encrypting or decrypting attachments (`PROTOCOL.md` §7).
    pub enum AttachmentError {
        /// The age header does not follow the format.
        MalformedHeader => ("malformed_header", "the attachment header is malformed"),
        /// The age header names a version other than v1.
        UnsupportedVersion => ("unsupported_version", "the attachment uses an unsupported format version"),
        /// The age header is longer than `MAX_HEADER_LEN`.
        HeaderTooLarge => ("header_too_large", "the attachment header exceeds the maximum size"),
        /// No recipient stanza opens with this attachment key.
        WrongKey => ("wrong_key", "the attachment was not encrypted to this key"),
        /// The header MAC does not verify: the header was altered.
        HeaderMacMismatch => ("header_mac_mismatch", "the attachment header was altered"),
        /// An ephemeral share in the header is a low-order point.
        NonContributory => ("non_contributory_key", "a key is a low-order point and is refused"),
        /// The data ended inside the header, the nonce or a chunk.
        Truncated => ("truncated_attachment", "the attachment is truncated"),
        /// The data ended at a chunk boundary without a final chunk.
        MissingFinalChunk => ("missing_final_chunk", "the attachment ends without its final chunk"),
        /// A chunk failed authentication: it was altered.
        ChunkTampered => ("chunk_tampered", "an attachment chunk failed authentication"),
        /// A chunk from later in the file arrived early.
        ReorderedChunk => ("reordered_chunk", "attachment chunks are out of order"),
        /// A chunk that was already read arrived again.
        DuplicatedChunk => ("duplicated_chunk", "an attachment chunk is duplicated"),
        /// Data follows the final chunk.
        TrailingData => ("trailing_data", "data follows the final attachment chunk"),
        /// The payload is not well formed (an empty final chunk after data).
        MalformedPayload => ("malformed_payload", "the attachment payload is malformed"),
        /// The age header or payload nonce differs from the ones the
        /// descriptor announces: the file is not the one its sender wrote
        /// (anyone who knows the recipient can write an age file to it).
        HeaderMismatch => ("header_mismatch", "the attachment header does not match its descriptor"),
        /// The ciphertext's SHA-256 differs from the one announced.
        DigestMismatch => ("digest_mismatch", "the attachment does not match its announced digest"),
        /// The plaintext after the announced length is not all zeros, or is
        /// not exactly as long as Padmé pads the announced length to.
        MalformedPadding => ("malformed_padding", "the attachment padding is malformed"),
        /// The ciphertext is longer than announced.
        LengthMismatch => ("length_mismatch", "the attachment does not match its announced length"),
        /// The descriptor bytes do not follow the format or exceed a bound.
        MalformedDescriptor => ("malformed_descriptor", "the attachment descriptor is malformed"),
        /// The attachment key text is not a valid age identity.
        MalformedKey => ("malformed_key", "the attachment key is malformed"),
        /// Randomness could not be obtained.
        Rng => ("rng_failed", "the platform random number generator failed"),
    }
}

error_enum! {
    /// Errors from user identities (`PROTOCOL.md` §8.2).
    pub enum UserKeyError {
        /// The key bytes or text form have the wrong length or encoding.
        Malformed => ("malformed_user_key", "the user key is malformed"),
        /// The encoding has a version this library does not know.
        UnsupportedVersion => ("unsupported_version", "the user key uses an unsupported format version"),
        /// The Ed25519 key is not a valid, canonical, non-weak point.
        InvalidSigningKey => ("invalid_signing_key", "the signing key is invalid"),
        /// Randomness for a new key could not be obtained.
        Rng => ("rng_failed", "the platform random number generator failed"),
    }
}

error_enum! {
    /// Errors from signed device lists (`PROTOCOL.md` §8.3).
    pub enum DeviceListError {
        /// The bytes do not follow the format: a length, count, id, key or
        /// order is wrong, or bytes trail.
        Malformed => ("malformed_device_list", "the device list is malformed"),
        /// The bytes are longer than `MAX_SIGNED_DEVICE_LIST_LEN`.
        TooLarge => ("device_list_too_large", "the device list exceeds the maximum size"),
        /// The list's version byte is not one this library reads.
        UnsupportedVersion => ("unsupported_version", "the device list uses an unsupported format version"),
        /// The signature does not verify under the user's key.
        BadSignature => ("bad_device_list_signature", "the device list signature does not verify"),
        /// A user or device id is empty, longer than `MAX_ID_LEN` or holds
        /// a character other than `A-Z a-z 0-9 _ -`.
        InvalidId => ("invalid_id", "an id is empty, too long or holds a character outside A-Z a-z 0-9 _ -"),
        /// The list's version number is 0.
        InvalidVersion => ("invalid_device_list_version", "a device list version starts at 1"),
        /// The list has no device, or more than `MAX_DEVICES`.
        DeviceCount => ("device_count_out_of_range", "a device list holds 1 to MAX_DEVICES devices"),
        /// Two entries share a device id or an identity.
        DuplicateDevice => ("duplicate_device", "the device list names a device id or identity twice"),
        /// The update has a lower version than the pinned list.
        Stale => ("stale_device_list", "the device list is older than the one already accepted"),
        /// The update has the pinned list's version but other contents: the
        /// user's key signed two different lists under one version.
        Conflict => ("device_list_conflict", "two different device lists carry the same version"),
        /// The update is for another user id than the pinned list.
        UserMismatch => ("device_list_user_mismatch", "the device list belongs to a different user id"),
        /// The list verifies under a user key other than the one pinned for
        /// this user id: the user's identity changed (or someone claims it
        /// did). Sending to the user stops until a person accepts the change.
        UserKeyChanged => ("user_key_changed", "the device list is signed by a different user key than the one pinned"),
        /// The update raises the version by more than `MAX_VERSION_STEP`.
        VersionJump => ("device_list_version_jump", "the device list version rises by more than MAX_VERSION_STEP"),
        /// The device id is not on the list.
        UnknownDevice => ("unknown_device", "the device is not on the user's device list"),
        /// The device id is on the list with a different identity.
        IdentityMismatch => ("device_identity_mismatch", "the device id is listed with a different identity"),
    }
}

error_enum! {
    /// Errors from invitations and registration proofs (`PROTOCOL.md` §8.4).
    pub enum InvitationError {
        /// The code, link fragment or proof does not follow the format.
        Malformed => ("malformed_invitation", "the invitation is malformed"),
        /// The fragment's version byte is not one this library reads.
        UnsupportedVersion => ("unsupported_version", "the invitation uses an unsupported format version"),
        /// The registration proof does not verify: another code, or a key or
        /// device list was substituted.
        ProofMismatch => ("invitation_proof_mismatch", "the registration proof does not match this invitation"),
        /// The invitee's device list does not verify (see its own codes
        /// through [`crate::SignedDeviceList::from_bytes`]).
        BadDeviceList => ("invitation_device_list_invalid", "the invitee's device list does not verify"),
        /// The invitee's device list names a user id other than the one the
        /// inviter files the registration under.
        UserMismatch => ("invitation_user_mismatch", "the invitee's device list names a different user id"),
        /// Randomness for a new code could not be obtained.
        Rng => ("rng_failed", "the platform random number generator failed"),
    }
}

error_enum! {
    /// Errors from the context inside a session message (`PROTOCOL.md` §8.5).
    pub enum MessageContextError {
        /// The bytes do not follow the format.
        Malformed => ("malformed_message_context", "the message context is malformed"),
        /// The encoding is longer than `MAX_SESSION_MESSAGE_LEN`.
        TooLarge => ("message_too_large", "the message exceeds the maximum size"),
        /// The context's version byte is not one this library reads.
        UnsupportedVersion => ("unsupported_version", "the message context uses an unsupported format version"),
        /// The body or control kind byte is not one this library knows.
        UnknownKind => ("unknown_body_kind", "the message body has an unknown kind"),
        /// An id is empty, too long or holds a character outside
        /// `A-Z a-z 0-9 _ -`, or the sequence number is 0.
        InvalidField => ("invalid_message_context", "an id or the sequence number of the context is invalid"),
        /// The context names a sender user other than the device list's.
        SenderUserMismatch => ("sender_user_mismatch", "the message names a sender user other than the device list's"),
        /// The sending device is not on the sender's device list.
        SenderNotOnDeviceList => ("sender_not_on_device_list", "the sending device is not on the sender's device list"),
        /// The device id is on the list, but the session was authenticated
        /// with a different identity.
        SenderIdentityMismatch => ("sender_identity_mismatch", "the session's identity is not the one listed for that device"),
        /// The message belongs to another conversation.
        ConversationMismatch => ("conversation_mismatch", "the message belongs to a different conversation"),
        /// The sequence number was already accepted from that device in this
        /// conversation.
        ReplayedSequence => ("replayed_sequence", "the message repeats one already received"),
        /// The sequence number is more than `SEQUENCE_WINDOW` below the
        /// highest one seen from that device: too old to tell whether it
        /// was received.
        SequenceOutOfWindow => ("sequence_out_of_window", "the message is too far behind the newest one received to be accepted"),
    }
}

error_enum! {
    /// Errors from linking a new device (`PROTOCOL.md` §8.6).
    pub enum LinkError {
        /// The offer or message does not follow the format.
        Malformed => ("malformed_link_message", "the linking message is malformed"),
        /// The offer or message's version byte is not one this library reads.
        UnsupportedVersion => ("unsupported_version", "the linking message uses an unsupported format version"),
        /// The message belongs to another link offer.
        WrongOffer => ("link_wrong_offer", "the linking message belongs to a different offer"),
        /// The offer is older than `LINK_OFFER_TTL_MS`.
        Expired => ("link_expired", "the link offer has expired"),
        /// A revealed ephemeral key does not match its commitment or the
        /// offer's hash of it.
        CommitmentMismatch => ("link_commitment_mismatch", "the ephemeral key does not match its commitment"),
        /// The user said the two short authentication strings differ.
        SasRejected => ("link_sas_rejected", "the short authentication strings differ"),
        /// An encrypted linking message failed authentication.
        DecryptFailed => ("link_decrypt_failed", "the linking message failed authentication"),
        /// The payload is longer than `MAX_LINK_PAYLOAD_LEN`.
        PayloadTooLarge => ("link_payload_too_large", "the linking payload exceeds the maximum size"),
        /// An ephemeral key is a low-order point.
        NonContributory => ("non_contributory_key", "a key is a low-order point and is refused"),
        /// Randomness could not be obtained.
        Rng => ("rng_failed", "the platform random number generator failed"),
    }
}

impl From<RngError> for AttachmentError {
    fn from(_: RngError) -> Self {
        Self::Rng
    }
}

impl From<RngError> for PreKeyError {
    fn from(_: RngError) -> Self {
        Self::Rng
    }
}

impl From<RngError> for SessionError {
    fn from(_: RngError) -> Self {
        Self::Rng
    }
}

impl From<RngError> for PickleError {
    fn from(_: RngError) -> Self {
        Self::Rng
    }
}

impl From<RngError> for KeyError {
    fn from(_: RngError) -> Self {
        Self::Rng
    }
}

impl From<RngError> for SealedError {
    fn from(_: RngError) -> Self {
        Self::Rng
    }
}

impl From<RngError> for UserKeyError {
    fn from(_: RngError) -> Self {
        Self::Rng
    }
}

impl From<RngError> for InvitationError {
    fn from(_: RngError) -> Self {
        Self::Rng
    }
}

impl From<RngError> for LinkError {
    fn from(_: RngError) -> Self {
        Self::Rng
    }
}
