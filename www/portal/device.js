// One device of the portal: its CareSeal account, its user's key, its
// sessions, its contacts' pinned device lists, the relay client and the
// decrypted history — all persisted encrypted in the vault, all dropped from
// memory by lock(). Messages go to users (every device on their signed list)
// and are filed by the context inside their ciphertext.
import {
  Account, DeviceList, InvitationCode, InvitationLink, MessageEnvelope, Session, StorageKey, UserIdentity, encodeTextMessage, sessionIdOf,
} from '/pkg/index.js';
import { Contacts } from './contacts.js';
import { Relay, b64 } from './relay.js';

const PREKEYS_LOW = 10;
const PREKEYS_BATCH = 20;

export class Device {
  #vault;
  #state;
  #account;
  #user;
  #sessions; // [{ sid, peerDevice, session }]
  #key;
  contacts;
  relay;

  constructor(vault, state, account, user, sessions) {
    this.#vault = vault;
    this.#state = state;
    this.#account = account;
    this.#user = user;
    this.#sessions = sessions;
    this.#key = storageKeyOf(state);
    this.relay = new Relay(state.token);
    this.contacts = new Contacts(state, this.relay);
  }

  /**
   * Registers a new device through an invitation: a clinician's with the
   * relay-made demo code, a patient's with the link fragment (the code and
   * the inviting clinician's user key, never sent to the relay). Makes the
   * user key, publishes the prekeys and the first signed device list (with
   * the registration proof, for a patient).
   */
  static async register(vault, role, invitation, displayName) {
    const relay = new Relay();
    const link = role === 'patient' ? InvitationLink.parseFragment(invitation) : null;
    const registered = await relay.register(link ? link.redemptionToken() : invitation, displayName);
    const account = new Account();
    account.generateOneTimePrekeys(PREKEYS_BATCH);
    const user = UserIdentity.generate();
    const list = DeviceList.create(registered.userId, registered.deviceId, account.publicIdentity()).sign(user);
    const proof = link ? link.registrationProof(user.publicIdentity(), list) : undefined;
    const state = {
      version: 2,
      role: registered.role,
      displayName,
      userId: registered.userId,
      deviceId: registered.deviceId,
      token: registered.token,
      storageKey: b64.encode(crypto.getRandomValues(new Uint8Array(32))), // wrapped by the vault
      userKey: user.publicIdentity().toText(),
      inviterKey: link ? link.inviter().toText() : undefined,
      history: [],
      sessions: [],
      sequences: {},
      windows: {},
    };
    link?.free();
    const device = new Device(vault, state, account, user, []);
    // Saved before anything is published: a crash leaves keys, not a
    // published device whose keys were lost.
    await device.save();
    await device.relay.publishPrekeys(account.prekeyBundle());
    await device.relay.publishDeviceList(user.publicIdentity().toBytes(), list, proof);
    await device.contacts.refresh(registered.userId);
    await device.save();
    return device;
  }

  /**
   * A device linked to an existing user (linking.js): its relay account, its
   * new account, and the payload the existing device sent through the
   * confirmed link: the user key, pins and verifications. History is not
   * moved: a linked device shows the conversation from its link on.
   */
  static async fromLink(vault, registered, account, payload) {
    const data = JSON.parse(new TextDecoder().decode(payload));
    payload.fill(0);
    const transfer = new StorageKey(b64.decode(data.user.key));
    const user = UserIdentity.import(transfer, b64.decode(data.user.blob));
    transfer.free();
    const state = {
      version: 2,
      role: registered.role,
      displayName: data.displayName,
      userId: registered.userId,
      deviceId: registered.deviceId,
      token: registered.token,
      storageKey: b64.encode(crypto.getRandomValues(new Uint8Array(32))),
      userKey: user.publicIdentity().toText(),
      inviterKey: data.inviterKey,
      pins: data.pins,
      pinOrigins: data.pinOrigins,
      verifiedUsers: data.verifiedUsers,
      keyChanged: data.keyChanged,
      pendingCodes: data.pendingCodes,
      history: [],
      sessions: [],
      sequences: {},
      windows: {},
    };
    if (state.userKey !== data.userKey || registered.userId !== data.userId) {
      throw Object.assign(new Error('the linked user does not match'), { code: 'link_decrypt_failed' });
    }
    const device = new Device(vault, state, account, user, []);
    await device.save();
    return device;
  }

  /** The device stored in this browser, or null. */
  static async restore(vault) {
    const state = await vault.load();
    if (!state) return null;
    if (state.version !== 2) throw Object.assign(new Error('stored by an older portal'), { code: 'unsupported_version' });
    const key = storageKeyOf(state);
    const account = Account.import(key, b64.decode(state.account));
    const user = UserIdentity.import(key, b64.decode(state.user));
    const sessions = state.sessions.map((s) => ({
      sid: s.sid,
      peerDevice: s.peerDevice,
      session: Session.import(key, b64.decode(s.blob)),
    }));
    key.free();
    return new Device(vault, state, account, user, sessions);
  }

  get state() {
    return this.#state;
  }

  fingerprint() {
    return this.#account.publicIdentity().fingerprint();
  }

  /** The user key's fingerprint (the user's half of every safety number). */
  userFingerprint() {
    return this.#user.publicIdentity().fingerprint();
  }

  /** Persists account, user key, sessions, pins and history (before anything is acknowledged or sent). */
  async save() {
    this.#state.account = b64.encode(this.#account.export(this.#key));
    this.#state.user = b64.encode(this.#user.export(this.#key));
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

  /** What a newly linked device of this user receives (sealed by the link): user key, pins, verifications. */
  async linkPayload() {
    const transfer = StorageKey.generate();
    const blob = this.#user.export(transfer);
    const payload = {
      userId: this.#state.userId,
      displayName: this.#state.displayName,
      userKey: this.#state.userKey,
      inviterKey: this.#state.inviterKey,
      user: { key: b64.encode(transfer.toBytes()), blob: b64.encode(blob) },
      pins: this.#state.pins,
      pinOrigins: this.#state.pinOrigins,
      verifiedUsers: this.#state.verifiedUsers,
      keyChanged: this.#state.keyChanged,
      pendingCodes: this.#state.pendingCodes,
    };
    transfer.free();
    return new TextEncoder().encode(JSON.stringify(payload));
  }

  /** Adds a linked device to this user's signed device list and publishes it. */
  async addDevice(deviceId, identity) {
    await this.#publishList((list) => list.withDevice(deviceId, identity));
  }

  /**
   * Publishes this user's current list again: the relay revokes any live
   * device of the user the list leaves off (one that joined through a link
   * that was then cancelled or failed).
   */
  async republishList() {
    const own = await this.contacts.refresh(this.#state.userId);
    await this.relay.publishDeviceList(this.#user.publicIdentity().toBytes(), own.signedBytes());
  }

  /** Removes a device from this user's list; the relay revokes it and peers stop encrypting to it. */
  async removeDevice(deviceId) {
    await this.#publishList((list) => list.withoutDevice(deviceId));
  }

  async #publishList(change) {
    const own = await this.contacts.refresh(this.#state.userId);
    const current = own.list();
    const next = change(current);
    const signed = next.sign(this.#user);
    current.free();
    next.free();
    await this.relay.publishDeviceList(this.#user.publicIdentity().toBytes(), signed);
    await this.contacts.refresh(this.#state.userId);
    await this.save();
  }

  /** Resolves once this device is on its user's signed list (after linking). */
  async waitUntilListed(timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const own = await this.contacts.refresh(this.#state.userId);
      const list = own?.list();
      const listed = list?.deviceIds().includes(this.#state.deviceId);
      list?.free();
      if (listed) {
        await this.save();
        return;
      }
      if (Date.now() > deadline) throw Object.assign(new Error('not listed'), { code: 'not_listed' });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** This user's devices on the pinned list: `[{ deviceId, fingerprint, self }]`. */
  devices() {
    const list = this.contacts.pin(this.#state.userId)?.list();
    if (!list) return [];
    try {
      return list.deviceIds().map((deviceId) => {
        const identity = list.identityOf(deviceId);
        const fingerprint = identity.fingerprint();
        identity.free();
        return { deviceId, fingerprint, self: deviceId === this.#state.deviceId };
      });
    } finally {
      list.free();
    }
  }

  /**
   * Clinicians: a patient invitation whose code this device made; returns the
   * link. With `forUser`, invites that patient again after they lost every
   * device: they start over with a new user key, which this device will
   * show as a changed identity until a person accepts it.
   */
  async invite(forUser) {
    const code = InvitationCode.generate();
    try {
      const { expiresAt } = await this.relay.invite(code.redemptionToken(), forUser);
      // Kept to check the registration: bound to the patient it re-invites
      // (if any) and to its expiry, so it cannot vouch for anyone else.
      this.#state.pendingCodes.push({ code: code.toText(), forUser: forUser ?? null, expiresAt });
      await this.save();
      const link = `${location.origin}/patient.html#invite=${code.linkFragment(this.#user.publicIdentity())}`;
      return { link, expiresAt };
    } finally {
      code.free();
    }
  }

  async sendText(conversationId, peer, text) {
    return this.#send(conversationId, peer, { t: 'text', body: text });
  }

  async sendFile(conversationId, peer, blobId, descriptor, name, size) {
    return this.#send(conversationId, peer, { t: 'file', blob: blobId, descriptor: b64.encode(descriptor), name, size });
  }

  /**
   * Sends to a user, not a device: to every device on the peer's pinned
   * list and this user's other devices, never to a device only the relay
   * names, and not at all while the peer's key changed unaccepted.
   */
  async #send(conversationId, peer, payload) {
    const theirs = await this.contacts.refresh(peer.userId);
    const own = await this.contacts.refresh(this.#state.userId);
    if (this.contacts.keyChanged(peer.userId)) {
      throw Object.assign(new Error('the contact’s identity changed'), { code: 'user_key_changed' });
    }
    if (!theirs || !own) throw Object.assign(new Error('no verified device list'), { code: this.contacts.problem(peer.userId) ?? 'unknown_device' });
    const sequence = (this.#state.sequences[conversationId] ?? 0) + 1;
    this.#state.sequences[conversationId] = sequence;
    const plaintext = encodeTextMessage(conversationId, this.#state.userId, this.#state.deviceId, BigInt(sequence), JSON.stringify(payload));
    const wires = [];
    for (const target of own.recipientDevices(theirs, this.#state.deviceId)) {
      const session = await this.#sessionTo(target.deviceId, target.identity);
      wires.push([target.deviceId, session.encrypt(plaintext)]);
      target.free();
    }
    plaintext.fill(0);
    this.#state.history.push({ conversationId, from: 'me', senderUser: this.#state.userId, at: Date.now(), ...payload });
    // The ratchets moved: persist before the ciphertexts leave.
    await this.save();
    for (const [deviceId, wire] of wires) await this.relay.post(conversationId, deviceId, wire);
  }

  /** The session with the device `deviceId` whose identity is `identity`, started if needed. */
  async #sessionTo(deviceId, identity) {
    const existing = this.#sessions.findLast((s) => s.peerDevice === deviceId && s.session.peerIdentity().equals(identity));
    if (existing) return existing.session;
    const bundle = await this.relay.fetchBundle(deviceId);
    // A bundle of any other identity than the pinned list's is refused.
    const session = Session.initiate(this.#account, bundle, identity);
    this.#sessions.push({ sid: session.sessionId, peerDevice: deviceId, session });
    return session;
  }

  /** Fetches, decrypts, attributes and stores new envelopes, then acknowledges them. */
  async sync() {
    const { envelopes } = await this.relay.mailbox();
    if (envelopes.length === 0) return 0;
    let accepted = false;
    let directory = null;
    for (const envelope of envelopes) {
      const body = b64.decode(envelope.body);
      const base = { conversationId: envelope.conversationId, from: 'them', at: Date.now() };
      try {
        directory ??= await this.relay.conversations();
        const sid = sessionIdOf(body);
        let entry = this.#sessions.find((s) => s.sid === sid);
        let plaintext;
        if (entry) {
          plaintext = entry.session.decrypt(body);
        } else {
          // A first message starts a session only from an identity on the
          // pinned list of a member of one of this user's conversations
          // (this user's own devices included).
          const members = new Set([this.#state.userId]);
          for (const c of directory.conversations) for (const m of c.members) members.add(m.userId);
          for (const userId of members) await this.contacts.refresh(userId);
          let listed = null;
          const result = this.#account.acceptSessionIf(body, (initiator) => {
            listed = this.contacts.listedDevice([...members], initiator);
            return listed !== null;
          });
          const session = result.takeSession();
          entry = { sid: session.sessionId, peerDevice: listed.deviceId, session };
          this.#sessions.push(entry);
          plaintext = result.plaintext;
          accepted = true;
        }
        const message = await this.#attribute(plaintext, entry.session, directory);
        this.#state.history.push(...message);
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
   * Files a decrypted message by the context inside its ciphertext, checked
   * against the session's identity and the sender's pinned list; the relay's
   * labels are not used. Returns the history entries (a gap note first).
   */
  async #attribute(plaintext, session, directory) {
    const envelope = MessageEnvelope.fromBytes(plaintext);
    plaintext.fill(0);
    try {
      const conversation = directory.conversations.find((c) => c.id === envelope.conversationId);
      const sender = envelope.senderUserId;
      if (!conversation?.members.some((m) => m.userId === sender)) {
        throw Object.assign(new Error('not a member'), { code: 'conversation_mismatch' });
      }
      let pinned = this.contacts.pin(sender);
      const listed = pinned?.list();
      if (!listed?.identityOf(envelope.senderDeviceId)) {
        // A device added since the pin was last read: read the list again.
        pinned = await this.contacts.refresh(sender);
      }
      listed?.free();
      if (!pinned) throw Object.assign(new Error('no pinned list'), { code: 'sender_not_on_device_list' });
      const key = `${envelope.conversationId}/${envelope.senderDeviceId}`;
      const stored = this.#state.windows[key];
      const remote = session.peerIdentity();
      const check = envelope.check(remote, pinned, envelope.conversationId, stored ? b64.decode(stored) : undefined);
      remote.free();
      this.#state.windows[key] = b64.encode(check.window());
      const entry = {
        ...contentOf(JSON.parse(envelope.text())),
        // Who and where come from the checked context only, never from the
        // sender's own JSON.
        conversationId: envelope.conversationId,
        from: sender === this.#state.userId ? 'me' : 'them',
        senderUser: sender,
        senderDevice: envelope.senderDeviceId,
        at: Date.now(),
      };
      const gap = Number(check.gap);
      check.free();
      return gap > 0 ? [{ conversationId: envelope.conversationId, t: 'gap', count: gap, senderUser: sender, at: Date.now() }, entry] : [entry];
    } finally {
      envelope.free();
    }
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

  async markVerified(peerUser) {
    this.contacts.markVerified(peerUser);
    await this.save();
  }

  async acceptKeyChange(peerUser) {
    await this.contacts.acceptKeyChange(peerUser);
    await this.save();
  }

  /** Drops every key and plaintext from memory (the vault keeps the encrypted state). */
  lock() {
    for (const entry of this.#sessions) entry.session.free();
    this.#sessions = [];
    this.contacts.free();
    this.#account.free();
    this.#account = null;
    this.#user.free();
    this.#user = null;
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

/**
 * The content fields of a message's JSON payload, and nothing else: a text
 * (`body`) or a file (`blob`, `descriptor`, `name`, `size`), type-checked.
 */
function contentOf(payload) {
  const fail = () => {
    throw Object.assign(new Error('unknown message'), { code: 'unknown_message' });
  };
  if (payload?.t === 'text' && typeof payload.body === 'string') return { t: 'text', body: payload.body };
  if (payload?.t === 'file') {
    const { blob, descriptor, name, size } = payload;
    if (typeof blob !== 'string' || typeof descriptor !== 'string' || typeof name !== 'string' || !Number.isSafeInteger(size)) fail();
    return { t: 'file', blob, descriptor, name, size };
  }
  return fail();
}
