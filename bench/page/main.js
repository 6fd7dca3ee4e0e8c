// Runs the benchmarks in the browser and leaves the results on window.
import init, * as careseal from '/pkg/careseal.js';
import sodium from '/vendor/libsodium-wrappers.mjs';
import { runSessionBench } from '/bench/session-bench.mjs';

const out = document.getElementById('out');
try {
  await init({ module_or_path: '/pkg/careseal_bg.wasm' });
  await sodium.ready;
  window.__bench = { session: runSessionBench({ careseal, sodium }) };
  out.textContent = JSON.stringify(window.__bench, null, 2);
} catch (error) {
  window.__bench = { error: String(error?.stack ?? error) };
  out.textContent = window.__bench.error;
}
