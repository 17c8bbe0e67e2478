//! A bank's own OAuth login window (`/oauth/login/{session}`), as OAuth Demo Bank has: login and
//! security code happen here, outside the Lightbox, which then continues to account selection
//! through `proceedToChooseAccount` (client-flows §1 and §3).

use std::collections::HashMap;

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use paybank_core::lightbox::{session_bank, Input, Step};

use super::{csrf_refusal, flow_error_page, redirect_to, render};
use crate::app::AppState;
use crate::lightbox_flow::{expire_if_due, lightbox_input, load_flow, FlowError, FlowState};
use crate::presentation::Presentation;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth/login/{session_id}", get(show).post(submit_login))
        .route("/oauth/login/{session_id}/mfa", post(submit_mfa))
}

async fn show(State(state): State<AppState>, Path(session_id): Path<String>) -> Response {
    let flow = match load_oauth_flow(&state, &session_id).await {
        Ok(flow) => flow,
        Err(response) => return response,
    };
    let flow = match expire_if_due(&state, flow).await {
        Ok(flow) => flow,
        Err(error) => return flow_error_page(&state, error),
    };
    let session = &flow.session;
    let lightbox_path = format!("/lightbox/{}", session.session_id);
    let presentation = Presentation::of_establish_json(&flow.chain.payment.establish_json);
    let (template, outcome) = match session.step {
        Step::Login => ("oauth_login.html", ""),
        Step::Mfa => ("oauth_mfa.html", ""),
        Step::SelectAccount | Step::Confirm | Step::Finished => ("oauth_done.html", "logged_in"),
        Step::SelectBank | Step::Canceled | Step::Expired => ("oauth_done.html", "closed"),
    };
    let context = context! {
        page => "oauth_login",
        bank => session_bank(session).map(|bank| context! { id => bank.id, name => bank.name }),
        merchant_name => flow.merchant.name,
        session_path => format!("/oauth/login/{}", session.session_id),
        after_oauth_url => presentation.after_oauth_url(&lightbox_path),
        csrf_token => session.csrf_token,
        error => session.error.map(|error| error.message()),
        outcome => outcome,
    };
    let html = state
        .templates
        .get_template(template)
        .and_then(|template| template.render(context));
    // The bank's login page is never framed, and its forms post only to itself.
    render::html_page(&state, html, Some(&[]), &[])
}

async fn submit_login(
    State(state): State<AppState>,
    Path(session_id): Path<String>,
    Form(fields): Form<HashMap<String, String>>,
) -> Response {
    let field = |name: &str| fields.get(name).cloned().unwrap_or_default();
    let input = Input::Login {
        username: field("username"),
        password: field("password"),
    };
    submit(&state, &session_id, &fields, input).await
}

async fn submit_mfa(
    State(state): State<AppState>,
    Path(session_id): Path<String>,
    Form(fields): Form<HashMap<String, String>>,
) -> Response {
    let input = Input::Mfa {
        answer: fields.get("answer").cloned().unwrap_or_default(),
    };
    submit(&state, &session_id, &fields, input).await
}

async fn submit(
    state: &AppState,
    session_id: &str,
    fields: &HashMap<String, String>,
    input: Input,
) -> Response {
    let flow = match load_oauth_flow(state, session_id).await {
        Ok(flow) => flow,
        Err(response) => return response,
    };
    if let Some(page) = csrf_refusal(state, &flow.session, fields) {
        return page;
    }
    match lightbox_input(state, session_id, input).await {
        // A stale form shows the window's current state again.
        Ok(_) | Err(FlowError::Rejected(_)) => redirect_to(&format!("/oauth/login/{session_id}")),
        Err(error) => flow_error_page(state, error),
    }
}

/// The session, if its bank logs in through OAuth; any other bank has no such window.
async fn load_oauth_flow(state: &AppState, session_id: &str) -> Result<FlowState, Response> {
    let flow = load_flow(state, session_id)
        .await
        .map_err(|error| flow_error_page(state, error))?;
    match session_bank(&flow.session) {
        Some(bank) if bank.oauth => Ok(flow),
        _ if flow.session.step.is_final() => Ok(flow),
        _ => Err(render::error_page(
            state,
            StatusCode::NOT_FOUND,
            "Not found",
            "This bank does not log in through its own window.",
        )),
    }
}
