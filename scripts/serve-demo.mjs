// Serves the demo: www/ at / and the built npm package (build/npm) at /pkg/,
// on loopback, with the strict CSP of scripts/lib/static-server.mjs.
import { startStaticServer } from './lib/static-server.mjs';

const port = Number(process.env.PORT ?? 8080);
const { url } = await startStaticServer({
  mounts: { '/': 'www', '/pkg/': 'build/npm' },
  port,
});
console.log(`CareSeal demo: open ${url} in Chromium (Ctrl-C to stop)`);
