// Streaming attachment helpers on top of AttachmentEncryptor and
// AttachmentDecryptor: WHATWG TransformStreams and whole-Blob conveniences.
// Memory in WebAssembly stays at a couple of 64 KiB chunks whatever the file
// size. Re-exported by the package entry points, which initialise the module.
import { AttachmentDecryptor, AttachmentEncryptor } from './careseal.js';

/** Largest piece handed to WebAssembly at once, so its memory stays small
 *  however large the chunks a stream delivers. */
const PIECE = 256 * 1024;

/** Feeds `chunk` to `step` in pieces of at most PIECE bytes. */
function inPieces(chunk, step, controller) {
  for (let at = 0; at < chunk.byteLength; at += PIECE) {
    const out = step(chunk.subarray(at, at + PIECE));
    if (out.length > 0) controller.enqueue(out);
  }
}

/** Encrypts a plaintext byte stream into an age file for a fresh key. */
export class EncryptStream extends TransformStream {
  #encryptor;

  constructor() {
    const encryptor = new AttachmentEncryptor();
    super({
      transform(chunk, controller) {
        inPieces(chunk, (piece) => encryptor.push(piece), controller);
      },
      flush(controller) {
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
 * Decrypts an age file announced by a descriptor. Each chunk is authenticated
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
    /** `{ name, mediaType, ciphertextLength, ciphertextSha256 }` from the descriptor. */
    this.info = info;
  }
}

/** Encrypts a Blob or File; resolves to `{ file: Blob, descriptor: Uint8Array }`. */
export async function encryptBlob(blob, { name = blob.name ?? '', type = blob.type ?? '', onProgress } = {}) {
  const encrypt = new EncryptStream();
  const parts = await collect(blob.stream().pipeThrough(counter(blob.size, onProgress)).pipeThrough(encrypt));
  return {
    file: new Blob(parts, { type: 'application/octet-stream' }),
    descriptor: encrypt.descriptor(name, type),
  };
}

/**
 * Decrypts an age file Blob announced by `descriptor`. Resolves to the
 * plaintext Blob only after the whole file verified (length, digest, every
 * chunk, final chunk); rejects with a CareSealError otherwise.
 */
export async function decryptBlob(file, descriptor, { onProgress } = {}) {
  const decrypt = new DecryptStream(descriptor);
  const parts = await collect(file.stream().pipeThrough(counter(file.size, onProgress)).pipeThrough(decrypt));
  return new Blob(parts, { type: decrypt.info.mediaType });
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
