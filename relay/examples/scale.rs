//! How the relay's access checks scale with the size of a clinician's panel.
//! Not a test: nothing here passes or fails on speed.
//!
//! For each N (default 10, 1,000 and 10,000) it seeds a fresh database with
//! one clinician and N patients, each patient in a conversation with the
//! clinician and each device with a prekey bundle, starts the relay on
//! 127.0.0.1:0 and measures, over a bounded number of requests:
//!
//! - a bundle fetch by the clinician (of a patient's device) and by a patient
//!   (of the clinician's device): both ask whether two users share a
//!   conversation;
//! - the clinician's conversation list, its first page (`?limit=100`) and all
//!   of it (which is necessarily as large as the panel);
//! - the clinician's mailbox;
//! - another user's mailbox, idle and while the clinician runs two heavy
//!   calls in loops of their own: bundle fetches, and either the whole
//!   conversation list or its first page.
//!
//! It prints p50 and p99 in milliseconds and the ratios to the anchors of the
//! same run: p50 and p99 at N over those at the smallest N, and the other
//! user's p50 and p99 under load over theirs idle. The relay runs on a tokio
//! runtime of its own, beside the client's, on the same cores.
//!
//! ```text
//! cargo run --release -p careseal-relay --example scale
//! SCALE_N=10,1000 SCALE_REQUESTS=100 SCALE_BUDGET_SECS=2 cargo run --release -p careseal-relay --example scale
//! ```
//!
//! Each measurement stops after `SCALE_REQUESTS` requests (default 200) or
//! `SCALE_BUDGET_SECS` seconds (default 3), whichever comes first, so a run
//! stays bounded even when a call is slow. Requests are paced to stay under
//! the relay's per-device rate limit, so no answer is a 429.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use careseal::prekey::MAX_ONE_TIME_PREKEYS_PER_BUNDLE;
use careseal::{Account, PreKeyBundle};
use careseal_relay::audit::keys::AuditKey;
use careseal_relay::ids;
use careseal_relay::sqlite::SqliteStore;
use careseal_relay::state::Config;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Devices of the clinician and of the other user (phone, laptop, desk).
const DEVICES_PER_USER: usize = 3;
/// Envelopes queued in each of those devices' mailboxes.
const QUEUED_PER_DEVICE: usize = 20;
/// Requests per second per device token: under the relay's 50/s limit.
const PER_TOKEN_RATE: f64 = 40.0;
/// Page size for the paginated conversation list.
const PAGE: usize = 100;

struct Settings {
    sizes: Vec<usize>,
    requests: usize,
    budget: Duration,
}

impl Settings {
    fn from_env() -> Result<Self, Error> {
        let sizes = std::env::var("SCALE_N")
            .unwrap_or_else(|_| "10,1000,10000".into())
            .split(',')
            .map(|n| n.trim().parse::<usize>())
            .collect::<Result<Vec<_>, _>>()?;
        if sizes.is_empty() || sizes.contains(&0) {
            return Err("SCALE_N: comma-separated panel sizes, each at least 1".into());
        }
        let requests = std::env::var("SCALE_REQUESTS")
            .map(|v| v.parse())
            .unwrap_or(Ok(200))?;
        let budget = std::env::var("SCALE_BUDGET_SECS")
            .map(|v| v.parse())
            .unwrap_or(Ok(3.0))?;
        Ok(Self {
            sizes,
            requests,
            budget: Duration::from_secs_f64(budget),
        })
    }
}

/// A seeded user's device.
#[derive(Clone)]
struct Device {
    id: String,
    token: String,
}

/// What a seeded database holds.
struct Panel {
    clinician: Vec<Device>,
    patients: Vec<Device>,
    /// The first patient's conversation (to queue the clinician's mail).
    first_conversation: String,
    /// A patient of another clinician, and that clinician.
    other: Vec<Device>,
    other_clinician: Device,
    other_conversation: String,
}

/// Latencies of one measured call.
struct Sample {
    latencies: Vec<Duration>,
    failures: usize,
}

impl Sample {
    fn percentile(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        // Nearest rank.
        let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1].as_secs_f64() * 1000.0
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let settings = Settings::from_env()?;
    let mut sizes = settings.sizes.clone();
    sizes.sort_unstable();
    println!(
        "relay scale benchmark: {} requests or {:?} per measurement, {} devices per clinician",
        settings.requests, settings.budget, DEVICES_PER_USER
    );
    let mut rows: Vec<(usize, &'static str, Sample)> = Vec::new();
    let mut others: Vec<Others> = Vec::new();
    for &n in &sizes {
        let started = Instant::now();
        let db = temp_db(n)?;
        let panel = seed(&db, n, settings.requests)?;
        let seeded = started.elapsed();
        let relay = Relay::start(&db)?;
        let client = Client::new();
        queue_mail(&client, &relay, &panel).await?;
        eprintln!("N = {n}: seeded in {seeded:.1?}, measuring");
        let measured = measure(&client, &relay, &panel, &settings).await?;
        for (name, sample) in measured.calls {
            rows.push((n, name, sample));
        }
        others.push((n, measured.other_idle, measured.other_loaded));
        relay.stop().await;
        remove_db(&db);
    }
    print_table(&sizes, &rows, &others);
    Ok(())
}

/// Another user's mailbox at one N: idle, and under each load.
type Others = (usize, Sample, Vec<(&'static str, Sample)>);

struct Measured {
    calls: Vec<(&'static str, Sample)>,
    other_idle: Sample,
    /// Under each kind of load.
    other_loaded: Vec<(&'static str, Sample)>,
}

async fn measure(
    client: &Client,
    relay: &Relay,
    panel: &Panel,
    settings: &Settings,
) -> Result<Measured, Error> {
    let mut calls = Vec::new();
    let mut random = XorShift(0x9e37_79b9_7f4a_7c15);

    // The clinician fetches patients' bundles, patients fetch the clinician's.
    let requests: Vec<Request> = (0..settings.requests)
        .map(|i| {
            let patient = &panel.patients[random.below(panel.patients.len())];
            let clinician = &panel.clinician[i % panel.clinician.len()];
            Request::get(
                format!("/api/devices/{}/bundle", patient.id),
                &clinician.token,
            )
        })
        .collect();
    let rate = PER_TOKEN_RATE * panel.clinician.len() as f64;
    calls.push((
        "bundle fetch, clinician of patient",
        run(client, relay, &requests, rate, settings.budget).await,
    ));
    let requests: Vec<Request> = (0..settings.requests)
        .map(|i| {
            let patient = &panel.patients[random.below(panel.patients.len())];
            let clinician = &panel.clinician[i % panel.clinician.len()];
            Request::get(
                format!("/api/devices/{}/bundle", clinician.id),
                &patient.token,
            )
        })
        .collect();
    calls.push((
        "bundle fetch, patient of clinician",
        run(client, relay, &requests, rate, settings.budget).await,
    ));

    // The conversation list: a page of PAGE, and the default page (every
    // list is paged; the whole list is read page by page).
    let page = format!("/api/conversations?limit={PAGE}");
    let default_page = "/api/conversations".to_string();
    let expected = panel.patients.len();
    check_list(client, relay, &panel.clinician[0], expected).await?;
    let by_clinician = |path: &str| -> Vec<Request> {
        (0..settings.requests)
            .map(|i| {
                Request::get(
                    path.to_string(),
                    &panel.clinician[i % panel.clinician.len()].token,
                )
            })
            .collect()
    };
    calls.push((
        "conversation list, first page",
        run(client, relay, &by_clinician(&page), rate, settings.budget).await,
    ));
    calls.push((
        "conversation list, default page",
        run(
            client,
            relay,
            &by_clinician(&default_page),
            rate,
            settings.budget,
        )
        .await,
    ));
    calls.push((
        "mailbox, clinician",
        run(
            client,
            relay,
            &by_clinician("/api/mailbox"),
            rate,
            settings.budget,
        )
        .await,
    ));

    // Another user's mailbox, idle and while two clinician-heavy calls loop.
    let other: Vec<Request> = (0..settings.requests)
        .map(|i| {
            Request::get(
                "/api/mailbox".into(),
                &panel.other[i % panel.other.len()].token,
            )
        })
        .collect();
    let other_rate = PER_TOKEN_RATE * panel.other.len() as f64;
    let other_idle = run(client, relay, &other, other_rate, settings.budget).await;
    let bundles: Vec<Request> = panel
        .patients
        .iter()
        .take(settings.requests)
        .map(|p| {
            Request::get(
                format!("/api/devices/{}/bundle", p.id),
                &panel.clinician[2 % panel.clinician.len()].token,
            )
        })
        .collect();
    let lister = &panel.clinician[1 % panel.clinician.len()].token;
    let mut other_loaded = Vec::new();
    let largest_page = "/api/conversations?limit=500".to_string();
    for (load, list) in [
        ("bundle fetches + pages of 500", &largest_page),
        ("bundle fetches + pages of 100", &page),
    ] {
        let heavy = [vec![Request::get(list.clone(), lister)], bundles.clone()];
        let sample =
            while_looping(client, relay, heavy, &other, other_rate, settings.budget).await?;
        other_loaded.push((load, sample));
    }
    Ok(Measured {
        calls,
        other_idle,
        other_loaded,
    })
}

/// Measures `measured` while each list of `heavy` requests repeats in a
/// loop of its own.
async fn while_looping(
    client: &Client,
    relay: &Relay,
    heavy: [Vec<Request>; 2],
    measured: &[Request],
    rate: f64,
    budget: Duration,
) -> Result<Sample, Error> {
    let stop = Arc::new(AtomicBool::new(false));
    let loops = heavy.map(|requests| {
        let (client, relay_url, stop) = (client.clone(), relay.url.clone(), Arc::clone(&stop));
        tokio::spawn(async move { loop_until(&client, &relay_url, &requests, &stop).await })
    });
    // Let both loops get going before measuring.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let sample = run(client, relay, measured, rate, budget).await;
    stop.store(true, Ordering::SeqCst);
    for task in loops {
        task.await?;
    }
    Ok(sample)
}

/// One GET with a device token.
#[derive(Clone)]
struct Request {
    path: String,
    token: String,
}

impl Request {
    fn get(path: String, token: &str) -> Self {
        Self {
            path,
            token: token.to_string(),
        }
    }
}

/// Sends `requests` one after another, paced at `rate` per second, until
/// they are done or `budget` has passed (at least one is always sent).
async fn run(
    client: &Client,
    relay: &Relay,
    requests: &[Request],
    rate: f64,
    budget: Duration,
) -> Sample {
    let started = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut sample = Sample {
        latencies: Vec::new(),
        failures: 0,
    };
    for (i, request) in requests.iter().enumerate() {
        if i > 0 && started.elapsed() >= budget {
            break;
        }
        tokio::time::sleep_until((started + interval * i as u32).into()).await;
        let begun = Instant::now();
        let ok = send(client, &relay.url, request).await;
        sample.latencies.push(begun.elapsed());
        if !ok {
            sample.failures += 1;
        }
    }
    sample
}

/// Repeats `requests` back to back (each token at most `PER_TOKEN_RATE`
/// per second) until `stop` is set.
async fn loop_until(client: &Client, url: &str, requests: &[Request], stop: &AtomicBool) {
    let interval = Duration::from_secs_f64(1.0 / PER_TOKEN_RATE);
    let mut next = Instant::now();
    for request in requests.iter().cycle() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        tokio::time::sleep_until(next.into()).await;
        next = Instant::now().max(next) + interval;
        send(client, url, request).await;
    }
}

/// Sends a request and reads the whole body; true on 200.
async fn send(client: &Client, url: &str, request: &Request) -> bool {
    let response = client
        .get(format!("{url}{}", request.path))
        .bearer_auth(&request.token)
        .send()
        .await;
    match response {
        Ok(response) => {
            let status = response.status();
            response.bytes().await.is_ok() && status == StatusCode::OK
        }
        Err(_) => false,
    }
}

/// The pages really hold every conversation once (outside the timed
/// requests).
async fn check_list(
    client: &Client,
    relay: &Relay,
    who: &Device,
    expected: usize,
) -> Result<(), Error> {
    let mut found = 0;
    let mut query = "?limit=500".to_string();
    loop {
        let list: Value = client
            .get(format!("{}/api/conversations{query}", relay.url))
            .bearer_auth(&who.token)
            .send()
            .await?
            .json()
            .await?;
        found += list["conversations"].as_array().map_or(0, Vec::len);
        match list["next"].as_str() {
            Some(next) => query = format!("?limit=500&after={next}"),
            None => break,
        }
    }
    if found != expected {
        return Err(format!("the clinician sees {found} conversations, not {expected}").into());
    }
    Ok(())
}

fn print_table(sizes: &[usize], rows: &[(usize, &'static str, Sample)], others: &[Others]) {
    let anchor = sizes[0];
    println!();
    println!(
        "{:<36} {:>7} {:>9} {:>9} {:>10} {:>10} {:>9}",
        "call",
        "N",
        "p50 ms",
        "p99 ms",
        format!("p50/N={anchor}"),
        format!("p99/N={anchor}"),
        "requests"
    );
    let mut names: Vec<&str> = Vec::new();
    for (_, name, _) in rows {
        if !names.contains(name) {
            names.push(name);
        }
    }
    for name in names {
        let base = rows
            .iter()
            .find(|(n, r, _)| *n == anchor && *r == name)
            .map(|(_, _, s)| (s.percentile(0.5), s.percentile(0.99)))
            .unwrap_or((f64::NAN, f64::NAN));
        for (n, _, sample) in rows.iter().filter(|(_, r, _)| *r == name) {
            let (p50, p99) = (sample.percentile(0.5), sample.percentile(0.99));
            println!(
                "{:<36} {:>7} {:>9.2} {:>9.2} {:>9.1}x {:>9.1}x {:>9}{}",
                name,
                n,
                p50,
                p99,
                p50 / base.0,
                p99 / base.1,
                sample.latencies.len(),
                failures(sample)
            );
        }
    }
    println!();
    println!(
        "another user's mailbox, idle and while the clinician runs two loops (bundle fetches and conversation lists):"
    );
    println!(
        "{:>7} {:<30} {:>9} {:>9} {:>11} {:>11} {:>9} {:>9}",
        "N", "load", "idle p50", "idle p99", "loaded p50", "loaded p99", "p50 slow", "p99 slow"
    );
    for (n, idle, loads) in others {
        let (i50, i99) = (idle.percentile(0.5), idle.percentile(0.99));
        for (load, loaded) in loads {
            let (l50, l99) = (loaded.percentile(0.5), loaded.percentile(0.99));
            println!(
                "{:>7} {:<30} {:>9.2} {:>9.2} {:>11.2} {:>11.2} {:>8.1}x {:>8.1}x{}{}",
                n,
                load,
                i50,
                i99,
                l50,
                l99,
                l50 / i50,
                l99 / i99,
                failures(idle),
                failures(loaded)
            );
        }
    }
    println!("(milliseconds)");
}

fn failures(sample: &Sample) -> String {
    if sample.failures == 0 {
        String::new()
    } else {
        format!("  ({} not 200)", sample.failures)
    }
}

/// A relay serving `db` on loopback, on a runtime of its own so that the
/// benchmark's client does not queue on the relay's async workers.
struct Relay {
    url: String,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    runtime: tokio::runtime::Runtime,
}

impl Relay {
    fn start(db: &Path) -> Result<Self, Error> {
        let store = Arc::new(open(db)?);
        let listener = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        listener.set_nonblocking(true)?;
        let url = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        // Every measured bundle fetch takes a one-time prekey, as it would
        // from a requester that has not used up its hand-outs.
        let config = Config {
            prekey_handouts: u32::MAX,
            ..Config::default()
        };
        let relay = careseal_relay::Relay::new(store, config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("relay")
            .build()?;
        let task = runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            relay
                .serve(listener, async move {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(Self {
            url,
            stop,
            task,
            runtime,
        })
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
        self.runtime.shutdown_background();
    }
}

fn temp_db(n: usize) -> Result<PathBuf, Error> {
    let dir = std::env::temp_dir().join(format!("careseal-relay-scale-{}-{n}", std::process::id()));
    let db = dir.join("relay.sqlite");
    remove_db(&db);
    std::fs::create_dir_all(&dir)?;
    Ok(db)
}

fn remove_db(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    if let Some(dir) = db.parent() {
        let _ = std::fs::remove_dir(dir);
    }
}

/// Seeds one clinician with `n` patients, and another clinician with one
/// patient, in one transaction. The relay creates the schema; the rows are
/// written with SQL (the store's API registers one user per transaction,
/// each synced to disk, which would take minutes at N = 10,000).
fn seed(db: &Path, n: usize, requests: usize) -> Result<Panel, Error> {
    drop(open(db)?);
    let mut conn = rusqlite::Connection::open(db)?;
    let tx = conn.transaction()?;
    // Every device publishes the same bundle: the relay never looks inside
    // beyond parsing it. Enough one-time prekeys that the measured fetches
    // (spread over the panel) take one each.
    let mut account = Account::new().map_err(|e| format!("{e:?}"))?;
    account
        .generate_one_time_prekeys(MAX_ONE_TIME_PREKEYS_PER_BUNDLE)
        .map_err(|e| format!("{e:?}"))?;
    let full = account.prekey_bundle();
    let keys: Vec<(u32, [u8; 32])> = full
        .one_time_prekeys()
        .iter()
        .map(|k| (k.id, k.key))
        .collect();
    let base = full
        .with_one_time_prekey(None)
        .ok_or("bundle without one-time prekeys")?
        .to_bytes();
    PreKeyBundle::from_bytes(&base).map_err(|e| format!("{e:?}"))?;

    let now = careseal_relay::state::now_ms();
    let add_user =
        |role: &str, name: &str, devices: usize| -> Result<(String, Vec<Device>), Error> {
            let user = new_id("u")?;
            tx.execute(
                "INSERT INTO users (id, role, display_name, created_at) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![user, role, name, now],
            )?;
            let mut list = Vec::new();
            for _ in 0..devices {
                let device = Device {
                    id: new_id("d")?,
                    token: ids::random_text(32).map_err(|e| e.0)?,
                };
                tx.execute(
                "INSERT INTO devices (id, user_id, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![device.id, user, ids::secret_hash(&device.token), now],
            )?;
                tx.execute(
                    "INSERT INTO prekey_bundles (device_id, bundle) VALUES (?1, ?2)",
                    rusqlite::params![device.id, base],
                )?;
                let count = if role == "clinician" {
                    keys.len()
                } else {
                    (2 * requests / n + 2).min(keys.len())
                };
                for (id, key) in &keys[..count] {
                    tx.execute(
                        "INSERT INTO one_time_prekeys (device_id, key_id, key) VALUES (?1, ?2, ?3)",
                        rusqlite::params![device.id, id, &key[..]],
                    )?;
                }
                list.push(device);
            }
            Ok((user, list))
        };
    let (clinician_id, clinician) = add_user("clinician", "Dr. Scale", DEVICES_PER_USER)?;
    let (other_clinician_id, other_clinician) = add_user("clinician", "Dr. Other", 1)?;
    let (other_id, other) = add_user("patient", "Other Patient", DEVICES_PER_USER)?;
    let mut patients = Vec::with_capacity(n);
    let mut members = Vec::with_capacity(n + 1);
    for i in 0..n {
        let (patient_id, mut devices) = add_user("patient", &format!("Patient {i}"), 1)?;
        patients.push(devices.remove(0));
        members.push((clinician_id.clone(), patient_id));
    }
    members.push((other_clinician_id, other_id));
    let mut conversations = Vec::with_capacity(members.len());
    for (a, b) in &members {
        let conversation = new_id("c")?;
        tx.execute(
            "INSERT INTO conversations (id, created_at) VALUES (?1, ?2)",
            rusqlite::params![conversation, now],
        )?;
        for user in [a, b] {
            tx.execute(
                "INSERT INTO conversation_members (conversation_id, user_id) VALUES (?1, ?2)",
                rusqlite::params![conversation, user],
            )?;
        }
        conversations.push(conversation);
    }
    tx.commit()?;
    let other_conversation = conversations.pop().ok_or("no conversation")?;
    Ok(Panel {
        clinician,
        first_conversation: conversations[0].clone(),
        patients,
        other,
        other_clinician: other_clinician.into_iter().next().ok_or("no device")?,
        other_conversation,
    })
}

/// Queues `QUEUED_PER_DEVICE` envelopes in each mailbox that is measured,
/// through the API (a structurally valid sealed message each).
async fn queue_mail(client: &Client, relay: &Relay, panel: &Panel) -> Result<(), Error> {
    let identity = careseal::Identity::generate().map_err(|e| format!("{e:?}"))?;
    let body = STANDARD.encode(
        careseal::sealed::seal(identity.public_identity(), &[0u8; 512], None)
            .map_err(|e| format!("{e:?}"))?,
    );
    let queues = [
        (
            &panel.patients[0],
            &panel.first_conversation,
            &panel.clinician,
        ),
        (
            &panel.other_clinician,
            &panel.other_conversation,
            &panel.other,
        ),
    ];
    for (sender, conversation, recipients) in queues {
        for recipient in recipients {
            for _ in 0..QUEUED_PER_DEVICE {
                let response = client
                    .post(format!(
                        "{}/api/conversations/{conversation}/envelopes",
                        relay.url
                    ))
                    .bearer_auth(&sender.token)
                    .json(&json!({ "recipientDevice": recipient.id, "body": body }))
                    .send()
                    .await?;
                if response.status() != StatusCode::OK {
                    return Err(format!("queueing mail: {}", response.status()).into());
                }
            }
        }
    }
    Ok(())
}

/// Opens the store with a fresh audit key: the benchmark audits every
/// request as the relay does, but never verifies the log.
fn open(db: &Path) -> Result<SqliteStore, Error> {
    SqliteStore::open(db, AuditKey::generate()?).map_err(|e| e.0.into())
}

fn new_id(prefix: &str) -> Result<String, Error> {
    Ok(ids::new_id(prefix).map_err(|e| e.0)?)
}

/// A small deterministic generator, so every run fetches the same devices.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}
