//! The hosted Lightbox pages: server-rendered plain forms that work without JavaScript, which
//! `lightbox.js` enhances (search as you type, SDK and app messages, bank OAuth windows). Every
//! step goes through [`crate::lightbox_flow`], the same path as the headless sandbox
//! authorization.

use axum::extract::{Form, Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use paybank_core::demo_bank;
use paybank_core::lightbox::{Input, LightboxSession, Step};
use paybank_core::model::Merchant;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

use crate::api::body::nest_dotted;
use crate::api::body::RequestBody;
use crate::api::ClientIp;
use crate::app::AppState;
use crate::establish::establish_authorization;
use crate::lightbox_flow::{expire_if_due, lightbox_input, load_flow, FlowError, FlowState};
use crate::origins::{csp_source, frame_ancestors};

mod oauth;
mod render;

pub use render::{bank_list, error_page, html_page, templates, with_page_headers};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/start/selectBank/index", post(start_from_form))
        .route("/start/selectBank/selectBank", post(start_from_form))
        .route("/lightbox/{session_id}", get(show_step))
        .route("/lightbox/{session_id}/{action}", post(submit_step))
        .route("/lightbox-assets/lightbox.css", get(stylesheet))
        .route("/lightbox-assets/lightbox.js", get(script))
        .merge(oauth::routes())
        .merge(crate::mobile::routes())
        .merge(crate::sdk::routes())
}

async fn stylesheet() -> Response {
    static_asset("text/css; charset=utf-8", render::STYLESHEET)
}

async fn script() -> Response {
    static_asset("text/javascript; charset=utf-8", render::SCRIPT)
}

/// A file compiled into the binary, cacheable for an hour.
pub fn static_asset(content_type: &'static str, body: &'static str) -> Response {
    let headers = [
        (CONTENT_TYPE, content_type),
        (CACHE_CONTROL, "public, max-age=3600"),
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    (headers, body).into_response()
}

/// What the SDKs do: a form POST of establish data, answered by a redirect into the Lightbox.
async fn start_from_form(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    start_lightbox(&state, RequestBody(nest_dotted(pairs)), &ip).await
}

/// Establishes from establish data sent by a browser or an app and answers 302 Found into the
/// Lightbox (the Android SDK reads `Location` with redirects off), or with an error page.
pub async fn start_lightbox(state: &AppState, body: RequestBody, ip: &str) -> Response {
    let merchant = match merchant_of_page(state, body.present("accessId").as_deref()).await {
        Ok(merchant) => merchant,
        Err(page) => return page,
    };
    let established = match establish_authorization(state, &merchant, &body, ip).await {
        Ok(established) => established,
        Err(error) => {
            let message = format!(
                "{} ({})",
                error.message,
                error.location.as_deref().unwrap_or("request")
            );
            return render::error_page(state, error.status, "This payment cannot start", &message);
        }
    };
    // A bank chosen in the widget: the Lightbox opens on that bank's login. An id paybank does
    // not know simply leaves the consumer on bank selection.
    if let Some(bank) = body
        .present("paymentProviderId")
        .and_then(|id| demo_bank::bank(&id))
    {
        let input = Input::SelectBank {
            bank_id: bank.id.to_owned(),
        };
        if let Err(error) = lightbox_input(state, &established.session.session_id, input).await {
            tracing::warn!(%error, "could not open the Lightbox on the chosen bank");
        }
    }
    redirect_with(StatusCode::FOUND, &established.lightbox_url)
}

#[derive(Deserialize)]
struct ShowParams {
    q: Option<String>,
}

async fn show_step(
    State(state): State<AppState>,
    Path(session_id): Path<String>,
    Query(params): Query<ShowParams>,
) -> Response {
    let flow = match load_flow(&state, &session_id).await {
        Ok(flow) => expire_if_due(&state, flow).await,
        Err(error) => Err(error),
    };
    match flow {
        Ok(flow) => page_response(
            &state,
            &flow,
            render::step_page(&state, &flow, params.q.as_deref()),
        ),
        Err(error) => flow_error_page(&state, error),
    }
}

async fn submit_step(
    State(state): State<AppState>,
    Path((session_id, action)): Path<(String, String)>,
    Form(fields): Form<HashMap<String, String>>,
) -> Response {
    let flow = match load_flow(&state, &session_id).await {
        Ok(flow) => flow,
        Err(error) => return flow_error_page(&state, error),
    };
    if let Some(page) = csrf_refusal(&state, &flow.session, &fields) {
        return page;
    }
    let Some(input) = input_of(&action, &fields) else {
        return render::error_page(&state, StatusCode::NOT_FOUND, "Not found", "No such step.");
    };
    // Inside the SDK's overlay or an app that reads messages, the last page stays in the
    // Lightbox and tells its host where to go; a plain browser goes straight back.
    let stay_on_final_page = fields.get("respond").is_some_and(|mode| mode == "page");
    match lightbox_input(&state, &session_id, input).await {
        Ok(flow) => match (&flow.session.redirect_url, flow.session.step) {
            (Some(url), Step::Finished | Step::Canceled) if !stay_on_final_page => redirect_to(url),
            _ => redirect_to(&format!("/lightbox/{session_id}")),
        },
        // A stale form (back button, double submit) shows the current step again.
        Err(FlowError::Rejected(_)) => redirect_to(&format!("/lightbox/{session_id}")),
        Err(error) => flow_error_page(&state, error),
    }
}

fn input_of(action: &str, fields: &HashMap<String, String>) -> Option<Input> {
    let field = |name: &str| fields.get(name).cloned().unwrap_or_default();
    Some(match action {
        "bank" => Input::SelectBank {
            bank_id: field("bank_id"),
        },
        "login" => Input::Login {
            username: field("username"),
            password: field("password"),
        },
        "mfa" => Input::Mfa {
            answer: field("answer"),
        },
        "account" => Input::SelectAccount {
            index: field("account_index").parse().unwrap_or(u8::MAX),
        },
        "confirm" => Input::Confirm,
        "back" => Input::Back,
        "cancel" => Input::Cancel,
        _ => return None,
    })
}

/// A form of a session's pages must carry the session's CSRF token: the 403 page when it
/// does not.
pub fn csrf_refusal(
    state: &AppState,
    session: &LightboxSession,
    fields: &HashMap<String, String>,
) -> Option<Response> {
    (!csrf_matches(session, fields.get("csrf_token"))).then(|| {
        render::error_page(
            state,
            StatusCode::FORBIDDEN,
            "Page expired",
            "This form is out of date. Reload the page and try again.",
        )
    })
}

fn csrf_matches(session: &LightboxSession, provided: Option<&String>) -> bool {
    let expected = session.csrf_token.as_bytes();
    provided.is_some_and(|provided| {
        let provided = provided.as_bytes();
        provided.len() == expected.len()
            && provided
                .iter()
                .zip(expected)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    })
}

/// The merchant a hosted page is opened for, by the `accessId` it was given; a 401 error page
/// when that is missing or unknown.
pub async fn merchant_of_page(
    state: &AppState,
    access_id: Option<&str>,
) -> Result<Arc<Merchant>, Response> {
    let merchant = match access_id {
        Some(access_id) => state
            .store
            .merchant_by_access_id(access_id)
            .await
            .ok()
            .flatten(),
        None => None,
    };
    merchant.ok_or_else(|| {
        render::error_page(
            state,
            StatusCode::UNAUTHORIZED,
            "Unknown merchant",
            "The accessId is missing or unknown.",
        )
    })
}

/// 303 See Other: after a POST the browser GETs the next page.
pub fn redirect_to(url: &str) -> Response {
    redirect_with(StatusCode::SEE_OTHER, url)
}

fn redirect_with(status: StatusCode, url: &str) -> Response {
    match HeaderValue::from_str(url) {
        Ok(location) => (status, [(LOCATION, location)]).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Adds the security headers: no caching, frames limited to the merchant's own origins, and
/// forms leading only to paybank and the payment's return and cancel URLs.
fn page_response(
    state: &AppState,
    flow: &FlowState,
    html: Result<String, minijinja::Error>,
) -> Response {
    let payment = &flow.chain.payment;
    let form_targets: Vec<String> = [&payment.return_url, &payment.cancel_url]
        .into_iter()
        .filter_map(|url| csp_source(url))
        .collect();
    let ancestors = frame_ancestors(&flow.merchant);
    render::html_page(state, html, Some(&ancestors), &form_targets)
}

pub fn flow_error_page(state: &AppState, error: FlowError) -> Response {
    match error {
        FlowError::UnknownSession => render::error_page(
            state,
            StatusCode::NOT_FOUND,
            "Session not found",
            "This payment session does not exist or has ended.",
        ),
        FlowError::Rejected(rejected) => render::error_page(
            state,
            StatusCode::BAD_REQUEST,
            "Not available",
            &rejected.to_string(),
        ),
        FlowError::Service(error) => {
            tracing::error!(%error, "lightbox step failed");
            render::error_page(
                state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Please try again in a moment.",
            )
        }
    }
}
