//! The relay under clients that try to exhaust it, over real HTTP on
//! loopback: downloads that are never read, uploads that do not declare
//! their length, a quota filled with queued envelopes, connection floods,
//! failures spread over many addresses, and addresses forwarded by a
//! trusted proxy (or forged by anyone else).

mod support;

use std::time::{Duration, Instant};

use careseal_relay::state::{Config, Timeouts};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

async fn upload(c: &reqwest::Client, relay: &Relay, who: &Device, conv: &str, len: usize) -> Value {
    let response = c
        .post(format!("{}/api/conversations/{conv}/blobs", relay.url))
        .bearer_auth(&who.token)
        .body(attachment(len))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// A download whose client stops reading holds its share of the download
/// memory only until the connection's write deadline cuts it off; while
/// it holds it, a download that does not fit waits and gets 503.
#[tokio::test]
async fn a_download_that_is_never_read_is_cut_off_and_frees_its_memory() {
    const LEN: usize = 20 * 1024 * 1024;
    let config = Config {
        demo: true,
        download_memory: LEN + 1024 * 1024,
        upload_wait: Duration::from_millis(500),
        timeouts: Timeouts {
            body: Duration::from_secs(1),
            ..Timeouts::default()
        },
        ..Config::default()
    };
    let relay = Relay::start_with(temp_db("abuse-download"), config).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. D").await;
    let pat = patient(&c, &relay, &doctor, "P").await;
    let conv = conversation_of(&c, &relay, &pat).await;
    let blob = upload(&c, &relay, &pat, &conv, LEN).await;
    let id = blob["id"].as_str().unwrap().to_string();
    let size = blob["size"].as_u64().unwrap() as usize;

    // A client asks for the blob and never reads it.
    let mut stalled = raw_connection(&relay.url).await;
    let request = format!(
        "GET /api/blobs/{id} HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer {}\r\n\r\n",
        doctor.token
    );
    stalled.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Meanwhile the memory is taken: another download waits, then 503.
    let download = || {
        c.get(format!("{}/api/blobs/{id}", relay.url))
            .bearer_auth(&pat.token)
            .send()
    };
    let busy = download().await.unwrap();
    assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(busy.json::<Value>().await.unwrap()["error"], "server_busy");

    // After the write deadline the stalled connection is closed with the
    // body unfinished...
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut received = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(10), stalled.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => break false,
        }
    };
    assert!(closed, "the stalled download was never cut off");
    assert!(received.len() < size, "{} of {size} bytes", received.len());
    // ...and the memory is free again: the whole blob downloads.
    let whole = download().await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.bytes().await.unwrap().len(), size);
    relay.stop().await;
}

/// An upload must declare its length, so its share of the upload memory
/// is known before its body is read: chunked is 411, and a body longer or
/// shorter than declared is refused.
#[tokio::test]
async fn uploads_without_a_declared_length_get_411() {
    let relay = Relay::start(temp_db("abuse-chunked")).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. C").await;
    let pat = patient(&c, &relay, &doctor, "P").await;
    let conv = conversation_of(&c, &relay, &pat).await;
    let mut chunked = raw_connection(&relay.url).await;
    let head = format!(
        "POST /api/conversations/{conv}/blobs HTTP/1.1\r\nHost: relay\r\n\
         Authorization: Bearer {}\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nage-encryption.o\r\n",
        pat.token
    );
    chunked.write_all(head.as_bytes()).await.unwrap();
    let answer = read_response_head(&mut chunked, Duration::from_secs(3))
        .await
        .expect("no answer to a chunked upload");
    assert!(answer.starts_with("HTTP/1.1 411"), "{answer}");

    // Shorter than declared: the body times out or ends early, never stored.
    let mut short = raw_connection(&relay.url).await;
    let file = attachment(4096);
    let head = format!(
        "POST /api/conversations/{conv}/blobs HTTP/1.1\r\nHost: relay\r\n\
         Authorization: Bearer {}\r\nContent-Length: {}\r\n\r\n",
        pat.token,
        file.len() + 10
    );
    short.write_all(head.as_bytes()).await.unwrap();
    short.write_all(&file).await.unwrap();
    short.shutdown().await.unwrap();
    let (answer, _) = read_until_closed(&mut short, Duration::from_secs(5)).await;
    assert!(!answer.starts_with("HTTP/1.1 200"), "{answer}");
    let (_, stored) = relay
        .call(
            &c,
            Method::GET,
            format!("/api/conversations/{conv}/stored"),
            Some(&pat.token),
            None,
        )
        .await;
    assert!(stored["blobs"].as_array().unwrap().is_empty());
    relay.stop().await;
}

/// The quota counts what a user's envelopes hold in other users' queues:
/// a sender whose recipient never fetches is stopped with 413, and can
/// send again once the recipient acknowledges.
#[tokio::test]
async fn queued_envelopes_count_towards_the_senders_quota() {
    let config = Config {
        demo: true,
        quota_bytes: 4096,
        ..Config::default()
    };
    let relay = Relay::start_with(temp_db("abuse-queue-quota"), config).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. Q").await;
    let pat = patient(&c, &relay, &doctor, "P").await;
    let conv = conversation_of(&c, &relay, &pat).await;
    let post = || {
        relay.call(
            &c,
            Method::POST,
            format!("/api/conversations/{conv}/envelopes"),
            Some(&doctor.token),
            Some(json!({ "recipientDevice": pat.device_id, "body": envelope("hello") })),
        )
    };
    let mut accepted = 0;
    let refusal = loop {
        let (status, body) = post().await;
        if status != StatusCode::OK {
            break (status, body);
        }
        accepted += 1;
        assert!(accepted < 100, "the quota never applied to envelopes");
    };
    assert_eq!(refusal.0, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(refusal.1["error"], "quota_exceeded");
    assert!(accepted >= 1);

    let (_, mailbox) = relay
        .call(&c, Method::GET, "/api/mailbox", Some(&pat.token), None)
        .await;
    let ids: Vec<Value> = mailbox["envelopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    assert_eq!(ids.len(), accepted);
    let (status, _) = relay
        .call(
            &c,
            Method::POST,
            "/api/mailbox/ack",
            Some(&pat.token),
            Some(json!({ "ids": ids })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(post().await.0, StatusCode::OK);
    relay.stop().await;
}

/// One address may hold only so many connections; past that a new one is
/// closed at once, counted, and written as one summary record.
#[tokio::test]
async fn connections_past_the_per_address_cap_are_closed_and_counted() {
    let db = temp_db("abuse-connections");
    let config = Config {
        demo: true,
        max_connections_per_address: 2,
        ..Config::default()
    };
    let relay = Relay::start_with(db.clone(), config).await;
    let held = [
        raw_connection(&relay.url).await,
        raw_connection(&relay.url).await,
    ];
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..3 {
        let mut refused = raw_connection(&relay.url).await;
        let (_, closed) = read_until_closed(&mut refused, Duration::from_secs(3)).await;
        assert!(closed, "a connection past the cap was kept open");
    }
    // Another address is not affected.
    let elsewhere = client_from([127, 0, 0, 2]);
    let response = elsewhere
        .get(format!("{}/api/me", relay.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // Once one closes, the address may connect again.
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let c = client();
    let (status, _) = relay.call(&c, Method::GET, "/api/me", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    relay.stop().await;
    assert_eq!(
        audit_rows(&db, "connection_refused"),
        [("127.0.0.1".to_string(), "refused=3 window=60s".to_string())]
    );
}

/// Past `--max-connections` the relay stops accepting: a new connection
/// waits (in the kernel's backlog) until one closes, then is served.
#[tokio::test]
async fn past_the_connection_cap_new_connections_wait_for_a_free_one() {
    let config = Config {
        demo: true,
        max_connections: 2,
        ..Config::default()
    };
    let relay = Relay::start_with(temp_db("abuse-max-connections"), config).await;
    let mut held = vec![
        raw_connection(&relay.url).await,
        raw_connection(&relay.url).await,
    ];
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut waiting = raw_connection(&relay.url).await;
    waiting
        .write_all(b"GET /api/me HTTP/1.1\r\nHost: relay\r\n\r\n")
        .await
        .unwrap();
    assert!(
        read_response_head(&mut waiting, Duration::from_millis(700))
            .await
            .is_none(),
        "a connection past the cap was served"
    );
    held.pop();
    let answer = read_response_head(&mut waiting, Duration::from_secs(5))
        .await
        .expect("the waiting connection was never served");
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    relay.stop().await;
}

/// Failures spread over many addresses still meet a relay-wide budget:
/// past it every failure is 429 and counted, not written one by one.
#[tokio::test]
async fn failures_from_many_addresses_meet_a_relay_wide_budget() {
    let db = temp_db("abuse-many-addresses");
    let relay = Relay::start(db.clone()).await;
    let started = Instant::now();
    let mut unauthorized = 0usize;
    let mut last_address = Vec::new();
    for host in 2..=13u8 {
        let c = client_from([127, 0, 0, host]);
        for i in 0..20 {
            let (status, _) = call(
                &c,
                Method::GET,
                format!("{}/api/me", relay.url),
                Some(&format!("wrong-{host}-{i}")),
                None,
            )
            .await;
            match status {
                StatusCode::UNAUTHORIZED => unauthorized += 1,
                StatusCode::TOO_MANY_REQUESTS => {}
                other => panic!("{other}"),
            }
            if host == 13 {
                last_address.push(status);
            }
        }
    }
    // 240 failures, each address within its own budget of 20: only the
    // relay-wide 200 (plus its refill, 2 per second) are 401.
    let refill = (started.elapsed().as_secs_f64() * 2.0).ceil() as usize + 1;
    assert!(unauthorized <= 200 + refill, "{unauthorized} were 401");
    assert!(
        last_address
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count()
            >= 20 - refill.min(20),
        "{last_address:?}"
    );
    relay.stop().await;
    let records = audit_rows(&db, "auth_failed");
    assert_eq!(records.len(), unauthorized);
    let throttled: u64 = audit_rows(&db, "auth_throttled")
        .iter()
        .map(|(_, outcome)| {
            outcome
                .strip_prefix("refused=")
                .and_then(|rest| rest.split(' ').next())
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(throttled as usize + unauthorized, 240);
}

/// With `--trusted-proxy`, the address recorded (and throttled) is the
/// client's, the rightmost one in `X-Forwarded-For` that is not a proxy;
/// from any other peer the header is ignored.
#[tokio::test]
async fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
    for (trusted, expected) in [(true, "198.51.100.7"), (false, "127.0.0.1")] {
        let db = temp_db(&format!("abuse-proxy-{trusted}"));
        let config = Config {
            demo: true,
            trusted_proxies: if trusted {
                vec![std::net::IpAddr::from([127, 0, 0, 1])]
            } else {
                Vec::new()
            },
            ..Config::default()
        };
        let relay = Relay::start_with(db.clone(), config).await;
        let response = client()
            .get(format!("{}/api/me", relay.url))
            .bearer_auth("wrong")
            .header("X-Forwarded-For", "203.0.113.9, 198.51.100.7")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        relay.stop().await;
        assert_eq!(
            audit_rows(&db, "auth_failed"),
            [(expected.to_string(), "unauthorized".to_string())],
            "trusted proxy: {trusted}"
        );
    }
}
