//! Interoperability with the reference age implementation (Debian's `age`
//! command, installed by scripts/bootstrap.sh), in both directions, at the
//! sizes where chunking has edge cases.

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

#[test]
fn files_we_write_open_with_the_age_command() {
    let dir = scratch("ours");
    for len in SIZES {
        let plaintext = data(len, 1);
        let (file, descriptor) = attachment::encrypt(&plaintext, "f", "").unwrap();
        let encrypted = dir.join(format!("{len}.age"));
        let identity = dir.join(format!("{len}.key"));
        std::fs::write(&encrypted, &file).unwrap();
        std::fs::write(&identity, descriptor.key.to_age_identity().as_bytes()).unwrap();
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
            let mut reader =
                AttachmentReader::new(AttachmentKey::from_bytes(*key.to_bytes()), None);
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
    let mut reader = AttachmentReader::new(other, None);
    let err = reader.push(&file, &mut Vec::new()).unwrap_err();
    assert_eq!(careseal::ErrorCode::code(&err), "wrong_key");
    std::fs::remove_dir_all(dir).unwrap();
}
