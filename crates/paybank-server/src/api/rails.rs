//! The bank network seen from the API: ACH files and instant messages (sandbox), forcing a
//! receiving bank's answer (sandbox), and a merchant's funds (paybank namespace).

use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use paybank_core::ids::TransactionId;
use paybank_core::ledger::LedgerAccount;
use paybank_core::money::Amount;
use paybank_store::{InstantMessage, RailFile};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::error::ApiError;
use crate::api::AuthMerchant;
use crate::app::AppState;
use crate::rails::files::is_file_name;

/// Sandbox routes: files, messages and forced outcomes.
pub fn sandbox_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sandbox/ach/files", get(list_files))
        .route("/api/v1/sandbox/ach/files/{name}", get(get_file))
        .route("/api/v1/sandbox/instant/messages", get(list_messages))
        .route(
            "/api/v1/sandbox/instant/messages/{message_id}",
            get(get_message),
        )
        .route(
            "/api/v1/sandbox/ach/returns",
            post(super::forcing::force_return),
        )
        .route(
            "/api/v1/sandbox/ach/notices",
            post(super::forcing::force_notice),
        )
        .route(
            "/api/v1/sandbox/instant/outcomes",
            post(super::forcing::force_instant),
        )
}

/// Routes in paybank's own namespace that are not sandbox-only.
pub fn paybank_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/paybank/funds", get(get_funds))
        .route(
            "/api/v1/paybank/settlements/{date}",
            get(super::settlement_report::get_report),
        )
}

fn file_json(state: &AppState, file: &RailFile) -> Value {
    json!({
        "name": file.name,
        "direction": file.direction,
        "kind": file.kind,
        "createdAt": file.created_at,
        "entryCount": file.entry_count,
        "debitTotal": Amount::from_minor(file.debit_total).to_string(),
        "creditTotal": Amount::from_minor(file.credit_total).to_string(),
        "url": format!("{}/api/v1/sandbox/ach/files/{}", state.public_url, file.name),
    })
}

/// `GET /api/v1/sandbox/ach/files`: the merchant's files, newest first.
pub async fn list_files(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
) -> Result<Json<Value>, ApiError> {
    let limit = state.config.ach.files_per_page_max;
    let files = state
        .store
        .list_rail_files(Some(merchant.merchant_id), limit)
        .await?;
    let files: Vec<Value> = files.iter().map(|file| file_json(&state, file)).collect();
    Ok(Json(json!({ "files": files })))
}

/// `GET /api/v1/sandbox/ach/files/{name}`: the file exactly as sent or received.
pub async fn get_file(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::invalid("name", "No such ACH file");
    if !is_file_name(&name) {
        return Err(not_found());
    }
    let file = state.store.rail_file(&name).await?.ok_or_else(not_found)?;
    if file.merchant_id != Some(merchant.merchant_id) {
        return Err(not_found());
    }
    Ok((
        [(CONTENT_TYPE, "text/plain; charset=us-ascii")],
        file.content,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct MessageListParams {
    #[serde(rename = "transactionId")]
    transaction_id: Option<String>,
}

fn message_json(state: &AppState, message: &InstantMessage) -> Value {
    json!({
        "messageId": message.message_id,
        "transactionId": message.transaction_id.to_string(),
        "network": message.network.name(),
        "direction": message.direction,
        "messageType": message.message_type,
        "status": message.status,
        "amount": message.amount.to_string(),
        "createdAt": message.created_at,
        "url": format!("{}/api/v1/sandbox/instant/messages/{}", state.public_url, message.message_id),
    })
}

/// `GET /api/v1/sandbox/instant/messages[?transactionId=]`: messages sent and received.
pub async fn list_messages(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
    Query(params): Query<MessageListParams>,
) -> Result<Json<Value>, ApiError> {
    let transaction_id = params
        .transaction_id
        .map(|text| {
            text.parse::<TransactionId>()
                .map_err(|()| ApiError::invalid_transaction_id())
        })
        .transpose()?;
    let limit = state.config.ach.files_per_page_max;
    let messages = state
        .store
        .list_instant_messages(Some(merchant.merchant_id), transaction_id, limit)
        .await?;
    let messages: Vec<Value> = messages
        .iter()
        .map(|message| message_json(&state, message))
        .collect();
    Ok(Json(json!({ "messages": messages })))
}

/// `GET /api/v1/sandbox/instant/messages/{id}`: the XML exactly as sent or received.
pub async fn get_message(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
    Path(message_id): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::invalid("messageId", "No such instant payment message");
    let message = state
        .store
        .instant_message(&message_id)
        .await?
        .filter(|message| message.merchant_id == merchant.merchant_id)
        .ok_or_else(not_found)?;
    Ok(([(CONTENT_TYPE, "application/xml")], message.content).into_response())
}

/// `GET /api/v1/paybank/funds`: the merchant's money as the ledger holds it.
pub async fn get_funds(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
) -> Result<Json<Value>, ApiError> {
    let merchant_id = merchant.merchant_id;
    let balances = state.store.ledger_balances().await?;
    let balance = |account: LedgerAccount| {
        let name = account.name();
        let minor = balances
            .iter()
            .find(|(candidate, _)| *candidate == name)
            .map_or(0, |(_, minor)| *minor);
        Amount::from_minor(minor)
    };
    let unsettled = balance(LedgerAccount::MerchantUnsettled(merchant_id));
    let settled = balance(LedgerAccount::MerchantSettled(merchant_id));
    let payouts = balance(LedgerAccount::PayoutClearing(merchant_id));
    Ok(Json(json!({
        "funds": {
            "currency": "USD",
            "unsettled": unsettled.to_string(),
            "settled": settled.to_string(),
            "payoutsInFlight": payouts.to_string(),
            "payoutsFromSettledOnly": merchant.payouts_from_settled_only,
        }
    })))
}
