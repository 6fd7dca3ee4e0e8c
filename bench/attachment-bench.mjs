// The attachment benchmark, shared by the Node and Chromium runs: encryption
// and decryption throughput of one file through CareSeal's API beside the
// libraries users would pick instead, all measured in the same run, plus the
// WebAssembly memory used while streaming 1 GiB.

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;
const PIECE = MiB; // what the page hands our API per call

function randomBytes(n) {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(out.subarray(at, Math.min(n, at + 65536)));
  return out;
}

function nonce12(counter) {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setUint32(8, counter);
  return n;
}

async function time(fn) {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Each entry: { name, encrypt: MiB/s, decrypt: MiB/s } or { name, note }. */
export async function runAttachmentBench({ careseal, sodium, noble, age, wasmMemory, sizeMiB = 64, memoryGiB = 1 }) {
  const size = sizeMiB * MiB;
  const data = randomBytes(size);
  const rate = (ms) => sizeMiB / (ms / 1000);
  const rows = [];

  // CareSeal: age v1 file through AttachmentEncryptor / AttachmentDecryptor.
  {
    let enc;
    const parts = [];
    const e = await time(() => {
      enc = new careseal.AttachmentEncryptor();
      for (let at = 0; at < size; at += PIECE) parts.push(enc.push(data.subarray(at, at + PIECE)));
      parts.push(enc.finish());
    });
    const descriptor = enc.descriptor('bench.bin', 'application/octet-stream');
    let outLen = 0;
    const d = await time(() => {
      const dec = careseal.AttachmentDecryptor.fromDescriptor(descriptor);
      for (const part of parts) {
        for (let at = 0; at < part.length; at += PIECE) outLen += dec.push(part.subarray(at, at + PIECE)).length;
      }
      outLen += dec.finish().length;
    });
    if (outLen !== size) throw new Error('CareSeal round trip lost bytes');
    rows.push({ name: 'CareSeal (age v1, wasm)', encrypt: rate(e), decrypt: rate(d) });
  }

  // libsodium.js secretstream (XChaCha20-Poly1305), 64 KiB messages.
  {
    const key = sodium.crypto_secretstream_xchacha20poly1305_keygen();
    const TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    const TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    let header;
    const cts = [];
    const e = await time(() => {
      const init = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
      header = init.header;
      for (let at = 0; at < size; at += CHUNK) {
        const last = at + CHUNK >= size;
        cts.push(sodium.crypto_secretstream_xchacha20poly1305_push(init.state, data.subarray(at, at + CHUNK), null, last ? TAG_FINAL : TAG_MESSAGE));
      }
    });
    const d = await time(() => {
      const state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(header, key);
      for (const ct of cts) sodium.crypto_secretstream_xchacha20poly1305_pull(state, ct);
    });
    rows.push({ name: 'libsodium.js secretstream', encrypt: rate(e), decrypt: rate(d) });
  }

  // @noble/ciphers ChaCha20-Poly1305, 64 KiB chunks.
  {
    const key = randomBytes(32);
    const cts = [];
    const e = await time(() => {
      let i = 0;
      for (let at = 0; at < size; at += CHUNK) cts.push(noble.chacha20poly1305(key, nonce12(i++)).encrypt(data.subarray(at, at + CHUNK)));
    });
    const d = await time(() => {
      cts.forEach((ct, i) => noble.chacha20poly1305(key, nonce12(i)).decrypt(ct));
    });
    rows.push({ name: '@noble/ciphers ChaCha20-Poly1305', encrypt: rate(e), decrypt: rate(d) });
  }

  // age-encryption (the TypeScript age implementation), whole file.
  {
    const identity = await age.generateIdentity();
    const recipient = await age.identityToRecipient(identity);
    let ct;
    const e = await time(async () => {
      const enc = new age.Encrypter();
      enc.addRecipient(recipient);
      ct = await enc.encrypt(data);
    });
    const d = await time(async () => {
      const dec = new age.Decrypter();
      dec.addIdentity(identity);
      await dec.decrypt(ct, 'uint8array');
    });
    rows.push({ name: 'age-encryption', encrypt: rate(e), decrypt: rate(d) });
  }

  // WebCrypto AEADs, 64 KiB chunks, awaited one by one like a stream would.
  for (const [name, algorithm, importKey] of [
    ['WebCrypto AES-256-GCM', 'AES-GCM', (k) => crypto.subtle.importKey('raw', k, 'AES-GCM', false, ['encrypt', 'decrypt'])],
    ['WebCrypto ChaCha20-Poly1305', 'ChaCha20-Poly1305', (k) => crypto.subtle.importKey('raw-secret', k, { name: 'ChaCha20-Poly1305' }, false, ['encrypt', 'decrypt'])],
  ]) {
    let key;
    try {
      key = await importKey(randomBytes(32));
      await crypto.subtle.encrypt({ name: algorithm, iv: nonce12(0) }, key, new Uint8Array(16));
    } catch {
      rows.push({ name, note: 'not available in this runtime' });
      continue;
    }
    const cts = [];
    const e = await time(async () => {
      let i = 0;
      for (let at = 0; at < size; at += CHUNK) cts.push(await crypto.subtle.encrypt({ name: algorithm, iv: nonce12(i++) }, key, data.subarray(at, at + CHUNK)));
    });
    const d = await time(async () => {
      for (let i = 0; i < cts.length; i++) await crypto.subtle.decrypt({ name: algorithm, iv: nonce12(i) }, key, cts[i]);
    });
    rows.push({ name, encrypt: rate(e), decrypt: rate(d) });
  }

  // WebAssembly memory while streaming `memoryGiB` GiB through an encryptor
  // and, in the same pass, a decryptor.
  const before = wasmMemory.buffer.byteLength;
  const block = randomBytes(PIECE);
  const enc = new careseal.AttachmentEncryptor();
  const dec = careseal.AttachmentDecryptor.fromAgeIdentity(enc.ageIdentity());
  const streamed = memoryGiB * 1024 * MiB;
  let peak = before;
  const memoryMs = await time(() => {
    for (let at = 0; at < streamed; at += PIECE) {
      dec.push(enc.push(block));
      if (at % (64 * MiB) === 0) peak = Math.max(peak, wasmMemory.buffer.byteLength);
    }
    dec.push(enc.finish());
    dec.finish();
  });
  peak = Math.max(peak, wasmMemory.buffer.byteLength);

  return { sizeMiB, rows, memory: { streamedGiB: memoryGiB, beforeBytes: before, peakBytes: peak, seconds: memoryMs / 1000 } };
}

export function formatAttachmentBench(runtime, result, sizes) {
  const ours = result.rows[0];
  const lines = [`attachment benchmark — ${runtime} — ${result.sizeMiB} MiB in 64 KiB chunks, one thread`];
  lines.push('  library                              encrypt MiB/s  decrypt MiB/s   ours/this (enc, dec)');
  for (const row of result.rows) {
    if (row.note) {
      lines.push(`  ${row.name.padEnd(36)} ${row.note}`);
      continue;
    }
    const ratio = row === ours ? '' : `${(ours.encrypt / row.encrypt).toFixed(2)}x, ${(ours.decrypt / row.decrypt).toFixed(2)}x`;
    lines.push(`  ${row.name.padEnd(36)} ${row.encrypt.toFixed(0).padStart(13)}  ${row.decrypt.toFixed(0).padStart(13)}   ${ratio}`);
  }
  const m = result.memory;
  lines.push(
    `  wasm memory streaming ${m.streamedGiB} GiB (encrypt + decrypt): ${(m.beforeBytes / MiB).toFixed(1)} MiB before, ` +
      `${(m.peakBytes / MiB).toFixed(1)} MiB peak (${(m.peakBytes - m.beforeBytes) / MiB} MiB growth) in ${m.seconds.toFixed(1)} s`,
  );
  if (sizes) {
    lines.push('  package size, gzipped:');
    for (const [name, bytes] of sizes) {
      lines.push(`    ${name.padEnd(34)} ${(bytes / 1024).toFixed(1).padStart(7)} KiB   ours/this ${(sizes[0][1] / bytes).toFixed(2)}x`);
    }
  }
  return lines.join('\n');
}
