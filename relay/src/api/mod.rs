//! The HTTP API. Every handler audits what it did, for whom and with what
//! outcome — a change in the same transaction as the change itself; a
//! request that fails stores nothing. A middleware audits every other
//! request under `/api` (unknown routes, wrong methods, rejected requests).

mod accounts;
mod blobs;
mod device_lists;
mod events;
mod linking;
mod messages;
mod prekeys;
pub mod wire;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, MatchedPath, Path, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, put};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower::ServiceBuilder;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutBody, TimeoutError, TimeoutLayer};

use crate::audit::{self, coverage};
use crate::auth::{self, Caller};
use crate::config::MAX_JSON_BODY;
use crate::domain::access::{self, DeviceAccess};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::AuditRecord;
use crate::text;

/// The API routes (under `/api`). Uploads get `--upload-timeout`, every
/// other request `--request-timeout`.
pub fn routes(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    let timeouts = state.config.timeouts;
    Router::new()
        .route("/api/register", post(accounts::register))
        .route(
            "/api/demo/clinician-invitation",
            post(accounts::demo_clinician_invitation),
        )
        .route("/api/invitations", post(accounts::create_invitation))
        .route("/api/me", get(accounts::me))
        .route("/api/devices/{id}/revoke", post(accounts::revoke))
        .route("/api/prekeys", put(prekeys::publish))
        .route("/api/prekeys/count", get(prekeys::count))
        .route("/api/devices/{id}/bundle", get(prekeys::fetch))
        .route("/api/device-list", put(device_lists::publish))
        .route("/api/link/invitations", post(linking::create_invitation))
        .route("/api/link/messages", post(linking::post).get(linking::list))
        .route("/api/users/{id}/device-list", get(device_lists::fetch))
        .route("/api/conversations", get(messages::conversations))
        .route("/api/conversations/{id}/envelopes", post(messages::post))
        .route("/api/conversations/{id}/stored", get(messages::stored))
        .route("/api/mailbox", get(messages::mailbox))
        .route("/api/mailbox/ack", post(messages::acknowledge))
        .route("/api/events", get(events::socket))
        .route("/api/blobs/{id}", get(blobs::download))
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .layer(timeout(timeouts.request))
        .merge(
            Router::new()
                .route("/api/conversations/{id}/blobs", post(blobs::upload))
                .layer(timeout(timeouts.upload)),
        )
        .layer(axum::middleware::map_response(timeout_as_json))
        .route("/api", any(unknown_route))
        .route("/api/{*rest}", any(unknown_route))
        .layer(middleware::from_fn_with_state(
            Arc::clone(state),
            audit_unrecorded,
        ))
}

/// Any path under `/api` that is no route: 404, audited (who, if the
/// request carries a valid token) without the path.
async fn unknown_route(State(state): State<Arc<AppState>>, request: Request) -> ApiError {
    let ip = auth::remote_ip_of(request.extensions());
    let token = auth::bearer_token(request.headers()).map(str::to_string);
    if !state.may_record_rejection(ip) {
        coverage::recorded();
        return ApiError::NOT_FOUND;
    }
    let who = auth::identify(&state, token.as_deref()).await;
    let outcome = Err(ApiError::NOT_FOUND);
    match state
        .audit(who.as_ref(), ip, "unknown_route", None, outcome)
        .await
    {
        Ok(()) => ApiError::NOT_FOUND,
        Err(e) => e,
    }
}

/// Audits a request under `/api` that wrote no record of its own (a wrong
/// method, a request an extractor rejected): who (if its token is valid),
/// the method and route template as the action, the outcome from the
/// status. Neither the path nor anything else the client chose is written.
async fn audit_unrecorded(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let ip = auth::remote_ip_of(request.extensions());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("(unrouted)", MatchedPath::as_str);
    let action = format!("{} {route}", method_name(request.method()));
    let token = auth::bearer_token(request.headers()).map(str::to_string);
    let (response, recorded) = coverage::track(next.run(request)).await;
    if recorded || !state.may_record_rejection(ip) {
        return response;
    }
    let who = auth::identify(&state, token.as_deref()).await;
    let outcome = outcome_of(response.status());
    match state.audit(who.as_ref(), ip, &action, None, outcome).await {
        Ok(()) => response,
        Err(e) => e.into_response(),
    }
}

/// A method as written in the log: the standard ones by name, any other
/// (a client may send any token) as `OTHER`.
fn method_name(method: &Method) -> &str {
    const STANDARD: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    if STANDARD.contains(method) {
        method.as_str()
    } else {
        "OTHER"
    }
}

/// The audit outcome of a response status.
fn outcome_of(status: StatusCode) -> Result<(), ApiError> {
    match status {
        s if s.is_success() || s.is_informational() || s.is_redirection() => Ok(()),
        StatusCode::BAD_REQUEST => Err(ApiError::BAD_REQUEST),
        StatusCode::UNAUTHORIZED => Err(ApiError::UNAUTHORIZED),
        StatusCode::FORBIDDEN => Err(ApiError::FORBIDDEN),
        StatusCode::NOT_FOUND => Err(ApiError::NOT_FOUND),
        StatusCode::METHOD_NOT_ALLOWED => Err(ApiError::METHOD_NOT_ALLOWED),
        StatusCode::REQUEST_TIMEOUT => Err(ApiError::REQUEST_TIMEOUT),
        StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::TOO_LARGE),
        StatusCode::TOO_MANY_REQUESTS => Err(ApiError::RATE_LIMITED),
        s if s.is_client_error() => Err(ApiError::new(s, "rejected")),
        StatusCode::SERVICE_UNAVAILABLE => Err(ApiError::BUSY),
        _ => Err(ApiError::INTERNAL),
    }
}

/// 408 once `limit` has passed, body or no body.
fn timeout(limit: Duration) -> TimeoutLayer {
    TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limit)
}

/// The timeout layer answers with an empty 408; API errors are JSON.
async fn timeout_as_json(response: Response) -> Response {
    if response.status() == StatusCode::REQUEST_TIMEOUT {
        ApiError::REQUEST_TIMEOUT.into_response()
    } else {
        response
    }
}

/// Fails a request body that pauses longer than `limit` between two pieces
/// (the handler sees the error and answers 408).
pub fn with_body_timeout(router: Router, limit: Duration) -> Router {
    router.layer(
        ServiceBuilder::new()
            .layer(RequestBodyTimeoutLayer::new(limit))
            .map_request(|request: Request<TimeoutBody<Body>>| request.map(Body::new)),
    )
}

/// Whether an error, or any error it wraps, is a body timeout.
pub(crate) fn is_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.is::<TimeoutError>() {
            return true;
        }
        current = error.source();
    }
    false
}

/// A request body, mapping the body-limit rejection to 413 and a body
/// timeout to 408.
pub(crate) fn body(raw: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    raw.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TOO_LARGE
        } else if is_timeout(&rejection) {
            ApiError::REQUEST_TIMEOUT
        } else {
            ApiError::BAD_REQUEST
        }
    })
}

/// An id from the path (`{id}`), refused with 400 unless it is
/// [`text::is_id`] — so nothing else reaches the audit log as a target.
pub(crate) struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::BAD_REQUEST)?;
        if text::is_id(&id) {
            Ok(PathId(id))
        } else {
            Err(ApiError::BAD_REQUEST)
        }
    }
}

/// A JSON request body of type `T` (400 if malformed, 413 if too large).
pub(crate) fn json<T: DeserializeOwned>(raw: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let bytes = body(raw)?;
    serde_json::from_slice(&bytes).map_err(|_| ApiError::BAD_REQUEST)
}

/// A JSON response serialized on a blocking thread: a clinician's whole
/// conversation list is megabytes, and serializing it on an async worker
/// would stall every other request waiting for that worker.
pub(crate) async fn large_json<T: Serialize + Send + 'static>(
    value: T,
) -> Result<Response, ApiError> {
    let bytes = tokio::task::spawn_blocking(move || serde_json::to_vec(&value))
        .await
        .map_err(|_| ApiError::INTERNAL)?
        .map_err(|_| ApiError::INTERNAL)?;
    Ok(([(CONTENT_TYPE, "application/json")], bytes).into_response())
}

/// Standard base64 (what the portal sends) to bytes.
pub(crate) fn base64(text: &str) -> Result<Vec<u8>, ApiError> {
    STANDARD.decode(text).map_err(|_| ApiError::BAD_REQUEST)
}

/// 403 unless `user` is a member of `conversation`.
pub(crate) async fn require_member(
    state: &Arc<AppState>,
    conversation: &str,
    user: &str,
) -> Result<(), ApiError> {
    let (c, u) = (conversation.to_string(), user.to_string());
    if state.db(move |s| access::is_member(s, &c, &u)).await? {
        Ok(())
    } else {
        Err(ApiError::FORBIDDEN)
    }
}

/// The owner of a non-revoked device, if the caller may act on it: 404 for
/// an unknown or revoked device, 403 unless the caller shares a conversation
/// with its owner (or is the owner).
pub(crate) async fn visible_device_owner(
    state: &Arc<AppState>,
    caller: &Caller,
    device_id: &str,
) -> Result<String, ApiError> {
    let (viewer, device) = (caller.device.user_id.clone(), device_id.to_string());
    match state
        .db(move |s| access::device_access(s, &viewer, &device))
        .await?
    {
        DeviceAccess::Visible { owner } => Ok(owner),
        DeviceAccess::Hidden => Err(ApiError::FORBIDDEN),
        DeviceAccess::Missing => Err(ApiError::NOT_FOUND),
    }
}

/// The record of `caller` doing `action` to `target`, successfully: what a
/// handler passes to the [`Store`](crate::store::Store) call that makes the
/// change, to be committed with it (see [`audited_change`]).
pub(crate) fn change_record(caller: &Caller, action: &str, target: Option<&str>) -> AuditRecord {
    audit::record(Some(&caller.device), caller.ip, action, target, Ok(()))
}

/// The outcome of a handler whose change was audited in its own transaction
/// ([`change_record`]): a success is already in the log; a failure is
/// written here. If a step after the committed change fails, the log holds
/// both the change and the failure.
pub(crate) async fn audited_change<T>(
    state: &Arc<AppState>,
    caller: &Caller,
    action: &str,
    target: Option<String>,
    result: Result<T, ApiError>,
) -> Result<T, ApiError> {
    match result {
        Ok(value) => {
            coverage::recorded();
            Ok(value)
        }
        Err(e) => audited(state, caller, action, target, Err(e)).await,
    }
}

/// Audits the outcome of a handler that changes nothing, and returns it.
pub(crate) async fn audited<T>(
    state: &Arc<AppState>,
    caller: &Caller,
    action: &str,
    target: Option<String>,
    result: Result<T, ApiError>,
) -> Result<T, ApiError> {
    state
        .audit(
            Some(&caller.device),
            caller.ip,
            action,
            target,
            result.as_ref().map(|_| ()).map_err(|e| *e),
        )
        .await?;
    result
}

/// 403 unless the caller's device may act for its user: it is on the
/// user's signed device list (or the user published none). A device that
/// joined through a link offer but was never confirmed can do no more than
/// finish the link: it cannot invite, link, revoke, read conversations,
/// stored data, blobs, bundles or others' device lists, or post.
pub(crate) async fn require_listed(state: &Arc<AppState>, caller: &Caller) -> Result<(), ApiError> {
    let (user, device) = (
        caller.device.user_id.clone(),
        caller.device.device_id.clone(),
    );
    if state
        .db(move |s| access::acts_for_user(s, &user, &device))
        .await?
    {
        Ok(())
    } else {
        Err(ApiError::FORBIDDEN)
    }
}
