//! Establishing a bank authorization: validates establish data (API or SDK form), creates the
//! payment, its authorization and a Lightbox session in one commit, and returns the Lightbox URL.

use axum::http::StatusCode;
use paybank_core::authorization::{
    establish, establish_authorized, AuthorizationGrant, EstablishRequest,
};
use paybank_core::autocapture::parse_recurrence;
use paybank_core::codes::{PaymentType, TransactionType};
use paybank_core::lightbox::{LightboxSession, Step};
use paybank_core::manual_entry::{self, AccountDetails};
use paybank_core::model::{Merchant, PaymentChain};
use paybank_core::money::Amount;
use paybank_core::routing::routing_number_is_valid;
use paybank_core::rules::Ctx;
use paybank_core::rules::AMOUNT_MIN;
use paybank_core::signature::{request_signature_message, verify};
use paybank_store::WriteSet;

use crate::api::body::RequestBody;
use crate::api::error::{ApiError, CODE_ACCESS_DENIED};
use crate::app::AppState;
use crate::ids::IDS_PER_COMMAND;
use crate::origins::{is_allowed, is_app_return_url, is_http_url};
use crate::presentation::IntegrationContext;
use crate::rails::banks::account_opening;
use crate::random::{random_split_token, random_token};

/// Longest merchant reference and description accepted.
const REFERENCE_LENGTH_MAX: usize = 255;
const DESCRIPTION_LENGTH_MAX: usize = 255;
const URL_LENGTH_MAX: usize = 2048;
/// Longest name on an account: the ACH entry's individual name field is 22 characters, but
/// the provider takes longer names and banks truncate them.
const NAME_LENGTH_MAX: usize = 100;

/// A created authorization and where the consumer goes to complete it.
pub struct Established {
    pub chain: PaymentChain,
    pub session: LightboxSession,
    pub lightbox_url: String,
}

/// Checks the establish data against the merchant: identity, fields, and that the merchant
/// reference is not already taken by an authorization.
async fn checked_request(
    state: &AppState,
    merchant: &Merchant,
    body: &RequestBody,
    ip: &str,
) -> Result<EstablishRequest, ApiError> {
    check_identity(merchant, body)?;
    check_integration_context(body)?;
    let request = establish_request(merchant, body, ip)?;
    let claim = state
        .store
        .reference_claim(
            merchant.merchant_id,
            TransactionType::Authorize.code(),
            &request.merchant_reference,
        )
        .await?;
    match claim {
        Some(_) => Err(ApiError::duplicate()),
        None => Ok(request),
    }
}

/// A Disbursement that names the account to pay (no Lightbox), rather than one where the
/// consumer picks an account at their bank.
pub fn pays_given_account(body: &RequestBody) -> bool {
    body.present("paymentType").as_deref() == Some("Disbursement")
        && body.present("account.accountNumber").is_some()
}

/// The `account.*` details of a request, checked for an ACH entry; the name on the account is
/// the first of `name_fields` present.
pub fn account_details(
    body: &RequestBody,
    name_fields: &[&str],
) -> Result<AccountDetails, ApiError> {
    let account_type = match body.present("account.type") {
        None => 1,
        Some(text) => text.trim().parse().map_err(|_| {
            ApiError::invalid(
                "account.type",
                "account.type must be 1 (Checking) or 2 (Savings)",
            )
        })?,
    };
    let mut name_on_account = String::new();
    for field in name_fields {
        if let Some(name) = body.bounded(field, NAME_LENGTH_MAX)? {
            name_on_account = name;
            break;
        }
    }
    let details = AccountDetails {
        routing_number: body.required("account.routingNumber")?.trim().to_owned(),
        account_number: body.required("account.accountNumber")?.trim().to_owned(),
        account_type,
        name_on_account,
    };
    details
        .check()
        .map_err(|error| ApiError::invalid(error.field, error.message))?;
    Ok(details)
}

/// Establishes a Disbursement to account details the merchant holds: authorized at once, with
/// no Lightbox, and the account opened at the simulated bank (paybank's rails pay into it).
pub async fn establish_disbursement(
    state: &AppState,
    merchant: &Merchant,
    body: &RequestBody,
    ip: &str,
) -> Result<PaymentChain, ApiError> {
    let request = checked_request(state, merchant, body, ip).await?;
    let details = account_details(body, &["account.nameOnAccount", "customer.name"])?;
    let mut ids = state
        .ids
        .reserve(state.store.as_ref(), IDS_PER_COMMAND)
        .await?;
    let mut ctx = Ctx {
        merchant,
        policy: &state.policy,
        ids: &mut ids,
        now: state.clock.now(),
    };
    let grant = AuthorizationGrant {
        account: manual_entry::bank_account(&details),
        split_token: merchant.split_token_enabled.then(random_split_token),
        split_token_expired: false,
        decline_next_capture: None,
    };
    let change = establish_authorized(&mut ctx, request, grant)?;
    let chain = PaymentChain::from_new(&change);
    state
        .commit(WriteSet {
            rail: account_opening(Some(&change)),
            change: Some(change.into()),
            ..WriteSet::default()
        })
        .await?;
    Ok(chain)
}

/// Checks the establish data against the merchant and creates the authorization.
pub async fn establish_authorization(
    state: &AppState,
    merchant: &Merchant,
    body: &RequestBody,
    ip: &str,
) -> Result<Established, ApiError> {
    let request = checked_request(state, merchant, body, ip).await?;
    let mut ids = state
        .ids
        .reserve(state.store.as_ref(), IDS_PER_COMMAND)
        .await?;
    let now = state.clock.now();
    let mut ctx = Ctx {
        merchant,
        policy: &state.policy,
        ids: &mut ids,
        now,
    };
    let change = establish(&mut ctx, request);
    let chain = PaymentChain::from_new(&change);
    let session = new_session(&chain, now, state.policy.lightbox_session_ttl_ms);
    let write = WriteSet {
        change: Some(change.into()),
        session: Some(session.clone()),
        ..WriteSet::default()
    };
    state.commit(write).await?;
    let lightbox_url = format!("{}/lightbox/{}", state.public_url, session.session_id);
    Ok(Established {
        chain,
        session,
        lightbox_url,
    })
}

fn new_session(chain: &PaymentChain, now: i64, ttl_ms: i64) -> LightboxSession {
    LightboxSession {
        session_id: random_token(24),
        payment_id: chain.payment.payment_id,
        transaction_id: chain.payment.authorization_id,
        step: Step::SelectBank,
        bank_id: None,
        username: None,
        behaviour: None,
        account_index: None,
        error: None,
        csrf_token: random_token(24),
        expires_at: now + ttl_ms,
        redirect_url: None,
        updated_at: now,
    }
}

/// accessId, merchantId and requestSignature must all belong to the authenticated merchant.
fn check_identity(merchant: &Merchant, body: &RequestBody) -> Result<(), ApiError> {
    let access_denied = |location: &str, message: &str| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            CODE_ACCESS_DENIED,
            Some(location),
            message,
        )
    };
    if body.required("accessId")? != merchant.access_id {
        return Err(access_denied(
            "accessId",
            "accessId does not match the credentials",
        ));
    }
    if body.required("merchantId")? != merchant.merchant_id.to_string() {
        return Err(access_denied(
            "merchantId",
            "merchantId does not match the credentials",
        ));
    }
    let signature = body.required("requestSignature")?;
    let message = request_signature_message(&body.0);
    if !verify(&merchant.access_key, &message, &signature) {
        return Err(access_denied(
            "requestSignature",
            "requestSignature is not valid",
        ));
    }
    Ok(())
}

fn establish_request(
    merchant: &Merchant,
    body: &RequestBody,
    ip: &str,
) -> Result<EstablishRequest, ApiError> {
    let payment_type = match body.present("paymentType") {
        None => PaymentType::Retrieval,
        Some(name) => PaymentType::from_name(&name).ok_or_else(|| {
            ApiError::invalid("paymentType", "paymentType must be one of Instant, Deferred, Recurring, Disbursement, Verification, Retrieval")
        })?,
    };
    let currency = match (body.present("currency"), payment_type) {
        (Some(currency), _) if currency == "USD" || currency == "CAD" => currency,
        (Some(_), _) => return Err(ApiError::invalid("currency", "currency must be USD or CAD")),
        (None, PaymentType::Retrieval | PaymentType::Verification) => "USD".to_owned(),
        (None, _) => return Err(ApiError::missing("currency")),
    };
    let amount = match body.present("amount") {
        Some(text) => Amount::parse(&text)
            .map_err(|error| ApiError::invalid("amount", format!("amount {error}")))?,
        None => Amount::ZERO,
    };
    check_rail_fields(body, payment_type, amount)?;
    let merchant_reference = body.required("merchantReference")?;
    if merchant_reference.chars().count() > REFERENCE_LENGTH_MAX {
        return Err(ApiError::invalid(
            "merchantReference",
            "merchantReference is too long",
        ));
    }
    let return_url = redirect_url(merchant, body, "returnUrl")?;
    let cancel_url = redirect_url(merchant, body, "cancelUrl")?;
    let notification_url =
        match body.bounded("notificationUrl", URL_LENGTH_MAX)? {
            Some(url) if is_http_url(&url) && is_allowed(merchant, &url) => Some(url),
            Some(_) => return Err(ApiError::invalid(
                "notificationUrl",
                "notificationUrl must be an http(s) URL on one of the merchant's allowed origins",
            )),
            None => None,
        };
    Ok(EstablishRequest {
        payment_type,
        merchant_reference,
        currency,
        amount,
        description: body.bounded("description", DESCRIPTION_LENGTH_MAX)?,
        return_url,
        cancel_url,
        notification_url,
        establish_json: establish_echo(body),
        ip: ip.to_owned(),
    })
}

/// What the bank rails need from the establish data: routing numbers that pass the ABA check
/// digit, an amount for an Instant payment (its Pay is for exactly that), and a recurrence a
/// schedule can be built from.
fn check_rail_fields(
    body: &RequestBody,
    payment_type: PaymentType,
    amount: Amount,
) -> Result<(), ApiError> {
    for field in [
        "account.routingNumber",
        "beneficiaryAccount.paymentProvider.routingNumber",
    ] {
        if let Some(routing) = body.present(field) {
            if !routing_number_is_valid(routing.trim()) {
                return Err(ApiError::invalid(
                    field,
                    format!(
                        "{field} must be a 9-digit ABA routing number with a valid check digit"
                    ),
                ));
            }
        }
    }
    if payment_type == PaymentType::Instant && amount < AMOUNT_MIN {
        return Err(ApiError::invalid(
            "amount",
            "an Instant payment needs an amount of at least 0.99",
        ));
    }
    match body.0.get("recurrence") {
        Some(fields) if payment_type == PaymentType::Recurring => parse_recurrence(fields, amount)
            .map(|_| ())
            .map_err(|(field, message)| ApiError::invalid(field, message)),
        _ => Ok(()),
    }
}

fn redirect_url(merchant: &Merchant, body: &RequestBody, field: &str) -> Result<String, ApiError> {
    let url = body
        .bounded(field, URL_LENGTH_MAX)?
        .ok_or_else(|| ApiError::missing(field))?;
    let url_scheme = body.present("metadata.urlScheme");
    if !is_allowed(merchant, &url) && !is_app_return_url(&url, url_scheme.as_deref()) {
        return Err(ApiError::invalid(
            field,
            format!("{field} must be on one of the merchant's allowed origins, or the app's metadata.urlScheme"),
        ));
    }
    Ok(url)
}

/// `metadata.integrationContext` must be one the hosted pages know how to behave in.
fn check_integration_context(body: &RequestBody) -> Result<(), ApiError> {
    match body.present("metadata.integrationContext") {
        Some(context) if IntegrationContext::from_name(&context).is_none() => {
            Err(ApiError::invalid(
                "metadata.integrationContext",
                "metadata.integrationContext must be one of InAppBrowser, InAppBrowserNotify, ExternalBrowser, SecureBrowser",
            ))
        }
        _ => Ok(()),
    }
}

/// What is kept of the establish data to echo on reads: customer, metadata and similar, but
/// never the signature or credentials.
fn establish_echo(body: &RequestBody) -> String {
    let mut echo = serde_json::Map::new();
    for key in [
        "customer",
        "metadata",
        "recurrence",
        "verification",
        "displayAmount",
        "timeZone",
        "kycType",
    ] {
        if let Some(value) = body.0.get(key) {
            echo.insert(key.to_owned(), value.clone());
        }
    }
    serde_json::Value::Object(echo).to_string()
}
