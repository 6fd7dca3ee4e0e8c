// One device of the portal: its CareSeal account and sessions, the relay
// client, and the decrypted history — all persisted encrypted in the vault,
// all dropped from memory by lock().
import { Account, PublicIdentity, Session, sessionIdOf } from '/pkg/index.js';
import { Relay, b64 } from './relay.js';

const PREKEYS_LOW = 10;
const PREKEYS_BATCH = 20;

export class Device {
  #vault;
  #state;
  #account;
  #sessions; // [{ sid, peerDevice, session }]
  #key;
  relay;

  constructor(vault, state, account, sessions) {
    this.#vault = vault;
    this.#state = state;
    this.#account = account;
    this.#sessions = sessions;
    this.#key = b64.decode(state.storageKey);
    this.relay = new Relay(state.token);
  }

  /** Registers a new device through an invitation and publishes its prekeys. */
  static async register(vault, role, invitation, displayName) {
    const relay = new Relay();
    const registered = await relay.register(invitation, displayName);
    const account = new Account();
    account.generateOneTimePrekeys(PREKEYS_BATCH);
    relay.token = registered.token;
    await relay.publishPrekeys(account.prekeyBundle());
    const state = {
      version: 1,
      role: registered.role,
      displayName,
      userId: registered.userId,
      deviceId: registered.deviceId,
      token: registered.token,
      storageKey: b64.encode(crypto.getRandomValues(new Uint8Array(32))),
      history: [],
      verified: {},
      sessions: [],
    };
    const device = new Device(vault, state, account, []);
    await device.save();
    return device;
  }

  /** The device stored in this browser, or null. */
  static async restore(vault) {
    const state = await vault.load();
    if (!state) return null;
    const key = b64.decode(state.storageKey);
    const account = Account.import(key, b64.decode(state.account));
    const sessions = state.sessions.map((s) => ({
      sid: s.sid,
      peerDevice: s.peerDevice,
      session: Session.import(key, b64.decode(s.blob)),
    }));
    return new Device(vault, state, account, sessions);
  }

  get state() {
    return this.#state;
  }

  fingerprint() {
    return this.#account.publicIdentity().fingerprint();
  }

  /** Persists account, sessions and history (before anything is acknowledged or sent). */
  async save() {
    this.#state.account = b64.encode(this.#account.export(this.#key));
    this.#state.sessions = this.#sessions.map((s) => ({
      sid: s.sid,
      peerDevice: s.peerDevice,
      blob: b64.encode(s.session.export(this.#key)),
    }));
    await this.#vault.save(this.#state);
  }

  history(conversationId) {
    return this.#state.history.filter((m) => m.conversationId === conversationId);
  }

  async sendText(conversationId, peerDevice, text) {
    return this.#send(conversationId, peerDevice, { t: 'text', body: text });
  }

  async sendFile(conversationId, peerDevice, blobId, descriptor, name, size) {
    return this.#send(conversationId, peerDevice, { t: 'file', blob: blobId, descriptor: b64.encode(descriptor), name, size });
  }

  async #send(conversationId, peerDevice, payload) {
    let entry = this.#sessions.findLast((s) => s.peerDevice === peerDevice);
    if (!entry) {
      const bundle = await this.relay.fetchBundle(peerDevice);
      // A contact verified earlier pins its identity: a bundle for any other
      // key (a relay swapping keys) is refused with identity_mismatch.
      const verified = this.#state.verified[peerDevice];
      const expected = verified ? PublicIdentity.fromText(verified) : undefined;
      const session = Session.initiate(this.#account, bundle, expected);
      entry = { sid: session.sessionId, peerDevice, session };
      this.#sessions.push(entry);
    }
    const wire = entry.session.encrypt(JSON.stringify(payload));
    this.#state.history.push({ conversationId, from: 'me', peerDevice, at: Date.now(), ...payload });
    // The ratchet moved: persist before the ciphertext leaves.
    await this.save();
    await this.relay.post(conversationId, peerDevice, wire);
  }

  /** Fetches, decrypts and stores new envelopes, then acknowledges them. */
  async sync() {
    const { envelopes } = await this.relay.mailbox();
    if (envelopes.length === 0) return 0;
    let accepted = false;
    for (const envelope of envelopes) {
      const body = b64.decode(envelope.body);
      const base = { conversationId: envelope.conversationId, from: 'them', peerDevice: envelope.senderDevice, at: Date.now() };
      try {
        const sid = sessionIdOf(body);
        const entry = this.#sessions.find((s) => s.sid === sid);
        let text;
        if (entry) {
          text = entry.session.decryptText(body);
        } else {
          const result = this.#account.acceptSession(body);
          const session = result.takeSession();
          this.#sessions.push({ sid: session.sessionId, peerDevice: envelope.senderDevice, session });
          text = result.text();
          accepted = true;
        }
        const message = JSON.parse(text);
        if (message.t !== 'text' && message.t !== 'file') throw Object.assign(new Error('unknown message'), { code: 'unknown_message' });
        this.#state.history.push({ ...base, ...message });
      } catch (error) {
        this.#state.history.push({ ...base, t: 'error', code: error.code ?? 'invalid_message' });
      }
    }
    await this.save();
    await this.relay.acknowledge(envelopes.map((e) => e.id));
    if (accepted && this.#account.oneTimePrekeyCount < PREKEYS_LOW) {
      this.#account.generateOneTimePrekeys(PREKEYS_BATCH);
      await this.save();
      await this.relay.publishPrekeys(this.#account.prekeyBundle());
    }
    return envelopes.length;
  }

  /** The peer device's identity once a session exists, else null. */
  peerIdentity(peerDevice) {
    return this.#sessions.findLast((s) => s.peerDevice === peerDevice)?.session.peerIdentity() ?? null;
  }

  /** 60 digits: both fingerprints, sorted, so both sides see the same number. */
  safetyNumber(peerDevice) {
    const peer = this.peerIdentity(peerDevice);
    if (!peer) return null;
    const both = [this.fingerprint(), peer.fingerprint()].sort();
    return `${both[0]} ${both[1]}`;
  }

  async markVerified(peerDevice) {
    const peer = this.peerIdentity(peerDevice);
    if (!peer) return;
    this.#state.verified[peerDevice] = peer.toText();
    await this.save();
  }

  /** 'verified', 'changed' (verified earlier, key differs now) or 'unverified'. */
  verification(peerDevice) {
    const peer = this.peerIdentity(peerDevice);
    const known = this.#state.verified[peerDevice];
    if (!peer || !known) return 'unverified';
    return known === peer.toText() ? 'verified' : 'changed';
  }

  /** Drops every key and plaintext from memory (the vault keeps the encrypted state). */
  lock() {
    for (const entry of this.#sessions) entry.session.free();
    this.#sessions = [];
    this.#account.free();
    this.#account = null;
    this.#state = null;
    this.#key.fill(0);
    this.relay.token = null;
  }
}
