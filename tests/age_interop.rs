//! Interoperability with the reference age implementation (Debian's `age`
//! command, installed by scripts/bootstrap.sh), in both directions, at the
//! sizes where chunking has edge cases. Stored attachments open with age to
//! their padded plaintext (`PROTOCOL.md` §1.4, §7.4).

use std::path::{Path, PathBuf};
use std::process::Command;

use careseal::attachment::{self, AttachmentKey, AttachmentReader, CHUNK_LEN};

const SIZES: [usize; 6] = [0, 1, 65535, 65536, 65537, 3 * 1024 * 1024 + 5];

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("careseal-age-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn age(args: &[&str]) -> Vec<u8> {
    let output = Command::new("age")
        .args(args)
        .output()
        .expect("the `age` command (apt-get install age; scripts/bootstrap.sh does it)");
    assert!(
        output.status.success(),
        "age {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Padmé as PROTOCOL.md §1.4 writes it, for attachments (no marker).
fn padme(len: u64) -> u64 {
    if len <= 256 {
        return 256;
    }
    let e = len.ilog2();
    let s = e.ilog2() + 1;
    let mask = (1u64 << (e - s)) - 1;
    (len + mask) & !mask
}

#[test]
fn files_we_write_open_with_the_age_command_to_the_padded_plaintext() {
    let dir = scratch("ours");
    for len in SIZES {
        let plaintext = data(len, 1);
        let (file, descriptor) = attachment::encrypt(&plaintext, "f", "").unwrap();
        let encrypted = dir.join(format!("{len}.age"));
        let identity = dir.join(format!("{len}.key"));
        std::fs::write(&encrypted, &file).unwrap();
        std::fs::write(&identity, descriptor.key().to_age_identity().as_bytes()).unwrap();
        let opened = age(&["-d", "-i", path(&identity), path(&encrypted)]);
        assert_eq!(opened.len() as u64, padme(len as u64), "size {len}");
        assert!(opened[..len] == plaintext, "size {len}: age output differs");
        assert!(opened[len..].iter().all(|b| *b == 0), "size {len}: padding");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn exported_files_open_with_the_age_command_to_the_exact_bytes() {
    let dir = scratch("exported");
    for len in SIZES {
        let plaintext = data(len, 5);
        let (file, descriptor) = attachment::encrypt(&plaintext, "f", "").unwrap();
        let exported = attachment::export_plain_age(&descriptor, &file).unwrap();
        let encrypted = dir.join(format!("{len}.age"));
        let identity = dir.join(format!("{len}.key"));
        std::fs::write(&encrypted, &exported.file).unwrap();
        std::fs::write(&identity, exported.identity.as_bytes()).unwrap();
        let opened = age(&["-d", "-i", path(&identity), path(&encrypted)]);
        assert!(opened == plaintext, "size {len}: age output differs");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn files_the_age_command_writes_open_with_ours() {
    let dir = scratch("theirs");
    for len in SIZES {
        let plaintext = data(len, 2);
        let key = AttachmentKey::generate().unwrap();
        let input = dir.join(format!("{len}.txt"));
        let encrypted = dir.join(format!("{len}.age"));
        std::fs::write(&input, &plaintext).unwrap();
        age(&[
            "-r",
            &key.age_recipient(),
            "-o",
            path(&encrypted),
            path(&input),
        ]);
        let file = std::fs::read(&encrypted).unwrap();
        for piece in [1000, CHUNK_LEN + 16, 1 << 22] {
            let mut reader = AttachmentReader::new(AttachmentKey::from_bytes(*key.to_bytes()));
            let mut out = Vec::new();
            for part in file.chunks(piece) {
                reader.push(part, &mut out).unwrap();
            }
            reader.finish(&mut out).unwrap();
            assert!(out == plaintext, "size {len}, pieces of {piece}");
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_file_for_another_key_is_refused_by_both() {
    let dir = scratch("wrong");
    let (file, _) = attachment::encrypt(b"x", "f", "").unwrap();
    let other = AttachmentKey::generate().unwrap();
    let encrypted = dir.join("x.age");
    let identity = dir.join("other.key");
    std::fs::write(&encrypted, &file).unwrap();
    std::fs::write(&identity, other.to_age_identity().as_bytes()).unwrap();
    let status = Command::new("age")
        .args(["-d", "-i", path(&identity), path(&encrypted)])
        .output()
        .unwrap()
        .status;
    assert!(!status.success());
    let mut reader = AttachmentReader::new(other);
    let err = reader.push(&file, &mut Vec::new()).unwrap_err();
    assert_eq!(careseal::ErrorCode::code(&err), "wrong_key");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_file_the_age_command_writes_to_an_attachment_recipient_releases_nothing() {
    // Anyone who learns an attachment's recipient can address a file to it
    // with age; the descriptor's header digest refuses it before any chunk.
    let dir = scratch("forged");
    let (file, descriptor) = attachment::encrypt(&data(200_000, 3), "scan.pdf", "").unwrap();
    let input = dir.join("forged.txt");
    let forged = dir.join("forged.age");
    // As long as the padded plaintext, so the forged file is as long too.
    std::fs::write(&input, data(padme(200_000) as usize, 4)).unwrap();
    let recipient = descriptor.key().age_recipient();
    age(&["-r", &recipient, "-o", path(&forged), path(&input)]);
    let forged = std::fs::read(&forged).unwrap();
    assert_eq!(forged.len(), file.len());
    let mut reader = AttachmentReader::for_descriptor(&descriptor);
    let mut out = Vec::new();
    let err = reader.push(&forged, &mut out).unwrap_err();
    assert_eq!(careseal::ErrorCode::code(&err), "header_mismatch");
    assert!(out.is_empty());
    let err = attachment::decrypt(&descriptor, &forged).unwrap_err();
    assert_eq!(careseal::ErrorCode::code(&err), "header_mismatch");
    std::fs::remove_dir_all(dir).unwrap();
}
