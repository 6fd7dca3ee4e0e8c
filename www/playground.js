// The demo page: a patient device seals a message to a clinic's intake
// inbox; the page shows exactly what the relay would store, and what happens
// when a single bit of it is changed in transit.
import { AttachmentWorker, Identity, describeAttachment, seal, inspectEnvelope } from '/pkg/index.js';

const $ = (id) => document.getElementById(id);

const patient = Identity.generate();
const clinic = Identity.generate();
let lastEnvelope = null;

$('patient-fingerprint').textContent = patient.publicIdentity().fingerprint();
$('clinic-fingerprint').textContent = clinic.publicIdentity().fingerprint();
$('send').disabled = false;
setStatus('Ready. Keys were generated in this tab.');

$('compose').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('message').value;
  try {
    const recipient = clinic.publicIdentity();
    lastEnvelope = $('signed').checked ? patient.sealSigned(recipient, text) : seal(recipient, text);
    showServerView(lastEnvelope);
    deliver(lastEnvelope);
    $('tamper').disabled = false;
  } catch (error) {
    setStatus(`Could not seal: ${error.code ?? error.message}`);
  }
});

$('tamper').addEventListener('click', () => {
  if (!lastEnvelope) return;
  const tampered = lastEnvelope.slice();
  const bit = Math.floor(Math.random() * tampered.length * 8);
  tampered[bit >> 3] ^= 1 << (bit & 7);
  showServerView(tampered);
  deliver(tampered, `bit ${bit} flipped in transit`);
});

// Attachments: encrypt in a worker, show what the server stores, decrypt back.
const files = new AttachmentWorker();
let encrypted = null;
let downloadUrl = null;
$('file').addEventListener('change', () => {
  $('encrypt-file').disabled = $('file').files.length === 0;
});

$('encrypt-file').addEventListener('click', async () => {
  const file = $('file').files[0];
  if (!file) return;
  $('encrypt-file').disabled = true;
  $('decrypt-file').disabled = true;
  try {
    const result = await files.encrypt(file, { onProgress: showProgress('Encrypting') });
    encrypted = result;
    const info = describeAttachment(result.descriptor);
    const head = new Uint8Array(await result.file.slice(0, 160).arrayBuffer());
    $('file-header').textContent = new TextDecoder().decode(head).split('---')[0] + '--- …binary payload…';
    $('file-status').textContent =
      `Encrypted ${info.name} (${file.size} bytes) to ${info.ciphertextLength} bytes of age ciphertext, ` +
      `padded so the server sees only a size bucket. ` +
      `SHA-256 ${info.ciphertextSha256.slice(0, 16)}…, announced inside the encrypted session.`;
    $('decrypt-file').disabled = false;
  } catch (error) {
    $('file-status').textContent = `Could not encrypt: ${error.code ?? error.message}`;
  } finally {
    $('encrypt-file').disabled = false;
  }
});

$('decrypt-file').addEventListener('click', async () => {
  if (!encrypted) return;
  $('decrypt-file').disabled = true;
  try {
    const plain = await files.decrypt(encrypted.file, encrypted.descriptor, { onProgress: showProgress('Decrypting') });
    const info = describeAttachment(encrypted.descriptor);
    if (downloadUrl) URL.revokeObjectURL(downloadUrl);
    downloadUrl = URL.createObjectURL(plain);
    const link = $('download');
    link.href = downloadUrl;
    link.download = info.name || 'attachment';
    link.textContent = `Download ${info.name || 'attachment'} (${plain.size} bytes, verified)`;
    link.hidden = false;
    $('file-status').textContent =
      'Decrypted: the header matched the descriptor, then every chunk, the final chunk, the padding, the length and the digest verified.';
  } catch (error) {
    $('file-status').textContent = `Rejected: ${error.code ?? error.message}`;
  } finally {
    $('decrypt-file').disabled = false;
  }
});

function showProgress(verb) {
  return (done, total) => {
    $('file-progress').max = total || 1;
    $('file-progress').value = done;
    $('file-status').textContent = `${verb}… ${Math.round((100 * done) / (total || 1))}%`;
  };
}

function showServerView(envelope) {
  const summary = inspectSafely(envelope);
  const rows = summary
    ? [
        ['Format version', summary.version],
        ['Recipient hint', summary.recipientHint],
        ['Ephemeral key', `${summary.ephemeralKey.slice(0, 24)}…`],
        ['Ciphertext', `${summary.ciphertextLen} bytes (padded bucket)`],
        ['Total', `${summary.totalLen} bytes`],
      ]
    : [['Envelope', `${envelope.length} bytes, unreadable header`]];
  $('summary').replaceChildren(
    ...rows.flatMap(([k, v]) => [el('dt', String(k)), el('dd', String(v))]),
  );
  $('ciphertext').value = toBase64(envelope);
}

function inspectSafely(envelope) {
  try {
    return inspectEnvelope(envelope);
  } catch {
    return null;
  }
}

function deliver(envelope, note) {
  const item = el('article', '');
  item.className = 'message';
  try {
    const opened = clinic.open(envelope);
    const sender = opened.sender;
    item.append(
      el('p', opened.text()),
      el('p', sender ? `Signed by ${sender.fingerprint()}` : 'Anonymous sender', 'muted'),
    );
    item.classList.add('ok');
    setStatus('Delivered and verified.');
  } catch (error) {
    item.append(
      el('p', `Rejected: ${error.code}`),
      el('p', note ? `(${note}) — nothing was shown or kept.` : 'Nothing was shown or kept.', 'muted'),
    );
    item.classList.add('rejected');
    setStatus(`The clinic's device rejected the envelope: ${error.code}.`);
  }
  const inbox = $('inbox');
  inbox.querySelector('p.muted:only-child')?.remove();
  inbox.prepend(item);
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  node.textContent = text;
  if (className) node.className = className;
  return node;
}

function setStatus(text) {
  $('status').textContent = text;
}

function toBase64(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}
