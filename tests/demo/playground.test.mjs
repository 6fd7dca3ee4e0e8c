// End-to-end test of the demo page in headless Chromium: served exactly as
// scripts/demo.sh serves it (www/ plus the built package at /pkg/, strict
// CSP), a message is sealed, shown as ciphertext, opened by the clinic, and a
// one-bit change in transit is rejected. Saves a screenshot to test-results/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { startStaticServer } from '../../scripts/lib/static-server.mjs';
import { launchChromium, openPage } from '../support/browser.mjs';

const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));

test('demo page: seal, show the server view, open, reject a tampered envelope', async () => {
  assert.ok(existsSync(join(repo, 'build/npm/index.js')), 'run scripts/build-package.sh first');
  const server = await startStaticServer({
    mounts: { '/': join(repo, 'www'), '/pkg/': join(repo, 'build/npm') },
  });
  const browser = await launchChromium();
  try {
    const { page, problems } = await openPage(browser, `${server.url}playground.html`);
    await page.waitForSelector('#send:not([disabled])');
    assert.match(await page.textContent('#patient-fingerprint'), /^\d{5}( \d{5}){5}$/);

    const marker = 'Marker-7f3a: please renew my inhaler';
    await page.fill('#message', marker);
    await page.click('#send');
    await page.waitForSelector('#inbox .message.ok');
    assert.equal(await page.textContent('#inbox .message.ok p'), marker);
    assert.match(await page.textContent('#inbox .message.ok'), /Signed by \d{5}/);

    const ciphertext = await page.inputValue('#ciphertext');
    assert.ok(ciphertext.length > 300);
    const envelope = Buffer.from(ciphertext, 'base64');
    assert.ok(!envelope.includes(Buffer.from('Marker-7f3a')), 'plaintext visible in the envelope');
    assert.match(await page.textContent('#summary'), /Format version\s*1/);

    await page.click('#tamper');
    await page.waitForSelector('#inbox .message.rejected');
    assert.match(
      await page.textContent('#inbox .message.rejected p'),
      /^Rejected: (decrypt_failed|wrong_recipient|unsupported_version|malformed_envelope|non_contributory_key)$/,
    );

    await mkdir(join(repo, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(repo, 'test-results', 'demo.png'), fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await server.close();
  }
});

test('demo page: a 5 MiB attachment through the worker, downloaded byte-exact', async () => {
  const server = await startStaticServer({
    mounts: { '/': join(repo, 'www'), '/pkg/': join(repo, 'build/npm') },
  });
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    await page.goto(`${server.url}playground.html`);
    await page.waitForSelector('#send:not([disabled])');

    const original = Buffer.concat([Buffer.from('Marker-attachment-91c2 '), randomBytes(5 * 1024 * 1024)]);
    await page.setInputFiles('#file', { name: 'discharge-summary.pdf', mimeType: 'application/pdf', buffer: original });
    await page.click('#encrypt-file');
    await page.waitForSelector('#decrypt-file:not([disabled])', { timeout: 120_000 });
    assert.match(await page.textContent('#file-header'), /^age-encryption\.org\/v1\n-> X25519 /);
    assert.equal(await page.getAttribute('#file-progress', 'value'), String(original.length));

    await page.click('#decrypt-file');
    await page.waitForSelector('#download:not([hidden])', { timeout: 120_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    assert.equal(download.suggestedFilename(), 'discharge-summary.pdf');
    const saved = await readFile(await download.path());
    const sha = (b) => createHash('sha256').update(b).digest('hex');
    assert.equal(sha(saved), sha(original));

    await mkdir(join(repo, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(repo, 'test-results', 'demo-attachment.png'), fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await server.close();
  }
});
