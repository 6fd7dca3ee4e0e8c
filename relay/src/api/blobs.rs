//! Attachment blobs: age files, stored and served as they are. An upload is
//! authorized from its path and token before a byte of its body is read,
//! must declare its length, takes that share of the upload memory before
//! reading it, and must fit in the uploader's quota. A download is
//! authorized before the blob is read, takes its share of the download
//! memory, and is sent in pieces within a deadline.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use super::{
    PathId, audited, audited_change, change_record, is_timeout, require_listed, require_member,
};
use crate::auth::Caller;
use crate::config::DOWNLOAD_CHUNK;
use crate::error::ApiError;
use crate::ids;
use crate::state::{AppState, now_ms};

/// Every attachment is an age v1 file.
const AGE_MAGIC: &[u8] = b"age-encryption.org/v1\n";

/// `POST /api/conversations/{id}/blobs`: store an age file (at most
/// `--max-blob` bytes, within the uploader's `--quota-bytes`).
pub(crate) async fn upload(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathId(conversation): PathId,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let outcome = async {
        require_listed(&state, &caller).await?;
        require_member(&state, &conversation, &caller.device.user_id).await?;
        let max = state.config.max_blob;
        let declared = declared_length(&headers)?;
        if declared > max as u64 {
            return Err(ApiError::TOO_LARGE);
        }
        let user = caller.device.user_id.clone();
        let used = state.db(move |s| s.stored_bytes_of_user(&user)).await?;
        if used.saturating_add(declared) > state.config.quota_bytes {
            return Err(ApiError::QUOTA_EXCEEDED);
        }
        let _memory = state.upload_memory(declared).await?;
        let (bytes, sha) = read_age_file(body, declared).await?;

        let _quota = state.quota.lock().await;
        let user = caller.device.user_id.clone();
        let used = state.db(move |s| s.stored_bytes_of_user(&user)).await?;
        if used.saturating_add(bytes.len() as u64) > state.config.quota_bytes {
            return Err(ApiError::QUOTA_EXCEEDED);
        }
        let id = ids::new_id("b")?;
        let (i, c, uploader, h) = (
            id.clone(),
            conversation.clone(),
            caller.device.device_id.clone(),
            sha.clone(),
        );
        let size = bytes.len();
        let record = change_record(&caller, "upload_blob", Some(&conversation));
        state
            .db(move |s| s.put_blob(&i, &c, &uploader, &bytes, &h, now_ms(), &record))
            .await?;
        Ok((id, sha, size))
    }
    .await;
    let (id, sha, size) =
        audited_change(&state, &caller, "upload_blob", Some(conversation), outcome).await?;
    Ok(Json(json!({ "id": id, "sha256": sha, "size": size })))
}

/// The `Content-Length`: 411 `length_required` without one (a chunked
/// upload could not take its share of the upload memory up front), 400 if
/// it is malformed.
fn declared_length(headers: &HeaderMap) -> Result<u64, ApiError> {
    let value = headers
        .get(CONTENT_LENGTH)
        .ok_or(ApiError::LENGTH_REQUIRED)?;
    value
        .to_str()
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or(ApiError::BAD_REQUEST)
}

/// Reads an upload body of exactly its declared `length` into one buffer,
/// hashing it as it arrives: 400 as soon as the start is not an age header
/// or the body is longer or shorter than declared, 408 if it stalls.
/// Returns the bytes and their SHA-256 (hex).
async fn read_age_file(mut body: Body, length: u64) -> Result<(Vec<u8>, String), ApiError> {
    let max = usize::try_from(length).map_err(|_| ApiError::TOO_LARGE)?;
    let mut bytes = Vec::with_capacity(max);
    let mut hash = Sha256::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            if is_timeout(&e) {
                ApiError::REQUEST_TIMEOUT
            } else {
                ApiError::BAD_REQUEST
            }
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if bytes.len() + data.len() > max {
            return Err(ApiError::BAD_REQUEST);
        }
        hash.update(&data);
        bytes.extend_from_slice(&data);
        let head = bytes.len().min(AGE_MAGIC.len());
        if bytes[..head] != AGE_MAGIC[..head] {
            return Err(ApiError::BAD_REQUEST);
        }
    }
    if bytes.len() != max || !bytes.starts_with(AGE_MAGIC) {
        return Err(ApiError::BAD_REQUEST);
    }
    let sha = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((bytes, sha))
}

/// `GET /api/blobs/{id}`: members of the blob's conversation only. The
/// blob is read only after the caller is authorized and its size is
/// reserved in the download memory (503 `server_busy` if that is not free
/// in time); it is then sent in pieces, and a download still running after
/// `--upload-timeout` is cut off. A client that stops reading is cut off by
/// the connection's write deadline ([`crate::stall`]).
pub(crate) async fn download(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathId(id): PathId,
) -> Result<Response, ApiError> {
    let outcome = async {
        require_listed(&state, &caller).await?;
        let lookup = id.clone();
        let (conversation, size) = state
            .db(move |s| s.blob_info(&lookup))
            .await?
            .ok_or(ApiError::NOT_FOUND)?;
        require_member(&state, &conversation, &caller.device.user_id).await?;
        let memory = state.download_memory(size).await?;
        let lookup = id.clone();
        let (_, bytes) = state
            .db(move |s| s.get_blob(&lookup))
            .await?
            .ok_or(ApiError::NOT_FOUND)?;
        Ok((bytes, memory))
    }
    .await;
    let (bytes, memory) = audited(&state, &caller, "download_blob", Some(id), outcome).await?;
    let length = bytes.len();
    let body = pieces(
        Bytes::from(bytes),
        memory,
        Instant::now()
            .checked_add(state.config.timeouts.upload)
            .unwrap_or_else(far_future),
    );
    Ok((
        [
            (CONTENT_TYPE, "application/octet-stream".to_string()),
            (CONTENT_LENGTH, length.to_string()),
        ],
        body,
    )
        .into_response())
}

/// A deadline that never comes (an `--upload-timeout` too large to add).
fn far_future() -> Instant {
    Instant::now() + std::time::Duration::from_secs(86_400 * 365)
}

/// A blob as a body of [`DOWNLOAD_CHUNK`] pieces, holding its share of the
/// download memory until the body is dropped; past `deadline` the body
/// fails, and the connection with it.
fn pieces(bytes: Bytes, memory: OwnedSemaphorePermit, deadline: Instant) -> Body {
    let stream = futures_util::stream::unfold(
        (bytes, 0, memory),
        move |(bytes, offset, memory)| async move {
            if offset >= bytes.len() {
                return None;
            }
            if Instant::now() >= deadline {
                let late = std::io::Error::new(std::io::ErrorKind::TimedOut, "download deadline");
                return Some((Err(late), (Bytes::new(), 0, memory)));
            }
            let end = bytes.len().min(offset + DOWNLOAD_CHUNK);
            let piece = bytes.slice(offset..end);
            Some((Ok::<_, std::io::Error>(piece), (bytes, end, memory)))
        },
    );
    Body::from_stream(stream)
}
