use super::*;
use crate::error::ErrorCode;
use proptest::prelude::*;

const SIZES: [usize; 7] = [0, 1, 65535, 65536, 65537, 3 * 65536, 3 * 1024 * 1024 + 17];

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn code<T: core::fmt::Debug>(result: Result<T, AttachmentError>) -> &'static str {
    result.unwrap_err().code()
}

/// Streams `file` through a reader in pieces of `piece` bytes.
fn read_streaming(
    key: AttachmentKey,
    expected: Option<ExpectedCiphertext>,
    file: &[u8],
    piece: usize,
) -> Result<Vec<u8>, AttachmentError> {
    let mut reader = AttachmentReader::new(key, expected);
    let mut out = Vec::new();
    for part in file.chunks(piece.max(1)) {
        reader.push(part, &mut out)?;
    }
    reader.finish(&mut out)?;
    Ok(out)
}

fn copy(key: &AttachmentKey) -> AttachmentKey {
    AttachmentKey::from_bytes(*key.to_bytes())
}

#[test]
fn age_spec_example_identity_and_recipient() {
    // The X25519 identity and recipient printed in the age v1 specification.
    let key = AttachmentKey::from_age_identity(
        "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX",
    )
    .unwrap();
    assert_eq!(*key.to_bytes(), [0x42; 32]);
    assert_eq!(
        key.age_recipient(),
        "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"
    );
    assert_eq!(
        key.to_age_identity().as_str(),
        "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
    );
    let lower = "age-secret-key-1gfpyysjzgfpyysjzgfpyysjzgfpyysjzgfpyysjzgfpyysjzgfpq4egaex";
    assert!(AttachmentKey::from_age_identity(lower).is_ok());
    for bad in [
        "",
        "AGE-SECRET-KEY-1GFPYYSJZ",
        "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj",
    ] {
        assert_eq!(
            code(AttachmentKey::from_age_identity(bad)),
            "malformed_key",
            "{bad}"
        );
    }
}

#[test]
fn round_trips_at_chunk_boundaries() {
    for len in SIZES {
        let plaintext = data(len);
        let (file, descriptor) = encrypt(&plaintext, "scan.pdf", "application/pdf").unwrap();
        let chunks = len.div_ceil(CHUNK_LEN).max(1);
        let header_len = file.len() - len - chunks * 16;
        assert!(header_len < 300, "{len}: header {header_len}");
        assert_eq!(descriptor.ciphertext.length, file.len() as u64);
        assert_eq!(
            &*decrypt(&descriptor, &file).unwrap(),
            &plaintext[..],
            "{len}"
        );
    }
}

#[test]
fn streaming_in_any_piece_size_matches_whole_file() {
    let plaintext = data(200_000);
    for piece in [1, 7, 4096, 65536, 65552, 70_000, 1 << 20] {
        let mut writer = AttachmentWriter::new().unwrap();
        let mut file = Vec::new();
        for part in plaintext.chunks(piece) {
            writer.push(part, &mut file).unwrap();
        }
        let written = writer.finish(&mut file).unwrap();
        let expected = ExpectedCiphertext {
            sha256: written.sha256,
            length: written.length,
        };
        for read_piece in [1, 999, 65552, 1 << 20] {
            let out =
                read_streaming(copy(&written.key), Some(expected), &file, read_piece).unwrap();
            assert_eq!(out, plaintext, "write {piece} read {read_piece}");
        }
    }
}

#[test]
fn every_bit_flip_of_a_small_file_is_rejected() {
    let (file, descriptor) = encrypt(b"lab results: all normal", "r.txt", "text/plain").unwrap();
    let payload_start = file.len() - 16 - 23 - 16;
    for bit in 0..file.len() * 8 {
        let mut tampered = file.clone();
        tampered[bit / 8] ^= 1 << (bit % 8);
        // The streaming reader without an announced digest must still refuse.
        let got = code(read_streaming(
            copy(&descriptor.key),
            None,
            &tampered,
            1 << 20,
        ));
        let allowed: &[&str] = if bit / 8 >= payload_start + 16 {
            &["chunk_tampered"]
        } else if bit / 8 >= payload_start {
            // The payload nonce changes the payload key.
            &["chunk_tampered"]
        } else {
            // A flipped newline makes the header look unfinished.
            &[
                "malformed_header",
                "unsupported_version",
                "wrong_key",
                "header_mac_mismatch",
                "non_contributory_key",
                "truncated_attachment",
            ]
        };
        assert!(allowed.contains(&got), "bit {bit}: {got}");
        // The whole-file API catches it before decrypting: the digest.
        assert_eq!(
            code(decrypt(&descriptor, &tampered)),
            "digest_mismatch",
            "bit {bit}"
        );
    }
}

fn chunked_file(chunks: usize) -> (Vec<u8>, AttachmentDescriptor, usize) {
    let (file, descriptor) = encrypt(&data(chunks * CHUNK_LEN - 100), "x", "").unwrap();
    let payload = file.len() - (chunks * ENCRYPTED_CHUNK_LEN - 100);
    (file, descriptor, payload)
}

#[test]
fn truncation_is_reported() {
    let (file, descriptor, payload) = chunked_file(3);
    let key = || copy(&descriptor.key);
    // Cut at a chunk boundary: the last chunk read is not a final chunk.
    for chunks in 1..3 {
        let cut = &file[..payload + chunks * ENCRYPTED_CHUNK_LEN];
        assert_eq!(
            code(read_streaming(key(), None, cut, 1 << 20)),
            "missing_final_chunk"
        );
        assert_eq!(code(decrypt(&descriptor, cut)), "truncated_attachment");
        assert_eq!(
            code(read_streaming(
                key(),
                Some(descriptor.ciphertext),
                cut,
                4096
            )),
            "truncated_attachment"
        );
    }
    // Cut inside the header, the nonce, or before any chunk.
    for cut in [0, 10, payload - 8, payload, payload + 5] {
        assert_eq!(
            code(read_streaming(key(), None, &file[..cut], 1 << 20)),
            "truncated_attachment",
            "{cut}"
        );
    }
}

#[test]
fn reordered_and_duplicated_chunks_are_reported() {
    let (file, descriptor, payload) = chunked_file(4);
    let chunk = |i: usize| {
        &file[payload + i * ENCRYPTED_CHUNK_LEN
            ..(payload + (i + 1) * ENCRYPTED_CHUNK_LEN).min(file.len())]
    };
    let assemble = |order: &[usize]| -> Vec<u8> {
        let mut out = file[..payload].to_vec();
        for i in order {
            out.extend_from_slice(chunk(*i));
        }
        out
    };
    let key = || copy(&descriptor.key);
    assert_eq!(
        read_streaming(key(), None, &assemble(&[0, 1, 2, 3]), 5000)
            .unwrap()
            .len(),
        4 * CHUNK_LEN - 100
    );
    assert_eq!(
        code(read_streaming(key(), None, &assemble(&[0, 2, 1, 3]), 5000)),
        "reordered_chunk"
    );
    assert_eq!(
        code(read_streaming(
            key(),
            None,
            &assemble(&[0, 1, 1, 2, 3]),
            5000
        )),
        "duplicated_chunk"
    );
    assert_eq!(
        code(read_streaming(key(), None, &assemble(&[0, 1, 2]), 5000)),
        "missing_final_chunk"
    );
    // A short final chunk moved forward shifts every chunk boundary after
    // it: the reader can only see that authentication fails.
    assert_eq!(
        code(read_streaming(key(), None, &assemble(&[0, 3, 1, 2]), 5000)),
        "chunk_tampered"
    );
    // A full final chunk moved forward is found at its real position.
    let (file, descriptor) = encrypt(&data(3 * CHUNK_LEN), "x", "").unwrap();
    let payload = file.len() - 3 * ENCRYPTED_CHUNK_LEN;
    let c = |i: usize| {
        &file[payload + i * ENCRYPTED_CHUNK_LEN..payload + (i + 1) * ENCRYPTED_CHUNK_LEN]
    };
    let moved = [&file[..payload], c(0), c(2), c(1)].concat();
    assert_eq!(
        code(read_streaming(copy(&descriptor.key), None, &moved, 5000)),
        "reordered_chunk"
    );
}

#[test]
fn data_after_the_final_chunk_is_refused() {
    let (file, descriptor) = encrypt(&data(2 * CHUNK_LEN), "x", "").unwrap();
    let mut extended = file.clone();
    extended.extend_from_slice(&[0u8; 100]);
    assert_eq!(
        code(read_streaming(copy(&descriptor.key), None, &extended, 4096)),
        "trailing_data"
    );
    assert_eq!(code(decrypt(&descriptor, &extended)), "length_mismatch");
    assert_eq!(
        code(read_streaming(
            copy(&descriptor.key),
            Some(descriptor.ciphertext),
            &extended,
            4096
        )),
        "length_mismatch"
    );
}

#[test]
fn wrong_key_and_wrong_digest_are_reported() {
    let (file, descriptor) = encrypt(b"x-ray", "x.png", "image/png").unwrap();
    let other = AttachmentKey::generate().unwrap();
    assert_eq!(code(read_streaming(other, None, &file, 100)), "wrong_key");
    let mut wrong = AttachmentDescriptor::from_bytes(&descriptor.to_bytes()).unwrap();
    wrong.ciphertext.sha256[0] ^= 1;
    assert_eq!(code(decrypt(&wrong, &file)), "digest_mismatch");
}

#[test]
fn header_format_errors() {
    let (file, descriptor) = encrypt(b"x", "x", "").unwrap();
    let key = || copy(&descriptor.key);
    let mut v2 = file.clone();
    v2[20] = b'2';
    assert_eq!(
        code(read_streaming(key(), None, &v2, 1 << 20)),
        "unsupported_version"
    );
    assert_eq!(
        code(read_streaming(
            key(),
            None,
            b"not an age file at all\n",
            1 << 20
        )),
        "malformed_header"
    );
    let mut huge = b"age-encryption.org/v1\n-> X ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', MAX_HEADER_LEN));
    assert_eq!(
        code(read_streaming(key(), None, &huge, 1000)),
        "header_too_large"
    );
    // Unknown stanzas are ignored; a malformed X25519 stanza is not.
    let text = String::from_utf8_lossy(&file[..file.len() - 17 - 16]).to_string();
    let extra = text.replacen("-> X25519", "-> example.com/other arg\nAAAA\n-> X25519", 1);
    let mut with_extra = extra.into_bytes();
    with_extra.extend_from_slice(&file[file.len() - 17 - 16..]);
    // The MAC covers the header, so an inserted stanza fails it (not ignored silently).
    assert_eq!(
        code(read_streaming(key(), None, &with_extra, 1 << 20)),
        "header_mac_mismatch"
    );
}

#[test]
fn descriptor_round_trip_and_bounds() {
    let (_, descriptor) = encrypt(b"x", "Lab results — März.pdf", "application/pdf").unwrap();
    let bytes = descriptor.to_bytes();
    let parsed = AttachmentDescriptor::from_bytes(&bytes).unwrap();
    assert_eq!(parsed.name, "Lab results — März.pdf");
    assert_eq!(parsed.media_type, "application/pdf");
    assert_eq!(parsed.ciphertext, descriptor.ciphertext);
    assert_eq!(*parsed.key.to_bytes(), *descriptor.key.to_bytes());
    assert!(!format!("{parsed:?}").contains(&hex::encode(*parsed.key.to_bytes())));
    assert_eq!(
        code(AttachmentDescriptor::from_bytes(&bytes[..bytes.len() - 1])),
        "malformed_descriptor"
    );
    assert_eq!(
        code(AttachmentDescriptor::from_bytes(&[])),
        "malformed_descriptor"
    );
    let mut v2 = bytes.to_vec();
    v2[0] = 2;
    assert_eq!(
        code(AttachmentDescriptor::from_bytes(&v2)),
        "unsupported_version"
    );
    let key = || AttachmentKey::from_bytes([1; 32]);
    let e = ExpectedCiphertext {
        sha256: [0; 32],
        length: 1,
    };
    assert!(AttachmentDescriptor::new(key(), e, &"n".repeat(MAX_FILE_NAME_LEN), "").is_ok());
    assert_eq!(
        code(AttachmentDescriptor::new(
            key(),
            e,
            &"n".repeat(MAX_FILE_NAME_LEN + 1),
            ""
        )),
        "malformed_descriptor"
    );
    assert_eq!(
        code(AttachmentDescriptor::new(key(), e, "a\nb", "")),
        "malformed_descriptor"
    );
    assert_eq!(
        code(AttachmentDescriptor::new(
            key(),
            e,
            "",
            &"t".repeat(MAX_MEDIA_TYPE_LEN + 1)
        )),
        "malformed_descriptor"
    );
    let big = ExpectedCiphertext {
        sha256: [0; 32],
        length: MAX_ATTACHMENT_LEN + 1,
    };
    assert_eq!(
        code(AttachmentDescriptor::new(key(), big, "", "")),
        "malformed_descriptor"
    );
}

#[test]
fn reader_memory_stays_bounded_for_one_huge_push() {
    let (file, descriptor) = encrypt(&data(40 * CHUNK_LEN), "x", "").unwrap();
    let mut reader = AttachmentReader::new(copy(&descriptor.key), None);
    let mut out = Vec::new();
    reader.push(&file, &mut out).unwrap();
    let held = reader.buffered_capacity();
    assert!(held <= 2 * ENCRYPTED_CHUNK_LEN + 64 * 1024, "{held}");
    reader.finish(&mut out).unwrap();
    assert_eq!(out.len(), 40 * CHUNK_LEN);
}

#[test]
fn an_error_poisons_the_reader() {
    let (file, descriptor) = encrypt(&data(3 * CHUNK_LEN), "x", "").unwrap();
    let mut tampered = file.clone();
    let at = file.len() - 3 * ENCRYPTED_CHUNK_LEN + 100;
    tampered[at] ^= 1;
    let mut reader = AttachmentReader::new(copy(&descriptor.key), None);
    let mut out = Vec::new();
    let first = reader.push(&tampered, &mut out).unwrap_err();
    assert_eq!(reader.push(&[], &mut out).unwrap_err(), first);
    assert_eq!(reader.finish(&mut out).unwrap_err(), first);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_sizes_and_piece_sizes_round_trip(len in 0usize..300_000, w in 1usize..100_000, r in 1usize..100_000) {
        let plaintext = data(len);
        let mut writer = AttachmentWriter::new().unwrap();
        let mut file = Vec::new();
        for part in plaintext.chunks(w) {
            writer.push(part, &mut file).unwrap();
        }
        let written = writer.finish(&mut file).unwrap();
        let expected = ExpectedCiphertext { sha256: written.sha256, length: written.length };
        prop_assert_eq!(read_streaming(written.key, Some(expected), &file, r).unwrap(), plaintext);
    }
}

#[test]
fn protocol_md_limits_match_the_code() {
    use crate::test_support::protocol_md_limit;
    assert_eq!(protocol_md_limit("MAX_HEADER_LEN").unwrap(), MAX_HEADER_LEN);
    assert_eq!(protocol_md_limit("CHUNK_LEN").unwrap(), CHUNK_LEN);
    assert_eq!(
        protocol_md_limit("ENCRYPTED_CHUNK_LEN").unwrap(),
        ENCRYPTED_CHUNK_LEN
    );
    assert_eq!(
        protocol_md_limit("MAX_FILE_NAME_LEN").unwrap(),
        MAX_FILE_NAME_LEN
    );
    assert_eq!(
        protocol_md_limit("MAX_MEDIA_TYPE_LEN").unwrap(),
        MAX_MEDIA_TYPE_LEN
    );
    assert_eq!(
        protocol_md_limit("MAX_ATTACHMENT_LEN").unwrap() as u64,
        MAX_ATTACHMENT_LEN
    );
}
