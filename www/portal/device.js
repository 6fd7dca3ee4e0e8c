// One device of the portal: its CareSeal account and sessions, the relay
// client, and the decrypted history — all persisted encrypted in the vault,
// all dropped from memory by lock().
import { Account, PublicIdentity, Session, StorageKey, sessionIdOf } from '/pkg/index.js';
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
    this.#key = storageKeyOf(state);
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
      storageKey: b64.encode(crypto.getRandomValues(new Uint8Array(32))), // wrapped by the vault
      history: [],
      verified: {},
      sessions: [],
      verifiedUsers: {},
    };
    const device = new Device(vault, state, account, []);
    await device.save();
    return device;
  }

  /** The device stored in this browser, or null. */
  static async restore(vault) {
    const state = await vault.load();
    if (!state) return null;
    const key = storageKeyOf(state);
    const account = Account.import(key, b64.decode(state.account));
    const sessions = state.sessions.map((s) => ({
      sid: s.sid,
      peerDevice: s.peerDevice,
      peerUser: s.peerUser,
      conversationId: s.conversationId,
      session: Session.import(key, b64.decode(s.blob)),
    }));
    key.free();
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
      peerUser: s.peerUser,
      conversationId: s.conversationId,
      blob: b64.encode(s.session.export(this.#key)),
    }));
    await this.#vault.save(this.#state);
  }

  history(conversationId) {
    return this.#state.history.filter((m) => m.conversationId === conversationId);
  }

  async sendText(conversationId, peer, peerDevice, text) {
    return this.#send(conversationId, peer, peerDevice, { t: 'text', body: text });
  }

  async sendFile(conversationId, peer, peerDevice, blobId, descriptor, name, size) {
    return this.#send(conversationId, peer, peerDevice, { t: 'file', blob: blobId, descriptor: b64.encode(descriptor), name, size });
  }

  async #send(conversationId, peer, peerDevice, payload) {
    let entry = this.#sessions.findLast((s) => s.peerDevice === peerDevice);
    if (!entry) {
      const bundle = await this.relay.fetchBundle(peerDevice);
      // A contact verified earlier pins its identity: a bundle for any other
      // key (a relay swapping keys, or listing a device of its own for a
      // verified contact) is refused with identity_mismatch.
      const verified = this.#state.verified[peerDevice];
      const expected = verified ? PublicIdentity.fromText(verified) : undefined;
      const session = Session.initiate(this.#account, bundle, expected);
      const pinned = this.#pinnedIdentities(peer.userId, peerDevice);
      if (pinned.length > 0 && !pinned.includes(session.peerIdentity().toText())) {
        session.free();
        throw Object.assign(new Error('this contact was verified with another key'), { code: 'identity_mismatch' });
      }
      entry = { sid: session.sessionId, peerDevice, peerUser: peer.userId, conversationId, session };
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
    let directory = null;
    for (const envelope of envelopes) {
      const body = b64.decode(envelope.body);
      const base = { conversationId: envelope.conversationId, from: 'them', peerDevice: envelope.senderDevice, at: Date.now() };
      try {
        const sid = sessionIdOf(body);
        const entry = this.#sessions.find((s) => s.sid === sid);
        let text;
        if (entry) {
          text = entry.session.decryptText(body);
          // Filed by the authenticated session, not by what the relay wrote
          // on the envelope: a relabelled message stays in its own thread.
          base.peerDevice = entry.peerDevice;
          base.conversationId = entry.conversationId ?? base.conversationId;
        } else {
          directory ??= await this.relay.conversations();
          const member = memberOwning(directory, envelope, this.#state.userId);
          // A first message starts a session only from a device the relay
          // lists for a member of that conversation, and only from an
          // identity this device may accept for that member: one verified
          // for them, else (trust on first use) none that differs from the
          // one it already has a session with on that device.
          const result = this.#account.acceptSessionIf(
            body,
            (initiator) => member !== null && this.#mayStartSession(member.userId, envelope.senderDevice, initiator),
          );
          const session = result.takeSession();
          this.#sessions.push({
            sid: session.sessionId,
            peerDevice: envelope.senderDevice,
            peerUser: member.userId,
            conversationId: envelope.conversationId,
            session,
          });
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

  /**
   * Rotates the signed prekey weekly (keeping the previous one for a week of
   * grace) and publishes the new bundle. Run after sync(), so waiting
   * messages to the old key are read first.
   */
  async maintainPrekeys() {
    const outcome = this.#account.maintainSignedPrekeys(Date.now());
    if (outcome === 'unchanged') return outcome;
    await this.save();
    if (outcome === 'rotated') await this.relay.publishPrekeys(this.#account.prekeyBundle());
    return outcome;
  }

  #mayStartSession(peerUser, peerDevice, initiator) {
    const pinned = this.#pinnedIdentities(peerUser, peerDevice);
    if (pinned.length > 0) return pinned.includes(initiator.toText());
    const known = this.peerIdentity(peerDevice);
    return !known || known.equals(initiator);
  }

  /** Identities verified for this user (on any device) or for this device. */
  #pinnedIdentities(peerUser, peerDevice) {
    const byUser = this.#state.verifiedUsers?.[peerUser] ?? [];
    const byDevice = this.#state.verified[peerDevice];
    return byDevice ? [...byUser, byDevice] : byUser;
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

  async markVerified(peerUser, peerDevice) {
    const peer = this.peerIdentity(peerDevice);
    if (!peer) return;
    this.#state.verified[peerDevice] = peer.toText();
    this.#state.verifiedUsers ??= {};
    const forUser = (this.#state.verifiedUsers[peerUser] ??= []);
    if (!forUser.includes(peer.toText())) forUser.push(peer.toText());
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
    this.#key.free();
    this.#key = null;
    this.relay.token = null;
  }
}

/** The state's storage key, copied into WebAssembly memory once; the decoded copy is wiped. */
function storageKeyOf(state) {
  const bytes = b64.decode(state.storageKey);
  try {
    return new StorageKey(bytes);
  } finally {
    bytes.fill(0);
  }
}

/** The member of the envelope's conversation whose devices include its sender, or null. */
function memberOwning({ conversations }, envelope, myUserId) {
  const conversation = conversations.find((c) => c.id === envelope.conversationId);
  const member = conversation?.members.find((m) => m.userId !== myUserId && m.devices.includes(envelope.senderDevice));
  return member ?? null;
}
