//! The API's one error type and the provider's error envelope (contract §1 "Error shape").

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use paybank_core::rules::RuleError;
use serde_json::json;

use crate::service::ServiceError;

// tidy:error-codes:start
/// Internal error (database, unexpected state).
pub const CODE_INTERNAL: u16 = 100;
/// A parameter is missing or malformed.
pub const CODE_INVALID_PARAMETER: u16 = 200;
/// The merchantReference was already used (idempotency).
pub const CODE_DUPLICATE: u16 = 210;
/// The transaction's status does not allow the operation (paybank).
pub const CODE_WRONG_STATUS: u16 = 220;
/// The amount exceeds what the authorization or capture still allows (paybank).
pub const CODE_AMOUNT_UNAVAILABLE: u16 = 230;
/// The merchant's settled funds cannot cover this payout (paybank, settled-only merchants).
pub const CODE_INSUFFICIENT_SETTLED_FUNDS: u16 = 231;
/// The receiving bank's time frame for this return or notice is over (paybank, sandbox).
pub const CODE_RETURN_WINDOW_CLOSED: u16 = 232;
/// Bank login refused: wrong credentials (paybank, headless authorization).
pub const CODE_BANK_LOGIN_FAILED: u16 = 240;
/// Bank login refused: the online banking account is locked (paybank).
pub const CODE_BANK_ACCOUNT_LOCKED: u16 = 241;
/// The bank has no eligible account for this user (paybank).
pub const CODE_NO_ELIGIBLE_ACCOUNTS: u16 = 242;
/// The bank cannot be reached (paybank).
pub const CODE_BANK_UNAVAILABLE: u16 = 243;
/// The MFA answer was wrong or missing (paybank).
pub const CODE_MFA_FAILED: u16 = 244;
/// The Lightbox session expired (paybank).
pub const CODE_SESSION_EXPIRED: u16 = 245;
/// Bad credentials or request signature.
pub const CODE_ACCESS_DENIED: u16 = 375;
/// The split token does not match.
pub const CODE_SPLIT_TOKEN_INVALID: u16 = 380;
/// The split token is missing.
pub const CODE_SPLIT_TOKEN_MISSING: u16 = 397;
/// No such endpoint (paybank).
pub const CODE_NOT_FOUND: u16 = 404;
// tidy:error-codes:end

/// An error answered to an API caller.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: u16,
    pub location: Option<String>,
    pub message: String,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: u16,
        location: Option<&str>,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            location: location.map(str::to_owned),
            message: message.into(),
        }
    }

    /// A `transactionId` given as a parameter (query or body) that is no transaction id.
    pub fn invalid_transaction_id() -> ApiError {
        ApiError::invalid("transactionId", "not a transaction id")
    }

    pub fn invalid(location: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            CODE_INVALID_PARAMETER,
            Some(location),
            message,
        )
    }

    pub fn missing(location: &str) -> ApiError {
        ApiError::invalid(location, format!("{location} is required"))
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            CODE_ACCESS_DENIED,
            None,
            "Access not authorized",
        )
    }

    pub fn duplicate() -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            CODE_DUPLICATE,
            Some("merchantReference"),
            "This is a duplicate request. It has been ignored",
        )
    }

    pub fn transaction_not_found() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            CODE_INVALID_PARAMETER,
            Some("transactionId"),
            "Transaction not found",
        )
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            CODE_INTERNAL,
            None,
            "Internal error",
        )
    }

    /// The Java-style exception name the provider puts in `domain`.
    fn domain(&self) -> &'static str {
        match self.code {
            CODE_ACCESS_DENIED => {
                "com.paywithmybank.merchantgateway.v1.exception.AccessControlException"
            }
            CODE_DUPLICATE => {
                "com.paywithmybank.merchantgateway.v1.exception.DuplicateRequestException"
            }
            CODE_INTERNAL => {
                "com.paywithmybank.merchantgateway.v1.exception.InternalErrorException"
            }
            CODE_NOT_FOUND => "com.paywithmybank.merchantgateway.v1.exception.NotFoundException",
            _ => "com.paywithmybank.merchantgateway.v1.exception.InvalidParameterException",
        }
    }

    /// The envelope as JSON, with the time it occurred.
    pub fn body(&self, occurred_at: i64) -> serde_json::Value {
        let mut error = json!({
            "domain": self.domain(),
            "code": self.code,
            "message": self.message,
            "occurredAt": occurred_at,
        });
        if let Some(location) = &self.location {
            error["location"] = json!(location);
        }
        json!({ "errors": [error] })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, message = %self.message, "request failed");
        }
        // The envelope is stamped with wall time: the error is about this request, not the
        // simulated clock, and the error path must not need application state.
        (self.status, Json(self.body(crate::clock::wall_time_ms()))).into_response()
    }
}

impl From<RuleError> for ApiError {
    fn from(error: RuleError) -> ApiError {
        let message = error.to_string();
        let bad_request = StatusCode::BAD_REQUEST;
        match error {
            RuleError::UnknownTransaction(_) => ApiError::transaction_not_found(),
            RuleError::WrongTransactionType(_)
            | RuleError::WrongStatus(_)
            | RuleError::WrongPaymentType(_) => ApiError::new(
                bad_request,
                CODE_WRONG_STATUS,
                Some("transactionId"),
                message,
            ),
            RuleError::AmountRequired | RuleError::AmountTooSmall => {
                ApiError::invalid("amount", message)
            }
            RuleError::AmountTooLarge(_) => ApiError::new(
                bad_request,
                CODE_AMOUNT_UNAVAILABLE,
                Some("amount"),
                message,
            ),
            RuleError::PeriodOutOfRange => ApiError::invalid("period", message),
            RuleError::SplitTokenMissing => ApiError::new(
                bad_request,
                CODE_SPLIT_TOKEN_MISSING,
                Some("splitToken"),
                message,
            ),
            RuleError::SplitTokenInvalid => ApiError::new(
                bad_request,
                CODE_SPLIT_TOKEN_INVALID,
                Some("splitToken"),
                message,
            ),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> ApiError {
        match error {
            ServiceError::NotFound => ApiError::transaction_not_found(),
            ServiceError::Rule(rule) => rule.into(),
            ServiceError::Duplicate(_) => ApiError::duplicate(),
            ServiceError::Store(paybank_store::StoreError::InsufficientFunds(_)) => ApiError::new(
                StatusCode::BAD_REQUEST,
                CODE_INSUFFICIENT_SETTLED_FUNDS,
                Some("amount"),
                "The merchant's settled funds do not cover this payout",
            ),
            ServiceError::Store(store) => {
                tracing::error!(error = %store, "store failure");
                ApiError::internal()
            }
        }
    }
}

impl From<paybank_store::StoreError> for ApiError {
    fn from(error: paybank_store::StoreError) -> ApiError {
        ServiceError::from(error).into()
    }
}
