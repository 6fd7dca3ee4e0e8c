// Smoke test of the packed npm package: installs the tarball made by
// scripts/build-package.sh into a scratch folder and uses it the way a
// consumer would — from Node (ESM), from TypeScript, from the README's
// example, and from a page in headless Chromium under a strict CSP. A file
// missing from the package fails one of these.
//
// Run: CARESEAL_TARBALL=dist/careseal-x.y.z.tgz node --test tests/package/
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { startStaticServer } from '../../scripts/lib/static-server.mjs';
import { launchChromium, openPage } from '../support/browser.mjs';

const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const tarball = process.env.CARESEAL_TARBALL;
let scratch;

before(async () => {
  assert.ok(tarball && existsSync(tarball), 'set CARESEAL_TARBALL to the packed .tgz');
  scratch = await mkdtemp(join(tmpdir(), 'careseal-smoke-'));
  await writeFile(
    join(scratch, 'package.json'),
    JSON.stringify({ name: 'smoke', private: true, type: 'module' }),
  );
  execFileSync('npm', ['install', resolve(tarball), '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: scratch,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
});

after(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

function runNode(file) {
  return execFileSync(process.execPath, [file], { cwd: scratch, encoding: 'utf8' });
}

test('the installed package contains every file package.json declares', async () => {
  const dir = join(scratch, 'node_modules', 'careseal');
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
  for (const file of pkg.files) assert.ok(existsSync(join(dir, file)), `missing ${file}`);
  for (const target of Object.values(pkg.exports['.'])) {
    assert.ok(existsSync(join(dir, target)), `export target missing: ${target}`);
  }
});

test('Node ESM: seal, open, signed sender and error codes', async () => {
  const script = join(scratch, 'node-check.mjs');
  await writeFile(
    script,
    `
import { Identity, PublicIdentity, seal, inspectEnvelope } from 'careseal';
const clinic = Identity.generate();
const patient = Identity.generate();
const envelope = seal(clinic.publicIdentity(), 'refill request');
const anonymous = clinic.open(envelope);
const signed = clinic.open(patient.sealSigned(clinic.publicIdentity(), new Uint8Array([1, 2, 3])));
const tampered = envelope.slice();
tampered[tampered.length - 1] ^= 1;
let code;
try { clinic.open(tampered); } catch (e) { code = [e.name, e.code, e instanceof Error]; }
const text = clinic.publicIdentity().toText();
console.log(JSON.stringify({
  text: anonymous.text(),
  anonymous: anonymous.sender === undefined,
  signedBytes: Array.from(signed.message),
  senderMatches: signed.sender.equals(patient.publicIdentity()),
  code,
  roundTrip: PublicIdentity.fromText(text).equals(clinic.publicIdentity()),
  isBytes: envelope instanceof Uint8Array,
  summaryLen: inspectEnvelope(envelope).totalLen === envelope.length,
}));
`,
  );
  const out = JSON.parse(runNode(script));
  assert.deepEqual(out, {
    text: 'refill request',
    anonymous: true,
    signedBytes: [1, 2, 3],
    senderMatches: true,
    code: ['CareSealError', 'decrypt_failed', true],
    roundTrip: true,
    isBytes: true,
    summaryLen: true,
  });
});

test("the README's JavaScript example runs as written and prints what the README says", async () => {
  const readme = await readFile(join(repo, 'README.md'), 'utf8');
  const example = readme.match(/<!-- example:start -->\s*```js\n([\s\S]*?)```/);
  const expected = readme.match(/<!-- example:output -->\s*```text\n([\s\S]*?)```/);
  assert.ok(example && expected, 'README must keep the example and output markers');
  const file = join(scratch, 'readme-example.mjs');
  await writeFile(file, example[1]);
  assert.equal(runNode(file), expected[1]);
});

test('TypeScript: the declarations type-check a typical consumer', async () => {
  const file = join(scratch, 'consumer.ts');
  await writeFile(
    file,
    `
import { Identity, PublicIdentity, seal, limits, type CareSealError, type CareSealErrorCode } from 'careseal';
const clinic: Identity = Identity.generate();
const them: PublicIdentity = PublicIdentity.fromText(clinic.publicIdentity().toText());
const envelope: Uint8Array = seal(them, 'hello');
const text: string = clinic.open(envelope).text();
const max: number = limits().maxSealedMessageLen;
function codeOf(e: unknown): CareSealErrorCode | undefined {
  return (e as CareSealError).code;
}
export { text, max, codeOf };
`,
  );
  execFileSync(
    join(repo, 'node_modules', '.bin', 'tsc'),
    ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022,esnext.disposable,dom', '--skipLibCheck', 'false', file],
    { cwd: scratch, stdio: 'inherit' },
  );
});

test('Chromium: the package loads and works in a page under a strict CSP', async () => {
  const page = join(scratch, 'page');
  await mkdir(page);
  await writeFile(
    join(page, 'index.html'),
    '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>smoke</title><output id="result"></output><script type="module" src="./page.js"></script>',
  );
  await writeFile(
    join(page, 'page.js'),
    `
import { Identity, seal } from '../node_modules/careseal/index.js';
const out = document.getElementById('result');
try {
  const clinic = Identity.generate();
  const opened = clinic.open(seal(clinic.publicIdentity(), 'from the browser'));
  let code;
  try { clinic.open(new Uint8Array(0)); } catch (e) { code = e.code; }
  out.textContent = JSON.stringify({ text: opened.text(), code });
} catch (e) {
  out.textContent = JSON.stringify({ error: String(e) });
}
`,
  );
  const server = await startStaticServer({ mounts: { '/': scratch } });
  const browser = await launchChromium();
  try {
    const { page: tab, problems } = await openPage(browser, `${server.url}page/`);
    await tab.waitForFunction(() => document.getElementById('result').textContent !== '');
    const result = JSON.parse(await tab.textContent('#result'));
    assert.deepEqual(result, { text: 'from the browser', code: 'empty_envelope' });
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await server.close();
  }
});
