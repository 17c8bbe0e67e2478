//! NACHA code tables: transaction codes (rails.md §1.5), return reason codes (§1.7) and
//! notification-of-change codes (§1.8).

/// An entry's transaction code (entry detail positions 2-3). Only the codes NACHA defines can
/// be built, so a value of this type always names a real account type and direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionCode(u8);

impl TransactionCode {
    /// Automated return or notification of change for a credit to a checking account.
    pub const CHECKING_RETURN_CREDIT: Self = Self(21);
    pub const CHECKING_CREDIT: Self = Self(22);
    pub const CHECKING_PRENOTE_CREDIT: Self = Self(23);
    pub const CHECKING_ZERO_CREDIT: Self = Self(24);
    /// Automated return or notification of change for a debit to a checking account.
    pub const CHECKING_RETURN_DEBIT: Self = Self(26);
    pub const CHECKING_DEBIT: Self = Self(27);
    pub const CHECKING_PRENOTE_DEBIT: Self = Self(28);
    pub const CHECKING_ZERO_DEBIT: Self = Self(29);
    pub const SAVINGS_RETURN_CREDIT: Self = Self(31);
    pub const SAVINGS_CREDIT: Self = Self(32);
    pub const SAVINGS_PRENOTE_CREDIT: Self = Self(33);
    pub const SAVINGS_ZERO_CREDIT: Self = Self(34);
    pub const SAVINGS_RETURN_DEBIT: Self = Self(36);
    pub const SAVINGS_DEBIT: Self = Self(37);
    pub const SAVINGS_PRENOTE_DEBIT: Self = Self(38);
    pub const SAVINGS_ZERO_DEBIT: Self = Self(39);

    /// The code if NACHA defines it: checking 21–29, savings 31–39, general ledger 41–49 and
    /// loan 51–56, each without x0 and x5 (loan 55, a reversal debit, is the one exception).
    pub fn new(code: u8) -> Option<Self> {
        let known = match code {
            21..=29 | 31..=39 | 41..=49 => !matches!(code % 10, 0 | 5),
            51..=56 => true,
            _ => false,
        };
        known.then_some(Self(code))
    }

    pub fn code(self) -> u8 {
        self.0
    }

    /// Counted in the credit totals: codes ending in 1–4. An x1 return or NOC answers a
    /// credit and is totalled with the credits, as batch controls do (rails.md §1.3).
    pub fn is_credit(self) -> bool {
        matches!(self.0 % 10, 1..=4)
    }

    /// Counted in the debit totals: codes ending in 6–9, and loan code 55.
    pub fn is_debit(self) -> bool {
        !self.is_credit()
    }

    /// A zero-amount prenotification (x3 and x8).
    pub fn is_prenote(self) -> bool {
        matches!(self.0 % 10, 3 | 8)
    }

    /// An automated return or a notification of change (x1 and x6).
    pub fn is_return_or_notice(self) -> bool {
        matches!(self.0 % 10, 1 | 6)
    }
}

/// The return reason codes paybank knows a meaning for (rails.md §1.7), in its own words.
const RETURN_CODES: &[(&str, &str)] = &[
    ("R01", "insufficient funds"),
    ("R02", "account closed"),
    ("R03", "no account or unable to locate account"),
    ("R04", "invalid account number structure"),
    (
        "R05",
        "unauthorized debit to a consumer account using a corporate SEC code",
    ),
    ("R06", "returned at the ODFI's request"),
    ("R07", "authorization revoked by customer"),
    ("R08", "payment stopped"),
    ("R09", "uncollected funds"),
    (
        "R10",
        "customer says the originator is unknown or not authorized",
    ),
    (
        "R11",
        "customer says the entry does not match the authorization",
    ),
    ("R12", "account sold to another DFI"),
    ("R13", "invalid ACH routing number"),
    ("R14", "representative payee deceased or unable to continue"),
    ("R15", "beneficiary or account holder deceased"),
    ("R16", "account frozen or blocked by OFAC"),
    ("R17", "entry fails the RDFI's file edit criteria"),
    ("R18", "improper effective entry date"),
    ("R19", "amount field error"),
    ("R20", "non-transaction account"),
    ("R21", "invalid company identification"),
    ("R22", "invalid individual identification number"),
    ("R23", "credit refused by receiver"),
    ("R24", "duplicate entry"),
    ("R29", "corporate customer says the entry is not authorized"),
    ("R31", "permissible late return agreed by the ODFI"),
];

/// The change codes of a notification of change (rails.md §1.8), in paybank's own words.
const CHANGE_CODES: &[(&str, &str)] = &[
    ("C01", "incorrect account number"),
    ("C02", "incorrect routing number"),
    ("C03", "incorrect routing number and account number"),
    ("C04", "incorrect individual or receiving company name"),
    ("C05", "incorrect transaction code"),
    ("C06", "incorrect account number and transaction code"),
    (
        "C07",
        "incorrect routing number, account number and transaction code",
    ),
    ("C08", "incorrect receiving DFI identification (IAT)"),
    ("C09", "incorrect individual identification number"),
    ("C10", "incorrect company name"),
    ("C11", "incorrect company identification"),
    ("C12", "incorrect company name and company identification"),
    ("C13", "addenda format error"),
    (
        "C14",
        "incorrect SEC code for an outbound international payment",
    ),
];

/// What a return reason code means, for the codes in rails.md's table (R01–R24, R29, R31).
pub fn return_code_meaning(code: &str) -> Option<&'static str> {
    lookup(RETURN_CODES, code)
}

/// What a change code means (C01–C14).
pub fn change_code_meaning(code: &str) -> Option<&'static str> {
    lookup(CHANGE_CODES, code)
}

/// Whether a return reason code is one the reader accepts: R01–R85. The whole range is
/// accepted, including dishonored (R61, R67–R70) and contested (R71–R77) returns, because an
/// RDFI or operator may send any of them and the reader must not drop a real return.
pub fn return_code_is_known(code: &str) -> bool {
    numbered_code(code, b'R').is_some_and(|n| (1..=85).contains(&n))
}

/// Whether a change code is one the reader accepts: C01–C14, and C61–C69 for refused
/// notifications of change.
pub fn change_code_is_known(code: &str) -> bool {
    numbered_code(code, b'C').is_some_and(|n| (1..=14).contains(&n) || (61..=69).contains(&n))
}

/// The number of a code made of `letter` and two digits, like `R01`.
fn numbered_code(code: &str, letter: u8) -> Option<u8> {
    match code.as_bytes() {
        [first, tens, units]
            if *first == letter && tens.is_ascii_digit() && units.is_ascii_digit() =>
        {
            Some((tens - b'0') * 10 + (units - b'0'))
        }
        _ => None,
    }
}

fn lookup(table: &[(&str, &'static str)], code: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|(known, _)| *known == code)
        .map(|(_, meaning)| *meaning)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_codes_know_their_direction() {
        assert!(TransactionCode::CHECKING_CREDIT.is_credit());
        assert!(TransactionCode::CHECKING_RETURN_CREDIT.is_credit());
        assert!(TransactionCode::SAVINGS_DEBIT.is_debit());
        assert!(TransactionCode::CHECKING_RETURN_DEBIT.is_debit());
        assert!(TransactionCode::new(55).unwrap().is_debit());
        assert!(TransactionCode::CHECKING_PRENOTE_DEBIT.is_prenote());
        assert!(TransactionCode::SAVINGS_RETURN_CREDIT.is_return_or_notice());
        assert!(!TransactionCode::SAVINGS_CREDIT.is_return_or_notice());
    }

    #[test]
    fn only_defined_transaction_codes_exist() {
        let known: Vec<u8> = (0..=99)
            .filter(|c| TransactionCode::new(*c).is_some())
            .collect();
        let mut expected: Vec<u8> = Vec::new();
        for tens in [20, 30, 40] {
            expected.extend([1, 2, 3, 4, 6, 7, 8, 9].map(|units| tens + units));
        }
        expected.extend(51..=56);
        assert_eq!(known, expected);
    }

    #[test]
    fn code_tables() {
        assert_eq!(return_code_meaning("R01"), Some("insufficient funds"));
        assert_eq!(return_code_meaning("R02"), Some("account closed"));
        assert_eq!(return_code_meaning("R99"), None);
        assert_eq!(change_code_meaning("C01"), Some("incorrect account number"));
        assert_eq!(change_code_meaning("C92"), None);
        assert!(return_code_is_known("R85") && return_code_is_known("R68"));
        assert!(!return_code_is_known("R00") && !return_code_is_known("R86"));
        assert!(!return_code_is_known("r01") && !return_code_is_known("R1"));
        assert!(change_code_is_known("C14") && change_code_is_known("C61"));
        assert!(!change_code_is_known("C15") && !change_code_is_known("C92"));
    }
}
