//! Sandbox endpoints that make a receiving bank answer a given way: an ACH return with an R-code,
//! a notification of change, or an instant payment's rejection or accept-without-posting. Each
//! goes through the real path: the bank's file or pacs.002, read back by paybank.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use paybank_core::ach_files::Answer;
use paybank_core::codes::{TransactionStatus, TransactionType};
use paybank_core::ids::TransactionId;
use paybank_core::model::Merchant;
use paybank_core::nacha::{change_code_is_known, return_code_is_known};
use paybank_core::rails::{account_correction, ForcedOutcome, Rail, RailJob, RailJobKind};
use paybank_core::return_window::{return_deadline, return_time_frame};
use paybank_core::routing::routing_number_is_valid;
use paybank_store::{EntryState, RailWrite, StoredEntry, WriteSet};
use serde_json::{json, Value};

use crate::api::body::RequestBody;
use crate::api::error::{ApiError, CODE_RETURN_WINDOW_CLOSED, CODE_WRONG_STATUS};
use crate::api::AuthMerchant;
use crate::app::AppState;
use crate::rails::ach::answer_file_for;
use crate::rails::files::mirror;
use crate::service::merchant_chain;

fn transaction_field(body: &RequestBody) -> Result<TransactionId, ApiError> {
    body.required("transactionId")?
        .parse()
        .map_err(|()| ApiError::invalid_transaction_id())
}

fn internal(error: anyhow::Error) -> ApiError {
    tracing::error!(%error, "forcing an outcome failed");
    ApiError::internal()
}

fn wrong_status(message: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        CODE_WRONG_STATUS,
        Some("transactionId"),
        message,
    )
}

/// `POST /api/v1/sandbox/ach/returns` with `transactionId` and `returnCode` (R01…).
pub async fn force_return(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
    body: RequestBody,
) -> Result<Json<Value>, ApiError> {
    let transaction_id = transaction_field(&body)?;
    let code = body.required("returnCode")?.trim().to_ascii_uppercase();
    if !return_code_is_known(&code) {
        return Err(ApiError::invalid(
            "returnCode",
            "returnCode must be a NACHA return reason code such as R01",
        ));
    }
    let outcome = ForcedOutcome::Return { code: code.clone() };
    let answer = Answer::Return { code: code.clone() };
    force_ach(&state, &merchant, transaction_id, outcome, answer, &code).await
}

/// `POST /api/v1/sandbox/ach/notices` with `transactionId`, `changeCode` (C01…) and
/// `correctedData` as the NOC's addenda carries it.
pub async fn force_notice(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
    body: RequestBody,
) -> Result<Json<Value>, ApiError> {
    let transaction_id = transaction_field(&body)?;
    let code = body.required("changeCode")?.trim().to_ascii_uppercase();
    if !change_code_is_known(&code) {
        return Err(ApiError::invalid(
            "changeCode",
            "changeCode must be a NACHA change code such as C01",
        ));
    }
    let corrected = body.required("correctedData")?;
    let correction = account_correction(&code, &corrected).ok_or_else(|| {
        ApiError::invalid(
            "correctedData",
            "correctedData does not fit the change code's layout (C01, C02, C03, C05, C06, C07)",
        )
    })?;
    if correction
        .routing_number
        .as_deref()
        .is_some_and(|routing| !routing_number_is_valid(routing))
    {
        return Err(ApiError::invalid(
            "correctedData",
            "the corrected routing number fails its check digit",
        ));
    }
    let outcome = ForcedOutcome::NoticeOfChange {
        code: code.clone(),
        corrected: corrected.clone(),
    };
    let answer = Answer::Notice {
        code: code.clone(),
        corrected,
    };
    force_ach(&state, &merchant, transaction_id, outcome, answer, &code).await
}

/// Before the entry posts, the bank is told what to do when it does; after, it answers now
/// (within the code's time frame) with a file paybank reads at once.
async fn force_ach(
    state: &AppState,
    merchant: &Merchant,
    transaction_id: TransactionId,
    outcome: ForcedOutcome,
    answer: Answer,
    code: &str,
) -> Result<Json<Value>, ApiError> {
    let chain = merchant_chain(state, merchant, transaction_id).await?;
    let txn = chain
        .transaction(transaction_id)
        .ok_or_else(ApiError::transaction_not_found)?;
    if txn.rail.is_some_and(Rail::is_instant) {
        return Err(wrong_status(
            "This payout moves over an instant rail, not ACH; force the receiving bank's answer with /api/v1/sandbox/instant/outcomes",
        ));
    }
    let entry = state.store.entry_of_transaction(transaction_id).await?;
    let now = state.clock.now();
    let (write, applies) = match entry {
        None if txn.status == TransactionStatus::Authorized
            && moves_over_ach(txn.transaction_type) =>
        {
            (
                forced_write(transaction_id, outcome),
                "when the entry settles",
            )
        }
        Some(stored) if matches!(stored.state, EntryState::Queued | EntryState::Filed) => (
            forced_write(transaction_id, outcome),
            "when the entry settles",
        ),
        Some(stored) if stored.state == EntryState::Posted => {
            check_window(&stored, code, now)?;
            (
                answer_now(state, merchant, stored, answer, now).await?,
                "now",
            )
        }
        _ => {
            return Err(wrong_status(
                "This transaction has no ACH entry a bank could still answer",
            ))
        }
    };
    let files = write.files.clone();
    state
        .commit(WriteSet {
            rail: Some(write),
            ..WriteSet::default()
        })
        .await?;
    mirror(state, &files);
    Ok(Json(json!({
        "forced": { "transactionId": transaction_id.to_string(), "code": code, "applies": applies }
    })))
}

fn moves_over_ach(transaction_type: TransactionType) -> bool {
    use TransactionType::{Capture, Deposit, Pay, Refund};
    matches!(transaction_type, Capture | Deposit | Pay | Refund)
}

fn forced_write(transaction_id: TransactionId, outcome: ForcedOutcome) -> RailWrite {
    RailWrite {
        forced: vec![(transaction_id, outcome)],
        ..RailWrite::default()
    }
}

/// A posted entry may be returned or corrected only within the code's time frame.
fn check_window(stored: &StoredEntry, code: &str, now: i64) -> Result<(), ApiError> {
    let frame = match code.starts_with('C') {
        true => return_time_frame("R01"),
        false => return_time_frame(code),
    };
    let Some(frame) = frame else {
        return Ok(());
    };
    let deadline = return_deadline(stored.entry.settlement_date, frame);
    if now > deadline {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            CODE_RETURN_WINDOW_CLOSED,
            Some("returnCode"),
            format!("{code} must reach the originator by {deadline} (epoch ms); the entry settled on {}", stored.entry.settlement_date),
        ));
    }
    Ok(())
}

async fn answer_now(
    state: &AppState,
    merchant: &Merchant,
    stored: StoredEntry,
    answer: Answer,
    now: i64,
) -> Result<RailWrite, ApiError> {
    let rdfi = stored.entry.routing_number.clone();
    let transaction_id = stored.entry.transaction_id;
    // A returned entry is done with: marking it now, with the file, keeps a second forced
    // return from writing a second file for the same money.
    let (kind, entry_states) = match &answer {
        Answer::Return { code } => (
            "returns",
            vec![(transaction_id, EntryState::Returned, Some(code.clone()))],
        ),
        Answer::Notice { .. } => ("notices", Vec::new()),
    };
    let file = answer_file_for(
        state,
        now,
        &rdfi,
        merchant.merchant_id,
        kind,
        vec![(stored, answer)],
    )
    .await
    .map_err(internal)?;
    Ok(RailWrite {
        jobs: vec![RailJob::new(
            RailJobKind::AchReceive,
            file.name.clone(),
            now,
        )],
        files: vec![file],
        entry_states,
        ..RailWrite::default()
    })
}

/// `POST /api/v1/sandbox/instant/outcomes` with `transactionId`, `status` (`RJCT` or `ACWP`)
/// and, for RJCT, `reasonCode` (an ISO 20022 code such as AC03 or AM04): the receiving bank
/// answers the deposit's instant payment that way.
pub async fn force_instant(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
    body: RequestBody,
) -> Result<Json<Value>, ApiError> {
    let transaction_id = transaction_field(&body)?;
    let outcome = match body.required("status")?.trim() {
        "RJCT" => {
            let reason = body.required("reasonCode")?.trim().to_ascii_uppercase();
            if !(reason.len() == 4 && reason.bytes().all(|b| b.is_ascii_alphanumeric())) {
                return Err(ApiError::invalid(
                    "reasonCode",
                    "reasonCode must be a 4-character ISO 20022 status reason code",
                ));
            }
            ForcedOutcome::InstantReject { reason }
        }
        "ACWP" => ForcedOutcome::InstantAcceptWithoutPosting,
        _ => return Err(ApiError::invalid("status", "status must be RJCT or ACWP")),
    };
    let chain = merchant_chain(&state, &merchant, transaction_id).await?;
    let txn = chain
        .transaction(transaction_id)
        .ok_or_else(ApiError::transaction_not_found)?;
    let answered = state
        .store
        .list_instant_messages(None, Some(transaction_id), 10)
        .await?
        .iter()
        .any(|message| message.direction == "received");
    let open = matches!(
        txn.status,
        TransactionStatus::Authorized | TransactionStatus::Processed
    );
    if !txn.rail.is_some_and(Rail::is_instant) {
        return Err(wrong_status(
            "This transaction does not move over an instant rail; force an ACH return or notice instead",
        ));
    }
    if !open || answered {
        return Err(wrong_status(
            "Only an instant payout whose payment is not answered yet can be forced",
        ));
    }
    state
        .commit(WriteSet {
            rail: Some(forced_write(transaction_id, outcome)),
            ..WriteSet::default()
        })
        .await?;
    Ok(Json(
        json!({ "forced": { "transactionId": transaction_id.to_string(), "applies": "when the receiving bank answers" } }),
    ))
}
