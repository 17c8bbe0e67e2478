//! The checkout page and the shop's server side of it: establish data built and signed with
//! the accessKey on the server, as merchants must, so the browser never sees the key.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use minijinja::context;
use paybank_core::money::Amount;
use paybank_core::signature::{request_signature_message, sign, HmacAlgorithm};
use serde::Deserialize;
use serde_json::{json, Value};

use super::notifications::ReceivedEvent;
use super::pages::{render, respond};
use super::{demo_merchant, lock, refuse_cross_site, DemoError};
use crate::app::AppState;
use crate::random::random_alphanumeric;

/// The one product on sale; the amount stays editable so the amount rules can be tried.
const PRODUCT_NAME: &str = "Sandbox hoodie";
const PRODUCT_PRICE: &str = "25.00";
/// The largest amount the shop asks for: 10000.00, in cents.
const AMOUNT_MAX_MINOR: i64 = 1_000_000;
/// How many recent orders the checkout page links to.
const RECENT_ORDERS_SHOWN: usize = 5;

/// `GET /demo`: the product, the two ways to pay, and the SDK's event log.
pub(super) async fn show_checkout(State(state): State<AppState>) -> Response {
    respond(&state, checkout_page(&state).await)
}

async fn checkout_page(state: &AppState) -> Result<Response, DemoError> {
    let (merchant, _) = demo_merchant(state).await?;
    let recent_orders: Vec<minijinja::Value> = lock(&state.demo.notifications)
        .recent_orders(RECENT_ORDERS_SHOWN)
        .iter()
        .map(recent_order)
        .collect();
    let page = context! {
        access_id => merchant.access_id,
        product_name => PRODUCT_NAME,
        product_price => PRODUCT_PRICE,
        recent_orders => recent_orders,
    };
    render(state, StatusCode::OK, "checkout.html", page)
}

fn recent_order(event: &ReceivedEvent) -> minijinja::Value {
    context! {
        id => event.transaction_id,
        reference => event.merchant_reference,
        status => format!("{} ({})", event.status_message, event.status),
    }
}

/// What the checkout script sends.
#[derive(Deserialize)]
pub(super) struct EstablishRequest {
    /// The amount field's text; a JSON number is taken too.
    #[serde(default)]
    amount: Value,
}

/// `POST /demo/api/establish`: `{amount}` in, `{establishData}` out, or 400 `{error}`.
pub(super) async fn create_establish_data(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Result<Json<EstablishRequest>, JsonRejection>,
) -> Response {
    let establish_data = match request {
        Ok(Json(request)) => establish_data(&state, &headers, &request).await,
        Err(rejection) => Err(DemoError::refused(
            StatusCode::BAD_REQUEST,
            rejection.body_text(),
        )),
    };
    match establish_data {
        Ok(establish_data) => Json(json!({ "establishData": establish_data })).into_response(),
        Err(error) => {
            let answer = json!({ "error": error.public_message() });
            (error.status(), Json(answer)).into_response()
        }
    }
}

/// A Deferred authorization for the hoodie, signed like a merchant's server signs it.
async fn establish_data(
    state: &AppState,
    headers: &HeaderMap,
    request: &EstablishRequest,
) -> Result<Value, DemoError> {
    refuse_cross_site(state, headers)?;
    let amount = parse_amount(&request.amount)?;
    let (merchant, _) = demo_merchant(state).await?;
    let shop_url = format!("{}/demo", state.public_url);
    let mut establish_data = json!({
        "accessId": merchant.access_id,
        "merchantId": merchant.merchant_id.to_string(),
        "description": PRODUCT_NAME,
        "currency": "USD",
        "amount": amount.to_string(),
        "merchantReference": format!("demo-{}", random_alphanumeric(16)),
        "paymentType": "Deferred",
        "returnUrl": format!("{shop_url}/return"),
        "cancelUrl": format!("{shop_url}/cancel"),
        // Also set on the merchant; repeated here so a record made by an older seeding still
        // sends this payment's events to the shop.
        "notificationUrl": format!("{shop_url}/notifications"),
        "metadata": { "finishButtonLabelType": "pay" },
        "customer": { "name": "John Smith" },
    });
    let message = request_signature_message(&establish_data);
    establish_data["requestSignature"] =
        json!(sign(HmacAlgorithm::Sha1, &merchant.access_key, &message));
    Ok(establish_data)
}

/// The amount rules of the API (at most two decimals, ten characters), plus the shop's own:
/// more than zero and at most 10000.00.
fn parse_amount(amount: &Value) -> Result<Amount, DemoError> {
    let text = match amount {
        Value::String(text) => text.trim().to_owned(),
        Value::Number(number) => number.to_string(),
        _ => String::new(),
    };
    let refused = |message: String| DemoError::refused(StatusCode::BAD_REQUEST, message);
    let amount = Amount::parse(&text).map_err(|error| refused(format!("The amount {error}.")))?;
    if amount.is_zero() || amount > Amount::from_minor(AMOUNT_MAX_MINOR) {
        return Err(refused(
            "The amount must be more than 0.00 and at most 10000.00.".to_owned(),
        ));
    }
    Ok(amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_follow_the_api_rules_and_the_shop_limit() {
        let parsed = |value: Value| parse_amount(&value).map(|amount| amount.to_string()).ok();
        assert_eq!(parsed(json!("25")).as_deref(), Some("25.00"));
        assert_eq!(parsed(json!(" 12.5 ")).as_deref(), Some("12.50"));
        assert_eq!(parsed(json!(7.25)).as_deref(), Some("7.25"));
        assert_eq!(parsed(json!("10000.00")).as_deref(), Some("10000.00"));
        for refused in ["", "0", "0.00", "-1", "1e3", "10.001", "10000.01", "ten"] {
            assert_eq!(parsed(json!(refused)), None, "{refused}");
        }
        assert_eq!(parsed(Value::Null), None);
    }
}
