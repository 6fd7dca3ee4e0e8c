// Attachments through the packed package: streams and Blobs in Node,
// interoperability with the npm `age-encryption` package in both directions,
// the binding of a file to its descriptor, padding and plain-age export, and
// the Web Worker helper with progress events in headless Chromium.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { installPackage } from '../support/package.mjs';

const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const ageModule = join(repo, 'node_modules', 'age-encryption', 'dist', 'index.js');
let pkg;

// Shared by the scripts below: Padmé as PROTOCOL.md §1.4 defines it for
// attachments, and byte-array equality.
const helpers = `
const padme = (n) => {
  if (n <= 256) return 256;
  const e = n.toString(2).length - 1;
  const s = e.toString(2).length;
  const m = 2 ** (e - s);
  return Math.ceil(n / m) * m;
};
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const concat = (parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};
`;

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
import { AttachmentEncryptor, AttachmentDecryptor, AttachmentExporter, exportPlainAge } from 'careseal';
${helpers}
const sizes = [0, 1, 65535, 65536, 65537, 3 * 1024 * 1024];
const theirsOpensOurs = [];
const theirsOpensExported = [];
const oursOpensTheirs = [];
for (const size of sizes) {
  const data = new Uint8Array(size).map((_, i) => (i * 13 + 5) & 255);
  // Ours -> age-encryption: the stored file opens to the padded plaintext.
  const enc = new AttachmentEncryptor();
  const parts = [enc.push(data)];
  for (let out = enc.pad(); out !== undefined; out = enc.pad()) parts.push(out);
  parts.push(enc.finish());
  const file = concat(parts);
  const d = new age.Decrypter();
  d.addIdentity(enc.ageIdentity());
  const padded = await d.decrypt(file, 'uint8array');
  theirsOpensOurs.push(
    padded.length === padme(size) && same(padded.subarray(0, size), data) && padded.subarray(size).every((b) => b === 0),
  );
  // Exported, whole-file and streaming, it opens to exactly the original bytes.
  const descriptor = enc.descriptor('data.bin', 'application/octet-stream');
  const exported = exportPlainAge(descriptor, file);
  const e1 = new age.Decrypter();
  e1.addIdentity(exported.identity);
  const exporter = AttachmentExporter.fromDescriptor(descriptor);
  const streamed = [];
  for (let at = 0; at < file.length; at += 100000) streamed.push(exporter.push(file.subarray(at, at + 100000)));
  streamed.push(exporter.finish());
  const e2 = new age.Decrypter();
  e2.addIdentity(exporter.ageIdentity());
  theirsOpensExported.push(
    same(await e1.decrypt(exported.file, 'uint8array'), data) &&
      same(await e2.decrypt(concat(streamed), 'uint8array'), data) &&
      exported.identity !== enc.ageIdentity(),
  );
  // age-encryption -> ours, with no descriptor: every byte comes back.
  const theirIdentity = await age.generateIdentity();
  const e = new age.Encrypter();
  e.addRecipient(await age.identityToRecipient(theirIdentity));
  const theirFile = await e.encrypt(data);
  const dec = AttachmentDecryptor.fromAgeIdentity(theirIdentity);
  const out = concat([dec.push(theirFile), dec.finish()]);
  oursOpensTheirs.push(same(out, data));
}
console.log(JSON.stringify({ theirsOpensOurs, theirsOpensExported, oursOpensTheirs }));
`,
  );
  const all = [true, true, true, true, true, true];
  assert.deepEqual(JSON.parse(out), {
    theirsOpensOurs: all,
    theirsOpensExported: all,
    oursOpensTheirs: all,
  });
});

test('a file forged to the attachment recipient releases no plaintext', async () => {
  const out = await pkg.runModule(
    'forged.mjs',
    `
import * as age from ${JSON.stringify(ageModule)};
import {
  AttachmentDecryptor, AttachmentExporter, DecryptStream, attachmentAgeIdentity, decryptAttachment,
  encryptAttachment, exportPlainAge,
} from 'careseal';
${helpers}
const size = 200000;
const whole = encryptAttachment(new Uint8Array(size).fill(7), 'scan.pdf', 'application/pdf');
const [file, descriptor] = [whole.file, whole.descriptor];
// Anyone who learns the attachment's recipient can write an age file to it,
// as long as the stored one, whose chunks all authenticate.
const e = new age.Encrypter();
e.addRecipient(await age.identityToRecipient(attachmentAgeIdentity(descriptor)));
const forged = await e.encrypt(new Uint8Array(padme(size)).fill(33));
const codes = {};
let released = 0;
const dec = AttachmentDecryptor.fromDescriptor(descriptor);
try {
  for (let at = 0; at < forged.length; at += 4096) released += dec.push(forged.subarray(at, at + 4096)).length;
} catch (error) { codes.push = error.code; }
try { released += dec.finish().length; } catch (error) { codes.finish = error.code; }
try {
  await new Blob([forged]).stream().pipeThrough(new DecryptStream(descriptor))
    .pipeTo(new WritableStream({ write(chunk) { released += chunk.length; } }));
} catch (error) { codes.stream = error.code; }
try { released += decryptAttachment(descriptor, forged).length; } catch (error) { codes.whole = error.code; }
try { exportPlainAge(descriptor, forged); } catch (error) { codes.exportWhole = error.code; }
const exporter = AttachmentExporter.fromDescriptor(descriptor);
let exportedBytes = 0;
try { exportedBytes += exporter.push(forged).length; } catch (error) { codes.exporter = error.code; }
// Without the descriptor, the forged file opens: that is what age promises.
const plain = AttachmentDecryptor.fromAgeIdentity(attachmentAgeIdentity(descriptor));
const opened = concat([plain.push(forged), plain.finish()]);
console.log(JSON.stringify({
  sameLength: forged.length === file.length, released, exportedBytes, codes, opensWithoutDescriptor: opened.length === padme(size),
}));
`,
  );
  assert.deepEqual(JSON.parse(out), {
    sameLength: true,
    released: 0,
    exportedBytes: 0,
    codes: {
      push: 'header_mismatch',
      finish: 'header_mismatch',
      stream: 'header_mismatch',
      whole: 'header_mismatch',
      exportWhole: 'header_mismatch',
      exporter: 'header_mismatch',
    },
    opensWithoutDescriptor: true,
  });
});

test('padding hides the exact size; the descriptor carries it', async () => {
  const out = await pkg.runModule(
    'padding.mjs',
    `
import { decryptAttachment, decryptBlob, describeAttachment, encryptAttachment, encryptBlob, exportBlob, AttachmentDecryptor } from 'careseal';
${helpers}
const results = [];
for (const bucket of [[0, 1, 255, 256], [1000, 1010, 1024], [65000, 65536], [1000001, 1015808]]) {
  const lengths = new Set();
  for (const size of bucket) {
    const data = new Uint8Array(size).map((_, i) => (i * 7) & 255);
    const { file, descriptor } = encryptAttachment(data, 'scan.pdf', 'application/pdf');
    const info = describeAttachment(descriptor);
    const back = decryptAttachment(descriptor, file);
    lengths.add(file.length);
    results.push(info.plaintextLength === size && info.ciphertextLength === file.length && same(back, data));
  }
  results.push(lengths.size === 1);
}
// Blobs and streams too, and a Blob without a name gets one.
const data = new Uint8Array(1010).fill(5);
const { file, descriptor } = await encryptBlob(new Blob([data]));
const info = describeAttachment(descriptor);
const back = new Uint8Array(await (await decryptBlob(file, descriptor)).arrayBuffer());
const exported = await exportBlob(file, descriptor);
const dec = AttachmentDecryptor.fromAgeIdentity(exported.identity);
const exact = concat([dec.push(new Uint8Array(await exported.file.arrayBuffer())), dec.finish()]);
let blankName;
try { await encryptBlob(new Blob([data]), { name: '   ' }); } catch (error) { blankName = error.code; }
let rlo;
try { await encryptBlob(new Blob([data]), { name: 'results_\u202Efdp.exe' }); } catch (error) { rlo = error.code; }
console.log(JSON.stringify({
  results, blobSize: file.size === 1024 + 200, name: info.name, plaintextLength: info.plaintextLength,
  back: same(back, data), exact: same(exact, data), blankName, rlo,
}));
`,
  );
  const result = JSON.parse(out);
  assert.ok(result.results.every(Boolean), JSON.stringify(result.results));
  assert.deepEqual({ ...result, results: undefined }, {
    results: undefined,
    blobSize: true,
    name: 'attachment',
    plaintextLength: 1010,
    back: true,
    exact: true,
    blankName: 'malformed_descriptor',
    rlo: 'malformed_descriptor',
  });
});

test('Chromium: a 5 MiB file through the Web Worker, with progress, byte-exact, and exported', async () => {
  const { tab, problems, close } = await pkg.openPage('worker-page');
  try {
    const result = await tab.evaluate(async () => {
      const { AttachmentDecryptor, AttachmentWorker } = window.careseal;
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
      // Exported for other age tools: a fresh identity opens the exact bytes.
      const exported = await worker.exportPlainAge(file, descriptor);
      const exportedBytes = new Uint8Array(await exported.file.arrayBuffer());
      const reader = AttachmentDecryptor.fromAgeIdentity(exported.identity);
      const parts = [];
      for (let at = 0; at < exportedBytes.length; at += 1 << 20) parts.push(reader.push(exportedBytes.subarray(at, at + (1 << 20))));
      parts.push(reader.finish());
      const tampered = new Uint8Array(await file.arrayBuffer());
      tampered[100000] ^= 1;
      let code;
      try { await worker.decrypt(new Blob([tampered]), descriptor); } catch (e) { code = e.code; }
      worker.terminate();
      return {
        same: (await hex(data)) === (await hex(await plain.arrayBuffer())),
        exportedSame: (await hex(data)) === (await hex(await new Blob(parts).arrayBuffer())),
        exportedIdentity: exported.identity.startsWith('AGE-SECRET-KEY-1'),
        type: plain.type,
        progressEvents: progress.length,
        lastProgress: progress.at(-1),
        ticks,
        code,
        fileIsCiphertext: file.size > size,
      };
    });
    assert.equal(result.same, true);
    assert.equal(result.exportedSame, true);
    assert.equal(result.exportedIdentity, true);
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
