// The demo patient portal: one page per role (clinician.html, patient.html),
// each one device. Sign-in, conversations, chat, attachments through the
// worker, safety-number verification, the relay's view of the conversation,
// and an idle lock that drops every key and plaintext from memory.
import { Account, AttachmentWorker, describeAttachment } from '/pkg/index.js';
import qrcode from '/vendor/qrcode.js';
import { Device } from './device.js';
import { joinAsNewDevice, linkNewDevice } from './linking.js';
import { Vault } from './vault.js';
import { Relay, b64 } from './relay.js';

const $ = (id) => document.getElementById(id);
const role = document.body.dataset.role;
const vault = new Vault(role);
const files = new AttachmentWorker();
const params = new URLSearchParams(location.search);
const IDLE_MS = Number(params.get('idle') ?? 15 * 60) * 1000;

let device = null;
let current = null; // { conversation, peer: member }
let events = null;
let lastActivity = Date.now();
let syncing = Promise.resolve();

function status(text) {
  $('status').textContent = text;
}

function show(section) {
  for (const id of ['signin', 'joining', 'locked', 'app']) $(id).hidden = id !== section;
  $('sign-out').hidden = section !== 'app';
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children);
  return node;
}

// --- start, sign-in, sign-out -------------------------------------------

async function start() {
  try {
    device = await Device.restore(vault);
  } catch (error) {
    status(`Stored state could not be opened (${error.code ?? error.message}). Sign out to start over.`);
    show('signin');
    return;
  }
  const offer = new URLSearchParams(location.hash.slice(1)).get('link');
  if (!device && offer) {
    await join(offer);
    return;
  }
  if (!device) {
    const invitation = new URLSearchParams(location.hash.slice(1)).get('invite');
    if (invitation && $('invitation')) $('invitation').value = invitation;
    show('signin');
    status(role === 'clinician' ? 'Sign in as the demo clinician.' : 'Register with your invitation.');
    return;
  }
  await enter();
}

/** This browser becomes another device of a user, through a link shown on one of theirs. */
async function join(offer) {
  show('joining');
  status('Linking this device…');
  const ui = sasPrompt('join');
  try {
    const { registered, account, payload } = await joinAsNewDevice(new Relay(), offer, ui, () => {
      const made = new Account();
      made.generateOneTimePrekeys(20);
      return made;
    });
    device = await Device.fromLink(vault, registered, account, payload);
    history.replaceState(null, '', location.pathname + location.search);
    // The relay lets this device read conversations once the other device
    // has put it on the signed list; wait for that.
    status('Waiting for your other device to add this one…');
    await device.waitUntilListed();
    await enter();
  } catch (error) {
    status(`Linking failed: ${error.code ?? error.message}. Start again from your other device.`);
  } finally {
    ui.done();
  }
}

/**
 * The six-digit code both screens show during linking, and the person's
 * answer: `prefix` is 'link' (existing device) or 'join' (new device).
 */
function sasPrompt(prefix) {
  let answer;
  let cancelled = false;
  const answered = new Promise((resolve) => (answer = resolve));
  const onConfirm = () => answer(true);
  const onCancel = () => {
    cancelled = true;
    answer(false);
  };
  $(`${prefix}-confirm`).addEventListener('click', onConfirm);
  $(`${prefix}-cancel`).addEventListener('click', onCancel);
  return {
    cancelled: () => cancelled,
    sas(code) {
      $(`${prefix}-sas`).textContent = code;
      $(`${prefix}-sas-row`).hidden = false;
      $(`${prefix}-hint`).hidden = false;
      $(`${prefix}-confirm`).hidden = false;
      $(`${prefix}-confirm`).focus();
    },
    confirmed: () => answered,
    done() {
      $(`${prefix}-confirm`).removeEventListener('click', onConfirm);
      $(`${prefix}-cancel`).removeEventListener('click', onCancel);
      for (const id of ['sas-row', 'hint', 'confirm']) $(`${prefix}-${id}`).hidden = true;
    },
  };
}

$('signin-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = $('display-name').value.trim();
  if (!name) return;
  $('signin-button').disabled = true;
  try {
    let invitation = $('invitation')?.value.trim();
    if (role === 'clinician') {
      ({ invitation } = await new Relay().demoClinicianInvitation());
    }
    device = await Device.register(vault, role, invitation, name);
    history.replaceState(null, '', location.pathname + location.search);
    await enter();
  } catch (error) {
    status(`Could not register: ${error.code ?? error.message}`);
  } finally {
    $('signin-button').disabled = false;
  }
});

$('sign-out').addEventListener('click', async () => {
  events?.close();
  device?.lock();
  device = null;
  await vault.wipe();
  location.reload();
});

async function enter() {
  show('app');
  $('whoami').textContent = `${device.state.displayName} · device ${device.state.deviceId} · user fingerprint ${device.userFingerprint()}`;
  events = device.relay.events(() => sync());
  await sync();
  await refreshConversations();
  await device.contacts.refresh(device.state.userId).catch(() => {});
  renderDevices();
  status('Connected. Messages are end-to-end encrypted on this device.');
}

// --- this user's devices ----------------------------------------------------------

function renderDevices() {
  const list = $('devices');
  list.replaceChildren();
  for (const { deviceId, fingerprint, self } of device.devices()) {
    const item = el('li', {}, el('span', { textContent: `${self ? 'This device' : deviceId} · ${fingerprint}` }));
    if (!self) {
      const remove = el('button', { type: 'button', className: 'secondary remove-device', textContent: 'Remove' });
      remove.setAttribute('aria-label', `Remove device ${deviceId}`);
      remove.addEventListener('click', async () => {
        try {
          await device.removeDevice(deviceId);
          status(`Removed ${deviceId}: it can no longer read new messages.`);
        } catch (error) {
          status(`Could not remove the device: ${error.code ?? error.message}`);
        }
        renderDevices();
      });
      item.append(' ', remove);
    }
    list.append(item);
  }
}

$('link-device').addEventListener('click', async () => {
  $('link-device').disabled = true;
  $('link-panel').hidden = false;
  const ui = sasPrompt('link');
  try {
    const id = await linkNewDevice(device, {
      ...ui,
      offer(url) {
        const link = $('link-url');
        link.href = url;
        link.textContent = url;
        drawQr($('link-qr'), url);
      },
    });
    status(`Linked ${id}. It receives every message from now on.`);
  } catch (error) {
    status(`Linking stopped: ${error.code ?? error.message}`);
    // A device that joined the cancelled link is revoked.
    await device?.republishList().catch(() => {});
  } finally {
    ui.done();
    $('link-panel').hidden = true;
    $('link-device').disabled = false;
    renderDevices();
  }
});

/** Draws `text` as a QR code on `canvas` (qrcode-generator, error correction M). */
function drawQr(canvas, text) {
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const cell = 4;
  const margin = 4 * cell;
  const count = qr.getModuleCount();
  canvas.width = canvas.height = count * cell + 2 * margin;
  const g = canvas.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = '#000';
  for (let r = 0; r < count; r++) {
    for (let c = 0; c < count; c++) if (qr.isDark(r, c)) g.fillRect(margin + c * cell, margin + r * cell, cell, cell);
  }
}

// --- conversations and chat ----------------------------------------------

async function refreshConversations() {
  const { conversations } = await device.relay.conversations();
  // The relay says who is in a conversation: its members' lists are read and
  // pinned only from an invitation (contacts.js); see peerOf.
  const others = new Set(conversations.flatMap((c) => c.members.map((m) => m.userId)));
  others.delete(device.state.userId);
  for (const userId of others) await device.contacts.refresh(userId).catch(() => {});
  const list = $('conversations');
  list.replaceChildren();
  for (const conversation of conversations) {
    const peer = peerOf(conversation);
    if (!peer) continue;
    const button = el('button', { type: 'button', className: 'conversation', textContent: `${peer.displayName} (${peer.role})` });
    button.addEventListener('click', () => open(conversation, peer));
    list.append(el('li', {}, button));
  }
  if (!current && conversations.length > 0) {
    const first = conversations[0];
    const peer = peerOf(first);
    if (peer) open(first, peer);
  } else if (current) {
    render();
  }
  $('empty').hidden = conversations.length > 0;
}

/**
 * The one other member of a conversation. Conversations are one to one
 * until care teams (issue 12) bring signed membership: one the relay lists
 * with several others is not shown, so its order cannot choose whom this
 * device writes to.
 */
function peerOf(conversation) {
  const others = conversation.members.filter((m) => m.userId !== device.state.userId);
  return others.length === 1 ? others[0] : undefined;
}

async function open(conversation, peer) {
  current = { conversation, peer };
  $('chat-title').textContent = `Conversation with ${peer.displayName}`;
  render();
  // The peer's signed device list, checked against the key pinned for them.
  await device.contacts.refresh(peer.userId).catch((error) => status(`Could not read ${peer.displayName}’s devices: ${error.code ?? error.message}`));
  await device.save();
  render();
}

function render() {
  if (!current || !device) return;
  const list = $('messages');
  list.replaceChildren();
  for (const message of device.history(current.conversation.id)) {
    const item = el('li', { className: `message ${message.from}` });
    if (message.t === 'text') {
      item.append(el('p', { textContent: message.body }));
    } else if (message.t === 'gap') {
      item.classList.add('gap');
      item.append(el('p', { textContent: `${message.count} earlier message(s) have not arrived (yet).` }));
    } else if (message.t === 'file') {
      const button = el('button', { type: 'button', className: 'download-file', textContent: `Download ${message.name} (${message.size} bytes)` });
      button.addEventListener('click', () => download(message, item));
      item.append(el('p', { textContent: `Attachment: ${message.name}` }), button);
    } else {
      item.append(el('p', { className: 'error', textContent: `A message could not be decrypted (${message.code}).` }));
    }
    item.append(el('small', { textContent: senderLabel(message) }));
    list.append(item);
  }
  list.scrollTop = list.scrollHeight;
  renderVerification();
}

/**
 * Who a message is shown as from: attributed by the context inside its
 * ciphertext (senderUser), never by the relay's labels; a refused message
 * is from no one.
 */
function senderLabel(message) {
  if (message.t === 'error') return 'Refused: not from a verified device of this conversation';
  if (message.from === 'me') return message.senderDevice ? 'You, on another device' : 'You';
  const member = current.conversation.members.find((m) => m.userId === message.senderUser);
  return member?.displayName ?? 'Unknown sender';
}

function renderVerification() {
  const userId = current?.peer.userId;
  const number = userId ? device.contacts.safetyNumber(userId) : null;
  $('safety-number').textContent = number ?? 'Available once their device list has been read.';
  $('mark-verified').disabled = !number;
  const state = userId ? device.contacts.verification(userId) : 'unknown';
  const name = current?.peer.displayName ?? 'This contact';
  $('verified-state').textContent = {
    verified: 'Verified: you compared this number with the other person.',
    changed: `Warning: ${name}’s identity changed. Sending is blocked.`,
    invitation: 'Not verified yet; their key came with your invitation link. Compare the number to be sure.',
    registration: 'Not verified yet; their key matched the invitation you sent. Compare the number to be sure.',
    unknown: 'No key for this contact came from an invitation: nothing is sent to them and nothing from them is shown.',
  }[state];
  $('verified-state').className = `verified-${state === 'verified' || state === 'changed' ? state : 'unverified'}`;
  // A changed identity blocks sending until a person accepts it.
  const changed = state === 'changed';
  $('key-changed').hidden = !changed;
  $('send').disabled = changed;
  $('mark-verified').disabled = !number || changed;
  if (changed) {
    const wasVerified = device.state.verifiedUsers?.[userId];
    $('key-changed-text').textContent = wasVerified
      ? `${name}’s identity changed since you verified it. Do not send anything until you have compared the new safety number with them.`
      : `${name}’s identity changed. Sending is blocked until you confirm the change with them.`;
  }
  const problem = userId ? device.contacts.problem(userId) : undefined;
  if (problem) status(`${name}’s device list was refused (${problem}); messages go only to the devices verified before.`);
}

$('composer').addEventListener('submit', async (event) => {
  event.preventDefault();
  const text = $('message').value.trim();
  if (!text || !current) return;
  $('send').disabled = true;
  try {
    await device.sendText(current.conversation.id, current.peer, text);
    $('message').value = '';
    render();
  } catch (error) {
    status(`Could not send: ${error.code ?? error.message}`);
  } finally {
    $('send').disabled = false;
    // A refused device list (a changed key) shows, and blocks, at once.
    renderVerification();
  }
});

$('mark-verified').addEventListener('click', async () => {
  await device.markVerified(current.peer.userId);
  renderVerification();
});

$('accept-key').addEventListener('click', async () => {
  const name = current.peer.displayName;
  try {
    const accepted = await device.acceptKeyChange(current.peer.userId);
    status(
      accepted
        ? `${name}’s new identity is accepted. Compare the new safety number with them.`
        : `${name}’s new identity came with no invitation of yours; invite them again to accept it.`,
    );
  } catch (error) {
    status(`Could not accept the new identity: ${error.code ?? error.message}`);
  }
  renderVerification();
});

function sync() {
  syncing = syncing.then(async () => {
    if (!device) return;
    try {
      const count = await device.sync();
      await device.maintainPrekeys();
      // A message may come from a conversation this page has not listed yet
      // (a patient who just registered).
      if (count > 0) await refreshConversations();
    } catch (error) {
      status(`Sync failed: ${error.code ?? error.message}`);
    }
  });
  return syncing;
}
setInterval(() => device && sync(), 5000);

// --- attachments --------------------------------------------------------------

$('file').addEventListener('change', async () => {
  const file = $('file').files[0];
  if (!file || !current) return;
  try {
    const { file: encrypted, descriptor } = await files.encrypt(file, { onProgress: progress('Encrypting') });
    status('Uploading the encrypted file…');
    const { id } = await device.relay.uploadBlob(current.conversation.id, encrypted);
    await device.sendFile(current.conversation.id, current.peer, id, descriptor, file.name, file.size);
    $('file').value = '';
    status(`Sent ${file.name}, end-to-end encrypted.`);
    render();
  } catch (error) {
    status(`Could not send the file: ${error.code ?? error.message}`);
  }
});

async function download(message, item) {
  try {
    const descriptor = b64.decode(message.descriptor);
    status('Downloading the encrypted file…');
    const encrypted = await device.relay.downloadBlob(message.blob);
    const plain = await files.decrypt(encrypted, descriptor, { onProgress: progress('Decrypting') });
    const info = describeAttachment(descriptor);
    const link = el('a', { href: URL.createObjectURL(plain), download: info.name || 'attachment', className: 'save-file', textContent: `Save ${info.name} (verified)` });
    item.append(link);
    status(`${info.name}: every chunk, the length and the digest verified.`);
  } catch (error) {
    status(`The file was rejected: ${error.code ?? error.message}`);
  }
}

function progress(verb) {
  return (done, total) => {
    $('file-progress').max = total || 1;
    $('file-progress').value = done;
    status(`${verb}… ${Math.round((100 * done) / (total || 1))}%`);
  };
}

// --- invitations (clinicians) ----------------------------------------------------

async function showInvitation(forUser) {
  try {
    // The code is made on this device; the link carries it and this user's
    // key in its fragment, which browsers never send to the relay.
    const { link, expiresAt } = await device.invite(forUser);
    $('invite-link').replaceChildren(
      el('span', { textContent: 'Single-use link, valid until ' + new Date(expiresAt).toLocaleString() + ': ' }),
      el('a', { href: link, textContent: link, id: 'invite-url' }),
    );
  } catch (error) {
    status(`Could not create an invitation: ${error.code ?? error.message}`);
  }
}

$('invite')?.addEventListener('click', () => showInvitation());
$('reinvite')?.addEventListener('click', () => current && showInvitation(current.peer.userId));

// --- what the server sees ---------------------------------------------------------

$('refresh-server').addEventListener('click', async () => {
  if (!current) return;
  const { envelopes, blobs } = await device.relay.stored(current.conversation.id);
  const view = $('server-view');
  view.replaceChildren();
  view.append(el('p', { textContent: `${envelopes.length} queued envelope(s), ${blobs.length} attachment blob(s).` }));
  for (const e of envelopes) {
    view.append(el('pre', { className: 'cipher', textContent: `envelope ${e.id} → ${e.recipientDevice}\n${e.body.slice(0, 240)}…` }));
  }
  for (const b of blobs) {
    view.append(el('pre', { className: 'cipher', textContent: `blob ${b.id}, ${b.size} bytes, sha256 ${b.sha256.slice(0, 16)}…\n${atob(b.head).split('---')[0]}--- …` }));
  }
});

// --- idle lock ------------------------------------------------------------------

for (const type of ['pointerdown', 'keydown', 'wheel', 'touchstart']) {
  addEventListener(type, () => (lastActivity = Date.now()), { passive: true });
}
setInterval(() => {
  if (device && Date.now() - lastActivity > IDLE_MS) lock();
}, 1000);

function lock() {
  events?.close();
  events = null;
  device.lock();
  device = null;
  current = null;
  for (const id of ['messages', 'conversations', 'server-view', 'invite-link', 'devices']) $(id).replaceChildren();
  $('safety-number').textContent = '';
  $('whoami').textContent = '';
  show('locked');
  status('Locked after inactivity. Decrypted messages and keys were cleared from memory.');
}

$('unlock').addEventListener('click', async () => {
  lastActivity = Date.now();
  await start();
});

start();
