// Runs attachment encryption, decryption and export in a module Web Worker
// so the page stays responsive, with progress events. Browser only.
export class AttachmentWorker {
  #worker;
  #next = 0;
  #jobs = new Map();

  constructor(url = new URL('./attachment-worker.js', import.meta.url)) {
    this.#worker = new Worker(url, { type: 'module' });
    this.#worker.onmessage = ({ data }) => {
      const job = this.#jobs.get(data.id);
      if (!job) return;
      if (data.type === 'progress') {
        job.onProgress?.(data.done, data.total);
        return;
      }
      this.#jobs.delete(data.id);
      if (data.type === 'done') job.resolve(data.result);
      else job.reject(rebuildError(data.error));
    };
    this.#worker.onerror = (event) => {
      const error = new Error(`attachment worker failed: ${event.message}`);
      for (const job of this.#jobs.values()) job.reject(error);
      this.#jobs.clear();
    };
  }

  /** Encrypts a Blob or File in the worker. A Blob without a name is named "attachment". */
  encrypt(blob, { name = blob.name || 'attachment', type = blob.type ?? '', onProgress } = {}) {
    return this.#run({ op: 'encrypt', blob, name, type }, onProgress);
  }

  /** Decrypts an age file in the worker; resolves only after it verified. */
  decrypt(file, descriptor, { onProgress } = {}) {
    return this.#run({ op: 'decrypt', blob: file, descriptor }, onProgress);
  }

  /**
   * Exports a stored age file as a plain age file of the exact original bytes
   * for a fresh key, in the worker; resolves to `{ file, identity }` only
   * after the stored file verified.
   */
  exportPlainAge(file, descriptor, { onProgress } = {}) {
    return this.#run({ op: 'export', blob: file, descriptor }, onProgress);
  }

  /** Stops the worker; pending jobs never settle. */
  terminate() {
    this.#worker.terminate();
  }

  #run(message, onProgress) {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#jobs.set(id, { resolve, reject, onProgress });
      this.#worker.postMessage({ id, ...message });
    });
  }
}

function rebuildError({ name, message, code }) {
  const error = new Error(message);
  error.name = name;
  if (code !== undefined) error.code = code;
  return error;
}
