//! Benchmark hooks (feature `bench`, never in the npm package): the raw
//! primitive work the benchmark harness compares protocol operations with.

use x25519_dalek::{PublicKey, StaticSecret};

/// Runs `iterations` X25519 scalar multiplications through the same code
/// path the protocol uses, each on the previous output, and returns the
/// first byte of the last result (so the work cannot be skipped).
pub fn x25519_chain(iterations: u32) -> u8 {
    let secret = StaticSecret::from([0x42u8; 32]);
    let mut point = PublicKey::from(&StaticSecret::from([0x24u8; 32])).to_bytes();
    for _ in 0..iterations {
        point = match crate::agreement::diffie_hellman(&secret, &PublicKey::from(point)) {
            Ok(shared) => *shared,
            Err(_) => return 0,
        };
    }
    point[0]
}
