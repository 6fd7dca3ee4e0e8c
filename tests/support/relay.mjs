// Starts the relay binary (target/debug/careseal-relay) on a free loopback
// port with a fresh database, for end-to-end and hostile-relay tests.
import { execFileSync, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const relayBinary = join(repo, 'target', 'debug', 'careseal-relay');

/** Starts `careseal-relay serve --demo` on `db`; its output is pushed to `log`. */
export async function startRelay(db, log) {
  const child = spawn(relayBinary, ['serve', '--demo', '--db', db, '--addr', '127.0.0.1:0', '--www', join(repo, 'www'), '--pkg', join(repo, 'build', 'npm')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => log.push(d));
  child.stderr.on('data', (d) => log.push(d));
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('relay did not start')), 20_000);
    child.stdout.on('data', (d) => {
      const match = String(d).match(/listening on (http:\/\/[^\s]+)/);
      if (match) {
        clearTimeout(timer);
        ok(match[1]);
      }
    });
    child.on('exit', (code) => fail(new Error(`relay exited with ${code}`)));
  });
  return { child, url };
}

/** Stops the relay with SIGTERM and waits for it to exit. */
export async function stopRelay(child) {
  const exited = new Promise((ok) => child.on('exit', ok));
  child.kill('SIGTERM');
  return exited;
}

/**
 * The relay operator's direct access to its database (Python's sqlite3):
 * runs `sql` with `params` (strings starting `b64:` are bound as blobs) and
 * returns the rows, blobs as base64.
 */
export function operatorSql(db, sql, params = []) {
  const script = `
import json, sqlite3, sys, base64
sql, params = json.loads(sys.argv[1]), json.loads(sys.argv[2])
params = [base64.b64decode(p[4:]) if isinstance(p, str) and p.startswith('b64:') else p for p in params]
con = sqlite3.connect(sys.argv[3], timeout=10)
rows = con.execute(sql, params).fetchall()
con.commit()
print(json.dumps([[base64.b64encode(v).decode() if isinstance(v, bytes) else v for v in r] for r in rows]))
`;
  const out = execFileSync('python3', ['-c', script, JSON.stringify(sql), JSON.stringify(params), db], { encoding: 'utf8' });
  return JSON.parse(out);
}

