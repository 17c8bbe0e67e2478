//! The ledger: every money movement is a set of postings between named accounts summing to zero.

use crate::ids::{MerchantId, TransactionId};
use crate::money::Amount;

/// A ledger account. Balances are "money held here" from paybank's point of view.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LedgerAccount {
    /// The consumer's bank account, named by its account token.
    Consumer(String),
    /// Submitted to the network for the merchant, not yet cleared.
    MerchantUnsettled(MerchantId),
    /// Cleared and owed to (or held for) the merchant.
    MerchantSettled(MerchantId),
    /// Money on its way out to consumers (refunds, payouts), between submission and settlement.
    PayoutClearing(MerchantId),
}

impl LedgerAccount {
    /// The stable text name the store keeps.
    pub fn name(&self) -> String {
        match self {
            Self::Consumer(token) => format!("consumer:{token}"),
            Self::MerchantUnsettled(merchant_id) => format!("merchant:{merchant_id}:unsettled"),
            Self::MerchantSettled(merchant_id) => format!("merchant:{merchant_id}:settled"),
            Self::PayoutClearing(merchant_id) => format!("merchant:{merchant_id}:payout-clearing"),
        }
    }

    /// Whether the store keeps this account's running balance beside its postings: the
    /// accounts a balance floor protects (a merchant's settled funds), whose floor check would
    /// otherwise sum the account's whole history at every payout.
    pub fn keeps_balance(&self) -> bool {
        matches!(self, Self::MerchantSettled(_))
    }

    /// Reads a name written by [`LedgerAccount::name`].
    pub fn from_name(name: &str) -> Option<LedgerAccount> {
        if let Some(token) = name.strip_prefix("consumer:") {
            return Some(Self::Consumer(token.to_owned()));
        }
        let rest = name.strip_prefix("merchant:")?;
        let (merchant_id, kind) = rest.split_once(':')?;
        let merchant_id = MerchantId(merchant_id.parse().ok()?);
        match kind {
            "unsettled" => Some(Self::MerchantUnsettled(merchant_id)),
            "settled" => Some(Self::MerchantSettled(merchant_id)),
            "payout-clearing" => Some(Self::PayoutClearing(merchant_id)),
            _ => None,
        }
    }
}

/// One line of a balanced movement: `amount` added to `account` (negative takes away).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posting {
    pub transaction_id: TransactionId,
    pub account: LedgerAccount,
    pub amount: Amount,
}

/// Moves `amount` from one account to another for a transaction: always two postings that
/// cancel out, so a movement built here is balanced by construction.
pub fn transfer(
    transaction_id: TransactionId,
    from: LedgerAccount,
    to: LedgerAccount,
    amount: Amount,
) -> [Posting; 2] {
    [
        Posting {
            transaction_id,
            account: from,
            amount: Amount::from_minor(-amount.minor()),
        },
        Posting {
            transaction_id,
            account: to,
            amount,
        },
    ]
}

/// What `postings` add to each account that [keeps a balance](LedgerAccount::keeps_balance),
/// by account name in name order (one order for every writer, so writers on several nodes
/// lock balances in the same order); accounts left where they were are not listed.
pub fn kept_balance_changes<'a>(
    postings: impl IntoIterator<Item = &'a Posting>,
) -> Vec<(String, i64)> {
    let mut changes = std::collections::BTreeMap::new();
    for posting in postings {
        if posting.account.keeps_balance() {
            *changes.entry(posting.account.name()).or_insert(0) += posting.amount.minor();
        }
    }
    changes
        .into_iter()
        .filter(|(_, minor)| *minor != 0)
        .collect()
}

/// The ledger's one invariant, asserted on the way into the store and on the way out.
pub fn is_balanced(postings: &[Posting]) -> bool {
    postings
        .iter()
        .map(|posting| i128::from(posting.amount.minor()))
        .sum::<i128>()
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_sequence_of_transfers_stays_balanced(amounts in proptest::collection::vec(0i64..1_000_000_000, 0..50)) {
            let merchant_id = MerchantId(1);
            let postings: Vec<Posting> = amounts
                .iter()
                .enumerate()
                .flat_map(|(idx, minor)| {
                    transfer(
                        TransactionId(idx as u64),
                        LedgerAccount::Consumer("t".into()),
                        LedgerAccount::MerchantUnsettled(merchant_id),
                        Amount::from_minor(*minor),
                    )
                })
                .collect();
            prop_assert!(is_balanced(&postings));
        }
    }

    #[test]
    fn kept_balances_change_by_the_sum_of_their_postings() {
        let settled = |merchant| LedgerAccount::MerchantSettled(MerchantId(merchant));
        let posting = |account: LedgerAccount, minor| Posting {
            transaction_id: TransactionId(1),
            account,
            amount: Amount::from_minor(minor),
        };
        let postings = [
            posting(settled(9), 500),
            posting(LedgerAccount::MerchantUnsettled(MerchantId(9)), -500),
            posting(settled(2), -700),
            posting(LedgerAccount::PayoutClearing(MerchantId(2)), 700),
            posting(settled(9), -200),
            posting(settled(5), 300),
            posting(settled(5), -300),
        ];
        assert_eq!(
            kept_balance_changes(&postings),
            [
                ("merchant:2:settled".to_owned(), -700),
                ("merchant:9:settled".to_owned(), 300)
            ]
        );
    }

    #[test]
    fn a_lone_posting_is_not_balanced() {
        let posting = Posting {
            transaction_id: TransactionId(1),
            account: LedgerAccount::MerchantSettled(MerchantId(1)),
            amount: Amount::from_minor(5),
        };
        assert!(!is_balanced(&[posting]));
    }
}
