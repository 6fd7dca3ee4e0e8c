// The module worker behind AttachmentWorker (worker.js).
//
// The library is imported dynamically: its entry point awaits the
// WebAssembly module at top level, and a worker that awaited it in a static
// import would miss messages posted while it loads.
const library = import('./index.js');

self.onmessage = async ({ data }) => {
  const { id } = data;
  let last = 0;
  const onProgress = (done, total) => {
    // At most about a hundred progress messages per job.
    if (done === total || done - last >= total / 100) {
      last = done;
      self.postMessage({ id, type: 'progress', done, total });
    }
  };
  try {
    const { decryptBlob, encryptBlob, exportBlob } = await library;
    const jobs = {
      encrypt: () => encryptBlob(data.blob, { name: data.name, type: data.type, onProgress }),
      decrypt: () => decryptBlob(data.blob, data.descriptor, { onProgress }),
      export: () => exportBlob(data.blob, data.descriptor, { onProgress }),
    };
    const result = await jobs[data.op]();
    self.postMessage({ id, type: 'done', result });
  } catch (error) {
    self.postMessage({
      id,
      type: 'error',
      error: { name: error?.name ?? 'Error', message: String(error?.message ?? error), code: error?.code },
    });
  }
};
