//! The webhook's two forms of the same pairs: the form-encoded body that is sent, and the
//! message its signature covers (the pairs joined raw), made from the pairs or from the body.

/// The message a webhook signature covers: the decoded body, i.e. `k=v` pairs joined by '&' in
/// the given order, values raw.
pub fn webhook_message<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    join_pairs(pairs, append_raw)
}

/// The message a webhook's body is signed with, made from the body itself: [`webhook_message`]
/// of the pairs [`form_encode`] wrote it from. Form encoding escapes every `&` and `=` inside a
/// key or value, so decoding the body whole (`+` to a space, `%XX` to its byte) gives the pairs
/// joined as the message joins them, without splitting them apart first. A `%` not followed by
/// two hex digits stays as it is, as `form_urlencoded` leaves it.
pub fn webhook_message_of_body(body: &str) -> String {
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        let escaped = match byte {
            b'%' => hex_pair(bytes.get(at + 1..at + 3)),
            _ => None,
        };
        match (byte, escaped) {
            (_, Some(decoded)) => {
                out.push(decoded);
                at += 3;
                continue;
            }
            (b'+', None) => out.push(b' '),
            (other, None) => out.push(other),
        }
        at += 1;
    }
    match String::from_utf8(out) {
        Ok(message) => message,
        Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
    }
}

/// The byte two hex digits spell.
fn hex_pair(digits: Option<&[u8]>) -> Option<u8> {
    let digits = digits?;
    let high = char::from(digits[0]).to_digit(16)?;
    let low = char::from(digits[1]).to_digit(16)?;
    u8::try_from(high * 16 + low).ok()
}

/// Form-urlencodes pairs in order (space becomes '+', '+' becomes `%2B`). This is the exact body
/// sent with a webhook: the bytes `form_urlencoded`'s serializer writes.
///
/// Every event's body is encoded as its change is committed, about 400 bytes with one or two to
/// escape. `form_urlencoded` hands each run of plain bytes and each escape over as a piece of its
/// own, appended with a length check and a copy each: 22 instructions a byte, and 6 % of a durable
/// capture's. Here a table says which bytes are plain and the runs between escapes are copied.
pub fn form_encode<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    join_pairs(pairs, form_escape)
}

/// `key=value` for each pair, joined by '&', each key and value appended by `append`: as they
/// are (signed messages) or form-urlencoded (bodies).
pub(super) fn join_pairs<K: AsRef<str>, V: AsRef<str>>(
    pairs: &[(K, V)],
    append: fn(&mut Vec<u8>, &[u8]),
) -> String {
    // Room for every byte as it is and the separators, and a few escapes.
    let unescaped: usize = (pairs.iter())
        .map(|(k, v)| k.as_ref().len() + v.as_ref().len() + 2)
        .sum();
    let mut out = Vec::with_capacity(unescaped + 16);
    for (index, (key, value)) in pairs.iter().enumerate() {
        if index > 0 {
            out.push(b'&');
        }
        append(&mut out, key.as_ref().as_bytes());
        out.push(b'=');
        append(&mut out, value.as_ref().as_bytes());
    }
    String::from_utf8(out).expect("texts joined by ASCII, or escaped to ASCII, are text")
}

pub(super) fn append_raw(out: &mut Vec<u8>, text: &[u8]) {
    out.extend_from_slice(text);
}

/// Appends `text` form-urlencoded: the bytes `FORM_PLAIN` marks as they are, a space as `+`,
/// every other byte as `%XX`.
fn form_escape(out: &mut Vec<u8>, text: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut rest = text;
    loop {
        let plain = rest
            .iter()
            .position(|&byte| !FORM_PLAIN[usize::from(byte)])
            .unwrap_or(rest.len());
        out.extend_from_slice(&rest[..plain]);
        let Some((&byte, after)) = rest[plain..].split_first() else {
            return;
        };
        match byte {
            b' ' => out.push(b'+'),
            _ => out.extend_from_slice(&[
                b'%',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xF)],
            ]),
        }
        rest = after;
    }
}

/// The bytes form encoding leaves as they are: ASCII letters and digits, `*`, `-`, `.`, `_`.
static FORM_PLAIN: [bool; 256] = {
    let mut plain = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        plain[byte] = b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_');
        byte += 1;
    }
    plain
};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn form_encode_plus_and_space() {
        let pairs = vec![("splitToken".to_owned(), "a+b c/=".to_owned())];
        assert_eq!(form_encode(&pairs), "splitToken=a%2Bb+c%2F%3D");
    }

    /// The body is the one `form_urlencoded`'s serializer writes, byte for byte: every byte
    /// value alone and in runs, multi-byte characters, empty keys and values, no pairs.
    #[test]
    fn form_encode_writes_what_form_urlencoded_writes() {
        let reference = |pairs: &[(String, String)]| {
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .finish()
        };
        let every_char: String = (0u32..0x250).filter_map(char::from_u32).collect();
        let mut cases: Vec<Vec<(String, String)>> = (0u32..0x250)
            .filter_map(char::from_u32)
            .map(|c| vec![(format!("k{c}"), format!("{c}v{c}{c}"))])
            .collect();
        cases.push(vec![]);
        cases.push(vec![(String::new(), String::new())]);
        cases.push(vec![
            ("timeZone".to_owned(), "Etc/UTC".to_owned()),
            (every_char.clone(), every_char),
            ("a b".to_owned(), "€ 1,00 & ümlaut=✓".to_owned()),
        ]);
        for pairs in cases {
            assert_eq!(form_encode(&pairs), reference(&pairs), "{pairs:?}");
        }
    }

    #[test]
    fn a_body_decoded_whole_is_its_pairs_message() {
        let pairs = [
            ("amount", "10.00"),
            ("note", "a&b=c + 100% ü"),
            ("empty", ""),
            ("k&=+", "%41"),
        ];
        let body = form_encode(&pairs);
        assert_eq!(webhook_message_of_body(&body), webhook_message(&pairs));
        // What form_urlencoded leaves alone, so does the whole-body decoding.
        assert_eq!(webhook_message_of_body("a=%4&b=%zz%"), "a=%4&b=%zz%");
        assert_eq!(webhook_message_of_body("a=%41%2b+"), "a=A+ ");
    }

    proptest! {
        #[test]
        fn any_pairs_body_decodes_to_their_message(
            pairs in proptest::collection::vec((".{0,12}", ".{0,24}"), 0..12),
        ) {
            let body = form_encode(&pairs);
            prop_assert_eq!(webhook_message_of_body(&body), webhook_message(&pairs));
        }
    }
}
