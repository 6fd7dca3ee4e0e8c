// Hostile relay, users and device lists: Node clients of the packed package
// talk through the real relay binary, and the operator writes to its SQLite
// database directly. Onboarding runs through an invitation link whose code
// the relay never sees; the clients pin each other's user keys from the link
// and the registration proof, not from the relay. Then the operator
// substitutes keys during onboarding, adds its own device to a pinned
// contact, rolls a device list back, and relabels a message's sender and
// conversation. Each is refused with its own code, nothing is encrypted to
// the operator's keys, and the next genuine list and message still work.
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
const codeOf = (fn) => {
  try {
    fn();
  } catch (error) {
    assert.equal(error.name, 'CareSealError');
    return error.code;
  }
  assert.fail('expected a CareSealError');
};

test('a hostile relay cannot substitute keys at onboarding, add a device, roll a list back or relabel a message', { timeout: 120_000 }, async () => {
  const installed = await installPackage();
  const dir = await mkdtemp(join(tmpdir(), 'careseal-hostile-lists-'));
  const db = join(dir, 'relay.db');
  const { child, url } = await startRelay(db, []);
  try {
    const careseal = await import(join(installed.dir, 'node_modules', 'careseal', 'node.js'));
    const {
      Account, DeviceList, InvitationCode, InvitationLink, MessageEnvelope, PinnedDeviceList, PublicUserIdentity, Session,
      UserIdentity, encodeTextMessage, safetyNumber, verifyRegistration,
    } = careseal;
    const anyone = client(url);
    const publishList = (as, userKey, list, proof) =>
      as('PUT', '/api/device-list', { userKey: b64(userKey.toBytes()), list: b64(list), ...(proof ? { registrationProof: b64(proof) } : {}) });
    const fetchList = async (as, userId) => {
      const served = await as('GET', `/api/users/${userId}/device-list`);
      return { ...served, userKey: PublicUserIdentity.fromBytes(unb64(served.userKey)), list: unb64(served.list) };
    };

    // The clinician: a device, a user key, a published list.
    const { invitation: clinicianCode } = await anyone('POST', '/api/demo/clinician-invitation');
    const doctor = await anyone('POST', '/api/register', { invitation: clinicianCode, displayName: 'Dr. Rivera' });
    const asDoctor = client(url, doctor.token);
    const doctorAccount = new Account();
    doctorAccount.generateOneTimePrekeys(5);
    await asDoctor('PUT', '/api/prekeys', { bundle: b64(doctorAccount.prekeyBundle()) });
    const doctorUser = UserIdentity.generate();
    await publishList(asDoctor, doctorUser.publicIdentity(), DeviceList.create(doctor.userId, doctor.deviceId, doctorAccount.publicIdentity()).sign(doctorUser));

    // The invitation: the code is made on the clinician's device; the relay
    // gets its one-way image; the link (sent out of band) carries the code
    // and the clinician's user key in its fragment.
    const code = InvitationCode.generate();
    await asDoctor('POST', '/api/invitations', { redemptionToken: code.redemptionToken() });
    const fragment = code.linkFragment(doctorUser.publicIdentity());

    // The patient opens the link, registers, publishes a list with the proof.
    const link = InvitationLink.parseFragment(`#${fragment}`);
    const patient = await anyone('POST', '/api/register', { invitation: link.redemptionToken(), displayName: 'Pat' });
    const asPatient = client(url, patient.token);
    const patientAccount = new Account();
    await asPatient('PUT', '/api/prekeys', { bundle: b64(patientAccount.prekeyBundle()) });
    const patientUser = UserIdentity.generate();
    const patientV1 = DeviceList.create(patient.userId, patient.deviceId, patientAccount.publicIdentity()).sign(patientUser);
    await publishList(asPatient, patientUser.publicIdentity(), patientV1, link.registrationProof(patientUser.publicIdentity(), patientV1));
    const { conversations } = await asDoctor('GET', '/api/conversations');
    const conversationId = conversations[0].id;

    // The operator substitutes the clinician's key and list: the patient pins
    // the key from the link, so the substituted list does not verify.
    const operator = UserIdentity.generate();
    const operatorAccount = new Account();
    const [[doctorRow, doctorKeyRow]] = operatorSql(db, 'SELECT list, user_key FROM device_lists WHERE user_id = ?', [doctor.userId]);
    const forgedDoctor = DeviceList.create(doctor.userId, doctor.deviceId, operatorAccount.publicIdentity()).sign(operator);
    operatorSql(db, 'UPDATE device_lists SET user_key = ?, list = ? WHERE user_id = ?', [`b64:${b64(operator.publicIdentity().toBytes())}`, `b64:${b64(forgedDoctor)}`, doctor.userId]);
    const servedDoctor = await fetchList(asPatient, doctor.userId);
    assert.equal(codeOf(() => PinnedDeviceList.pin(doctor.userId, link.inviter(), servedDoctor.list)), 'bad_device_list_signature');
    operatorSql(db, 'UPDATE device_lists SET user_key = ?, list = ? WHERE user_id = ?', [`b64:${doctorKeyRow}`, `b64:${doctorRow}`, doctor.userId]);
    const patientPinOfDoctor = PinnedDeviceList.pin(doctor.userId, link.inviter(), (await fetchList(asPatient, doctor.userId)).list);

    // The operator substitutes the patient's key and list (same proof): the
    // clinician's proof check fails, so it never pins the operator's key.
    const [[patientRow, patientKeyRow]] = operatorSql(db, 'SELECT list, user_key FROM device_lists WHERE user_id = ?', [patient.userId]);
    const forgedPatient = DeviceList.create(patient.userId, patient.deviceId, operatorAccount.publicIdentity()).sign(operator);
    operatorSql(db, 'UPDATE device_lists SET user_key = ?, list = ? WHERE user_id = ?', [`b64:${b64(operator.publicIdentity().toBytes())}`, `b64:${b64(forgedPatient)}`, patient.userId]);
    let served = await fetchList(asDoctor, patient.userId);
    assert.equal(codeOf(() => verifyRegistration(code, doctorUser.publicIdentity(), patient.userId, served.userKey, served.list, unb64(served.registrationProof))), 'invitation_proof_mismatch');
    operatorSql(db, 'UPDATE device_lists SET user_key = ?, list = ? WHERE user_id = ?', [`b64:${patientKeyRow}`, `b64:${patientRow}`, patient.userId]);
    served = await fetchList(asDoctor, patient.userId);
    let doctorPinOfPatient = verifyRegistration(code, doctorUser.publicIdentity(), patient.userId, served.userKey, served.list, unb64(served.registrationProof));
    assert.deepEqual(doctorPinOfPatient.list().deviceIds(), [patient.deviceId]);

    // Both sides compute the same per-user safety number.
    assert.equal(
      safetyNumber(doctorUser.publicIdentity(), doctorPinOfPatient.userKey()),
      safetyNumber(patientPinOfDoctor.userKey(), patientUser.publicIdentity()),
    );

    // The operator adds its own device to the patient's list, under its own
    // key (a changed identity, loudly) or under the patient's (a bad
    // signature). The clinician's pin still lists only the patient's device,
    // so nothing would be encrypted to the operator's device.
    const withOperator = DeviceList.verify(patientV1, patientUser.publicIdentity()).withDevice('d_operator', operatorAccount.publicIdentity()).sign(operator);
    for (const key of [operator.publicIdentity(), patientUser.publicIdentity()]) {
      operatorSql(db, 'UPDATE device_lists SET user_key = ?, list = ? WHERE user_id = ?', [`b64:${b64(key.toBytes())}`, `b64:${b64(withOperator)}`, patient.userId]);
      served = await fetchList(asDoctor, patient.userId);
      const expected = served.userKey.equals(patientUser.publicIdentity()) ? 'bad_device_list_signature' : 'user_key_changed';
      assert.equal(codeOf(() => doctorPinOfPatient.update(served.userKey, served.list)), expected);
    }
    assert.deepEqual(doctorPinOfPatient.list().deviceIds(), [patient.deviceId]);
    operatorSql(db, 'UPDATE device_lists SET user_key = ?, list = ? WHERE user_id = ?', [`b64:${patientKeyRow}`, `b64:${patientRow}`, patient.userId]);

    // The patient adds a phone (its relay account is written directly: the
    // linking endpoints come later) and publishes version 2; the clinician
    // accepts it. The operator then serves version 1 again: refused as stale.
    const phoneId = 'd_phone_hostile_test';
    const phoneToken = 'phone-token-for-this-test-only';
    const { createHash } = await import('node:crypto');
    operatorSql(db, 'INSERT INTO devices (id, user_id, token_hash, created_at) VALUES (?, ?, ?, 0)', [
      phoneId,
      patient.userId,
      `b64:${b64(createHash('sha256').update(phoneToken).digest())}`,
    ]);
    const phoneAccount = new Account();
    const patientV2 = DeviceList.verify(patientV1, patientUser.publicIdentity()).withDevice(phoneId, phoneAccount.publicIdentity()).sign(patientUser);
    await publishList(asPatient, patientUser.publicIdentity(), patientV2);
    served = await fetchList(asDoctor, patient.userId);
    const change = doctorPinOfPatient.update(served.userKey, served.list);
    assert.deepEqual([change.added(), change.removed()], [[phoneId], []]);
    doctorPinOfPatient = change.pinned();
    assert.equal(doctorPinOfPatient.list().version, 2n);
    operatorSql(db, 'UPDATE device_lists SET list = ?, version = ? WHERE user_id = ?', [`b64:${b64(patientV1)}`, `b64:${b64(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1]))}`, patient.userId]);
    served = await fetchList(asDoctor, patient.userId);
    assert.equal(codeOf(() => doctorPinOfPatient.update(served.userKey, served.list)), 'stale_device_list');
    assert.deepEqual(doctorPinOfPatient.list().deviceIds(), [patient.deviceId, phoneId].sort());
    // The pin survives a reload (stored bytes, verified again when read).
    doctorPinOfPatient = PinnedDeviceList.fromBytes(doctorPinOfPatient.toBytes());

    // The clinician's client accepts a first message only from an identity
    // on the patient's pinned list, and attributes it by the context inside
    // the ciphertext, checked against that list, never by the relay's labels.
    const pinnedIdentities = () => {
      const pinned = doctorPinOfPatient.list();
      return pinned.deviceIds().map((id) => pinned.identityOf(id));
    };
    const accept = (body) => {
      const allowed = pinnedIdentities();
      const accepted = doctorAccount.acceptSessionIf(body, (initiator) => allowed.some((identity) => identity.equals(initiator)));
      return { session: accepted.takeSession(), envelope: MessageEnvelope.fromBytes(accepted.plaintext) };
    };
    const { bundle } = await asPatient('GET', `/api/devices/${doctor.deviceId}/bundle`);
    const toDoctor = Session.initiate(patientAccount, unb64(bundle), patientPinOfDoctor.list().identityOf(doctor.deviceId));
    const send = (sequence, text, claimedDevice = patient.deviceId) =>
      asPatient('POST', `/api/conversations/${conversationId}/envelopes`, {
        recipientDevice: doctor.deviceId,
        body: b64(toDoctor.encrypt(encodeTextMessage(conversationId, patient.userId, claimedDevice, sequence, text))),
      });
    await send(1n, 'Marker-lists-1: biopsy results?');
    // The operator relabels it as the phone's, in another conversation.
    operatorSql(db, "UPDATE envelopes SET sender_device = ?, conversation_id = 'c_elsewhere'", [phoneId]);
    let { envelopes } = await asDoctor('GET', '/api/mailbox');
    assert.deepEqual([envelopes[0].senderDevice, envelopes[0].conversationId], [phoneId, 'c_elsewhere']);
    const firstBody = unb64(envelopes[0].body);

    // First, the operator's own first message, labelled as the patient's.
    const [[storedBundle]] = operatorSql(db, 'SELECT bundle FROM prekey_bundles WHERE device_id = ?', [doctor.deviceId]);
    const forged = Session.initiate(operatorAccount, unb64(storedBundle)).encrypt(
      encodeTextMessage(conversationId, patient.userId, patient.deviceId, 2n, 'Marker-lists-2: forged'),
    );
    assert.equal(codeOf(() => accept(forged)), 'identity_mismatch');

    // The genuine message: its context names the laptop and the real
    // conversation; checked against the relay's label it disagrees.
    const { session, envelope } = accept(firstBody);
    assert.deepEqual([envelope.senderDeviceId, envelope.conversationId, envelope.text()], [patient.deviceId, conversationId, 'Marker-lists-1: biopsy results?']);
    const pinned = doctorPinOfPatient;
    assert.equal(codeOf(() => envelope.check(session.peerIdentity(), pinned, 'c_elsewhere')), 'conversation_mismatch');
    let check = envelope.check(session.peerIdentity(), pinned, conversationId);
    assert.deepEqual([check.gap, check.late], [0n, false]);
    let window = check.window();
    assert.equal(codeOf(() => accept(firstBody)), 'replayed_message');

    // A patient client that claims, inside the ciphertext, to be its phone
    // is caught by the identity listed for the phone. Sequence 3 after 1
    // shows a gap; a late 2 would fill it once.
    await send(2n, 'Marker-lists-3: as the phone', phoneId);
    await send(3n, 'Marker-lists-4: next');
    ({ envelopes } = await asDoctor('GET', '/api/mailbox'));
    const bodies = envelopes.map((e) => unb64(e.body)).slice(1);
    const asPhone = MessageEnvelope.fromBytes(session.decrypt(bodies[0]));
    assert.equal(codeOf(() => asPhone.check(session.peerIdentity(), pinned, conversationId, window)), 'sender_identity_mismatch');
    const next = MessageEnvelope.fromBytes(session.decrypt(bodies[1]));
    check = next.check(session.peerIdentity(), pinned, conversationId, window);
    assert.deepEqual([next.text(), check.gap, check.late], ['Marker-lists-4: next', 1n, false]);
    window = check.window();
    assert.equal(codeOf(() => next.check(session.peerIdentity(), pinned, conversationId, window)), 'replayed_sequence');

    // Nothing in the relay's database or log holds a plaintext marker.
    const stored = operatorSql(db, "SELECT count(*) FROM envelopes WHERE CAST(body AS TEXT) LIKE '%Marker-lists%'");
    assert.deepEqual(stored, [[0]]);
  } finally {
    await stopRelay(child);
    await rm(dir, { recursive: true, force: true });
    await installed.remove();
  }
});
