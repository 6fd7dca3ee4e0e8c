import type { ProgressCallback } from './streams.js';

/** Attachment encryption and decryption in a module Web Worker (browsers). */
export class AttachmentWorker {
  constructor(url?: URL | string);
  encrypt(
    blob: Blob,
    options?: { name?: string; type?: string; onProgress?: ProgressCallback },
  ): Promise<{ file: Blob; descriptor: Uint8Array }>;
  decrypt(file: Blob, descriptor: Uint8Array, options?: { onProgress?: ProgressCallback }): Promise<Blob>;
  terminate(): void;
}
