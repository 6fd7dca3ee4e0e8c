//! The CareSeal reference relay: serves the portal, authenticates devices,
//! and stores and forwards only ciphertext — session envelopes in per-device
//! mailboxes and attachment blobs (age files) — with an append-only,
//! hash-chained audit log of every action. The relay never sees a key or a
//! plaintext.

#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod api;
pub mod audit;
pub mod auth;
pub mod config;
pub mod error;
pub mod ids;
pub mod rate;
pub mod sqlite;
pub mod state;
pub mod store;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use crate::state::{AppState, Config};
use crate::store::Store;

/// The whole application: API, static files, security headers.
pub fn app(store: Arc<dyn Store>, config: Config) -> Router {
    let state = Arc::new(AppState::new(store, config));
    let router = api::routes(&state)
        .with_state(Arc::clone(&state))
        .merge(web::static_routes(&state.config));
    web::with_security_headers(router)
}

/// Serves `app` on `listener` until `shutdown` resolves; requests in flight
/// finish first, and every acknowledged write is already on disk.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
