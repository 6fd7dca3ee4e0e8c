// The relay's HTTP API and event socket. Everything sent is ciphertext or
// routing metadata.

export const b64 = {
  encode(bytes) {
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  },
  decode(text) {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  },
};

export class RelayError extends Error {
  constructor(status, code) {
    super(`relay: ${code} (${status})`);
    this.status = status;
    this.code = code;
  }
}

export class Relay {
  constructor(token = null) {
    this.token = token;
  }

  async #call(method, path, body, raw = false) {
    const headers = {};
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let payload;
    if (body instanceof Blob) {
      payload = body;
      headers['Content-Type'] = 'application/octet-stream';
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
    const response = await fetch(path, { method, headers, body: payload });
    if (!response.ok) {
      const error = await response.json().catch(() => ({}));
      throw new RelayError(response.status, error.error ?? 'error');
    }
    return raw ? response.blob() : response.json();
  }

  demoClinicianInvitation() {
    return this.#call('POST', '/api/demo/clinician-invitation');
  }
  register(invitation, displayName) {
    return this.#call('POST', '/api/register', { invitation, displayName });
  }
  /** A patient invitation under the redemption token of a code this device made. */
  invite(redemptionToken, forUser) {
    return this.#call('POST', '/api/invitations', { redemptionToken, ...(forUser ? { forUser } : {}) });
  }
  /** Publishes this user's signed device list (with the registration proof, once). */
  publishDeviceList(userKey, list, registrationProof) {
    return this.#call('PUT', '/api/device-list', {
      userKey: b64.encode(userKey),
      list: b64.encode(list),
      ...(registrationProof ? { registrationProof: b64.encode(registrationProof) } : {}),
    });
  }
  /** A device invitation for this user, named by a link offer's id (linking a device). */
  linkInvite(offer) {
    return this.#call('POST', '/api/link/invitations', { redemptionToken: offer });
  }
  postLinkMessage(offer, body) {
    return this.#call('POST', '/api/link/messages', { offer, body: b64.encode(body) });
  }
  linkMessages(offer, after) {
    return this.#call('GET', `/api/link/messages?offer=${encodeURIComponent(offer)}&after=${after}`);
  }
  /** A user's signed device list as the relay serves it (a claim until verified). */
  deviceList(userId) {
    return this.#call('GET', `/api/users/${encodeURIComponent(userId)}/device-list`);
  }
  publishPrekeys(bundle) {
    return this.#call('PUT', '/api/prekeys', { bundle: b64.encode(bundle) });
  }
  async fetchBundle(deviceId) {
    const { bundle } = await this.#call('GET', `/api/devices/${encodeURIComponent(deviceId)}/bundle`);
    return b64.decode(bundle);
  }
  /** Every conversation of this user, read page by page (the relay pages every list). */
  async conversations() {
    const conversations = [];
    let after = null;
    for (;;) {
      const query = after === null ? '?limit=500' : `?limit=500&after=${encodeURIComponent(after)}`;
      const page = await this.#call('GET', `/api/conversations${query}`);
      conversations.push(...page.conversations);
      if (!page.next) return { conversations };
      after = page.next;
    }
  }
  post(conversationId, recipientDevice, body) {
    return this.#call('POST', `/api/conversations/${encodeURIComponent(conversationId)}/envelopes`, {
      recipientDevice,
      body: b64.encode(body),
    });
  }
  mailbox() {
    return this.#call('GET', '/api/mailbox');
  }
  acknowledge(ids) {
    return this.#call('POST', '/api/mailbox/ack', { ids });
  }
  uploadBlob(conversationId, blob) {
    return this.#call('POST', `/api/conversations/${encodeURIComponent(conversationId)}/blobs`, blob);
  }
  downloadBlob(id) {
    return this.#call('GET', `/api/blobs/${encodeURIComponent(id)}`, undefined, true);
  }
  stored(conversationId) {
    return this.#call('GET', `/api/conversations/${encodeURIComponent(conversationId)}/stored`);
  }

  /** Calls `onMail` whenever the relay says new envelopes arrived. */
  events(onMail) {
    const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/events`);
    socket.onopen = () => socket.send(this.token);
    socket.onmessage = ({ data }) => {
      if (JSON.parse(data).type === 'mail') onMail();
    };
    return socket;
  }
}
