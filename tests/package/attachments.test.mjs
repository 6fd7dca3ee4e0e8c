// Attachments through the packed package: streams and Blobs in Node,
// interoperability with the npm `age-encryption` package in both directions,
// and the Web Worker helper with progress events in headless Chromium.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { installPackage } from '../support/package.mjs';

const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const ageModule = join(repo, 'node_modules', 'age-encryption', 'dist', 'index.js');
let pkg;

before(async () => {
  pkg = await installPackage();
});

after(async () => {
  await pkg?.remove();
});

test('Node: streams and Blob helpers round-trip and report tampering', async () => {
  const out = await pkg.runModule(
    'streams.mjs',
    `
import { EncryptStream, DecryptStream, encryptBlob, decryptBlob, describeAttachment } from 'careseal';
const sizes = [0, 1, 65535, 65536, 65537, 3 * 1024 * 1024 + 1];
const results = [];
for (const size of sizes) {
  const data = new Uint8Array(size).map((_, i) => (i * 7) & 255);
  const { file, descriptor } = await encryptBlob(new Blob([data]), { name: 'f.bin', type: 'application/x-test' });
  const back = new Uint8Array(await (await decryptBlob(file, descriptor)).arrayBuffer());
  results.push(back.length === size && back.every((b, i) => b === data[i]));
}
// Streams with odd piece sizes.
const data = new Uint8Array(200000).fill(3);
const enc = new EncryptStream();
const parts = [];
const source = new ReadableStream({ start(c) { for (let i = 0; i < data.length; i += 9999) c.enqueue(data.slice(i, i + 9999)); c.close(); } });
await source.pipeThrough(enc).pipeTo(new WritableStream({ write(c) { parts.push(c); } }));
const descriptor = enc.descriptor('x', 'text/plain');
const file = new Uint8Array(await new Blob(parts).arrayBuffer());
const info = describeAttachment(descriptor);
const tampered = file.slice();
tampered[tampered.length - 5] ^= 1;
let streamCode, blobCode;
const dec = new DecryptStream(descriptor);
try {
  await new Blob([tampered]).stream().pipeThrough(dec).pipeTo(new WritableStream());
} catch (e) { streamCode = e.code; }
try { await decryptBlob(new Blob([file.slice(0, -1)]), descriptor); } catch (e) { blobCode = e.code; }
console.log(JSON.stringify({ results, length: info.ciphertextLength === file.length, name: dec.info.name, streamCode, blobCode }));
`,
  );
  assert.deepEqual(JSON.parse(out), {
    results: [true, true, true, true, true, true],
    length: true,
    name: 'x',
    streamCode: 'chunk_tampered',
    blobCode: 'truncated_attachment',
  });
});

test('interop with the npm age-encryption package, both directions', async () => {
  const out = await pkg.runModule(
    'age-interop.mjs',
    `
import * as age from ${JSON.stringify(ageModule)};
import { AttachmentEncryptor, AttachmentDecryptor } from 'careseal';
const sizes = [0, 1, 65535, 65536, 65537, 3 * 1024 * 1024];
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const theirsOpensOurs = [];
const oursOpensTheirs = [];
for (const size of sizes) {
  const data = new Uint8Array(size).map((_, i) => (i * 13 + 5) & 255);
  // Ours -> age-encryption: export the attachment key as an age identity.
  const enc = new AttachmentEncryptor();
  const file = new Uint8Array([...enc.push(data), ...enc.finish()]);
  const identity = enc.ageIdentity();
  const d = new age.Decrypter();
  d.addIdentity(identity);
  theirsOpensOurs.push(same(await d.decrypt(file, 'uint8array'), data));
  // age-encryption -> ours.
  const theirIdentity = await age.generateIdentity();
  const e = new age.Encrypter();
  e.addRecipient(await age.identityToRecipient(theirIdentity));
  const theirFile = await e.encrypt(data);
  const dec = AttachmentDecryptor.fromAgeIdentity(theirIdentity);
  const out = new Uint8Array([...dec.push(theirFile), ...dec.finish()]);
  oursOpensTheirs.push(same(out, data));
}
console.log(JSON.stringify({ theirsOpensOurs, oursOpensTheirs }));
`,
  );
  const all = [true, true, true, true, true, true];
  assert.deepEqual(JSON.parse(out), { theirsOpensOurs: all, oursOpensTheirs: all });
});

test('Chromium: a 5 MiB file through the Web Worker, with progress, byte-exact', async () => {
  const { tab, problems, close } = await pkg.openPage('worker-page');
  try {
    const result = await tab.evaluate(async () => {
      const { AttachmentWorker } = window.careseal;
      const size = 5 * 1024 * 1024;
      const data = new Uint8Array(size);
      for (let i = 0; i < size; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
      const hex = async (b) => [...new Uint8Array(await crypto.subtle.digest('SHA-256', b))].map((x) => x.toString(16).padStart(2, '0')).join('');
      const worker = new AttachmentWorker();
      const progress = [];
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      const { file, descriptor } = await worker.encrypt(new File([data], 'scan.pdf', { type: 'application/pdf' }), {
        onProgress: (done, total) => progress.push([done, total]),
      });
      const plain = await worker.decrypt(file, descriptor);
      clearInterval(timer);
      const tampered = new Uint8Array(await file.arrayBuffer());
      tampered[100000] ^= 1;
      let code;
      try { await worker.decrypt(new Blob([tampered]), descriptor); } catch (e) { code = e.code; }
      worker.terminate();
      return {
        same: (await hex(data)) === (await hex(await plain.arrayBuffer())),
        type: plain.type,
        progressEvents: progress.length,
        lastProgress: progress.at(-1),
        ticks,
        code,
        fileIsCiphertext: file.size > size,
      };
    });
    assert.equal(result.same, true);
    assert.equal(result.type, 'application/pdf');
    assert.ok(result.progressEvents >= 10, `progress events: ${result.progressEvents}`);
    assert.deepEqual(result.lastProgress, [5 * 1024 * 1024, 5 * 1024 * 1024]);
    assert.ok(result.ticks > 0, 'the page kept running timers while the worker worked');
    assert.equal(result.code, 'chunk_tampered');
    assert.equal(result.fileIsCiphertext, true);
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});
