// Installs the packed npm package (CARESEAL_TARBALL) into a scratch folder,
// the way a consumer would, and runs code against it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { startStaticServer } from '../../scripts/lib/static-server.mjs';
import { launchChromium, openPage } from './browser.mjs';

export async function installPackage() {
  const tarball = process.env.CARESEAL_TARBALL;
  assert.ok(tarball && existsSync(tarball), 'set CARESEAL_TARBALL to the packed .tgz');
  const dir = await mkdtemp(join(tmpdir(), 'careseal-package-'));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  execFileSync('npm', ['install', resolve(tarball), '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return {
    dir,
    /** Writes `source` as an ES module in the scratch folder and runs it with Node. */
    async runModule(name, source) {
      const file = join(dir, name);
      await writeFile(file, source);
      return execFileSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', maxBuffer: 64 << 20 });
    },
    /**
     * Serves a page at /NAME/ that imports the installed package (through its
     * browser entry, under the strict CSP) as `window.careseal`, opens it in
     * Chromium and waits for the module. Close with `close()`.
     */
    async openPage(name) {
      const page = join(dir, name);
      await mkdir(page);
      await writeFile(
        join(page, 'index.html'),
        `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>${name}</title><script type="module" src="./page.js"></script>`,
      );
      await writeFile(
        join(page, 'page.js'),
        "import * as careseal from '../node_modules/careseal/index.js';\nwindow.careseal = careseal;\n",
      );
      const server = await startStaticServer({ mounts: { '/': dir } });
      const browser = await launchChromium();
      const { page: tab, problems } = await openPage(browser, `${server.url}${name}/`);
      await tab.waitForFunction(() => window.careseal);
      return {
        tab,
        problems,
        close: async () => {
          await browser.close();
          await server.close();
        },
      };
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
