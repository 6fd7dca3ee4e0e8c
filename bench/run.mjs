// The benchmark harness: runs every benchmark once in Node and once in
// headless Chromium and prints each table with its ratios. Not a test:
// nothing here passes or fails on speed. Run it with scripts/bench.sh,
// which builds the benchmark flavour of the module first.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

import { startStaticServer } from '../scripts/lib/static-server.mjs';
import { launchChromium } from '../tests/support/browser.mjs';
import { formatSessionBench, runSessionBench } from './session-bench.mjs';

const repo = resolve(fileURLToPath(new URL('..', import.meta.url)));
const pkg = join(repo, 'build', 'bench-pkg');

async function runNode() {
  const careseal = await import(join(pkg, 'careseal.js'));
  careseal.initSync({ module: await readFile(join(pkg, 'careseal_bg.wasm')) });
  const { default: sodium } = await import('libsodium-wrappers');
  await sodium.ready;
  return { session: runSessionBench({ careseal, sodium }) };
}

/** libsodium's ESM build imports the bare name "libsodium"; pages under our
 *  CSP cannot use an inline import map, so serve a copy that imports a path. */
async function vendorLibsodium() {
  const require = createRequire(import.meta.url);
  const wrappers = require.resolve('libsodium-wrappers').replace(/modules\/libsodium-wrappers\.js$/, 'modules-esm/libsodium-wrappers.mjs');
  const core = join(wrappers, '../../../../libsodium/dist/modules-esm/libsodium.mjs');
  const dir = join(repo, 'build', 'bench-vendor');
  await mkdir(dir, { recursive: true });
  const source = await readFile(wrappers, 'utf8');
  await writeFile(join(dir, 'libsodium-wrappers.mjs'), source.replace(/from\s*"libsodium"/, 'from "./libsodium.mjs"'));
  await copyFile(core, join(dir, 'libsodium.mjs'));
  return dir;
}

async function runChromium() {
  const vendor = await vendorLibsodium();
  const server = await startStaticServer({
    mounts: { '/': join(repo, 'bench', 'page'), '/pkg/': pkg, '/bench/': join(repo, 'bench'), '/vendor/': vendor },
  });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForFunction(() => window.__bench, null, { timeout: 300_000 });
    const result = await page.evaluate(() => window.__bench);
    if (result.error) throw new Error(`browser benchmark failed: ${result.error}`);
    return { result, version: browser.version() };
  } finally {
    await browser.close();
    await server.close();
  }
}

const node = await runNode();
console.log(formatSessionBench(`Node ${process.versions.node}`, node.session));
console.log();
const chromium = await runChromium();
console.log(formatSessionBench(`Chromium ${chromium.version} (headless)`, chromium.result.session));
