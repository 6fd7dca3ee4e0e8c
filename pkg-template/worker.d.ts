import type { ProgressCallback } from './streams.js';

/** Attachment encryption, decryption and export in a module Web Worker (browsers). */
export class AttachmentWorker {
  constructor(url?: URL | string);
  encrypt(
    blob: Blob,
    options?: { name?: string; type?: string; onProgress?: ProgressCallback },
  ): Promise<{ file: Blob; descriptor: Uint8Array }>;
  decrypt(file: Blob, descriptor: Uint8Array, options?: { onProgress?: ProgressCallback }): Promise<Blob>;
  /** A plain age file of the exact original bytes for a fresh key, and the identity that opens it. */
  exportPlainAge(
    file: Blob,
    descriptor: Uint8Array,
    options?: { onProgress?: ProgressCallback },
  ): Promise<{ file: Blob; identity: string }>;
  terminate(): void;
}
