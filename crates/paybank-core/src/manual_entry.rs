//! Accounts entered by hand (routing and account number): the bank account a Disbursement with
//! account details pays into, and the verification answers of the manual-entry test bank on
//! routing 124003116 (contract §7).

use crate::demo_bank::{account_token, bank_by_routing};
use crate::model::BankAccount;
use crate::money::Amount;
use crate::routing::routing_number_is_valid;

/// The manual-entry test bank of contract §7.
pub const TEST_BANK_ROUTING: &str = "124003116";

/// Longest account number an ACH entry detail record holds.
pub const ACCOUNT_NUMBER_LENGTH_MAX: usize = 17;
/// Shortest account number the provider accepts for tokenize and verify (contract §8).
pub const ACCOUNT_NUMBER_LENGTH_MIN: usize = 4;

/// Account details as a merchant sends them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountDetails {
    pub routing_number: String,
    pub account_number: String,
    /// 1 Checking, 2 Savings.
    pub account_type: u8,
    pub name_on_account: String,
}

/// Why account details cannot be used, naming the field (as the API's `location`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DetailsError {
    pub field: &'static str,
    pub message: &'static str,
}

impl AccountDetails {
    /// Checks what an ACH entry needs: an ABA routing number with a valid check digit, an
    /// account number of digits that fits the entry, a checking or savings type.
    pub fn check(&self) -> Result<(), DetailsError> {
        let error = |field, message| Err(DetailsError { field, message });
        if !routing_number_is_valid(&self.routing_number) {
            return error(
                "account.routingNumber",
                "account.routingNumber must be a 9-digit ABA routing number with a valid check digit",
            );
        }
        let number = &self.account_number;
        let length_ok =
            (ACCOUNT_NUMBER_LENGTH_MIN..=ACCOUNT_NUMBER_LENGTH_MAX).contains(&number.len());
        if !length_ok || !number.bytes().all(|b| b.is_ascii_digit()) {
            return error(
                "account.accountNumber",
                "account.accountNumber must be 4 to 17 digits",
            );
        }
        if !matches!(self.account_type, 1 | 2) {
            return error(
                "account.type",
                "account.type must be 1 (Checking) or 2 (Savings)",
            );
        }
        Ok(())
    }
}

/// The account a payment records for hand-entered details. A bank paybank simulates keeps its
/// id and name; any other bank is named by its routing number.
pub fn bank_account(details: &AccountDetails) -> BankAccount {
    let routing = details.routing_number.as_str();
    let (bank_id, bank_name) = match bank_by_routing(routing) {
        Some(bank) => (bank.id.to_owned(), bank.name.to_owned()),
        None if routing == TEST_BANK_ROUTING => (routing.to_owned(), "Test Bank".to_owned()),
        None => (routing.to_owned(), format!("Bank {routing}")),
    };
    let account_name = match details.account_type {
        2 => "Savings",
        _ => "Checking",
    };
    BankAccount {
        bank_id,
        bank_name,
        account_name: account_name.to_owned(),
        account_type: details.account_type,
        account_number: details.account_number.clone(),
        routing_number: details.routing_number.clone(),
        name_on_account: details.name_on_account.clone(),
        token: account_token(routing, &details.account_number),
        // paybank cannot see the balance of an account it did not log in to.
        available: Amount::ZERO,
        manual_entry: true,
    }
}

/// What a verification found: a 0–10 score, verified from 6 up; FCRA accounts also carry a
/// third-party score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verification {
    pub score: u8,
    pub third_party_score: Option<u16>,
    pub verified: bool,
}

impl Verification {
    pub fn of_score(score: u8, third_party_score: Option<u16>) -> Verification {
        Verification {
            score,
            third_party_score,
            verified: score >= VERIFIED_SCORE_MIN,
        }
    }
}

/// The lowest score that counts as verified.
pub const VERIFIED_SCORE_MIN: u8 = 6;

/// A test account that answers a verification with an error: its HTTP status and code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerificationFailure {
    pub http_status: u16,
    pub code: u16,
}

/// The test bank's answer for an account number (contract §7): scored accounts
/// 1000000000–1000000010, third-party-scored accounts 1000001xxx, and the error accounts.
/// Any other number there is unknown to the bank: score 0.
pub fn test_bank_verification(account_number: &str) -> Result<Verification, VerificationFailure> {
    let failure = |http_status, code| Err(VerificationFailure { http_status, code });
    let Ok(number) = account_number.parse::<u64>() else {
        return Ok(Verification::of_score(0, None));
    };
    match number {
        1_002_000_000 => failure(400, 200),
        1_003_000_000 => failure(401, 300),
        1_003_250_000 => failure(401, 325),
        1_003_750_000 => failure(401, 375),
        1_001_000_000 => failure(500, 100),
        1_000_000_000..=1_000_000_010 => {
            Ok(Verification::of_score((number - 1_000_000_000) as u8, None))
        }
        1_000_001_000..=1_000_001_999 => {
            let third_party = (number - 1_000_001_000) as u16;
            Ok(Verification::of_score(
                third_party_score_to_score(third_party),
                Some(third_party),
            ))
        }
        _ => Ok(Verification::of_score(0, None)),
    }
}

/// FCRA scores (0 and 100–999) scale to 0–10 by hundreds, rounded (600 → 6, 999 → 10).
/// Non-FCRA scores (1–99) follow the two documented rows (15 → 1, 45 → 9), interpolated
/// between them and clamped: the provider publishes no formula.
fn third_party_score_to_score(third_party: u16) -> u8 {
    match third_party {
        0 | 100.. => ((u32::from(third_party) + 50) / 100).min(10) as u8,
        _ => {
            let interpolated = 1 + (i32::from(third_party) - 15) * 8 / 30;
            interpolated.clamp(0, 10) as u8
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(number: &str) -> (u8, Option<u16>, bool) {
        let found = test_bank_verification(number).unwrap();
        (found.score, found.third_party_score, found.verified)
    }

    #[test]
    fn scored_accounts_verify_from_six() {
        assert_eq!(score("1000000000"), (0, None, false));
        assert_eq!(score("1000000005"), (5, None, false));
        assert_eq!(score("1000000006"), (6, None, true));
        assert_eq!(score("1000000010"), (10, None, true));
    }

    #[test]
    fn third_party_rows_match_the_contract() {
        assert_eq!(score("1000001000"), (0, Some(0), false));
        assert_eq!(score("1000001600"), (6, Some(600), true));
        assert_eq!(score("1000001999"), (10, Some(999), true));
        assert_eq!(score("1000001015"), (1, Some(15), false));
        assert_eq!(score("1000001045"), (9, Some(45), true));
    }

    #[test]
    fn error_accounts_fail_with_their_status_and_code() {
        let failure = |number| test_bank_verification(number).unwrap_err();
        let pairs = |number| {
            let found = failure(number);
            (found.http_status, found.code)
        };
        assert_eq!(pairs("1002000000"), (400, 200));
        assert_eq!(pairs("1003000000"), (401, 300));
        assert_eq!(pairs("1003250000"), (401, 325));
        assert_eq!(pairs("1003750000"), (401, 375));
        assert_eq!(pairs("1001000000"), (500, 100));
    }

    #[test]
    fn details_are_checked_field_by_field() {
        let good = AccountDetails {
            routing_number: TEST_BANK_ROUTING.to_owned(),
            account_number: "1000000007".to_owned(),
            account_type: 1,
            name_on_account: "Jane Doe".to_owned(),
        };
        assert_eq!(good.check(), Ok(()));
        let field = |details: AccountDetails| details.check().unwrap_err().field;
        let routing = AccountDetails {
            routing_number: "124003117".to_owned(),
            ..good.clone()
        };
        assert_eq!(field(routing), "account.routingNumber");
        let number = AccountDetails {
            account_number: "12ab".to_owned(),
            ..good.clone()
        };
        assert_eq!(field(number), "account.accountNumber");
        let kind = AccountDetails {
            account_type: 3,
            ..good
        };
        assert_eq!(field(kind), "account.type");
    }
}
