//! Money: amounts in integer cents, and the wire format (`"10.00"`) parsed and printed only here.

use std::fmt;

/// The longest amount string the API accepts, as the provider documents (`≤10 characters`).
pub const AMOUNT_WIRE_LENGTH_MAX: usize = 10;

/// An amount of money in minor units (cents). Never negative on the wire; signed so that
/// ledger arithmetic can express debits without a second type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(i64);

/// Why an amount string was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {AMOUNT_WIRE_LENGTH_MAX} characters")]
    TooLong,
    #[error("must be a decimal number like 10.00")]
    NotDecimal,
    #[error("must have at most 2 decimal places")]
    TooManyDecimals,
}

impl Amount {
    pub const ZERO: Amount = Amount(0);

    pub const fn from_minor(minor: i64) -> Amount {
        Amount(minor)
    }

    pub const fn minor(self) -> i64 {
        self.0
    }

    /// Parses the wire form: digits, optionally a dot and one or two digits.
    /// Signs, exponents, spaces and thousands separators are refused, because the provider's
    /// own validation refuses them and a lenient parser would hide merchant bugs.
    pub fn parse(text: &str) -> Result<Amount, AmountError> {
        if text.is_empty() {
            return Err(AmountError::Empty);
        }
        if text.len() > AMOUNT_WIRE_LENGTH_MAX {
            return Err(AmountError::TooLong);
        }
        let (units, fraction) = match text.split_once('.') {
            Some((units, fraction)) => (units, fraction),
            None => (text, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if units.is_empty() || !all_digits(units) || !all_digits(fraction) {
            return Err(AmountError::NotDecimal);
        }
        if text.ends_with('.') {
            return Err(AmountError::NotDecimal);
        }
        if fraction.len() > 2 {
            return Err(AmountError::TooManyDecimals);
        }
        // Ten characters of digits fit in i64 many times over, so these cannot overflow.
        let units: i64 = units.parse().map_err(|_| AmountError::NotDecimal)?;
        let cents: i64 = match fraction.len() {
            0 => 0,
            1 => {
                fraction
                    .parse::<i64>()
                    .map_err(|_| AmountError::NotDecimal)?
                    * 10
            }
            _ => fraction.parse().map_err(|_| AmountError::NotDecimal)?,
        };
        Ok(Amount(units * 100 + cents))
    }

    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Amount with thousands separators for people (`1,000.00`), used by the hosted pages.
    pub fn to_display(self) -> String {
        let wire = self.to_string();
        let (units, cents) = wire.split_once('.').unwrap_or((&wire, "00"));
        let (sign, digits) = match units.strip_prefix('-') {
            Some(digits) => ("-", digits),
            None => ("", units),
        };
        let mut grouped = String::new();
        for (digit_idx, digit) in digits.chars().enumerate() {
            if digit_idx > 0 && (digits.len() - digit_idx) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        format!("{sign}{grouped}.{cents}")
    }

    /// Appends the wire form (what `Display` writes) to `out`, without `core::fmt`: the JSON
    /// answers write several amounts each.
    pub fn write_wire(self, out: &mut Vec<u8>) {
        if self.0 < 0 {
            out.push(b'-');
        }
        let abs = self.0.unsigned_abs();
        out.extend_from_slice(itoa::Buffer::new().format(abs / 100).as_bytes());
        let cents = (abs % 100) as u8;
        out.extend_from_slice(&[b'.', b'0' + cents / 10, b'0' + cents % 10]);
    }
}

impl fmt::Display for Amount {
    /// The wire form: always two decimals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl std::iter::Sum for Amount {
    fn sum<I: Iterator<Item = Amount>>(iter: I) -> Amount {
        Amount(iter.map(|amount| amount.0).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn write_wire_writes_what_display_shows(minor in any::<i64>()) {
            let mut out = Vec::new();
            Amount(minor).write_wire(&mut out);
            prop_assert_eq!(String::from_utf8(out).unwrap(), Amount(minor).to_string());
        }
    }

    #[test]
    fn parses_the_wire_forms_the_provider_accepts() {
        assert_eq!(Amount::parse("10.00"), Ok(Amount(1000)));
        assert_eq!(Amount::parse("10"), Ok(Amount(1000)));
        assert_eq!(Amount::parse("10.5"), Ok(Amount(1050)));
        assert_eq!(Amount::parse("0.99"), Ok(Amount(99)));
        assert_eq!(Amount::parse("0.00"), Ok(Amount(0)));
        assert_eq!(Amount::parse("9999999.99"), Ok(Amount(999_999_999)));
    }

    #[test]
    fn refuses_malformed_amounts() {
        assert_eq!(Amount::parse(""), Err(AmountError::Empty));
        assert_eq!(Amount::parse("99999999.99"), Err(AmountError::TooLong));
        assert_eq!(Amount::parse("1.005"), Err(AmountError::TooManyDecimals));
        for bad in [
            "-1.00", "+1", "1e3", " 1", "1,000", ".5", "5.", "abc", "1.0a",
        ] {
            assert_eq!(Amount::parse(bad), Err(AmountError::NotDecimal), "{bad}");
        }
    }

    #[test]
    fn prints_two_decimals_and_groups_for_display() {
        assert_eq!(Amount(5).to_string(), "0.05");
        assert_eq!(Amount(-250).to_string(), "-2.50");
        assert_eq!(Amount(123_456_789).to_display(), "1,234,567.89");
        assert_eq!(Amount(100).to_display(), "1.00");
    }

    proptest! {
        #[test]
        fn printing_then_parsing_round_trips(minor in 0i64..=999_999_999) {
            let amount = Amount(minor);
            prop_assert_eq!(Amount::parse(&amount.to_string()), Ok(amount));
        }
    }
}
