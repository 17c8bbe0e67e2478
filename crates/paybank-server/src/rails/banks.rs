//! The receiving banks' side of the network: their customers' accounts, opened when a consumer
//! first shows up at the bank, and the names they sign their files with.

use paybank_core::change::Change;
use paybank_core::demo_bank;
use paybank_core::rails::ReceivingAccount;
use paybank_store::{BankAccountRecord, RailWrite};

/// The account behind a newly authorized payment, for the simulated bank to hold. An account
/// the bank already holds keeps its balance and status (it is created only if absent).
pub fn account_opening(change: Option<&Change>) -> Option<RailWrite> {
    let account = change?.payment.account.as_ref()?;
    Some(RailWrite {
        new_accounts: vec![BankAccountRecord {
            routing_number: account.routing_number.clone(),
            account_number: account.account_number.clone(),
            holder_name: account.name_on_account.clone(),
            account_type: account.account_type,
            balance: account.available,
            status: "open".to_owned(),
        }],
        ..RailWrite::default()
    })
}

/// The bank's own view of an account, for its posting rules.
pub fn receiving(record: &BankAccountRecord) -> ReceivingAccount {
    ReceivingAccount {
        balance: record.balance,
        status: record.status.clone(),
    }
}

/// The name a bank writes in its file headers.
pub fn bank_name(routing_number: &str) -> String {
    demo_bank::bank_by_routing(routing_number)
        .map(|bank| bank.name.to_owned())
        .unwrap_or_else(|| format!("BANK {routing_number}"))
}
