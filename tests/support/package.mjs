// Installs the packed npm package (CARESEAL_TARBALL) into a scratch folder,
// the way a consumer would, and runs code against it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

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
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
