//! A bounded load test on loopback: several patient devices post to their
//! clinician while the clinician fetches and acknowledges, for a fixed time.
//! Prints throughput and latency percentiles; asserts that every envelope the
//! relay acknowledged to a sender was delivered exactly once.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use support::*;

const PATIENTS: usize = 12;
const RUN_FOR: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "scripts/test.sh runs it with --ignored --nocapture so its figures are printed"]
async fn concurrent_devices_lose_no_acknowledged_envelope() {
    let relay = Relay::start(temp_db("load")).await;
    let c = client();
    let doctor = clinician(&c, &relay, "Dr. Load").await;
    let mut patients = Vec::new();
    for i in 0..PATIENTS {
        let p = patient(&c, &relay, &doctor, &format!("P{i}")).await;
        let conv = conversation_of(&c, &relay, &p).await;
        patients.push((p, conv));
    }
    // Envelopes are valid sealed messages; prepare a few to reuse so the
    // test measures the relay, not key agreement.
    let bodies: Vec<String> = (0..8).map(|i| envelope(&format!("load {i}"))).collect();
    let deadline = Instant::now() + RUN_FOR;

    let senders = patients.into_iter().map(|(p, conv)| {
        let (c, url, to, bodies) = (
            c.clone(),
            format!("{}/api/conversations/{conv}/envelopes", relay.url),
            doctor.device_id.clone(),
            bodies.clone(),
        );
        tokio::spawn(async move {
            let mut accepted = Vec::new();
            let mut latencies = Vec::new();
            let mut limited = 0usize;
            let mut i = 0;
            while Instant::now() < deadline {
                let start = Instant::now();
                let (status, v) = call(
                    &c,
                    Method::POST,
                    url.clone(),
                    Some(&p.token),
                    Some(json!({ "recipientDevice": to, "body": bodies[i % bodies.len()] })),
                )
                .await;
                latencies.push(start.elapsed());
                if status == StatusCode::OK {
                    accepted.push(v["id"].as_str().unwrap().to_string());
                } else {
                    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
                    limited += 1;
                }
                i += 1;
            }
            (accepted, latencies, limited)
        })
    });
    // Spawn every sender now (the iterator is lazy).
    let senders: Vec<_> = senders.collect();

    // Set once every sender has finished; the receiver then drains the rest.
    let senders_done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let receiver = {
        let done = std::sync::Arc::clone(&senders_done);
        let (c, url, ack, token) = (
            c.clone(),
            format!("{}/api/mailbox", relay.url),
            format!("{}/api/mailbox/ack", relay.url),
            doctor.token.clone(),
        );
        tokio::spawn(async move {
            let mut received = Vec::new();
            let mut latencies = Vec::new();
            loop {
                // Read the flag before fetching: an empty mailbox after every
                // sender finished means nothing is left.
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let start = Instant::now();
                let (status, mail) = call(&c, Method::GET, url.clone(), Some(&token), None).await;
                latencies.push(start.elapsed());
                if status != StatusCode::OK {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                let ids: Vec<String> = mail["envelopes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["id"].as_str().unwrap().to_string())
                    .collect();
                if ids.is_empty() {
                    if finished {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
                let (status, _) = call(
                    &c,
                    Method::POST,
                    ack.clone(),
                    Some(&token),
                    Some(json!({ "ids": &ids })),
                )
                .await;
                if status == StatusCode::OK {
                    received.extend(ids);
                }
            }
            (received, latencies)
        })
    };

    let mut accepted = Vec::new();
    let mut latencies = Vec::new();
    let mut limited = 0;
    for sender in senders {
        let (ids, lat, rate_limited) = sender.await.unwrap();
        accepted.extend(ids);
        latencies.extend(lat);
        limited += rate_limited;
    }
    senders_done.store(true, std::sync::atomic::Ordering::SeqCst);
    let (received, fetch_latencies) = receiver.await.unwrap();

    latencies.sort_unstable();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    println!(
        "load: {} devices, {} envelopes accepted ({} rate-limited) in {:?} ({:.0}/s); post latency p50 {:?} p95 {:?} p99 {:?}; {} mailbox fetches",
        PATIENTS,
        accepted.len(),
        limited,
        RUN_FOR,
        accepted.len() as f64 / RUN_FOR.as_secs_f64(),
        pct(0.5),
        pct(0.95),
        pct(0.99),
        fetch_latencies.len(),
    );
    assert!(!accepted.is_empty());
    let received_set: HashSet<&String> = received.iter().collect();
    assert_eq!(
        received_set.len(),
        received.len(),
        "an envelope was delivered twice"
    );
    let accepted_set: HashSet<&String> = accepted.iter().collect();
    assert_eq!(
        received_set, accepted_set,
        "acknowledged envelopes were lost"
    );
    relay.stop().await;
}
