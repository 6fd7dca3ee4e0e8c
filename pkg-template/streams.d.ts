import type { AttachmentInfo } from './careseal.js';

/** Progress callback: bytes processed so far and the total. */
export type ProgressCallback = (done: number, total: number) => void;

/**
 * Encrypts a plaintext byte stream into an age file for a fresh key, padded
 * with zeros to a Padmé size bucket at the end.
 */
export class EncryptStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor();
  /**
   * The descriptor to send in a session message; call after the stream ended.
   * Throws `malformed_descriptor` for a blank name, or one with control or
   * format characters, `/` or `\`.
   */
  descriptor(name: string, mediaType: string): Uint8Array;
}

/**
 * Decrypts an age file announced by a descriptor. Nothing comes out before
 * the file's header matches the descriptor; exactly `info.plaintextLength`
 * bytes come out in all. Output is complete and verified only when the stream
 * closes without error.
 */
export class DecryptStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor(descriptor: Uint8Array);
  readonly info: AttachmentInfo;
}

/**
 * Re-encrypts a stored age file announced by a descriptor into a plain age
 * file of exactly the original bytes, for a fresh key (for other age tools).
 * Output is complete only when the stream closes without error.
 */
export class ExportStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor(descriptor: Uint8Array);
  /** The age identity string (`AGE-SECRET-KEY-1…`) that opens the exported file; after the stream ended. */
  ageIdentity(): string;
}

/** Encrypts a Blob or File. A Blob without a name is named "attachment". */
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

/**
 * Exports a stored age file as a plain age file of the exact original bytes
 * for a fresh key; resolves only after the stored file verified.
 */
export function exportBlob(
  file: Blob,
  descriptor: Uint8Array,
  options?: { onProgress?: ProgressCallback },
): Promise<{ file: Blob; identity: string }>;
