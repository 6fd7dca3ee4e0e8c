// Runs the benchmarks in the browser and leaves the results on window.
import init, * as careseal from '/pkg/careseal.js';
import sodium from '/vendor/libsodium.mjs';
import * as noble from '/vendor/noble.mjs';
import * as age from '/vendor/age.mjs';
import { runSessionBench } from '/bench/session-bench.mjs';
import { runAttachmentBench } from '/bench/attachment-bench.mjs';

const out = document.getElementById('out');
const params = new URLSearchParams(location.search);
try {
  const wasm = await init({ module_or_path: '/pkg/careseal_bg.wasm' });
  await sodium.ready;
  const session = runSessionBench({ careseal, sodium });
  const attachment = await runAttachmentBench({
    careseal,
    sodium,
    noble,
    age,
    wasmMemory: wasm.memory,
    sizeMiB: Number(params.get('mib') ?? 64),
    memoryGiB: Number(params.get('gib') ?? 1),
  });
  window.__bench = { session, attachment };
  out.textContent = JSON.stringify(window.__bench, null, 2);
} catch (error) {
  window.__bench = { error: String(error?.stack ?? error) };
  out.textContent = window.__bench.error;
}
