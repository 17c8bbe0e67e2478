//! Rows to domain records and back. Row shapes stay private to the store.

use std::sync::Arc;

use paybank_core::change::{Timer, TimerKind};
use paybank_core::codes::{PaymentType, TransactionStatus, TransactionType};
use paybank_core::demo_bank::Behaviour;
use paybank_core::events::OutboxEvent;
use paybank_core::ids::{EventId, MerchantId, PaymentId, StoredIds, TransactionId};
use paybank_core::json_text::{plain_string, write_str};
use paybank_core::lightbox::{LightboxError, LightboxSession, Step};
use paybank_core::model::{
    BankAccount, ChainTotals, Merchant, Payment, PaymentTotals, ProviderStatus, SplitToken,
    Transaction,
};
use paybank_core::money::Amount;
use paybank_core::rails::Rail;
use serde::Deserialize;

use crate::columns::Columns;
use crate::{DueEvent, EventAttempt, EventState, StoreError, StoreResult, StoredEvent};

pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Database(format!("unreadable {what} in the database"))
}

/// What turns a stored id back into the id: [`StoredIds`] itself, or a reader that remembers
/// the ids its rows repeat (`chain_read::RecentIds`).
pub(crate) trait IdDecoder: Copy {
    fn decode(self, stored: i64) -> Option<u64>;
}

impl IdDecoder for StoredIds {
    fn decode(self, stored: i64) -> Option<u64> {
        self.id(stored)
    }
}

/// The id a column keeps in its stored form (see [`StoredIds`]).
pub(crate) fn id(
    row: &impl Columns,
    ids: impl IdDecoder,
    column: &'static str,
) -> StoreResult<u64> {
    let value: i64 = row.get(column)?;
    ids.decode(value).ok_or_else(|| corrupt(column))
}

fn optional_id(
    row: &impl Columns,
    ids: impl IdDecoder,
    column: &'static str,
) -> StoreResult<Option<u64>> {
    let value: Option<i64> = row.get(column)?;
    value
        .map(|value| ids.decode(value).ok_or_else(|| corrupt(column)))
        .transpose()
}

fn amount(row: &impl Columns, column: &'static str) -> StoreResult<Amount> {
    Ok(Amount::from_minor(row.get(column)?))
}

fn code(row: &impl Columns, column: &'static str) -> StoreResult<u8> {
    let value: i64 = row.get(column)?;
    u8::try_from(value).map_err(|_| corrupt(column))
}

pub(crate) fn merchant(row: &impl Columns, ids: StoredIds) -> StoreResult<Merchant> {
    let origins: String = row.get("allowed_origins")?;
    Ok(Merchant {
        merchant_id: MerchantId(id(row, ids, "merchant_id")?),
        name: row.get("name")?,
        access_id: row.get("access_id")?,
        access_key: row.get("access_key")?,
        notification_url: row.get("notification_url")?,
        allowed_origins: origins.lines().map(str::to_owned).collect(),
        split_token_enabled: row.get::<i64>("split_token_enabled")? != 0,
        payouts_from_settled_only: row.get::<i64>("payouts_from_settled_only")? != 0,
        created_at: row.get("created_at")?,
    })
}

/// The stored shape of a chosen bank account (kept as JSON: it is read and written whole).
///
/// It is written and read by hand ([`account_json`], [`account`]) in exactly the bytes serde_json
/// gives this struct, and read through serde_json only where a text is escaped or a row was
/// written otherwise: every payment a chain read decodes carries one, and serde_json's derived
/// code took about 3,500 instructions to read it and 3,000 to write it, a twentieth of a read.
/// Its tests serialize it from borrowed texts (`AccountRow<&str>`) to hold the hand-written
/// bytes to serde_json's.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
struct AccountRow<Text> {
    bank_id: Text,
    bank_name: Text,
    account_name: Text,
    account_type: u8,
    account_number: Text,
    routing_number: Text,
    name_on_account: Text,
    token: Text,
    available_minor: i64,
    /// Absent in rows written before manual entry existed.
    #[serde(default)]
    manual_entry: bool,
}

pub(crate) fn account_json(account: &BankAccount) -> String {
    let mut out = Vec::with_capacity(256);
    let texts = |out: &mut Vec<u8>, fields: &[(&str, &String)]| {
        for (name, text) in fields {
            out.extend_from_slice(name.as_bytes());
            write_str(out, text);
        }
    };
    texts(
        &mut out,
        &[
            ("{\"bank_id\":", &account.bank_id),
            (",\"bank_name\":", &account.bank_name),
            (",\"account_name\":", &account.account_name),
        ],
    );
    out.extend_from_slice(b",\"account_type\":");
    out.extend_from_slice(itoa::Buffer::new().format(account.account_type).as_bytes());
    texts(
        &mut out,
        &[
            (",\"account_number\":", &account.account_number),
            (",\"routing_number\":", &account.routing_number),
            (",\"name_on_account\":", &account.name_on_account),
            (",\"token\":", &account.token),
        ],
    );
    out.extend_from_slice(b",\"available_minor\":");
    out.extend_from_slice(
        itoa::Buffer::new()
            .format(account.available.minor())
            .as_bytes(),
    );
    out.extend_from_slice(b",\"manual_entry\":");
    out.extend_from_slice(if account.manual_entry {
        b"true}"
    } else {
        b"false}"
    });
    String::from_utf8(out).expect("JSON written from texts is UTF-8")
}

fn account(json: &str) -> StoreResult<BankAccount> {
    if let Some(account) = plain_account(json) {
        return Ok(account);
    }
    let row: AccountRow<String> = serde_json::from_str(json).map_err(|_| corrupt("account"))?;
    Ok(BankAccount {
        bank_id: row.bank_id,
        bank_name: row.bank_name,
        account_name: row.account_name,
        account_type: row.account_type,
        account_number: row.account_number,
        routing_number: row.routing_number,
        name_on_account: row.name_on_account,
        token: row.token,
        available: Amount::from_minor(row.available_minor),
        manual_entry: row.manual_entry,
    })
}

/// The account [`account_json`] wrote, read field by field in its order; `None` for anything
/// else (an escaped text, a row from before manual entry, a hand edit), which serde_json reads.
fn plain_account(json: &str) -> Option<BankAccount> {
    let mut fields = Fields {
        rest: json.strip_prefix('{')?,
        first: true,
    };
    let account = BankAccount {
        bank_id: fields.text("bank_id")?,
        bank_name: fields.text("bank_name")?,
        account_name: fields.text("account_name")?,
        account_type: fields.number("account_type")?,
        account_number: fields.text("account_number")?,
        routing_number: fields.text("routing_number")?,
        name_on_account: fields.text("name_on_account")?,
        token: fields.text("token")?,
        available: Amount::from_minor(fields.number("available_minor")?),
        manual_entry: fields.bool("manual_entry")?,
    };
    (fields.rest == "}").then_some(account)
}

/// The fields of a JSON object as [`account_json`] writes them: no spaces, texts without
/// escapes, in a known order.
struct Fields<'a> {
    rest: &'a str,
    first: bool,
}

impl Fields<'_> {
    /// Moves past `"name":`, after a comma unless it is the first field.
    fn name(&mut self, name: &str) -> Option<()> {
        let rest = match std::mem::replace(&mut self.first, false) {
            true => self.rest,
            false => self.rest.strip_prefix(',')?,
        };
        let rest = rest.strip_prefix('"')?.strip_prefix(name)?;
        self.rest = rest.strip_prefix("\":")?;
        Some(())
    }

    fn text(&mut self, name: &str) -> Option<String> {
        self.name(name)?;
        let (text, rest) = plain_string(self.rest)?;
        self.rest = rest;
        Some(text.to_owned())
    }

    fn number<T: std::str::FromStr>(&mut self, name: &str) -> Option<T> {
        self.name(name)?;
        let (digits, rest) = self.rest.split_at(self.rest.find([',', '}'])?);
        self.rest = rest;
        digits.parse().ok()
    }

    fn bool(&mut self, name: &str) -> Option<bool> {
        self.name(name)?;
        let (value, rest) = match self.rest.strip_prefix("true") {
            Some(rest) => (true, rest),
            None => (false, self.rest.strip_prefix("false")?),
        };
        self.rest = rest;
        Some(value)
    }
}

/// A payment from its row, its columns read in the table's order, so that a read by position
/// finds each where it looks first (`SqliteRow`, `chain_read::PaymentColumns`); out of order,
/// each column read out of turn was looked up by name.
pub(crate) fn payment(row: &impl Columns, ids: impl IdDecoder) -> StoreResult<Payment> {
    Ok(Payment {
        payment_id: PaymentId(id(row, ids, "payment_id")?),
        merchant_id: MerchantId(id(row, ids, "merchant_id")?),
        payment_type: PaymentType::from_code(code(row, "payment_type")?)
            .ok_or_else(|| corrupt("payment_type"))?,
        merchant_reference: row.get("merchant_reference")?,
        currency: row.get("currency")?,
        amount: amount(row, "amount")?,
        description: row.get("description")?,
        return_url: row.get("return_url")?,
        cancel_url: row.get("cancel_url")?,
        notification_url: row.get("notification_url")?,
        establish_json: row.get("establish_json")?,
        authorization_id: TransactionId(id(row, ids, "authorization_id")?),
        account: (row.get::<Option<String>>("account_json")?)
            .as_deref()
            .map(|json| account(json).map(Arc::new))
            .transpose()?,
        split_token: split_token(row)?,
        decline_next_capture: row.get("decline_next_capture")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
        record_version: row.get("record_version")?,
        totals: chain_totals(row)?,
    })
}

/// The split token's three columns, all read (in order) whether or not there is a token.
fn split_token(row: &impl Columns) -> StoreResult<Option<SplitToken>> {
    let hash: Option<String> = row.get("split_token_hash")?;
    let expires_at: Option<i64> = row.get("split_token_expires_at")?;
    let refreshable: Option<i64> = row.get("split_token_refreshable")?;
    Ok(hash.map(|hash_hex| SplitToken {
        hash_hex,
        expires_at: expires_at.unwrap_or(0),
        refreshable: refreshable.unwrap_or(0) != 0,
    }))
}

fn chain_totals(row: &impl Columns) -> StoreResult<ChainTotals> {
    Ok(ChainTotals {
        captures_held: amount(row, "captures_held")?,
        deposits_held: amount(row, "deposits_held")?,
        money_in: PaymentTotals {
            pending: amount(row, "total_pending")?,
            paid: amount(row, "total_paid")?,
            refunded: amount(row, "total_refunded")?,
            reversed: amount(row, "total_reversed")?,
        },
        preauthorizations: row.get("preauthorizations")?,
    })
}

pub(crate) fn transaction(row: &impl Columns, ids: impl IdDecoder) -> StoreResult<Transaction> {
    optional_transaction(row, ids)?.ok_or_else(|| corrupt("transaction_id"))
}

/// The transaction of a row whose transaction columns may all be NULL (a chain row of a
/// payment with no transaction), or `None` for such a row. The id is read once, first, as the
/// other columns are, in the table's order.
pub(crate) fn optional_transaction(
    row: &impl Columns,
    ids: impl IdDecoder,
) -> StoreResult<Option<Transaction>> {
    let Some(transaction_id) = optional_id(row, ids, "transaction_id")? else {
        return Ok(None);
    };
    Ok(Some(Transaction {
        transaction_id: TransactionId(transaction_id),
        payment_id: PaymentId(id(row, ids, "payment_id")?),
        merchant_id: MerchantId(id(row, ids, "merchant_id")?),
        transaction_type: TransactionType::from_code(code(row, "transaction_type")?)
            .ok_or_else(|| corrupt("transaction_type"))?,
        original_transaction_id: optional_id(row, ids, "original_transaction_id")?
            .map(TransactionId),
        status: TransactionStatus::from_code(code(row, "status")?)
            .ok_or_else(|| corrupt("status"))?,
        merchant_reference: row.get("merchant_reference")?,
        currency: row.get("currency")?,
        amount: amount(row, "amount")?,
        pending: amount(row, "pending")?,
        paid: amount(row, "paid")?,
        refunded: amount(row, "refunded")?,
        reversed: amount(row, "reversed")?,
        provider: ProviderStatus {
            status: row.get("provider_status")?,
            status_message: row.get("provider_message")?,
            reason_code: row.get("provider_reason_code")?,
            extended_reason_code: row.get("provider_extended_code")?,
        },
        error_code: row
            .get::<Option<i64>>("error_code")?
            .map(|value| u16::try_from(value).map_err(|_| corrupt("error_code")))
            .transpose()?,
        ip: row.get("ip")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
        processed_at: row.get("processed_at")?,
        completed_at: row.get("completed_at")?,
        expired_at: row.get("expired_at")?,
        pre_authorized: row.get::<i64>("pre_authorized")? != 0,
        // In the table's order, so a read by position finds each column where it looks first.
        record_version: row.get("record_version")?,
        rail: rail(row)?,
    }))
}

fn rail(row: &impl Columns) -> StoreResult<Option<Rail>> {
    row.get::<Option<String>>("rail")?
        .map(|name| Rail::from_name(&name).ok_or_else(|| corrupt("rail")))
        .transpose()
}

pub(crate) fn timer(row: &impl Columns, ids: StoredIds) -> StoreResult<Timer> {
    let kind: String = row.get("kind")?;
    let kind = TimerKind::from_name(&kind).ok_or_else(|| corrupt("timer kind"))?;
    let transaction_id = TransactionId(id(row, ids, "transaction_id")?);
    Ok(Timer {
        // The row's key is the stored form (`rows::timer_key`); the id is made as it was.
        timer_id: Timer::id_for(kind, transaction_id),
        kind,
        payment_id: PaymentId(id(row, ids, "payment_id")?),
        transaction_id,
        due_at: row.get("due_at")?,
    })
}

pub(crate) fn stored_event(row: &impl Columns, ids: StoredIds) -> StoreResult<StoredEvent> {
    let body: String = row.get("body")?;
    let params = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .map(|(key, value)| (key.into(), value.into()))
        .collect();
    let state: String = row.get("state")?;
    Ok(StoredEvent {
        event: OutboxEvent {
            event_id: EventId(id(row, ids, "event_id")?),
            merchant_id: MerchantId(id(row, ids, "merchant_id")?),
            payment_id: PaymentId(id(row, ids, "payment_id")?),
            transaction_id: TransactionId(id(row, ids, "transaction_id")?),
            event_type: row.get("event_type")?,
            params,
            notification_url: row.get("notification_url")?,
            created_at: row.get("created_at")?,
        },
        body,
        state: EventState::from_name(&state).ok_or_else(|| corrupt("event state"))?,
        attempts: row.get("attempts")?,
        next_attempt_at: row.get("next_attempt_at")?,
        delivered_at: row.get("delivered_at")?,
        ordinal: row.get("ordinal")?,
    })
}

/// A leased event, from its row; the body is not parsed back into parameters.
pub(crate) fn due_event(row: &impl Columns, ids: StoredIds) -> StoreResult<DueEvent> {
    Ok(DueEvent {
        event_id: EventId(id(row, ids, "event_id")?),
        merchant_id: MerchantId(id(row, ids, "merchant_id")?),
        transaction_id: TransactionId(id(row, ids, "transaction_id")?),
        notification_url: row.get("notification_url")?,
        body: row.get("body")?,
        attempts: row.get("attempts")?,
        created_at: row.get("created_at")?,
        next_attempt_at: row.get("next_attempt_at")?,
        ordinal: row.get("ordinal")?,
    })
}

pub(crate) fn event_attempt(row: &impl Columns) -> StoreResult<EventAttempt> {
    Ok(EventAttempt {
        attempt: row.get("attempt")?,
        attempted_at: row.get("attempted_at")?,
        duration_ms: row.get("duration_ms")?,
        http_status: row.get("http_status")?,
        error: row.get("error")?,
    })
}

pub(crate) fn lightbox_session(row: &impl Columns, ids: StoredIds) -> StoreResult<LightboxSession> {
    let step: String = row.get("step")?;
    let behaviour: Option<String> = row.get("behaviour")?;
    let error: Option<String> = row.get("error")?;
    let account_index: Option<i64> = row.get("account_index")?;
    Ok(LightboxSession {
        session_id: row.get("session_id")?,
        payment_id: PaymentId(id(row, ids, "payment_id")?),
        transaction_id: TransactionId(id(row, ids, "transaction_id")?),
        step: Step::from_name(&step).ok_or_else(|| corrupt("lightbox step"))?,
        bank_id: row.get("bank_id")?,
        username: row.get("username")?,
        behaviour: behaviour
            .as_deref()
            .map(|text| Behaviour::decode(text).ok_or_else(|| corrupt("behaviour")))
            .transpose()?,
        account_index: account_index
            .map(|index| u8::try_from(index).map_err(|_| corrupt("account_index")))
            .transpose()?,
        error: error
            .as_deref()
            .map(|name| LightboxError::from_name(name).ok_or_else(|| corrupt("lightbox error")))
            .transpose()?,
        csrf_token: row.get("csrf_token")?,
        expires_at: row.get("expires_at")?,
        redirect_url: row.get("redirect_url")?,
        updated_at: row.get("updated_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Any text, and text dense in what JSON escapes.
    const TEXT: &str = "(?s).{0,20}|[\\x00-\\x20\"\\\\a\\x7f\u{e9}]{0,12}|[0-9]{9}";

    fn accounts() -> impl Strategy<Value = BankAccount> {
        let texts = proptest::collection::vec(TEXT, 7);
        (texts, any::<u8>(), any::<i64>(), any::<bool>()).prop_map(
            |(texts, account_type, available, manual_entry)| {
                let [bank_id, bank_name, account_name, account_number, routing_number, name_on_account, token] =
                    <[String; 7]>::try_from(texts).expect("seven texts");
                BankAccount {
                    bank_id,
                    bank_name,
                    account_name,
                    account_type,
                    account_number,
                    routing_number,
                    name_on_account,
                    token,
                    available: Amount::from_minor(available),
                    manual_entry,
                }
            },
        )
    }

    /// The account as serde_json's derived code wrote it before it was written by hand.
    fn serde_json_of(account: &BankAccount) -> String {
        serde_json::to_string(&AccountRow {
            bank_id: account.bank_id.as_str(),
            bank_name: &account.bank_name,
            account_name: &account.account_name,
            account_type: account.account_type,
            account_number: &account.account_number,
            routing_number: &account.routing_number,
            name_on_account: &account.name_on_account,
            token: &account.token,
            available_minor: account.available.minor(),
            manual_entry: account.manual_entry,
        })
        .expect("JSON")
    }

    proptest! {
        /// Written as serde_json wrote it, byte for byte, and read back whole, by hand when
        /// no text needed an escape.
        #[test]
        fn accounts_are_written_as_serde_json_wrote_them_and_read_back(stored in accounts()) {
            let json = account_json(&stored);
            prop_assert_eq!(&json, &serde_json_of(&stored));
            prop_assert_eq!(account(&json).expect("readable"), stored.clone());
            let texts = [
                &stored.bank_id, &stored.bank_name, &stored.account_name,
                &stored.account_number, &stored.routing_number, &stored.name_on_account,
                &stored.token,
            ];
            let plain = texts.iter().all(|text| paybank_core::json_text::needs_no_escape(text));
            prop_assert_eq!(plain_account(&json).is_some(), plain);
        }
    }

    /// Rows the hand-written reader does not take are still read: from before manual entry,
    /// spaced, with a field out of order or one more; what is not an account is refused.
    #[test]
    fn other_account_rows_are_read_by_serde_json() {
        let old = r#"{"bank_id":"demo","bank_name":"Demo Bank","account_name":"Checking","account_type":1,"account_number":"1234567890","routing_number":"310000004","name_on_account":"Jo","token":"t","available_minor":500}"#;
        let spaced = old
            .replace(',', ", ")
            .replace("500}", "500, \"manual_entry\": true}");
        let reordered = old
            .replace(r#"{"bank_id":"demo","#, "{")
            .replace("500}", r#"500,"bank_id":"demo"}"#);
        let extra = old.replace("500}", r#"500,"manual_entry":false,"note":"x"}"#);
        for json in [old, &spaced, &reordered, &extra] {
            assert_eq!(plain_account(json), None, "{json}");
            let read = account(json).expect("readable");
            assert_eq!(
                (read.bank_id.as_str(), read.account_number.as_str()),
                ("demo", "1234567890")
            );
            assert_eq!(read.available, Amount::from_minor(500));
            assert_eq!(read.manual_entry, json == spaced);
        }
        for json in [
            "",
            "{}",
            "[]",
            r#"{"bank_id":1}"#,
            &old.replace("500}", "500"),
        ] {
            assert!(account(json).is_err(), "{json}");
        }
    }
}
