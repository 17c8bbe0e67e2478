//! Instant payouts over RTP and FedNow: paybank sends an ISO 20022 pacs.008 credit transfer, the
//! receiving bank answers with a pacs.002 (ACSC settled, RJCT rejected, ACWP accepted without
//! posting), and paybank reads that answer back to complete or deny the payout. Every message
//! is kept and listed by `GET /api/v1/sandbox/instant/messages`. Settlement is final.

use anyhow::Context;
use paybank_core::eastern::eastern_date;
use paybank_core::ids::TransactionId;
use paybank_core::iso20022::{
    self, BusinessHeader, CategoryPurpose, CreditTransfer, Direction as IsoDirection,
    InstantMessage as IsoMessage, InstantNetwork, Party, StatusReason, StatusReasonCode,
    StatusReport, TransactionStatus as IsoStatus, PACS_002, PACS_008,
};
use paybank_core::model::{PaymentChain, TimestampMs, Transaction};
use paybank_core::rails::{decide_instant, InstantDecision, Rail, RailJob, RailJobKind};
use paybank_core::returns::{apply_instant_answer, InstantAnswer};
use paybank_store::{InstantMessage, RailWrite};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::banks::receiving;
use crate::app::AppState;
use crate::service::change_chain_at;

fn network_of(rail: Rail) -> InstantNetwork {
    match rail {
        Rail::Rtp => InstantNetwork::Rtp,
        _ => InstantNetwork::FedNow,
    }
}

fn moment(at: TimestampMs) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(at.div_euclid(1000)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A UETR (UUID version 4 in form) derived from the message id, so a repeated run writes the
/// same bytes; uniqueness follows from the message id's.
fn uetr(message_id: &str) -> String {
    let digest = Sha256::digest(message_id.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let variant = ['8', '9', 'a', 'b'][usize::from(digest[8] & 3)];
    format!(
        "{}-{}-4{}-{}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        variant,
        &hex[17..20],
        &hex[20..32]
    )
}

/// A message id unique for the sender that day: FedNow's format for both networks.
fn message_id(at: TimestampMs, sender_rtn: &str, reference: &str) -> anyhow::Result<String> {
    Ok(iso20022::fednow_message_id(
        eastern_date(at),
        sender_rtn,
        reference,
    )?)
}

/// Send job (subject `rail:transaction`): writes and keeps the pacs.008, and schedules the
/// receiving bank's answer.
pub async fn send(state: &AppState, job: &RailJob) -> anyhow::Result<RailWrite> {
    let (rail, transaction_id) = subject(&job.subject)?;
    let chain = state
        .store
        .chain_of_transaction(transaction_id)
        .await?
        .context("the chain of an instant payment")?;
    let txn = chain
        .transaction(transaction_id)
        .context("the instant payment")?
        .clone();
    let merchant = state
        .store
        .merchant(txn.merchant_id)
        .await?
        .context("the merchant of an instant payment")?;
    let message_id = message_id(
        job.due_at,
        &state.config.ach.odfi_routing,
        &format!("P{transaction_id}"),
    )?;
    let (header, transfer) = credit_transfer(
        state,
        rail,
        &chain,
        &txn,
        &merchant.name,
        &message_id,
        job.due_at,
    )?;
    let content = iso20022::write_credit_transfer(network_of(rail), &header, &transfer)?;
    let answer_at = job.due_at + state.config.instant.response_ms;
    Ok(RailWrite {
        messages: vec![InstantMessage {
            message_id: message_id.clone(),
            transaction_id,
            merchant_id: txn.merchant_id,
            network: rail,
            direction: "sent".to_owned(),
            message_type: PACS_008.to_owned(),
            status: None,
            amount: txn.amount,
            created_at: job.due_at,
            content,
        }],
        jobs: vec![RailJob::new(
            RailJobKind::InstantAnswer,
            message_id,
            answer_at,
        )],
        ..RailWrite::default()
    })
}

fn subject(subject: &str) -> anyhow::Result<(Rail, TransactionId)> {
    let (rail, id) = subject.split_once(':').context("instant job subject")?;
    let rail = Rail::from_name(rail).context("instant job rail")?;
    Ok((
        rail,
        TransactionId(id.parse().context("instant job transaction")?),
    ))
}

fn credit_transfer(
    state: &AppState,
    rail: Rail,
    chain: &PaymentChain,
    txn: &Transaction,
    merchant_name: &str,
    message_id: &str,
    now: TimestampMs,
) -> anyhow::Result<(BusinessHeader, CreditTransfer)> {
    let account = chain
        .payment
        .account
        .as_ref()
        .context("the payout's account")?;
    let odfi = state.config.ach.odfi_routing.clone();
    let network = network_of(rail);
    let header = BusinessHeader::new(
        network,
        IsoDirection::ToNetwork,
        &odfi,
        message_id,
        PACS_008,
        moment(now),
    );
    let transfer = CreditTransfer {
        message_id: message_id.to_owned(),
        created_at: moment(now),
        settlement_date: eastern_date(now),
        instruction_id: format!("I{}", txn.transaction_id),
        end_to_end_id: txn.transaction_id.to_string(),
        uetr: uetr(message_id),
        amount: txn.amount,
        category_purpose: CategoryPurpose::Consumer,
        debtor: Party {
            name: merchant_name.to_owned(),
            address: None,
        },
        debtor_account: format!("{}", txn.merchant_id),
        debtor_agent_rtn: odfi.clone(),
        creditor: Party {
            name: account.name_on_account.clone(),
            address: None,
        },
        creditor_account: account.account_number.clone(),
        creditor_agent_rtn: account.routing_number.clone(),
        instructing_agent_rtn: odfi,
        instructed_agent_rtn: account.routing_number.clone(),
        remittance_information: Some(txn.merchant_reference.clone()),
    };
    Ok((header, transfer))
}

/// Answer job (subject: the pacs.008's message id): the receiving bank decides, writes its
/// pacs.002, and paybank reads that pacs.002 back and applies it. An ACWP is followed up at the
/// opening of the next banking day with the final ACSC.
pub async fn answer(state: &AppState, job: &RailJob) -> anyhow::Result<RailWrite> {
    let sent = state
        .store
        .instant_message(&job.subject)
        .await?
        .context("the payment an answer is for")?;
    let IsoMessage::CreditTransfer(_, transfer) = iso20022::read_message(&sent.content)? else {
        anyhow::bail!("message {} is not a credit transfer", sent.message_id);
    };
    let mut write = RailWrite::default();
    let decision = decide(state, job, &sent, &transfer, &mut write).await?;
    let reply_id = message_id(
        job.due_at,
        &transfer.creditor_agent_rtn,
        &format!("A{}{}", sent.transaction_id, reply_suffix(job)),
    )?;
    let report = status_report(&transfer, &reply_id, job.due_at, &decision);
    let network = network_of(sent.network);
    let header = BusinessHeader::new(
        network,
        IsoDirection::FromNetwork,
        &transfer.debtor_agent_rtn,
        &reply_id,
        PACS_002,
        moment(job.due_at),
    );
    let content =
        iso20022::write_status_report(network, IsoDirection::FromNetwork, &header, &report)?;
    // paybank acts on the message as received, not on the bank's decision directly.
    let answer = read_answer(&content)?;
    let transaction_id = sent.transaction_id;
    let chain = state
        .store
        .chain_of_transaction(transaction_id)
        .await?
        .context("the payout's chain")?;
    change_chain_at(state, chain.payment.payment_id, job.due_at, |ctx, chain| {
        apply_instant_answer(ctx, chain, transaction_id, &answer)
    })
    .await?;
    if answer == InstantAnswer::AcceptedWithoutPosting {
        let follow_up_at = paybank_core::return_window::return_deadline(
            eastern_date(job.due_at),
            paybank_core::return_window::ReturnTimeFrame::BankingDays(1),
        );
        write.jobs.push(RailJob::new(
            RailJobKind::InstantFollowUp,
            sent.message_id.clone(),
            follow_up_at,
        ));
    }
    write.messages.push(InstantMessage {
        message_id: reply_id,
        transaction_id,
        merchant_id: sent.merchant_id,
        network: sent.network,
        direction: "received".to_owned(),
        message_type: PACS_002.to_owned(),
        status: Some(report.status.code().to_owned()),
        amount: sent.amount,
        created_at: job.due_at,
        content,
    });
    Ok(write)
}

fn reply_suffix(job: &RailJob) -> &'static str {
    match job.kind {
        RailJobKind::InstantFollowUp => "F",
        _ => "",
    }
}

/// The receiving bank's decision, crediting its customer's account when it settles. A
/// follow-up after ACWP always settles; an answer later than the network's time limit is a
/// timeout rejection.
async fn decide(
    state: &AppState,
    job: &RailJob,
    sent: &InstantMessage,
    transfer: &CreditTransfer,
    write: &mut RailWrite,
) -> anyhow::Result<InstantDecision> {
    let store = &state.store;
    let account = store
        .bank_account(&transfer.creditor_agent_rtn, &transfer.creditor_account)
        .await?;
    let forced = store.forced_outcome(sent.transaction_id).await?;
    if forced.is_some() {
        write.forced_done.push(sent.transaction_id);
    }
    let decision = match job.kind {
        RailJobKind::InstantFollowUp => InstantDecision::Settle,
        _ if job.due_at - sent.created_at > state.config.instant.timeout_ms => {
            InstantDecision::Reject("AB05".to_owned())
        }
        _ => decide_instant(account.as_ref().map(receiving).as_ref(), forced.as_ref()),
    };
    if let (InstantDecision::Settle, Some(mut account)) = (&decision, account) {
        account.balance = account
            .balance
            .checked_add(sent.amount)
            .unwrap_or(account.balance);
        write.accounts.push(account);
    }
    Ok(decision)
}

fn status_report(
    transfer: &CreditTransfer,
    reply_id: &str,
    now: TimestampMs,
    decision: &InstantDecision,
) -> StatusReport {
    let (status, reason) = match decision {
        InstantDecision::Settle => (IsoStatus::AcceptedSettlementCompleted, None),
        InstantDecision::AcceptWithoutPosting => (IsoStatus::AcceptedWithoutPosting, None),
        InstantDecision::Reject(code) => (
            IsoStatus::Rejected,
            Some(StatusReason {
                code: StatusReasonCode::Iso(code.clone()),
                additional_information: Vec::new(),
            }),
        ),
    };
    StatusReport {
        message_id: reply_id.to_owned(),
        created_at: moment(now),
        original_message_id: transfer.message_id.clone(),
        original_message_name_id: PACS_008.to_owned(),
        original_created_at: Some(transfer.created_at),
        original_instruction_id: Some(transfer.instruction_id.clone()),
        original_end_to_end_id: transfer.end_to_end_id.clone(),
        original_uetr: Some(transfer.uetr.clone()),
        status,
        reason,
        accepted_at: None,
        settled_on: (status == IsoStatus::AcceptedSettlementCompleted).then(|| eastern_date(now)),
        instructing_agent_rtn: transfer.creditor_agent_rtn.clone(),
        instructed_agent_rtn: transfer.debtor_agent_rtn.clone(),
    }
}

/// Reads a received pacs.002 into what it means for the payout.
fn read_answer(content: &str) -> anyhow::Result<InstantAnswer> {
    let IsoMessage::StatusReport(_, report) = iso20022::read_message(content)? else {
        anyhow::bail!("the answer is not a status report");
    };
    Ok(match report.status {
        IsoStatus::AcceptedSettlementCompleted | IsoStatus::AcceptedCreditSettlementCompleted => {
            InstantAnswer::Settled
        }
        IsoStatus::Rejected => InstantAnswer::Rejected {
            reason: match report.reason.map(|reason| reason.code) {
                Some(StatusReasonCode::Iso(code) | StatusReasonCode::Proprietary(code)) => code,
                None => "NARR".to_owned(),
            },
        },
        _ => InstantAnswer::AcceptedWithoutPosting,
    })
}
