use super::*;
use crate::error::{ErrorCode, LinkError};
use crate::identity::Identity;

const T0: u64 = 1_700_000_000_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Msg {
    Commit,
    Response,
    Reveal,
    Payload,
    Device,
}

fn new_device() -> PublicIdentity {
    Identity::from_seeds([0x71; 32], [0x72; 32])
        .public_identity()
        .clone()
}

fn flip(message: &mut [u8], which: Msg, tamper: Option<(Msg, usize)>) {
    if let Some((target, bit)) = tamper {
        if target == which {
            message[bit / 8] ^= 1 << (bit % 8);
        }
    }
}

/// A whole link, optionally with one bit of one message flipped in
/// transit; the first error's code, or the SAS both sides showed.
fn run(tamper: Option<(Msg, usize)>) -> Result<Sas, &'static str> {
    let code = |e: LinkError| e.code();
    let (existing, offer) = ExistingDeviceLink::offer(T0).map_err(code)?;
    let offer = LinkOffer::from_text(&offer.to_text()).map_err(code)?;
    let (joining, mut commit) = NewDeviceLink::join(&offer, T0 + 1).map_err(code)?;
    flip(&mut commit, Msg::Commit, tamper);
    let (existing, mut response) = existing.accept_commitment(&commit, T0 + 2).map_err(code)?;
    flip(&mut response, Msg::Response, tamper);
    let (joining, mut reveal) = joining.accept_response(&response, T0 + 3).map_err(code)?;
    flip(&mut reveal, Msg::Reveal, tamper);
    let existing = existing.accept_reveal(&reveal, T0 + 4).map_err(code)?;
    assert_eq!(existing.sas(), joining.sas(), "an honest exchange agrees");
    let sas = existing.sas();
    let (existing, joining) = (existing.confirm(), joining.confirm());

    let (existing, mut payload) = existing
        .send_payload(b"user identity pickle")
        .map_err(code)?;
    flip(&mut payload, Msg::Payload, tamper);
    let (joining, mut device) = joining
        .send_device("d_tablet", &new_device())
        .map_err(code)?;
    flip(&mut device, Msg::Device, tamper);
    let received = joining.receive_payload(&payload).map_err(code)?;
    assert_eq!(&received[..], b"user identity pickle");
    let linked = existing.receive_device(&device).map_err(code)?;
    assert_eq!(linked.device_id(), "d_tablet");
    assert_eq!(linked.identity(), &new_device());
    Ok(sas)
}

#[test]
fn an_honest_link_agrees_and_transfers_both_ways() {
    let sas = run(None).unwrap();
    assert!(sas.value() < 1_000_000);
    assert_eq!(sas.to_string().len(), 6);
    // Fresh ephemeral keys every time.
    let others: Vec<_> = (0..4).map(|_| run(None).unwrap()).collect();
    assert!(others.iter().any(|other| *other != sas));
}

#[test]
fn every_single_bit_flip_of_every_message_is_refused() {
    let lengths = [
        (Msg::Commit, 50),
        (Msg::Response, 50),
        (Msg::Reveal, 82),
        (Msg::Payload, 42 + 20 + 16),
        (Msg::Device, 42 + 9 + 65 + 16),
    ];
    for (which, len) in lengths {
        for bit in 0..len * 8 {
            let got = run(Some((which, bit))).unwrap_err();
            let expected = match (bit / 8, which) {
                (0, _) => "unsupported_version",
                (1, _) => "malformed_link_message",
                (2..=17, _) => "link_wrong_offer",
                (_, Msg::Commit | Msg::Response | Msg::Reveal) => "link_commitment_mismatch",
                (_, Msg::Payload | Msg::Device) => "link_decrypt_failed",
            };
            assert_eq!(got, expected, "{which:?} bit {bit}");
        }
    }
}

#[test]
fn a_relay_in_the_middle_cannot_match_both_sas() {
    // The relay has the offer (worst case: it photographed the QR code) and
    // joins as the new device towards the existing one, committing first.
    let mut differ = 0;
    for _ in 0..8 {
        let (existing, offer) = ExistingDeviceLink::offer(T0).unwrap();
        let (relay_as_new, relay_commit) = NewDeviceLink::join(&offer, T0).unwrap();
        let (existing, response) = existing.accept_commitment(&relay_commit, T0).unwrap();
        let (relay_side, relay_reveal) = relay_as_new.accept_response(&response, T0).unwrap();
        let existing = existing.accept_reveal(&relay_reveal, T0).unwrap();
        assert_eq!(existing.sas(), relay_side.sas());

        // The genuine new device must get the existing device's real key
        // (the offer names its hash), so its keys are out of the relay's reach.
        let (genuine, _commit) = NewDeviceLink::join(&offer, T0).unwrap();
        let (genuine, _reveal) = genuine.accept_response(&response, T0).unwrap();
        if genuine.sas() != existing.sas() {
            differ += 1;
        }
        // The users see different strings and reject.
        assert_eq!(genuine.reject().code(), "link_sas_rejected");
    }
    // Equal by chance with probability 10^-6 each.
    assert!(differ >= 7);
}

#[test]
fn a_relay_cannot_substitute_or_change_its_keys() {
    // Its own ephemeral key towards the new device: not the offer's.
    let (_existing, offer) = ExistingDeviceLink::offer(T0).unwrap();
    let (relay_existing, relay_offer) = ExistingDeviceLink::offer(T0).unwrap();
    let (genuine, commit) = NewDeviceLink::join(&offer, T0).unwrap();
    // The relay answers with its own key under the genuine offer id.
    let mut forged_commit = commit.clone();
    forged_commit[2..18].copy_from_slice(relay_offer.offer_id());
    let (_, mut forged) = relay_existing
        .accept_commitment(&forged_commit, T0)
        .unwrap();
    forged[2..18].copy_from_slice(offer.offer_id());
    assert_eq!(
        genuine.accept_response(&forged, T0).unwrap_err().code(),
        "link_commitment_mismatch"
    );

    // Having committed, the relay cannot reveal another key once it has
    // seen the genuine new device's.
    let (existing, offer) = ExistingDeviceLink::offer(T0).unwrap();
    let (_relay, relay_commit) = NewDeviceLink::join(&offer, T0).unwrap();
    let (existing, response) = existing.accept_commitment(&relay_commit, T0).unwrap();
    let (genuine, _) = NewDeviceLink::join(&offer, T0).unwrap();
    let (_, genuine_reveal) = genuine.accept_response(&response, T0).unwrap();
    assert_eq!(
        existing
            .accept_reveal(&genuine_reveal, T0)
            .err()
            .map(|e| e.code()),
        Some("link_commitment_mismatch")
    );
}

#[test]
fn offers_expire_five_minutes_after_they_are_made() {
    assert_eq!(LINK_OFFER_TTL_MS, 300_000);
    let limit = T0 + LINK_OFFER_TTL_MS;
    let (existing, offer) = ExistingDeviceLink::offer(T0).unwrap();
    assert_eq!(offer.expires_at_ms(), limit);
    assert_eq!(
        NewDeviceLink::join(&offer, limit + 1)
            .err()
            .map(|e| e.code()),
        Some("link_expired")
    );
    let (joining, commit) = NewDeviceLink::join(&offer, limit).unwrap();
    let (existing, response) = existing.accept_commitment(&commit, limit).unwrap();
    assert_eq!(
        joining
            .accept_response(&response, limit + 1)
            .err()
            .map(|e| e.code()),
        Some("link_expired")
    );

    let (existing_late, offer) = ExistingDeviceLink::offer(T0).unwrap();
    let (_, commit) = NewDeviceLink::join(&offer, T0).unwrap();
    assert_eq!(
        existing_late
            .accept_commitment(&commit, limit + 1)
            .err()
            .map(|e| e.code()),
        Some("link_expired")
    );
    drop(existing);

    let (existing, offer) = ExistingDeviceLink::offer(T0).unwrap();
    let (joining, commit) = NewDeviceLink::join(&offer, T0).unwrap();
    let (existing, response) = existing.accept_commitment(&commit, T0).unwrap();
    let (_, reveal) = joining.accept_response(&response, limit).unwrap();
    assert_eq!(
        existing
            .accept_reveal(&reveal, limit + 1)
            .err()
            .map(|e| e.code()),
        Some("link_expired")
    );
}

#[test]
fn messages_of_another_link_are_refused() {
    let (existing, _offer) = ExistingDeviceLink::offer(T0).unwrap();
    let (_, other_offer) = ExistingDeviceLink::offer(T0).unwrap();
    let (_, other_commit) = NewDeviceLink::join(&other_offer, T0).unwrap();
    assert_eq!(
        existing
            .accept_commitment(&other_commit, T0)
            .err()
            .map(|e| e.code()),
        Some("link_wrong_offer")
    );
}

#[test]
fn payload_bound_and_device_ids_are_enforced() {
    let confirmed = || {
        let (existing, offer) = ExistingDeviceLink::offer(T0).unwrap();
        let (joining, commit) = NewDeviceLink::join(&offer, T0).unwrap();
        let (existing, response) = existing.accept_commitment(&commit, T0).unwrap();
        let (joining, reveal) = joining.accept_response(&response, T0).unwrap();
        let existing = existing.accept_reveal(&reveal, T0).unwrap();
        (existing.confirm(), joining.confirm())
    };
    let (existing, joining) = confirmed();
    let largest = vec![7u8; MAX_LINK_PAYLOAD_LEN];
    let (_, message) = existing.send_payload(&largest).unwrap();
    let (joining, _) = joining.send_device("d_new", &new_device()).unwrap();
    assert_eq!(
        joining.receive_payload(&message).unwrap().len(),
        MAX_LINK_PAYLOAD_LEN
    );

    let (existing, joining) = confirmed();
    assert_eq!(
        existing
            .send_payload(&[0; MAX_LINK_PAYLOAD_LEN + 1])
            .err()
            .map(|e| e.code()),
        Some("link_payload_too_large")
    );
    assert_eq!(
        joining
            .send_device("d new", &new_device())
            .err()
            .map(|e| e.code()),
        Some("malformed_link_message")
    );

    let (existing, joining) = confirmed();
    let (existing, _) = existing.send_payload(b"x").unwrap();
    let (joining, _) = joining.send_device("d_new", &new_device()).unwrap();
    let (_, other) = confirmed();
    let (_, foreign) = other.send_device("d_new", &new_device()).unwrap();
    // Another link's message, relabelled with this offer id, fails to open.
    let _ = joining;
    let mut relabelled = foreign;
    let offer_id = existing_offer_id(&existing);
    relabelled[2..18].copy_from_slice(&offer_id);
    assert_eq!(
        existing.receive_device(&relabelled).err().map(|e| e.code()),
        Some("link_decrypt_failed")
    );
    let oversized = [&[1, b'D'][..], &[0; MAX_LINK_PAYLOAD_LEN + 58]].concat();
    let (existing, _) = confirmed();
    let (existing, _) = existing.send_payload(b"x").unwrap();
    assert_eq!(
        existing.receive_device(&oversized).err().map(|e| e.code()),
        Some("link_payload_too_large")
    );
}

fn existing_offer_id(existing: &ExistingAwaitingDevice) -> [u8; 16] {
    existing.keys_offer_id()
}

#[test]
fn offer_text_is_strict() {
    let (_, offer) = ExistingDeviceLink::offer(T0).unwrap();
    let text = offer.to_text();
    assert_eq!(text.len(), 78);
    assert_eq!(LinkOffer::from_text(&text).unwrap(), offer);
    let err = |t: &str| LinkOffer::from_text(t).unwrap_err().code();
    assert_eq!(err(""), "malformed_link_message");
    assert_eq!(err(&text[..77]), "malformed_link_message");
    assert_eq!(err(&format!("{text}A")), "malformed_link_message");
    let mut bytes = offer.to_bytes();
    bytes[0] = 2;
    assert_eq!(
        LinkOffer::from_bytes(&bytes).unwrap_err().code(),
        "unsupported_version"
    );
    bytes[0] = 1;
    bytes[1] = b'C';
    assert_eq!(
        LinkOffer::from_bytes(&bytes).unwrap_err().code(),
        "malformed_link_message"
    );
    assert_eq!(
        LinkOffer::from_bytes(&offer.to_bytes()[..57])
            .unwrap_err()
            .code(),
        "malformed_link_message"
    );
}

#[test]
fn protocol_md_states_the_limits() {
    use crate::test_support::protocol_md_limit;
    assert_eq!(
        protocol_md_limit("LINK_OFFER_TTL_MS"),
        usize::try_from(LINK_OFFER_TTL_MS).ok()
    );
    assert_eq!(
        protocol_md_limit("MAX_LINK_PAYLOAD_LEN"),
        Some(MAX_LINK_PAYLOAD_LEN)
    );
}

#[test]
fn each_link_error_has_its_own_code() {
    let mut codes: Vec<_> = LinkError::ALL.iter().map(ErrorCode::code).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), LinkError::ALL.len());
}
