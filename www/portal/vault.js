// Device state at rest: one IndexedDB database per role, holding a
// non-extractable AES-256-GCM key (the browser never hands its bytes to
// script) and the device state encrypted under it. Sign-out deletes both.

const STORE = 'kv';

function open(name) {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function tx(db, mode, fn) {
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const result = fn(t.objectStore(STORE));
    t.oncomplete = () => resolve(result?.result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

export class Vault {
  #name;
  #db = null;

  constructor(role) {
    this.#name = `careseal-portal-${role}`;
  }

  async #database() {
    this.#db ??= await open(this.#name);
    return this.#db;
  }

  async #key() {
    const db = await this.#database();
    let key = await tx(db, 'readonly', (s) => s.get('key'));
    if (!key) {
      key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
      await tx(db, 'readwrite', (s) => s.put(key, 'key'));
    }
    return key;
  }

  /** The stored state object, or null when this browser has no device yet. */
  async load() {
    const db = await this.#database();
    const sealed = await tx(db, 'readonly', (s) => s.get('state'));
    if (!sealed) return null;
    const key = await this.#key();
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: sealed.iv }, key, sealed.data);
    return JSON.parse(new TextDecoder().decode(plain));
  }

  /** Encrypts and stores the state object. */
  async save(state) {
    const key = await this.#key();
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const data = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, new TextEncoder().encode(JSON.stringify(state)));
    const db = await this.#database();
    await tx(db, 'readwrite', (s) => s.put({ iv, data }, 'state'));
  }

  /** Deletes the key and the state. */
  async wipe() {
    this.#db?.close();
    this.#db = null;
    await new Promise((resolve, reject) => {
      const request = indexedDB.deleteDatabase(this.#name);
      request.onsuccess = () => resolve();
      request.onerror = () => reject(request.error);
      request.onblocked = () => resolve();
    });
  }
}
