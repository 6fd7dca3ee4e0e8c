// The session benchmark, shared by the Node and Chromium runs: ratcheted
// 1 KiB message round trips (every message makes the receiver take a DH
// ratchet step) beside raw X25519 of libsodium.js and of our own build,
// measured in the same run.

/** Runs `fn` in batches for about `ms` milliseconds; returns operations/s. */
function rate(fn, batch, ms) {
  fn(batch); // warm up
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    fn(batch);
    ops += batch;
    elapsed = performance.now() - start;
  }
  return (ops / elapsed) * 1000;
}

export function runSessionBench({ careseal, sodium, ms = 1500 }) {
  const message = new Uint8Array(1024);
  crypto.getRandomValues(message);

  const alice = new careseal.Account();
  const bob = new careseal.Account();
  const a = careseal.Session.initiate(alice, bob.prekeyBundle());
  const b = bob.acceptSession(a.encrypt(message), alice.publicIdentity()).takeSession();
  // One full exchange so both sides are past the prekey phase.
  a.decrypt(b.encrypt(message));

  // Each iteration is one message: encrypt by one side, decrypt (with a DH
  // ratchet step) by the other, alternating speakers every message.
  let turn = 0;
  const ratcheted = rate((n) => {
    for (let i = 0; i < n; i++) {
      const [from, to] = turn++ % 2 === 0 ? [b, a] : [a, b];
      const wire = from.encrypt(message);
      const plain = to.decrypt(wire);
      if (plain.length !== message.length) throw new Error('round trip failed');
    }
  }, 20, ms);

  const ours = rate((n) => careseal.benchX25519(n), 50, ms);

  const sk = sodium.randombytes_buf(32);
  let pk = sodium.crypto_scalarmult_base(sodium.randombytes_buf(32));
  const theirs = rate((n) => {
    for (let i = 0; i < n; i++) pk = sodium.crypto_scalarmult(sk, pk);
  }, 50, ms);

  // What a ratcheted message cannot avoid: the receiver's two DH and one key
  // generation (a third scalar multiplication).
  const X25519_PER_MESSAGE = 3;
  return {
    ratchetedMessagesPerSec: ratcheted,
    oursX25519PerSec: ours,
    libsodiumX25519PerSec: theirs,
    costVsOwnX25519: ours / X25519_PER_MESSAGE / ratcheted,
    costVsLibsodiumX25519: theirs / X25519_PER_MESSAGE / ratcheted,
    oursVsLibsodiumX25519: ours / theirs,
  };
}

export function formatSessionBench(runtime, r) {
  const n = (x) => x.toFixed(0).padStart(9);
  return [
    `session benchmark — ${runtime}`,
    `  1 KiB ratcheted messages (encrypt + decrypt + DH step) ${n(r.ratchetedMessagesPerSec)} /s`,
    `  X25519, this build                                      ${n(r.oursX25519PerSec)} /s`,
    `  X25519, libsodium.js                                    ${n(r.libsodiumX25519PerSec)} /s`,
    `  ratio: message cost / 3 X25519 of this build            ${r.costVsOwnX25519.toFixed(2)}x`,
    `  ratio: message cost / 3 X25519 of libsodium.js          ${r.costVsLibsodiumX25519.toFixed(2)}x`,
    `  ratio: this build's X25519 speed / libsodium.js's       ${r.oursVsLibsodiumX25519.toFixed(2)}x`,
  ].join('\n');
}
