// Linking a device (PROTOCOL.md §8.6) through the relay's link queue. The
// existing device shows an offer (a link and a QR code); the new device
// registers with a device invitation named by the offer, and the two swap
// the link messages. Both screens then show a six-digit code the person
// compares; only after they confirm on each does the existing device send
// the user key, pins and verifications, and the new device its identity,
// which the existing device adds to the user's signed device list.
import { ExistingDeviceLink, NewDeviceLink } from '/pkg/index.js';
import { b64 } from './relay.js';

const POLL_MS = 500;

/** The next link message of `offer` not sent by this device, waiting for it. */
async function nextMessage(relay, offer, myDevice, seen, cancelled) {
  for (;;) {
    if (cancelled()) throw Object.assign(new Error('cancelled'), { code: 'link_sas_rejected' });
    const after = seen.last ?? 0;
    const { messages } = await relay.linkMessages(offer, after);
    for (const message of messages) {
      seen.last = message.id;
      if (message.senderDevice !== myDevice) return b64.decode(message.body);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * The existing device's side. `ui` gets `offer(linkUrl, offerText)`,
 * `sas(code)` and returns from `confirmed()` a promise of true (codes match)
 * or false; resolves with the new device's id once it is on the list.
 */
export async function linkNewDevice(device, ui) {
  const link = ExistingDeviceLink.offer(Date.now());
  const offer = link.offerId();
  const seen = {};
  let cancelled = false;
  try {
    await device.relay.linkInvite(offer);
    const text = link.offerText();
    ui.offer(`${location.origin}${location.pathname}#link=${text}`, text);
    const me = device.state.deviceId;
    const stop = () => cancelled || ui.cancelled();
    const commit = await nextMessage(device.relay, offer, me, seen, stop);
    await device.relay.postLinkMessage(offer, link.acceptCommitment(commit, Date.now()));
    const reveal = await nextMessage(device.relay, offer, me, seen, stop);
    ui.sas(link.acceptReveal(reveal, Date.now()));
    if (!(await ui.confirmed())) {
      link.reject();
      throw Object.assign(new Error('the codes differ'), { code: 'link_sas_rejected' });
    }
    const payload = await device.linkPayload();
    await device.relay.postLinkMessage(offer, link.confirm(payload));
    payload.fill(0);
    const linked = link.receiveDevice(await nextMessage(device.relay, offer, me, seen, stop));
    const id = linked.deviceId;
    await device.addDevice(id, linked.identity);
    linked.free();
    return id;
  } finally {
    cancelled = true;
    link.free();
  }
}

/**
 * The new device's side, from the offer text it read. Registers a device
 * of the same user, runs the exchange, and returns `{ registered, account,
 * payload }` for `Device.fromLink`. `ui` as above, without `offer`.
 */
export async function joinAsNewDevice(relay, offerText, ui, makeAccount) {
  const link = NewDeviceLink.join(offerText, Date.now());
  try {
    const offer = link.offerId();
    const registered = await relay.register(offer, 'linked device');
    relay.token = registered.token;
    const account = makeAccount();
    await relay.publishPrekeys(account.prekeyBundle());
    const seen = {};
    const me = registered.deviceId;
    await relay.postLinkMessage(offer, link.commitment());
    const response = await nextMessage(relay, offer, me, seen, ui.cancelled);
    await relay.postLinkMessage(offer, link.acceptResponse(response, Date.now()));
    ui.sas(link.sas());
    if (!(await ui.confirmed())) {
      link.reject();
      throw Object.assign(new Error('the codes differ'), { code: 'link_sas_rejected' });
    }
    await relay.postLinkMessage(offer, link.confirm(registered.deviceId, account.publicIdentity()));
    const payload = link.receivePayload(await nextMessage(relay, offer, me, seen, ui.cancelled));
    return { registered, account, payload };
  } finally {
    link.free();
  }
}
