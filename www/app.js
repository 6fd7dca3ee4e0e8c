// The demo page: a patient device seals a message to a clinic's intake
// inbox; the page shows exactly what the relay would store, and what happens
// when a single bit of it is changed in transit.
import { Identity, seal, inspectEnvelope } from '/pkg/index.js';

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
