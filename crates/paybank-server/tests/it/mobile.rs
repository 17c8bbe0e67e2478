//! What the mobile SDKs and in-app integrations call (client-flows §8), over plain HTTP: the
//! settings endpoint, the Android/iOS form POSTs with `msg://` return URLs, the widget page,
//! app URL schemes, integration contexts, establish from a token, the bank OAuth window, the
//! SDK scripts, and the Lightbox staying on its last page for hosts that read messages.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use paybank_core::signature::verify_redirect_url;
use serde_json::{json, Value};

use crate::client::{flatten, sign_establish, text, Body};
use crate::helpers::TestApp;
use crate::pages::{unescape, Page};

fn pairs(owned: &[(String, String)]) -> Vec<(&str, &str)> {
    owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// Establish data as the Android SDK sends it in the WebView strategy.
fn android_data(app: &TestApp, reference: &str) -> Value {
    let mut data = app.establish_data(&app.merchant, reference, "15.00");
    data["returnUrl"] = json!("msg://return");
    data["cancelUrl"] = json!("msg://cancel");
    data["metadata"]["integrationContext"] = json!("InAppBrowser");
    data["deviceType"] = json!("mobile:android:native");
    sign_establish(&mut data, &app.merchant.access_key);
    data
}

/// POSTs establish data as a form, as the SDKs do; returns the 302 target.
async fn start(app: &TestApp, path: &str, data: &Value) -> String {
    let posted = app.post_page(path, &pairs(&flatten(data))).await;
    assert_eq!(posted.status, 302, "{}", posted.html);
    posted.location.expect("a Location header")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_tells_the_sdks_where_to_open_the_lightbox() {
    let app = TestApp::spawn().await;
    let token = STANDARD.encode(br#"{"merchantId":"1","grp":"42"}"#);
    let reply = app
        .http
        .get(format!("{}/frontend/mobile/setup?token={token}", app.url))
        .send()
        .await
        .expect("GET");
    assert_eq!(reply.status(), 200);
    let body: Value = serde_json::from_str(&reply.text().await.expect("body")).expect("JSON");
    assert_eq!(
        body,
        json!({ "settings": { "integrationStrategy": "webview" } })
    );
    for query in ["", "?token=", "?token=%%%", "?token=bm90IGpzb24"] {
        let reply = app
            .http
            .get(format!("{}/frontend/mobile/setup{query}", app.url))
            .send()
            .await
            .expect("GET");
        assert_eq!(reply.status(), 400, "{query}");
        let body: Value =
            serde_json::from_str(&reply.text().await.expect("body")).expect("JSON error envelope");
        assert_eq!(body["errors"][0]["code"], 200, "{body}");
        assert_eq!(body["errors"][0]["location"], "token", "{body}");
    }
    let in_app = TestApp::spawn_with(|config| {
        config.lightbox.mobile_integration_strategy =
            paybank_server::config::MobileIntegrationStrategy::InAppBrowser;
    })
    .await;
    let reply = in_app
        .http
        .get(format!(
            "{}/frontend/mobile/setup?token={token}",
            in_app.url
        ))
        .send()
        .await
        .expect("GET");
    let body: Value = serde_json::from_str(&reply.text().await.expect("body")).expect("JSON");
    assert_eq!(body["settings"]["integrationStrategy"], "in-app-browser");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webview_lightbox_ends_on_msg_return_with_a_signed_query() {
    let app = TestApp::spawn().await;
    let location = start(
        &app,
        "/start/selectBank/index?v=4.1.0-android-sdk",
        &android_data(&app, "webview-1"),
    )
    .await;
    assert!(
        location.starts_with(&format!("{}/lightbox/", app.url)),
        "{location}"
    );
    let returned = app.complete_lightbox(&location).await;
    assert!(
        returned.starts_with("msg://return?transactionId="),
        "{returned}"
    );
    assert!(
        verify_redirect_url(&returned, &app.merchant.access_key),
        "{returned}"
    );
    let canceled_at = start(
        &app,
        "/start/selectBank/index",
        &android_data(&app, "webview-2"),
    )
    .await;
    let page = app.open_page(&canceled_at).await;
    let canceled = app.submit(&page, "cancel", &[]).await.see_other();
    assert!(
        canceled.starts_with("msg://cancel?transactionId="),
        "{canceled}"
    );
    assert!(canceled.contains("status=7"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_chosen_in_the_widget_opens_the_lightbox_on_its_login() {
    let app = TestApp::spawn().await;
    let mut data = android_data(&app, "widget-chosen");
    data["paymentProviderId"] = json!("200005501");
    let location = start(&app, "/start/selectBank/selectBank?v=4.0.0-ios-sdk", &data).await;
    let page = app.open_page(&location).await;
    assert_eq!(page.step(), "login");
    assert!(page.html.contains("Log in to Demo Bank"));
    let id = text(
        &app.list_transactions(&app.merchant, "merchantReference=widget-chosen")
            .await
            .ok()
            .json["transactions"][0]["transactionId"],
    );
    assert_eq!(
        app.transaction(&app.merchant, &id).await["status"],
        1,
        "Pending once a bank is chosen"
    );
    // An id paybank does not know leaves the consumer on bank selection.
    let mut data = android_data(&app, "widget-unknown");
    data["paymentProviderId"] = json!("999");
    let location = start(&app, "/start/selectBank/selectBank", &data).await;
    assert_eq!(app.open_page(&location).await.step(), "select_bank");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_lists_banks_as_msg_push_links_and_only_the_merchant_may_frame_it() {
    let app = TestApp::spawn().await;
    let access_id = &app.merchant.access_id;
    for path in ["widget", "selectBankWidget"] {
        let url = format!("/start/selectBank/{path}?v=4.1.0-android-sdk&accessId={access_id}&paymentType=Deferred#e30=");
        let page = app.open_page(&url).await;
        assert_eq!(page.status, 200, "{}", page.html);
        assert!(
            unescape(&page.html).contains("msg://push?PayWithMyBank.createTransaction|200005501")
        );
        let policy = page.header("content-security-policy");
        assert!(
            policy.contains(&format!("frame-ancestors {}", app.url)),
            "{policy}"
        );
    }
    let searched = app
        .open_page(&format!(
            "/start/selectBank/widget?accessId={access_id}&q=summit"
        ))
        .await;
    assert!(
        searched.html.contains("<li hidden><a class=\"bank\""),
        "non-matching banks are hidden"
    );
    let unknown = app
        .open_page("/start/selectBank/widget?accessId=nobody")
        .await;
    assert_eq!(unknown.status, 401);
    assert!(unknown.title().contains("401"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn return_urls_may_lead_into_the_app_only_through_its_own_scheme() {
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let establish = |return_url: &str, scheme: Option<&str>, reference: &str| {
        let mut data = app.establish_data(merchant, reference, "5.00");
        data["returnUrl"] = json!(return_url);
        if let Some(scheme) = scheme {
            data["metadata"]["urlScheme"] = json!(scheme);
        }
        sign_establish(&mut data, &merchant.access_key);
        data
    };
    let accepted = [
        ("myapp://done", Some("myapp://")),
        ("msg://return", None),
        ("/returnUrl", None),
    ];
    for (index, (url, scheme)) in accepted.into_iter().enumerate() {
        let data = establish(url, scheme, &format!("scheme-ok-{index}"));
        app.post_establish(merchant, Body::Json(data)).await.ok();
    }
    let before = app.snapshot(merchant).await;
    let refused = [
        ("myapp://done", None),
        ("otherapp://done", Some("myapp://")),
        ("javascript://x", Some("javascript:")),
        ("https://evil.example/return", Some("https://")),
        ("//evil.example/return", None),
    ];
    for (index, (url, scheme)) in refused.into_iter().enumerate() {
        let data = establish(url, scheme, &format!("scheme-bad-{index}"));
        let reply = app.post_establish(merchant, Body::Json(data)).await;
        reply.assert_error(400, 200, Some("returnUrl"));
    }
    assert_eq!(app.snapshot(merchant).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integration_contexts_are_checked() {
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    for (index, context) in [
        "InAppBrowser",
        "InAppBrowserNotify",
        "ExternalBrowser",
        "SecureBrowser",
    ]
    .into_iter()
    .enumerate()
    {
        let mut data = app.establish_data(merchant, &format!("context-{index}"), "5.00");
        data["metadata"]["integrationContext"] = json!(context);
        sign_establish(&mut data, &merchant.access_key);
        app.post_establish(merchant, Body::Json(data)).await.ok();
    }
    let before = app.snapshot(merchant).await;
    let mut data = app.establish_data(merchant, "context-bad", "5.00");
    data["metadata"]["integrationContext"] = json!("Fridge");
    sign_establish(&mut data, &merchant.access_key);
    let reply = app.post_establish(merchant, Body::Json(data)).await;
    reply.assert_error(400, 200, Some("metadata.integrationContext"));
    assert_eq!(app.snapshot(merchant).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mobile_web_establishes_from_a_url_safe_token() {
    let app = TestApp::spawn().await;
    let data = app.establish_data(&app.merchant, "token-1", "9.99");
    let token = URL_SAFE_NO_PAD.encode(data.to_string());
    let reply = app
        .http
        .get(format!(
            "{}/frontend/mobile/establish?token={token}",
            app.url
        ))
        .send()
        .await
        .expect("GET");
    assert_eq!(reply.status(), 302);
    let location = reply.headers()["location"]
        .to_str()
        .expect("text")
        .to_owned();
    assert_eq!(app.open_page(&location).await.step(), "select_bank");
    let bad = app.open_page("/frontend/mobile/establish?token=e30").await;
    assert_eq!(bad.status, 401, "{}", bad.html);
    let garbage = app.open_page("/frontend/mobile/establish?token=!!!").await;
    assert_eq!(garbage.status, 400);
    assert!(garbage.title().contains("400"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_demo_bank_logs_in_in_its_own_window_and_sends_an_app_back_by_its_scheme() {
    let app = TestApp::spawn().await;
    let mut data = android_data(&app, "oauth-1");
    data["metadata"]["urlScheme"] = json!("myapp://");
    data["paymentProviderId"] = json!("200005502");
    sign_establish(&mut data, &app.merchant.access_key);
    let location = start(&app, "/start/selectBank/selectBank", &data).await;
    let lightbox = app.open_page(&location).await;
    assert_eq!(lightbox.step(), "oauth");
    assert!(lightbox.html.contains("data-oauth-opening=\"popup\""));
    let session = location.rsplit('/').next().expect("session id").to_owned();
    let window = app.open_page(&format!("/oauth/login/{session}")).await;
    assert_eq!(window.status, 200);
    assert!(window
        .header("content-security-policy")
        .contains("frame-ancestors 'none'"));
    let forged = app
        .post_page(
            &format!("/oauth/login/{session}"),
            &[("username", "u"), ("password", "secret123")],
        )
        .await;
    assert_eq!(forged.status, 403);
    let token = window.csrf_token();
    let login = [
        ("csrf_token", token.as_str()),
        ("username", "oauth_app"),
        ("password", "secret123"),
    ];
    let posted = app
        .post_page(&format!("/oauth/login/{session}"), &login)
        .await;
    assert_eq!(posted.see_other(), format!("/oauth/login/{session}"));
    let done = app.open_page(&format!("/oauth/login/{session}")).await;
    assert!(
        done.html
            .contains("data-after-oauth-url=\"myapp:&#x2f;&#x2f;\""),
        "{}",
        done.html
    );
    assert_eq!(app.open_page(&location).await.step(), "select_account");
    // A bank that logs in inside the Lightbox has no such window.
    let plain = start(
        &app,
        "/start/selectBank/index",
        &android_data(&app, "oauth-2"),
    )
    .await;
    let plain_session = plain.rsplit('/').next().expect("session id");
    let page = app.open_page(&plain).await;
    app.step(&page, "bank", &[("bank_id", "200005501")]).await;
    assert_eq!(
        app.open_page(&format!("/oauth/login/{plain_session}"))
            .await
            .status,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_a_host_the_lightbox_stays_on_its_last_page_which_carries_the_signed_url() {
    let app = TestApp::spawn().await;
    let established = app.establish(&app.merchant, "respond-page", "7.00").await;
    let confirm = app
        .lightbox_until(&text(&established["url"]), "confirm")
        .await;
    let location = app
        .submit(&confirm, "confirm", &[("respond", "page")])
        .await
        .see_other();
    assert!(location.starts_with("/lightbox/"), "{location}");
    let finished: Page = app.open_page(&location).await;
    assert_eq!(finished.step(), "finished");
    let html = unescape(&finished.html);
    let start = html.find("id=\"continue\"").expect("the continue link");
    let href = html[start..]
        .split("href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("href");
    assert!(
        href.starts_with(&format!("{}/return?", app.receiver.url)),
        "{href}"
    );
    assert!(verify_redirect_url(href, &app.merchant.access_key));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_and_page_scripts_are_served_under_every_name() {
    let app = TestApp::spawn().await;
    for name in ["trustly.js", "paywithmybank.js", "pwmb.js"] {
        let reply = app
            .http
            .get(format!("{}/start/scripts/{name}?accessId=x", app.url))
            .send()
            .await
            .expect("GET");
        assert_eq!(reply.status(), 200);
        assert_eq!(
            reply.headers()["content-type"],
            "text/javascript; charset=utf-8"
        );
        let body = reply.text().await.expect("text");
        assert!(body.contains("window.PayWithMyBank = api"));
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "no external hosts"
        );
    }
    let missing = app
        .http
        .get(format!("{}/start/scripts/other.js", app.url))
        .send()
        .await
        .expect("GET");
    assert_eq!(missing.status(), 404);
    let page_script = app
        .http
        .get(format!("{}/lightbox-assets/lightbox.js", app.url))
        .send()
        .await
        .expect("GET");
    assert_eq!(page_script.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_credentials_are_never_stored() {
    let app = TestApp::spawn().await;
    let password = "Zq7uniquePassw0rd";
    let established = app.establish(&app.merchant, "credentials", "3.00").await;
    let login = app
        .lightbox_until(&text(&established["url"]), "login")
        .await;
    let fields = [("username", "credential_user"), ("password", password)];
    assert_eq!(
        app.step(&login, "login", &fields).await.step(),
        "select_account"
    );
    // The OAuth window too.
    let mut data = android_data(&app, "credentials-oauth");
    data["paymentProviderId"] = json!("200005502");
    sign_establish(&mut data, &app.merchant.access_key);
    let location = start(&app, "/start/selectBank/selectBank", &data).await;
    let session = location.rsplit('/').next().expect("session id").to_owned();
    let window = app.open_page(&format!("/oauth/login/{session}")).await;
    let token = window.csrf_token();
    let fields = [
        ("csrf_token", token.as_str()),
        ("username", "oauth_user"),
        ("password", password),
    ];
    app.post_page(&format!("/oauth/login/{session}"), &fields)
        .await
        .see_other();
    assert_eq!(app.open_page(&location).await.step(), "select_account");
    let stored = app.database_bytes();
    assert!(!stored.is_empty());
    let found = stored
        .windows(password.len())
        .any(|window| window == password.as_bytes());
    assert!(!found, "the password reached the database");
}
