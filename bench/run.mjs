// The benchmark harness: runs every benchmark once in Node and once in
// headless Chromium and prints each table with its ratios. Not a test:
// nothing here passes or fails on speed. Run it with scripts/bench.sh,
// which builds the benchmark flavour of the module and the npm package first.
import { readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

import { startStaticServer } from '../scripts/lib/static-server.mjs';
import { launchChromium } from '../tests/support/browser.mjs';
import { formatAttachmentBench, runAttachmentBench } from './attachment-bench.mjs';
import { formatSessionBench, runSessionBench } from './session-bench.mjs';

const repo = resolve(fileURLToPath(new URL('..', import.meta.url)));
const pkg = join(repo, 'build', 'bench-pkg');
const vendor = join(repo, 'build', 'bench-vendor');
const sizeMiB = Number(process.env.BENCH_MIB ?? 64);
const memoryGiB = Number(process.env.BENCH_MEMORY_GIB ?? 1);

/** The comparison libraries as single minified ES modules, for the browser
 *  (our CSP allows no inline import map) and for their bundle sizes. */
const VENDORS = {
  'libsodium.mjs': "export { default } from 'libsodium-wrappers';",
  'noble.mjs': "export { chacha20poly1305 } from '@noble/ciphers/chacha.js';",
  'age.mjs': "export * from 'age-encryption';",
};

async function bundleVendors() {
  for (const [file, contents] of Object.entries(VENDORS)) {
    await build({
      stdin: { contents, resolveDir: repo, loader: 'js' },
      bundle: true,
      format: 'esm',
      minify: true,
      platform: 'browser',
      outfile: join(vendor, file),
      logLevel: 'error',
    });
  }
}

async function gzipped(paths) {
  const bytes = await Promise.all(paths.map((p) => readFile(p)));
  return gzipSync(Buffer.concat(bytes), { level: 9 }).length;
}

async function packageSizes() {
  const npm = join(repo, 'build', 'npm');
  const files = (await readdir(npm)).filter((f) => f.endsWith('.js') || f.endsWith('.wasm'));
  return [
    ['CareSeal npm package (wasm + JS)', await gzipped(files.map((f) => join(npm, f)))],
    ['libsodium-wrappers (bundled)', await gzipped([join(vendor, 'libsodium.mjs')])],
    ['age-encryption (bundled)', await gzipped([join(vendor, 'age.mjs')])],
  ];
}

async function runNode() {
  const careseal = await import(join(pkg, 'careseal.js'));
  const wasm = careseal.initSync({ module: await readFile(join(pkg, 'careseal_bg.wasm')) });
  const { default: sodium } = await import('libsodium-wrappers');
  await sodium.ready;
  const noble = await import('@noble/ciphers/chacha.js');
  const age = await import('age-encryption');
  return {
    session: runSessionBench({ careseal, sodium }),
    attachment: await runAttachmentBench({ careseal, sodium, noble, age, wasmMemory: wasm.memory, sizeMiB, memoryGiB }),
  };
}

async function runChromium() {
  const server = await startStaticServer({
    mounts: { '/': join(repo, 'bench', 'page'), '/pkg/': pkg, '/bench/': join(repo, 'bench'), '/vendor/': vendor },
  });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}?mib=${sizeMiB}&gib=${memoryGiB}`);
    await page.waitForFunction(() => window.__bench, null, { timeout: 600_000 });
    const result = await page.evaluate(() => window.__bench);
    if (result.error) throw new Error(`browser benchmark failed: ${result.error}`);
    return { result, version: browser.version() };
  } finally {
    await browser.close();
    await server.close();
  }
}

await bundleVendors();
const sizes = await packageSizes();
const node = await runNode();
console.log(formatSessionBench(`Node ${process.versions.node}`, node.session));
console.log();
console.log(formatAttachmentBench(`Node ${process.versions.node}`, node.attachment));
console.log();
const chromium = await runChromium();
const label = `Chromium ${chromium.version} (headless)`;
console.log(formatSessionBench(label, chromium.result.session));
console.log();
console.log(formatAttachmentBench(label, chromium.result.attachment, sizes));
