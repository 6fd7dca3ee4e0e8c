// End to end: the relay binary serving the portal, a clinician and a patient
// in two separate browser contexts of Debian's Chromium. They register through
// an invitation, exchange messages both ways, send a 5 MiB file whose
// download matches by SHA-256, reload and carry on, compare safety numbers,
// and a short idle time locks the page. Finally the relay's database and log
// are scanned for the plaintext markers and file bytes: none may appear.
// Screenshots of each view go to test-results/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { launchChromium } from '../support/browser.mjs';
import { operatorSql, relayBinary, repo, startRelay, stopRelay } from '../support/relay.mjs';

const results = join(repo, 'test-results');

function watch(page, problems, name) {
  page.on('pageerror', (e) => problems.push(`${name}: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && problems.push(`${name}: ${m.text()}`));
}

async function messagesText(page) {
  return page.locator('#messages').innerText();
}

test('a patient and a clinician, end to end through the relay', { timeout: 300_000 }, async () => {
  assert.ok(existsSync(relayBinary), 'build the relay first (cargo build -p careseal-relay)');
  assert.ok(existsSync(join(repo, 'build/npm/index.js')), 'build the package first (scripts/build-package.sh)');
  await mkdir(results, { recursive: true });
  const dir = await mkdtemp(join(tmpdir(), 'careseal-e2e-'));
  const db = join(dir, 'relay.sqlite');
  const log = [];
  const { child, url } = await startRelay(db, log);
  const browser = await launchChromium();
  const problems = [];
  const markers = {
    patient: 'Marker-e2e-patient-7731',
    clinician: 'Marker-e2e-clinician-5520',
    afterReload: 'Marker-e2e-after-reload-9904',
    forged: 'Marker-e2e-forged-6610',
  };
  const file = Buffer.concat([Buffer.from('Marker-e2e-file-4410 '), randomBytes(5 * 1024 * 1024)]);
  try {
    const clinicianContext = await browser.newContext({ acceptDownloads: true });
    const patientContext = await browser.newContext({ acceptDownloads: true });
    const clinician = await clinicianContext.newPage();
    const patient = await patientContext.newPage();
    watch(clinician, problems, 'clinician');
    watch(patient, problems, 'patient');

    // The clinician signs in and invites a patient.
    await clinician.goto(`${url}clinician.html`);
    await clinician.fill('#display-name', 'Dr. Rivera');
    await clinician.click('#signin-button');
    await clinician.waitForSelector('#app:not([hidden])');
    await clinician.click('#invite');
    const invitation = await clinician.getAttribute('#invite-url', 'href');
    assert.match(invitation, /\/patient\.html#invite=/);

    // The patient registers through the link and writes first.
    await patient.goto(invitation);
    await patient.waitForSelector('#signin:not([hidden])');
    assert.notEqual(await patient.inputValue('#invitation'), '');
    await patient.fill('#display-name', 'Jamie Chen');
    await patient.click('#signin-button');
    await patient.waitForSelector('#app:not([hidden])');
    await patient.waitForSelector('#conversations button');
    await patient.fill('#message', `${markers.patient}: my rash is spreading`);
    await patient.click('#send');

    await clinician.click('#conversations button', { timeout: 30_000 }).catch(() => {});
    await clinician.waitForFunction((m) => document.getElementById('messages').innerText.includes(m), markers.patient, { timeout: 30_000 });
    await clinician.fill('#message', `${markers.clinician}: please send a photo`);
    await clinician.click('#send');
    await patient.waitForFunction((m) => document.getElementById('messages').innerText.includes(m), markers.clinician, { timeout: 30_000 });

    // A 5 MiB attachment from the patient, downloaded by the clinician.
    await patient.setInputFiles('#file', { name: 'rash-photo.jpg', mimeType: 'image/jpeg', buffer: file });
    await clinician.waitForSelector('.download-file', { timeout: 120_000 });
    await clinician.click('.download-file');
    await clinician.waitForSelector('.save-file', { timeout: 120_000 });
    const [download] = await Promise.all([clinician.waitForEvent('download'), clinician.click('.save-file')]);
    assert.equal(download.suggestedFilename(), 'rash-photo.jpg');
    const sha = (b) => createHash('sha256').update(b).digest('hex');
    assert.equal(sha(await readFile(await download.path())), sha(file));

    // The relay's view shows only ciphertext.
    await clinician.click('#refresh-server');
    await clinician.waitForSelector('#server-view pre');
    const serverView = await clinician.locator('#server-view').innerText();
    assert.match(serverView, /age-encryption\.org\/v1/);
    for (const marker of Object.values(markers)) assert.ok(!serverView.includes(marker));

    // Both reload, the state comes back, and the conversation carries on.
    await patient.reload();
    await clinician.reload();
    await patient.waitForSelector('#app:not([hidden])');
    await clinician.waitForSelector('#app:not([hidden])');
    await patient.waitForFunction((m) => document.getElementById('messages').innerText.includes(m), markers.clinician);
    await patient.fill('#message', `${markers.afterReload}: thank you`);
    await patient.click('#send');
    await clinician.waitForFunction((m) => document.getElementById('messages').innerText.includes(m), markers.afterReload, { timeout: 30_000 });
    await clinician.fill('#message', 'You are welcome.');
    await clinician.click('#send');
    await patient.waitForFunction(() => document.getElementById('messages').innerText.includes('You are welcome.'), null, { timeout: 30_000 });

    // Safety numbers match on both sides; both mark the contact verified.
    const numberP = (await patient.textContent('#safety-number')).trim();
    const numberC = (await clinician.textContent('#safety-number')).trim();
    assert.match(numberP, /^\d{5}( \d{5}){11}$/);
    assert.equal(numberP, numberC);
    await patient.click('#mark-verified');
    await clinician.click('#mark-verified');
    for (const page of [patient, clinician]) {
      await page.waitForFunction(() => document.getElementById('verified-state').textContent.startsWith('Verified'));
    }

    // The relay operator files a first message from its own identity under
    // the patient's device, and one under a device id it made up for the
    // patient: the clinician's portal refuses both and shows neither text.
    const { Account, Session } = await import(join(repo, 'build', 'npm', 'node.js'));
    const [[patientDevice, conversationId]] = operatorSql(
      db,
      "SELECT d.id, m.conversation_id FROM devices d JOIN users u ON u.id = d.user_id JOIN conversation_members m ON m.user_id = u.id WHERE u.display_name = 'Jamie Chen'",
    );
    const [[clinicianDevice, clinicianBundle]] = operatorSql(
      db,
      "SELECT d.id, b.bundle FROM devices d JOIN users u ON u.id = d.user_id JOIN prekey_bundles b ON b.device_id = d.id WHERE u.display_name = 'Dr. Rivera'",
    );
    const forge = (text) => Session.initiate(new Account(), Buffer.from(clinicianBundle, 'base64')).encrypt(text);
    for (const [sender, text] of [
      [patientDevice, `${markers.forged}: as the patient's device`],
      ['dev_made_up_by_the_relay', `${markers.forged}: as a new device of the patient`],
    ]) {
      operatorSql(db, 'INSERT INTO envelopes (conversation_id, sender_device, recipient_device, body, created_at) VALUES (?, ?, ?, ?, 0)', [
        conversationId,
        sender,
        clinicianDevice,
        `b64:${Buffer.from(forge(text)).toString('base64')}`,
      ]);
    }
    await clinician.waitForFunction(
      () => document.querySelectorAll('#messages .error').length >= 2,
      null,
      { timeout: 30_000 },
    );
    const shown = await messagesText(clinician);
    assert.ok(!shown.includes(markers.forged), 'a forged first message was shown');
    assert.match(shown, /could not be decrypted \(identity_mismatch\)/);
    assert.match(shown, /Refused: not from a verified device/, 'a refused message is attributed to no one');

    // The operator adds a device of its own to the verified patient, under
    // its own user key: the clinician's portal sees a changed identity,
    // blocks sending and says so loudly; nothing reaches the operator.
    const { DeviceList, UserIdentity } = await import(join(repo, 'build', 'npm', 'node.js'));
    const [[patientUser]] = operatorSql(db, "SELECT id FROM users WHERE display_name = 'Jamie Chen'");
    const operatorKey = UserIdentity.generate();
    const operatorList = DeviceList.create(patientUser, patientDevice, new Account().publicIdentity())
      .withDevice('d_operator', new Account().publicIdentity())
      .sign(operatorKey);
    operatorSql(db, 'UPDATE device_lists SET user_key = ?, list = ? WHERE user_id = ?', [
      `b64:${Buffer.from(operatorKey.publicIdentity().toBytes()).toString('base64')}`,
      `b64:${Buffer.from(operatorList).toString('base64')}`,
      patientUser,
    ]);
    await clinician.fill('#message', `${markers.forged}: to the operator's device`);
    await clinician.click('#send');
    await clinician.waitForSelector('#key-changed:not([hidden])', { timeout: 30_000 });
    assert.match(await clinician.textContent('#key-changed-text'), /changed since you verified it/);
    assert.match(await clinician.textContent('#status'), /user_key_changed/);
    assert.equal(await clinician.isDisabled('#send'), true);
    assert.deepEqual(operatorSql(db, "SELECT count(*) FROM envelopes WHERE recipient_device = 'd_operator'"), [[0]]);

    await clinician.screenshot({ path: join(results, 'portal-clinician.png'), fullPage: true });
    await patient.screenshot({ path: join(results, 'portal-patient.png'), fullPage: true });

    // Idle lock: with a 5 s idle time (enough to load the history first on a
    // slow machine) the page locks and hides the conversation.
    await patient.goto(`${url}patient.html?idle=5`);
    // The page shows the app first and fills in the conversation after it has
    // synced with the relay, so wait for the history rather than assume it.
    await patient.waitForSelector('#app:not([hidden])');
    await patient.waitForFunction((m) => document.getElementById('messages').innerText.includes(m), markers.clinician);
    await patient.waitForSelector('#locked:not([hidden])', { timeout: 15_000 });
    assert.equal(await patient.isVisible('#app'), false);
    assert.equal(await messagesText(patient), '');
    assert.equal(await patient.evaluate(() => document.body.innerText.includes('Marker-e2e')), false);
    await patient.screenshot({ path: join(results, 'portal-locked.png'), fullPage: true });
    await patient.click('#unlock');
    await patient.waitForSelector('#app:not([hidden])');
    await patient.waitForFunction((m) => document.getElementById('messages').innerText.includes(m), markers.clinician);

    // Sign-out deletes the device's stored state: after a reload it is gone.
    await clinician.click('#sign-out');
    await clinician.waitForSelector('#signin:not([hidden])');
    await clinician.reload();
    await clinician.waitForSelector('#signin:not([hidden])');
    const stored = await clinician.evaluate(
      () =>
        new Promise((resolve) => {
          const request = indexedDB.open('careseal-portal-clinician', 1);
          request.onupgradeneeded = () => request.result.createObjectStore('kv');
          request.onsuccess = () => {
            const count = request.result.transaction('kv').objectStore('kv').count();
            count.onsuccess = () => resolve(count.result);
          };
        }),
    );
    assert.equal(stored, 0, 'no key or state left after sign-out');

    assert.deepEqual(problems, []);
  } catch (error) {
    // Leave evidence for whoever reads the CI log.
    for (const page of browser.contexts().flatMap((c) => c.pages())) {
      const who = await page.evaluate(() => document.body.dataset.role).catch(() => '?');
      console.error(`${who} status: ${await page.textContent('#status').catch(() => '?')}`);
      await page.screenshot({ path: join(results, `portal-failure-${who}.png`), fullPage: true }).catch(() => {});
    }
    console.error('browser problems:', problems);
    throw error;
  } finally {
    await browser.close();
    await stopRelay(child);
  }

  // Nothing readable at rest or in the logs.
  const stored = Buffer.concat(
    await Promise.all(['', '-wal', '-shm'].map((s) => readFile(db + s).catch(() => Buffer.alloc(0)))),
  );
  const logs = Buffer.concat(log);
  for (const haystack of [stored, logs]) {
    for (const marker of [...Object.values(markers), 'Marker-e2e-file-4410', 'rash-photo.jpg', 'my rash is spreading']) {
      assert.equal(haystack.includes(Buffer.from(marker)), false, `${marker} found in relay storage or logs`);
    }
    assert.equal(haystack.includes(file.subarray(1_000_000, 1_000_064)), false, 'file bytes found');
  }
  await rm(dir, { recursive: true, force: true });
});
