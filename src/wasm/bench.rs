//! Benchmark exports (feature `bench` only).

use wasm_bindgen::prelude::*;

/// Runs `iterations` chained X25519 operations; see `careseal::bench`.
#[wasm_bindgen(js_name = benchX25519)]
pub fn bench_x25519(iterations: u32) -> u8 {
    crate::bench::x25519_chain(iterations)
}
