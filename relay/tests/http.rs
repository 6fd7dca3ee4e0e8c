//! The relay over real HTTP on loopback: onboarding, access control, bounds,
//! revocation, restart durability, one-time prekeys under concurrency, and a
//! conversation relayed end to end with CareSeal sessions. The audit log's
//! tests are in `audit.rs`.

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use careseal::{Account, PreKeyBundle, Session};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::*;

#[tokio::test]
async fn onboarding_through_invitations() {
    let relay = Relay::start(temp_db("onboarding")).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. Okafor").await;
    let pat = patient(&c, &relay, &doctor, "Jamie").await;
    let (status, me) = relay
        .call(&c, Method::GET, "/api/me", Some(&pat.token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["role"], "patient");
    let (_, list) = relay
        .call(
            &c,
            Method::GET,
            "/api/conversations",
            Some(&pat.token),
            None,
        )
        .await;
    let members: Vec<&str> = list["conversations"][0]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(members, ["Dr. Okafor", "Jamie"]);

    // Used, expired and unknown invitations are refused and create nobody.
    let code = invite(&c, &relay, &doctor, None).await;
    assert_eq!(
        register(&c, &relay, &code, "A").await.0,
        StatusCode::CREATED
    );
    let (status, v) = register(&c, &relay, &code, "B").await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::GONE, Some("invitation_used"))
    );
    let expired = invite(&c, &relay, &doctor, Some(0)).await;
    let (status, v) = register(&c, &relay, &expired, "C").await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::GONE, Some("invitation_expired"))
    );
    let (status, v) = register(&c, &relay, "no-such-code", "D").await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("invitation_unknown"))
    );
    let (_, list) = relay
        .call(
            &c,
            Method::GET,
            "/api/conversations",
            Some(&doctor.token),
            None,
        )
        .await;
    assert_eq!(list["conversations"].as_array().unwrap().len(), 2);

    // Patients cannot invite.
    let (status, _) = relay
        .call(
            &c,
            Method::POST,
            "/api/invitations",
            Some(&pat.token),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    relay.stop().await;
}

#[tokio::test]
async fn access_control_and_bounds_store_nothing_on_failure() {
    let relay = Relay::start(temp_db("access")).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. A").await;
    let alice = patient(&c, &relay, &doctor, "Alice").await;
    let bob = patient(&c, &relay, &doctor, "Bob").await;
    let alice_conv = conversation_of(&c, &relay, &alice).await;
    let post = |conv: &str| format!("{}/api/conversations/{conv}/envelopes", relay.url);

    // 401: missing or wrong token.
    let (status, _) = relay
        .call(&c, Method::GET, "/api/mailbox", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = relay
        .call(&c, Method::GET, "/api/mailbox", Some("wrong"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // 403: Bob posts into Alice's conversation, fetches her blob, reads its store.
    let body = json!({ "recipientDevice": doctor.device_id, "body": envelope("x") });
    let (status, _) = call(
        &c,
        Method::POST,
        post(&alice_conv),
        Some(&bob.token),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let blob = c
        .post(format!(
            "{}/api/conversations/{alice_conv}/blobs",
            relay.url
        ))
        .bearer_auth(&alice.token)
        .body(attachment(1000))
        .send()
        .await
        .unwrap();
    assert_eq!(blob.status(), StatusCode::OK);
    let blob_id = blob.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = relay
        .call(
            &c,
            Method::GET,
            format!("/api/blobs/{blob_id}"),
            Some(&bob.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = relay
        .call(
            &c,
            Method::GET,
            format!("/api/conversations/{alice_conv}/stored"),
            Some(&bob.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = relay
        .call(
            &c,
            Method::GET,
            format!("/api/devices/{}/bundle", alice.device_id),
            Some(&bob.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // 400: malformed JSON, base64, envelope, recipient outside the conversation, blob not age.
    for bad in [
        json!({ "recipientDevice": doctor.device_id }),
        json!({ "recipientDevice": doctor.device_id, "body": "!!!" }),
        json!({ "recipientDevice": doctor.device_id, "body": STANDARD.encode(b"plaintext, not an envelope") }),
        json!({ "recipientDevice": bob.device_id, "body": envelope("x") }),
    ] {
        let (status, _) = call(
            &c,
            Method::POST,
            post(&alice_conv),
            Some(&alice.token),
            Some(bad.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let not_age = c
        .post(format!(
            "{}/api/conversations/{alice_conv}/blobs",
            relay.url
        ))
        .bearer_auth(&alice.token)
        .body(vec![1u8; 100])
        .send()
        .await
        .unwrap();
    assert_eq!(not_age.status(), StatusCode::BAD_REQUEST);

    // 413: a JSON body over 1 MiB.
    let huge = json!({ "recipientDevice": doctor.device_id, "body": "A".repeat(2 * 1024 * 1024) });
    let (status, _) = call(
        &c,
        Method::POST,
        post(&alice_conv),
        Some(&alice.token),
        Some(huge),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    // None of the failures stored an envelope for the clinician.
    let (_, mail) = relay
        .call(&c, Method::GET, "/api/mailbox", Some(&doctor.token), None)
        .await;
    assert_eq!(mail["envelopes"].as_array().unwrap().len(), 0);

    // Acknowledging someone else's envelope removes nothing.
    let good = json!({ "recipientDevice": doctor.device_id, "body": envelope("for the doctor") });
    let (status, _) = call(
        &c,
        Method::POST,
        post(&alice_conv),
        Some(&alice.token),
        Some(good),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, mail) = relay
        .call(&c, Method::GET, "/api/mailbox", Some(&doctor.token), None)
        .await;
    let id = mail["envelopes"][0]["id"].as_str().unwrap().to_string();
    let (_, acked) = relay
        .call(
            &c,
            Method::POST,
            "/api/mailbox/ack",
            Some(&bob.token),
            Some(json!({ "ids": [id] })),
        )
        .await;
    assert_eq!(acked["acknowledged"], 0);
    let (_, mail) = relay
        .call(&c, Method::GET, "/api/mailbox", Some(&doctor.token), None)
        .await;
    assert_eq!(mail["envelopes"].as_array().unwrap().len(), 1);
    relay.stop().await;
}

#[tokio::test]
async fn oversized_blob_is_refused() {
    let config = careseal_relay::state::Config {
        demo: true,
        max_blob: 64 * 1024,
        ..Default::default()
    };
    let relay = Relay::start_with(temp_db("blob-limit"), config).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. B").await;
    let pat = patient(&c, &relay, &doctor, "P").await;
    let conv = conversation_of(&c, &relay, &pat).await;
    let response = c
        .post(format!("{}/api/conversations/{conv}/blobs", relay.url))
        .bearer_auth(&pat.token)
        .body(attachment(200 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let (_, stored) = relay
        .call(
            &c,
            Method::GET,
            format!("/api/conversations/{conv}/stored"),
            Some(&pat.token),
            None,
        )
        .await;
    assert_eq!(stored["blobs"].as_array().unwrap().len(), 0);
    relay.stop().await;
}

#[tokio::test]
async fn revoked_device_is_refused_and_its_prekeys_withdrawn() {
    let relay = Relay::start(temp_db("revoke")).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. C").await;
    let pat = patient(&c, &relay, &doctor, "Lost Phone").await;
    publish(&c, &relay, &pat, &Account::new().unwrap()).await;
    let (status, _) = relay
        .call(
            &c,
            Method::POST,
            format!("/api/devices/{}/revoke", pat.device_id),
            Some(&pat.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "patients cannot revoke");
    let (status, _) = relay
        .call(
            &c,
            Method::POST,
            format!("/api/devices/{}/revoke", pat.device_id),
            Some(&doctor.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = relay
        .call(&c, Method::GET, "/api/me", Some(&pat.token), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = relay
        .call(
            &c,
            Method::GET,
            format!("/api/devices/{}/bundle", pat.device_id),
            Some(&doctor.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    relay.stop().await;
}

#[tokio::test]
async fn queued_messages_survive_a_restart() {
    let db = temp_db("restart");
    let relay = Relay::start(db.clone()).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. D").await;
    let pat = patient(&c, &relay, &doctor, "P").await;
    let conv = conversation_of(&c, &relay, &pat).await;
    let mut sent = Vec::new();
    for i in 0..5 {
        let body = envelope(&format!("queued {i}"));
        let (status, _) = relay
            .call(
                &c,
                Method::POST,
                format!("/api/conversations/{conv}/envelopes"),
                Some(&pat.token),
                Some(json!({ "recipientDevice": doctor.device_id, "body": body })),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        sent.push(body);
    }
    relay.stop().await;
    let relay = Relay::start(db).await;
    let (_, mail) = relay
        .call(&c, Method::GET, "/api/mailbox", Some(&doctor.token), None)
        .await;
    let bodies: Vec<String> = mail["envelopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["body"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(bodies, sent);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_time_prekeys_are_handed_out_once_under_concurrency() {
    // Every fetch may take one (the per-requester limit has its own test).
    let config = careseal_relay::state::Config {
        demo: true,
        prekey_handouts: 100,
        ..Default::default()
    };
    let relay = Relay::start_with(temp_db("prekeys"), config).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. E").await;
    let pat = patient(&c, &relay, &doctor, "P").await;
    let mut account = Account::new().unwrap();
    account.generate_one_time_prekeys(5).unwrap();
    publish(&c, &relay, &doctor, &account).await;
    let url = format!("{}/api/devices/{}/bundle", relay.url, doctor.device_id);
    let fetches = (0..20).map(|_| {
        let (c, url, token) = (c.clone(), url.clone(), pat.token.clone());
        tokio::spawn(async move { call(&c, Method::GET, url, Some(&token), None).await })
    });
    let mut ids = Vec::new();
    for fetch in fetches {
        let (status, v) = fetch.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        let bundle =
            PreKeyBundle::from_bytes(&STANDARD.decode(v["bundle"].as_str().unwrap()).unwrap())
                .unwrap();
        assert_eq!(bundle.identity(), account.public_identity());
        ids.extend(bundle.one_time_prekeys().iter().map(|k| k.id));
    }
    ids.sort_unstable();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(unique.len(), 5, "every one-time prekey handed out");
    assert_eq!(ids, unique, "none handed out twice");
    relay.stop().await;
}

#[tokio::test]
async fn forged_bundle_is_refused() {
    let relay = Relay::start(temp_db("forged")).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. F").await;
    let mut bytes = Account::new().unwrap().prekey_bundle().to_bytes();
    bytes[120] ^= 1;
    let (status, _) = relay
        .call(
            &c,
            Method::PUT,
            "/api/prekeys",
            Some(&doctor.token),
            Some(json!({ "bundle": STANDARD.encode(bytes) })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    relay.stop().await;
}

#[tokio::test]
async fn a_conversation_relayed_end_to_end() {
    let relay = Relay::start(temp_db("e2e")).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. G").await;
    let pat = patient(&c, &relay, &doctor, "P").await;
    let conv = conversation_of(&c, &relay, &pat).await;
    let mut doctor_account = Account::new().unwrap();
    doctor_account.generate_one_time_prekeys(3).unwrap();
    publish(&c, &relay, &doctor, &doctor_account).await;
    let patient_account = Account::new().unwrap();

    // Notifications arrive over the WebSocket.
    let ws_url = relay.url.replace("http://", "ws://") + "/api/events";
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    use futures_util::{SinkExt, StreamExt};
    socket
        .send(tokio_tungstenite::tungstenite::Message::text(
            doctor.token.clone(),
        ))
        .await
        .unwrap();
    let ready = socket.next().await.unwrap().unwrap();
    assert_eq!(ready.to_text().unwrap(), "{\"type\":\"ready\"}");

    let (_, v) = relay
        .call(
            &c,
            Method::GET,
            format!("/api/devices/{}/bundle", doctor.device_id),
            Some(&pat.token),
            None,
        )
        .await;
    let bundle =
        PreKeyBundle::from_bytes(&STANDARD.decode(v["bundle"].as_str().unwrap()).unwrap()).unwrap();
    let mut session = Session::initiate(patient_account.identity(), &bundle, None).unwrap();
    let first = session
        .encrypt(b"Marker-relay-1: chest pain since Tuesday")
        .unwrap();
    let (status, _) = relay
        .call(
            &c,
            Method::POST,
            format!("/api/conversations/{conv}/envelopes"),
            Some(&pat.token),
            Some(json!({ "recipientDevice": doctor.device_id, "body": STANDARD.encode(&first) })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let note = socket.next().await.unwrap().unwrap();
    assert_eq!(note.to_text().unwrap(), "{\"type\":\"mail\"}");

    let (_, mail) = relay
        .call(&c, Method::GET, "/api/mailbox", Some(&doctor.token), None)
        .await;
    let item = &mail["envelopes"][0];
    let accepted = doctor_account
        .accept_session(
            &STANDARD.decode(item["body"].as_str().unwrap()).unwrap(),
            |initiator| initiator == patient_account.public_identity(),
        )
        .unwrap();
    assert_eq!(
        *accepted.plaintext,
        b"Marker-relay-1: chest pain since Tuesday"
    );
    let (_, acked) = relay
        .call(
            &c,
            Method::POST,
            "/api/mailbox/ack",
            Some(&doctor.token),
            Some(json!({ "ids": [item["id"]] })),
        )
        .await;
    assert_eq!(acked["acknowledged"], 1);
    let (_, mail) = relay
        .call(&c, Method::GET, "/api/mailbox", Some(&doctor.token), None)
        .await;
    assert!(mail["envelopes"].as_array().unwrap().is_empty());
    relay.stop().await;

    // Nothing readable on disk.
    let disk = std::fs::read(relay_db_files(&temp_db_path("e2e"))).unwrap_or_default();
    assert!(!contains(&disk, b"Marker-relay-1"));
}

#[tokio::test]
async fn rate_limit_answers_429() {
    let relay = Relay::start(temp_db("rate")).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. I").await;
    let mut limited = 0;
    // Far more than the burst plus what refills even on a slow machine.
    for _ in 0..600 {
        let (status, _) = relay
            .call(&c, Method::GET, "/api/me", Some(&doctor.token), None)
            .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
        }
    }
    assert!(limited > 0, "no request was limited");
    relay.stop().await;
}

#[tokio::test]
async fn pages_are_served_with_a_strict_csp() {
    let www = std::env::temp_dir().join(format!("careseal-www-{}", std::process::id()));
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(
        www.join("index.html"),
        "<!doctype html><title>portal</title>",
    )
    .unwrap();
    let config = careseal_relay::state::Config {
        www: Some(www),
        ..Default::default()
    };
    let relay = Relay::start_with(temp_db("static"), config).await;
    let response = client()
        .get(format!("{}/", relay.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("script-src 'self' 'wasm-unsafe-eval'")
    );
    assert!(!csp.contains("unsafe-inline") && !csp.contains(" 'unsafe-eval'"));
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    // The test and bench pages use a small Node server with the same policy.
    let node_server = include_str!("../../scripts/lib/static-server.mjs");
    let directives: Vec<&str> = node_server
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix('"')?.strip_suffix("\","))
        .collect();
    assert_eq!(
        directives.join("; "),
        careseal_relay::web::CONTENT_SECURITY_POLICY
    );
    relay.stop().await;
}

async fn publish(c: &reqwest::Client, relay: &Relay, who: &Device, account: &Account) {
    let bundle = STANDARD.encode(account.prekey_bundle().to_bytes());
    let (status, _) = relay
        .call(
            c,
            Method::PUT,
            "/api/prekeys",
            Some(&who.token),
            Some(json!({ "bundle": bundle })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

fn attachment(len: usize) -> Vec<u8> {
    careseal::attachment::encrypt(&vec![7u8; len], "f", "")
        .unwrap()
        .0
}

fn temp_db_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir()
        .join(format!("careseal-relay-test-{}-{name}", std::process::id()))
        .join("relay.sqlite")
}

/// The database file and its WAL, concatenated.
fn relay_db_files(db: &std::path::Path) -> std::path::PathBuf {
    let mut all = std::fs::read(db).unwrap_or_default();
    all.extend(std::fs::read(format!("{}-wal", db.display())).unwrap_or_default());
    let out = db.with_extension("all");
    std::fs::write(&out, all).unwrap();
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
