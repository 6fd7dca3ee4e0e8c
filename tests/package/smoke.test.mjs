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
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { startStaticServer } from '../../scripts/lib/static-server.mjs';
import { launchChromium, openPage } from '../support/browser.mjs';
import { installPackage } from '../support/package.mjs';

const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
let scratch;
let installed;

before(async () => {
  installed = await installPackage();
  scratch = installed.dir;
});

after(async () => {
  await installed?.remove();
});


test('the installed package contains every file package.json declares', async () => {
  const dir = join(scratch, 'node_modules', 'careseal');
  const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
  for (const file of pkg.files) assert.ok(existsSync(join(dir, file)), `missing ${file}`);
  for (const target of Object.values(pkg.exports['.'])) {
    assert.ok(existsSync(join(dir, target)), `export target missing: ${target}`);
  }
});

test('Node ESM: seal, open, signed sender and error codes', async () => {
  const out = JSON.parse(
    await installed.runModule(
      'node-check.mjs',
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
    ),
  );
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

test("the README's JavaScript examples run as written and print what the README says", async () => {
  const readme = await readFile(join(repo, 'README.md'), 'utf8');
  const pattern =
    /<!-- example:start -->\s*```js\n([\s\S]*?)```\s*<!-- example:output -->\s*```text\n([\s\S]*?)```/g;
  const examples = [...readme.matchAll(pattern)];
  assert.equal(examples.length, 2, 'README keeps two examples with their output');
  for (const [i, [, code, expected]] of examples.entries()) {
    assert.equal(await installed.runModule(`readme-example-${i}.mjs`, code), expected, `example ${i + 1}`);
  }
});

test('TypeScript: the declarations type-check a typical consumer', async () => {
  const file = join(scratch, 'consumer.ts');
  await writeFile(
    file,
    `
import {
  Account, ContextCheck, DeviceEntry, DeviceList, DeviceListChange, ExistingDeviceLink, Identity, InvitationCode, InvitationLink, MessageEnvelope,
  NewDeviceLink, PinnedDeviceList, PublicIdentity, PublicUserIdentity, Session, StorageKey, UserIdentity, encodeTextMessage, limits, safetyNumber,
  seal, verifyRegistration, type CareSealError, type CareSealErrorCode,
} from 'careseal';
const clinic: Identity = Identity.generate();
const them: PublicIdentity = PublicIdentity.fromText(clinic.publicIdentity().toText());
const envelope: Uint8Array = seal(them, 'hello');
const text: string = clinic.open(envelope).text();
const max: number = limits().maxSealedMessageLen;
const account = new Account();
const session: Session = Session.initiate(account, account.prekeyBundle(), account.publicIdentity());
const wire: Uint8Array = session.encrypt('hi');
const key: StorageKey = new StorageKey(new Uint8Array(32));
const restored: Session = Session.import(key, session.export(key));
const awaiting: boolean = restored.awaitingReply && wire.length > 0;
const other = new Account();
const accepted = other.acceptSessionIf(wire, (initiator: PublicIdentity) => initiator.equals(account.publicIdentity()));
const alsoAccepted = () => other.acceptSession(wire, account.publicIdentity());
const outcome: 'rotated' | 'retired' | 'started' | 'unchanged' = other.maintainSignedPrekeys(Date.now());
const first: string = accepted.text();
function codeOf(e: unknown): CareSealErrorCode | undefined {
  return (e as CareSealError).code;
}
// Users, device lists, invitations, message context and linking.
const user: UserIdentity = UserIdentity.generate();
const userKey: PublicUserIdentity = PublicUserIdentity.fromText(user.publicIdentity().toText());
const signed: Uint8Array = DeviceList.create('u_1', 'd_1', account.publicIdentity()).sign(user);
const pinned: PinnedDeviceList = PinnedDeviceList.pin('u_1', userKey, signed);
const change: DeviceListChange = pinned.update(userKey, signed);
const unchanged: boolean = change.unchanged && change.added().length === 0;
const version: bigint = pinned.list().version;
const targets: DeviceEntry[] = pinned.recipientDevices(pinned, 'd_1');
const number: string = safetyNumber(userKey, user.publicIdentity());
const code: InvitationCode = InvitationCode.generate();
const link: InvitationLink = InvitationLink.parseFragment(code.linkFragment(userKey));
const proof: Uint8Array = link.registrationProof(userKey, signed);
const registered: PinnedDeviceList = verifyRegistration(code, userKey, 'u_1', userKey, signed, proof);
const plaintext: Uint8Array = encodeTextMessage('c_1', 'u_1', 'd_1', 1n, 'hello');
const envelopeIn: MessageEnvelope = MessageEnvelope.fromBytes(plaintext);
const kind: 'text' | 'attachment' | 'control' = envelopeIn.kind;
const checked: ContextCheck = envelopeIn.check(account.publicIdentity(), pinned, 'c_1');
const window: Uint8Array = checked.window();
const gap: bigint = checked.gap;
const existing: ExistingDeviceLink = ExistingDeviceLink.offer(Date.now());
const joining: NewDeviceLink = NewDeviceLink.join(existing.offerText(), Date.now());
const response: Uint8Array = existing.acceptCommitment(joining.commitment(), Date.now());
const sas: string = existing.acceptReveal(joining.acceptResponse(response, Date.now()), Date.now());
const state: string = joining.state;
export { text, max, codeOf, awaiting, alsoAccepted, outcome, first, unchanged, version, targets, number, registered, kind, window, gap, sas, state };
`,
  );
  execFileSync(
    join(repo, 'node_modules', '.bin', 'tsc'),
    ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022,esnext.disposable,dom', '--skipLibCheck', 'false', file],
    { cwd: scratch, stdio: 'inherit' },
  );
});

test('Chromium: a session carries on across page reloads from exported state', async () => {
  const { tab, problems, close } = await installed.openPage('reload');
  try {
    const before = await tab.evaluate(() => {
      const { Account, Session, StorageKey } = window.careseal;
      const b64 = (bytes) => btoa(String.fromCharCode(...bytes));
      const storageKey = StorageKey.generate();
      const key = storageKey.toBytes();
      const clinician = new Account();
      clinician.generateOneTimePrekeys(3);
      const patient = new Account();
      const p = Session.initiate(patient, clinician.prekeyBundle());
      const accepted = clinician.acceptSession(p.encrypt('first'), patient.publicIdentity());
      const c = accepted.takeSession();
      const reply = p.decryptText(c.encrypt('reply'));
      const inFlight = p.encrypt('sent before the reload');
      localStorage.setItem('key', b64(key));
      localStorage.setItem('patientSession', b64(p.export(storageKey)));
      localStorage.setItem('clinicianSession', b64(c.export(storageKey)));
      localStorage.setItem('clinicianAccount', b64(clinician.export(storageKey)));
      localStorage.setItem('inFlight', b64(inFlight));
      return { first: accepted.text(), reply, left: clinician.oneTimePrekeyCount };
    });
    assert.deepEqual(before, { first: 'first', reply: 'reply', left: 2 });

    await tab.reload();
    await tab.waitForFunction(() => window.careseal);
    const after = await tab.evaluate(() => {
      const { Account, Session, StorageKey } = window.careseal;
      const bytes = (name) => Uint8Array.from(atob(localStorage.getItem(name)), (c) => c.charCodeAt(0));
      const key = new StorageKey(bytes('key'));
      const p = Session.import(key, bytes('patientSession'));
      const c = Session.import(key, bytes('clinicianSession'));
      const account = Account.import(key, bytes('clinicianAccount'));
      const inFlight = c.decryptText(bytes('inFlight'));
      const back = p.decryptText(c.encrypt('after the reload'));
      let replay;
      try { c.decrypt(bytes('inFlight')); } catch (e) { replay = e.code; }
      let wrongKey;
      try { Session.import(new StorageKey(new Uint8Array(32)), bytes('patientSession')); } catch (e) { wrongKey = e.code; }
      return { inFlight, back, replay, wrongKey, left: account.oneTimePrekeyCount, same: p.sessionId === c.sessionId };
    });
    assert.deepEqual(after, {
      inFlight: 'sent before the reload',
      back: 'after the reload',
      replay: 'replayed_message',
      wrongKey: 'pickle_decrypt_failed',
      left: 2,
      same: true,
    });
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});

test('Chromium: two tabs restoring one export never reuse a key and nonce', async () => {
  const { tab, problems, close } = await installed.openPage('rollback');
  try {
    const result = await tab.evaluate(() => {
      const { Account, Session, StorageKey } = window.careseal;
      const clinician = new Account();
      const patient = new Account();
      const p = Session.initiate(patient, clinician.prekeyBundle(), clinician.publicIdentity());
      const c = clinician.acceptSession(p.encrypt('hello'), patient.publicIdentity()).takeSession();
      p.decrypt(c.encrypt('ok'));
      const key = StorageKey.generate();
      const saved = p.export(key);
      const receiverSaved = c.export(key);
      // Tab one sends from the live state; tab two restored the same export.
      const c1 = p.encrypt('biopsy: benign.');
      const c2 = Session.import(key, saved).encrypt('biopsy: malign.');
      const samePosition = c1.slice(0, 50).every((b, i) => b === c2[i]);
      const sameNonce = c1.slice(50, 74).every((b, i) => b === c2[50 + i]);
      // XOR of the ciphertexts against XOR of the (equally padded) plaintexts.
      const enc = new TextEncoder();
      const p1 = enc.encode('biopsy: benign.');
      const p2 = enc.encode('biopsy: malign.');
      let keystreamShared = true;
      for (let i = 0; i < c1.length - 74 - 16; i += 1) {
        const plainXor = i < p1.length ? p1[i] ^ p2[i] : 0;
        if ((c1[74 + i] ^ c2[74 + i]) !== plainXor) keystreamShared = false;
      }
      const first = c.decryptText(c1);
      let replay;
      try { c.decrypt(c2); } catch (e) { replay = e.code; }
      const other = Session.import(key, receiverSaved);
      const second = other.decryptText(c2);
      let again;
      try { other.decrypt(c2); } catch (e) { again = e.code; }
      return { samePosition, sameNonce, keystreamShared, first, replay, second, again };
    });
    assert.deepEqual(result, {
      samePosition: true,
      sameNonce: false,
      keystreamShared: false,
      first: 'biopsy: benign.',
      replay: 'replayed_message',
      second: 'biopsy: malign.',
      again: 'replayed_message',
    });
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
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
