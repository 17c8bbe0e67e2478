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

/// Return and cancel URLs that lead back into an app rather than to a website (client-flows
/// §8): the WebView SDKs' `msg://return` and `msg://cancel`, which the SDK intercepts; a URL in
/// the app's own `metadata.urlScheme`; and a path on the page that opened the Lightbox, which
/// the JavaScript SDK resolves and an in-app host only reads from its message.
pub fn is_app_return_url(url: &str, url_scheme: Option<&str>) -> bool {
    if url.starts_with("msg://return") || url.starts_with("msg://cancel") {
        return true;
    }
    if url.starts_with('/') && !url.starts_with("//") && !url.contains('\\') {
        return true;
    }
    let scheme_of = |url: &str| {
        url.split_once(':')
            .map(|(scheme, _)| scheme.to_ascii_lowercase())
    };
    let (Some(scheme), Some(app_scheme)) = (scheme_of(url), url_scheme.and_then(scheme_of)) else {
        return false;
    };
    let browser_schemes = [
        "http",
        "https",
        "javascript",
        "data",
        "file",
        "about",
        "blob",
        "vbscript",
        "ftp",
        "ws",
        "wss",
    ];
    origin_of(url).is_some() && scheme == app_scheme && !browser_schemes.contains(&scheme.as_str())
}

/// The merchant's allowed web origins: the only pages that may frame its Lightbox and widget.
pub fn frame_ancestors(merchant: &Merchant) -> Vec<String> {
    merchant
        .allowed_origins
        .iter()
        .filter_map(|allowed| csp_source(allowed.trim_end_matches('/')))
        .filter(|source| is_http_url(source))
        .collect()
}

/// The Content-Security-Policy source that lets a page's forms lead to `url`: its origin, or
/// its scheme for an app URL. None for relative URLs (they stay on paybank) and anything that
/// could not be written safely into the header.
pub fn csp_source(url: &str) -> Option<String> {
    let origin = origin_of(url)?;
    let (scheme, authority) = origin.split_once("://")?;
    let safe = authority
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    match (scheme, safe) {
        ("http" | "https", true) if !authority.is_empty() => Some(origin),
        ("http" | "https", _) => None,
        _ => Some(format!("{scheme}:")),
    }
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
            payouts_from_settled_only: false,
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

    #[test]
    fn app_return_urls_lead_only_into_the_app() {
        assert!(is_app_return_url("msg://return", None));
        assert!(is_app_return_url("msg://cancel?x=1", None));
        assert!(is_app_return_url("/returnUrl", None));
        assert!(is_app_return_url("myapp://done?x=1", Some("myapp://")));
        assert!(is_app_return_url("MyApp://done", Some("myapp://")));
        assert!(!is_app_return_url("//evil.test/", None));
        assert!(!is_app_return_url("/\\evil.test", None));
        assert!(!is_app_return_url("otherapp://done", Some("myapp://")));
        assert!(!is_app_return_url("myapp://done", None));
        assert!(!is_app_return_url("https://evil.test/", Some("https://")));
        assert!(!is_app_return_url("javascript://x", Some("javascript:")));
        assert!(!is_app_return_url("msg://push", None));
    }

    #[test]
    fn csp_sources_are_origins_or_schemes_and_never_break_the_header() {
        assert_eq!(
            csp_source("https://shop.test/return?x=1").as_deref(),
            Some("https://shop.test")
        );
        assert_eq!(
            csp_source("http://localhost:3000").as_deref(),
            Some("http://localhost:3000")
        );
        assert_eq!(csp_source("msg://return").as_deref(), Some("msg:"));
        assert_eq!(csp_source("myapp://done").as_deref(), Some("myapp:"));
        assert_eq!(csp_source("https://a;script-src *"), None);
        assert_eq!(csp_source("https://a'b"), None);
        assert_eq!(csp_source("/relative"), None);
        assert_eq!(csp_source("#success"), None);
        assert_eq!(
            frame_ancestors(&merchant()),
            vec!["https://shop.test", "http://localhost:3000"]
        );
    }
}
