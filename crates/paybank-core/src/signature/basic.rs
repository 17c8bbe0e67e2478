//! HTTP `Basic` credentials: the webhook `Authorization` header paybank sends, and the parsing
//! of the headers merchants send to the API (and the demo shop's receiver reads back).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// Builds the webhook header value `Basic base64(accessId:signature)`.
pub fn webhook_authorization_header(access_id: &str, signature: &str) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{access_id}:{signature}"))
    )
}

/// The two parts of a `Basic` authorization header, decoded once into one text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasicCredentials {
    text: String,
    colon: usize,
}

impl BasicCredentials {
    /// The merchant's access id: the text before the first ':'.
    pub fn access_id(&self) -> &str {
        &self.text[..self.colon]
    }

    /// The access key or the signature: the text after the first ':'.
    pub fn secret(&self) -> &str {
        &self.text[self.colon + 1..]
    }
}

/// Parses a `Basic` authorization header back into its access id and its key or signature.
///
/// The scheme name is matched case-insensitively as RFC 7617 requires. The credentials are split
/// at the first ':' because an access id cannot contain one while a prefixed signature
/// (`HmacSHA512:...`) does. Returns `None` if the header is malformed.
pub fn parse_basic_authorization(header: &str) -> Option<BasicCredentials> {
    let (scheme, credentials) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("Basic") {
        return None;
    }
    let decoded = STANDARD.decode(credentials.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let colon = text.find(':')?;
    Some(BasicCredentials { text, colon })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header's access id and secret, as texts of their own.
    fn parts(header: &str) -> Option<(String, String)> {
        let credentials = parse_basic_authorization(header)?;
        Some((
            credentials.access_id().to_owned(),
            credentials.secret().to_owned(),
        ))
    }

    #[test]
    fn parse_basic_authorization_rejects_malformed() {
        assert_eq!(parse_basic_authorization(""), None);
        assert_eq!(parse_basic_authorization("Basic"), None);
        assert_eq!(parse_basic_authorization("Bearer YTpi"), None);
        assert_eq!(parse_basic_authorization("Basic !!!"), None);
        // "YWJj" is base64 of "abc", which has no colon.
        assert_eq!(parse_basic_authorization("Basic YWJj"), None);
        let prefixed = webhook_authorization_header("id", "HmacSHA512:abc=");
        assert_eq!(
            parts(&prefixed),
            Some(("id".to_owned(), "HmacSHA512:abc=".to_owned()))
        );
    }
}
