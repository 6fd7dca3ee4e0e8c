//! The CareSeal reference relay: serves the portal, authenticates devices,
//! and stores and forwards only ciphertext — session envelopes in per-device
//! mailboxes and attachment blobs (age files) — with an append-only audit
//! log of every request, hash-chained, MACed and checkpointed with keys
//! kept outside the database. The relay never sees a key or a plaintext.

#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod api;
pub mod audit;
pub mod auth;
pub mod config;
pub mod domain;
pub mod error;
pub mod ids;
pub mod rate;
pub mod refusals;
pub mod server;
pub mod sqlite;
pub mod stall;
pub mod state;
pub mod store;
pub mod text;
pub mod web;

use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use crate::state::{AppState, Config};
use crate::store::Store;

/// A relay over a store: its application and its shared state.
pub struct Relay {
    state: Arc<AppState>,
    router: Router,
}

impl Relay {
    /// The relay of `store` with `config`: API, static files, security
    /// headers, the request and body timeouts of `config.timeouts`.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Self {
        let state = Arc::new(AppState::new(store, config));
        let router = api::routes(&state)
            .with_state(Arc::clone(&state))
            .merge(web::static_routes(&state.config));
        let router =
            web::with_security_headers(api::with_body_timeout(router, state.config.timeouts.body));
        Self { state, router }
    }

    /// The application, to serve some other way (tests, embedding); the
    /// connection caps and refusal summaries come with [`Self::serve`].
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Serves on `listener` until `shutdown` resolves (see [`server`]),
    /// writing the refusal summaries of the audit log as their windows end
    /// and the rest at shutdown. Requests in flight then get the configured
    /// shutdown timeout; every acknowledged write is already on disk.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let summaries = tokio::spawn(write_refusals(Arc::clone(&self.state)));
        let served = server::serve(listener, self.router, Arc::clone(&self.state), shutdown).await;
        summaries.abort();
        if let Err(e) = self.state.write_refusals(true).await {
            eprintln!(
                "careseal-relay: last refusal summaries not written: {}",
                e.code
            );
        }
        served
    }
}

/// Every tenth of a window, writes the refusal summaries whose window ended.
async fn write_refusals(state: Arc<AppState>) {
    let period = (state.refusals.window() / 10).max(std::time::Duration::from_millis(100));
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        if let Err(e) = state.write_refusals(false).await {
            eprintln!("careseal-relay: refusal summaries not written: {}", e.code);
        }
    }
}

/// The application alone ([`Relay::router`]).
pub fn app(store: Arc<dyn Store>, config: Config) -> Router {
    Relay::new(store, config).router()
}
