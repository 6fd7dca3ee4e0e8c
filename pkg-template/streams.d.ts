import type { AttachmentInfo } from './careseal.js';

/** Progress callback: bytes processed so far and the total. */
export type ProgressCallback = (done: number, total: number) => void;

/** Encrypts a plaintext byte stream into an age file for a fresh key. */
export class EncryptStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor();
  /** The descriptor to send in a session message; call after the stream ended. */
  descriptor(name: string, mediaType: string): Uint8Array;
}

/**
 * Decrypts an age file announced by a descriptor. Output is complete and
 * verified only when the stream closes without error.
 */
export class DecryptStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor(descriptor: Uint8Array);
  readonly info: AttachmentInfo;
}

/** Encrypts a Blob or File. */
export function encryptBlob(
  blob: Blob,
  options?: { name?: string; type?: string; onProgress?: ProgressCallback },
): Promise<{ file: Blob; descriptor: Uint8Array }>;

/** Decrypts an age file; resolves only after the whole file verified. */
export function decryptBlob(
  file: Blob,
  descriptor: Uint8Array,
  options?: { onProgress?: ProgressCallback },
): Promise<Blob>;
