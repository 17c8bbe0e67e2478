//! Field rules shared by the reader and the writers, so both accept exactly the same values.
//!
//! Each check returns the reason as a `String`; the caller knows the element path and wraps it
//! into an `IsoError`.

use time::{Date, Month};

use super::RoutingCheck;

/// Lengths of the ISO text types paybank writes (`MaxNNText`).
pub(super) const MAX_16: usize = 16;
pub(super) const MAX_34: usize = 34;
pub(super) const MAX_35: usize = 35;
pub(super) const MAX_70: usize = 70;
pub(super) const MAX_105: usize = 105;
pub(super) const MAX_140: usize = 140;
pub(super) const MAX_350: usize = 350;

/// Longest reference after the date and the connection party id in a FedNow message id.
const MESSAGE_REFERENCE_MAX: usize = 18;

/// An ISO `MaxNNText`: 1 to `max` characters. Control characters are refused because XML 1.0
/// cannot carry most of them and would rewrite the others (`\r`), breaking round trips.
pub(super) fn text(value: &str, max: usize) -> Result<(), String> {
    if value.is_empty() {
        return Err("must not be empty".to_string());
    }
    if value.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".to_string());
    }
    Ok(())
}

/// Whether nine digits carry a valid ABA check digit: weights 3, 7, 1 repeated, sum mod 10 is 0.
/// Private to this module on purpose; paybank's shared routing module will replace it.
fn aba_check_digit_is_valid(digits: &[u8; 9]) -> bool {
    const WEIGHTS: [u32; 9] = [3, 7, 1, 3, 7, 1, 3, 7, 1];
    let sum: u32 = digits
        .iter()
        .zip(WEIGHTS)
        .map(|(digit, weight)| u32::from(digit - b'0') * weight)
        .sum();
    sum.is_multiple_of(10)
}

/// A routing transit number as a clearing system member id.
pub(super) fn routing_number(value: &str, check: RoutingCheck) -> Result<(), String> {
    let digits: &[u8; 9] = value
        .as_bytes()
        .try_into()
        .ok()
        .filter(|digits: &&[u8; 9]| digits.iter().all(u8::is_ascii_digit))
        .ok_or_else(|| format!("routing number `{value}` must be 9 digits"))?;
    if check == RoutingCheck::CheckDigit && !aba_check_digit_is_valid(digits) {
        return Err(format!("routing number `{value}` has a wrong check digit"));
    }
    Ok(())
}

/// A FedNow message id: `CCYYMMDD` (a real date), a 9-character connection party id and a
/// reference of 1 to 18 characters; paybank allows only ASCII letters and digits in both.
pub(super) fn message_id(value: &str) -> Result<(), String> {
    let fail = || {
        format!(
            "message id `{value}` must be CCYYMMDD, a 9-character party id and a 1 to \
             {MESSAGE_REFERENCE_MAX}-character reference, letters and digits only"
        )
    };
    if !value.is_ascii() || value.len() < 18 || value.len() > 17 + MESSAGE_REFERENCE_MAX {
        return Err(fail());
    }
    let (date, rest) = value.split_at(8);
    if !rest.bytes().all(|b| b.is_ascii_alphanumeric()) || compact_date(date).is_none() {
        return Err(fail());
    }
    Ok(())
}

/// `CCYYMMDD` as a calendar date.
fn compact_date(text: &str) -> Option<Date> {
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i32 = text.get(0..4)?.parse().ok()?;
    let month: u8 = text.get(4..6)?.parse().ok()?;
    let day: u8 = text.get(6..8)?.parse().ok()?;
    Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
}

/// A UETR: a lowercase version 4 UUID, the pattern of ISO's `UUIDv4Identifier`.
pub(super) fn uetr(value: &str) -> Result<(), String> {
    let bytes = value.as_bytes();
    let hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
    let shape_ok = bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => hex(b),
        });
    if shape_ok && bytes[14] == b'4' && matches!(bytes[19], b'8' | b'9' | b'a' | b'b') {
        Ok(())
    } else {
        Err(format!("UETR `{value}` must be a lowercase version 4 UUID"))
    }
}

/// An ISO country code: two capital letters.
pub(super) fn country(value: &str) -> Result<(), String> {
    if value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(format!("country `{value}` must be two capital letters"))
    }
}

/// An external code (status, status reason): 1 to 4 capital letters or digits.
pub(super) fn external_code(value: &str) -> Result<(), String> {
    let ok = (1..=4).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "code `{value}` must be 1 to 4 capital letters or digits"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_numbers_need_nine_digits_and_the_check_digit() {
        assert_eq!(
            routing_number("021150706", RoutingCheck::CheckDigit),
            Ok(())
        );
        assert_eq!(
            routing_number("021000021", RoutingCheck::CheckDigit),
            Ok(())
        );
        assert!(routing_number("111111111", RoutingCheck::CheckDigit).is_err());
        assert_eq!(
            routing_number("111111111", RoutingCheck::NineDigits),
            Ok(())
        );
        for bad in ["02115070", "0211507060", "02115070a", "", "０21150706"] {
            assert!(
                routing_number(bad, RoutingCheck::NineDigits).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn message_ids_follow_the_fednow_layout() {
        assert_eq!(message_id("20230604111111111Sc01Step1MsgId"), Ok(()));
        assert_eq!(message_id("20230604111111111X"), Ok(()));
        assert_eq!(message_id("20230604111111111ABCDEFGHIJKLMNOPQR"), Ok(()));
        for bad in [
            "20230604111111111",
            "20230604111111111ABCDEFGHIJKLMNOPQRS",
            "20230231111111111X",
            "2023O604111111111X",
            "20230604111111111Sc01-Step1",
            "20230604111111111Sc01Stép",
        ] {
            assert!(message_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn uetrs_are_lowercase_uuid_v4() {
        assert_eq!(uetr("8a562c67-ca16-48ba-b074-65581be6f011"), Ok(()));
        for bad in [
            "8A562C67-CA16-48BA-B074-65581BE6F011",
            "8a562c67-ca16-38ba-b074-65581be6f011",
            "8a562c67-ca16-48ba-c074-65581be6f011",
            "8a562c67ca1648bab07465581be6f011",
        ] {
            assert!(uetr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_counts_characters_and_refuses_control_characters() {
        assert_eq!(text("é".repeat(35).as_str(), MAX_35), Ok(()));
        assert!(text("é".repeat(36).as_str(), MAX_35).is_err());
        assert!(text("", MAX_35).is_err());
        assert!(text("a\rb", MAX_35).is_err());
    }
}
