// End to end, users with several devices: the relay binary serving the
// portal, a clinician, a patient's laptop and the patient's phone in three
// browser contexts of Debian's Chromium. The patient registers through the
// invitation, links the phone from the laptop (the link and a QR code, then
// the six-digit code compared on both screens), both patient devices receive
// the clinician's messages and each other's, the per-user safety number is
// the same before and after linking on both sides, and once the laptop
// removes the phone the phone receives nothing more. Then the patient, having
// lost every device, is invited again from a fourth context: the clinician's
// portal blocks sending behind a banner until the new identity is accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { launchChromium } from '../support/browser.mjs';
import { operatorSql, relayBinary, repo, startRelay, stopRelay } from '../support/relay.mjs';

const results = join(repo, 'test-results');

const shows = (page, text, timeout = 30_000) =>
  page.waitForFunction((t) => document.getElementById('messages').innerText.includes(t), text, { timeout });

async function send(page, text) {
  await page.fill('#message', text);
  await page.click('#send');
}

test('a patient links a phone, both devices take part, a removed phone receives nothing, and a new identity is held back', { timeout: 300_000 }, async () => {
  assert.ok(existsSync(relayBinary), 'build the relay first (cargo build -p careseal-relay)');
  assert.ok(existsSync(join(repo, 'www/vendor/qrcode.js')), 'copy the portal modules first (scripts/build-portal.sh)');
  await mkdir(results, { recursive: true });
  const dir = await mkdtemp(join(tmpdir(), 'careseal-e2e-devices-'));
  const db = join(dir, 'relay.sqlite');
  const { child, url } = await startRelay(db, []);
  const browser = await launchChromium();
  const problems = [];
  const pages = {};
  try {
    for (const name of ['clinician', 'laptop', 'phone']) {
      const page = await (await browser.newContext()).newPage();
      page.on('pageerror', (e) => problems.push(`${name}: ${e.message}`));
      pages[name] = page;
    }
    const { clinician, laptop, phone } = pages;

    // Invitation and registration, as in the two-party test.
    await clinician.goto(`${url}clinician.html`);
    await clinician.click('#signin-button');
    await clinician.waitForSelector('#app:not([hidden])');
    await clinician.click('#invite');
    await laptop.goto(await clinician.getAttribute('#invite-url', 'href'));
    await laptop.fill('#display-name', 'Jamie Chen');
    await laptop.click('#signin-button');
    await laptop.waitForSelector('#conversations button');
    await send(laptop, 'Marker-devices-1: from the laptop');
    await clinician.click('#conversations button', { timeout: 30_000 }).catch(() => {});
    await shows(clinician, 'Marker-devices-1');
    const numberBefore = (await clinician.textContent('#safety-number')).trim();
    assert.match(numberBefore, /^\d{5}( \d{5}){11}$/);
    assert.equal((await laptop.textContent('#safety-number')).trim(), numberBefore);

    // The laptop links the phone: link and QR code, then the code compared.
    await laptop.click('#link-device');
    await laptop.waitForSelector('#link-url[href*="#link="]');
    const qr = await laptop.$eval('#link-qr', (canvas) => canvas.width);
    assert.ok(qr > 100, 'a QR code is drawn');
    await phone.goto(await laptop.getAttribute('#link-url', 'href'));
    await phone.waitForSelector('#join-sas-row:not([hidden])', { timeout: 30_000 });
    await laptop.waitForSelector('#link-sas-row:not([hidden])', { timeout: 30_000 });
    const sas = (await phone.textContent('#join-sas')).trim();
    assert.match(sas, /^\d{6}$/);
    assert.equal((await laptop.textContent('#link-sas')).trim(), sas, 'both screens show the same code');
    await phone.click('#join-confirm');
    await laptop.click('#link-confirm');
    await phone.waitForSelector('#app:not([hidden])', { timeout: 30_000 });
    await laptop.waitForFunction(() => document.querySelectorAll('#devices li').length === 2, null, { timeout: 30_000 });
    const [[, phoneId]] = operatorSql(db, "SELECT d.user_id, d.id FROM devices d JOIN users u ON u.id = d.user_id WHERE u.display_name = 'Jamie Chen' ORDER BY d.created_at DESC, d.rowid DESC LIMIT 1");

    // Both patient devices receive the clinician's message and each other's.
    await phone.waitForSelector('#conversations button');
    await send(clinician, 'Marker-devices-2: to both of your devices');
    await shows(laptop, 'Marker-devices-2');
    await shows(phone, 'Marker-devices-2');
    await send(phone, 'Marker-devices-3: from the phone');
    await shows(clinician, 'Marker-devices-3');
    await shows(laptop, 'Marker-devices-3');
    await send(laptop, 'Marker-devices-4: from the laptop again');
    await shows(phone, 'Marker-devices-4');
    await shows(clinician, 'Marker-devices-4');

    // The safety number is per user: unchanged by linking, the same everywhere.
    for (const page of [clinician, laptop, phone]) {
      assert.equal((await page.textContent('#safety-number')).trim(), numberBefore);
    }
    await clinician.screenshot({ path: join(results, 'devices-clinician.png'), fullPage: true });
    await laptop.screenshot({ path: join(results, 'devices-laptop.png'), fullPage: true });

    // The laptop removes the phone: the relay revokes it, the clinician stops
    // encrypting to it, and it receives nothing more.
    await laptop.click('.remove-device');
    await laptop.waitForFunction(() => document.querySelectorAll('#devices li').length === 1, null, { timeout: 30_000 });
    await send(clinician, 'Marker-devices-5: after the removal');
    await shows(laptop, 'Marker-devices-5');
    await phone.waitForFunction(() => /unauthorized/.test(document.getElementById('status').textContent), null, { timeout: 30_000 });
    assert.equal((await phone.locator('#messages').innerText()).includes('Marker-devices-5'), false);
    assert.deepEqual(operatorSql(db, 'SELECT count(*) FROM envelopes WHERE recipient_device = ?', [phoneId]), [[0]]);
    const posted = operatorSql(db, "SELECT count(*) FROM audit WHERE action = 'post_envelope' AND outcome != 'ok'");
    assert.deepEqual(posted, [[0]], 'the clinician never posted to the revoked phone');

    // The patient loses every device and is invited again: the new device
    // starts over with a new user key. The clinician's portal blocks sending
    // behind a banner until a person accepts the change; the old laptop is
    // revoked; after acceptance the new device receives, under a new number.
    const firstLink = await clinician.getAttribute('#invite-url', 'href');
    await clinician.click('#reinvite');
    await clinician.waitForFunction((old) => document.getElementById('invite-url')?.href !== old, firstLink);
    const again = await (await browser.newContext()).newPage();
    again.on('pageerror', (e) => problems.push(`again: ${e.message}`));
    pages.again = again;
    await again.goto(await clinician.getAttribute('#invite-url', 'href'));
    await again.fill('#display-name', 'Jamie Chen');
    await again.click('#signin-button');
    await again.waitForSelector('#conversations button', { timeout: 30_000 });
    await send(clinician, 'Marker-devices-6: held back');
    await clinician.waitForSelector('#key-changed:not([hidden])', { timeout: 30_000 });
    assert.match(await clinician.textContent('#status'), /user_key_changed/);
    assert.equal(await clinician.isDisabled('#send'), true);
    await laptop.waitForFunction(() => /unauthorized/.test(document.getElementById('status').textContent), null, { timeout: 30_000 });
    await clinician.click('#accept-key');
    await clinician.waitForSelector('#key-changed', { state: 'hidden' });
    assert.match(await clinician.textContent('#verified-state'), /matched the invitation you sent/);
    await send(clinician, 'Marker-devices-7: after accepting the new identity');
    await shows(again, 'Marker-devices-7');
    assert.equal((await again.locator('#messages').innerText()).includes('Marker-devices-6'), false);
    const numberAfter = (await clinician.textContent('#safety-number')).trim();
    assert.notEqual(numberAfter, numberBefore);
    assert.equal((await again.textContent('#safety-number')).trim(), numberAfter);
    await clinician.screenshot({ path: join(results, 'devices-reinvited.png'), fullPage: true });
    assert.deepEqual(problems, []);
  } catch (error) {
    for (const [name, page] of Object.entries(pages)) {
      console.error(`${name} status: ${await page.textContent('#status').catch(() => '?')}`);
      await page.screenshot({ path: join(results, `devices-failure-${name}.png`), fullPage: true }).catch(() => {});
    }
    console.error('browser problems:', problems);
    throw error;
  } finally {
    await browser.close();
    await stopRelay(child);
  }
});
