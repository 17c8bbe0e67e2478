//! ABA routing transit numbers: the 3-7-1 check digit and the ranges of valid prefixes
//! (rails.md §1.10).

/// The weights of the ABA checksum, repeated over the nine digits.
const WEIGHTS: [u32; 9] = [3, 7, 1, 3, 7, 1, 3, 7, 1];

/// Whether `s` is a well-formed routing number: exactly nine ASCII digits, a prefix that the
/// Federal Reserve assigns (00–12 government and districts, 21–32 thrifts, 61–72 electronic,
/// 80 traveler's checks) and a correct check digit.
pub fn routing_number_is_valid(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.len() != 9 || !bytes.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let prefix = u32::from(bytes[0] - b'0') * 10 + u32::from(bytes[1] - b'0');
    if !matches!(prefix, 0..=12 | 21..=32 | 61..=72 | 80) {
        return false;
    }
    check_digit(&s[..8]) == Some(bytes[8] - b'0')
}

/// The ninth digit that makes `first8` a routing number, or `None` unless `first8` is exactly
/// eight ASCII digits. NACHA records carry the first eight digits (the DFI identification)
/// and the check digit in separate fields, so both halves are needed on their own.
pub fn check_digit(first8: &str) -> Option<u8> {
    let bytes = first8.as_bytes();
    if bytes.len() != 8 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = bytes
        .iter()
        .zip(WEIGHTS)
        .map(|(digit, weight)| u32::from(digit - b'0') * weight)
        .sum();
    // The weighted sum of all nine digits must be a multiple of ten.
    Some(((10 - sum % 10) % 10) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_routing_numbers_are_valid() {
        for rtn in [
            "021000021",
            "124003116",
            "231380104",
            "121042882",
            "011401533",
        ] {
            assert!(routing_number_is_valid(rtn), "{rtn}");
        }
    }

    #[test]
    fn a_wrong_check_digit_is_invalid() {
        assert!(!routing_number_is_valid("231380105"));
        assert!(!routing_number_is_valid("021000022"));
    }

    #[test]
    fn wrong_lengths_and_letters_are_invalid() {
        for rtn in [
            "",
            "02100002",
            "0210000210",
            "02100002A",
            "O21000021",
            " 21000021",
        ] {
            assert!(!routing_number_is_valid(rtn), "{rtn:?}");
        }
        assert!(!routing_number_is_valid("０21000021"), "non-ASCII digits");
    }

    #[test]
    fn unassigned_prefixes_are_invalid() {
        // 13xxxxxxx and 50xxxxxxx are outside every Federal Reserve range, whatever the check
        // digit says; each candidate here gets a correct check digit so only the prefix fails.
        for first8 in [
            "13000000", "20000000", "33000000", "60000000", "73000000", "81000000",
        ] {
            let rtn = format!("{first8}{}", check_digit(first8).unwrap());
            assert!(!routing_number_is_valid(&rtn), "{rtn}");
        }
        for first8 in [
            "00000000", "12000000", "21000000", "32000000", "61000000", "80000000",
        ] {
            let rtn = format!("{first8}{}", check_digit(first8).unwrap());
            assert!(routing_number_is_valid(&rtn), "{rtn}");
        }
    }

    #[test]
    fn check_digit_completes_the_checksum() {
        assert_eq!(check_digit("02100002"), Some(1));
        assert_eq!(check_digit("23138010"), Some(4));
        assert_eq!(check_digit("08100021"), Some(0));
        assert_eq!(check_digit("0210000"), None);
        assert_eq!(check_digit("0210000x"), None);
    }
}
