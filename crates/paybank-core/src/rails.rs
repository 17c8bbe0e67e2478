//! The simulated US bank network's vocabulary: which rail carries a transaction, the ACH entry a
//! submission queues for the next file, the network's own scheduled jobs, and the outcomes a
//! receiving bank reports back (returns, notifications of change, instant-payment statuses).

use std::sync::Arc;

use time::Date;

use crate::demo_bank;
use crate::ids::{MerchantId, PaymentId, TransactionId};
use crate::model::{PaymentChain, TimestampMs, Transaction};
use crate::money::Amount;
use crate::rules::Policy;

/// The network a transaction's money moves over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rail {
    Ach,
    Rtp,
    FedNow,
}

impl Rail {
    pub fn name(self) -> &'static str {
        match self {
            Self::Ach => "ach",
            Self::Rtp => "rtp",
            Self::FedNow => "fednow",
        }
    }

    pub fn from_name(name: &str) -> Option<Rail> {
        [Self::Ach, Self::Rtp, Self::FedNow]
            .into_iter()
            .find(|rail| rail.name() == name)
    }

    pub fn is_instant(self) -> bool {
        self != Self::Ach
    }
}

/// Which way money moves from the consumer's account's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Pulled from the consumer (captures, pays).
    Debit,
    /// Pushed to the consumer (deposits, refunds).
    Credit,
}

impl Direction {
    pub fn name(self) -> &'static str {
        match self {
            Self::Debit => "debit",
            Self::Credit => "credit",
        }
    }

    pub fn from_name(name: &str) -> Option<Direction> {
        match name {
            "debit" => Some(Self::Debit),
            "credit" => Some(Self::Credit),
            _ => None,
        }
    }

    /// Debits pull money in; credits push it out.
    pub fn of(txn: &Transaction) -> Direction {
        match is_pull(txn) {
            true => Self::Debit,
            false => Self::Credit,
        }
    }
}

/// Whether a transaction pulls money from the consumer (as opposed to paying them).
pub fn is_pull(txn: &Transaction) -> bool {
    use crate::codes::TransactionType::{Capture, Pay, Reclaim, Representment};
    matches!(
        txn.transaction_type,
        Capture | Pay | Reclaim | Representment
    )
}

/// The instant rail a payout of `amount` to the chain's account can use, if any: the receiving
/// bank must take part in the network and the amount must be within the network's limit and the
/// bank's own. RTP is tried first (the higher network limit), then FedNow.
pub fn instant_rail(chain: &PaymentChain, amount: Amount, policy: &Policy) -> Option<Rail> {
    let account = chain.payment.account.as_ref()?;
    let bank = demo_bank::bank_by_routing(&account.routing_number)?;
    let candidates = [
        (Rail::Rtp, bank.rtp, policy.rtp_limit),
        (Rail::FedNow, bank.fednow, policy.fednow_limit),
    ];
    candidates
        .into_iter()
        .find(|(_, member, network_limit)| {
            *member && amount <= *network_limit && amount <= bank.instant_limit
        })
        .map(|(rail, _, _)| rail)
}

/// One transaction queued for the ACH file of its cut-off. The originator builds the file at
/// the cut-off; the entry's trace number and file are assigned then.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AchEntry {
    pub transaction_id: TransactionId,
    pub payment_id: PaymentId,
    pub merchant_id: MerchantId,
    pub direction: Direction,
    pub amount: Amount,
    pub routing_number: String,
    pub account_number: String,
    /// 1 checking, 2 savings (contract §3 account `type`).
    pub account_type: u8,
    pub individual_name: String,
    /// What the consumer's statement and the file identify the entry by: the merchant reference.
    pub individual_id: String,
    /// A debit under a recurring authorization (WEB payment type `R`) rather than a single one.
    pub recurring: bool,
    pub cutoff_at: TimestampMs,
    pub same_day: bool,
    pub effective_date: Date,
    pub settlement_date: Date,
    /// When the receiving bank posts the entry.
    pub settles_at: TimestampMs,
}

/// Work the network itself does at a due time, outside any one payment chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RailJob {
    /// `kind:subject`, so scheduling the same job twice is harmless.
    pub job_id: String,
    pub kind: RailJobKind,
    /// What the job is about: a cut-off time, a file name, a transaction id.
    pub subject: String,
    pub due_at: TimestampMs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RailJobKind {
    /// paybank writes the ACH files of every entry queued for this cut-off.
    AchCutoff,
    /// The receiving banks post a file's entries and send back returns and NOCs.
    AchSettle,
    /// paybank reads a file of returns or notifications of change.
    AchReceive,
    /// paybank sends an instant payment (pacs.008) for a transaction.
    InstantSend,
    /// The receiving bank answers an instant payment (pacs.002).
    InstantAnswer,
    /// A receiving bank that accepted without posting (ACWP) settles it.
    InstantFollowUp,
    /// A recurring authorization's next automatic capture.
    RecurringCapture,
}

impl RailJobKind {
    pub const ALL: [RailJobKind; 7] = [
        Self::AchCutoff,
        Self::AchSettle,
        Self::AchReceive,
        Self::InstantSend,
        Self::InstantAnswer,
        Self::InstantFollowUp,
        Self::RecurringCapture,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::AchCutoff => "ach-cutoff",
            Self::AchSettle => "ach-settle",
            Self::AchReceive => "ach-receive",
            Self::InstantSend => "instant-send",
            Self::InstantAnswer => "instant-answer",
            Self::InstantFollowUp => "instant-follow-up",
            Self::RecurringCapture => "recurring-capture",
        }
    }

    pub fn from_name(name: &str) -> Option<RailJobKind> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

impl RailJob {
    pub fn new(kind: RailJobKind, subject: impl Into<String>, due_at: TimestampMs) -> RailJob {
        let subject = subject.into();
        RailJob {
            job_id: format!("{}:{subject}", kind.name()),
            kind,
            subject,
            due_at,
        }
    }
}

/// A receiving bank's answer to one ACH entry that did not simply post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryOutcome {
    /// Returned with an R-code; the money goes back.
    Return { code: String },
    /// Posted, but the account details must be corrected (C-code and the corrected data).
    NoticeOfChange { code: String, corrected: String },
}

/// A sandbox instruction to make a receiving bank answer a given way, as the real path would.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForcedOutcome {
    Return {
        code: String,
    },
    NoticeOfChange {
        code: String,
        corrected: String,
    },
    /// The receiving bank rejects an instant payment with an ISO reason code.
    InstantReject {
        reason: String,
    },
    /// The receiving bank accepts an instant payment without posting it at once.
    InstantAcceptWithoutPosting,
}

/// An account correction a notification of change carries (rails.md §1.8).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AccountCorrection {
    pub routing_number: Option<String>,
    pub account_number: Option<String>,
    /// 1 checking, 2 savings.
    pub account_type: Option<u8>,
}

/// Reads a NOC's corrected data (addenda 98, positions 36-64) for the change codes that correct
/// account details: C01 account, C02 routing, C03 routing + account, C05 transaction code,
/// C06 account + transaction code, C07 routing + account + transaction code.
pub fn account_correction(code: &str, corrected: &str) -> Option<AccountCorrection> {
    let text = corrected.trim_end();
    let correction = match code {
        "C01" => AccountCorrection {
            account_number: Some(account_number(text)?),
            ..AccountCorrection::default()
        },
        "C02" => AccountCorrection {
            routing_number: Some(routing(text)?),
            ..AccountCorrection::default()
        },
        "C03" => AccountCorrection {
            routing_number: Some(routing(text.get(..9)?)?),
            account_number: Some(account_number(text.get(9..)?)?),
            ..AccountCorrection::default()
        },
        "C05" => AccountCorrection {
            account_type: Some(account_type_of(text)?),
            ..AccountCorrection::default()
        },
        "C06" => {
            let (account, account_type) = split_type_tail(text)?;
            AccountCorrection {
                account_number: Some(account_number(account)?),
                account_type: Some(account_type),
                ..AccountCorrection::default()
            }
        }
        "C07" => {
            let (rest, account_type) = split_type_tail(text)?;
            AccountCorrection {
                routing_number: Some(routing(rest.get(..9)?)?),
                account_number: Some(account_number(rest.get(9..)?)?),
                account_type: Some(account_type),
            }
        }
        _ => return None,
    };
    Some(correction)
}

/// The account type a checking (2x) or savings (3x) transaction code stands for.
fn account_type_of(tx_code: &str) -> Option<u8> {
    match tx_code.trim() {
        "22" | "23" | "27" | "28" => Some(1),
        "32" | "33" | "37" | "38" => Some(2),
        _ => None,
    }
}

/// Corrected data ending in a transaction code: the text before it and the account type.
fn split_type_tail(text: &str) -> Option<(&str, u8)> {
    let cut = text.len().checked_sub(2)?;
    let (head, tail) = (text.get(..cut)?, text.get(cut..)?);
    Some((head, account_type_of(tail)?))
}

/// A corrected account number: 1 to 17 printable characters, as the entry detail holds.
fn account_number(text: &str) -> Option<String> {
    let number = text.trim();
    let fits = (1..=17).contains(&number.len()) && number.chars().all(|c| c.is_ascii_graphic());
    fits.then(|| number.to_owned())
}

/// A corrected routing number: nine digits with a valid check digit.
fn routing(text: &str) -> Option<String> {
    crate::routing::routing_number_is_valid(text).then(|| text.to_owned())
}

/// Applies a correction to the chain's stored account; returns whether anything changed.
pub fn correct_account(chain: &mut PaymentChain, correction: &AccountCorrection) -> bool {
    let Some(account) = chain.payment.account.as_mut().map(Arc::make_mut) else {
        return false;
    };
    let before = account.clone();
    if let Some(routing) = &correction.routing_number {
        account.routing_number = routing.clone();
    }
    if let Some(number) = &correction.account_number {
        account.account_number = number.clone();
    }
    if let Some(account_type) = correction.account_type {
        account.account_type = account_type;
    }
    *account != before
}

/// A receiving bank's account as the bank sees it when an entry arrives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivingAccount {
    pub balance: Amount,
    /// `open`, `closed` or `frozen`.
    pub status: String,
}

/// What a receiving bank does with one ACH entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryDecision {
    /// Post it: the account's balance moves by the entry.
    Post,
    /// Post it and tell the originator to correct the account details.
    PostWithNotice { code: String, corrected: String },
    /// Send it back with an R-code; the balance does not move.
    Return { code: String },
}

/// The receiving bank's rules for an entry, in the order a bank checks them: a sandbox-forced
/// outcome first, then an account number it cannot read (R04), no such account (R03), a closed
/// account (R02), a frozen one (R16), and a debit the balance cannot cover (R01).
pub fn decide_entry(
    direction: Direction,
    amount: Amount,
    account_number: &str,
    account: Option<&ReceivingAccount>,
    forced: Option<&ForcedOutcome>,
) -> EntryDecision {
    match forced {
        Some(ForcedOutcome::Return { code }) => {
            return EntryDecision::Return { code: code.clone() }
        }
        Some(ForcedOutcome::NoticeOfChange { code, corrected }) => {
            return EntryDecision::PostWithNotice {
                code: code.clone(),
                corrected: corrected.clone(),
            }
        }
        _ => {}
    }
    let returned = |code: &str| EntryDecision::Return {
        code: code.to_owned(),
    };
    if !account_number_is_readable(account_number) {
        return returned("R04");
    }
    let Some(account) = account else {
        return returned("R03");
    };
    match account.status.as_str() {
        "closed" => returned("R02"),
        "frozen" => returned("R16"),
        _ if direction == Direction::Debit && account.balance < amount => returned("R01"),
        _ => EntryDecision::Post,
    }
}

/// An account number a bank can look up: 4 to 17 digits.
pub fn account_number_is_readable(account_number: &str) -> bool {
    (4..=17).contains(&account_number.len()) && account_number.bytes().all(|b| b.is_ascii_digit())
}

/// What a receiving bank answers to an instant payment (always a credit to its customer).
pub fn decide_instant(
    account: Option<&ReceivingAccount>,
    forced: Option<&ForcedOutcome>,
) -> InstantDecision {
    match forced {
        Some(ForcedOutcome::InstantReject { reason }) => {
            return InstantDecision::Reject(reason.clone())
        }
        Some(ForcedOutcome::InstantAcceptWithoutPosting) => {
            return InstantDecision::AcceptWithoutPosting
        }
        _ => {}
    }
    match account.map(|account| account.status.as_str()) {
        None => InstantDecision::Reject("AC03".to_owned()),
        Some("closed") => InstantDecision::Reject("AC04".to_owned()),
        Some("frozen") => InstantDecision::Reject("AC06".to_owned()),
        Some(_) => InstantDecision::Settle,
    }
}

/// A receiving bank's answer to an instant payment, before it is written as a pacs.002.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstantDecision {
    /// ACSC: credited and settled.
    Settle,
    /// RJCT with an ISO reason code.
    Reject(String),
    /// ACWP: accepted, to be posted later.
    AcceptWithoutPosting,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrections_read_each_layout() {
        let c01 = account_correction("C01", "1918171614       ").unwrap();
        assert_eq!(c01.account_number.as_deref(), Some("1918171614"));
        let c02 = account_correction("C02", "231380104").unwrap();
        assert_eq!(c02.routing_number.as_deref(), Some("231380104"));
        let c03 = account_correction("C03", "231380104  12345").unwrap();
        assert_eq!(c03.account_number.as_deref(), Some("12345"));
        let c05 = account_correction("C05", "32").unwrap();
        assert_eq!(c05.account_type, Some(2));
        let c06 = account_correction("C06", "12345            32").unwrap();
        assert_eq!(
            (c06.account_number.as_deref(), c06.account_type),
            (Some("12345"), Some(2))
        );
        let c07 = account_correction("C07", "231380104 12345   27").unwrap();
        assert_eq!(c07.routing_number.as_deref(), Some("231380104"));
        assert_eq!(c07.account_type, Some(1));
        assert!(account_correction("C04", "JANE").is_none());
        for (code, bad) in [
            ("C05", "99"),
            ("C01", "   "),
            ("C02", "231380105"),
            ("C03", "231380104"),
            ("C06", "12345            99"),
            ("C07", "123456789 12345   27"),
        ] {
            assert!(account_correction(code, bad).is_none(), "{code} {bad:?}");
        }
    }

    #[test]
    fn receiving_bank_checks_in_order() {
        let open = |cents| ReceivingAccount {
            balance: Amount::from_minor(cents),
            status: "open".to_owned(),
        };
        let decide = |number: &str, account: Option<&ReceivingAccount>| {
            decide_entry(
                Direction::Debit,
                Amount::from_minor(500),
                number,
                account,
                None,
            )
        };
        let code = |decision: EntryDecision| match decision {
            EntryDecision::Return { code } => code,
            other => format!("{other:?}"),
        };
        assert_eq!(code(decide("12AB", Some(&open(1_000)))), "R04");
        assert_eq!(code(decide("123456", None)), "R03");
        let closed = ReceivingAccount {
            status: "closed".to_owned(),
            ..open(1_000)
        };
        assert_eq!(code(decide("123456", Some(&closed))), "R02");
        assert_eq!(code(decide("123456", Some(&open(499)))), "R01");
        assert_eq!(decide("123456", Some(&open(500))), EntryDecision::Post);
        let credit = decide_entry(
            Direction::Credit,
            Amount::from_minor(500),
            "123456",
            Some(&open(0)),
            None,
        );
        assert_eq!(credit, EntryDecision::Post);
        let forced = ForcedOutcome::Return {
            code: "R10".to_owned(),
        };
        let forced_decision = decide_entry(
            Direction::Debit,
            Amount::from_minor(1),
            "123456",
            Some(&open(9)),
            Some(&forced),
        );
        assert_eq!(code(forced_decision), "R10");
    }
}
