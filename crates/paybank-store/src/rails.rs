//! The simulated bank network's rows: ACH entries and files, instant payment messages, the
//! network's jobs, the receiving banks' accounts, sandbox-forced outcomes and rail counters.

use std::sync::LazyLock;

use paybank_core::ids::{MerchantId, PaymentId, StoredIds, TransactionId};
use paybank_core::model::TimestampMs;
use paybank_core::money::Amount;
use paybank_core::rails::{AchEntry, Direction, ForcedOutcome, Rail, RailJob, RailJobKind};
use time::Date;

use crate::codec::{corrupt, id};
use crate::columns::Columns;
use crate::db::{args, Arg, Db};
use crate::rows::insert_sql;
use crate::StoreResult;

/// Where an ACH entry is in its life on the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryState {
    /// Waiting for its cut-off's file.
    Queued,
    /// In a file sent to the network.
    Filed,
    /// Posted by the receiving bank.
    Posted,
    /// Returned by the receiving bank.
    Returned,
}

impl EntryState {
    pub fn name(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Filed => "filed",
            Self::Posted => "posted",
            Self::Returned => "returned",
        }
    }

    fn from_name(name: &str) -> Option<EntryState> {
        [Self::Queued, Self::Filed, Self::Posted, Self::Returned]
            .into_iter()
            .find(|state| state.name() == name)
    }
}

/// An ACH entry as the store keeps it: the queued entry plus what filing and the bank added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEntry {
    pub entry: AchEntry,
    pub state: EntryState,
    pub file_name: Option<String>,
    pub trace_number: Option<String>,
    pub return_code: Option<String>,
}

/// An ACH file paybank sent or received, with its summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RailFile {
    pub name: String,
    pub merchant_id: Option<MerchantId>,
    /// `outbound` (paybank to the network) or `inbound`.
    pub direction: String,
    /// `entries`, `returns` or `notices`.
    pub kind: String,
    pub created_at: TimestampMs,
    pub entry_count: i64,
    pub debit_total: i64,
    pub credit_total: i64,
    pub content: String,
}

/// An ISO 20022 message paybank sent or received on an instant rail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstantMessage {
    pub message_id: String,
    pub transaction_id: TransactionId,
    pub merchant_id: MerchantId,
    pub network: Rail,
    /// `sent` or `received`.
    pub direction: String,
    /// `pacs.008.001.08` or `pacs.002.001.10`.
    pub message_type: String,
    /// A pacs.002's transaction status (ACSC, RJCT, ACWP).
    pub status: Option<String>,
    pub amount: Amount,
    pub created_at: TimestampMs,
    pub content: String,
}

/// A consumer's account at a simulated receiving bank.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankAccountRecord {
    pub routing_number: String,
    pub account_number: String,
    pub holder_name: String,
    pub account_type: u8,
    pub balance: Amount,
    /// `open`, `closed` or `frozen`.
    pub status: String,
}

/// Everything one network job writes, atomically.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RailWrite {
    pub files: Vec<RailFile>,
    /// Entries put in a file: (transaction, file name, trace number).
    pub filed: Vec<(TransactionId, String, String)>,
    pub entry_states: Vec<(TransactionId, EntryState, Option<String>)>,
    pub messages: Vec<InstantMessage>,
    /// Accounts written as given (created or replaced).
    pub accounts: Vec<BankAccountRecord>,
    /// Accounts created only if the bank does not hold them yet.
    pub new_accounts: Vec<BankAccountRecord>,
    pub jobs: Vec<RailJob>,
    pub jobs_done: Vec<String>,
    pub forced: Vec<(TransactionId, ForcedOutcome)>,
    pub forced_done: Vec<TransactionId>,
}

pub(crate) async fn write(db: &mut Db<'_>, write: &RailWrite) -> StoreResult<()> {
    for file in &write.files {
        insert_file(db, file).await?;
    }
    for (transaction_id, file_name, trace) in &write.filed {
        db.execute("UPDATE ach_entries SET state = 'filed', file_name = $1, trace_number = $2 WHERE transaction_id = $3", args![file_name, trace, db.id(transaction_id.0)]).await?;
    }
    for (transaction_id, state, code) in &write.entry_states {
        db.execute("UPDATE ach_entries SET state = $1, return_code = COALESCE($2, return_code) WHERE transaction_id = $3", args![state.name(), code, db.id(transaction_id.0)]).await?;
    }
    for message in &write.messages {
        insert_message(db, message).await?;
    }
    write_accounts(db, write).await?;
    insert_jobs(db, &write.jobs).await?;
    for job_id in &write.jobs_done {
        db.execute("DELETE FROM rail_jobs WHERE job_id = $1", args![job_id])
            .await?;
    }
    write_forced(db, write).await
}

async fn insert_file(db: &mut Db<'_>, file: &RailFile) -> StoreResult<()> {
    db.execute("INSERT INTO rail_files (name, merchant_id, direction, kind, created_at, entry_count, debit_total, \
         credit_total, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", args![&file.name, file.merchant_id.map(|merchant_id| db.id(merchant_id.0)), &file.direction, &file.kind, file.created_at, file.entry_count, file.debit_total, file.credit_total, &file.content]).await?;
    Ok(())
}

async fn insert_message(db: &mut Db<'_>, message: &InstantMessage) -> StoreResult<()> {
    db.execute("INSERT INTO instant_messages (message_id, transaction_id, merchant_id, network, direction, \
         message_type, status, amount, created_at, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", args![&message.message_id, db.id(message.transaction_id.0), db.id(message.merchant_id.0), message.network.name(), &message.direction, &message.message_type, &message.status, message.amount.minor(), message.created_at, &message.content]).await?;
    Ok(())
}

async fn write_accounts(db: &mut Db<'_>, write: &RailWrite) -> StoreResult<()> {
    let replace = write.accounts.iter().map(|account| (account, "UPDATE SET holder_name = excluded.holder_name, account_type = excluded.account_type, balance = excluded.balance, status = excluded.status"));
    let create = write
        .new_accounts
        .iter()
        .map(|account| (account, "NOTHING"));
    for (account, on_conflict) in replace.chain(create) {
        let sql = format!(
            "INSERT INTO bank_accounts (routing_number, account_number, holder_name, account_type, balance, status) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (routing_number, account_number) DO {on_conflict}"
        );
        db.execute(
            &sql,
            args![
                &account.routing_number,
                &account.account_number,
                &account.holder_name,
                i64::from(account.account_type),
                account.balance.minor(),
                &account.status
            ],
        )
        .await?;
    }
    Ok(())
}

pub(crate) const JOB_COLUMNS: [&str; 5] = ["job_id", "kind", "subject", "due_at", "lease_until"];

/// A scheduled job's row, not leased.
pub(crate) fn job_values(job: &RailJob) -> [Arg<'_>; 5] {
    [
        (&job.job_id).into(),
        job.kind.name().into(),
        (&job.subject).into(),
        job.due_at.into(),
        0_i64.into(),
    ]
}

/// Scheduling a job that is already queued changes nothing.
pub(crate) const JOB_CONFLICT: &str = "ON CONFLICT (job_id) DO NOTHING";

static JOB_INSERT: LazyLock<String> =
    LazyLock::new(|| format!("{} {JOB_CONFLICT}", insert_sql("rail_jobs", &JOB_COLUMNS)));

/// Schedules network jobs.
pub(crate) async fn insert_jobs(db: &mut Db<'_>, jobs: &[RailJob]) -> StoreResult<()> {
    for job in jobs {
        db.execute(&JOB_INSERT, &job_values(job)).await?;
    }
    Ok(())
}

async fn write_forced(db: &mut Db<'_>, write: &RailWrite) -> StoreResult<()> {
    for (transaction_id, outcome) in &write.forced {
        let (kind, code, detail) = forced_columns(outcome);
        db.execute("INSERT INTO forced_outcomes (transaction_id, kind, code, detail) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (transaction_id) DO UPDATE SET kind = excluded.kind, code = excluded.code, detail = excluded.detail", args![db.id(transaction_id.0), kind, code, detail]).await?;
    }
    for transaction_id in &write.forced_done {
        db.execute(
            "DELETE FROM forced_outcomes WHERE transaction_id = $1",
            args![db.id(transaction_id.0)],
        )
        .await?;
    }
    Ok(())
}

fn forced_columns(outcome: &ForcedOutcome) -> (&'static str, &str, &str) {
    match outcome {
        ForcedOutcome::Return { code } => ("return", code, ""),
        ForcedOutcome::NoticeOfChange { code, corrected } => ("notice", code, corrected),
        ForcedOutcome::InstantReject { reason } => ("instant-reject", reason, ""),
        ForcedOutcome::InstantAcceptWithoutPosting => ("instant-acwp", "ACWP", ""),
    }
}

pub(crate) fn forced_outcome(row: &impl Columns) -> StoreResult<ForcedOutcome> {
    let kind: String = row.get("kind")?;
    let code: String = row.get("code")?;
    let detail: String = row.get("detail")?;
    Ok(match kind.as_str() {
        "return" => ForcedOutcome::Return { code },
        "notice" => ForcedOutcome::NoticeOfChange {
            code,
            corrected: detail,
        },
        "instant-reject" => ForcedOutcome::InstantReject { reason: code },
        "instant-acwp" => ForcedOutcome::InstantAcceptWithoutPosting,
        _ => return Err(corrupt("forced outcome")),
    })
}

pub(crate) const ENTRY_COLUMNS: [&str; 17] = [
    "transaction_id",
    "payment_id",
    "merchant_id",
    "direction",
    "amount",
    "routing_number",
    "account_number",
    "account_type",
    "individual_name",
    "individual_id",
    "recurring",
    "cutoff_at",
    "same_day",
    "effective_date",
    "settlement_date",
    "settles_at",
    "state",
];

/// A submitted entry's row, queued for its cut-off.
pub(crate) fn entry_values(entry: &AchEntry, ids: StoredIds) -> [Arg<'_>; 17] {
    [
        ids.stored(entry.transaction_id.0).into(),
        ids.stored(entry.payment_id.0).into(),
        ids.stored(entry.merchant_id.0).into(),
        entry.direction.name().into(),
        entry.amount.minor().into(),
        (&entry.routing_number).into(),
        (&entry.account_number).into(),
        i64::from(entry.account_type).into(),
        (&entry.individual_name).into(),
        (&entry.individual_id).into(),
        i64::from(entry.recurring).into(),
        entry.cutoff_at.into(),
        i64::from(entry.same_day).into(),
        entry.effective_date.to_string().into(),
        entry.settlement_date.to_string().into(),
        entry.settles_at.into(),
        EntryState::Queued.name().into(),
    ]
}

static ENTRY_INSERT: LazyLock<String> = LazyLock::new(|| insert_sql("ach_entries", &ENTRY_COLUMNS));

/// Queues the entries a change submitted.
pub(crate) async fn insert_entries(db: &mut Db<'_>, entries: &[AchEntry]) -> StoreResult<()> {
    for entry in entries {
        db.execute(&ENTRY_INSERT, &entry_values(entry, db.ids))
            .await?;
    }
    Ok(())
}

fn parse_date(text: &str) -> StoreResult<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format).map_err(|_| corrupt("date"))
}

pub(crate) fn stored_entry(row: &impl Columns, ids: StoredIds) -> StoreResult<StoredEntry> {
    let direction: String = row.get("direction")?;
    let state: String = row.get("state")?;
    let entry = AchEntry {
        transaction_id: TransactionId(id(row, ids, "transaction_id")?),
        payment_id: PaymentId(id(row, ids, "payment_id")?),
        merchant_id: MerchantId(id(row, ids, "merchant_id")?),
        direction: Direction::from_name(&direction).ok_or_else(|| corrupt("direction"))?,
        amount: Amount::from_minor(row.get("amount")?),
        routing_number: row.get("routing_number")?,
        account_number: row.get("account_number")?,
        account_type: u8::try_from(row.get::<i64>("account_type")?)
            .map_err(|_| corrupt("account type"))?,
        individual_name: row.get("individual_name")?,
        individual_id: row.get("individual_id")?,
        recurring: row.get::<i64>("recurring")? != 0,
        cutoff_at: row.get("cutoff_at")?,
        same_day: row.get::<i64>("same_day")? != 0,
        effective_date: parse_date(&row.get::<String>("effective_date")?)?,
        settlement_date: parse_date(&row.get::<String>("settlement_date")?)?,
        settles_at: row.get("settles_at")?,
    };
    Ok(StoredEntry {
        entry,
        state: EntryState::from_name(&state).ok_or_else(|| corrupt("entry state"))?,
        file_name: row.get("file_name")?,
        trace_number: row.get("trace_number")?,
        return_code: row.get("return_code")?,
    })
}

pub(crate) fn rail_file(row: &impl Columns, ids: StoredIds) -> StoreResult<RailFile> {
    let merchant_id: Option<i64> = row.get("merchant_id")?;
    Ok(RailFile {
        name: row.get("name")?,
        merchant_id: merchant_id
            .map(|value| {
                ids.id(value)
                    .map(MerchantId)
                    .ok_or_else(|| corrupt("merchant id"))
            })
            .transpose()?,
        direction: row.get("direction")?,
        kind: row.get("kind")?,
        created_at: row.get("created_at")?,
        entry_count: row.get("entry_count")?,
        debit_total: row.get("debit_total")?,
        credit_total: row.get("credit_total")?,
        content: row.get("content")?,
    })
}

pub(crate) fn instant_message(row: &impl Columns, ids: StoredIds) -> StoreResult<InstantMessage> {
    let network: String = row.get("network")?;
    Ok(InstantMessage {
        message_id: row.get("message_id")?,
        transaction_id: TransactionId(id(row, ids, "transaction_id")?),
        merchant_id: MerchantId(id(row, ids, "merchant_id")?),
        network: Rail::from_name(&network).ok_or_else(|| corrupt("network"))?,
        direction: row.get("direction")?,
        message_type: row.get("message_type")?,
        status: row.get("status")?,
        amount: Amount::from_minor(row.get("amount")?),
        created_at: row.get("created_at")?,
        content: row.get("content")?,
    })
}

pub(crate) fn bank_account(row: &impl Columns) -> StoreResult<BankAccountRecord> {
    Ok(BankAccountRecord {
        routing_number: row.get("routing_number")?,
        account_number: row.get("account_number")?,
        holder_name: row.get("holder_name")?,
        account_type: u8::try_from(row.get::<i64>("account_type")?)
            .map_err(|_| corrupt("account type"))?,
        balance: Amount::from_minor(row.get("balance")?),
        status: row.get("status")?,
    })
}

pub(crate) fn rail_job(row: &impl Columns) -> StoreResult<RailJob> {
    let kind: String = row.get("kind")?;
    Ok(RailJob {
        job_id: row.get("job_id")?,
        kind: RailJobKind::from_name(&kind).ok_or_else(|| corrupt("rail job kind"))?,
        subject: row.get("subject")?,
        due_at: row.get("due_at")?,
    })
}
