//! Sandbox endpoints (off in production): move the clock, and authorize without a browser.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use paybank_core::ids::TransactionId;
use paybank_core::lightbox::{Input, LightboxError, LightboxSession, Step};
use paybank_core::model::Merchant;
use serde_json::{json, Value};

use crate::api::body::RequestBody;
use crate::api::error::*;
use crate::api::wire::{AuthorizedAnswer, TransactionView, WriteJson};
use crate::api::AuthMerchant;
use crate::app::AppState;
use crate::clock::parse_duration_seconds;
use crate::jobs::advance_clock;
use crate::lightbox_flow::{lightbox_inputs, FlowError, FlowState};
use crate::service::merchant_chain;

/// The longest single advance: ten years, far beyond any retry window or return time frame.
const ADVANCE_SECONDS_MAX: i64 = 10 * 366 * 86_400;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sandbox/clock", get(get_clock))
        .route("/api/v1/sandbox/clock/advance", post(advance_sandbox_clock))
        .route(
            "/api/v1/sandbox/transactions/{transaction_id}/authorize",
            post(authorize_headless),
        )
}

fn clock_json(state: &AppState) -> Json<Value> {
    Json(json!({ "clock": { "now": state.clock.now(), "offsetMs": state.clock.offset_ms() } }))
}

/// `GET /api/v1/sandbox/clock`.
pub async fn get_clock(State(state): State<AppState>, _merchant: AuthMerchant) -> Json<Value> {
    clock_json(&state)
}

/// `POST /api/v1/sandbox/clock/advance` with `seconds` (or a duration like `3d`). Answers once
/// everything that fell due in between has run, event deliveries included.
pub async fn advance_sandbox_clock(
    State(state): State<AppState>,
    _merchant: AuthMerchant,
    body: RequestBody,
) -> Result<Json<Value>, ApiError> {
    let text = body.required("seconds")?;
    let seconds = parse_duration_seconds(&text)
        .filter(|seconds| *seconds <= ADVANCE_SECONDS_MAX)
        .ok_or_else(|| {
            ApiError::invalid(
                "seconds",
                "seconds must be a whole number of seconds (or like 3d), at most ten years",
            )
        })?;
    advance_clock(&state, seconds * 1000)
        .await
        .map_err(|error| {
            tracing::error!(%error, "clock advance failed");
            ApiError::internal()
        })?;
    Ok(clock_json(&state))
}

/// `POST /api/v1/sandbox/transactions/{id}/authorize`: completes the Lightbox for a transaction
/// through the same state machine as the pages, and returns where the browser would go.
pub async fn authorize_headless(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
    Path(id): Path<String>,
    body: RequestBody,
) -> Result<Response, ApiError> {
    let transaction_id = id.parse().map_err(|()| ApiError::transaction_not_found())?;
    let session = state
        .store
        .lightbox_session_of_transaction(transaction_id)
        .await?;
    // The owner is checked by the flow's own read of the chain; only a refusal reads it here.
    let start = match (session, headless_inputs(&body)) {
        (Some(session), Ok(inputs)) => Ok((session, inputs)),
        (None, _) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            CODE_WRONG_STATUS,
            Some("transactionId"),
            "This transaction has no Lightbox session",
        )),
        (Some(_), Err(invalid)) => Err(invalid),
    };
    let (session, inputs) = match start {
        Ok(start) => start,
        Err(error) => return Err(refusal(&state, &merchant, transaction_id, error).await),
    };
    // One commit for every input: what the pages do a request at a time, this does at once.
    let flow = lightbox_inputs(
        &state,
        &session.session_id,
        &inputs,
        input_applies,
        step_failed,
        Some(merchant.merchant_id),
    )
    .await
    .map_err(flow_error)?;
    let flow = flow.ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            CODE_WRONG_STATUS,
            Some("transactionId"),
            "The Lightbox for this transaction is already finished",
        )
    })?;
    check_step(&flow)?;
    Ok(authorized_answer(&flow))
}

/// The headless authorization's answer: the authorization as it now stands, and where the
/// browser would go.
fn authorized_answer(flow: &FlowState) -> Response {
    let authorization = flow.chain.authorization();
    let transaction = TransactionView::new(&flow.merchant, &flow.chain, authorization);
    AuthorizedAnswer {
        redirect_url: flow.session.redirect_url.as_deref(),
        transaction,
    }
    .into_json_response()
}

/// The inputs a headless authorization makes: the bank (Demo Bank unless named), the login,
/// the security code if asked, the account (`accountIndex`, the first unless given), confirm.
fn headless_inputs(body: &RequestBody) -> Result<[Input; 5], ApiError> {
    let account_index: u8 = match body.present("accountIndex") {
        Some(text) => text.parse().map_err(|_| {
            ApiError::invalid("accountIndex", "accountIndex must be a small number")
        })?,
        None => 0,
    };
    Ok([
        Input::SelectBank {
            bank_id: body
                .present("bank")
                .unwrap_or_else(|| "Demo Bank".to_owned()),
        },
        Input::Login {
            username: body.required("username")?,
            password: body.required("password")?,
        },
        Input::Mfa {
            answer: body.text("mfaAnswer").unwrap_or_default(),
        },
        Input::SelectAccount {
            index: account_index,
        },
        Input::Confirm,
    ])
}

/// What a headless authorization that cannot start answers: `error`, unless the transaction is
/// not the merchant's (or not there), which is not found whatever else is wrong, so another
/// merchant cannot tell it exists.
async fn refusal(
    state: &AppState,
    merchant: &Merchant,
    transaction_id: TransactionId,
    error: ApiError,
) -> ApiError {
    match merchant_chain(state, merchant, transaction_id).await {
        Err(not_theirs) => not_theirs.into(),
        Ok(_) => error,
    }
}

fn input_applies(step: Step, input: &Input) -> bool {
    matches!(
        (step, input),
        (Step::SelectBank, Input::SelectBank { .. })
            | (Step::Login, Input::Login { .. })
            | (Step::Mfa, Input::Mfa { .. })
            | (Step::SelectAccount, Input::SelectAccount { .. })
            | (Step::Confirm, Input::Confirm)
    )
}

/// Whether the Lightbox stopped at an error (or ran out of time): the inputs stop there.
fn step_failed(session: &LightboxSession) -> bool {
    session.step == Step::Expired || session.error.is_some()
}

/// Turns a failed Lightbox step into the error a headless caller gets.
fn check_step(flow: &FlowState) -> Result<(), ApiError> {
    let bad_request = StatusCode::BAD_REQUEST;
    if flow.session.step == Step::Expired {
        return Err(ApiError::new(
            bad_request,
            CODE_SESSION_EXPIRED,
            None,
            "The Lightbox session expired; the transaction is Expired",
        ));
    }
    let Some(error) = flow.session.error else {
        return Ok(());
    };
    let (code, location) = match error {
        LightboxError::WrongCredentials => (CODE_BANK_LOGIN_FAILED, "password"),
        LightboxError::AccountLocked => (CODE_BANK_ACCOUNT_LOCKED, "password"),
        LightboxError::NoEligibleAccounts => (CODE_NO_ELIGIBLE_ACCOUNTS, "password"),
        LightboxError::BankUnavailable
        | LightboxError::ConnectionFailed
        | LightboxError::IpBlocked => (CODE_BANK_UNAVAILABLE, "bank"),
        LightboxError::BankActionRequired => (CODE_BANK_ACCOUNT_LOCKED, "password"),
        LightboxError::NotSupported => (CODE_NO_ELIGIBLE_ACCOUNTS, "bank"),
        LightboxError::MfaFailed => (CODE_MFA_FAILED, "mfaAnswer"),
        LightboxError::UnknownAccount => (CODE_INVALID_PARAMETER, "accountIndex"),
    };
    Err(ApiError::new(
        bad_request,
        code,
        Some(location),
        error.message(),
    ))
}

fn flow_error(error: FlowError) -> ApiError {
    match error {
        FlowError::UnknownSession => ApiError::transaction_not_found(),
        FlowError::Rejected(rejected) => {
            let location = match rejected {
                paybank_core::lightbox::InputRejected::UnknownBank => "bank",
                _ => "transactionId",
            };
            ApiError::new(
                StatusCode::BAD_REQUEST,
                CODE_WRONG_STATUS,
                Some(location),
                rejected.to_string(),
            )
        }
        FlowError::Service(service) => service.into(),
    }
}
