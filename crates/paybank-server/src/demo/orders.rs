//! The shop's orders: the return and cancel pages (which check the redirect signature), the
//! order page (read through the merchant API, with the notifications received), and capture
//! and refund, each answered with a 303 back to the order and a one-line notice.

use std::collections::VecDeque;

use axum::extract::{Form, OriginalUri, Path, Query, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use paybank_core::model::Merchant;
use paybank_core::signature::verify_redirect_url;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::merchant_api::MerchantApi;
use super::notifications::ReceivedEvent;
use super::pages::{format_utc, render, respond};
use super::{demo_merchant, lock, refuse_cross_site, DemoError};
use crate::app::AppState;
use crate::random::random_alphanumeric;

/// How many notices wait for their page; a notice is read right after its 303.
const NOTICES_MAX: usize = 256;
/// The most captures an order page reads from the API, the latest ones.
const CAPTURES_SHOWN_MAX: usize = 10;
/// Transaction statuses the shop tells apart: a capture that failed, or was denied or voided,
/// is never what a refund is meant for.
const STATUS_FAILED: u64 = 5;
const STATUS_DENIED: u64 = 8;
const STATUS_VOIDED: u64 = 13;
/// Transaction ids are digits; anything else is not an order and never reaches the API's URL.
const TRANSACTION_ID_LENGTH_MAX: usize = 19;

/// What the shop keeps about its orders besides the notifications.
#[derive(Default)]
pub(super) struct OrderBook {
    /// One-line notices by token, for the page the browser opens after a 303.
    notices: VecDeque<(String, String)>,
}

impl OrderBook {
    /// Keeps a notice and returns the token its page is opened with.
    fn remember_notice(&mut self, notice: String) -> String {
        let token = random_alphanumeric(16);
        self.notices.push_back((token.clone(), notice));
        if self.notices.len() > NOTICES_MAX {
            self.notices.pop_front();
        }
        token
    }

    fn notice(&self, token: &str) -> Option<String> {
        let mut notices = self.notices.iter();
        notices
            .find(|(known, _)| known == token)
            .map(|(_, notice)| notice.clone())
    }
}

/// An order as its page shows it.
#[derive(Serialize)]
struct OrderView {
    id: String,
    /// Name and code, as in "Authorized (2)".
    status: String,
    amount: String,
    currency: String,
    merchant_reference: String,
    split_token_received: bool,
    /// Oldest first.
    captures: Vec<CaptureView>,
    /// What the refund form refunds: the latest capture that did not fail.
    latest_capture: Option<CaptureView>,
    /// About the order and its captures, newest last.
    events: Vec<EventView>,
}

#[derive(Clone, Serialize)]
struct CaptureView {
    id: String,
    status: String,
    status_code: u64,
    amount: String,
    refunded: String,
    /// What the refund form offers: the balance once settled, else the captured amount.
    refundable: String,
    created_at: i64,
}

#[derive(Serialize)]
struct EventView {
    event_type: String,
    transaction_id: String,
    status: String,
    time: String,
}

/// Where paybank sent the browser back to.
#[derive(Clone, Copy)]
enum Landing {
    Return,
    Cancel,
}

/// `GET /demo/return`: the receipt, once the redirect signature checks out.
pub(super) async fn show_return(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
) -> Response {
    respond(&state, landing_page(&state, &uri, Landing::Return).await)
}

/// `GET /demo/cancel`: the same check, for a consumer who left the Lightbox.
pub(super) async fn show_cancel(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
) -> Response {
    respond(&state, landing_page(&state, &uri, Landing::Cancel).await)
}

async fn landing_page(
    state: &AppState,
    uri: &Uri,
    landing: Landing,
) -> Result<Response, DemoError> {
    let (merchant, _) = demo_merchant(state).await?;
    // The signature covers the whole URL the browser was sent to, so it is rebuilt as received.
    let url = format!("{}{uri}", state.public_url);
    if !verify_redirect_url(&url, &merchant.access_key) {
        return render(state, StatusCode::BAD_REQUEST, "rejected.html", context! {});
    }
    let (heading, lead) = match landing {
        Landing::Return => (
            "Thank you for your order",
            "paybank sent you back with a signed redirect; the shop checked the signature and read the order through the merchant API.",
        ),
        Landing::Cancel => (
            "Payment canceled",
            "You left the bank authorization before finishing, so nothing will be charged.",
        ),
    };
    let landing = context! { heading => heading, lead => lead, signature_verified => true };
    let transaction_id = uri
        .query()
        .and_then(|query| query_value(query, "transactionId"));
    let order = match transaction_id.as_deref().map(order_id) {
        Some(Ok(id)) => load_order(state, &merchant, &id).await,
        Some(Err(error)) => Err(error),
        None => Err(DemoError::refused(
            StatusCode::BAD_REQUEST,
            "The redirect names no transaction.",
        )),
    };
    let page = match order {
        Ok(order) => context! { order => order, ..landing },
        Err(error @ (DemoError::Api { .. } | DemoError::Refused { .. })) => {
            context! { order_error => error.public_message(), ..landing }
        }
        Err(error) => return Err(error),
    };
    render(state, StatusCode::OK, "order.html", page)
}

#[derive(Deserialize)]
pub(super) struct NoticeQuery {
    notice: Option<String>,
}

/// `GET /demo/orders/{transactionId}`.
pub(super) async fn show_order(
    State(state): State<AppState>,
    Path(transaction_id): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> Response {
    respond(
        &state,
        order_page(&state, &transaction_id, query.notice.as_deref()).await,
    )
}

async fn order_page(
    state: &AppState,
    transaction_id: &str,
    notice_token: Option<&str>,
) -> Result<Response, DemoError> {
    let id = order_id(transaction_id)?;
    let (merchant, _) = demo_merchant(state).await?;
    let order = load_order(state, &merchant, &id).await?;
    let notice = notice_token.and_then(|token| lock(&state.demo.orders).notice(token));
    let page = context! { heading => format!("Order {id}"), order => order, notice => notice };
    render(state, StatusCode::OK, "order.html", page)
}

/// The amount field of the capture and refund forms.
#[derive(Deserialize)]
pub(super) struct AmountForm {
    #[serde(default)]
    amount: String,
}

/// `POST /demo/orders/{transactionId}/capture`, with the split token from the notifications.
pub(super) async fn capture_order(
    State(state): State<AppState>,
    Path(transaction_id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<AmountForm>,
) -> Response {
    let amount = form.amount.trim();
    respond(
        &state,
        capture(&state, &headers, &transaction_id, amount).await,
    )
}

async fn capture(
    state: &AppState,
    headers: &HeaderMap,
    transaction_id: &str,
    amount: &str,
) -> Result<Response, DemoError> {
    refuse_cross_site(state, headers)?;
    let id = order_id(transaction_id)?;
    let (merchant, _) = demo_merchant(state).await?;
    // The split token comes only with the Authorize notification; without it the API says so.
    let split_token = lock(&state.demo.notifications).split_token_of(&id);
    let reference = format!("demo-capture-{}", random_alphanumeric(12));
    let api = MerchantApi::new(state, &merchant);
    let notice = match api
        .capture(&id, &reference, amount, split_token.as_deref())
        .await
    {
        Ok(capture) => capture_notice(&capture),
        Err(error) => format!("Capture failed: {}", error.public_message()),
    };
    Ok(back_to_order(state, &id, notice))
}

/// A capture the API accepted may still have failed at once (a missing or wrong split token,
/// a declined account): it is then a Failed transaction with the reason's code.
fn capture_notice(capture: &Value) -> String {
    let capture_id = text(&capture["transactionId"]);
    let status = status_label(capture);
    if capture["status"].as_u64() == Some(STATUS_FAILED) {
        let code = text(&capture["errorCode"]);
        let reason = text(&capture["paymentProviderTransaction"]["statusMessage"]);
        return format!("Capture failed: {code} {reason} (capture {capture_id} is {status}).");
    }
    let amount = text(&capture["amount"]);
    format!("Captured {amount} USD: capture {capture_id} is {status}.")
}

/// `POST /demo/orders/{transactionId}/refund`: refunds the order's latest capture.
pub(super) async fn refund_order(
    State(state): State<AppState>,
    Path(transaction_id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<AmountForm>,
) -> Response {
    let amount = form.amount.trim();
    respond(
        &state,
        refund(&state, &headers, &transaction_id, amount).await,
    )
}

async fn refund(
    state: &AppState,
    headers: &HeaderMap,
    transaction_id: &str,
    amount: &str,
) -> Result<Response, DemoError> {
    refuse_cross_site(state, headers)?;
    let id = order_id(transaction_id)?;
    let (merchant, _) = demo_merchant(state).await?;
    let api = MerchantApi::new(state, &merchant);
    let notice = match refund_latest_capture(&api, &id, amount).await {
        Ok(notice) => notice,
        Err(error) => format!("Refund failed: {}", error.public_message()),
    };
    Ok(back_to_order(state, &id, notice))
}

async fn refund_latest_capture(
    api: &MerchantApi<'_>,
    id: &str,
    amount: &str,
) -> Result<String, DemoError> {
    let captures = load_captures(api, id).await?;
    let Some(capture) = refund_target(&captures) else {
        return Err(DemoError::refused(
            StatusCode::BAD_REQUEST,
            "there is no capture to refund yet.",
        ));
    };
    let refund = api.refund(&capture.id, amount).await?;
    Ok(format!(
        "Refunded {} USD of capture {}: refund {} is {}.",
        text(&refund["amount"]),
        capture.id,
        text(&refund["transactionId"]),
        status_label(&refund)
    ))
}

/// 303 to the order page, which shows `notice`.
fn back_to_order(state: &AppState, id: &str, notice: String) -> Response {
    let token = lock(&state.demo.orders).remember_notice(notice);
    let location = format!("/demo/orders/{id}?notice={token}");
    (StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response()
}

/// The order as the merchant API and the shop's notifications describe it.
async fn load_order(
    state: &AppState,
    merchant: &Merchant,
    id: &str,
) -> Result<OrderView, DemoError> {
    let api = MerchantApi::new(state, merchant);
    let transaction = api.transaction(id).await?;
    let captures = load_captures(&api, id).await?;
    let mut family = vec![id.to_owned()];
    family.extend(captures.iter().map(|capture| capture.id.clone()));
    let (events, split_token) = {
        let notifications = lock(&state.demo.notifications);
        (
            notifications.about(&family),
            notifications.split_token_of(id),
        )
    };
    Ok(OrderView {
        id: id.to_owned(),
        status: status_label(&transaction),
        amount: text(&transaction["amount"]),
        currency: text(&transaction["currency"]),
        merchant_reference: text(&transaction["merchantReference"]),
        split_token_received: split_token.is_some(),
        latest_capture: refund_target(&captures).cloned(),
        captures,
        events: events.iter().map(event_view).collect(),
    })
}

/// The order's captures, oldest first: those the shop made and those its notifications
/// mention, each read through the API for its current status.
async fn load_captures(api: &MerchantApi<'_>, id: &str) -> Result<Vec<CaptureView>, DemoError> {
    let captures = api.captures_of(id, CAPTURES_SHOWN_MAX).await?;
    Ok(captures
        .iter()
        .map(|capture| CaptureView {
            id: text(&capture["transactionId"]),
            status: status_label(capture),
            status_code: capture["status"].as_u64().unwrap_or_default(),
            amount: text(&capture["amount"]),
            refunded: text(&capture["refunded"]),
            refundable: refundable_amount(capture),
            created_at: capture["createdAt"].as_i64().unwrap_or_default(),
        })
        .collect())
}

/// A completed capture can be refunded up to its balance; before it is paid the balance is
/// 0.00 and the captured amount is the better guess.
fn refundable_amount(capture: &Value) -> String {
    let paid = text(&capture["paid"]);
    match paid.is_empty() || paid == "0.00" {
        true => text(&capture["amount"]),
        false => text(&capture["balance"]),
    }
}

/// The latest capture that did not fail, was not denied and was not voided.
fn refund_target(captures: &[CaptureView]) -> Option<&CaptureView> {
    let dead = [STATUS_FAILED, STATUS_DENIED, STATUS_VOIDED];
    let mut newest_first = captures.iter().rev();
    newest_first.find(|capture| !dead.contains(&capture.status_code))
}

fn event_view(event: &ReceivedEvent) -> EventView {
    EventView {
        event_type: event.event_type.clone(),
        transaction_id: event.transaction_id.clone(),
        status: format!("{} ({})", event.status_message, event.status),
        time: format_utc(event.created_at),
    }
}

/// A transaction id from a URL, or 404: only digits reach the API's URL.
fn order_id(text: &str) -> Result<String, DemoError> {
    let is_id = !text.is_empty()
        && text.len() <= TRANSACTION_ID_LENGTH_MAX
        && text.bytes().all(|byte| byte.is_ascii_digit());
    match is_id {
        true => Ok(text.to_owned()),
        false => Err(DemoError::refused(StatusCode::NOT_FOUND, "No such order.")),
    }
}

fn query_value(query: &str, key: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.into_owned())
}

/// "Authorized (2)": the status name and code of a transaction object.
fn status_label(transaction: &Value) -> String {
    let name = text(&transaction["statusMessage"]);
    format!("{name} ({})", text(&transaction["status"]))
}

/// A JSON value as text: strings as they are, numbers printed, nothing as "".
fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
