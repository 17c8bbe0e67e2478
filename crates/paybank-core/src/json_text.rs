//! JSON strings written and read without a parser where nothing in them is escaped: the wire
//! answers' texts and the store's account records, byte for byte as serde_json has them.
//!
//! Nearly every text paybank writes into JSON (ids, names, URLs, bank details) needs no escape,
//! so the common case is one scan and one copy; a text that does need one goes through
//! serde_json, so the bytes are always serde_json's.

/// Writes `text` as a JSON string, quotes included, as `serde_json::to_writer` writes it.
pub fn write_str(out: &mut Vec<u8>, text: &str) {
    if needs_no_escape(text) {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(out, text).expect("writing to memory cannot fail");
    }
}

/// The string that opens `json` (its first byte a quote) and what follows its closing quote,
/// when nothing in it is escaped; `None` when it holds an escape or is not closed, which a
/// caller then leaves to a parser.
pub fn plain_string(json: &str) -> Option<(&str, &str)> {
    let body = json.strip_prefix('"')?;
    let end = first_stop(body.as_bytes())?;
    // A quote ends the string; a backslash or a control character needs the parser. Both
    // are ASCII, so `end` and `end + 1` fall between characters.
    (body.as_bytes()[end] == b'"').then(|| (&body[..end], &body[end + 1..]))
}

/// True when serde_json would write `text` between quotes unchanged: it escapes only quotes,
/// backslashes and control characters.
pub fn needs_no_escape(text: &str) -> bool {
    first_stop(text.as_bytes()).is_none()
}

/// Where the first quote, backslash or control character in `bytes` is, eight bytes at a
/// time: a transaction answer carries about 600 bytes of strings, and a byte at a time this
/// was a sixth of writing it.
fn first_stop(bytes: &[u8]) -> Option<usize> {
    let mut words = bytes.chunks_exact(8);
    for (index, word) in words.by_ref().enumerate() {
        let found = stops(u64::from_le_bytes(word.try_into().expect("chunks of 8")));
        if found != 0 {
            return Some(index * 8 + first_marked(found));
        }
    }
    // The last few bytes, made up to a word with spaces, which stop nothing.
    let tail = words.remainder();
    let mut word = [b' '; 8];
    word[..tail.len()].copy_from_slice(tail);
    let found = stops(u64::from_le_bytes(word));
    (found != 0).then(|| bytes.len() - tail.len() + first_marked(found))
}

/// The high bit of each byte of `word` that is below 0x20, a quote or a backslash (the
/// well-known tests for a zero byte and for a byte below a bound, applied to every byte of a
/// word at once). A byte above a marked one may be marked wrongly, by the borrow; the lowest
/// mark is always right, and it is the only one read.
fn stops(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let below = |bound: u8| word.wrapping_sub(ONES * u64::from(bound)) & !word & HIGHS;
    let zero_in = |value: u64| value.wrapping_sub(ONES) & !value & HIGHS;
    let quote = zero_in(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_in(word ^ (ONES * u64::from(b'\\')));
    below(0x20) | quote | backslash
}

/// The position of the byte whose high bit is the lowest set in `marks` (read little-endian).
fn first_marked(marks: u64) -> usize {
    marks.trailing_zeros() as usize / 8
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Any text, and text dense in what JSON escapes (`any::<String>()` leaves out control
    /// characters).
    const TEXTS: &str = "(?s).{0,40}|[\\x00-\\x20\"\\\\a\\x7f\u{e9}\u{2028}]{0,40}";

    proptest! {
        #[test]
        fn strings_print_as_serde_json_prints_them(text in TEXTS) {
            let mut written = Vec::new();
            write_str(&mut written, &text);
            prop_assert_eq!(written, serde_json::to_vec(&text).expect("JSON"));
        }

        /// What `plain_string` reads back is what serde_json reads, whenever it reads at all,
        /// and it reads every string serde_json writes unescaped.
        #[test]
        fn plain_strings_read_as_serde_json_reads_them(text in TEXTS, tail in "[,}a\"]{0,3}") {
            let json = serde_json::to_string(&text).expect("JSON") + &tail;
            let read = plain_string(&json);
            prop_assert_eq!(read.is_some(), needs_no_escape(&text));
            if let Some((found, rest)) = read {
                prop_assert_eq!(found, text.as_str());
                prop_assert_eq!(rest, tail.as_str());
            }
        }
    }

    fn plain_byte(byte: u8) -> bool {
        byte >= 0x20 && byte != b'"' && byte != b'\\'
    }

    /// Every byte value at every position of words and of the tail, alone among plain bytes:
    /// the test eight bytes at a time agrees with the test of each byte.
    #[test]
    fn escapes_are_found_wherever_they_are() {
        for length in [1, 7, 8, 9, 16, 23] {
            for position in 0..length {
                for byte in 0..=0x7f_u8 {
                    let mut text = vec![b'a'; length];
                    text[position] = byte;
                    let text = String::from_utf8(text).expect("ASCII");
                    assert_eq!(needs_no_escape(&text), plain_byte(byte), "{text:?}");
                    let quoted = format!("\"{text}\"");
                    let found = plain_string(&quoted).map(|(found, _)| found);
                    let expected = match byte {
                        b'"' => Some(&text[..position]),
                        _ if plain_byte(byte) => Some(text.as_str()),
                        _ => None,
                    };
                    assert_eq!(found, expected, "{quoted:?}");
                }
            }
        }
        assert!(needs_no_escape("") && needs_no_escape("é ü ✓ 𝄞 plain, long enough: twice 8"));
        assert!(!needs_no_escape("é ü ✓ 𝄞 \"quoted\" long enough"));
    }

    #[test]
    fn strings_that_are_not_closed_or_not_opened_are_left_to_a_parser() {
        assert_eq!(plain_string(""), None);
        assert_eq!(plain_string("abc\""), None);
        assert_eq!(plain_string("\"abc"), None);
        assert_eq!(plain_string("\"abcdefghijklmnop"), None);
        assert_eq!(plain_string("\"\""), Some(("", "")));
        assert_eq!(plain_string("\"a\\\"b\""), None);
    }
}
