//! Writes seed corpora from real outputs into `corpus/<target>/seed-*`:
//! identities, envelopes, bundles, session messages of the fixed
//! conversation, exported state, age files and descriptors. Checks first that
//! the fixtures behave (sealed envelopes open, pending messages decrypt, age
//! files read back), so a change that breaks the fixed setup fails here
//! instead of leaving the fuzzers with seeds that never get past the keys.
//!
//! Usage: `cargo run --bin seed [CORPUS_DIR]` (default: `corpus/` beside
//! this crate's manifest). Existing `seed-*` files are replaced; anything
//! libFuzzer added is kept.

use std::fs;
use std::path::{Path, PathBuf};

use careseal::attachment::{self, CHUNK_LEN, MAX_HEADER_LEN};
use careseal::fuzzing::{self, account_state, identity_state, session_state};
use careseal::invitation::{InvitationCode, RegistrationProof, invitation_link_fragment};
use careseal::linking::ExistingDeviceLink;
use careseal::sealed::MAX_SEALED_MESSAGE_LEN;
use careseal::{
    Account, ControlKind, DeviceEntry, DeviceList, MessageBody, MessageContext, MessageEnvelope,
    PublicIdentity, Session, UserIdentity, sealed,
};
use careseal_fuzz::{
    attachment_key, attachment_writer, conversation, join_pieces, read_age, recipient, sender,
    storage_key,
};

/// The seeds of one target.
struct Seeds {
    dir: PathBuf,
    count: usize,
}

impl Seeds {
    fn new(root: &Path, target: &str) -> Self {
        let dir = root.join(target);
        fs::create_dir_all(&dir).expect("create corpus directory");
        for entry in fs::read_dir(&dir).expect("read corpus directory") {
            let path = entry.expect("entry").path();
            if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
            {
                fs::remove_file(path).expect("remove old seed");
            }
        }
        Self { dir, count: 0 }
    }

    fn add(&mut self, name: &str, bytes: &[u8]) {
        self.count += 1;
        let path = self.dir.join(format!("seed-{:02}-{name}", self.count));
        fs::write(path, bytes).expect("write seed");
    }
}

fn age_file(plaintext: &[u8]) -> Vec<u8> {
    let mut writer = attachment_writer();
    let mut out = Vec::new();
    writer.push(plaintext, &mut out).expect("push");
    writer.finish(&mut out).expect("finish");
    // Read as a plain age file, it is the plaintext and its zero padding.
    let read = read_age([out.as_slice()]).expect("the fixed key reads its own files");
    assert_eq!(&read[..plaintext.len()], plaintext);
    assert!(read[plaintext.len()..].iter().all(|b| *b == 0));
    out
}

/// Length of the header of an age file, through the MAC line.
fn header_len(file: &[u8]) -> usize {
    let mac_line = file
        .windows(4)
        .position(|w| w == b"\n---")
        .expect("MAC line")
        + 1;
    mac_line
        + file[mac_line..]
            .iter()
            .position(|b| *b == b'\n')
            .expect("end")
        + 1
}

fn identities(root: &Path) {
    let mut seeds = Seeds::new(root, "public_identity");
    let mut all: Vec<PublicIdentity> = vec![
        recipient().public_identity().clone(),
        sender().public_identity().clone(),
    ];
    all.extend(conversation().bundles.iter().map(|b| b.identity().clone()));
    for (i, identity) in all.iter().enumerate() {
        seeds.add(&format!("bytes-{i}"), identity.as_bytes());
        seeds.add(&format!("text-{i}"), identity.to_text().as_bytes());
    }
}

fn envelopes(root: &Path) {
    let mut seeds = Seeds::new(root, "sealed_open");
    let to = recipient().public_identity();
    let messages: [&[u8]; 4] = [b"", b"I need a refill", &[0x42; 300], &[0x17; 4000]];
    for (i, message) in messages.iter().enumerate() {
        for signer in [None, Some(sender())] {
            let envelope = sealed::seal(to, message, signer).expect("seal");
            let opened = sealed::open(recipient(), &envelope).expect("open");
            assert_eq!(opened.message(), *message);
            let kind = if signer.is_some() {
                "signed"
            } else {
                "anonymous"
            };
            seeds.add(&format!("{kind}-{i}"), &envelope);
        }
    }
    let elsewhere = sealed::seal(sender().public_identity(), b"not for you", None).expect("seal");
    seeds.add("wrong-recipient", &elsewhere);

    // Payloads as sealed_payload encrypts them: flag, sender, message, padding.
    let mut seeds = Seeds::new(root, "sealed_payload");
    let padded = |content: Vec<u8>| fuzzing::pad(&content);
    let anonymous = |message: &[u8]| [&[0u8][..], message].concat();
    seeds.add("anonymous", &padded(anonymous(b"I need a refill")));
    seeds.add("anonymous-long", &padded(anonymous(&[0x17; 4000])));
    seeds.add("unpadded", &anonymous(b"I need a refill"));
    let signed = [
        &[1u8][..],
        sender().public_identity().as_bytes(),
        &[0; 64],
        b"hi",
    ]
    .concat();
    seeds.add("signed", &padded(signed));
    let largest = vec![0x42; MAX_SEALED_MESSAGE_LEN];
    seeds.add("anonymous-largest", &padded(anonymous(&largest)));
    seeds.add(
        "anonymous-one-over",
        &padded(anonymous(&[&largest[..], b"!"].concat())),
    );
}

fn bundles(root: &Path) {
    let mut seeds = Seeds::new(root, "prekey_bundle");
    for (i, bundle) in conversation().bundles.iter().enumerate() {
        seeds.add(&format!("bytes-{i}"), &bundle.to_bytes());
        seeds.add(&format!("base64-{i}"), bundle.to_base64().as_bytes());
        let bare = bundle.with_one_time_prekey(None).expect("none");
        seeds.add(&format!("no-one-time-{i}"), &bare.to_bytes());
    }
}

fn session_messages(root: &Path) {
    let conversation = conversation();
    let key = storage_key();
    let mut session = Session::import(&key, &conversation.session).expect("fixture");
    for genuine in &conversation.pending {
        assert_eq!(
            *session.decrypt(&genuine.message).expect("pending"),
            genuine.plaintext
        );
    }
    let mut account = Account::import(&key, &conversation.account).expect("fixture");
    for genuine in &conversation.newcomers {
        let accepted = careseal_fuzz::accept(&mut account, &genuine.message).expect("newcomer");
        assert_eq!(*accepted.plaintext, genuine.plaintext);
    }
    let mut seeds = Seeds::new(root, "session_message");
    for (i, message) in conversation.transcript.iter().enumerate() {
        seeds.add(&format!("message-{i}"), message);
    }
}

fn exported_state(root: &Path) {
    let conversation = conversation();
    let key = storage_key();
    let accounts: Vec<Account> = std::iter::once(&conversation.account)
        .chain(&conversation.other_accounts)
        .map(|blob| Account::import(&key, blob).expect("fixture"))
        .collect();
    let sessions: Vec<Session> = std::iter::once(&conversation.session)
        .chain(&conversation.other_sessions)
        .map(|blob| Session::import(&key, blob).expect("fixture"))
        .collect();

    let mut blobs = Seeds::new(root, "pickle_import");
    let mut identity = Seeds::new(root, "identity_state");
    for (i, id) in [recipient(), sender()].into_iter().enumerate() {
        blobs.add(&format!("identity-{i}"), &id.export(&key).expect("export"));
        identity.add(
            &format!("identity-{i}"),
            &identity_state(id).expect("state"),
        );
    }
    let mut state = Seeds::new(root, "account_state");
    for (i, account) in accounts.iter().enumerate() {
        blobs.add(
            &format!("account-{i}"),
            &account.export(&key).expect("export"),
        );
        state.add(
            &format!("account-{i}"),
            &account_state(account).expect("state"),
        );
    }
    let mut state = Seeds::new(root, "session_state");
    for (i, session) in sessions.iter().enumerate() {
        blobs.add(
            &format!("session-{i}"),
            &session.export(&key).expect("export"),
        );
        state.add(
            &format!("session-{i}"),
            &session_state(session).expect("state"),
        );
    }
}

fn attachments(root: &Path) {
    let small = age_file(b"a short note");
    let header = header_len(&small);

    let mut seeds = Seeds::new(root, "age_header");
    seeds.add("header", &small[..header]);
    seeds.add("header-and-nonce", &small[..header + 16]);
    seeds.add("small-file", &small);
    // Another implementation's extra stanza (the MAC no longer matches, but
    // the parser must skip it) and a body line of exactly 64 columns.
    let mut extra = small[..22].to_vec();
    extra.extend_from_slice(b"-> grease-x 1a2b ~!\n");
    extra.extend_from_slice(&[b'A'; 64]);
    extra.extend_from_slice(b"\nAAAA\n");
    extra.extend_from_slice(&small[22..]);
    seeds.add("extra-stanza", &extra);
    seeds.add(
        "future-version",
        b"age-encryption.org/v2\n-> X25519 AAAA\n\n--- ",
    );
    // A stanza body that runs past MAX_HEADER_LEN.
    let mut long = small[..22].to_vec();
    long.extend_from_slice(b"-> long\n");
    for _ in 0..MAX_HEADER_LEN / 64 {
        long.extend_from_slice(&[b'B'; 64]);
        long.push(b'\n');
    }
    seeds.add("too-large", &long);

    let mut seeds = Seeds::new(root, "age_file");
    let plaintexts: [(&str, Vec<u8>); 5] = [
        ("empty", Vec::new()),
        ("one-byte", vec![1]),
        ("thousand", vec![0x33; 1000]),
        ("one-chunk", vec![0x44; CHUNK_LEN]),
        ("two-chunks", vec![0x55; CHUNK_LEN + 1]),
    ];
    // The file the fixed descriptor announces, whole and split.
    let (genuine, _, _) = careseal_fuzz::genuine_attachment();
    seeds.add("announced-whole", &join_pieces(&[], genuine));
    seeds.add(
        "announced-split",
        &join_pieces(&[200, 1000, u16::MAX], genuine),
    );
    for (name, plaintext) in &plaintexts {
        let file = age_file(plaintext);
        let header = u16::try_from(header_len(&file)).expect("short header");
        seeds.add(&format!("{name}-whole"), &join_pieces(&[], &file));
        seeds.add(
            &format!("{name}-split"),
            &join_pieces(&[1, header - 1, 16, 1000, u16::MAX], &file),
        );
    }

    let mut seeds = Seeds::new(root, "attachment_descriptor");
    let named = [
        ("scan.pdf", "application/pdf"),
        ("notes.txt", ""),
        ("Röntgenbild – Knie.jpeg", "image/jpeg"),
    ];
    for (i, (name, media_type)) in named.iter().enumerate() {
        let (_, descriptor) = attachment::encrypt(b"contents", name, media_type).expect("encrypt");
        seeds.add(&format!("descriptor-{i}"), &descriptor.to_bytes());
    }

    let mut seeds = Seeds::new(root, "age_identity");
    let key = attachment_key();
    let identity = key.to_age_identity();
    seeds.add("upper", identity.as_bytes());
    seeds.add("lower", identity.to_lowercase().as_bytes());
    seeds.add("padded", format!("  {}\n", identity.as_str()).as_bytes());
    seeds.add("recipient", key.age_recipient().as_bytes());
}

/// Users, device lists, message envelopes, invitation links, link offers
/// (`PROTOCOL.md` §8).
fn users(root: &Path) {
    let alice = UserIdentity::generate().expect("user key");
    let key = storage_key();
    let mut state = Seeds::new(root, "user_identity_state");
    state.add(
        "user",
        &fuzzing::user_identity_state(&alice).expect("state"),
    );
    let mut blobs = Seeds::new(root, "pickle_import");
    blobs.add("user", &alice.export(&key).expect("export"));

    let devices = [recipient(), sender()];
    let mut lists = Seeds::new(root, "device_list");
    for count in 1..=devices.len() {
        let entries = devices[..count]
            .iter()
            .enumerate()
            .map(|(i, d)| DeviceEntry::new(&format!("d_device{i}"), d.public_identity().clone()))
            .collect::<Result<Vec<_>, _>>()
            .expect("entries");
        let list = DeviceList::new("u_alice", count as u64, entries).expect("list");
        lists.add(&format!("body-{count}"), &list.to_bytes());
        let signed = list.sign(&alice);
        lists.add(&format!("signed-{count}"), signed.as_bytes());
    }

    let mut envelopes = Seeds::new(root, "message_envelope");
    let context = MessageContext::new("c_conversation", "u_alice", "d_device0", 7).expect("ctx");
    let (_, descriptor) = attachment::encrypt(b"x-ray", "knee.png", "image/png").expect("encrypt");
    for (i, body) in [
        MessageBody::Text("biopsy: benign".into()),
        MessageBody::Text(String::new()),
        MessageBody::Attachment(descriptor.to_bytes()),
        MessageBody::Control(ControlKind::Read, vec![1, 2, 3]),
    ]
    .into_iter()
    .enumerate()
    {
        let envelope = MessageEnvelope::new(context.clone(), body);
        envelopes.add(
            &format!("envelope-{i}"),
            &envelope.to_bytes().expect("encode"),
        );
    }

    let mut texts = Seeds::new(root, "onboarding_text");
    let code = InvitationCode::generate().expect("code");
    texts.add(
        "fragment",
        invitation_link_fragment(&code, alice.public_identity()).as_bytes(),
    );
    texts.add("user-bytes", alice.public_identity().as_bytes());
    texts.add("user-text", alice.public_identity().to_text().as_bytes());
    let (_, offer) = ExistingDeviceLink::offer(0).expect("offer");
    texts.add("offer-bytes", &offer.to_bytes());
    texts.add("offer-text", offer.to_text().as_bytes());
    let entry =
        DeviceEntry::new("d_device0", recipient().public_identity().clone()).expect("entry");
    let list = DeviceList::new("u_bob", 1, vec![entry])
        .expect("list")
        .sign(&alice);
    let proof = RegistrationProof::compute(
        &code,
        alice.public_identity(),
        alice.public_identity(),
        &list,
    );
    texts.add("proof", proof.as_bytes());
}

fn main() {
    let root = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus"));
    identities(&root);
    envelopes(&root);
    bundles(&root);
    session_messages(&root);
    exported_state(&root);
    attachments(&root);
    users(&root);
    println!("seeds written to {}", root.display());
}
