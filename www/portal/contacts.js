// Who is who, decided by keys this device already trusts, never by the
// relay: per user id, the user key pinned and the newest device list signed
// by it (PROTOCOL.md §8.3). A patient pins the inviting clinician's key from
// the invitation link; a clinician pins a patient only from the registration
// proof made with a code one of its devices generated. Nobody is pinned on
// the relay's word alone: a user the relay adds to a conversation, or a
// patient whose proof the relay withholds, gets no pin, so nothing is sent
// to them and nothing from them is shown. (Care teams, where users meet
// without an invitation between them, come with signed membership.) A list
// signed by another key blocks sending to that user until a person accepts
// it, which needs the same proof again (a new invitation).
import { PinnedDeviceList, PublicUserIdentity, safetyNumber, verifyRegistration, InvitationCode } from '/pkg/index.js';
import { b64 } from './relay.js';

export class Contacts {
  #state; // the device state: pins, pinOrigins, keyChanged, listProblems, verifiedUsers, inviterKey, pendingCodes
  #pins = new Map(); // userId -> PinnedDeviceList
  #relay;

  constructor(state, relay) {
    this.#state = state;
    this.#relay = relay;
    state.pins ??= {};
    state.pinOrigins ??= {};
    state.keyChanged ??= {};
    state.listProblems ??= {};
    state.verifiedUsers ??= {};
    state.pendingCodes ??= [];
    for (const [userId, bytes] of Object.entries(state.pins)) {
      this.#pins.set(userId, PinnedDeviceList.fromBytes(b64.decode(bytes)));
    }
  }

  /** The pin of `userId`, or undefined. */
  pin(userId) {
    return this.#pins.get(userId);
  }

  #keep(userId, pinned, origin) {
    this.#pins.get(userId)?.free();
    this.#pins.set(userId, pinned);
    this.#state.pins[userId] = b64.encode(pinned.toBytes());
    if (origin) this.#state.pinOrigins[userId] = origin;
  }

  /**
   * Reads `userId`'s device list from the relay and pins or updates it.
   * Returns the pin (possibly unchanged), or undefined if none could be made.
   */
  async refresh(userId, { replacing = false } = {}) {
    let served;
    try {
      served = await this.#relay.deviceList(userId);
    } catch (error) {
      if (error.status === 404) return this.pin(userId);
      throw error;
    }
    const claimedKey = PublicUserIdentity.fromBytes(b64.decode(served.userKey));
    const list = b64.decode(served.list);
    const pinned = this.pin(userId);
    try {
      if (pinned) {
        const change = pinned.update(claimedKey, list);
        this.#keep(userId, change.pinned());
        delete this.#state.listProblems[userId];
        return this.pin(userId);
      }
      const [made, origin] = this.#firstPin(userId, claimedKey, list, served.registrationProof, replacing);
      this.#keep(userId, made, origin);
      delete this.#state.listProblems[userId];
      return made;
    } catch (error) {
      if (error.code === 'user_key_changed') {
        this.#state.keyChanged[userId] = claimedKey.toText();
      } else {
        this.#state.listProblems[userId] = error.code ?? 'invalid_device_list';
      }
      return this.pin(userId);
    } finally {
      claimedKey.free();
    }
  }

  /** The first pin of a user, only from a source this device trusts. */
  #firstPin(userId, claimedKey, list, proof, replacing) {
    const own = this.#state.userId === userId;
    if (own) return [PinnedDeviceList.pin(userId, this.#ownKey(), list), 'own'];
    const refuse = (code) => {
      throw Object.assign(new Error('no trusted source for this user key'), { code });
    };
    if (this.#state.role === 'patient') {
      if (!this.#state.inviterKey) refuse('not_invited_by_this_user');
      // The inviting clinician: the key comes from the link, not the relay.
      const inviter = PublicUserIdentity.fromText(this.#state.inviterKey);
      const made = PinnedDeviceList.pin(userId, inviter, list);
      delete this.#state.inviterKey;
      return [made, 'invitation'];
    }
    // A clinician: a patient one of its devices invited. The proof must
    // verify with one of the unexpired codes it made for such a patient: a
    // new patient's code for a first pin, a code re-inviting exactly this
    // user when replacing a changed key.
    if (!proof) refuse('registration_proof_missing');
    const now = Date.now();
    this.#state.pendingCodes = this.#state.pendingCodes.filter((c) => typeof c === 'object' && c.expiresAt > now);
    const usable = this.#state.pendingCodes.filter((c) => (replacing ? c.forUser === userId : c.forUser === null || c.forUser === userId));
    for (const entry of usable) {
      const code = InvitationCode.fromText(entry.code);
      try {
        const made = verifyRegistration(code, this.#ownKey(), userId, claimedKey, list, b64.decode(proof));
        this.#state.pendingCodes = this.#state.pendingCodes.filter((c) => c !== entry);
        return [made, 'registration'];
      } catch {
        // Another invitation's code; try the next.
      } finally {
        code.free();
      }
    }
    return refuse('invitation_proof_mismatch');
  }

  #ownKey() {
    return PublicUserIdentity.fromText(this.#state.userKey);
  }

  /** Whether sending to `userId` is blocked by a changed user key. */
  keyChanged(userId) {
    return Boolean(this.#state.keyChanged[userId]);
  }

  /** A list problem other than a key change (a bad signature, a rollback), or undefined. */
  problem(userId) {
    return this.#state.listProblems[userId];
  }

  /**
   * Accepts a changed user key after the person confirmed it: pins it anew,
   * unverified, from the same trusted sources as a first pin (for a patient
   * invited again, the new registration proof). Without one the old pin
   * stays and sending stays blocked.
   */
  async acceptKeyChange(userId) {
    const previous = this.#pins.get(userId);
    const stored = this.#state.pins[userId];
    this.#pins.delete(userId);
    let pinned;
    try {
      pinned = await this.refresh(userId, { replacing: true });
    } finally {
      if (!pinned && previous) {
        // Nothing trusted replaced it: the old pin stays, sending stays blocked.
        this.#pins.set(userId, previous);
        this.#state.pins[userId] = stored;
      }
    }
    if (!pinned) return undefined;
    previous?.free();
    delete this.#state.keyChanged[userId];
    delete this.#state.verifiedUsers[userId];
    return pinned;
  }

  /** The 60-digit safety number of this user and `userId`, from the two user keys. */
  safetyNumber(userId) {
    const pinned = this.pin(userId);
    if (!pinned) return null;
    const theirs = pinned.userKey();
    const mine = this.#ownKey();
    try {
      return safetyNumber(mine, theirs);
    } finally {
      theirs.free();
      mine.free();
    }
  }

  markVerified(userId) {
    const pinned = this.pin(userId);
    if (pinned) this.#state.verifiedUsers[userId] = pinned.userKey().toText();
  }

  /** 'changed', 'verified', 'invitation', 'registration' or 'unknown'. */
  verification(userId) {
    if (this.keyChanged(userId)) return 'changed';
    const pinned = this.pin(userId);
    if (!pinned) return 'unknown';
    if (this.#state.verifiedUsers[userId] === pinned.userKey().toText()) return 'verified';
    return this.#state.pinOrigins[userId] ?? 'unknown';
  }

  /** Whether `identity` is on the pinned list of one of `userIds`; the device id it is listed under, or null. */
  listedDevice(userIds, identity) {
    for (const userId of userIds) {
      const list = this.pin(userId)?.list();
      if (!list) continue;
      try {
        for (const id of list.deviceIds()) {
          const listed = list.identityOf(id);
          const same = listed?.equals(identity);
          listed?.free();
          if (same) return { userId, deviceId: id };
        }
      } finally {
        list.free();
      }
    }
    return null;
  }

  free() {
    for (const pinned of this.#pins.values()) pinned.free();
    this.#pins.clear();
  }
}
