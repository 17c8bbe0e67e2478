//! Captures paybank makes by itself: the Pay of an Instant payment right after authorization,
//! and the scheduled captures of a Recurring payment with `recurrence.automaticCapture`.

use crate::capture::{accept_child, new_child};
use crate::change::Change;
use crate::codes::{PaymentType, TransactionStatus, TransactionType};
use crate::ids::PaymentId;
use crate::model::{Payment, PaymentChain, TimestampMs, Transaction};
use crate::money::Amount;
use crate::rails::{Rail, RailJob, RailJobKind};
use crate::recurrence::{next_occurrence_after, occurrence, parse_unit_type, validate, Recurrence};
use crate::rules::{Ctx, RuleError, AMOUNT_MIN};

/// Adds to an authorization's change what its payment type does by itself: an Instant payment's
/// Pay (type 2) for the whole amount, in that day's batch; a Recurring payment's first
/// automatic capture.
pub fn on_authorized(ctx: &mut Ctx<'_>, change: &mut Change, authorization: &Transaction) {
    match change.payment.payment_type {
        PaymentType::Instant if change.payment.amount >= AMOUNT_MIN => {
            let amount = change.payment.amount;
            let reference = authorization.merchant_reference.clone();
            let pay = new_child(
                ctx,
                authorization,
                TransactionType::Pay,
                reference,
                amount,
                authorization.ip.clone(),
            );
            accept_child(ctx, change, pay, Rail::Ach);
        }
        PaymentType::Recurring => {
            if let Some((index, due_at)) = automatic_schedule(&change.payment)
                .and_then(|recurrence| next_occurrence_after(&recurrence, ctx.now - 1))
            {
                change
                    .rail_jobs
                    .push(recurring_job(change.payment.payment_id, index, due_at));
            }
        }
        _ => {}
    }
}

fn recurring_job(payment_id: PaymentId, index: u32, due_at: TimestampMs) -> RailJob {
    RailJob::new(
        RailJobKind::RecurringCapture,
        format!("{payment_id}:{index}"),
        due_at,
    )
}

/// The payment's recurrence, if it has one with automatic captures.
pub fn automatic_schedule(payment: &Payment) -> Option<Recurrence> {
    let recurrence = recurrence_of(payment)?;
    recurrence.automatic_capture.then_some(recurrence)
}

/// Reads `recurrence` from the establish data as the merchant sent it.
pub fn recurrence_of(payment: &Payment) -> Option<Recurrence> {
    let establish: serde_json::Value = serde_json::from_str(&payment.establish_json).ok()?;
    parse_recurrence(establish.get("recurrence")?, payment.amount).ok()
}

/// A `recurrence` object checked field by field (numbers may arrive as strings: form posts
/// carry everything as text). The error names the offending field and says why.
pub fn parse_recurrence(
    fields: &serde_json::Value,
    default_amount: Amount,
) -> Result<Recurrence, (&'static str, String)> {
    let text = |name: &str| -> Option<String> {
        match fields.get(name)? {
            serde_json::Value::String(s) => Some(s.trim().to_owned()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        }
    };
    let number = |name: &'static str| -> Result<Option<i64>, (&'static str, String)> {
        text(name)
            .map(|raw| {
                raw.parse::<i64>()
                    .map_err(|_| (name, format!("{name} must be a whole number")))
            })
            .transpose()
    };
    let small = |name: &'static str| -> Result<u32, (&'static str, String)> {
        let value = number(name)?.unwrap_or(1);
        u32::try_from(value).map_err(|_| (name, format!("{name} must be positive")))
    };
    let unit_text = text("frequencyUnitType").ok_or((
        "recurrence.frequencyUnitType",
        "recurrence.frequencyUnitType is required".to_owned(),
    ))?;
    let unit = parse_unit_type(&unit_text).ok_or((
        "recurrence.frequencyUnitType",
        "recurrence.frequencyUnitType must be Day, Week, Month or Year (1-4)".to_owned(),
    ))?;
    let amount = match text("recurringAmount") {
        Some(raw) => Amount::parse(&raw).map_err(|error| {
            (
                "recurrence.recurringAmount",
                format!("recurrence.recurringAmount {error}"),
            )
        })?,
        None => default_amount,
    };
    let recurrence = Recurrence {
        start_ms: number("startDate")?.unwrap_or(0),
        end_ms: number("endDate")?,
        frequency: small("frequency").map_err(|_| {
            (
                "recurrence.frequency",
                "recurrence.frequency must be positive".to_owned(),
            )
        })?,
        frequency_unit: small("frequencyUnit").map_err(|_| {
            (
                "recurrence.frequencyUnit",
                "recurrence.frequencyUnit must be positive".to_owned(),
            )
        })?,
        unit,
        amount_cents: amount.minor(),
        automatic_capture: text("automaticCapture").is_some_and(|raw| raw == "true"),
    };
    if recurrence.automatic_capture && fields.get("startDate").is_none() {
        return Err((
            "recurrence.startDate",
            "recurrence.startDate is required for automatic captures".to_owned(),
        ));
    }
    validate(&recurrence).map_err(|error| (error.field(), error.to_string()))?;
    Ok(recurrence)
}

/// The `index`-th automatic capture of a Recurring payment, then the job for the next one.
/// Nothing is captured (and the schedule ends) once the authorization is no longer Authorized
/// or its amount is used up; a capture that would exceed it is skipped the same way.
pub fn recurring_capture(
    ctx: &mut Ctx<'_>,
    chain: &PaymentChain,
    index: u32,
) -> Result<Change, RuleError> {
    let authorization = chain.authorization().clone();
    if authorization.status != TransactionStatus::Authorized {
        return Err(RuleError::WrongStatus(authorization.status.name()));
    }
    let recurrence = automatic_schedule(&chain.payment).ok_or(RuleError::WrongPaymentType(
        chain.payment.payment_type.name(),
    ))?;
    let amount = Amount::from_minor(recurrence.amount_cents);
    let cap = chain.payment.amount;
    let held = chain.held_total(TransactionType::Capture);
    if !cap.is_zero() && held.minor() + amount.minor() > cap.minor() {
        return Err(RuleError::AmountTooLarge(Amount::from_minor(
            (cap.minor() - held.minor()).max(0),
        )));
    }
    let mut change = Change::for_chain(chain, ctx.now);
    let reference = format!("{}-{}", authorization.merchant_reference, index + 1);
    let txn = new_child(
        ctx,
        &authorization,
        TransactionType::Capture,
        reference,
        amount,
        authorization.ip.clone(),
    );
    accept_child(ctx, &mut change, txn, Rail::Ach);
    if let Some(due_at) = occurrence(&recurrence, index + 1) {
        change
            .rail_jobs
            .push(recurring_job(chain.payment.payment_id, index + 1, due_at));
    }
    Ok(change)
}
