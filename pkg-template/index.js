// Browser (and bundler) entry point: fetches and instantiates the
// WebAssembly module next to this file, then re-exports the API. Pages need
// a CSP that allows `script-src 'self' 'wasm-unsafe-eval'`.
import init from './careseal.js';

await init({ module_or_path: new URL('./careseal_bg.wasm', import.meta.url) });

export * from './careseal.js';
export { DecryptStream, EncryptStream, ExportStream, decryptBlob, encryptBlob, exportBlob } from './streams.js';
export { AttachmentWorker } from './worker.js';
