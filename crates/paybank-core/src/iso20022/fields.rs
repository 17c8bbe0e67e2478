//! Typed fields shared by the messages, each with its reader and writer: text, amounts in
//! integer cents, dates and date-times, and agents identified by routing number.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use super::validate;
use super::xml::{Node, XmlOut};
use super::{IsoError, RoutingCheck};
use crate::money::Amount;

/// The only currency the instant rails settle in.
pub(super) const CURRENCY: &str = "USD";
/// The clearing system of US routing numbers in `ClrSysMmbId/ClrSysId/Cd`.
const CLEARING_SYSTEM_USABA: &str = "USABA";
/// ISO amounts have at most 18 digits in all; with two decimals that is this many cents.
const AMOUNT_CENTS_MAX: i64 = 999_999_999_999_999_999;
/// The offset `xs:dateTime` allows at most, in minutes.
const OFFSET_MINUTES_MAX: i16 = 14 * 60;

/// A required text element, checked as an ISO `MaxNNText`.
pub(super) fn read_text(node: &Node<'_>, names: &[&str], max: usize) -> Result<String, IsoError> {
    let leaf = node.require(names)?;
    validate::text(leaf.text(), max).map_err(|reason| leaf.invalid(reason))?;
    Ok(leaf.text().to_string())
}

/// An optional text element, checked as an ISO `MaxNNText` when present.
pub(super) fn read_optional_text(
    node: &Node<'_>,
    names: &[&str],
    max: usize,
) -> Result<Option<String>, IsoError> {
    match node.optional(names) {
        Some(_) => read_text(node, names, max).map(Some),
        None => Ok(None),
    }
}

/// A required code-like element (no surrounding whitespace), checked by `check`.
pub(super) fn read_token(
    node: &Node<'_>,
    names: &[&str],
    check: impl Fn(&str) -> Result<(), String>,
) -> Result<String, IsoError> {
    let leaf = node.require(names)?;
    check(leaf.token()).map_err(|reason| leaf.invalid(reason))?;
    Ok(leaf.token().to_string())
}

/// A required element whose token must be exactly `expected`.
pub(super) fn expect_token(
    node: &Node<'_>,
    names: &[&str],
    expected: &str,
) -> Result<(), IsoError> {
    read_token(node, names, |value| {
        if value == expected {
            Ok(())
        } else {
            Err(format!("must be `{expected}`, not `{value}`"))
        }
    })
    .map(drop)
}

/// `51.74` from 5174 cents; the amount must be positive and fit ISO's 18 digits.
pub(super) fn format_amount(amount: Amount) -> Result<String, String> {
    let cents = amount.minor();
    if cents <= 0 {
        return Err(format!("amount must be more than zero, not {cents} cents"));
    }
    if cents > AMOUNT_CENTS_MAX {
        return Err(format!("amount of {cents} cents has more than 18 digits"));
    }
    Ok(format!("{}.{:02}", cents / 100, cents % 100))
}

/// Cents from an unsigned `xs:decimal` such as `51.74`, `51.7`, `51`, `.5` or `51.74000`: digits
/// beyond the cent must be zeros, since the dollar has two decimals.
pub(super) fn parse_amount(text: &str) -> Result<Amount, String> {
    let fail = || format!("`{text}` is not an amount in dollars and cents like 51.74");
    let (units, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let no_digits = units.is_empty() && fraction.is_empty();
    if no_digits || !digits(units) || !digits(fraction) || fraction.len() > 5 {
        return Err(fail());
    }
    let (cents_text, below_cent) = fraction.split_at(fraction.len().min(2));
    if below_cent.bytes().any(|b| b != b'0') {
        return Err(fail());
    }
    let units = units.trim_start_matches('0');
    if units.len() > 16 {
        return Err(format!("amount `{text}` has more than 18 digits"));
    }
    let whole: i64 = if units.is_empty() {
        0
    } else {
        units.parse().map_err(|_| fail())?
    };
    let cents: i64 = format!("{cents_text:0<2}").parse().map_err(|_| fail())?;
    let total = whole * 100 + cents;
    if total == 0 {
        return Err("amount must be more than zero".to_string());
    }
    Ok(Amount::from_minor(total))
}

/// `2023-06-04T10:55:26-04:00`, with a fraction of a second only when there is one. The offset
/// must be whole minutes within ±14:00 and the year within 1 to 9999, as `xs:dateTime` needs.
pub(super) fn format_date_time(at: OffsetDateTime) -> Result<String, String> {
    let offset = at.offset();
    let offset_minutes = offset.whole_minutes();
    if offset.seconds_past_minute() != 0 || offset_minutes.abs() > OFFSET_MINUTES_MAX {
        return Err(format!(
            "UTC offset {offset} must be whole minutes within ±14:00"
        ));
    }
    if !(1..=9999).contains(&at.year()) {
        return Err(format!("year {} is outside 1 to 9999", at.year()));
    }
    let formatted = if at.nanosecond() == 0 {
        at.format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
        ))
    } else {
        at.format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:1+][offset_hour sign:mandatory]:[offset_minute]"
        ))
    };
    formatted.map_err(|err| err.to_string())
}

/// An ISO date-time; it must carry a UTC offset (or `Z`), since a local time is ambiguous.
pub(super) fn parse_date_time(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
        format!("`{text}` is not a date-time with offset like 2023-06-04T10:55:26-04:00")
    })
}

/// `2023-06-04`, for years 1 to 9999.
pub(super) fn format_date(date: Date) -> Result<String, String> {
    if !(1..=9999).contains(&date.year()) {
        return Err(format!("year {} is outside 1 to 9999", date.year()));
    }
    date.format(format_description!("[year]-[month]-[day]"))
        .map_err(|err| err.to_string())
}

pub(super) fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text, format_description!("[year]-[month]-[day]"))
        .map_err(|_| format!("`{text}` is not a date like 2023-06-04"))
}

pub(super) fn read_date_time(node: &Node<'_>, names: &[&str]) -> Result<OffsetDateTime, IsoError> {
    let leaf = node.require(names)?;
    parse_date_time(leaf.token()).map_err(|reason| leaf.invalid(reason))
}

pub(super) fn read_optional_date_time(
    node: &Node<'_>,
    names: &[&str],
) -> Result<Option<OffsetDateTime>, IsoError> {
    match node.optional(names) {
        Some(_) => read_date_time(node, names).map(Some),
        None => Ok(None),
    }
}

pub(super) fn read_date(node: &Node<'_>, names: &[&str]) -> Result<Date, IsoError> {
    let leaf = node.require(names)?;
    parse_date(leaf.token()).map_err(|reason| leaf.invalid(reason))
}

pub(super) fn write_date_time(
    out: &mut XmlOut,
    name: &'static str,
    at: OffsetDateTime,
) -> Result<(), IsoError> {
    let text = format_date_time(at).map_err(|reason| out.invalid(name, reason))?;
    out.leaf(name, &text);
    Ok(())
}

pub(super) fn write_date(out: &mut XmlOut, name: &'static str, date: Date) -> Result<(), IsoError> {
    let text = format_date(date).map_err(|reason| out.invalid(name, reason))?;
    out.leaf(name, &text);
    Ok(())
}

/// An agent (`InstgAgt`, `DbtrAgt`, ...) identified by its routing number in the USABA
/// clearing system, the way FedNow requires.
pub(super) fn write_agent(out: &mut XmlOut, name: &'static str, rtn: &str) -> Result<(), IsoError> {
    out.open(name);
    out.open("FinInstnId");
    out.open("ClrSysMmbId");
    out.open("ClrSysId");
    out.leaf("Cd", CLEARING_SYSTEM_USABA);
    out.close();
    validate::routing_number(rtn, RoutingCheck::CheckDigit)
        .map_err(|reason| out.invalid("MmbId", reason))?;
    out.leaf("MmbId", rtn);
    out.close();
    out.close();
    out.close();
    Ok(())
}

/// Reads the routing number of the agent `name` under `node`; a clearing system, when given,
/// must be USABA.
pub(super) fn read_agent(
    node: &Node<'_>,
    name: &str,
    check: RoutingCheck,
) -> Result<String, IsoError> {
    let member = node.require(&[name, "FinInstnId", "ClrSysMmbId"])?;
    if member.optional(&["ClrSysId", "Cd"]).is_some() {
        expect_token(&member, &["ClrSysId", "Cd"], CLEARING_SYSTEM_USABA)?;
    }
    read_token(&member, &["MmbId"], |rtn| {
        validate::routing_number(rtn, check)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn amounts_are_dollars_and_cents_without_floats() {
        let cases = [
            (5174, "51.74"),
            (1, "0.01"),
            (100, "1.00"),
            (AMOUNT_CENTS_MAX, "9999999999999999.99"),
        ];
        for (cents, text) in cases {
            assert_eq!(
                format_amount(Amount::from_minor(cents)).as_deref(),
                Ok(text)
            );
            assert_eq!(parse_amount(text), Ok(Amount::from_minor(cents)));
        }
        for (text, cents) in [
            ("51.7", 5170),
            ("51", 5100),
            ("51.74000", 5174),
            ("007.5", 750),
            ("1.", 100),
            (".5", 50),
        ] {
            assert_eq!(parse_amount(text), Ok(Amount::from_minor(cents)), "{text}");
        }
        for bad in [
            "0.00",
            "-1.00",
            "1.001",
            "1.000000",
            ".",
            "+1",
            "1e3",
            "",
            "12345678901234567.00",
        ] {
            assert!(parse_amount(bad).is_err(), "{bad}");
        }
        assert!(format_amount(Amount::ZERO).is_err());
        assert!(format_amount(Amount::from_minor(AMOUNT_CENTS_MAX + 1)).is_err());
    }

    #[test]
    fn date_times_keep_their_offset_and_fraction() {
        let at = datetime!(2023-06-04 10:55:26 -04:00);
        assert_eq!(
            format_date_time(at).as_deref(),
            Ok("2023-06-04T10:55:26-04:00")
        );
        let fraction = datetime!(2023-06-04 10:55:26.120 UTC);
        let text = format_date_time(fraction).unwrap();
        assert_eq!(text, "2023-06-04T10:55:26.12+00:00");
        assert_eq!(parse_date_time(&text), Ok(fraction));
        assert_eq!(parse_date_time("2023-06-04T14:55:26Z"), Ok(at));
        assert!(parse_date_time("2023-06-04T10:55:26").is_err());
        assert!(format_date_time(datetime!(2023-06-04 10:55:26 +15:00)).is_err());
        assert!(format_date_time(datetime!(2023-06-04 10:55:26 +01:00:30)).is_err());
    }
}
