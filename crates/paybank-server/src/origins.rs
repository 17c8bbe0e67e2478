//! Allowed origins: return, cancel and notification URLs must point at a merchant's own sites,
//! so paybank can never be used as an open redirect or to post events to third parties.

use paybank_core::model::Merchant;

/// `scheme://host[:port]` of an absolute URL, lower-cased, with the default port dropped.
/// None for anything that is not an absolute http(s) or app-scheme URL.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') || authority.contains(char::is_whitespace) {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    let authority = authority.to_ascii_lowercase();
    let authority = match (scheme.as_str(), authority.rsplit_once(':')) {
        ("http", Some((host, "80"))) | ("https", Some((host, "443"))) => host.to_owned(),
        _ => authority,
    };
    if (scheme == "http" || scheme == "https") && authority.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{authority}"))
}

/// Whether the merchant may send browsers (or events) to `url`. Fragment-only URLs
/// (`#success`, used with the JavaScript SDK) never leave the merchant's page, so they pass.
pub fn is_allowed(merchant: &Merchant, url: &str) -> bool {
    if url.starts_with('#') {
        return true;
    }
    let Some(origin) = origin_of(url) else {
        return false;
    };
    let notification_origin = merchant.notification_url.as_deref().and_then(origin_of);
    merchant
        .allowed_origins
        .iter()
        .filter_map(|allowed| origin_of(allowed.trim_end_matches('/')))
        .chain(notification_origin)
        .any(|allowed| allowed == origin)
}

/// Whether `url` can receive event notifications at all.
pub fn is_http_url(url: &str) -> bool {
    origin_of(url)
        .is_some_and(|origin| origin.starts_with("http://") || origin.starts_with("https://"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use paybank_core::ids::MerchantId;

    fn merchant() -> Merchant {
        Merchant {
            merchant_id: MerchantId(1),
            name: "Shop".into(),
            access_id: "a".into(),
            access_key: "k".into(),
            notification_url: Some("https://hooks.shop.test/trustly".into()),
            allowed_origins: vec!["https://shop.test".into(), "http://localhost:3000/".into()],
            split_token_enabled: true,
            created_at: 0,
        }
    }

    #[test]
    fn only_the_merchants_origins_pass() {
        let merchant = merchant();
        assert!(is_allowed(&merchant, "https://shop.test/return?x=1"));
        assert!(is_allowed(&merchant, "https://SHOP.test:443/return"));
        assert!(is_allowed(&merchant, "http://localhost:3000/cancel"));
        assert!(is_allowed(&merchant, "https://hooks.shop.test/other"));
        assert!(is_allowed(&merchant, "#success"));
        assert!(!is_allowed(&merchant, "https://evil.test/return"));
        assert!(!is_allowed(&merchant, "https://shop.test.evil.test/"));
        assert!(!is_allowed(&merchant, "https://shop.test@evil.test/"));
        assert!(!is_allowed(&merchant, "//evil.test/"));
        assert!(!is_allowed(&merchant, "/relative"));
        assert!(!is_allowed(&merchant, "javascript:alert(1)"));
    }
}
