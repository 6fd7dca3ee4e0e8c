//! Publishing and fetching prekey bundles. The relay verifies a published
//! bundle's signature (with the careseal crate), hands each one-time
//! prekey to at most one initiator, atomically, and only a few to any one
//! requesting device.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use careseal::PreKeyBundle;
use careseal::prekey::OneTimePreKey;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    PathId, audited, audited_change, base64, change_record, json, require_listed,
    visible_device_owner,
};
use crate::auth::Caller;
use crate::config::MAX_STORED_ONE_TIME_PREKEYS;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Publish {
    bundle: String,
}

/// `PUT /api/prekeys`: replace the caller's bundle and one-time prekeys.
pub(crate) async fn publish(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let outcome = async {
        let request: Publish = json(raw)?;
        let bundle = PreKeyBundle::from_bytes(&base64(&request.bundle)?)
            .map_err(|_| ApiError::BAD_REQUEST)?;
        let one_time: Vec<(u32, [u8; 32])> = bundle
            .one_time_prekeys()
            .iter()
            .map(|k| (k.id, k.key))
            .collect();
        if one_time.len() > MAX_STORED_ONE_TIME_PREKEYS {
            return Err(ApiError::BAD_REQUEST);
        }
        let base = bundle
            .with_one_time_prekey(None)
            .ok_or(ApiError::BAD_REQUEST)?
            .to_bytes();
        let device = caller.device.device_id.clone();
        let count = one_time.len();
        let record = change_record(&caller, "publish_prekeys", None);
        state
            .db(move |s| s.put_prekeys(&device, &base, &one_time, &record))
            .await?;
        Ok(count)
    }
    .await;
    let count = audited_change(&state, &caller, "publish_prekeys", None, outcome).await?;
    Ok(Json(json!({ "oneTimePrekeys": count })))
}

/// `GET /api/prekeys/count`: how many of the caller's one-time prekeys the
/// relay still holds, so the device knows when to publish more. Only the
/// owner learns it: the count tells how many sessions others have started.
pub(crate) async fn count(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let device = caller.device.device_id.clone();
    let remaining = state.db(move |s| s.one_time_prekey_count(&device)).await;
    let own = Some(caller.device.device_id.clone());
    let remaining = audited(&state, &caller, "count_prekeys", own, remaining).await?;
    Ok(Json(json!({ "oneTimePrekeys": remaining })))
}

/// `GET /api/devices/{id}/bundle`: the device's bundle with at most one
/// one-time prekey, which is never handed out again. Only for users who
/// share a conversation with the device's owner. One requesting device gets
/// at most `--prekey-handouts` one-time prekeys of one target per
/// `--prekey-window`; past that, the bundle comes without one (X3DH works
/// without it), so no peer can drain another device's supply.
pub(crate) async fn fetch(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathId(device_id): PathId,
) -> Result<Json<Value>, ApiError> {
    let outcome = async {
        require_listed(&state, &caller).await?;
        visible_device_owner(&state, &caller, &device_id).await?;
        let pair = (caller.device.device_id.clone(), device_id.clone());
        let with_one_time = state.prekey_handouts.allow(&pair);
        let id = device_id.clone();
        let record = change_record(&caller, "fetch_bundle", Some(&device_id));
        let (base, one) = if with_one_time {
            state.db(move |s| s.take_prekeys(&id, &record)).await?
        } else {
            // Nothing is taken, so there is no change to commit the record
            // with: it is written on its own once the bundle is found.
            let found = state
                .db(move |s| Ok(s.base_bundle(&id)?.map(|base| (base, None))))
                .await?;
            if found.is_some() {
                state.append_audit(record).await?;
            }
            found
        }
        .ok_or(ApiError::NOT_FOUND)?;
        let base = PreKeyBundle::from_bytes(&base).map_err(|_| ApiError::INTERNAL)?;
        let keys: Vec<OneTimePreKey> = one
            .map(|(id, key)| OneTimePreKey { id, key })
            .into_iter()
            .collect();
        let bundle = base
            .with_one_time_prekeys(&keys)
            .map_err(|_| ApiError::INTERNAL)?;
        Ok((STANDARD.encode(bundle.to_bytes()), keys.len()))
    }
    .await;
    let (bundle, one_time) =
        audited_change(&state, &caller, "fetch_bundle", Some(device_id), outcome).await?;
    Ok(Json(
        json!({ "bundle": bundle, "oneTimePrekeys": one_time }),
    ))
}
