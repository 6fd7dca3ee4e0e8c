//! Whole age v1 files (`PROTOCOL.md` §7) through the streaming reader,
//! pushed in pieces the fuzzer chooses (`careseal_fuzz::split_pieces`):
//! never panics, and the result (plaintext or error code) is the same as for
//! one push of the whole file. Read as a plain age file with a fixed key, and
//! as the file a genuine descriptor announces (header binding, padding,
//! digest): only the genuine file itself reads as announced.
#![no_main]

use careseal_fuzz::{genuine_attachment, read_age, read_as_announced, split_pieces};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((pieces, file)) = split_pieces(data) else {
        return;
    };
    let whole = read_age([file]);
    if let Ok(plaintext) = &whole {
        assert!(plaintext.len() <= file.len());
    }
    assert_eq!(read_age(pieces.iter().copied()), whole);

    let (genuine, _, plaintext) = genuine_attachment();
    let announced = read_as_announced(pieces);
    assert_eq!(announced.is_ok(), file == genuine.as_slice());
    if let Ok(read) = announced {
        assert_eq!(&read, plaintext);
    }
});
