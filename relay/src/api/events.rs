//! A WebSocket that tells a device when new mail arrives. The first message
//! must be the device's token (browsers cannot set headers on WebSockets,
//! and a token in the URL would end up in logs); nothing else is read.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::Response;

use crate::auth::authenticate;
use crate::config::WS_AUTH_TIMEOUT;
use crate::state::AppState;

/// `GET /api/events`.
pub(crate) async fn socket(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<std::net::SocketAddr>,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .max_message_size(256)
        .on_upgrade(move |socket| serve(state, socket, addr.ip()))
}

async fn serve(state: Arc<AppState>, mut socket: WebSocket, ip: std::net::IpAddr) {
    let token = match tokio::time::timeout(WS_AUTH_TIMEOUT, socket.recv()).await {
        Ok(Some(Ok(Message::Text(text)))) => text.to_string(),
        _ => return,
    };
    let Ok(device) = authenticate(&state, Some(&token), ip).await else {
        let _ = socket
            .send(Message::Text("{\"type\":\"unauthorized\"}".into()))
            .await;
        return;
    };
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
        }
    }
}
