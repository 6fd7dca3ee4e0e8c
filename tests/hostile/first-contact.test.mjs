// Hostile relay: Node clients of the packed package talk through the real
// relay binary, and the operator writes to its SQLite database directly. The
// operator injects a first message from its own identity labelled as the
// patient's device, replays the patient's real first message, and flips a bit
// of a relayed message. The clinician's client, which accepts a first message
// only from the identity it expects, refuses each with its own code, and the
// next genuine message still decrypts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { installPackage } from '../support/package.mjs';
import { operatorSql, startRelay, stopRelay } from '../support/relay.mjs';

function client(url, token) {
  return async (method, path, body) => {
    const response = await fetch(new URL(path, url), {
      method,
      headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
    return JSON.parse(text);
  };
}

const b64 = (bytes) => Buffer.from(bytes).toString('base64');
const unb64 = (text) => new Uint8Array(Buffer.from(text, 'base64'));

test('a hostile relay cannot start a session as a known contact, replay a first message or alter one', { timeout: 120_000 }, async () => {
  const installed = await installPackage();
  const dir = await mkdtemp(join(tmpdir(), 'careseal-hostile-'));
  const db = join(dir, 'relay.db');
  const log = [];
  const { child, url } = await startRelay(db, log);
  try {
    const { Account, Session, sessionIdOf } = await import(join(installed.dir, 'node_modules', 'careseal', 'node.js'));

    // Onboarding through invitations: a clinician, then a patient.
    const anyone = client(url);
    const { invitation: clinicianCode } = await anyone('POST', '/api/demo/clinician-invitation');
    const doctor = await anyone('POST', '/api/register', { invitation: clinicianCode, displayName: 'Dr. Rivera' });
    const asDoctor = client(url, doctor.token);
    const { invitation: patientCode } = await asDoctor('POST', '/api/invitations', {});
    const patient = await anyone('POST', '/api/register', { invitation: patientCode, displayName: 'Pat' });
    const asPatient = client(url, patient.token);
    const { conversations } = await asDoctor('GET', '/api/conversations');
    const conversationId = conversations[0].id;

    const doctorAccount = new Account();
    doctorAccount.generateOneTimePrekeys(5);
    await asDoctor('PUT', '/api/prekeys', { bundle: b64(doctorAccount.prekeyBundle()) });
    const patientAccount = new Account();
    // Compared out of band (the safety number): each knows the other's identity.
    const patientIdentity = patientAccount.publicIdentity();
    const doctorIdentity = doctorAccount.publicIdentity();

    // The clinician's client: routes by session id, and accepts a first
    // message only from the identity it expects for the patient.
    const sessions = new Map();
    async function doctorReceives() {
      const { envelopes } = await asDoctor('GET', '/api/mailbox');
      const results = [];
      for (const envelope of envelopes) {
        const body = unb64(envelope.body);
        try {
          const existing = sessions.get(sessionIdOf(body));
          if (existing) {
            results.push({ text: existing.decryptText(body) });
          } else {
            const accepted = doctorAccount.acceptSession(body, patientIdentity);
            const session = accepted.takeSession();
            sessions.set(session.sessionId, session);
            results.push({ text: accepted.text() });
          }
        } catch (error) {
          results.push({ code: error.code });
        }
      }
      await asDoctor('POST', '/api/mailbox/ack', { ids: envelopes.map((e) => e.id) });
      return results;
    }
    const post = (session, text) =>
      asPatient('POST', `/api/conversations/${conversationId}/envelopes`, { recipientDevice: doctor.deviceId, body: b64(session.encrypt(text)) });

    // The genuine first contact; the operator keeps a copy of it.
    const { bundle } = await asPatient('GET', `/api/devices/${doctor.deviceId}/bundle`);
    const toDoctor = Session.initiate(patientAccount, unb64(bundle), doctorIdentity);
    await post(toDoctor, 'Marker-hostile-1: my first message');
    const [[firstCopy]] = operatorSql(db, 'SELECT body FROM envelopes ORDER BY id DESC LIMIT 1');
    assert.deepEqual(await doctorReceives(), [{ text: 'Marker-hostile-1: my first message' }]);
    assert.deepEqual(operatorSql(db, 'SELECT count(*) FROM envelopes'), [[0]], 'deleted on acknowledgement');

    const inject = (body) =>
      operatorSql(db, 'INSERT INTO envelopes (conversation_id, sender_device, recipient_device, body, created_at) VALUES (?, ?, ?, ?, 0)', [
        conversationId,
        patient.deviceId,
        doctor.deviceId,
        `b64:${b64(body)}`,
      ]);
    // The operator takes the clinician's bundle from its database, starts a
    // session with its own identity and files the message as the patient's.
    const [[storedBundle]] = operatorSql(db, 'SELECT bundle FROM prekey_bundles WHERE device_id = ?', [doctor.deviceId]);
    const mallory = new Account();
    inject(Session.initiate(mallory, unb64(storedBundle)).encrypt('Marker-hostile-2: send my records elsewhere'));
    // It replays the patient's first message.
    inject(unb64(firstCopy));
    // And flips one bit of a genuine message in the mailbox.
    await post(toDoctor, 'Marker-hostile-3: genuine');
    const [[id, body]] = operatorSql(db, 'SELECT id, body FROM envelopes ORDER BY id DESC LIMIT 1');
    const flipped = unb64(body);
    flipped[flipped.length - 1] ^= 1;
    operatorSql(db, 'UPDATE envelopes SET body = ? WHERE id = ?', [`b64:${b64(flipped)}`, id]);

    assert.deepEqual(await doctorReceives(), [{ code: 'identity_mismatch' }, { code: 'replayed_message' }, { code: 'decrypt_failed' }]);
    assert.equal(sessions.size, 1, 'no session was added or replaced');
    assert.equal(doctorAccount.oneTimePrekeyCount, 4, 'the forged start consumed no one-time prekey');

    // Everything still works for the next genuine message.
    await post(toDoctor, 'Marker-hostile-4: next');
    assert.deepEqual(await doctorReceives(), [{ text: 'Marker-hostile-4: next' }]);

    // Even a client that lost its session (a new tab, say) refuses the
    // replayed first message: the account remembers its base key.
    sessions.clear();
    inject(unb64(firstCopy));
    assert.deepEqual(await doctorReceives(), [{ code: 'replayed_message' }]);
    assert.equal(sessions.size, 0);
  } finally {
    await stopRelay(child);
    await rm(dir, { recursive: true, force: true });
    await installed.remove();
  }
});
