//! The hosted Lightbox pages driven as a browser without JavaScript would: cancel from each
//! step, CSRF, session expiry, the SDK's form POST, and the pages' security headers.

use paybank_core::signature::verify_redirect_url;

use crate::client::{flatten, query_param, sign_establish, text};
use crate::helpers::TestApp;
use crate::pages::{unescape, Page};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canceling_from_each_step_redirects_to_the_cancel_url_with_its_uc_code() {
    // Bank selection UC01, login UC02, account selection and confirmation UC08.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let steps = [
        ("select_bank", "UC01"),
        ("login", "UC02"),
        ("select_account", "UC08"),
        ("confirm", "UC08"),
    ];
    for (step, code) in steps {
        let established = app
            .establish(merchant, &format!("cancel-{step}"), "50.00")
            .await;
        let id = text(&established["transaction"]["transactionId"]);
        let page = app.lightbox_until(&text(&established["url"]), step).await;
        let location = app.submit(&page, "cancel", &[]).await.see_other();
        assert!(location.starts_with(&format!("{}/cancel?", app.receiver.url)));
        let param = |key| query_param(&location, key);
        assert_eq!(param("transactionId"), Some(id.clone()));
        assert_eq!(param("status").as_deref(), Some("7"), "{step}");
        let provider_status = param("payment.paymentProviderTransaction.status");
        assert_eq!(provider_status.as_deref(), Some(code), "{step}");
        assert!(
            verify_redirect_url(&location, &merchant.access_key),
            "{location}"
        );
        let transaction = app.transaction(merchant, &id).await;
        assert_eq!(transaction["status"], 7);
        assert_eq!(transaction["paymentProviderTransaction"]["status"], code);
        app.deliver().await;
        let cancel = app.receiver.only(&id, "Cancel");
        assert_eq!(cancel.param("status"), Some("7"));
        assert!(cancel.signature_valid);
        let after = app.open_page(&text(&established["url"])).await;
        assert_eq!(after.step(), "canceled");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_with_a_wrong_csrf_token_is_refused_with_403_and_changes_nothing() {
    // Forms only work with the session's token; a forged post moves nothing.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let established = app.establish(merchant, "csrf", "50.00").await;
    let url = text(&established["url"]);
    let page = app.lightbox_until(&url, "select_bank").await;
    let before = app.snapshot(merchant).await;
    let bank_id = page.bank_id("Demo Bank");
    let action = page.form_action("bank");
    for token in ["wrong-token", ""] {
        let forged = [("csrf_token", token), ("bank_id", bank_id.as_str())];
        let posted = app.post_page(&action, &forged).await;
        assert_eq!(posted.status, 403);
        assert!(posted.location.is_none());
    }
    let cancel = app.post_page(&page.form_action("cancel"), &[]).await;
    assert_eq!(cancel.status, 403);
    assert_eq!(app.snapshot(merchant).await, before);
    assert_eq!(app.open_page(&url).await.step(), "select_bank");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_expires_the_transaction_and_the_page_says_so() {
    // Past session_ttl_s the authorization is Expired with one Expire event; the page says so.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let established = app.establish(merchant, "expire", "50.00").await;
    let id = text(&established["transaction"]["transactionId"]);
    let url = text(&established["url"]);
    let login = app.lightbox_until(&url, "login").await;
    let ttl = i64::try_from(app.state.config.lightbox.session_ttl_s).expect("ttl");
    app.advance(merchant, ttl + 1).await;
    assert_eq!(app.transaction(merchant, &id).await["status"], 6);
    let page = app.open_page(&url).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.step(), "expired");
    assert!(page.html.contains("Session expired"), "{}", page.html);
    assert_csp(&page);
    let html = unescape(&page.html);
    let link = format!("{}/cancel?", app.receiver.url);
    let at = html.find(&link).expect("a link back to the merchant");
    let href = &html[at..at + html[at..].find('"').expect("end of the link")];
    assert_eq!(query_param(href, "status").as_deref(), Some("6"));
    let late = [("username", "jane"), ("password", "secret")];
    let posted = app.submit(&login, "login", &late).await;
    assert_eq!(posted.status, 303);
    assert_eq!(app.transaction(merchant, &id).await["status"], 6);
    let types = app.event_types_of(merchant, &id).await;
    assert_eq!(
        types.iter().filter(|t| *t == "Expire").count(),
        1,
        "{types:?}"
    );
    assert_eq!(app.receiver.only(&id, "Expire").param("status"), Some("6"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_form_post_of_establish_data_redirects_into_the_lightbox() {
    // The mobile SDKs POST dotted establish data and read the Location into the Lightbox.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let data = app.establish_data(merchant, "sdk-1", "25.00");
    let path = "/start/selectBank/index?v=4.1.0-android-sdk";
    let posted = app.post_page(path, &pairs(&flatten(&data))).await;
    assert!([302, 303].contains(&posted.status), "{}", posted.html);
    let location = posted.location.expect("a Location");
    assert!(
        location.starts_with(&format!("{}/lightbox/", app.url)),
        "{location}"
    );
    let page = app.open_page(&location).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.step(), "select_bank");
    let listed = app
        .list_transactions(merchant, "merchantReference=sdk-1")
        .await;
    let listed = listed.ok().json["transactions"].clone();
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(listed[0]["status"], 0);
    assert_eq!(listed[0]["payment"]["amount"], "25.00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_form_post_with_a_bad_signature_shows_a_401_page_and_creates_nothing() {
    // The SDKs read a 4xx in the <title> as failure; nothing is created.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let before = app.snapshot(merchant).await;
    let mut data = app.establish_data(merchant, "sdk-bad", "25.00");
    sign_establish(&mut data, "someone-elses-key");
    let posted = app
        .post_page("/start/selectBank/index", &pairs(&flatten(&data)))
        .await;
    assert_eq!(posted.status, 401);
    assert!(posted.location.is_none());
    let page = Page {
        status: posted.status,
        headers: Default::default(),
        html: posted.html,
    };
    assert!(page.title().contains("401"), "{}", page.title());
    let mut unknown = app.establish_data(merchant, "sdk-bad", "25.00");
    unknown["accessId"] = serde_json::json!("nobody");
    let posted = app
        .post_page("/start/selectBank/selectBank", &pairs(&flatten(&unknown)))
        .await;
    assert_eq!(posted.status, 401);
    assert_eq!(app.snapshot(merchant).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_lightbox_page_sends_a_content_security_policy_with_frame_ancestors() {
    // Each step page (MFA included) and the final page limit framing to the merchant.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let established = app.establish(merchant, "csp", "50.00").await;
    let url = text(&established["url"]);
    let select_bank = app.open_page(&url).await;
    assert_csp(&select_bank);
    let bank_id = select_bank.bank_id("Demo Bank");
    let login = app
        .step(&select_bank, "bank", &[("bank_id", &bank_id)])
        .await;
    assert_eq!(login.step(), "login");
    assert_csp(&login);
    let mfa = app
        .step(
            &login,
            "login",
            &[("username", "jane"), ("password", "2FA")],
        )
        .await;
    assert_eq!(mfa.step(), "mfa");
    assert_csp(&mfa);
    let accounts = app.step(&mfa, "mfa", &[("answer", "123456")]).await;
    assert_eq!(accounts.step(), "select_account");
    assert_csp(&accounts);
    let index = accounts.first_account_index();
    let confirm = app
        .step(&accounts, "account", &[("account_index", &index)])
        .await;
    assert_eq!(confirm.step(), "confirm");
    assert_csp(&confirm);
    let redirect = app.submit(&confirm, "confirm", &[]).await.see_other();
    assert!(verify_redirect_url(&redirect, &merchant.access_key));
    let finished = app.open_page(&url).await;
    assert_eq!(finished.step(), "finished");
    assert_csp(&finished);
}

/// A CSP that limits framing to the merchant's allowed origins (the app and its receiver in
/// these tests), form targets to paybank and the return origins, and no caching.
fn assert_csp(page: &Page) {
    assert_eq!(page.status, 200, "{}", page.html);
    let policy = page.header("content-security-policy");
    let frame_ancestors = policy
        .split(';')
        .map(str::trim)
        .find(|directive| directive.starts_with("frame-ancestors"))
        .unwrap_or_else(|| panic!("no frame-ancestors in {policy}"));
    assert!(!frame_ancestors.contains("'self'"), "{policy}");
    assert!(!frame_ancestors.contains('*'), "{policy}");
    assert!(frame_ancestors.contains("http://127.0.0.1:"), "{policy}");
    assert!(
        policy.contains("form-action 'self' http://127.0.0.1:"),
        "{policy}"
    );
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert_eq!(page.header("cache-control"), "no-store");
}

fn pairs(owned: &[(String, String)]) -> Vec<(&str, &str)> {
    owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}
