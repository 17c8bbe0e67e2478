//! `POST /accounts/verify` and `POST /accounts/tokenize`: bank account details turned into a
//! token and, when asked, a verification score, from what paybank's simulated banks know and
//! the manual-entry test bank's published answers (contract §7).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use paybank_core::manual_entry::{
    bank_account, test_bank_verification, AccountDetails, Verification, TEST_BANK_ROUTING,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::body::RequestBody;
use crate::api::error::{ApiError, CODE_ACCESS_DENIED};
use crate::api::wire::provider_of;
use crate::api::AuthMerchant;
use crate::app::AppState;
use crate::establish::account_details;

/// Shortest account and routing number these endpoints take (contract §8).
const NUMBER_LENGTH_MIN: usize = 6;

/// These endpoints answer errors with a top-level `message` (contract §2); the standard
/// `errors` envelope is kept next to it so the code and field stay machine-readable.
pub struct AccountsError(ApiError);

impl From<ApiError> for AccountsError {
    fn from(error: ApiError) -> AccountsError {
        AccountsError(error)
    }
}

impl From<paybank_store::StoreError> for AccountsError {
    fn from(error: paybank_store::StoreError) -> AccountsError {
        AccountsError(error.into())
    }
}

impl IntoResponse for AccountsError {
    fn into_response(self) -> Response {
        let error = self.0;
        let mut body = error.body(crate::clock::wall_time_ms());
        body["message"] = json!(error.message);
        (error.status, Json(body)).into_response()
    }
}

#[derive(Deserialize)]
pub struct VerifyParams {
    expand: Option<String>,
}

#[derive(Deserialize)]
pub struct TokenizeParams {
    #[serde(rename = "verifyAccount")]
    verify_account: Option<String>,
}

/// `POST /api/v1/accounts/verify`.
pub async fn verify(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
    Query(params): Query<VerifyParams>,
    body: RequestBody,
) -> Result<Json<Value>, AccountsError> {
    check_merchant(&body, &merchant.merchant_id.to_string())?;
    let details = us_account_details(&body)?;
    let verification = verification(&state, &details).await?;
    let expand = params.expand.unwrap_or_default();
    let with_provider = expand
        .split(',')
        .any(|f| f.trim() == "account.paymentProvider");
    Ok(Json(account_json(
        &details,
        Some(verification),
        with_provider,
    )))
}

/// `POST /api/v1/accounts/tokenize[?verifyAccount=true]`.
pub async fn tokenize(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
    Query(params): Query<TokenizeParams>,
    body: RequestBody,
) -> Result<Json<Value>, AccountsError> {
    check_merchant(&body, &merchant.merchant_id.to_string())?;
    let details = us_account_details(&body)?;
    let verification = match params.verify_account.as_deref() {
        Some("true") => Some(verification(&state, &details).await?),
        None | Some("false") => None,
        Some(_) => {
            let message = "verifyAccount must be true or false";
            return Err(ApiError::invalid("verifyAccount", message).into());
        }
    };
    Ok(Json(account_json(&details, verification, true)))
}

/// The body's merchantId (a string or a number) must be the authenticated merchant's.
fn check_merchant(body: &RequestBody, merchant_id: &str) -> Result<(), ApiError> {
    let given = body.required("merchantId")?;
    let same = given == merchant_id
        || given
            .parse::<f64>()
            .is_ok_and(|number| number.to_string() == merchant_id);
    match same {
        true => Ok(()),
        false => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            CODE_ACCESS_DENIED,
            Some("merchantId"),
            "merchantId does not match the credentials",
        )),
    }
}

/// Account details as these endpoints take them: US only, numbers of 6 characters or more.
fn us_account_details(body: &RequestBody) -> Result<AccountDetails, ApiError> {
    if body.present("account.iban").is_some() {
        return Err(ApiError::invalid(
            "account.iban",
            "paybank's network is US-only: send account.routingNumber and account.accountNumber",
        ));
    }
    for field in ["account.routingNumber", "account.accountNumber"] {
        if body.required(field)?.trim().len() < NUMBER_LENGTH_MIN {
            let message = format!("{field} must be at least {NUMBER_LENGTH_MIN} characters");
            return Err(ApiError::invalid(field, message));
        }
    }
    account_details(body, &["account.nameOnAccount"])
}

/// The test bank answers from its published table; any other bank verifies an account it holds
/// open (score 10) and knows nothing of the rest (score 0).
async fn verification(
    state: &AppState,
    details: &AccountDetails,
) -> Result<Verification, AccountsError> {
    if details.routing_number == TEST_BANK_ROUTING {
        return test_bank_verification(&details.account_number)
            .map_err(|failure| test_account_error(failure.http_status, failure.code).into());
    }
    let held = state
        .store
        .bank_account(&details.routing_number, &details.account_number)
        .await?;
    let open = held.is_some_and(|account| account.status == "open");
    Ok(Verification::of_score(if open { 10 } else { 0 }, None))
}

/// The error a test-bank error account stands for.
fn test_account_error(http_status: u16, code: u16) -> ApiError {
    let status = StatusCode::from_u16(http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = match code {
        200 => "The account could not be verified: invalid parameter (test account)",
        300 => "The account could not be verified: security error (test account)",
        325 => "The account could not be verified: account refused (test account)",
        375 => "The account could not be verified: access control error (test account)",
        _ => "The account could not be verified: internal error (test account)",
    };
    ApiError::new(status, code, Some("account.accountNumber"), message)
}

/// The FinancialInstitutionAccount the provider answers with.
fn account_json(
    details: &AccountDetails,
    verification: Option<Verification>,
    with_provider: bool,
) -> Value {
    let account = bank_account(details);
    let number = &details.account_number;
    let last_four = &number[number.len().saturating_sub(4)..];
    let verified = verification.is_some_and(|found| found.verified);
    let mut verification_json = json!({ "verified": verified, "type": 3 });
    if let Some(found) = verification {
        verification_json["score"] = json!(found.score);
        if let Some(third_party) = found.third_party_score {
            verification_json["thirdPartyScore"] = json!(third_party);
        }
    }
    let mut json = json!({
        "nameOnAccount": details.name_on_account,
        "name": account.account_name,
        "type": details.account_type,
        "profile": 1,
        "verification": verification_json,
        "accountNumber": last_four,
        "routingNumber": details.routing_number,
        "token": account.token,
        "providerId": account.bank_id,
        "verified": verified,
        "country": "US",
    });
    if with_provider {
        json["paymentProvider"] = provider_of(&account);
    }
    json
}
