//! The event log (paybank namespace): every notification, its delivery attempts, and resend.

use axum::extract::{Path, Query, State};
use axum::Json;
use paybank_core::ids::{EventId, TransactionId};
use paybank_store::{EventAttempt, EventQuery, StoredEvent, WriteSet};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::api::error::ApiError;
use crate::api::AuthMerchant;
use crate::app::AppState;

const PAGE_SIZE_MAX: i64 = 500;

#[derive(Deserialize)]
pub struct EventListParams {
    #[serde(rename = "transactionId")]
    transaction_id: Option<String>,
    #[serde(rename = "startIndex")]
    start_index: Option<i64>,
    count: Option<i64>,
}

/// `GET /api/v1/paybank/events`.
pub async fn list_events(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
    Query(params): Query<EventListParams>,
) -> Result<Json<Value>, ApiError> {
    let transaction_id = params
        .transaction_id
        .map(|text| {
            text.parse::<TransactionId>()
                .map_err(|()| ApiError::invalid_transaction_id())
        })
        .transpose()?;
    let limit = params.count.unwrap_or(100);
    if !(1..=PAGE_SIZE_MAX).contains(&limit) {
        return Err(ApiError::invalid(
            "count",
            format!("count must be between 1 and {PAGE_SIZE_MAX}"),
        ));
    }
    let offset = params.start_index.unwrap_or(0).max(0);
    let query = EventQuery {
        transaction_id,
        offset,
        limit,
    };
    let events = state
        .store
        .list_events(merchant.merchant_id, &query)
        .await?;
    let items: Vec<Value> = events.iter().map(event_json).collect();
    Ok(Json(
        json!({ "events": items, "startIndex": offset, "itemsPerPage": limit }),
    ))
}

async fn merchant_event(
    state: &AppState,
    merchant_id: paybank_core::ids::MerchantId,
    id: &str,
) -> Result<StoredEvent, ApiError> {
    let not_found = || {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            200,
            Some("eventId"),
            "Event not found",
        )
    };
    let event_id: EventId = id.parse().map_err(|()| not_found())?;
    match state.store.event(event_id).await? {
        Some(event) if event.event.merchant_id == merchant_id => Ok(event),
        _ => Err(not_found()),
    }
}

/// `GET /api/v1/paybank/events/{eventId}`, with every delivery attempt.
pub async fn get_event(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let event = merchant_event(&state, merchant.merchant_id, &id).await?;
    let attempts = state.store.event_attempts(event.event.event_id).await?;
    let mut body = event_json(&event);
    body["deliveryAttempts"] = Value::Array(attempts.iter().map(attempt_json).collect());
    Ok(Json(json!({ "event": body })))
}

/// `POST /api/v1/paybank/events/{eventId}/resend`: queues the same event (same eventId) again.
pub async fn resend_event(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let event = merchant_event(&state, merchant.merchant_id, &id).await?;
    let now = state.clock.now();
    let write = WriteSet {
        resend: Some((event.event.event_id, now)),
        ..WriteSet::default()
    };
    state.store.commit(write).await?;
    let event = merchant_event(&state, merchant.merchant_id, &id).await?;
    Ok(Json(json!({ "event": event_json(&event) })))
}

pub fn event_json(stored: &StoredEvent) -> Value {
    let event = &stored.event;
    let params: Map<String, Value> = event
        .params
        .iter()
        .map(|(key, value)| (key.to_string(), Value::String(value.to_string())))
        .collect();
    json!({
        "eventId": event.event_id.to_string(),
        "eventType": event.event_type,
        "transactionId": event.transaction_id.to_string(),
        "paymentId": event.payment_id.to_string(),
        "notificationUrl": event.notification_url,
        "createdAt": event.created_at,
        "state": stored.state.name(),
        "attempts": stored.attempts,
        "nextAttemptAt": stored.next_attempt_at,
        "deliveredAt": stored.delivered_at,
        "body": stored.body,
        "params": params,
    })
}

fn attempt_json(attempt: &EventAttempt) -> Value {
    json!({
        "attempt": attempt.attempt,
        "attemptedAt": attempt.attempted_at,
        "durationMs": attempt.duration_ms,
        "httpStatus": attempt.http_status,
        "error": attempt.error,
    })
}
