//! The audit log over real HTTP on loopback: what it records, that a change
//! and its record commit together, that nothing a client chose reaches it
//! but ids the relay issued, and that whoever can write the database cannot
//! edit it, re-chain it or cut its tail without `verify-audit` noticing.

mod support;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use careseal_relay::audit::checkpoint::{CheckpointPolicy, Checkpointer};
use careseal_relay::audit::keys::{AuditKey, CheckpointKey};
use careseal_relay::audit::record_hash;
use careseal_relay::audit::verify::{self, Anchors, Tampered, Verdict};
use careseal_relay::ids::is_issued_id;
use careseal_relay::sqlite::SqliteStore;
use careseal_relay::state::Config;
use careseal_relay::store::AuditRecord;
use reqwest::{Method, StatusCode};
use rusqlite::Connection;
use serde_json::json;
use support::*;

/// One row of the audit table: `(seq, action, target, device, outcome)`.
type Row = (i64, String, Option<String>, Option<String>, String);

fn rows(db: &Path) -> Vec<Row> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT seq, action, target, device_id, outcome FROM audit ORDER BY seq")
        .unwrap();
    stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn has(rows: &[Row], action: &str, outcome: &str, device: Option<&str>) -> bool {
    rows.iter()
        .any(|(_, a, _, d, o)| a == action && o == outcome && d.as_deref() == device)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Re-chains the log from `from` on with the unkeyed hash, as someone with
/// write access to the database would after editing a record.
fn rechain(conn: &Connection, from: i64) {
    let mut stmt = conn
        .prepare(
            "SELECT seq, at, user_id, device_id, role, action, target, ip, outcome, hash
             FROM audit ORDER BY seq",
        )
        .unwrap();
    let all: Vec<(i64, AuditRecord, Vec<u8>)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                AuditRecord {
                    at: r.get(1)?,
                    user_id: r.get(2)?,
                    device_id: r.get(3)?,
                    role: r.get(4)?,
                    action: r.get(5)?,
                    target: r.get(6)?,
                    ip: r.get(7)?,
                    outcome: r.get(8)?,
                },
                r.get(9)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut previous = careseal_relay::audit::GENESIS.to_vec();
    for (seq, record, stored) in all {
        let hash = if seq >= from {
            let hash = record_hash(&previous, seq, &record).to_vec();
            conn.execute(
                "UPDATE audit SET hash = ?1 WHERE seq = ?2",
                rusqlite::params![hash, seq],
            )
            .unwrap();
            hash
        } else {
            stored
        };
        previous = hash;
    }
}

/// A clinician, a patient, five failed logins and `extra` mailbox fetches.
async fn some_activity(relay: &Relay, extra: usize) -> (Device, Device) {
    let c = client();
    let doctor = clinician(&c, relay, "Dr. H").await;
    let pat = patient(&c, relay, &doctor, "P").await;
    for _ in 0..5 {
        relay
            .call(&c, Method::GET, "/api/mailbox", Some("bad-token"), None)
            .await;
    }
    for _ in 0..extra {
        relay
            .call(&c, Method::GET, "/api/mailbox", Some(&pat.token), None)
            .await;
    }
    (doctor, pat)
}

#[tokio::test]
async fn audit_chain_verifies_and_detects_an_edited_row() {
    let db = temp_db("audit");
    let relay = Relay::start(db.clone()).await;
    let files = relay.audit.clone();
    some_activity(&relay, 0).await;
    relay.stop().await;

    let key = AuditKey::load(&files.audit_key).unwrap();
    let store = SqliteStore::open_read_only(&db).unwrap();
    let Verdict::Intact { records, .. } = verify::verify(&store, &key, &Anchors::new()).unwrap()
    else {
        panic!("intact log reported tampered");
    };
    assert!(records >= 10, "{records}");
    let all = rows(&db);
    assert_eq!(
        all.iter()
            .filter(|r| r.1 == "auth_failures_flagged")
            .count(),
        1
    );
    let output = files.verify_cli(&db, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).starts_with("audit log intact"));

    // The log refuses edits through SQL; an attacker with the file drops the
    // trigger first — and the chain shows where.
    let conn = Connection::open(&db).unwrap();
    assert!(
        conn.execute("UPDATE audit SET action = 'nothing' WHERE seq = 3", [])
            .is_err()
    );
    conn.execute_batch(
        "DROP TRIGGER audit_no_update; UPDATE audit SET action = 'edited' WHERE seq = 4;",
    )
    .unwrap();
    assert_eq!(
        verify::verify(&store, &key, &Anchors::new()).unwrap(),
        Verdict::Tampered(Tampered::Hash { seq: 4 })
    );
    let output = files.verify_cli(&db, &[]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout(&output),
        "audit log tampered: record 4: its hash does not match its contents and the record before it"
    );
}

#[tokio::test]
async fn an_edited_and_rechained_log_is_detected_by_its_macs() {
    let db = temp_db("audit-rechain");
    let relay = Relay::start(db.clone()).await;
    let files = relay.audit.clone();
    let (doctor, _) = some_activity(&relay, 3).await;
    relay.stop().await;

    // Turn the first failed login into a successful one by the clinician,
    // then recompute every hash from there: the chain is consistent again.
    let failed = rows(&db)
        .into_iter()
        .find(|r| r.1 == "auth_failed")
        .unwrap()
        .0;
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch("DROP TRIGGER audit_no_update").unwrap();
    conn.execute(
        "UPDATE audit SET outcome = 'ok', action = 'fetch_mailbox', device_id = ?1 WHERE seq = ?2",
        rusqlite::params![doctor.device_id, failed],
    )
    .unwrap();
    rechain(&conn, failed);

    let output = files.verify_cli(&db, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert_eq!(
        stdout(&output),
        format!(
            "audit log tampered: record {failed}: its MAC is missing or was not made with the audit key"
        )
    );
}

/// Removes the newest `removed` records (dropping the trigger that refuses
/// it first) and checks the checkpoints expose it, to `verify-audit` and to a
/// relay starting on the database.
async fn tail_truncation_is_detected(name: &str, removed: i64) {
    let db = temp_db(name);
    let relay = Relay::start(db.clone()).await;
    let files = relay.audit.clone();
    some_activity(&relay, 70).await;
    relay.stop().await;
    let output = files.verify_cli(&db, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let last = rows(&db).last().unwrap().0;
    assert!(last > removed + 10, "{last}");

    let conn = Connection::open(&db).unwrap();
    conn.execute_batch("DROP TRIGGER audit_no_delete").unwrap();
    conn.execute("DELETE FROM audit WHERE seq > ?1", [last - removed])
        .unwrap();

    // The chain and the MACs alone cannot tell ...
    let without = Command::new(env!("CARGO_BIN_EXE_careseal-relay"))
        .args(["verify-audit", "--db"])
        .arg(&db)
        .arg("--audit-key")
        .arg(&files.audit_key)
        .output()
        .unwrap();
    assert_eq!(without.status.code(), Some(0), "{}", stdout(&without));
    // ... the signed checkpoint at the old head can.
    let output = files.verify_cli(&db, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(
        text.starts_with(&format!(
            "audit log tampered: the log ends at record {}, but checkpoint on line",
            last - removed
        )),
        "{text}"
    );
    assert!(
        text.ends_with(&format!(
            "records {}..={last} are missing",
            last - removed + 1
        )),
        "{text}"
    );

    // A relay does not extend a log that lost its tail.
    let store = std::sync::Arc::new(
        SqliteStore::open(&db, AuditKey::load(&files.audit_key).unwrap()).unwrap(),
    );
    let refused = Checkpointer::start(
        store,
        AuditKey::load(&files.audit_key).unwrap(),
        CheckpointKey::load(&files.checkpoint_key).unwrap(),
        files.checkpoints.clone(),
        CheckpointPolicy::default(),
    );
    assert!(refused.is_err());
}

#[tokio::test]
async fn removing_the_last_record_is_detected_by_checkpoints() {
    tail_truncation_is_detected("audit-cut-1", 1).await;
}

#[tokio::test]
async fn removing_the_last_50_records_is_detected_by_checkpoints() {
    tail_truncation_is_detected("audit-cut-50", 50).await;
}

/// The sequence numbers of the checkpoints in `files`' checkpoints file.
fn checkpointed(files: &AuditFiles) -> Vec<i64> {
    std::fs::read_to_string(&files.checkpoints)
        .unwrap()
        .lines()
        .map(|l| l.split(' ').nth(1).unwrap().parse().unwrap())
        .collect()
}

/// A relay stopped cleanly (checkpoint at its head), restarted, and three
/// more requests: the log's head before and after them.
async fn restarted_with_three_records(name: &str) -> (Relay, i64, i64) {
    let db = temp_db(name);
    let relay = Relay::start(db.clone()).await;
    let (doctor, _) = some_activity(&relay, 0).await;
    relay.stop().await;
    let checkpoint = rows(&db).last().unwrap().0;
    assert_eq!(
        checkpointed(&AuditFiles::beside(&db)).last(),
        Some(&checkpoint)
    );

    let relay = Relay::start(db.clone()).await;
    let c = client();
    for _ in 0..3 {
        let (status, _) = relay
            .call(&c, Method::GET, "/api/me", Some(&doctor.token), None)
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let head = rows(&db).last().unwrap().0;
    assert_eq!(head, checkpoint + 3);
    (relay, checkpoint, head)
}

#[tokio::test]
async fn live_records_deleted_while_the_relay_runs_are_never_chained_over_or_checkpointed() {
    let (relay, checkpoint, _) = restarted_with_three_records("audit-live-cut").await;
    let db = relay.db.clone();
    let files = relay.audit.clone();
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch("DROP TRIGGER audit_no_delete").unwrap();
    conn.execute("DELETE FROM audit WHERE seq > ?1", [checkpoint])
        .unwrap();

    // Every write is refused: nothing is chained to the cut log.
    let c = client();
    for path in ["/api/me", "/api/mailbox", "/api/nowhere"] {
        let (status, _) = relay.call(&c, Method::GET, path, None, None).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
    }
    assert_eq!(rows(&db).last().unwrap().0, checkpoint);
    // ... and the relay signs no checkpoint over it.
    let stopped = relay.stop_checkpointed().await;
    assert!(stopped.is_err(), "{stopped:?}");
    assert_eq!(checkpointed(&files).last(), Some(&checkpoint));

    // The cut matches the last checkpoint, so only the refusals above (and
    // the log on stderr) tell; the relay has not vouched for the cut log.
    let output = files.verify_cli(&db, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
}

#[tokio::test]
async fn live_a_record_edited_after_the_last_checkpoint_is_not_checkpointed() {
    let (relay, checkpoint, head) = restarted_with_three_records("audit-live-edit").await;
    let files = relay.audit.clone();
    let conn = Connection::open(&relay.db).unwrap();
    conn.execute_batch("DROP TRIGGER audit_no_update").unwrap();
    conn.execute(
        "UPDATE audit SET action = 'edited' WHERE seq = ?1",
        [checkpoint + 1],
    )
    .unwrap();
    let stopped = relay.stop_checkpointed().await;
    let error = stopped.unwrap_err();
    assert!(
        error.contains(&format!("record {}", checkpoint + 1)),
        "{error}"
    );
    assert!(!checkpointed(&files).contains(&head), "{head}");
}

#[tokio::test]
async fn an_expected_head_anchors_the_log_too() {
    let db = temp_db("audit-head");
    let relay = Relay::start(db.clone()).await;
    let files = relay.audit.clone();
    some_activity(&relay, 0).await;
    relay.stop().await;
    let output = files.verify_cli(&db, &[]);
    let head = stdout(&output)
        .lines()
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    let output = files.verify_cli(&db, &["--expect-head", &head]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let (seq, hash) = head.split_once(':').unwrap();
    let later = format!("{}:{hash}", seq.parse::<i64>().unwrap() + 1);
    let output = files.verify_cli(&db, &["--expect-head", &later]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let other = format!("{seq}:{}", "0".repeat(64));
    let output = files.verify_cli(&db, &["--expect-head", &other]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
}

#[test]
fn verify_audit_on_a_missing_path_fails_and_creates_nothing() {
    let db = temp_db("audit-missing");
    let files = AuditFiles::beside(&db);
    let missing = db.with_file_name("mistyped.sqlite");
    let output = files.verify_cli(&missing, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert!(!missing.exists());
    assert!(!db.exists());

    // A mistyped flag is not silently skipped.
    let output = Command::new(env!("CARGO_BIN_EXE_careseal-relay"))
        .args(["verify-audit", "--db"])
        .arg(&missing)
        .arg("--audit-key")
        .arg(&files.audit_key)
        .arg("--checkpoint")
        .arg(&files.checkpoints)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(!missing.exists());
}

#[tokio::test]
async fn every_request_under_api_leaves_a_record() {
    let db = temp_db("audit-coverage");
    let config = Config {
        demo: true,
        ws_auth_timeout: Duration::from_millis(300),
        ..Config::default()
    };
    let relay = Relay::start_with(db.clone(), config).await;
    let files = relay.audit.clone();
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. J").await;
    let pat = patient(&c, &relay, &doctor, "P").await;
    let token = Some(pat.token.as_str());
    let (status, _) = relay
        .call(&c, Method::GET, "/api/conversations", token, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = relay.call(&c, Method::GET, "/api/me", token, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = relay
        .call(&c, Method::GET, "/api/no-such-route", token, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = relay.call(&c, Method::DELETE, "/api/me", token, None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _) = relay.call(&c, Method::GET, "/api/events", None, None).await;
    assert!(status.is_client_error(), "{status}");

    // A WebSocket that never authenticates, and one that does.
    use futures_util::{SinkExt, StreamExt};
    let ws_url = relay.url.replace("http://", "ws://") + "/api/events";
    let (mut silent, _) = tokio_tungstenite::connect_async(&ws_url).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(_)) = silent.next().await {}
    })
    .await;
    assert!(closed.is_ok(), "the relay kept an unauthenticated socket");
    let (mut socket, _) = tokio_tungstenite::connect_async(&ws_url).await.unwrap();
    socket
        .send(tokio_tungstenite::tungstenite::Message::text(
            doctor.token.clone(),
        ))
        .await
        .unwrap();
    socket.next().await.unwrap().unwrap();
    drop(socket);
    relay.stop().await;

    let all = rows(&db);
    let me = Some(pat.device_id.as_str());
    assert!(has(&all, "list_conversations", "ok", me), "{all:?}");
    assert!(has(&all, "me", "ok", me), "{all:?}");
    assert!(has(&all, "unknown_route", "not_found", me), "{all:?}");
    assert!(
        has(&all, "DELETE /api/me", "method_not_allowed", me),
        "{all:?}"
    );
    assert!(
        all.iter().any(|r| r.1 == "GET /api/events" && r.4 != "ok"),
        "{all:?}"
    );
    assert_eq!(
        all.iter()
            .filter(|r| r.1 == "open_events" && r.4 == "ok")
            .count(),
        2,
        "{all:?}"
    );
    assert!(has(&all, "events_auth", "auth_timeout", None), "{all:?}");
    assert!(
        has(&all, "events_auth", "ok", Some(&doctor.device_id)),
        "{all:?}"
    );
    let output = files.verify_cli(&db, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
}

#[tokio::test]
async fn requests_refused_by_ids_throttling_timeouts_and_quotas_leave_a_record() {
    use tokio::io::AsyncWriteExt as _;
    let db = temp_db("audit-refusals");
    let config = Config {
        demo: true,
        quota_bytes: 300 * 1024,
        timeouts: careseal_relay::state::Timeouts {
            request: Duration::from_secs(1),
            body: Duration::from_secs(30),
            ..Default::default()
        },
        ..Config::default()
    };
    let relay = Relay::start_with(db.clone(), config).await;
    let files = relay.audit.clone();
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. R").await;
    let pat = patient(&c, &relay, &doctor, "P").await;
    let conv = conversation_of(&c, &relay, &pat).await;

    // 400: a path id outside the text rules, refused before the handler.
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

    // 408: a request trickled past the request timeout, cut off outside
    // its handler.
    let stream = raw_connection(&relay.url).await;
    let (mut read, mut write) = stream.into_split();
    let head = format!(
        "POST /api/conversations/{conv}/envelopes HTTP/1.1\r\nHost: relay\r\n\
         Authorization: Bearer {}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n",
        pat.token
    );
    write.write_all(head.as_bytes()).await.unwrap();
    let trickle = tokio::spawn(async move {
        for _ in 0..100 {
            if write.write_all(b" ").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let answer = read_response_head(&mut read, Duration::from_secs(5))
        .await
        .expect("no answer to a trickled request");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    trickle.abort();

    // 413: an upload past the user's quota.
    let upload = || {
        c.post(format!("{}/api/conversations/{conv}/blobs", relay.url))
            .bearer_auth(&pat.token)
            .body(
                careseal::attachment::encrypt(&vec![7u8; 200 * 1024], "f", "")
                    .unwrap()
                    .0,
            )
            .send()
    };
    assert_eq!(upload().await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        upload().await.unwrap().status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );

    // 429: registrations from an address that has spent its failure budget.
    let mut statuses = Vec::new();
    for i in 0..22 {
        statuses.push(register(&c, &relay, &format!("wrong-{i}"), "Guess").await.0);
    }
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS));
    relay.stop().await;

    let all = rows(&db);
    let (doc, me) = (
        Some(doctor.device_id.as_str()),
        Some(pat.device_id.as_str()),
    );
    assert!(
        has(
            &all,
            "GET /api/devices/{id}/bundle",
            "malformed_request",
            doc
        ),
        "{all:?}"
    );
    assert!(
        has(
            &all,
            "POST /api/conversations/{id}/envelopes",
            "request_timeout",
            me
        ),
        "{all:?}"
    );
    assert!(
        all.iter().any(|r| r.1 == "upload_blob"
            && r.4 == "quota_exceeded"
            && r.2.as_deref() == Some(conv.as_str())
            && r.3.as_deref() == me),
        "{all:?}"
    );
    // The two past the budget are one summary record, not two records.
    assert!(
        has(&all, "auth_throttled", "refused=2 window=60s", None),
        "{all:?}"
    );
    assert!(!has(&all, "register", "rate_limited", None), "{all:?}");
    // The flags carry their count in the outcome; no target but issued ids.
    assert!(
        has(
            &all,
            "auth_failures_flagged",
            "failures=20 window=600s",
            None
        ),
        "{all:?}"
    );
    assert!(
        all.iter().filter_map(|r| r.2.as_deref()).all(is_issued_id),
        "{all:?}"
    );
    let output = files.verify_cli(&db, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
}

#[tokio::test]
async fn mailbox_fetch_and_acknowledge_name_the_mailbox() {
    let db = temp_db("audit-mailbox");
    let relay = Relay::start(db.clone()).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. K").await;
    let pat = patient(&c, &relay, &doctor, "P").await;
    let conv = conversation_of(&c, &relay, &pat).await;
    let (status, _) = relay
        .call(
            &c,
            Method::POST,
            format!("/api/conversations/{conv}/envelopes"),
            Some(&pat.token),
            Some(json!({ "recipientDevice": doctor.device_id, "body": envelope("x") })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, mail) = relay
        .call(&c, Method::GET, "/api/mailbox", Some(&doctor.token), None)
        .await;
    let id = mail["envelopes"][0]["id"].clone();
    let (_, acked) = relay
        .call(
            &c,
            Method::POST,
            "/api/mailbox/ack",
            Some(&doctor.token),
            Some(json!({ "ids": [id] })),
        )
        .await;
    assert_eq!(acked["acknowledged"], 1);
    relay.stop().await;

    let all = rows(&db);
    for action in ["fetch_mailbox", "acknowledge"] {
        let row = all.iter().find(|r| r.1 == action).unwrap();
        assert_eq!(row.2.as_deref(), Some(doctor.device_id.as_str()), "{row:?}");
    }
}

#[tokio::test]
async fn text_a_client_put_in_a_path_never_reaches_the_log() {
    let db = temp_db("audit-targets");
    let relay = Relay::start(db.clone()).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. L").await;
    let pat = patient(&c, &relay, &doctor, "P").await;
    let long = "A".repeat(60_000);
    let bearer = format!("Bearer%20{}", pat.token);
    for (method, path, token) in [
        (Method::GET, format!("/api/blobs/{long}"), &pat.token),
        (
            Method::POST,
            format!("/api/devices/{long}/revoke"),
            &doctor.token,
        ),
        (
            Method::GET,
            format!("/api/conversations/{long}/stored"),
            &pat.token,
        ),
        (
            Method::GET,
            format!("/api/devices/{bearer}/bundle"),
            &doctor.token,
        ),
        (
            Method::POST,
            format!("/api/conversations/{bearer}/envelopes"),
            &pat.token,
        ),
        (Method::GET, format!("/api/{bearer}/{long}"), &pat.token),
        (
            Method::from_bytes(format!("Bearer-{}", "A".repeat(1000)).as_bytes()).unwrap(),
            "/api/me".to_string(),
            &pat.token,
        ),
    ] {
        let (status, _) = relay.call(&c, method, &path, Some(token), None).await;
        assert!(status.is_client_error(), "{status} {}", &path[..40]);
    }
    relay.stop().await;

    let conn = Connection::open(&db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT coalesce(user_id, '') || ' ' || coalesce(device_id, '') || ' ' || action
               || ' ' || coalesce(target, '') || ' ' || ip || ' ' || outcome, target FROM audit",
        )
        .unwrap();
    let all: Vec<(String, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(all.len() >= 8);
    for (text, target) in &all {
        assert!(text.len() < 200, "{}", &text[..200]);
        assert!(!text.contains("AAAAAAAAAAAAAAAAAAAAAAAA"), "{text}");
        assert!(
            !text.contains("Bearer") && !text.contains(&pat.token),
            "{text}"
        );
        if let Some(target) = target {
            assert!(is_issued_id(target), "{target}");
        }
    }
}

#[tokio::test]
async fn a_change_and_its_audit_record_commit_together() {
    let db = temp_db("audit-atomic");
    let relay = Relay::start(db.clone()).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. M").await;
    let pat = patient(&c, &relay, &doctor, "P").await;
    let conv = conversation_of(&c, &relay, &pat).await;
    let invitation = invite(&c, &relay, &doctor, None).await;

    let conn = Connection::open(&db).unwrap();
    let count = |table: &str| -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    let (status, _) = relay
        .call(
            &c,
            Method::POST,
            format!("/api/conversations/{conv}/envelopes"),
            Some(&doctor.token),
            Some(json!({ "recipientDevice": pat.device_id, "body": envelope("queued") })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (users, audited) = (count("users"), count("audit"));
    conn.execute_batch(
        "CREATE TRIGGER audit_refuses BEFORE INSERT ON audit
         BEGIN SELECT RAISE(ABORT, 'audit insert refused'); END;",
    )
    .unwrap();

    let (status, _) = relay
        .call(
            &c,
            Method::POST,
            format!("/api/conversations/{conv}/envelopes"),
            Some(&pat.token),
            Some(json!({ "recipientDevice": doctor.device_id, "body": envelope("x") })),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let upload = c
        .post(format!("{}/api/conversations/{conv}/blobs", relay.url))
        .bearer_auth(&pat.token)
        .body(careseal::attachment::encrypt(b"scan", "f", "").unwrap().0)
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let (status, _) = register(&c, &relay, &invitation, "Q").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    // Revoking deletes the device's queued envelopes with the revocation,
    // and neither happens without its record.
    let (status, _) = relay
        .call(
            &c,
            Method::POST,
            format!("/api/devices/{}/revoke", pat.device_id),
            Some(&doctor.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);

    conn.execute_batch("DROP TRIGGER audit_refuses").unwrap();
    assert_eq!(count("envelopes"), 1, "the queued envelope is still there");
    let revoked: i64 = conn
        .query_row(
            "SELECT count(*) FROM devices WHERE revoked_at IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(revoked, 0);
    assert_eq!(count("blobs"), 0);
    assert_eq!(count("users"), users);
    assert_eq!(count("audit"), audited);
    // The invitation was not used up by the failed registration.
    let (status, _) = register(&c, &relay, &invitation, "Q").await;
    assert_eq!(status, StatusCode::CREATED);
    relay.stop().await;
}

#[test]
fn keygen_writes_private_keys_0600_and_never_overwrites() {
    let db = temp_db("audit-keygen");
    let dir = db.parent().unwrap();
    let (audit_key, signing_key) = (dir.join("k.audit"), dir.join("k.sign"));
    for path in [&audit_key, &signing_key, &dir.join("k.sign.pub")] {
        let _ = std::fs::remove_file(path);
    }
    let keygen = || {
        Command::new(env!("CARGO_BIN_EXE_careseal-relay"))
            .arg("keygen")
            .arg("--audit-key")
            .arg(&audit_key)
            .arg("--checkpoint-key")
            .arg(&signing_key)
            .output()
            .unwrap()
    };
    assert_eq!(keygen().status.code(), Some(0));
    let before = std::fs::read(&audit_key).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for path in [&audit_key, &signing_key] {
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", path.display());
        }
    }
    assert!(dir.join("k.sign.pub").exists());
    assert_eq!(keygen().status.code(), Some(2));
    assert_eq!(std::fs::read(&audit_key).unwrap(), before);
    AuditKey::load(&audit_key).unwrap();
    assert!(
        AuditKey::load(&signing_key).is_err(),
        "a key of another kind"
    );

    // Without keys only a demo relay starts (and keeps them beside its
    // database); a production relay refuses, before it creates anything.
    let output = Command::new(env!("CARGO_BIN_EXE_careseal-relay"))
        .args(["serve", "--addr", "127.0.0.1:0", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(!db.exists());
}

#[cfg(unix)]
#[test]
fn a_demo_relay_keeps_its_keys_beside_the_database_and_checkpoints_at_shutdown() {
    let db = temp_db("audit-demo");
    let beside = |suffix: &str| format!("{}{suffix}", db.display());
    for suffix in [
        ".audit-key",
        ".checkpoint-key",
        ".checkpoint-key.pub",
        ".checkpoints",
    ] {
        let _ = std::fs::remove_file(beside(suffix));
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_careseal-relay"))
        .args(["serve", "--demo", "--addr", "127.0.0.1:0", "--db"])
        .arg(&db)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(url) = line.strip_prefix("careseal-relay listening on http://") {
            break url.trim_end_matches('/').to_string();
        }
    };
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "POST /api/demo/clinician-invitation HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(child.wait().unwrap().success());

    use std::os::unix::fs::PermissionsExt as _;
    for secret in [".audit-key", ".checkpoint-key"] {
        let mode = std::fs::metadata(beside(secret))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{secret}");
    }
    let checkpoints = std::fs::read_to_string(beside(".checkpoints")).unwrap();
    assert_eq!(checkpoints.lines().count(), 1, "{checkpoints}");
    let output = Command::new(env!("CARGO_BIN_EXE_careseal-relay"))
        .args(["verify-audit", "--db"])
        .arg(&db)
        .args(["--audit-key", &beside(".audit-key")])
        .args(["--checkpoints", &beside(".checkpoints")])
        .args(["--checkpoint-public-key", &beside(".checkpoint-key.pub")])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("reaches the latest of 1 signed checkpoints"));
}

#[tokio::test]
async fn an_emptied_checkpoints_file_fails_verification_and_a_torn_line_is_ignored() {
    let db = temp_db("audit-no-checkpoints");
    let relay = Relay::start(db.clone()).await;
    let files = relay.audit.clone();
    some_activity(&relay, 0).await;
    relay.stop().await;
    let output = files.verify_cli(&db, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("0 records after the last checkpoint"),
        "{}",
        stdout(&output)
    );
    let saved = std::fs::read_to_string(&files.checkpoints).unwrap();

    std::fs::write(&files.checkpoints, "").unwrap();
    let output = files.verify_cli(&db, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("holds no checkpoint"),
        "{}",
        stdout(&output)
    );

    // A crash mid-write leaves an unterminated part of a line: reported,
    // not counted, and not a reason to call the log tampered.
    std::fs::write(
        &files.checkpoints,
        format!("{saved}careseal-relay-checkpoint-v1 9 ab"),
    )
    .unwrap();
    let output = files.verify_cli(&db, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("unterminated"),
        "{}",
        stdout(&output)
    );
    // Terminated, the same text is a malformed line.
    std::fs::write(
        &files.checkpoints,
        format!("{saved}careseal-relay-checkpoint-v1 9 ab\n"),
    )
    .unwrap();
    let output = files.verify_cli(&db, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
}

#[cfg(unix)]
#[tokio::test]
async fn serve_refuses_a_missing_checkpoints_file_for_a_log_with_records() {
    let db = temp_db("audit-serve-no-checkpoints");
    let beside = |suffix: &str| format!("{}{suffix}", db.display());
    for suffix in [
        ".audit-key",
        ".checkpoint-key",
        ".checkpoint-key.pub",
        ".checkpoints",
    ] {
        let _ = std::fs::remove_file(beside(suffix));
    }
    let mut relay = Process::start(&db, &[]);
    let (status, _) = call(
        &client(),
        Method::POST,
        format!("{}/api/demo/clinician-invitation", relay.url),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    relay.terminate();
    assert!(
        relay
            .exit_within(Duration::from_secs(20))
            .await
            .unwrap()
            .success()
    );
    drop(relay);
    let saved = std::fs::read_to_string(beside(".checkpoints")).unwrap();
    assert_eq!(saved.lines().count(), 1);

    std::fs::remove_file(beside(".checkpoints")).unwrap();
    let serve = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_careseal-relay"))
            .args(["serve", "--demo", "--addr", "127.0.0.1:0", "--db"])
            .arg(&db)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let refused = serve(&[]).wait_with_output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("--new-checkpoints"), "{said}");
    std::fs::write(beside(".checkpoints"), "").unwrap();
    assert_eq!(
        serve(&[]).wait().unwrap().code(),
        Some(1),
        "an emptied file"
    );

    // On purpose, a new file starts.
    let relay = Process::start(&db, &["--new-checkpoints"]);
    relay.terminate();
    drop(relay);

    // A torn last line after a crash is reported and cut off at start.
    std::fs::write(
        beside(".checkpoints"),
        format!("{saved}careseal-relay-checkpoint-v1 2 0f"),
    )
    .unwrap();
    let mut relay = Process::start(&db, &[]);
    relay.terminate();
    assert!(
        relay
            .exit_within(Duration::from_secs(20))
            .await
            .unwrap()
            .success()
    );
    let text = std::fs::read_to_string(beside(".checkpoints")).unwrap();
    assert!(text.starts_with(&saved) && text.ends_with('\n'), "{text}");
    let output = Command::new(env!("CARGO_BIN_EXE_careseal-relay"))
        .args(["verify-audit", "--db"])
        .arg(&db)
        .args(["--audit-key", &beside(".audit-key")])
        .args(["--checkpoints", &beside(".checkpoints")])
        .args(["--checkpoint-public-key", &beside(".checkpoint-key.pub")])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
}

#[cfg(unix)]
#[tokio::test]
async fn database_files_are_private_and_exposed_secret_keys_are_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let db = temp_db("audit-modes");
    let relay = Relay::start(db.clone()).await;
    let files = relay.audit.clone();
    some_activity(&relay, 0).await;
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", db.display());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{path}");
    }
    relay.stop().await;

    for key in [&files.audit_key, &files.checkpoint_key] {
        std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    let error = AuditKey::load(&files.audit_key).unwrap_err().to_string();
    assert!(error.contains("mode 0640"), "{error}");
    assert!(CheckpointKey::load(&files.checkpoint_key).is_err());
    let output = Command::new(env!("CARGO_BIN_EXE_careseal-relay"))
        .args(["serve", "--addr", "127.0.0.1:0", "--db"])
        .arg(&db)
        .arg("--audit-key")
        .arg(&files.audit_key)
        .arg("--checkpoint-key")
        .arg(&files.checkpoint_key)
        .arg("--checkpoints")
        .arg(&files.checkpoints)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("chmod 600"), "{said}");
    // The public key is not secret.
    careseal_relay::audit::keys::CheckpointPublicKey::load(&files.public_key).unwrap();
}
