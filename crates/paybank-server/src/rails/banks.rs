//! The receiving banks' side of the network: their customers' accounts, opened when a consumer
//! first shows up at the bank, and the names they sign their files with.

use paybank_core::change::Change;
use paybank_core::demo_bank;
use paybank_core::manual_entry::TEST_BANK_ROUTING;
use paybank_core::rails::ReceivingAccount;
use paybank_store::{BankAccountRecord, RailWrite};

/// The account behind a newly authorized payment, for the simulated bank to hold. An account
/// the bank already holds keeps its balance and status (it is created only if absent). The
/// manual-entry test bank holds only its seeded accounts: any other number there does not exist.
pub fn account_opening(change: Option<&Change>) -> Option<RailWrite> {
    let account = change?.payment.account.as_ref()?;
    if account.routing_number == TEST_BANK_ROUTING {
        return None;
    }
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

/// The test bank's accounts, seeded on start (each created only if absent): scored accounts
/// 1000000000–1000000010 and the representative third-party-score accounts are open and well
/// funded; the error accounts stand for what their codes mean at a bank: 1001000000 is empty
/// (debits return R01), 1002000000 does not exist (R03), 1003000000 and 1003750000 are closed
/// (R02), 1003250000 is frozen (R16).
pub fn test_bank_accounts() -> Vec<BankAccountRecord> {
    const FUNDED: i64 = 100_000_000;
    let scored = (0..=10).map(|score| (1_000_000_000 + score, FUNDED, "open"));
    let third_party = [
        1_000_001_000,
        1_000_001_600,
        1_000_001_999,
        1_000_001_015,
        1_000_001_045,
    ]
    .into_iter()
    .map(|number| (number, FUNDED, "open"));
    let errors = [
        (1_001_000_000, 0, "open"),
        (1_003_000_000, FUNDED, "closed"),
        (1_003_750_000, FUNDED, "closed"),
        (1_003_250_000, FUNDED, "frozen"),
    ];
    scored
        .chain(third_party)
        .chain(errors)
        .map(|(number, balance, status)| BankAccountRecord {
            routing_number: TEST_BANK_ROUTING.to_owned(),
            account_number: number.to_string(),
            holder_name: "TEST ACCOUNT".to_owned(),
            account_type: 1,
            balance: paybank_core::money::Amount::from_minor(balance),
            status: status.to_owned(),
        })
        .collect()
}
