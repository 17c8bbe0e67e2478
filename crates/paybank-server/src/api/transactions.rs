//! Establish, transaction reads, and the operations on a transaction.

use axum::extract::{Path, Query, RawQuery, State};
use axum::response::Response;
use axum::Json;
use paybank_core::authorization::refresh;
use paybank_core::capture::{
    cancel, capture, deposit, preauthorize, refund, CaptureRequest, PreauthorizationRequest,
    RefundRequest,
};
use std::collections::hash_map::Entry;
use std::collections::HashMap;

use paybank_core::change::Change;
use paybank_core::codes::{TransactionStatus, TransactionType};
use paybank_core::ids::{PaymentId, TransactionId};
use paybank_core::model::{Merchant, PaymentChain};
use paybank_core::money::Amount;
use paybank_core::rules::{Ctx, RuleError};
use paybank_store::{ChainOf, OrderBy, TransactionQuery};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::body::RequestBody;
use crate::api::error::ApiError;
use crate::api::wire::{
    EstablishAnswer, TransactionAnswer, TransactionPage, TransactionRead, TransactionView,
    WriteJson,
};
use crate::api::{AuthMerchant, ClientIp};
use crate::app::AppState;
use crate::establish::{establish_authorization, establish_disbursement, pays_given_account};
use crate::service::{change_chain, merchant_chain};

/// Largest page of `GET /transactions`, and the default.
const PAGE_SIZE_MAX: i64 = 100;
const PAGE_SIZE_DEFAULT: i64 = 20;

fn transaction_id(text: &str) -> Result<TransactionId, ApiError> {
    text.parse().map_err(|()| ApiError::transaction_not_found())
}

fn amount_field(body: &RequestBody) -> Result<Option<Amount>, ApiError> {
    body.present("amount")
        .map(|text| {
            Amount::parse(&text)
                .map_err(|error| ApiError::invalid("amount", format!("amount {error}")))
        })
        .transpose()
}

fn reference_field(body: &RequestBody, required: bool) -> Result<Option<String>, ApiError> {
    match (body.bounded("merchantReference", 255)?, required) {
        (None, true) => Err(ApiError::missing("merchantReference")),
        (reference, _) => Ok(reference),
    }
}

/// `{"transaction": …}` for the transaction `id` of `chain`.
fn wrap(merchant: &Merchant, chain: &PaymentChain, id: TransactionId) -> Response {
    let txn = chain
        .transaction(id)
        .expect("the change holds the transaction it reports");
    let transaction = TransactionView::new(merchant, chain, txn);
    TransactionAnswer { transaction }.into_json_response()
}

#[derive(Deserialize)]
pub struct EstablishParams {
    #[serde(rename = "createTransaction")]
    create_transaction: Option<String>,
}

/// `POST /establish?createTransaction=true`.
pub async fn create_establish(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
    ClientIp(ip): ClientIp,
    Query(params): Query<EstablishParams>,
    body: RequestBody,
) -> Result<Response, ApiError> {
    if params.create_transaction.as_deref() != Some("true") {
        return Err(ApiError::invalid(
            "createTransaction",
            "createTransaction=true is required",
        ));
    }
    let (chain, lightbox_url) = match pays_given_account(&body) {
        true => {
            let chain = establish_disbursement(&state, &merchant, &body, &ip).await?;
            (chain, None)
        }
        false => {
            let established = establish_authorization(&state, &merchant, &body, &ip).await?;
            (established.chain, Some(established.lightbox_url))
        }
    };
    let authorization = chain.authorization();
    // A RequestBody is always an object.
    let mut data = match body.0 {
        Value::Object(fields) => fields,
        _ => serde_json::Map::new(),
    };
    let id = authorization.transaction_id.to_string();
    data.insert("transactionId".into(), Value::String(id));
    let payment_type = chain.payment.payment_type.code();
    data.insert("paymentType".into(), json!(payment_type));
    data.insert("url".into(), json!(lightbox_url));
    let transaction = TransactionView::new(&merchant, &chain, authorization);
    Ok(EstablishAnswer {
        data: &data,
        transaction,
    }
    .into_json_response())
}

/// `GET /transactions/{id}` → `{transaction, url}`.
pub async fn get_transaction(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = transaction_id(&id)?;
    let chain = merchant_chain(&state, &merchant, id).await?;
    let txn = chain
        .transaction(id)
        .ok_or_else(ApiError::transaction_not_found)?;
    // Only an authorization still in the Lightbox has a URL to go back to.
    let is_open = matches!(
        txn.status,
        TransactionStatus::New | TransactionStatus::Pending
    );
    let session = match is_open && txn.transaction_type == TransactionType::Authorize {
        true => state.store.lightbox_session_of_transaction(id).await?,
        false => None,
    };
    let url = session
        .filter(|session| !session.step.is_final())
        .map(|session| format!("{}/lightbox/{}", state.public_url, session.session_id));
    let transaction = TransactionView::new(&merchant, &chain, txn);
    Ok(TransactionRead { transaction, url }.into_json_response())
}

/// `GET /transactions` with the provider's filters and offset paging.
pub async fn list_transactions(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = parse_list_query(raw.as_deref().unwrap_or_default())?;
    let transactions = state
        .store
        .list_transactions(merchant.merchant_id, &query)
        .await?;
    // Children of one payment share its chain: load each chain once per page.
    let mut chains: HashMap<PaymentId, PaymentChain> = HashMap::new();
    for txn in &transactions {
        if let Entry::Vacant(entry) = chains.entry(txn.payment_id) {
            entry.insert(merchant_chain(&state, &merchant, txn.transaction_id).await?);
        }
    }
    let page = TransactionPage {
        items_per_page: query.limit,
        start_index: query.offset,
        transactions: transactions
            .iter()
            .map(|txn| TransactionView::new(&merchant, &chains[&txn.payment_id], txn))
            .collect(),
    };
    Ok(page.into_json_response())
}

fn parse_list_query(raw: &str) -> Result<TransactionQuery, ApiError> {
    let mut query = TransactionQuery {
        limit: PAGE_SIZE_DEFAULT,
        descending: true,
        ..TransactionQuery::default()
    };
    for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
        let number = || {
            value
                .parse::<i64>()
                .map_err(|_| ApiError::invalid(&key, format!("{key} must be a number")))
        };
        match key.as_ref() {
            "merchantReference" | "payment.merchantReference" => {
                query.merchant_reference = Some(value.to_string())
            }
            "originalTransactionId" => {
                let id = value.parse().map_err(|_| {
                    ApiError::invalid(&key, "originalTransactionId must be a transaction id")
                })?;
                query.original_transaction_id = Some(id);
            }
            "transactionType" => query.transaction_types.push(small_code(&key, &value)?),
            "transactionStatus" | "status" => query.statuses.push(small_code(&key, &value)?),
            "createdAt.start" => query.created_from = Some(number()?),
            "createdAt.end" => query.created_to = Some(number()?),
            "updatedAt.start" => query.updated_from = Some(number()?),
            "updatedAt.end" => query.updated_to = Some(number()?),
            "startIndex" => query.offset = number()?.max(0),
            "count" => query.limit = number()?,
            "orderBy" => query.order_by = parse_order_by(&value)?,
            "sortOrder" => query.descending = parse_sort_order(&value)?,
            _ => {}
        }
    }
    if !(1..=PAGE_SIZE_MAX).contains(&query.limit) {
        return Err(ApiError::invalid(
            "count",
            format!("count must be between 1 and {PAGE_SIZE_MAX}"),
        ));
    }
    Ok(query)
}

fn small_code(key: &str, value: &str) -> Result<u8, ApiError> {
    value
        .parse()
        .map_err(|_| ApiError::invalid(key, format!("{key} must be a numeric code")))
}

fn parse_order_by(value: &str) -> Result<OrderBy, ApiError> {
    match value {
        "createdAt" => Ok(OrderBy::CreatedAt),
        "updatedAt" => Ok(OrderBy::UpdatedAt),
        _ => Err(ApiError::invalid(
            "orderBy",
            "orderBy must be createdAt or updatedAt",
        )),
    }
}

fn parse_sort_order(value: &str) -> Result<bool, ApiError> {
    match value.to_ascii_lowercase().as_str() {
        "asc" => Ok(false),
        "desc" => Ok(true),
        _ => Err(ApiError::invalid(
            "sortOrder",
            "sortOrder must be asc or desc",
        )),
    }
}

/// Runs a rule that creates one transaction in the chain `of` names, and answers
/// `{"transaction": …}` with it.
async fn answer_created<F>(
    state: &AppState,
    merchant: &Merchant,
    of: ChainOf,
    rule: F,
) -> Result<Response, ApiError>
where
    F: FnMut(&mut Ctx<'_>, &PaymentChain) -> Result<Change, RuleError>,
{
    let (chain, change) = change_chain(state, merchant, of, rule).await?;
    let created = change.transactions.first().ok_or_else(ApiError::internal)?;
    Ok(wrap(merchant, &chain, created.transaction_id))
}

/// The body of a capture or a deposit: the same fields.
fn money_request(body: &RequestBody, ip: String) -> Result<CaptureRequest, ApiError> {
    Ok(CaptureRequest {
        merchant_reference: reference_field(body, true)?.unwrap_or_default(),
        amount: amount_field(body)?,
        split_token: body.present("splitToken"),
        ip,
        instant_payout_requested: instant_payout_field(body)?,
    })
}

/// `instantPayoutRequest`: a JSON boolean or the text `true`/`false` of a form post.
fn instant_payout_field(body: &RequestBody) -> Result<bool, ApiError> {
    match body.text("instantPayoutRequest").as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::invalid(
            "instantPayoutRequest",
            "instantPayoutRequest must be true or false",
        )),
    }
}

/// `POST /transactions/{id}/capture`.
pub async fn capture_transaction(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    body: RequestBody,
) -> Result<Response, ApiError> {
    let id = transaction_id(&id)?;
    let request = money_request(&body, ip)?;
    // A capture only adds a child, which the payment's totals let it do on part of the chain.
    answer_created(&state, &merchant, ChainOf::ForNewChild(id), |ctx, chain| {
        capture(ctx, chain, request.clone())
    })
    .await
}

/// `POST /transactions/{id}/deposit`: a payout to the consumer.
pub async fn deposit_transaction(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    body: RequestBody,
) -> Result<Response, ApiError> {
    let id = transaction_id(&id)?;
    let request = money_request(&body, ip)?;
    answer_created(&state, &merchant, ChainOf::ForNewChild(id), |ctx, chain| {
        deposit(ctx, chain, request.clone())
    })
    .await
}

/// `POST /transactions/{id}/capture/preAuth`.
pub async fn preauthorize_transaction(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    body: RequestBody,
) -> Result<Response, ApiError> {
    let id = transaction_id(&id)?;
    let period = body.required("period")?;
    let request = PreauthorizationRequest {
        merchant_reference: reference_field(&body, true)?.unwrap_or_default(),
        amount: amount_field(&body)?,
        period_hours: period
            .parse()
            .map_err(|_| ApiError::invalid("period", "period must be a whole number of hours"))?,
        split_token: body.present("splitToken"),
        ip,
    };
    answer_created(&state, &merchant, ChainOf::Transaction(id), |ctx, chain| {
        preauthorize(ctx, chain, request.clone())
    })
    .await
}

/// `POST /transactions/{id}/refund`.
pub async fn refund_transaction(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    body: RequestBody,
) -> Result<Response, ApiError> {
    let id = transaction_id(&id)?;
    let request = RefundRequest {
        merchant_reference: reference_field(&body, false)?,
        amount: amount_field(&body)?,
        ip,
    };
    answer_created(&state, &merchant, ChainOf::Transaction(id), |ctx, chain| {
        refund(ctx, chain, id, request.clone())
    })
    .await
}

/// `POST /transactions/{id}/cancel`.
pub async fn cancel_transaction(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
    Path(id): Path<String>,
    body: RequestBody,
) -> Result<Response, ApiError> {
    let id = transaction_id(&id)?;
    body.bounded("message", 40)?;
    let (chain, _) = change_chain(&state, &merchant, ChainOf::Transaction(id), |ctx, chain| {
        cancel(ctx, chain, id)
    })
    .await?;
    Ok(wrap(&merchant, &chain, id))
}

/// `POST /transactions/{id}/refresh` → `{refresh: {processId}}`; the result comes as a
/// Refresh event.
pub async fn refresh_transaction(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
    Path(id): Path<String>,
    body: RequestBody,
) -> Result<Json<Value>, ApiError> {
    let id = transaction_id(&id)?;
    let split_token = body.present("splitToken");
    let (_, change) = change_chain(&state, &merchant, ChainOf::Transaction(id), |ctx, chain| {
        refresh(ctx, chain, split_token.as_deref()).map(|(change, _)| change)
    })
    .await?;
    let process_id = change
        .events
        .first()
        .map(|event| event.event_id.to_string())
        .unwrap_or_default();
    Ok(Json(json!({ "refresh": { "processId": process_id } })))
}
