//! age v1 headers (`PROTOCOL.md` §7.2) through the streaming reader with a
//! fixed key: never panics, and pushing the input line by line gives the
//! same result as pushing it at once.
#![no_main]

use careseal_fuzz::read_age;
use libfuzzer_sys::fuzz_target;

/// Most lines pushed separately (the reader re-parses its header buffer on
/// every push).
const MAX_LINES: usize = 64;

fuzz_target!(|data: &[u8]| {
    let whole = read_age([data]);
    let mut pieces = Vec::new();
    let mut rest = data;
    while pieces.len() < MAX_LINES
        && let Some(end) = rest.iter().position(|b| *b == b'\n')
    {
        let (line, after) = rest.split_at(end + 1);
        pieces.push(line);
        rest = after;
    }
    pieces.push(rest);
    assert_eq!(read_age(pieces), whole);
});
