//! Attachment blobs: age files, stored and served as they are.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{audited, body, require_member};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::ids;
use crate::state::{AppState, now_ms};

/// Every attachment is an age v1 file.
const AGE_MAGIC: &[u8] = b"age-encryption.org/v1\n";

/// `POST /api/conversations/{id}/blobs`: store an age file (at most
/// `--max-blob` bytes).
pub(crate) async fn upload(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(conversation): Path<String>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let outcome = async {
        require_member(&state, &conversation, &caller.device.user_id).await?;
        let bytes = body(raw)?;
        if !bytes.starts_with(AGE_MAGIC) {
            return Err(ApiError::BAD_REQUEST);
        }
        let sha: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let id = ids::new_id("b")?;
        let (i, c, uploader, h) = (
            id.clone(),
            conversation.clone(),
            caller.device.device_id.clone(),
            sha.clone(),
        );
        let size = bytes.len();
        state
            .db(move |s| s.put_blob(&i, &c, &uploader, &bytes, &h, now_ms()))
            .await?;
        Ok((id, sha, size))
    }
    .await;
    let (id, sha, size) =
        audited(&state, &caller, "upload_blob", Some(conversation), outcome).await?;
    Ok(Json(json!({ "id": id, "sha256": sha, "size": size })))
}

/// `GET /api/blobs/{id}`: members of the blob's conversation only.
pub(crate) async fn download(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let outcome = async {
        let lookup = id.clone();
        let (conversation, bytes) = state
            .db(move |s| s.get_blob(&lookup))
            .await?
            .ok_or(ApiError::NOT_FOUND)?;
        require_member(&state, &conversation, &caller.device.user_id).await?;
        Ok(bytes)
    }
    .await;
    let bytes = audited(&state, &caller, "download_blob", Some(id), outcome).await?;
    Ok(([(CONTENT_TYPE, "application/octet-stream")], bytes))
}
