//! Redirect signatures: the signed return and cancel URLs the browser is sent to after the
//! Lightbox, and the check merchants run on them (client-flows §3).

use super::{sign, verify, HmacAlgorithm};

/// The marker that separates the signed part of a redirect URL from its signature.
const REDIRECT_SIGNATURE_MARKER: &str = "&requestSignature=";
/// The marker used when the signature is the first query parameter (nothing else was signed).
const REDIRECT_SIGNATURE_MARKER_FIRST: &str = "?requestSignature=";

/// Form-encodes `(name, value)` pairs for a query string.
fn encode_query(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().copied())
        .finish()
}

/// Builds the signed redirect URL Trustly sends the browser to (client-flows §3).
///
/// The layout is `base_url`, then '?' (or '&' if `base_url` already has a query, or nothing if it
/// already ends in '?' or '&'), then the `signed` params form-encoded in order, then
/// `&requestSignature=<form-encoded signature>`, then the `unsigned` params (such as
/// `instantPayoutAvail=true`). The signature is `sign(algorithm, key, s)` where `s` is the URL up
/// to but excluding `&requestSignature=`, so merchants can check it by cutting the URL there.
/// When `signed` is empty and there is no existing query, the signature becomes the first
/// parameter (`?requestSignature=`) and covers the URL before the '?'.
/// If `base_url` has a `#fragment`, the query is inserted before the '#' and the fragment is kept
/// at the very end; the fragment is therefore never signed. A fragment-only base (`#success`,
/// which the JavaScript SDK hands to the merchant's page instead of navigating) keeps the
/// parameters after it: `#success?transactionId=…`, as merchants test `indexOf('#success') === 0`.
pub fn signed_redirect_url(
    base_url: &str,
    signed: &[(&str, &str)],
    unsigned: &[(&str, &str)],
    algorithm: HmacAlgorithm,
    key: &str,
) -> String {
    let (before_fragment, fragment) = match base_url.split_once('#') {
        Some((head, tail)) if !head.is_empty() => (head, Some(tail)),
        _ => (base_url, None),
    };
    let has_query = before_fragment.contains('?');
    let mut url = before_fragment.to_owned();
    let separator = if url.ends_with('?') || url.ends_with('&') {
        ""
    } else if has_query {
        "&"
    } else {
        "?"
    };
    if !signed.is_empty() {
        url.push_str(separator);
        url.push_str(&encode_query(signed));
    }
    let signature = sign(algorithm, key, &url);
    let nothing_precedes = !has_query && signed.is_empty();
    url.push_str(if nothing_precedes {
        REDIRECT_SIGNATURE_MARKER_FIRST
    } else {
        REDIRECT_SIGNATURE_MARKER
    });
    url.extend(form_urlencoded::byte_serialize(signature.as_bytes()));
    if !unsigned.is_empty() {
        url.push('&');
        url.push_str(&encode_query(unsigned));
    }
    if let Some(fragment) = fragment {
        url.push('#');
        url.push_str(fragment);
    }
    url
}

/// Merchant-side check of a redirect URL, as merchants are told to do it.
///
/// The URL is cut at the first `&requestSignature=` (everything after is dropped, including
/// unsigned trailing params); the signature value runs to the next '&' or '#' and is URL-decoded
/// before [`verify`]. A URL whose only signed part precedes `?requestSignature=` (see
/// [`signed_redirect_url`]) is accepted the same way. A missing signature gives `false`.
pub fn verify_redirect_url(url: &str, key: &str) -> bool {
    let found = url
        .find(REDIRECT_SIGNATURE_MARKER)
        .map(|at| (at, REDIRECT_SIGNATURE_MARKER.len()))
        .or_else(|| {
            url.find(REDIRECT_SIGNATURE_MARKER_FIRST)
                .map(|at| (at, REDIRECT_SIGNATURE_MARKER_FIRST.len()))
        });
    let Some((at, marker_len)) = found else {
        return false;
    };
    let message = &url[..at];
    let rest = &url[at + marker_len..];
    let raw_value = rest.split(['&', '#']).next().unwrap_or_default();
    // Base64 never contains spaces, so a literal '+' can only mean '+'; protecting it before
    // form-decoding tolerates senders that forgot to percent-encode it.
    let protected = raw_value.replace('+', "%2B");
    let decoded: String = form_urlencoded::parse(format!("v={protected}").as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    verify(key, message, &decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "123456";

    // The validate-the-redirect-signature page's example (client-flows §3 self-computed vector).
    // Its base is `/Trustly/return`, not the `/trustly.com/return` of the redirect-URLs page; only
    // this URL gives `xYZ1FJjJ7i+ASZDu3OOJYpYGWoU=` with key 123456.
    const RETURN_BASE: &str = "https://merchant.com/Trustly/return";
    const RETURN_SIGNED: &[(&str, &str)] = &[
        ("transactionId", "1002655801"),
        ("transactionType", "1"),
        ("merchantReference", "123123"),
        ("status", "2"),
        ("payment.paymentType", "4"),
        ("payment.paymentProvider.type", "1"),
        ("payment.account.verified", "false"),
        ("panel", "1"),
    ];

    #[test]
    fn redirect_vector() {
        let url = signed_redirect_url(
            RETURN_BASE,
            RETURN_SIGNED,
            &[("instantPayoutAvail", "true")],
            HmacAlgorithm::Sha1,
            KEY,
        );
        assert_eq!(
            url,
            "https://merchant.com/Trustly/return?transactionId=1002655801&transactionType=1&merchantReference=123123&status=2&payment.paymentType=4&payment.paymentProvider.type=1&payment.account.verified=false&panel=1&requestSignature=xYZ1FJjJ7i%2BASZDu3OOJYpYGWoU%3D&instantPayoutAvail=true"
        );
        assert!(verify_redirect_url(&url, KEY));
        assert!(!verify_redirect_url(&url, "654321"));
        let tampered = url.replace("status=2", "status=7");
        assert!(!verify_redirect_url(&tampered, KEY));
        let no_signature = url.replace("requestSignature", "signature");
        assert!(!verify_redirect_url(&no_signature, KEY));
        // The legacy (API < 1.18.0) form signs only the query string.
        let query = encode_query(RETURN_SIGNED);
        assert_eq!(
            sign(HmacAlgorithm::Sha1, KEY, &query),
            "KfDJSXzXj3ImZ1JBndlYKY6juU0="
        );
    }

    #[test]
    fn redirect_existing_query_fragment_and_sha512() {
        let url = signed_redirect_url(
            "https://m.example/r?session=abc#done",
            &[("status", "2")],
            &[],
            HmacAlgorithm::Sha512,
            KEY,
        );
        assert!(url.starts_with(
            "https://m.example/r?session=abc&status=2&requestSignature=HmacSHA512%3A"
        ));
        assert!(url.ends_with("#done"));
        assert!(verify_redirect_url(&url, KEY));
    }

    #[test]
    fn redirect_with_nothing_signed() {
        let url = signed_redirect_url("https://m.example/r", &[], &[], HmacAlgorithm::Sha1, KEY);
        assert!(url.starts_with("https://m.example/r?requestSignature="));
        assert!(verify_redirect_url(&url, KEY));
    }

    #[test]
    fn a_fragment_is_kept_last_unless_it_is_the_whole_base() {
        let signed = [("transactionId", "1"), ("status", "2")];
        let url = signed_redirect_url(
            "https://m.example/r#top",
            &signed,
            &[],
            HmacAlgorithm::Sha1,
            KEY,
        );
        assert!(url.starts_with("https://m.example/r?transactionId=1&status=2&requestSignature="));
        assert!(url.ends_with("#top"));
        assert!(verify_redirect_url(&url, KEY));
        let url = signed_redirect_url("#success", &signed, &[], HmacAlgorithm::Sha1, KEY);
        assert!(
            url.starts_with("#success?transactionId=1&status=2&requestSignature="),
            "{url}"
        );
        assert!(verify_redirect_url(&url, KEY));
    }
}
