//! The relay under hostile or careless clients, over real HTTP on loopback:
//! shutdown with requests half sent, header, body and request timeouts,
//! uploads authorized before their body is read and bounded in memory and
//! per user, throttling of failed authentications, prekey draining,
//! revocation purging the queue, random envelope ids and text rules.

mod support;

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use careseal::{Account, PreKeyBundle};
use careseal_relay::audit::{self, keys::AuditKey};
use careseal_relay::ids::is_issued_id;
use careseal_relay::sqlite::SqliteStore;
use careseal_relay::state::{Config, Timeouts};
use careseal_relay::store::Store;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::*;
use tokio::io::AsyncWriteExt as _;

fn config_with(timeouts: Timeouts) -> Config {
    Config {
        demo: true,
        timeouts,
        ..Config::default()
    }
}

#[tokio::test]
async fn sigterm_with_half_sent_requests_exits_within_the_deadline() {
    let db = temp_db("sigterm");
    // Only the shutdown deadline may end the half-sent requests.
    let mut relay = Process::start(
        &db,
        &[
            "--shutdown-timeout",
            "2",
            "--header-timeout",
            "60",
            "--body-timeout",
            "60",
            "--request-timeout",
            "60",
        ],
    );
    let c = client();
    let doctor = clinician_at(&c, &relay.url, "Dr. Term").await;
    let pat = patient_at(&c, &relay.url, &doctor, "P").await;
    let conv = conversation_at(&c, &relay.url, &pat).await;
    let (status, _) = call(
        &c,
        Method::POST,
        format!("{}/api/conversations/{conv}/envelopes", relay.url),
        Some(&pat.token),
        Some(json!({ "recipientDevice": doctor.device_id, "body": envelope("before SIGTERM") })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "acknowledged before the signal");

    let mut half_head = raw_connection(&relay.url).await;
    half_head
        .write_all(b"POST /api/register HTTP/1.1\r\nHost: relay\r\nContent-Ty")
        .await
        .unwrap();
    let mut half_body = raw_connection(&relay.url).await;
    half_body
        .write_all(
            b"POST /api/register HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n\
              Content-Length: 1000\r\n\r\n{\"invitation\": \"",
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let signalled = Instant::now();
    relay.terminate();
    let status = relay.exit_within(Duration::from_secs(8)).await;
    let took = signalled.elapsed();
    let status = status.expect("the relay did not exit within 8 s of SIGTERM");
    assert!(status.success(), "{status}");
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(6),
        "exited {took:?} after SIGTERM with a 2 s deadline"
    );
    let (_, closed) = read_until_closed(&mut half_body, Duration::from_secs(1)).await;
    assert!(closed, "the half-sent request's connection is closed");

    let store = SqliteStore::open_read_only(&db).unwrap();
    let mail = store.mailbox(&doctor.device_id, 10).unwrap();
    assert_eq!(mail.len(), 1, "the acknowledged envelope is on disk");
}

#[tokio::test]
async fn slow_headers_and_idle_connections_hit_the_header_timeout() {
    let relay = Relay::start_with(
        temp_db("header-timeout"),
        config_with(Timeouts {
            header: Duration::from_secs(1),
            ..Timeouts::default()
        }),
    )
    .await;
    // Half a request head, then nothing.
    let mut slow = raw_connection(&relay.url).await;
    slow.write_all(b"GET /api/me HTTP/1.1\r\nHost: relay\r\nAuthori")
        .await
        .unwrap();
    let started = Instant::now();
    let (_, closed) = read_until_closed(&mut slow, Duration::from_secs(5)).await;
    assert!(closed, "a half-sent head is cut off");
    assert!(started.elapsed() < Duration::from_secs(4));

    // A complete request on a keep-alive connection, then idle.
    let mut idle = raw_connection(&relay.url).await;
    idle.write_all(b"GET /api/me HTTP/1.1\r\nHost: relay\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let (seen, closed) = read_until_closed(&mut idle, Duration::from_secs(5)).await;
    assert!(seen.starts_with("HTTP/1.1 401"), "{seen}");
    assert!(closed, "an idle keep-alive connection is closed");
    assert!(started.elapsed() < Duration::from_secs(4));
    relay.stop().await;
}

#[tokio::test]
async fn a_stalled_body_gets_408_from_the_body_timeout() {
    let relay = Relay::start_with(
        temp_db("body-timeout"),
        config_with(Timeouts {
            body: Duration::from_secs(1),
            ..Timeouts::default()
        }),
    )
    .await;
    let mut stalled = raw_connection(&relay.url).await;
    stalled
        .write_all(
            b"POST /api/register HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n\
              Content-Length: 200\r\n\r\n{\"invitation\": \"abc",
        )
        .await
        .unwrap();
    let started = Instant::now();
    let head = read_response_head(&mut stalled, Duration::from_secs(5))
        .await
        .expect("no answer to a stalled body");
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(started.elapsed() < Duration::from_secs(4));
    relay.stop().await;
}

#[tokio::test]
async fn a_trickled_request_gets_408_from_the_request_timeout() {
    let relay = Relay::start_with(
        temp_db("request-timeout"),
        config_with(Timeouts {
            request: Duration::from_secs(1),
            body: Duration::from_secs(30),
            ..Timeouts::default()
        }),
    )
    .await;
    let stream = raw_connection(&relay.url).await;
    let (mut read, mut write) = stream.into_split();
    write
        .write_all(
            b"POST /api/register HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n",
        )
        .await
        .unwrap();
    // One byte every 100 ms: never a pause long enough for the body timeout.
    let trickle = tokio::spawn(async move {
        for _ in 0..100 {
            if write.write_all(b" ").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let started = Instant::now();
    let head = read_response_head(&mut read, Duration::from_secs(5))
        .await
        .expect("no answer to a trickled request");
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(head.contains("application/json"), "{head}");
    assert!(started.elapsed() < Duration::from_secs(4));
    trickle.abort();
    relay.stop().await;
}

#[tokio::test]
async fn a_non_member_upload_is_refused_before_its_body_is_read() {
    let relay = Relay::start(temp_db("upload-auth")).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. Up").await;
    let alice = patient(&c, &relay, &doctor, "Alice").await;
    let bob = patient(&c, &relay, &doctor, "Bob").await;
    let alice_conv = conversation_of(&c, &relay, &alice).await;
    let mut upload = raw_connection(&relay.url).await;
    let head = format!(
        "POST /api/conversations/{alice_conv}/blobs HTTP/1.1\r\nHost: relay\r\n\
         Authorization: Bearer {}\r\nContent-Length: {}\r\n\r\n",
        bob.token,
        64 * 1024 * 1024
    );
    upload.write_all(head.as_bytes()).await.unwrap();
    upload.write_all(&attachment(60 * 1024)).await.unwrap();
    // 64 KiB of 64 MiB sent, and the answer is already there.
    let head = read_response_head(&mut upload, Duration::from_secs(3))
        .await
        .expect("the relay waited for the body of a refused upload");
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    relay.stop().await;
}

#[tokio::test]
async fn concurrent_uploads_wait_for_upload_memory() {
    let config = Config {
        demo: true,
        max_blob: 1024 * 1024,
        upload_memory: 1024 * 1024,
        upload_wait: Duration::from_millis(300),
        ..Config::default()
    };
    let relay = Relay::start_with(temp_db("upload-memory"), config).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. Mem").await;
    let pat = patient(&c, &relay, &doctor, "P").await;
    let conv = conversation_of(&c, &relay, &pat).await;
    let (first, second) = (attachment(700 * 1024), attachment(400 * 1024));
    assert!(first.len() + second.len() > 1024 * 1024 && first.len() < 1024 * 1024);

    // The first upload declares its size and sends a part of it.
    let mut slow = raw_connection(&relay.url).await;
    let head = format!(
        "POST /api/conversations/{conv}/blobs HTTP/1.1\r\nHost: relay\r\n\
         Authorization: Bearer {}\r\nContent-Length: {}\r\n\r\n",
        pat.token,
        first.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&first[..64 * 1024]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The second does not fit in what is left: refused after the wait.
    let url = format!("{}/api/conversations/{conv}/blobs", relay.url);
    let busy = c
        .post(&url)
        .bearer_auth(&pat.token)
        .body(second.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(busy.json::<Value>().await.unwrap()["error"], "server_busy");

    slow.write_all(&first[64 * 1024..]).await.unwrap();
    let head = read_response_head(&mut slow, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let retried = c
        .post(&url)
        .bearer_auth(&pat.token)
        .body(second)
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), StatusCode::OK);
    relay.stop().await;
}

#[tokio::test]
async fn uploads_past_the_user_quota_get_413_quota_exceeded() {
    let config = Config {
        demo: true,
        quota_bytes: 300 * 1024,
        ..Config::default()
    };
    let relay = Relay::start_with(temp_db("quota"), config).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. Quota").await;
    let pat = patient(&c, &relay, &doctor, "P").await;
    let other = patient(&c, &relay, &doctor, "Q").await;
    let upload = |who: Device, conv: String| {
        let (c, url) = (
            c.clone(),
            format!("{}/api/conversations/{conv}/blobs", relay.url),
        );
        async move {
            let response = c
                .post(url)
                .bearer_auth(&who.token)
                .body(attachment(200 * 1024))
                .send()
                .await
                .unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let conv = conversation_of(&c, &relay, &pat).await;
    let other_conv = conversation_of(&c, &relay, &other).await;
    assert_eq!(upload(pat.clone(), conv.clone()).await.0, StatusCode::OK);
    let (status, body) = upload(pat.clone(), conv.clone()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"], "quota_exceeded");
    // The quota is per user.
    assert_eq!(upload(other, other_conv).await.0, StatusCode::OK);
    let (_, stored) = relay
        .call(
            &c,
            Method::GET,
            format!("/api/conversations/{conv}/stored"),
            Some(&pat.token),
            None,
        )
        .await;
    assert_eq!(stored["blobs"].as_array().unwrap().len(), 1);
    relay.stop().await;
}

#[tokio::test]
async fn wrong_invitations_get_429_once_the_address_has_failed_too_often() {
    let db = temp_db("throttle-invitations");
    let relay = Relay::start(db.clone()).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. Throttle").await;
    let statuses = wrong_registrations(&c, &relay, 30).await;
    assert!(
        statuses[..20].iter().all(|s| *s == StatusCode::NOT_FOUND),
        "{statuses:?}"
    );
    assert!(
        statuses[20..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // A good invitation still works from the same address (a clinic's
    // shared address must not lock its patients out for one guesser), and
    // from another.
    let code = invite(&c, &relay, &doctor, None).await;
    assert_eq!(
        register(&c, &relay, &code, "Same Address").await.0,
        StatusCode::CREATED
    );
    let elsewhere = client_from([127, 0, 0, 2]);
    let code = invite(&c, &relay, &doctor, None).await;
    assert_eq!(
        register(&elsewhere, &relay, &code, "Other Address").await.0,
        StatusCode::CREATED
    );
    relay.stop().await;
    // Twenty failures are twenty records; the ten throttled ones, one.
    assert_eq!(audit_count(&db, "register", "invitation_unknown"), 20);
    assert_eq!(
        audit_count(&db, "auth_throttled", "refused=10 window=60s"),
        1
    );
}

/// How many audit records have this action and outcome.
fn audit_count(db: &std::path::Path, action: &str, outcome: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT count(*) FROM audit WHERE action = ?1 AND outcome = ?2",
        [action, outcome],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test]
async fn wrong_tokens_get_429_and_flags_carry_counts() {
    let db = temp_db("throttle-tokens");
    let relay = Relay::start(db.clone()).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. Tokens").await;
    let mut statuses = Vec::new();
    for i in 0..30 {
        let (status, _) = relay
            .call(
                &c,
                Method::GET,
                "/api/me",
                Some(&format!("wrong-{i}")),
                None,
            )
            .await;
        statuses.push(status);
    }
    assert!(
        statuses[..20]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert!(
        statuses[20..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // A valid token still works from the same address.
    let (status, _) = relay
        .call(&c, Method::GET, "/api/me", Some(&doctor.token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    relay.stop().await;

    assert_eq!(audit_count(&db, "auth_failed", "unauthorized"), 20);
    assert_eq!(audit_count(&db, "auth_failed", "rate_limited"), 0);
    assert_eq!(
        audit_count(&db, "auth_throttled", "refused=10 window=60s"),
        1
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT ip || ' ' || outcome FROM audit
             WHERE action = 'auth_failures_flagged' AND target IS NULL ORDER BY seq",
        )
        .unwrap();
    let flags: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        flags,
        [
            "127.0.0.1 failures=5 window=600s",
            "127.0.0.1 failures=10 window=600s",
            "127.0.0.1 failures=20 window=600s",
        ]
    );
}

#[tokio::test]
async fn unauthenticated_endpoints_are_rate_limited_per_address() {
    let relay = Relay::start(temp_db("throttle-unauth")).await;
    let c = client();
    let mut limited = 0;
    for _ in 0..80 {
        let (status, _) = relay
            .call(
                &c,
                Method::POST,
                "/api/demo/clinician-invitation",
                None,
                None,
            )
            .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
        }
    }
    assert!(limited > 0, "80 invitations in a burst were all served");
    relay.stop().await;
}

#[tokio::test]
async fn prekey_handouts_are_limited_per_requester_and_the_count_reported() {
    let relay = Relay::start(temp_db("prekey-drain")).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. Keys").await;
    let pat = patient(&c, &relay, &doctor, "Drainer").await;
    let other = patient(&c, &relay, &doctor, "Other").await;
    let mut account = Account::new().unwrap();
    account.generate_one_time_prekeys(19).unwrap();
    let bundle = STANDARD.encode(account.prekey_bundle().to_bytes());
    let (status, _) = relay
        .call(
            &c,
            Method::PUT,
            "/api/prekeys",
            Some(&doctor.token),
            Some(json!({ "bundle": bundle })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let fetch = |who: Device| {
        let c = c.clone();
        let url = format!("{}/api/devices/{}/bundle", relay.url, doctor.device_id);
        async move {
            let (status, v) = call(&c, Method::GET, url, Some(&who.token), None).await;
            assert_eq!(status, StatusCode::OK);
            let bundle =
                PreKeyBundle::from_bytes(&STANDARD.decode(v["bundle"].as_str().unwrap()).unwrap())
                    .unwrap();
            assert_eq!(
                bundle.one_time_prekeys().len() as u64,
                v["oneTimePrekeys"].as_u64().unwrap()
            );
            bundle.one_time_prekeys().len()
        }
    };
    let mut taken = Vec::new();
    for _ in 0..10 {
        taken.push(fetch(pat.clone()).await);
    }
    assert_eq!(taken, [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(fetch(other).await, 1, "another requester has its own limit");

    let (status, count) = relay
        .call(
            &c,
            Method::GET,
            "/api/prekeys/count",
            Some(&doctor.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count["oneTimePrekeys"], 15);
    relay.stop().await;
}

#[tokio::test]
async fn revoking_a_device_deletes_the_envelopes_queued_for_it() {
    let relay = Relay::start(temp_db("revoke-purge")).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. Revoke").await;
    let pat = patient(&c, &relay, &doctor, "Lost Phone").await;
    let conv = conversation_of(&c, &relay, &pat).await;
    for (from, to) in [(&doctor, &pat), (&doctor, &pat), (&pat, &doctor)] {
        let (status, _) = relay
            .call(
                &c,
                Method::POST,
                format!("/api/conversations/{conv}/envelopes"),
                Some(&from.token),
                Some(json!({ "recipientDevice": to.device_id, "body": envelope("queued") })),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
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
    let (_, stored) = relay
        .call(
            &c,
            Method::GET,
            format!("/api/conversations/{conv}/stored"),
            Some(&doctor.token),
            None,
        )
        .await;
    let recipients: Vec<&str> = stored["envelopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["recipientDevice"].as_str().unwrap())
        .collect();
    assert_eq!(
        recipients,
        [doctor.device_id.as_str()],
        "only the envelope for the clinician is left"
    );
    relay.stop().await;
}

#[tokio::test]
async fn envelope_ids_are_random_and_the_mailbox_keeps_its_order() {
    let relay = Relay::start(temp_db("envelope-ids")).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. Ids").await;
    let pat = patient(&c, &relay, &doctor, "P").await;
    let conv = conversation_of(&c, &relay, &pat).await;
    let mut posted = Vec::new();
    let mut bodies = Vec::new();
    for i in 0..6 {
        let body = envelope(&format!("in order {i}"));
        let (status, v) = relay
            .call(
                &c,
                Method::POST,
                format!("/api/conversations/{conv}/envelopes"),
                Some(&pat.token),
                Some(json!({ "recipientDevice": doctor.device_id, "body": body })),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let id = v["id"]
            .as_str()
            .expect("envelope ids are strings")
            .to_string();
        assert!(id.len() >= 16 && id.parse::<i64>().is_err(), "{id}");
        posted.push(id);
        bodies.push(body);
    }
    let mut unique = posted.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), posted.len());
    assert_ne!(unique, posted, "ids sorted are not in posting order");

    let (_, mail) = relay
        .call(&c, Method::GET, "/api/mailbox", Some(&doctor.token), None)
        .await;
    let listed: Vec<(String, String)> = mail["envelopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_string(),
                e["body"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = posted.iter().cloned().zip(bodies).collect();
    assert_eq!(
        listed, expected,
        "oldest first, with the ids given at posting"
    );
    let (_, acked) = relay
        .call(
            &c,
            Method::POST,
            "/api/mailbox/ack",
            Some(&doctor.token),
            Some(json!({ "ids": posted[..4] })),
        )
        .await;
    assert_eq!(acked["acknowledged"], 4);
    let (_, mail) = relay
        .call(&c, Method::GET, "/api/mailbox", Some(&doctor.token), None)
        .await;
    assert_eq!(mail["envelopes"].as_array().unwrap().len(), 2);
    relay.stop().await;
}

#[test]
fn envelopes_from_older_databases_and_other_tools_get_random_ids() {
    let db = temp_db("envelope-migration");
    let columns = "conversation_id, sender_device, recipient_device, body, created_at";
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(&format!(
            "CREATE TABLE envelopes (id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id TEXT NOT NULL,
               sender_device TEXT NOT NULL, recipient_device TEXT NOT NULL, body BLOB NOT NULL,
               created_at INTEGER NOT NULL);
             INSERT INTO envelopes ({columns}) VALUES ('c_1', 'd_a', 'd_b', x'01', 1);"
        ))
        .unwrap();
    let store = SqliteStore::open(&db, AuditKey::generate().unwrap()).unwrap();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            &format!("INSERT INTO envelopes ({columns}) VALUES ('c_1', 'd_a', 'd_b', x'02', 2)"),
            [],
        )
        .unwrap();
    // The store queues only for a live device of a member.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "INSERT INTO users (id, role, display_name, created_at) VALUES ('u_b', 'patient', 'B', 1);
             INSERT INTO devices (id, user_id, token_hash, created_at) VALUES ('d_b', 'u_b', x'00', 1);
             INSERT INTO conversations (id, created_at) VALUES ('c_1', 1);
             INSERT INTO conversation_members (conversation_id, user_id) VALUES ('c_1', 'u_b');",
        )
        .unwrap();
    let audit = |action: &str| audit::record(None, [127, 0, 0, 1].into(), action, None, Ok(()));
    store
        .post_envelope("c_1", "d_a", "d_b", &[3], 3, &audit("post_envelope"))
        .unwrap()
        .unwrap();
    let mail = store.mailbox("d_b", 10).unwrap();
    let bodies: Vec<&[u8]> = mail.iter().map(|e| e.body.as_slice()).collect();
    assert_eq!(bodies, [[1], [2], [3]], "oldest first");
    let ids: Vec<String> = mail.iter().map(|e| e.id.clone()).collect();
    for id in &ids {
        assert!(
            id.starts_with("e_") && is_issued_id(id),
            "{id}: the shape of an id the relay issues, so it can be an audit target"
        );
    }
    assert_eq!(
        store
            .acknowledge("d_b", &ids, &audit("acknowledge"))
            .unwrap(),
        3
    );
}

#[tokio::test]
async fn invisible_and_bidi_text_is_refused_with_400() {
    let relay = Relay::start(temp_db("names")).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. Names").await;
    let code = invite(&c, &relay, &doctor, None).await;
    for name in [
        "Dr. \u{202E}rekcaH",
        "Zero\u{200B}Width",
        "\u{FEFF}Bom",
        "Line\u{2028}Separator",
        "Bell\u{7}",
        "\u{3164}",
        "\u{115F}",
        "\u{1160}",
        "\u{FFA0}",
        "\u{2800}",
        "\u{FE0F}\u{FE0E}",
        "\u{E0100}",
        "\u{E000}Private",
        "\u{F0000}",
        "\u{10FFFD}",
        "Unassigned\u{0378}",
        "\u{301}",
    ] {
        let (status, v) = register(&c, &relay, &code, name).await;
        assert_eq!(
            (status, v["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("malformed_request")),
            "{name:?}"
        );
    }
    // The invitation was not used up by the refusals; ordinary accented and
    // non-Latin names are accepted.
    assert_eq!(
        register(&c, &relay, &code, "  José Núñez ").await.0,
        StatusCode::CREATED
    );
    for name in ["李雷", "Ана"] {
        let code = invite(&c, &relay, &doctor, None).await;
        assert_eq!(
            register(&c, &relay, &code, name).await.0,
            StatusCode::CREATED,
            "{name}"
        );
    }

    // Ids the relay accepts follow the same rules.
    let conv = conversation_of(&c, &relay, &doctor).await;
    let (status, _) = relay
        .call(
            &c,
            Method::GET,
            "/api/devices/d_x%E2%80%AEy/bundle",
            Some(&doctor.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = relay
        .call(
            &c,
            Method::POST,
            format!("/api/conversations/{conv}/envelopes"),
            Some(&doctor.token),
            Some(json!({ "recipientDevice": "d_\u{200B}", "body": envelope("x") })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = relay
        .call(
            &c,
            Method::POST,
            "/api/mailbox/ack",
            Some(&doctor.token),
            Some(json!({ "ids": ["e_\u{2028}"] })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    relay.stop().await;
}

async fn wrong_registrations(c: &reqwest::Client, relay: &Relay, n: usize) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    for i in 0..n {
        statuses.push(
            register(c, relay, &format!("wrong-code-{i}"), "Guess")
                .await
                .0,
        );
    }
    statuses
}
