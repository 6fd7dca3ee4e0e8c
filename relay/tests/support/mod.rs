//! A relay on loopback for tests, and a small client.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
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
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

pub fn temp_db(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("careseal-relay-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("relay.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
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
        let store = Arc::new(SqliteStore::open(&db).unwrap());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let app = careseal_relay::app(store, config);
        let task = tokio::spawn(careseal_relay::serve(listener, app, async move {
            let _ = stopped.await;
        }));
        Self {
            url,
            db,
            stop: Some(stop),
            task: Some(task),
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

    /// Graceful shutdown; waits until the server has stopped.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
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

fn device(v: &Value) -> Device {
    Device {
        user_id: v["userId"].as_str().unwrap().to_string(),
        device_id: v["deviceId"].as_str().unwrap().to_string(),
        token: v["token"].as_str().unwrap().to_string(),
    }
}

pub async fn clinician(c: &Client, relay: &Relay, name: &str) -> Device {
    let (_, inv) = relay
        .call(
            c,
            reqwest::Method::POST,
            "/api/demo/clinician-invitation",
            None,
            None,
        )
        .await;
    let (status, v) = register(c, relay, inv["invitation"].as_str().unwrap(), name).await;
    assert_eq!(status, StatusCode::CREATED);
    device(&v)
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
    let (status, v) = register(c, relay, &code, name).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    device(&v)
}

pub async fn conversation_of(c: &Client, relay: &Relay, who: &Device) -> String {
    let (_, v) = relay
        .call(
            c,
            reqwest::Method::GET,
            "/api/conversations",
            Some(&who.token),
            None,
        )
        .await;
    v["conversations"][0]["id"].as_str().unwrap().to_string()
}

/// A structurally valid CareSeal envelope (sealed to a throwaway identity).
pub fn envelope(text: &str) -> String {
    let id = careseal::Identity::generate().unwrap();
    STANDARD.encode(careseal::sealed::seal(id.public_identity(), text.as_bytes(), None).unwrap())
}
