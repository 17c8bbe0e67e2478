//! ACH on the simulated network: paybank writes each merchant's NACHA file at a cut-off, the
//! receiving banks post its entries on the settlement date and answer with return and NOC
//! files, and paybank reads those files back and applies them to the transactions.

use std::collections::{BTreeMap, HashMap};

use anyhow::Context;
use paybank_core::ach_files::{
    self, answer_file, file_id_modifier, originate, trace_number, Answer, Company, FileParties,
    ReceivedItem, TracedEntry,
};
use paybank_core::ach_schedule::hhmm_eastern;
use paybank_core::eastern::eastern_date;
use paybank_core::ids::MerchantId;
use paybank_core::model::{Merchant, TimestampMs};
use paybank_core::nacha::{self, return_code_meaning};
use paybank_core::rails::{decide_entry, AchEntry, Direction, EntryDecision, RailJob, RailJobKind};
use paybank_core::return_window::{return_deadline, ReturnTimeFrame};
use paybank_core::returns::{apply_notice_of_change, apply_return};
use paybank_store::{BankAccountRecord, EntryState, RailFile, RailWrite, StoredEntry};

use super::banks::{bank_name, receiving};
use crate::app::AppState;
use crate::service::change_chain_at;

/// Most entries one cut-off files; the rest wait for the next cut-off.
const ENTRIES_PER_CUTOFF_MAX: i64 = 100_000;

/// The merchant as the originator of its batches.
pub fn company(merchant: &Merchant) -> Company {
    Company {
        name: merchant.name.clone(),
        identification: format!("1{:09}", merchant.merchant_id.0 % 1_000_000_000),
    }
}

fn date_stamp(at: TimestampMs) -> String {
    let date = eastern_date(at);
    format!(
        "{:04}{:02}{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Cut-off job (subject: the cut-off time): one file per merchant with every queued entry.
pub async fn originate_files(state: &AppState, job: &RailJob) -> anyhow::Result<RailWrite> {
    let cutoff: TimestampMs = job.subject.parse().context("cut-off job subject")?;
    let queued = state
        .store
        .queued_entries(cutoff, ENTRIES_PER_CUTOFF_MAX)
        .await?;
    let mut by_merchant: BTreeMap<MerchantId, Vec<AchEntry>> = BTreeMap::new();
    for stored in queued {
        by_merchant
            .entry(stored.entry.merchant_id)
            .or_default()
            .push(stored.entry);
    }
    let mut write = RailWrite::default();
    for (merchant_id, entries) in by_merchant {
        originate_file(state, job.due_at, merchant_id, entries, &mut write).await?;
    }
    Ok(write)
}

async fn originate_file(
    state: &AppState,
    now: TimestampMs,
    merchant_id: MerchantId,
    entries: Vec<AchEntry>,
    write: &mut RailWrite,
) -> anyhow::Result<()> {
    let ach = &state.config.ach;
    let merchant = state
        .store
        .merchant(merchant_id)
        .await?
        .context("the merchant of a queued entry")?;
    let traced = traced(state, &ach.odfi_routing, entries).await?;
    let modifier = next_modifier(state, &format!("{merchant_id}"), now).await?;
    let parties = FileParties {
        destination_routing: ach.operator_routing.clone(),
        destination_name: ach.operator_name.clone(),
        origin_routing: ach.odfi_routing.clone(),
        origin_name: ach.odfi_name.clone(),
    };
    let file = originate(&parties, &company(&merchant), now, modifier, &traced);
    let name = format!(
        "{merchant_id}-{}-{}-{modifier}.ach",
        date_stamp(now),
        hhmm_eastern(now)
    );
    write.files.push(rail_file(
        &name,
        merchant_id,
        "outbound",
        "entries",
        now,
        &file,
    ));
    let mut settle_times: Vec<TimestampMs> = Vec::new();
    for entry in &traced {
        write.filed.push((
            entry.entry.transaction_id,
            name.clone(),
            entry.trace_number.clone(),
        ));
        if !settle_times.contains(&entry.entry.settles_at) {
            settle_times.push(entry.entry.settles_at);
        }
    }
    for settles_at in settle_times {
        let subject = format!("{name}@{settles_at}");
        write
            .jobs
            .push(RailJob::new(RailJobKind::AchSettle, subject, settles_at));
    }
    Ok(())
}

/// Gives each entry the next trace numbers of the sending bank.
async fn traced(
    state: &AppState,
    routing: &str,
    entries: Vec<AchEntry>,
) -> anyhow::Result<Vec<TracedEntry>> {
    let first = state
        .store
        .reserve_counter(&format!("trace:{routing}"), entries.len() as i64)
        .await?;
    Ok(entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| TracedEntry {
            entry,
            trace_number: trace_number(routing, (first + index as i64 + 1) as u64),
        })
        .collect())
}

/// The file id modifier of the next file `sender` sends today (A, B, … then 0–9).
async fn next_modifier(state: &AppState, sender: &str, now: TimestampMs) -> anyhow::Result<char> {
    let counter = format!("modifier:{sender}:{}", date_stamp(now));
    let index = state.store.reserve_counter(&counter, 1).await?;
    Ok(file_id_modifier(index as u64))
}

fn rail_file(
    name: &str,
    merchant_id: MerchantId,
    direction: &str,
    kind: &str,
    now: TimestampMs,
    file: &nacha::NachaFile,
) -> RailFile {
    let summary = ach_files::summary(file);
    RailFile {
        name: name.to_owned(),
        merchant_id: Some(merchant_id),
        direction: direction.to_owned(),
        kind: kind.to_owned(),
        created_at: now,
        entry_count: summary.entry_count,
        debit_total: summary.debit_total,
        credit_total: summary.credit_total,
        content: nacha::write(file),
    }
}

/// What the receiving banks decided for one file's entries.
#[derive(Default)]
struct Postings {
    accounts: HashMap<(String, String), BankAccountRecord>,
    answers: Vec<(StoredEntry, Answer)>,
}

/// Settlement job (subject `file@time`): each receiving bank posts the entries that settle now
/// against its accounts, and sends back a file of returns and one of NOCs where it has any.
pub async fn post_entries(state: &AppState, job: &RailJob) -> anyhow::Result<RailWrite> {
    let (name, at) = job.subject.rsplit_once('@').context("settle job subject")?;
    let at: TimestampMs = at.parse().context("settle job time")?;
    let entries = state.store.entries_in_file(name).await?;
    let mut write = RailWrite::default();
    let mut postings = Postings::default();
    for stored in entries
        .into_iter()
        .filter(|stored| stored.state == EntryState::Filed && stored.entry.settles_at == at)
    {
        post_entry(state, stored, &mut postings, &mut write).await?;
    }
    write.accounts.extend(postings.accounts.into_values());
    write_answers(state, job.due_at, postings.answers, &mut write).await?;
    Ok(write)
}

async fn post_entry(
    state: &AppState,
    stored: StoredEntry,
    postings: &mut Postings,
    write: &mut RailWrite,
) -> anyhow::Result<()> {
    let entry = &stored.entry;
    let key = (entry.routing_number.clone(), entry.account_number.clone());
    if !postings.accounts.contains_key(&key) {
        if let Some(record) = state.store.bank_account(&key.0, &key.1).await? {
            postings.accounts.insert(key.clone(), record);
        }
    }
    let forced = state.store.forced_outcome(entry.transaction_id).await?;
    if forced.is_some() {
        write.forced_done.push(entry.transaction_id);
    }
    let account = postings.accounts.get_mut(&key);
    let decision = decide_entry(
        entry.direction,
        entry.amount,
        &entry.account_number,
        account.as_deref().map(receiving).as_ref(),
        forced.as_ref(),
    );
    let answer = match decision {
        EntryDecision::Return { code } => {
            write.entry_states.push((
                entry.transaction_id,
                EntryState::Returned,
                Some(code.clone()),
            ));
            Some(Answer::Return { code })
        }
        EntryDecision::Post | EntryDecision::PostWithNotice { .. } => {
            if let Some(account) = account {
                account.balance = moved(account.balance, entry);
            }
            write
                .entry_states
                .push((entry.transaction_id, EntryState::Posted, None));
            match decision {
                EntryDecision::PostWithNotice { code, corrected } => {
                    Some(Answer::Notice { code, corrected })
                }
                _ => None,
            }
        }
    };
    if let Some(answer) = answer {
        postings.answers.push((stored, answer));
    }
    Ok(())
}

fn moved(balance: paybank_core::money::Amount, entry: &AchEntry) -> paybank_core::money::Amount {
    use paybank_core::money::Amount;
    let minor = match entry.direction {
        Direction::Debit => balance.minor() - entry.amount.minor(),
        Direction::Credit => balance.minor() + entry.amount.minor(),
    };
    Amount::from_minor(minor)
}

/// Writes the receiving banks' answer files, one per bank, originator and kind, and schedules
/// paybank to read each at the opening of business on the next banking day after settlement.
async fn write_answers(
    state: &AppState,
    now: TimestampMs,
    answers: Vec<(StoredEntry, Answer)>,
    write: &mut RailWrite,
) -> anyhow::Result<()> {
    type Key = (String, MerchantId, &'static str);
    let mut groups: BTreeMap<Key, Vec<(StoredEntry, Answer)>> = BTreeMap::new();
    for (stored, answer) in answers {
        let kind = match answer {
            Answer::Return { .. } => "returns",
            Answer::Notice { .. } => "notices",
        };
        let key = (
            stored.entry.routing_number.clone(),
            stored.entry.merchant_id,
            kind,
        );
        groups.entry(key).or_default().push((stored, answer));
    }
    for ((rdfi, merchant_id, kind), group) in groups {
        let read_at = group
            .iter()
            .map(|(stored, _)| {
                return_deadline(
                    stored.entry.settlement_date,
                    ReturnTimeFrame::BankingDays(1),
                )
            })
            .max()
            .unwrap_or(now)
            .max(now);
        let file = answer_file_for(state, now, &rdfi, merchant_id, kind, group).await?;
        write.jobs.push(RailJob::new(
            RailJobKind::AchReceive,
            file.name.clone(),
            read_at,
        ));
        write.files.push(file);
    }
    Ok(())
}

/// One receiving bank's file answering one originator's entries.
pub async fn answer_file_for(
    state: &AppState,
    now: TimestampMs,
    rdfi: &str,
    merchant_id: MerchantId,
    kind: &str,
    group: Vec<(StoredEntry, Answer)>,
) -> anyhow::Result<RailFile> {
    let ach = &state.config.ach;
    let merchant = state
        .store
        .merchant(merchant_id)
        .await?
        .context("the merchant of a returned entry")?;
    let first = state
        .store
        .reserve_counter(&format!("trace:{rdfi}"), group.len() as i64)
        .await?;
    let answers: Vec<(TracedEntry, Answer, String)> = group
        .into_iter()
        .enumerate()
        .map(|(index, (stored, answer))| {
            let traced = TracedEntry {
                trace_number: stored.trace_number.clone().unwrap_or_default(),
                entry: stored.entry,
            };
            let own_trace = trace_number(rdfi, (first + index as i64 + 1) as u64);
            (traced, answer, own_trace)
        })
        .collect();
    let modifier = next_modifier(state, rdfi, now).await?;
    let parties = FileParties {
        destination_routing: ach.odfi_routing.clone(),
        destination_name: ach.odfi_name.clone(),
        origin_routing: rdfi.to_owned(),
        origin_name: bank_name(rdfi),
    };
    let file = answer_file(&parties, &company(&merchant), now, modifier, &answers);
    let name = format!(
        "{rdfi}-{merchant_id}-{}-{}-{modifier}-{kind}.ach",
        date_stamp(now),
        hhmm_eastern(now)
    );
    Ok(rail_file(&name, merchant_id, "inbound", kind, now, &file))
}

/// Receive job (subject: a file name): paybank reads a returns or NOC file with the NACHA
/// codec and applies each item to the transaction whose trace number it names.
pub async fn read_answers(state: &AppState, job: &RailJob) -> anyhow::Result<RailWrite> {
    let file = state
        .store
        .rail_file(&job.subject)
        .await?
        .context("a received ACH file")?;
    let items =
        ach_files::read_answers(&file.content).with_context(|| format!("reading {}", file.name))?;
    let mut write = RailWrite::default();
    for item in items {
        apply_item(state, job.due_at, item, &mut write).await?;
    }
    Ok(write)
}

async fn apply_item(
    state: &AppState,
    now: TimestampMs,
    item: ReceivedItem,
    write: &mut RailWrite,
) -> anyhow::Result<()> {
    let trace = match &item {
        ReceivedItem::Return { original_trace, .. }
        | ReceivedItem::Notice { original_trace, .. } => original_trace,
    };
    let Some(stored) = state.store.entry_by_trace(trace).await? else {
        tracing::warn!(trace, "an answer for an entry paybank never sent");
        return Ok(());
    };
    let transaction_id = stored.entry.transaction_id;
    let payment_id = stored.entry.payment_id;
    match item {
        ReceivedItem::Return { code, .. } => {
            let meaning = return_code_meaning(&code).unwrap_or("Returned by the receiving bank");
            change_chain_at(state, payment_id, now, |ctx, chain| {
                apply_return(ctx, chain, transaction_id, &code, meaning)
            })
            .await?;
            write
                .entry_states
                .push((transaction_id, EntryState::Returned, Some(code)));
        }
        ReceivedItem::Notice {
            code, corrected, ..
        } => {
            change_chain_at(state, payment_id, now, |ctx, chain| {
                apply_notice_of_change(ctx, chain, &code, &corrected)
            })
            .await?;
        }
    }
    Ok(())
}
