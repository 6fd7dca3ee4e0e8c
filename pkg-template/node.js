// Node.js entry point: reads the WebAssembly module from disk (Node's fetch
// cannot load file: URLs), then re-exports the API. Randomness comes from
// globalThis.crypto.getRandomValues (Node 20+).
import { readFile } from 'node:fs/promises';
import { initSync } from './careseal.js';

initSync({ module: await readFile(new URL('./careseal_bg.wasm', import.meta.url)) });

export * from './careseal.js';
export { DecryptStream, EncryptStream, ExportStream, decryptBlob, encryptBlob, exportBlob } from './streams.js';
