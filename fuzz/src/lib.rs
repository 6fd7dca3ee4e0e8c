//! What the fuzz targets (`fuzz_targets/`) and the seed generator
//! (`src/bin/seed.rs`) share: fixed keys, a real conversation, and the input
//! layout of the streaming attachment targets.
//!
//! Every random byte drawn while these values are made comes from
//! `careseal::fuzzing::seed_rng`, so they are identical in every process:
//! the seed generator writes genuine messages for exactly the session a
//! target holds, and a crashing input reproduces.

use std::sync::OnceLock;

use careseal::fuzzing::{seed_rng, unseed_rng};
use careseal::{
    AcceptedSession, Account, AttachmentDescriptor, AttachmentError, AttachmentKey,
    AttachmentReader, AttachmentWriter, Identity, PreKeyBundle, Session, SessionError, StorageKey,
};

/// The seed every fixed value is derived from (with a label per value).
const SETUP_SEED: u64 = 0x4361_7265_5365_616c;

/// The seed installed before each iteration of a target that may ratchet
/// (a DH ratchet step draws a fresh key pair).
const ITERATION_SEED: u64 = 0x6675_7a7a;

/// Makes `make`'s random draws a function of `label` alone.
fn deterministic<T>(label: u64, make: impl FnOnce() -> T) -> T {
    seed_rng(SETUP_SEED ^ label);
    let value = make();
    unseed_rng();
    value
}

/// Makes the rest of this iteration's random draws repeatable. Call it after
/// the fixtures are in hand (making them reseeds the generator).
pub fn begin_iteration() {
    seed_rng(ITERATION_SEED);
}

/// The storage key every exported fixture and the import target use.
pub fn storage_key() -> StorageKey {
    StorageKey::from_bytes([0x11; 32])
}

/// The identity sealed envelopes are opened with.
pub fn recipient() -> &'static Identity {
    static RECIPIENT: OnceLock<Identity> = OnceLock::new();
    RECIPIENT.get_or_init(|| deterministic(1, || Identity::generate().expect("rng")))
}

/// An identity that signs some seed envelopes.
pub fn sender() -> &'static Identity {
    static SENDER: OnceLock<Identity> = OnceLock::new();
    SENDER.get_or_init(|| deterministic(2, || Identity::generate().expect("rng")))
}

/// Accepts a session: the one call of `Account::accept_session` in the fuzz
/// crate, so a change of its signature is a one-line edit here.
pub fn accept(account: &mut Account, message: &[u8]) -> Result<AcceptedSession, SessionError> {
    account.accept_session(message, |_| true)
}

/// A message and the plaintext it must decrypt to.
pub struct Genuine {
    /// The session message.
    pub message: Vec<u8>,
    /// Its plaintext.
    pub plaintext: Vec<u8>,
}

/// Bob's side of a real conversation with Alice, in the middle of it, plus
/// two other devices about to start sessions with Bob. Blobs are exported
/// under [`storage_key`].
pub struct Conversation {
    /// Bob's account, after accepting Alice's session; it still holds one-time
    /// prekeys and a previous (rotated) signed prekey.
    pub account: Vec<u8>,
    /// Bob's session with Alice after two turns each way, holding two
    /// skipped message keys.
    pub session: Vec<u8>,
    /// Alice's messages Bob has not received, decryptable in any order: a
    /// delayed prekey message from her first chain (skipped key), a delayed
    /// message of her second chain (skipped key) and the next one in order.
    pub pending: Vec<Genuine>,
    /// Prekey messages from two new devices that Bob's account must accept:
    /// one with a one-time prekey and the current signed prekey, one without
    /// a one-time prekey and the previous signed prekey.
    pub newcomers: Vec<Genuine>,
    /// Every message sent in the conversation, delivered or not (seeds).
    pub transcript: Vec<Vec<u8>>,
    /// Other exported state from the same conversation (seeds): Alice's
    /// account and session, and a new device's session still awaiting a reply.
    pub other_accounts: Vec<Vec<u8>>,
    /// See `other_accounts`.
    pub other_sessions: Vec<Vec<u8>>,
    /// Bob's prekey bundles, before and after the rotation (seeds).
    pub bundles: Vec<PreKeyBundle>,
}

/// The conversation, made once per process.
pub fn conversation() -> &'static Conversation {
    static CONVERSATION: OnceLock<Conversation> = OnceLock::new();
    CONVERSATION.get_or_init(|| deterministic(3, make_conversation))
}

fn genuine(session: &mut Session, plaintext: &[u8]) -> Genuine {
    Genuine {
        message: session.encrypt(plaintext).expect("encrypt"),
        plaintext: plaintext.to_vec(),
    }
}

fn make_conversation() -> Conversation {
    let key = storage_key();
    let mut bob = Account::new().expect("account");
    bob.generate_one_time_prekeys(4).expect("prekeys");
    let old_bundle = bob.prekey_bundle();
    bob.rotate_signed_prekey().expect("rotate");
    let bundle = bob.prekey_bundle();
    let ids: Vec<u32> = bundle.one_time_prekeys().iter().map(|k| k.id).collect();
    let alice = Account::new().expect("account");
    let carol = Account::new().expect("account");
    let dave = Account::new().expect("account");

    let for_alice = bundle.with_one_time_prekey(Some(ids[0])).expect("id");
    let mut alice_to_bob =
        Session::initiate(alice.identity(), &for_alice, Some(bob.public_identity()))
            .expect("initiate");
    let m1 = genuine(&mut alice_to_bob, b"m1: hello, this starts the session");
    let m1b = genuine(&mut alice_to_bob, b"m1b: a second prekey message, delayed");
    let mut bob_to_alice = accept(&mut bob, &m1.message).expect("accept").session;
    let r1 = genuine(&mut bob_to_alice, b"r1: Bob replies");
    alice_to_bob.decrypt(&r1.message).expect("r1");
    let m2 = genuine(&mut alice_to_bob, &[b'2'; 2000]);
    let m3 = genuine(&mut alice_to_bob, b"m3: arrives before m2");
    bob_to_alice.decrypt(&m3.message).expect("m3");
    let m4 = genuine(&mut alice_to_bob, b"m4: the next one in order");
    // A message Bob sent that comes back to him (a reflection).
    let r2 = genuine(&mut bob_to_alice, b"r2: Bob again");

    let for_carol = bundle.with_one_time_prekey(Some(ids[1])).expect("id");
    let mut carol_to_bob = Session::initiate(carol.identity(), &for_carol, None).expect("carol");
    let c1 = genuine(
        &mut carol_to_bob,
        b"c1: a new device, with a one-time prekey",
    );
    let for_dave = old_bundle.with_one_time_prekey(None).expect("none");
    let mut dave_to_bob = Session::initiate(dave.identity(), &for_dave, None).expect("dave");
    let d1 = genuine(
        &mut dave_to_bob,
        b"d1: a new device, previous signed prekey",
    );

    let transcript = [&m1, &m1b, &r1, &m2, &m3, &m4, &r2, &c1, &d1]
        .iter()
        .map(|g| g.message.clone())
        .collect();
    Conversation {
        account: bob.export(&key).expect("export"),
        session: bob_to_alice.export(&key).expect("export"),
        pending: vec![m1b, m2, m4],
        newcomers: vec![c1, d1],
        transcript,
        other_accounts: vec![alice.export(&key).expect("export")],
        other_sessions: vec![
            alice_to_bob.export(&key).expect("export"),
            carol_to_bob.export(&key).expect("export"),
        ],
        bundles: vec![old_bundle, bundle],
    }
}

/// A writer for the fixed attachment key. Every writer is the same (file
/// key, nonce and all), so files from it open with [`attachment_key`].
pub fn attachment_writer() -> AttachmentWriter {
    deterministic(4, || AttachmentWriter::new().expect("writer"))
}

/// The key the attachment targets read with.
pub fn attachment_key() -> AttachmentKey {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    AttachmentKey::from_bytes(*KEY.get_or_init(|| *attachment_writer().key().to_bytes()))
}

/// Most pieces an `age_file` input is cut into before its last piece.
const MAX_CUTS: u8 = 7;

/// Splits an `age_file` input into pieces to push, in order: the first
/// byte's low three bits are a count `n`, then `n` big-endian u16 piece
/// lengths, then the file. The file is cut at those lengths (shortened at
/// its end) and what is left is the last piece. `None` if the lengths are
/// incomplete. Returns the pieces and the whole file.
pub fn split_pieces(data: &[u8]) -> Option<(Vec<&[u8]>, &[u8])> {
    let (&first, rest) = data.split_first()?;
    let cuts = usize::from(first & MAX_CUTS);
    if rest.len() < 2 * cuts {
        return None;
    }
    let (lengths, file) = rest.split_at(2 * cuts);
    let mut pieces = Vec::with_capacity(cuts + 1);
    let mut remaining = file;
    for length in lengths.chunks_exact(2) {
        let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
        let (piece, after) = remaining.split_at(length.min(remaining.len()));
        pieces.push(piece);
        remaining = after;
    }
    pieces.push(remaining);
    Some((pieces, file))
}

/// The `age_file` input that pushes `file` in pieces of these lengths, then
/// the rest (the inverse of [`split_pieces`]).
pub fn join_pieces(lengths: &[u16], file: &[u8]) -> Vec<u8> {
    assert!(lengths.len() <= usize::from(MAX_CUTS));
    let mut out = vec![lengths.len() as u8];
    for length in lengths {
        out.extend_from_slice(&length.to_be_bytes());
    }
    out.extend_from_slice(file);
    out
}

/// Reads an age file pushed in `pieces` with [`attachment_key`], as a plain
/// age file (no descriptor); the plaintext only if `finish` succeeded.
pub fn read_age<'a>(
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, AttachmentError> {
    read_with(AttachmentReader::new(attachment_key()), pieces)
}

/// A genuine attachment made with [`attachment_writer`]: its age file, its
/// descriptor and its plaintext.
pub fn genuine_attachment() -> &'static (Vec<u8>, AttachmentDescriptor, Vec<u8>) {
    static GENUINE: OnceLock<(Vec<u8>, AttachmentDescriptor, Vec<u8>)> = OnceLock::new();
    GENUINE.get_or_init(|| {
        let plaintext: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
        let mut writer = attachment_writer();
        let mut file = Vec::new();
        writer.push(&plaintext, &mut file).expect("push");
        let written = writer.finish(&mut file).expect("finish");
        let descriptor = AttachmentDescriptor::new(
            written.key,
            written.ciphertext,
            written.plaintext_length,
            "scan.pdf",
            "application/pdf",
        )
        .expect("descriptor");
        (file, descriptor, plaintext)
    })
}

/// Reads `pieces` as the file [`genuine_attachment`]'s descriptor announces.
pub fn read_as_announced<'a>(
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, AttachmentError> {
    read_with(
        AttachmentReader::for_descriptor(&genuine_attachment().1),
        pieces,
    )
}

fn read_with<'a>(
    mut reader: AttachmentReader,
    pieces: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, AttachmentError> {
    let mut out = Vec::new();
    for piece in pieces {
        reader.push(piece, &mut out)?;
    }
    reader.finish(&mut out)?;
    Ok(out)
}
