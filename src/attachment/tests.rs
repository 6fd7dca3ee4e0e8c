use super::*;
use crate::error::ErrorCode;
use crate::padding::padme;
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
    mut reader: AttachmentReader,
    file: &[u8],
    piece: usize,
) -> Result<Vec<u8>, AttachmentError> {
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

/// The descriptor a sender makes for what a writer wrote.
fn descriptor_of(written: WrittenAttachment) -> AttachmentDescriptor {
    AttachmentDescriptor::new(
        written.key,
        written.ciphertext,
        written.plaintext_length,
        "scan.pdf",
        "application/pdf",
    )
    .unwrap()
}

/// A plain age file of exactly `plaintext` (no padding), as other age
/// tools write, and its key.
fn plain_age_file(plaintext: &[u8]) -> (Vec<u8>, AttachmentKey) {
    let mut writer = AttachmentWriter::unpadded().unwrap();
    let mut file = Vec::new();
    writer.push(plaintext, &mut file).unwrap();
    let written = writer.finish(&mut file).unwrap();
    (file, written.key)
}

/// Ciphertext length of a payload of `len` plaintext bytes.
fn payload_len(len: u64) -> u64 {
    len + 16 * len.div_ceil(CHUNK_LEN as u64).max(1)
}

/// Announced facts for descriptors built field by field.
fn announced(length: u64) -> ExpectedCiphertext {
    ExpectedCiphertext {
        sha256: [0; 32],
        length,
        header_sha256: [0; 32],
    }
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
        let head = header_len(&file);
        assert!(head < 300, "{len}: header {head}");
        // The relay sees the padded length only.
        assert_eq!(
            file.len() as u64,
            head as u64 + 16 + payload_len(padme(len as u64)),
            "{len}"
        );
        assert_eq!(descriptor.ciphertext().length, file.len() as u64);
        assert_eq!(descriptor.plaintext_length(), len as u64);
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
        let descriptor = descriptor_of(writer.finish(&mut file).unwrap());
        for read_piece in [1, 999, 65552, 1 << 20] {
            let reader = AttachmentReader::for_descriptor(&descriptor);
            let out = read_streaming(reader, &file, read_piece).unwrap();
            assert_eq!(out, plaintext, "write {piece} read {read_piece}");
        }
    }
}

#[test]
fn every_bit_flip_of_a_small_file_is_rejected() {
    let (file, descriptor) = encrypt(b"lab results: all normal", "r.txt", "text/plain").unwrap();
    let nonce_start = header_len(&file);
    // A flipped newline can make the header look unfinished.
    let header_codes = [
        "malformed_header",
        "unsupported_version",
        "truncated_attachment",
    ];
    for bit in 0..file.len() * 8 {
        let mut tampered = file.clone();
        tampered[bit / 8] ^= 1 << (bit % 8);
        // The streaming reader without a descriptor must still refuse.
        let got = code(read_streaming(
            AttachmentReader::new(copy(descriptor.key())),
            &tampered,
            1 << 20,
        ));
        let allowed: &[&str] = if bit / 8 >= nonce_start {
            // A changed nonce changes the payload key.
            &["chunk_tampered"]
        } else {
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
        // With the descriptor, a change to the header or nonce is found
        // before any chunk is opened, and the whole-file API finds a change
        // to the payload before decrypting: the digest.
        let streamed = code(read_streaming(
            AttachmentReader::for_descriptor(&descriptor),
            &tampered,
            1 << 20,
        ));
        let whole = code(decrypt(&descriptor, &tampered));
        if bit / 8 >= nonce_start + 16 {
            assert_eq!(streamed, "chunk_tampered", "bit {bit}");
            assert_eq!(whole, "digest_mismatch", "bit {bit}");
        } else {
            assert_eq!(streamed, whole, "bit {bit}");
            assert!(
                whole == "header_mismatch" || header_codes.contains(&whole),
                "bit {bit}: {whole}"
            );
        }
    }
}

/// Length of the age header of `file` (through the MAC line).
fn header_len(file: &[u8]) -> usize {
    let mac_line = file.windows(4).position(|w| w == b"\n---").unwrap() + 1;
    mac_line + file[mac_line..].iter().position(|b| *b == b'\n').unwrap() + 1
}

/// A plain age file of `chunks` chunks, the last 100 bytes short; its key,
/// and where the payload starts.
fn chunked_file(chunks: usize) -> (Vec<u8>, AttachmentKey, usize) {
    let (file, key) = plain_age_file(&data(chunks * CHUNK_LEN - 100));
    let payload = header_len(&file) + 16;
    (file, key, payload)
}

#[test]
fn truncation_is_reported() {
    let (file, plain_key, payload) = chunked_file(3);
    let key = || copy(&plain_key);
    // Cut at a chunk boundary: the last chunk read is not a final chunk.
    for chunks in 1..3 {
        let cut = &file[..payload + chunks * ENCRYPTED_CHUNK_LEN];
        assert_eq!(
            code(read_streaming(AttachmentReader::new(key()), cut, 1 << 20)),
            "missing_final_chunk"
        );
    }
    // With a descriptor, the announced length tells first.
    let (file, descriptor) = encrypt(&data(3 * CHUNK_LEN - 100), "x", "").unwrap();
    for chunks in 1..3 {
        let cut = &file[..header_len(&file) + 16 + chunks * ENCRYPTED_CHUNK_LEN];
        assert_eq!(code(decrypt(&descriptor, cut)), "truncated_attachment");
        assert_eq!(
            code(read_streaming(
                AttachmentReader::for_descriptor(&descriptor),
                cut,
                4096
            )),
            "truncated_attachment"
        );
    }
    // Cut inside the header, the nonce, or before any chunk.
    let (file, plain_key, payload) = chunked_file(3);
    for cut in [0, 10, payload - 8, payload, payload + 5] {
        assert_eq!(
            code(read_streaming(
                AttachmentReader::new(copy(&plain_key)),
                &file[..cut],
                1 << 20
            )),
            "truncated_attachment",
            "{cut}"
        );
    }
}

#[test]
fn reordered_and_duplicated_chunks_are_reported() {
    let (file, plain_key, payload) = chunked_file(4);
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
    let key = || copy(&plain_key);
    assert_eq!(
        read_streaming(AttachmentReader::new(key()), &assemble(&[0, 1, 2, 3]), 5000)
            .unwrap()
            .len(),
        4 * CHUNK_LEN - 100
    );
    assert_eq!(
        code(read_streaming(
            AttachmentReader::new(key()),
            &assemble(&[0, 2, 1, 3]),
            5000
        )),
        "reordered_chunk"
    );
    assert_eq!(
        code(read_streaming(
            AttachmentReader::new(key()),
            &assemble(&[0, 1, 1, 2, 3]),
            5000
        )),
        "duplicated_chunk"
    );
    assert_eq!(
        code(read_streaming(
            AttachmentReader::new(key()),
            &assemble(&[0, 1, 2]),
            5000
        )),
        "missing_final_chunk"
    );
    // A short final chunk moved forward shifts every chunk boundary after
    // it: the reader can only see that authentication fails.
    assert_eq!(
        code(read_streaming(
            AttachmentReader::new(key()),
            &assemble(&[0, 3, 1, 2]),
            5000
        )),
        "chunk_tampered"
    );
    // A full final chunk moved forward is found at its real position.
    let (file, plain_key) = plain_age_file(&data(3 * CHUNK_LEN));
    let payload = file.len() - 3 * ENCRYPTED_CHUNK_LEN;
    let c = |i: usize| {
        &file[payload + i * ENCRYPTED_CHUNK_LEN..payload + (i + 1) * ENCRYPTED_CHUNK_LEN]
    };
    let moved = [&file[..payload], c(0), c(2), c(1)].concat();
    assert_eq!(
        code(read_streaming(
            AttachmentReader::new(plain_key),
            &moved,
            5000
        )),
        "reordered_chunk"
    );
}

#[test]
fn data_after_the_final_chunk_is_refused() {
    let (file, descriptor) = encrypt(&data(2 * CHUNK_LEN), "x", "").unwrap();
    let mut extended = file.clone();
    extended.extend_from_slice(&[0u8; 100]);
    assert_eq!(
        code(read_streaming(
            AttachmentReader::new(copy(descriptor.key())),
            &extended,
            4096
        )),
        "trailing_data"
    );
    assert_eq!(code(decrypt(&descriptor, &extended)), "length_mismatch");
    assert_eq!(
        code(read_streaming(
            AttachmentReader::for_descriptor(&descriptor),
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
    assert_eq!(
        code(read_streaming(AttachmentReader::new(other), &file, 100)),
        "wrong_key"
    );
    let mut ciphertext = descriptor.ciphertext();
    ciphertext.sha256[0] ^= 1;
    let wrong =
        AttachmentDescriptor::new(copy(descriptor.key()), ciphertext, 5, "x.png", "").unwrap();
    assert_eq!(code(decrypt(&wrong, &file)), "digest_mismatch");
}

#[test]
fn header_format_errors() {
    let (file, descriptor) = encrypt(b"x", "x", "").unwrap();
    let key = || copy(descriptor.key());
    let mut v2 = file.clone();
    v2[20] = b'2';
    assert_eq!(
        code(read_streaming(AttachmentReader::new(key()), &v2, 1 << 20)),
        "unsupported_version"
    );
    assert_eq!(
        code(read_streaming(
            AttachmentReader::new(key()),
            b"not an age file at all\n",
            1 << 20
        )),
        "malformed_header"
    );
    let mut huge = b"age-encryption.org/v1\n-> X ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', MAX_HEADER_LEN));
    assert_eq!(
        code(read_streaming(AttachmentReader::new(key()), &huge, 1000)),
        "header_too_large"
    );
    // Unknown stanzas are ignored; a malformed X25519 stanza is not.
    let head = header_len(&file);
    let text = String::from_utf8_lossy(&file[..head]).to_string();
    let extra = text.replacen("-> X25519", "-> example.com/other arg\nAAAA\n-> X25519", 1);
    let mut with_extra = extra.into_bytes();
    with_extra.extend_from_slice(&file[head..]);
    // The MAC covers the header, so an inserted stanza fails it (not ignored silently).
    assert_eq!(
        code(read_streaming(
            AttachmentReader::new(key()),
            &with_extra,
            1 << 20
        )),
        "header_mac_mismatch"
    );
}

#[test]
fn descriptor_round_trip_and_bounds() {
    let (_, descriptor) = encrypt(b"x", "Lab results — März.pdf", "application/pdf").unwrap();
    let bytes = descriptor.to_bytes();
    let parsed = AttachmentDescriptor::from_bytes(&bytes).unwrap();
    assert_eq!(parsed.name(), "Lab results — März.pdf");
    assert_eq!(parsed.media_type(), "application/pdf");
    assert_eq!(parsed.ciphertext(), descriptor.ciphertext());
    assert_eq!(*parsed.key().to_bytes(), *descriptor.key().to_bytes());
    assert!(!format!("{parsed:?}").contains(&hex::encode(*parsed.key().to_bytes())));
    assert_eq!(
        code(AttachmentDescriptor::from_bytes(&bytes[..bytes.len() - 1])),
        "malformed_descriptor"
    );
    assert_eq!(
        code(AttachmentDescriptor::from_bytes(&[])),
        "malformed_descriptor"
    );
    for version in [1, 3] {
        let mut other = bytes.to_vec();
        other[0] = version;
        assert_eq!(
            code(AttachmentDescriptor::from_bytes(&other)),
            "unsupported_version"
        );
    }
    let key = || AttachmentKey::from_bytes([1; 32]);
    let new = |name: &str, media_type: &str| {
        AttachmentDescriptor::new(key(), announced(1000), 0, name, media_type)
    };
    assert!(new(&"n".repeat(MAX_FILE_NAME_LEN), "").is_ok());
    assert_eq!(
        code(new(&"n".repeat(MAX_FILE_NAME_LEN + 1), "")),
        "malformed_descriptor"
    );
    assert_eq!(code(new("a\nb", "")), "malformed_descriptor");
    assert!(new("n", &"t".repeat(MAX_MEDIA_TYPE_LEN)).is_ok());
    assert_eq!(
        code(new("n", &"t".repeat(MAX_MEDIA_TYPE_LEN + 1))),
        "malformed_descriptor"
    );
    let with_lengths = |length: u64, plaintext_length: u64| {
        AttachmentDescriptor::new(key(), announced(length), plaintext_length, "n", "")
    };
    assert!(with_lengths(MAX_ATTACHMENT_LEN, 0).is_ok());
    assert_eq!(
        code(with_lengths(MAX_ATTACHMENT_LEN + 1, 0)),
        "malformed_descriptor"
    );
    // The file must be longer than the padded plaintext it holds.
    assert!(with_lengths(1025, 1000).is_ok());
    assert_eq!(code(with_lengths(1024, 1000)), "malformed_descriptor");
    assert_eq!(code(with_lengths(1000, 1000)), "malformed_descriptor");
    assert_eq!(code(with_lengths(1000, u64::MAX)), "malformed_descriptor");
}

#[test]
fn reader_memory_stays_bounded_for_one_huge_push() {
    let (file, descriptor) = encrypt(&data(40 * CHUNK_LEN), "x", "").unwrap();
    let mut reader = AttachmentReader::new(copy(descriptor.key()));
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
    let mut reader = AttachmentReader::new(copy(descriptor.key()));
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
        let descriptor = descriptor_of(writer.finish(&mut file).unwrap());
        let reader = AttachmentReader::for_descriptor(&descriptor);
        prop_assert_eq!(read_streaming(reader, &file, r).unwrap(), plaintext);
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
    assert_eq!(
        protocol_md_limit("PADDING_PIECE_LEN").unwrap(),
        PADDING_PIECE_LEN
    );
}

fn name_result(name: &str) -> Result<AttachmentDescriptor, AttachmentError> {
    AttachmentDescriptor::new(
        AttachmentKey::from_bytes([1; 32]),
        announced(1000),
        0,
        name,
        "",
    )
}

#[test]
fn names_that_disguise_or_escape_are_refused() {
    for bad in [
        "results_\u{202E}fdp.exe", // right-to-left override: shows as results_exe.pdf
        "scan\u{200E}.pdf",        // left-to-right mark
        "\u{FEFF}scan.pdf",        // zero-width no-break space (byte order mark)
        "scan\u{061C}.pdf",        // Arabic letter mark
        "a/b",
        "a\\b",
        "",
        "   ",
        "a\nb",
        ".",
        "..",
        " .. ",
    ] {
        assert_eq!(
            code(name_result(bad)),
            "malformed_descriptor",
            "{}",
            bad.escape_unicode()
        );
    }
    assert!(name_result("Lab results — März (2).pdf").is_ok());
    assert!(name_result(" .bashrc ").is_ok());
}

/// Descriptor bytes laid out by hand as §7.5 draws them, so names the
/// constructor refuses can be fed to the parser.
fn raw_descriptor(name: &str) -> Vec<u8> {
    let mut bytes = vec![DESCRIPTOR_VERSION];
    bytes.extend_from_slice(&[1; 32]);
    bytes.extend_from_slice(&[0; 32]);
    bytes.extend_from_slice(&1000u64.to_be_bytes());
    bytes.extend_from_slice(&[0; 32]);
    bytes.extend_from_slice(&0u64.to_be_bytes());
    bytes.extend_from_slice(&(name.len() as u16).to_be_bytes());
    bytes.extend_from_slice(name.as_bytes());
    bytes.push(0);
    bytes
}

#[test]
fn the_parser_refuses_the_same_names() {
    assert!(AttachmentDescriptor::from_bytes(&raw_descriptor("scan.pdf")).is_ok());
    for bad in [
        "results_\u{202E}fdp.exe",
        "scan\u{200E}.pdf",
        "\u{FEFF}scan.pdf",
        "scan\u{061C}.pdf",
        "a/b",
        "a\\b",
        "",
        "   ",
        "..",
    ] {
        assert_eq!(
            code(AttachmentDescriptor::from_bytes(&raw_descriptor(bad))),
            "malformed_descriptor",
            "{}",
            bad.escape_unicode()
        );
    }
}

#[test]
fn the_format_character_table_is_unicode_category_cf() {
    use unicode_general_category::{GeneralCategory, get_general_category};
    for c in (0..=0x10FFFF).filter_map(char::from_u32) {
        assert_eq!(
            name::is_format_character(c),
            get_general_category(c) == GeneralCategory::Format,
            "{}",
            c.escape_unicode()
        );
    }
}

/// Every way a key can be written out, none of which may show in `Debug`.
fn key_forms(key: &AttachmentKey) -> Vec<String> {
    let secret = *key.to_bytes();
    vec![
        hex::encode(secret),
        format!("{secret:?}"),
        key.age_recipient(),
        key.age_recipient().to_uppercase(),
        key.to_age_identity().to_string(),
        key.to_age_identity().to_lowercase(),
    ]
}

fn assert_redacted(debug: &str, secrets: &[String]) {
    assert!(debug.contains("[redacted]"), "{debug}");
    for secret in secrets {
        assert!(!debug.contains(secret.as_str()), "{debug} shows {secret}");
    }
}

#[test]
fn debug_output_never_shows_keys_or_plaintext() {
    let marker = b"MARKER-plaintext-7d1f";
    let mut writer = AttachmentWriter::new().unwrap();
    let mut file = Vec::new();
    writer.push(marker, &mut file).unwrap();
    let mut secrets = key_forms(writer.key());
    secrets.push(String::from_utf8_lossy(marker).to_string());
    assert_redacted(&format!("{writer:?}"), &secrets);
    assert_redacted(&format!("{:?}", writer.key()), &secrets);

    let written = writer.finish(&mut file).unwrap();
    assert_redacted(&format!("{written:?}"), &secrets);
    let descriptor = AttachmentDescriptor::new(
        copy(&written.key),
        written.ciphertext,
        written.plaintext_length,
        "scan.pdf",
        "application/pdf",
    )
    .unwrap();
    // The file name is patient data too.
    secrets.push("scan.pdf".to_string());
    assert_redacted(&format!("{descriptor:?}"), &secrets);
    assert_redacted(
        &format!(
            "{:?}",
            AttachmentDescriptor::from_bytes(&descriptor.to_bytes()).unwrap()
        ),
        &secrets,
    );

    let mut reader = AttachmentReader::for_descriptor(&descriptor);
    let mut out = Vec::new();
    reader.push(&file[..file.len() - 1], &mut out).unwrap();
    assert_redacted(&format!("{reader:?}"), &secrets);

    let mut exporter = AttachmentExporter::new(&descriptor).unwrap();
    exporter.push(&file, &mut Vec::new()).unwrap();
    let shown = format!("{exporter:?}");
    let exported_key = exporter.finish(&mut Vec::new()).unwrap();
    secrets.extend(key_forms(&exported_key));
    assert_redacted(&shown, &secrets);
    let exported = export_plain_age(&descriptor, &file).unwrap();
    let exported_key = AttachmentKey::from_age_identity(&exported.identity).unwrap();
    secrets.extend(key_forms(&exported_key));
    assert_redacted(&format!("{exported:?}"), &secrets);

    let mut writer = AttachmentWriter::new().unwrap();
    writer.push(marker, &mut Vec::new()).unwrap();
    secrets.extend(key_forms(writer.key()));
    let padder = writer.start_padding();
    assert_redacted(&format!("{padder:?}"), &secrets);
}

/// An age file to `recipient` written by someone who knows only that public
/// key (as anyone who sees a file addressed to it may): their own file key,
/// ephemeral share and nonce, and chunks that all authenticate.
fn forged_file(recipient: &x25519_dalek::PublicKey, plaintext: &[u8]) -> Vec<u8> {
    let file_key = [7u8; stanza::FILE_KEY_LEN];
    let (args, body) = stanza::wrap(&file_key, recipient, [9; 32]).unwrap();
    let mut file = header::VERSION_LINE.to_vec();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    header::write_stanza(&mut file, &args, &body);
    file.extend_from_slice(b"---");
    let mac = stanza::header_mac(&file_key, &file);
    header::write_mac(&mut file, &mac);
    let nonce = [3u8; 16];
    file.extend_from_slice(&nonce);
    let mut stream = stream::Stream::new(&file_key, &nonce);
    let chunks: Vec<&[u8]> = if plaintext.is_empty() {
        vec![&[]]
    } else {
        plaintext.chunks(CHUNK_LEN).collect()
    };
    for (i, chunk) in chunks.iter().enumerate() {
        let mut buffer = chunk.to_vec();
        let tag = stream
            .seal_chunk(&mut buffer, i + 1 == chunks.len())
            .unwrap();
        file.extend_from_slice(&buffer);
        file.extend_from_slice(&tag);
    }
    file
}

#[test]
fn a_file_forged_to_the_same_recipient_releases_no_plaintext() {
    for len in [0, 1000, 3 * CHUNK_LEN] {
        let (file, descriptor) = encrypt(&data(len), "scan.pdf", "application/pdf").unwrap();
        // Same length: the padded length of the real file.
        let forged_plaintext = vec![b'!'; padme(len as u64) as usize];
        let forged = forged_file(descriptor.key().recipient(), &forged_plaintext);
        assert_eq!(forged.len(), file.len(), "{len}");
        for piece in [1, 100, 4096, 1 << 20] {
            let mut reader = AttachmentReader::for_descriptor(&descriptor);
            let mut out = Vec::new();
            let mut pushed = Ok(());
            for part in forged.chunks(piece) {
                pushed = reader.push(part, &mut out);
                if pushed.is_err() {
                    break;
                }
            }
            assert_eq!(
                code(pushed),
                "header_mismatch",
                "{len} in pieces of {piece}"
            );
            assert_eq!(code(reader.finish(&mut out)), "header_mismatch");
            assert!(out.is_empty(), "{len}: released {} bytes", out.len());
        }
        assert_eq!(code(decrypt(&descriptor, &forged)), "header_mismatch");
        // Without a descriptor the forged file opens, as age promises: the
        // header digest in the descriptor is what tells the two apart.
        let reader = AttachmentReader::new(copy(descriptor.key()));
        assert_eq!(
            read_streaming(reader, &forged, 1 << 20).unwrap(),
            forged_plaintext
        );
    }
}

#[test]
fn padding_hides_the_exact_size() {
    // Lengths in one Padmé bucket make files of one length.
    for bucket in [
        &[0, 1, 100, 255, 256][..],
        &[1000, 1010, 1024],
        &[65_000, 65_536],
        &[1_000_001, 1_015_808],
    ] {
        let lengths: Vec<usize> = bucket
            .iter()
            .map(|len| encrypt(&data(*len), "a.bin", "").unwrap().0.len())
            .collect();
        assert!(
            lengths.iter().all(|l| *l == lengths[0]),
            "{bucket:?}: {lengths:?}"
        );
    }
    // The exact length travels in the descriptor; readers for it return
    // exactly that many bytes, a reader without it the padded plaintext.
    for len in [0, 1, 1000, 65_537] {
        let plaintext = data(len);
        let (file, descriptor) = encrypt(&plaintext, "a.bin", "").unwrap();
        assert_eq!(&*decrypt(&descriptor, &file).unwrap(), &plaintext[..]);
        for piece in [1, 4096, 1 << 20] {
            let reader = AttachmentReader::for_descriptor(&descriptor);
            assert_eq!(read_streaming(reader, &file, piece).unwrap(), plaintext);
        }
        let reader = AttachmentReader::new(copy(descriptor.key()));
        let padded = read_streaming(reader, &file, 1 << 20).unwrap();
        assert_eq!(padded.len() as u64, padme(len as u64));
        assert_eq!(&padded[..len], &plaintext[..]);
        assert!(padded[len..].iter().all(|b| *b == 0));
    }
}

/// A file whose sender chose the padding: `content` then `padding`,
/// announced as `content.len()` bytes.
fn file_with_padding(content: &[u8], padding: &[u8]) -> (Vec<u8>, AttachmentDescriptor) {
    let mut writer = AttachmentWriter::unpadded().unwrap();
    let mut file = Vec::new();
    writer.push(content, &mut file).unwrap();
    writer.push(padding, &mut file).unwrap();
    let written = writer.finish(&mut file).unwrap();
    let descriptor = AttachmentDescriptor::new(
        written.key,
        written.ciphertext,
        content.len() as u64,
        "a.bin",
        "",
    )
    .unwrap();
    (file, descriptor)
}

#[test]
fn padding_must_be_zeros_to_exactly_the_padme_length() {
    let content = data(1000); // padme(1000) = 1024
    let (file, descriptor) = file_with_padding(&content, &[0; 24]);
    assert_eq!(&*decrypt(&descriptor, &file).unwrap(), &content[..]);
    let mut one = [0u8; 24];
    one[23] = 1;
    let big = data(CHUNK_LEN); // padme(65536) = 65536: no padding at all
    for (content, padding) in [
        (&content, &one[..]),      // a padding byte that is not zero
        (&content, &[0; 23][..]),  // one byte short of the bucket
        (&content, &[0; 25][..]),  // one byte over it
        (&content, &[0; 280][..]), // the next bucket (1280)
        (&big, &[0; 1][..]),       // padding where none belongs
    ] {
        let (file, descriptor) = file_with_padding(content, padding);
        let case = format!(
            "{} + {:?}…",
            content.len(),
            &padding[..padding.len().min(4)]
        );
        assert_eq!(
            code(decrypt(&descriptor, &file)),
            "malformed_padding",
            "{case}"
        );
        for piece in [1, 999, 1 << 20] {
            let mut reader = AttachmentReader::for_descriptor(&descriptor);
            let mut out = Vec::new();
            let mut result = Ok(());
            for part in file.chunks(piece) {
                result = reader.push(part, &mut out);
                if result.is_err() {
                    break;
                }
            }
            let result = result.and_then(|()| reader.finish(&mut out));
            assert_eq!(code(result), "malformed_padding", "{case} in {piece}");
            // Never more than the announced length, padding or not.
            assert!(out.len() <= content.len(), "{case}");
            assert_eq!(&out[..], &content[..out.len()], "{case}");
        }
    }
}

#[test]
fn padding_is_written_in_bounded_pieces() {
    // 16 MiB + 1 pads to 16.5 MiB: 512 KiB - 1 of zeros.
    let len = (1 << 24) + 1;
    let plaintext = data(len);
    let mut writer = AttachmentWriter::new().unwrap();
    let mut file = Vec::new();
    writer.push(&plaintext, &mut file).unwrap();
    let mut padder = writer.start_padding();
    let mut pieces = 0;
    loop {
        let mut out = Vec::new();
        if !padder.pad(&mut out).unwrap() {
            assert!(out.is_empty());
            break;
        }
        assert!(
            out.len() <= PADDING_PIECE_LEN + 2 * ENCRYPTED_CHUNK_LEN,
            "{}",
            out.len()
        );
        file.extend_from_slice(&out);
        pieces += 1;
    }
    assert_eq!(pieces, 2);
    let mut last = Vec::new();
    let descriptor = descriptor_of(padder.finish(&mut last).unwrap());
    assert!(last.len() <= ENCRYPTED_CHUNK_LEN);
    file.extend_from_slice(&last);
    assert_eq!(descriptor.plaintext_length(), len as u64);
    assert!(*decrypt(&descriptor, &file).unwrap() == plaintext);
}

fn vector(key: &str) -> Vec<u8> {
    hex::decode(crate::test_support::protocol_md_vector("attachment", key).unwrap()).unwrap()
}

fn vector_array<const N: usize>(key: &str) -> [u8; N] {
    vector(key).try_into().unwrap()
}

#[test]
fn protocol_md_vector_matches_the_code() {
    let key = AttachmentKey::from_bytes(vector_array("attachment key"));
    let mut writer = AttachmentWriter::with_randomness(
        key,
        &vector_array("file key"),
        vector_array("ephemeral seed"),
        vector_array("payload nonce"),
    )
    .unwrap();
    let plaintext = vector("plaintext");
    let mut file = Vec::new();
    writer.push(&plaintext, &mut file).unwrap();
    let written = writer.finish(&mut file).unwrap();
    assert_eq!(file, vector("age file"));
    assert_eq!(
        written.ciphertext.header_sha256.to_vec(),
        vector("header digest")
    );
    assert_eq!(written.ciphertext.sha256.to_vec(), vector("file sha256"));
    let name = String::from_utf8(vector("file name")).unwrap();
    let media_type = String::from_utf8(vector("media type")).unwrap();
    let descriptor = AttachmentDescriptor::new(
        written.key,
        written.ciphertext,
        written.plaintext_length,
        &name,
        &media_type,
    )
    .unwrap();
    assert_eq!(descriptor.to_bytes().to_vec(), vector("descriptor"));
    let parsed = AttachmentDescriptor::from_bytes(&vector("descriptor")).unwrap();
    assert_eq!(&*decrypt(&parsed, &file).unwrap(), &plaintext[..]);
}

#[test]
fn exported_files_hold_exactly_the_original_bytes() {
    for len in SIZES {
        let plaintext = data(len);
        let (file, descriptor) = encrypt(&plaintext, "scan.pdf", "").unwrap();
        let exported = export_plain_age(&descriptor, &file).unwrap();
        let key = AttachmentKey::from_age_identity(&exported.identity).unwrap();
        // A fresh key: the stored file's key is never handed out.
        assert_ne!(*key.to_bytes(), *descriptor.key().to_bytes());
        assert_eq!(
            exported.file.len() as u64,
            header_len(&exported.file) as u64 + 16 + payload_len(len as u64),
            "{len}"
        );
        let reader = AttachmentReader::new(key);
        assert!(read_streaming(reader, &exported.file, 1 << 20).unwrap() == plaintext);
        for piece in [1000, ENCRYPTED_CHUNK_LEN, 1 << 20] {
            let mut exporter = AttachmentExporter::new(&descriptor).unwrap();
            let mut out = Vec::new();
            for part in file.chunks(piece) {
                exporter.push(part, &mut out).unwrap();
            }
            let key = exporter.finish(&mut out).unwrap();
            let reader = AttachmentReader::new(key);
            assert!(read_streaming(reader, &out, 7777).unwrap() == plaintext);
        }
    }
}

#[test]
fn export_checks_the_stored_file_as_decrypt_does() {
    let (file, descriptor) = encrypt(&data(200_000), "scan.pdf", "").unwrap();
    let forged = forged_file(descriptor.key().recipient(), &vec![b'!'; 200_704]);
    assert_eq!(forged.len(), file.len());
    assert_eq!(
        code(export_plain_age(&descriptor, &forged)),
        "header_mismatch"
    );
    let mut exporter = AttachmentExporter::new(&descriptor).unwrap();
    let mut out = Vec::new();
    assert_eq!(code(exporter.push(&forged, &mut out)), "header_mismatch");
    assert_eq!(code(exporter.finish(&mut out)), "header_mismatch");
    assert!(out.is_empty());

    let mut tampered = file.clone();
    tampered[300] ^= 1;
    assert_eq!(
        code(export_plain_age(&descriptor, &tampered)),
        "digest_mismatch"
    );
    let mut exporter = AttachmentExporter::new(&descriptor).unwrap();
    assert_eq!(
        code(exporter.push(&tampered, &mut Vec::new())),
        "chunk_tampered"
    );
}

#[test]
fn output_capacity_bounds_every_push() {
    let (file, descriptor) = encrypt(&data(300_000), "scan.pdf", "").unwrap();
    for piece in [1, 100, 65_552, 65_553, 200_000, 1 << 20] {
        let readers = [
            AttachmentReader::for_descriptor(&descriptor),
            AttachmentReader::new(copy(descriptor.key())),
        ];
        for mut reader in readers {
            for part in file.chunks(piece) {
                let mut out = Vec::with_capacity(AttachmentReader::output_capacity(part.len()));
                let capacity = out.capacity();
                reader.push(part, &mut out).unwrap();
                assert_eq!(out.capacity(), capacity, "pieces of {piece}");
            }
            let mut out = Vec::with_capacity(AttachmentReader::output_capacity(0));
            let capacity = out.capacity();
            reader.finish(&mut out).unwrap();
            assert_eq!(out.capacity(), capacity, "pieces of {piece}");
        }
    }
}
