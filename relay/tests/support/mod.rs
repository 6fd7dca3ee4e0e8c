//! A relay on loopback for tests, and a small client.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use careseal_relay::audit::checkpoint::{CheckpointPolicy, Checkpointer};
use careseal_relay::audit::keys::{AuditKey, CheckpointKey};
use careseal_relay::sqlite::SqliteStore;
use careseal_relay::state::Config;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running relay.
pub struct Relay {
    pub url: String,
    pub db: PathBuf,
    pub audit: AuditFiles,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    checkpointer: Option<Checkpointer>,
}

/// The audit keys and checkpoints of a test relay, beside its database.
#[derive(Clone, Debug)]
pub struct AuditFiles {
    pub audit_key: PathBuf,
    pub checkpoint_key: PathBuf,
    pub public_key: PathBuf,
    pub checkpoints: PathBuf,
}

impl AuditFiles {
    /// The files beside `db`; keys are created if missing (so a restarted
    /// relay keeps its keys).
    pub fn beside(db: &std::path::Path) -> Self {
        let dir = db.parent().unwrap();
        let files = Self {
            audit_key: dir.join("audit.key"),
            checkpoint_key: dir.join("checkpoint.key"),
            public_key: dir.join("checkpoint.pub"),
            checkpoints: dir.join("checkpoints"),
        };
        if !files.audit_key.exists() {
            AuditKey::generate()
                .unwrap()
                .save_new(&files.audit_key)
                .unwrap();
            let signing = CheckpointKey::generate().unwrap();
            signing.save_new(&files.checkpoint_key).unwrap();
            signing.public_key().save_new(&files.public_key).unwrap();
        }
        files
    }

    /// `careseal-relay verify-audit` on `db` with these keys and
    /// checkpoints, and `extra` arguments.
    pub fn verify_cli(&self, db: &std::path::Path, extra: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_careseal-relay"))
            .arg("verify-audit")
            .arg("--db")
            .arg(db)
            .arg("--audit-key")
            .arg(&self.audit_key)
            .arg("--checkpoints")
            .arg(&self.checkpoints)
            .arg("--checkpoint-public-key")
            .arg(&self.public_key)
            .args(extra)
            .output()
            .unwrap()
    }
}

pub fn temp_db(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("careseal-relay-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("relay.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    for old in [
        "audit.key",
        "checkpoint.key",
        "checkpoint.pub",
        "checkpoints",
    ] {
        let _ = std::fs::remove_file(dir.join(old));
    }
    db
}

impl Relay {
    pub async fn start(db: PathBuf) -> Self {
        Self::start_with(
            db,
            Config {
                demo: true,
                ..Config::default()
            },
        )
        .await
    }

    pub async fn start_with(db: PathBuf, config: Config) -> Self {
        let audit = AuditFiles::beside(&db);
        let key = AuditKey::load(&audit.audit_key).unwrap();
        let store = Arc::new(SqliteStore::open(&db, key).unwrap());
        let checkpointer = Checkpointer::start(
            store.clone(),
            AuditKey::load(&audit.audit_key).unwrap(),
            CheckpointKey::load(&audit.checkpoint_key).unwrap(),
            audit.checkpoints.clone(),
            CheckpointPolicy {
                every_records: 10,
                ..CheckpointPolicy::default()
            },
        )
        .unwrap();
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(careseal_relay::Relay::new(store, config).serve(
            listener,
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            url,
            db,
            audit,
            stop: Some(stop),
            task: Some(task),
            checkpointer: Some(checkpointer),
        }
    }

    /// Calls the API at `path` (e.g. `/api/me`) on this relay.
    pub async fn call(
        &self,
        c: &Client,
        method: reqwest::Method,
        path: impl AsRef<str>,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        call(
            c,
            method,
            format!("{}{}", self.url, path.as_ref()),
            token,
            body,
        )
        .await
    }

    /// Graceful shutdown; waits until the server has stopped and the last
    /// audit checkpoint is written.
    pub async fn stop(self) {
        self.stop_checkpointed().await.unwrap();
    }

    /// Graceful shutdown; the last audit checkpoint's result.
    pub async fn stop_checkpointed(mut self) -> Result<(), String> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        match self.checkpointer.take() {
            Some(checkpointer) => checkpointer.finish().await,
            None => Ok(()),
        }
    }
}

/// A registered device.
#[derive(Clone, Debug)]
pub struct Device {
    pub user_id: String,
    pub device_id: String,
    pub token: String,
}

pub fn client() -> Client {
    Client::new()
}

pub async fn call(
    c: &Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = c.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let value = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, value)
}

pub async fn register(
    c: &Client,
    relay: &Relay,
    invitation: &str,
    name: &str,
) -> (StatusCode, Value) {
    relay
        .call(
            c,
            reqwest::Method::POST,
            "/api/register",
            None,
            Some(json!({ "invitation": invitation, "displayName": name })),
        )
        .await
}

/// The device a successful `/api/register` answer describes.
pub fn device_of(v: &Value) -> Device {
    Device {
        user_id: v["userId"].as_str().unwrap().to_string(),
        device_id: v["deviceId"].as_str().unwrap().to_string(),
        token: v["token"].as_str().unwrap().to_string(),
    }
}

pub async fn clinician(c: &Client, relay: &Relay, name: &str) -> Device {
    clinician_at(c, &relay.url, name).await
}

pub async fn invite(c: &Client, relay: &Relay, clinician: &Device, ttl: Option<u64>) -> String {
    let body = match ttl {
        Some(t) => json!({ "ttlSeconds": t }),
        None => json!({}),
    };
    let (status, v) = relay
        .call(
            c,
            reqwest::Method::POST,
            "/api/invitations",
            Some(&clinician.token),
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["invitation"].as_str().unwrap().to_string()
}

pub async fn patient(c: &Client, relay: &Relay, clinician: &Device, name: &str) -> Device {
    let code = invite(c, relay, clinician, None).await;
    register_at(c, &relay.url, &code, name).await
}

pub async fn conversation_of(c: &Client, relay: &Relay, who: &Device) -> String {
    conversation_at(c, &relay.url, who).await
}

/// The (address, outcome) of every audit record with this action, in
/// order, read from the database behind a relay.
pub fn audit_rows(db: &std::path::Path, action: &str) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT ip, outcome FROM audit WHERE action = ?1 ORDER BY seq")
        .unwrap();
    stmt.query_map([action], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// An age file (an encrypted attachment) of `len` plaintext bytes.
pub fn attachment(len: usize) -> Vec<u8> {
    careseal::attachment::encrypt(&vec![7u8; len], "f", "")
        .unwrap()
        .0
}

/// A structurally valid CareSeal envelope (sealed to a throwaway identity).
pub fn envelope(text: &str) -> String {
    let id = careseal::Identity::generate().unwrap();
    STANDARD.encode(careseal::sealed::seal(id.public_identity(), text.as_bytes(), None).unwrap())
}

/// The relay binary, serving on an ephemeral loopback port (`--demo`).
pub struct Process {
    pub url: String,
    child: std::process::Child,
    /// Kept open: the relay prints to stdout when it stops.
    _stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl Process {
    pub fn start(db: &std::path::Path, extra: &[&str]) -> Self {
        use std::io::BufRead as _;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_careseal-relay"))
            .args(["serve", "--demo", "--addr", "127.0.0.1:0", "--db"])
            .arg(db)
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        // Audit key and checkpoint lines come first (`--demo` creates the
        // keys beside the database); then the address.
        let url = loop {
            let mut line = String::new();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "the relay exited before listening"
            );
            if let Some(url) = line.trim().strip_prefix("careseal-relay listening on ") {
                break url.trim_end_matches('/').to_string();
            }
        };
        Self {
            url,
            child,
            _stdout: stdout,
        }
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The exit status, if the process ends within `limit`.
    pub async fn exit_within(
        &mut self,
        limit: std::time::Duration,
    ) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        None
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw TCP connection to a relay at `url` (`http://127.0.0.1:port`).
pub async fn raw_connection(url: &str) -> tokio::net::TcpStream {
    tokio::net::TcpStream::connect(url.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads from `stream` until it is closed or `limit` passes; returns what
/// was read and whether the server closed the connection.
pub async fn read_until_closed(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    limit: std::time::Duration,
) -> (String, bool) {
    use tokio::io::AsyncReadExt as _;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&seen).into_owned(), true),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&seen).into_owned(), false),
        }
    }
}

/// Reads until a response head (`\r\n\r\n`) has arrived, or `limit` passes.
pub async fn read_response_head(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    limit: std::time::Duration,
) -> Option<String> {
    use tokio::io::AsyncReadExt as _;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => seen.extend_from_slice(&buf[..n]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&seen).into_owned())
}

/// A client whose connections come from another loopback address.
pub fn client_from(ip: [u8; 4]) -> Client {
    Client::builder()
        .local_address(std::net::IpAddr::from(ip))
        .build()
        .unwrap()
}

/// `clinician`, for a relay known only by its URL (such as a [`Process`]).
pub async fn clinician_at(c: &Client, url: &str, name: &str) -> Device {
    let (_, inv) = call(
        c,
        reqwest::Method::POST,
        format!("{url}/api/demo/clinician-invitation"),
        None,
        None,
    )
    .await;
    register_at(c, url, inv["invitation"].as_str().unwrap(), name).await
}

/// `patient`, for a relay known only by its URL.
pub async fn patient_at(c: &Client, url: &str, clinician: &Device, name: &str) -> Device {
    let (status, v) = call(
        c,
        reqwest::Method::POST,
        format!("{url}/api/invitations"),
        Some(&clinician.token),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    register_at(c, url, v["invitation"].as_str().unwrap(), name).await
}

async fn register_at(c: &Client, url: &str, invitation: &str, name: &str) -> Device {
    let (status, v) = call(
        c,
        reqwest::Method::POST,
        format!("{url}/api/register"),
        None,
        Some(json!({ "invitation": invitation, "displayName": name })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    device_of(&v)
}

/// `conversation_of`, for a relay known only by its URL.
pub async fn conversation_at(c: &Client, url: &str, who: &Device) -> String {
    let (_, v) = call(
        c,
        reqwest::Method::GET,
        format!("{url}/api/conversations"),
        Some(&who.token),
        None,
    )
    .await;
    v["conversations"][0]["id"].as_str().unwrap().to_string()
}

/// `PUT /api/device-list` by `by`: the user key of `key`, the signed list
/// `signed` and, on a user's first list, a registration proof.
pub async fn put_list(
    c: &Client,
    relay: &Relay,
    by: &Device,
    key: &careseal::UserIdentity,
    signed: &[u8],
    proof: Option<&[u8]>,
) -> (StatusCode, Value) {
    let mut body = json!({
        "userKey": STANDARD.encode(key.public_identity().as_bytes()),
        "list": STANDARD.encode(signed),
    });
    if let Some(proof) = proof {
        body["registrationProof"] = json!(STANDARD.encode(proof));
    }
    relay
        .call(
            c,
            reqwest::Method::PUT,
            "/api/device-list",
            Some(&by.token),
            Some(body),
        )
        .await
}
