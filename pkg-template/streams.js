// Streaming attachment helpers on top of AttachmentEncryptor,
// AttachmentDecryptor and AttachmentExporter: WHATWG TransformStreams and
// whole-Blob conveniences. Memory in WebAssembly stays at a couple of 64 KiB
// chunks whatever the file size. Re-exported by the package entry points,
// which initialise the module.
import { AttachmentDecryptor, AttachmentEncryptor, AttachmentExporter } from './careseal.js';

/** Largest piece handed to WebAssembly at once, so its memory stays small
 *  however large the chunks a stream delivers. */
const PIECE = 256 * 1024;

/** The name given to a Blob that has none: descriptors need a non-blank name. */
const DEFAULT_NAME = 'attachment';

/** Feeds `chunk` to `step` in pieces of at most PIECE bytes. */
function inPieces(chunk, step, controller) {
  for (let at = 0; at < chunk.byteLength; at += PIECE) {
    const out = step(chunk.subarray(at, at + PIECE));
    if (out.length > 0) controller.enqueue(out);
  }
}

/**
 * Encrypts a plaintext byte stream into an age file for a fresh key. At the
 * end the plaintext is padded with zeros to a Padmé size bucket, piece by
 * piece, so the stored file shows only the bucket.
 */
export class EncryptStream extends TransformStream {
  #encryptor;

  constructor() {
    const encryptor = new AttachmentEncryptor();
    super({
      transform(chunk, controller) {
        inPieces(chunk, (piece) => encryptor.push(piece), controller);
      },
      flush(controller) {
        for (let out = encryptor.pad(); out !== undefined; out = encryptor.pad()) {
          if (out.length > 0) controller.enqueue(out);
        }
        controller.enqueue(encryptor.finish());
      },
    });
    this.#encryptor = encryptor;
  }

  /** The descriptor to send in a session message; call after the stream ended. */
  descriptor(name, mediaType) {
    return this.#encryptor.descriptor(name, mediaType);
  }
}

/**
 * Decrypts an age file announced by a descriptor. Nothing is passed on before
 * the file's header matches the descriptor, and exactly the announced length
 * comes out (the padding is checked and dropped). Each chunk is authenticated
 * before it is passed on, but the output is complete and verified only when
 * the stream closes without error: on any error, discard everything it produced.
 */
export class DecryptStream extends TransformStream {
  constructor(descriptor) {
    const decryptor = AttachmentDecryptor.fromDescriptor(descriptor);
    const info = decryptor.info();
    super({
      transform(chunk, controller) {
        inPieces(chunk, (piece) => decryptor.push(piece), controller);
      },
      flush(controller) {
        const out = decryptor.finish();
        if (out.length > 0) controller.enqueue(out);
      },
    });
    /** `{ name, mediaType, plaintextLength, ciphertextLength, ciphertextSha256 }` from the descriptor. */
    this.info = info;
  }
}

/**
 * Re-encrypts a stored age file announced by a descriptor into a plain age
 * file of exactly the original bytes, for a fresh key, so other age tools
 * open it. The stored file is checked as DecryptStream checks it; the output
 * is complete only when the stream closes without error.
 */
export class ExportStream extends TransformStream {
  #exporter;

  constructor(descriptor) {
    const exporter = AttachmentExporter.fromDescriptor(descriptor);
    super({
      transform(chunk, controller) {
        inPieces(chunk, (piece) => exporter.push(piece), controller);
      },
      flush(controller) {
        controller.enqueue(exporter.finish());
      },
    });
    this.#exporter = exporter;
  }

  /** The age identity string that opens the exported file; call after the stream ended. */
  ageIdentity() {
    return this.#exporter.ageIdentity();
  }
}

/**
 * Encrypts a Blob or File; resolves to `{ file: Blob, descriptor: Uint8Array }`.
 * A Blob without a name is named "attachment".
 */
export async function encryptBlob(blob, { name = blob.name || DEFAULT_NAME, type = blob.type ?? '', onProgress } = {}) {
  const encrypt = new EncryptStream();
  const parts = await collect(blob.stream().pipeThrough(counter(blob.size, onProgress)).pipeThrough(encrypt));
  return {
    file: new Blob(parts, { type: 'application/octet-stream' }),
    descriptor: encrypt.descriptor(name, type),
  };
}

/**
 * Decrypts an age file Blob announced by `descriptor`. Resolves to the
 * plaintext Blob only after the whole file verified (header, length, digest,
 * padding, every chunk, final chunk); rejects with a CareSealError otherwise.
 */
export async function decryptBlob(file, descriptor, { onProgress } = {}) {
  const decrypt = new DecryptStream(descriptor);
  const parts = await collect(file.stream().pipeThrough(counter(file.size, onProgress)).pipeThrough(decrypt));
  return new Blob(parts, { type: decrypt.info.mediaType });
}

/**
 * Exports a stored age file Blob announced by `descriptor` as a plain age
 * file of the exact original bytes for a fresh key. Resolves to
 * `{ file: Blob, identity: string }` only after the stored file verified.
 */
export async function exportBlob(file, descriptor, { onProgress } = {}) {
  const exporter = new ExportStream(descriptor);
  const parts = await collect(file.stream().pipeThrough(counter(file.size, onProgress)).pipeThrough(exporter));
  return {
    file: new Blob(parts, { type: 'application/octet-stream' }),
    identity: exporter.ageIdentity(),
  };
}

async function collect(readable) {
  const parts = [];
  await readable.pipeTo(new WritableStream({ write: (chunk) => void parts.push(chunk) }));
  return parts;
}

/** Passes chunks on in pieces of at most PIECE bytes, reporting progress. */
function counter(total, onProgress) {
  let done = 0;
  return new TransformStream({
    transform(chunk, controller) {
      for (let at = 0; at < chunk.byteLength; at += PIECE) {
        const piece = chunk.subarray(at, at + PIECE);
        done += piece.byteLength;
        onProgress?.(done, total);
        controller.enqueue(piece);
      }
    },
  });
}
