//! `GET /api/v1/paybank/settlements/{date}`: a merchant's settlement report for one banking day
//! (Eastern time), as JSON or CSV. Each line is one posting to the merchant's settled funds,
//! with the transaction it belongs to and the ACH file entry or instant message that moved it.

use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::Json;
use paybank_core::calendar::is_banking_day;
use paybank_core::eastern::eastern_to_utc_ms;
use paybank_core::ids::TransactionId;
use paybank_core::ledger::LedgerAccount;
use paybank_core::model::Merchant;
use paybank_core::money::Amount;
use serde::Deserialize;
use serde_json::{json, Value};
use time::{Date, Time};

use crate::api::error::ApiError;
use crate::api::AuthMerchant;
use crate::app::AppState;

#[derive(Debug, Deserialize)]
pub struct ReportParams {
    format: Option<String>,
}

/// One line of the report.
struct Line {
    transaction_id: TransactionId,
    transaction_type: u8,
    original_transaction_id: Option<TransactionId>,
    merchant_reference: String,
    amount: i64,
    posted_at: i64,
    rail: &'static str,
    file_name: String,
    trace_number: String,
    message_id: String,
}

fn parse_date(text: &str) -> Result<Date, ApiError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format)
        .map_err(|_| ApiError::invalid("date", "date must be a day like 2026-03-02"))
}

pub async fn get_report(
    State(state): State<AppState>,
    AuthMerchant(merchant): AuthMerchant,
    Path(date): Path<String>,
    Query(params): Query<ReportParams>,
) -> Result<Response, ApiError> {
    let date = parse_date(&date)?;
    if !is_banking_day(date) {
        return Err(ApiError::invalid(
            "date",
            "date must be a banking day: nothing settles on weekends or Fed holidays",
        ));
    }
    let csv = match params.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::invalid("format", "format must be json or csv")),
    };
    let lines = report_lines(&state, &merchant, date).await?;
    Ok(match csv {
        true => ([(CONTENT_TYPE, "text/csv; charset=utf-8")], to_csv(&lines)).into_response(),
        false => Json(to_json(&merchant, date, &lines)).into_response(),
    })
}

/// A banking day's report also covers the weekend and holidays before it, so every posting
/// lands in exactly one report: its window starts the day after the previous banking day.
fn window_start(date: Date) -> Date {
    let mut start = date;
    while let Some(before) = start.previous_day().filter(|day| !is_banking_day(*day)) {
        start = before;
    }
    start
}

async fn report_lines(
    state: &AppState,
    merchant: &Merchant,
    date: Date,
) -> Result<Vec<Line>, ApiError> {
    let from = eastern_to_utc_ms(window_start(date), Time::MIDNIGHT);
    let to = date
        .next_day()
        .map_or(i64::MAX, |next| eastern_to_utc_ms(next, Time::MIDNIGHT));
    let account = LedgerAccount::MerchantSettled(merchant.merchant_id).name();
    let postings = state.store.account_postings(&account, from, to).await?;
    let mut lines = Vec::with_capacity(postings.len());
    for (transaction_id, amount, posted_at) in postings {
        lines.push(line(state, transaction_id, amount, posted_at).await?);
    }
    Ok(lines)
}

async fn line(
    state: &AppState,
    transaction_id: TransactionId,
    amount: i64,
    posted_at: i64,
) -> Result<Line, ApiError> {
    let chain = state.store.chain_of_transaction(transaction_id).await?;
    let txn = chain
        .as_ref()
        .and_then(|chain| chain.transaction(transaction_id))
        .cloned();
    // A Reverse transaction moved money because of its original's entry.
    let rail_id = match &txn {
        Some(txn) if txn.transaction_type.code() == 5 => {
            txn.original_transaction_id.unwrap_or(transaction_id)
        }
        _ => transaction_id,
    };
    let entry = state.store.entry_of_transaction(rail_id).await?;
    let message = state
        .store
        .list_instant_messages(None, Some(rail_id), 1)
        .await?
        .into_iter()
        .next();
    let rail = match (&entry, &message) {
        (Some(_), _) => "ach",
        (None, Some(message)) => message.network.name(),
        (None, None) => "ledger",
    };
    Ok(Line {
        transaction_id,
        transaction_type: txn.as_ref().map_or(0, |txn| txn.transaction_type.code()),
        original_transaction_id: txn.as_ref().and_then(|txn| txn.original_transaction_id),
        merchant_reference: txn.map(|txn| txn.merchant_reference).unwrap_or_default(),
        amount,
        posted_at,
        rail,
        file_name: entry
            .as_ref()
            .and_then(|entry| entry.file_name.clone())
            .unwrap_or_default(),
        trace_number: entry
            .and_then(|entry| entry.trace_number)
            .unwrap_or_default(),
        message_id: message
            .map(|message| message.message_id)
            .unwrap_or_default(),
    })
}

fn to_json(merchant: &Merchant, date: Date, lines: &[Line]) -> Value {
    let credits: i64 = lines.iter().map(|line| line.amount.max(0)).sum();
    let debits: i64 = lines.iter().map(|line| line.amount.min(0)).sum();
    let entries: Vec<Value> = lines
        .iter()
        .map(|line| {
            json!({
                "transactionId": line.transaction_id.to_string(),
                "transactionType": line.transaction_type,
                "originalTransactionId": line.original_transaction_id.map(|id| id.to_string()),
                "merchantReference": line.merchant_reference,
                "amount": Amount::from_minor(line.amount).to_string(),
                "postedAt": line.posted_at,
                "rail": line.rail,
                "fileName": line.file_name,
                "traceNumber": line.trace_number,
                "messageId": line.message_id,
            })
        })
        .collect();
    json!({
        "settlement": {
            "merchantId": merchant.merchant_id.to_string(),
            "date": date.to_string(),
            "windowStart": window_start(date).to_string(),
            "currency": "USD",
            "credits": Amount::from_minor(credits).to_string(),
            "debits": Amount::from_minor(debits).to_string(),
            "net": Amount::from_minor(credits + debits).to_string(),
            "entries": entries,
        }
    })
}

fn csv_field(text: &str) -> String {
    match text.contains([',', '"', '\n']) {
        true => format!("\"{}\"", text.replace('"', "\"\"")),
        false => text.to_owned(),
    }
}

fn to_csv(lines: &[Line]) -> String {
    let mut out = String::from("transactionId,transactionType,originalTransactionId,merchantReference,amount,postedAt,rail,fileName,traceNumber,messageId\n");
    for line in lines {
        let fields = [
            line.transaction_id.to_string(),
            line.transaction_type.to_string(),
            line.original_transaction_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            csv_field(&line.merchant_reference),
            Amount::from_minor(line.amount).to_string(),
            line.posted_at.to_string(),
            line.rail.to_owned(),
            line.file_name.clone(),
            line.trace_number.clone(),
            line.message_id.clone(),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    let net: i64 = lines.iter().map(|line| line.amount).sum();
    out.push_str(&format!("net,,,,{},,,,,\n", Amount::from_minor(net)));
    out
}
