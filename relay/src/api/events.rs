//! A WebSocket that tells a device when new mail arrives. The first message
//! must be the device's token (browsers cannot set headers on WebSockets,
//! and a token in the URL would end up in logs); nothing else is read.
//! Audited: the connection (`open_events`), then its authentication
//! (`events_auth`: ok, `auth_timeout`, `malformed_request`, or the
//! `auth_failed` record of a bad token). The socket counts against the
//! connection caps until it closes, and closes when the relay shuts down.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse as _, Response};

use crate::auth::authenticate;
use crate::error::ApiError;
use crate::state::AppState;

/// `GET /api/events`.
pub(crate) async fn socket(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<std::net::SocketAddr>,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Err(e) = super::accounts::refuse_unauthenticated_flood(&state, addr.ip()).await {
        return e.into_response();
    }
    if let Err(e) = state
        .audit(None, addr.ip(), "open_events", None, Ok(()))
        .await
    {
        return e.into_response();
    }
    upgrade
        .max_message_size(256)
        .on_upgrade(move |socket| serve(state, socket, addr.ip()))
}

async fn serve(state: Arc<AppState>, mut socket: WebSocket, ip: std::net::IpAddr) {
    let mut closing = state.closing.subscribe();
    if *closing.borrow_and_update() {
        return;
    }
    let first = tokio::select! {
        first = tokio::time::timeout(state.config.ws_auth_timeout, socket.recv()) => first,
        _ = closing.changed() => return,
    };
    let token = match first {
        Ok(Some(Ok(Message::Text(text)))) => text.to_string(),
        unauthenticated => {
            let outcome = match unauthenticated {
                Err(_elapsed) => ApiError::AUTH_TIMEOUT,
                Ok(_) => ApiError::BAD_REQUEST,
            };
            let _ = state
                .audit(None, ip, "events_auth", None, Err(outcome))
                .await;
            return;
        }
    };
    let Ok(device) = authenticate(&state, Some(&token), ip).await else {
        let _ = socket
            .send(Message::Text("{\"type\":\"unauthorized\"}".into()))
            .await;
        return;
    };
    if state
        .audit(Some(&device), ip, "events_auth", None, Ok(()))
        .await
        .is_err()
    {
        return;
    }
    let mut mail = state.mail.subscribe();
    if socket
        .send(Message::Text("{\"type\":\"ready\"}".into()))
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            received = mail.recv() => match received {
                Ok(id) if id == device.device_id => {
                    if socket.send(Message::Text("{\"type\":\"mail\"}".into())).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    if socket.send(Message::Text("{\"type\":\"mail\"}".into())).await.is_err() {
                        return;
                    }
                }
                Err(_) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            _ = closing.changed() => {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
        }
    }
}
