//! The endpoints the mobile SDKs and in-app integrations call besides the Lightbox form POSTs
//! (client-flows §8): settings, the bank-selection widget, and establish from a signed token.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use minijinja::context;
use serde_json::{json, Value};

use crate::api::body::RequestBody;
use crate::api::error::ApiError;
use crate::api::ClientIp;
use crate::app::AppState;
use crate::lightbox::{bank_list, error_page, html_page, merchant_of_page, start_lightbox};
use crate::origins::frame_ancestors;

/// Longest settings or establish token accepted, in characters.
const TOKEN_LENGTH_MAX: usize = 16 * 1024;
/// Query parameters the widget keeps for its no-JavaScript search form.
const WIDGET_PARAMS_MAX: usize = 32;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/frontend/mobile/setup", get(setup))
        .route("/frontend/mobile/establish", get(establish_from_token))
        .route("/start/selectBank/widget", get(widget))
        .route("/start/selectBank/selectBankWidget", get(widget))
}

/// `GET /frontend/mobile/setup?token=base64(JSON)`: how the SDK should open the Lightbox.
async fn setup(
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    if let Err(error) = token_json(&params) {
        return error.into_response();
    }
    let strategy = state.config.lightbox.mobile_integration_strategy.name();
    Json(json!({ "settings": { "integrationStrategy": strategy } })).into_response()
}

/// `GET /frontend/mobile/establish?token=…`: mobile web without an SDK. The token is the signed
/// establish data as nested JSON, base64-encoded (URL-safe); the answer is the Lightbox.
async fn establish_from_token(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    match token_json(&params) {
        Ok(body) => start_lightbox(&state, RequestBody(body), &ip).await,
        Err(error) => error_page(
            &state,
            error.status,
            "This payment cannot start",
            &error.message,
        ),
    }
}

/// The `token` parameter decoded: base64 (standard or URL-safe, padded or not) of a JSON object.
fn token_json(params: &[(String, String)]) -> Result<Value, ApiError> {
    let token = params
        .iter()
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.trim())
        .filter(|token| !token.is_empty())
        .ok_or_else(|| ApiError::missing("token"))?;
    if token.len() > TOKEN_LENGTH_MAX {
        return Err(ApiError::invalid("token", "token is too long"));
    }
    let bytes = [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(token).ok())
        .ok_or_else(|| ApiError::invalid("token", "token is not base64"))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(ApiError::invalid("token", "token is not a JSON object")),
    }
}

/// The inline Select Bank Widget: popular banks and a search. Choosing a bank does not create
/// anything yet; the page hands the bank to its host (`PayWithMyBank.createTransaction|<id>`),
/// which then establishes with `paymentProviderId`.
async fn widget(
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let param = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let merchant = match merchant_of_page(&state, param("accessId")).await {
        Ok(merchant) => merchant,
        Err(page) => return page,
    };
    let kept: Vec<(&str, &str)> = params
        .iter()
        .filter(|(name, _)| name != "q")
        .take(WIDGET_PARAMS_MAX)
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let context = context! {
        merchant_name => merchant.name,
        params => kept,
        ..bank_list(param("q").unwrap_or_default())
    };
    let html = state
        .templates
        .get_template("widget.html")
        .and_then(|template| template.render(context));
    let ancestors = frame_ancestors(&merchant);
    html_page(&state, html, Some(&ancestors), &[])
}
