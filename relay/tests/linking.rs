//! Linking a device through the relay (`PROTOCOL.md` §8.6), over real
//! HTTP: the existing device invites a device of its own user under a token
//! derived from the offer, the new device registers with it, the two run
//! the link exchange through the per-exchange queue, and the existing
//! device publishes a signed list naming the new one. The invitation works
//! once and only for a while, the queue is bounded and each user sees only
//! their own exchanges.

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use careseal::linking::LinkOffer;
use careseal::{
    DeviceEntry, DeviceList, ExistingDeviceLink, Identity, NewDeviceLink, PinnedDeviceList,
    UserIdentity,
};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use support::*;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The relay-side name of an offer's exchange and its device invitation:
/// the offer id, base64url.
fn offer_name(offer: &LinkOffer) -> String {
    URL_SAFE_NO_PAD.encode(offer.offer_id())
}

async fn send(c: &Client, relay: &Relay, by: &Device, offer: &str, body: &[u8]) -> StatusCode {
    relay
        .call(
            c,
            Method::POST,
            "/api/link/messages",
            Some(&by.token),
            Some(json!({ "offer": offer, "body": STANDARD.encode(body) })),
        )
        .await
        .0
}

/// The messages of the exchange after id `after` that `by` did not send.
async fn receive(c: &Client, relay: &Relay, by: &Device, offer: &str) -> Vec<Vec<u8>> {
    let (status, v) = relay
        .call(
            c,
            Method::GET,
            format!("/api/link/messages?offer={offer}"),
            Some(&by.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["senderDevice"] != json!(by.device_id))
        .map(|m| STANDARD.decode(m["body"].as_str().unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn a_new_device_is_linked_through_the_relay_and_listed_by_the_existing_one() {
    let relay = Relay::start(temp_db("link-flow")).await;
    let c = client();
    let laptop = clinician(&c, &relay, "Dr Lee").await;
    let laptop_identity = Identity::generate().unwrap();
    let user = UserIdentity::generate().unwrap();
    let v1 = DeviceList::new(
        &laptop.user_id,
        1,
        vec![
            DeviceEntry::new(&laptop.device_id, laptop_identity.public_identity().clone()).unwrap(),
        ],
    )
    .unwrap();
    let put = |by: &Device, list: &DeviceList| {
        let signed = list.sign(&user);
        let (c, relay, by) = (c.clone(), &relay, by.clone());
        let user = &user;
        async move { put_list(&c, relay, &by, user, signed.as_bytes(), None).await }
    };
    assert_eq!(put(&laptop, &v1).await.0, StatusCode::OK);

    // The laptop shows an offer and invites a device of its user under it.
    let (existing, offer) = ExistingDeviceLink::offer(now()).unwrap();
    let name = offer_name(&offer);
    let (status, v) = relay
        .call(
            &c,
            Method::POST,
            "/api/link/invitations",
            Some(&laptop.token),
            Some(json!({ "redemptionToken": name })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");

    // The phone reads the offer off the screen and registers with it: a
    // device of the same user, with the user's role, and no new conversation.
    let offer = LinkOffer::from_text(&offer.to_text()).unwrap();
    let (status, v) = register(&c, &relay, &offer_name(&offer), "ignored").await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let phone = device_of(&v);
    assert_eq!(phone.user_id, laptop.user_id);
    assert_eq!(v["role"], json!("clinician"));
    let (status, v) = register(&c, &relay, &name, "again").await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::GONE, Some("invitation_used"))
    );

    // The exchange, every message through the relay.
    let (joining, commit) = NewDeviceLink::join(&offer, now()).unwrap();
    assert_eq!(
        send(&c, &relay, &phone, &name, &commit).await,
        StatusCode::OK
    );
    let [commit] = receive(&c, &relay, &laptop, &name)
        .await
        .try_into()
        .unwrap();
    let (existing, response) = existing.accept_commitment(&commit, now()).unwrap();
    assert_eq!(
        send(&c, &relay, &laptop, &name, &response).await,
        StatusCode::OK
    );
    let [response] = receive(&c, &relay, &phone, &name).await.try_into().unwrap();
    let (joining, reveal) = joining.accept_response(&response, now()).unwrap();
    assert_eq!(
        send(&c, &relay, &phone, &name, &reveal).await,
        StatusCode::OK
    );
    let [_, reveal] = receive(&c, &relay, &laptop, &name)
        .await
        .try_into()
        .unwrap();
    let existing = existing.accept_reveal(&reveal, now()).unwrap();
    assert_eq!(
        existing.sas(),
        joining.sas(),
        "both screens show the same code"
    );
    let (existing, joining) = (existing.confirm(), joining.confirm());
    let (existing, payload) = existing
        .send_payload(
            &user
                .export(&careseal::StorageKey::from_bytes([9; 32]))
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        send(&c, &relay, &laptop, &name, &payload).await,
        StatusCode::OK
    );
    let phone_identity = Identity::generate().unwrap();
    let (joining, device) = joining
        .send_device(&phone.device_id, phone_identity.public_identity())
        .unwrap();
    assert_eq!(
        send(&c, &relay, &phone, &name, &device).await,
        StatusCode::OK
    );
    let from_laptop = receive(&c, &relay, &phone, &name).await;
    let received = joining
        .receive_payload(from_laptop.last().unwrap())
        .unwrap();
    let phone_user =
        UserIdentity::import(&careseal::StorageKey::from_bytes([9; 32]), &received).unwrap();
    assert_eq!(phone_user.public_identity(), user.public_identity());
    let from_phone = receive(&c, &relay, &laptop, &name).await;
    let linked = existing.receive_device(from_phone.last().unwrap()).unwrap();

    // The laptop lists the phone; a contact's pin takes the new list.
    let pinned = PinnedDeviceList::pin(
        &laptop.user_id,
        user.public_identity(),
        v1.sign(&user).as_bytes(),
    )
    .unwrap();
    let v2 = v1
        .with_device(DeviceEntry::new(linked.device_id(), linked.identity().clone()).unwrap())
        .unwrap();
    let (status, v) = put(&laptop, &v2).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let change = pinned
        .update(user.public_identity(), v2.sign(&user).as_bytes())
        .unwrap();
    assert_eq!(change.added().len(), 1);
    assert_eq!(change.added()[0].device_id(), phone.device_id);
    let (status, _) = relay
        .call(&c, Method::GET, "/api/me", Some(&phone.token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    relay.stop().await;
}

#[tokio::test]
async fn link_exchanges_are_bounded_private_and_short_lived() {
    let relay = Relay::start(temp_db("link-bounds")).await;
    let c = client();
    let laptop = clinician(&c, &relay, "Dr Lee").await;
    let other = clinician(&c, &relay, "Dr Other").await;
    let name = "AAAAAAAAAAAAAAAAAAAAAA";

    for _ in 0..8 {
        assert_eq!(send(&c, &relay, &laptop, name, b"m").await, StatusCode::OK);
    }
    let (status, v) = relay
        .call(
            &c,
            Method::POST,
            "/api/link/messages",
            Some(&laptop.token),
            Some(json!({ "offer": name, "body": STANDARD.encode(b"m") })),
        )
        .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("link_exchange_full"))
    );
    // Another user's device sees nothing of this user's exchange.
    assert!(receive(&c, &relay, &other, name).await.is_empty());
    assert_eq!(
        receive(&c, &relay, &laptop, name).await.len(),
        0,
        "own messages filtered"
    );

    // Too short a name, an empty or oversized body, are refused.
    for (offer, body) in [
        ("short", STANDARD.encode(b"m")),
        (name, String::new()),
        (name, STANDARD.encode(vec![0u8; 512 * 1024 + 1])),
    ] {
        let (status, _) = relay
            .call(
                &c,
                Method::POST,
                "/api/link/messages",
                Some(&other.token),
                Some(json!({ "offer": offer, "body": body })),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    // A device invitation lives as long as an offer.
    let token = "BBBBBBBBBBBBBBBBBBBBBB";
    let (status, v) = relay
        .call(
            &c,
            Method::POST,
            "/api/link/invitations",
            Some(&laptop.token),
            Some(json!({ "redemptionToken": token })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let lifetime = v["expiresAt"].as_i64().unwrap() - now() as i64;
    assert!(
        (careseal::linking::LINK_OFFER_TTL_MS as i64 - 5_000
            ..=careseal::linking::LINK_OFFER_TTL_MS as i64)
            .contains(&lifetime),
        "{lifetime}"
    );
    let conn = rusqlite::Connection::open(&relay.db).unwrap();
    conn.execute(
        "UPDATE invitations SET expires_at = 0 WHERE for_user IS NOT NULL",
        [],
    )
    .unwrap();
    let (status, v) = register(&c, &relay, token, "late").await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::GONE, Some("invitation_expired"))
    );
    // Old link messages are dropped on the next post and no longer served.
    conn.execute("UPDATE link_messages SET created_at = 0", [])
        .unwrap();
    assert!(receive(&c, &relay, &other, name).await.is_empty());
    assert_eq!(
        send(&c, &relay, &other, name, b"fresh").await,
        StatusCode::OK
    );
    let left: i64 = conn
        .query_row("SELECT count(*) FROM link_messages", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 1);
    relay.stop().await;
}

/// Publishes `devices` as `user`'s list (version `version`), by `by`.
async fn publish(
    c: &Client,
    relay: &Relay,
    by: &Device,
    key: &UserIdentity,
    version: u64,
    devices: &[(&Device, &Identity)],
) -> (StatusCode, Value) {
    let entries = devices
        .iter()
        .map(|(d, identity)| {
            DeviceEntry::new(&d.device_id, identity.public_identity().clone()).unwrap()
        })
        .collect();
    let list = DeviceList::new(&by.user_id, version, entries).unwrap();
    put_list(c, relay, by, key, list.sign(key).as_bytes(), None).await
}

async fn device_invitation(c: &Client, relay: &Relay, by: &Device, token: &str) -> StatusCode {
    relay
        .call(
            c,
            Method::POST,
            "/api/link/invitations",
            Some(&by.token),
            Some(json!({ "redemptionToken": token })),
        )
        .await
        .0
}

#[tokio::test]
async fn an_unconfirmed_device_cannot_act_for_its_user_and_is_cleaned_up() {
    let relay = Relay::start(temp_db("link-unconfirmed")).await;
    let c = client();
    let laptop = clinician(&c, &relay, "Dr Lee").await;
    let (laptop_id, key) = (
        Identity::generate().unwrap(),
        UserIdentity::generate().unwrap(),
    );
    assert_eq!(
        publish(&c, &relay, &laptop, &key, 1, &[(&laptop, &laptop_id)])
            .await
            .0,
        StatusCode::OK
    );

    // Someone who read the offer registers first, and is never confirmed.
    let offer = "CCCCCCCCCCCCCCCCCCCCCC";
    assert_eq!(
        device_invitation(&c, &relay, &laptop, offer).await,
        StatusCode::OK
    );
    let (status, v) = register(&c, &relay, offer, "rogue").await;
    assert_eq!(status, StatusCode::CREATED);
    let rogue = device_of(&v);
    let patient = patient(&c, &relay, &laptop, "Pat").await;
    // It cannot link further devices, invite, invite again or revoke.
    assert_eq!(
        device_invitation(&c, &relay, &rogue, "DDDDDDDDDDDDDDDDDDDDDD").await,
        StatusCode::FORBIDDEN
    );
    for body in [json!({}), json!({ "forUser": patient.user_id })] {
        let (status, _) = relay
            .call(
                &c,
                Method::POST,
                "/api/invitations",
                Some(&rogue.token),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, _) = relay
        .call(
            &c,
            Method::POST,
            format!("/api/devices/{}/revoke", patient.device_id),
            Some(&rogue.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Nor read conversations, others' lists or bundles; its own list it may.
    for (path, expected) in [
        ("/api/conversations".to_string(), StatusCode::FORBIDDEN),
        (
            format!("/api/users/{}/device-list", patient.user_id),
            StatusCode::FORBIDDEN,
        ),
        (
            format!("/api/devices/{}/bundle", patient.device_id),
            StatusCode::FORBIDDEN,
        ),
        (
            format!("/api/users/{}/device-list", rogue.user_id),
            StatusCode::OK,
        ),
    ] {
        let (status, _) = relay
            .call(&c, Method::GET, path.clone(), Some(&rogue.token), None)
            .await;
        assert_eq!(status, expected, "{path}");
    }
    // The listed device republishes the same list: the rogue is revoked.
    let (status, v) = publish(&c, &relay, &laptop, &key, 1, &[(&laptop, &laptop_id)]).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["revoked"], json!([rogue.device_id]));
    let (status, _) = relay
        .call(&c, Method::GET, "/api/me", Some(&rogue.token), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    relay.stop().await;
}

#[tokio::test]
async fn invitations_are_withdrawn_with_their_device_and_by_a_key_reset() {
    let relay = Relay::start(temp_db("link-withdrawn")).await;
    let c = client();
    let laptop = clinician(&c, &relay, "Dr Lee").await;
    let (laptop_id, desk_id, key) = (
        Identity::generate().unwrap(),
        Identity::generate().unwrap(),
        UserIdentity::generate().unwrap(),
    );
    assert_eq!(
        publish(&c, &relay, &laptop, &key, 1, &[(&laptop, &laptop_id)])
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        device_invitation(&c, &relay, &laptop, "EEEEEEEEEEEEEEEEEEEEEE").await,
        StatusCode::OK
    );
    let (_, v) = register(&c, &relay, "EEEEEEEEEEEEEEEEEEEEEE", "desk").await;
    let desk = device_of(&v);
    let both = [(&laptop, &laptop_id), (&desk, &desk_id)];
    assert_eq!(
        publish(&c, &relay, &laptop, &key, 2, &both).await.0,
        StatusCode::OK
    );

    // The laptop mints a device invitation and is then removed (stolen):
    // its invitation is withdrawn with it.
    assert_eq!(
        device_invitation(&c, &relay, &laptop, "FFFFFFFFFFFFFFFFFFFFFF").await,
        StatusCode::OK
    );
    let (status, _) = publish(&c, &relay, &desk, &key, 3, &[(&desk, &desk_id)]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, v) = register(&c, &relay, "FFFFFFFFFFFFFFFFFFFFFF", "thief").await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("invitation_unknown"))
    );

    // Two invitations again for one patient: redeeming one withdraws the
    // other, and the reset names the patient in the log.
    let patient = patient(&c, &relay, &desk, "Pat").await;
    for token in [
        "GGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGG",
        "HHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHH",
    ] {
        let (status, v) = relay
            .call(
                &c,
                Method::POST,
                "/api/invitations",
                Some(&desk.token),
                Some(json!({ "redemptionToken": token, "forUser": patient.user_id })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    let (status, _) = register(
        &c,
        &relay,
        "GGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGG",
        "Pat",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = register(
        &c,
        &relay,
        "HHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHHH",
        "Pat",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let conn = rusqlite::Connection::open(&relay.db).unwrap();
    let targets: Vec<Option<String>> = conn
        .prepare("SELECT target FROM audit WHERE action = 'create_invitation' AND outcome = 'ok' ORDER BY seq DESC LIMIT 2")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(targets, vec![Some(patient.user_id.clone()); 2]);
    relay.stop().await;
}
