//! The demo shop at `/demo`, driven over HTTP as a browser and paybank's workers drive it: its
//! pages and their policy, the establish data it signs, a whole payment through the Lightbox
//! with its notifications, capture and refund, and the checks that refuse forged input.

use paybank_core::model::Merchant;
use paybank_core::signature::{
    form_encode, request_signature_message, sign, verify, webhook_authorization_header,
    webhook_message, HmacAlgorithm,
};
use paybank_server::demo::demo_merchant;
use reqwest::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, LOCATION, ORIGIN};
use serde_json::{json, Value};

use crate::client::{flatten, query_param, text};
use crate::helpers::TestApp;
use crate::pages::{unescape, Page};

/// The policy the brief asks for; the shop adds `frame-ancestors 'self'` after it.
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; frame-src 'self'; base-uri 'none'; form-action 'self'";

async fn shop_merchant(app: &TestApp) -> Merchant {
    let (merchant, _) = demo_merchant(&app.state).await.expect("the demo merchant");
    merchant
}

/// `POST /demo/api/establish` as the checkout script sends it: status and JSON answer.
async fn establish_through_the_shop(app: &TestApp, amount: Value) -> (u16, Value) {
    let response = app
        .http
        .post(format!("{}/demo/api/establish", app.url))
        .header(CONTENT_TYPE, "application/json")
        .body(json!({ "amount": amount }).to_string())
        .send()
        .await
        .expect("POST the establish request");
    let status = response.status().as_u16();
    let answer = response.text().await.expect("read the answer");
    (
        status,
        serde_json::from_str(&answer).expect("a JSON answer"),
    )
}

/// Starts a Lightbox the way the SDK does: the establish data posted as a form, answered
/// with a redirect into the Lightbox.
async fn open_lightbox(app: &TestApp, establish_data: &Value) -> String {
    let fields = flatten(establish_data);
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    let posted = app.post_page("/start/selectBank/index", &fields).await;
    assert!([302, 303].contains(&posted.status), "{}", posted.html);
    app.absolute(&posted.location.expect("a Location into the Lightbox"))
}

/// A shop form posted from `origin`: the status and the Location of a 303.
async fn post_shop_form(
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
    origin: &str,
) -> (u16, Option<String>) {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter().copied())
        .finish();
    let response = app
        .http
        .post(app.absolute(path))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ORIGIN, origin)
        .body(body)
        .send()
        .await
        .expect("POST the shop form");
    let location = response.headers().get(LOCATION);
    let location = location
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    (response.status().as_u16(), location)
}

/// Captures or refunds from the order page, follows the 303, and returns the notice shown.
async fn order_action(app: &TestApp, id: &str, action: &str, amount: &str) -> String {
    let path = format!("/demo/orders/{id}/{action}");
    let (status, location) = post_shop_form(app, &path, &[("amount", amount)], &app.url).await;
    assert_eq!(status, 303);
    let location = location.expect("a Location");
    assert!(
        location.starts_with(&format!("/demo/orders/{id}?notice=")),
        "{location}"
    );
    let page = app.open_page(&location).await;
    assert_eq!(page.status, 200, "{}", page.html);
    element_text(&page, "notice")
}

/// The text of the element with this id, up to its first child element, decoded.
fn element_text(page: &Page, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let at = page
        .html
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id}: {}", page.html));
    let rest = &page.html[at..];
    let start = rest.find('>').expect("the tag ends") + 1;
    let end = rest[start..].find('<').expect("the text ends");
    unescape(&rest[start..start + end])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checkout_page_loads_the_sdk_with_the_demo_access_id_under_a_strict_policy() {
    // The page names the SDK with the shop's accessId, runs no inline code and is never cached.
    let app = TestApp::spawn().await;
    let page = app.open_page("/demo").await;
    assert_eq!(page.status, 200, "{}", page.html);
    let merchant = shop_merchant(&app).await;
    assert_eq!(merchant.name, "Demo Shop");
    let sdk = format!(
        "<script src=\"/start/scripts/trustly.js?accessId={}\"></script>",
        merchant.access_id
    );
    assert!(page.html.contains(&sdk), "{}", page.html);
    assert!(page
        .html
        .contains("<script src=\"/demo/assets/demo.js\"></script>"));
    assert!(page.html.find(&sdk) < page.html.find("/demo/assets/demo.js"));
    for id in [
        "amount",
        "pay-overlay",
        "pay-widget",
        "widget",
        "sdk-events",
        "checkout-error",
    ] {
        assert!(page.html.contains(&format!("id=\"{id}\"")), "#{id}");
    }
    assert!(page.html.contains("<label for=\"amount\">"));
    assert!(!page.html.contains("<script>") && !page.html.contains(" style="));
    assert!(!page.html.contains(&merchant.access_key));
    assert!(page
        .header("content-security-policy")
        .starts_with(PAGE_POLICY));
    assert_eq!(page.header(CACHE_CONTROL.as_str()), "no-store");
    for (asset, content_type) in [("demo.css", "text/css"), ("demo.js", "text/javascript")] {
        let asset = app.open_page(&format!("/demo/assets/{asset}")).await;
        assert_eq!(asset.status, 200);
        assert!(asset
            .header(CONTENT_TYPE.as_str())
            .starts_with(content_type));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shop_signs_establish_data_that_the_real_establish_accepts() {
    // The data carries a requestSignature made with the accessKey, and paybank opens a
    // Lightbox for it, as it does for the SDK's form POST.
    let app = TestApp::spawn().await;
    let merchant = shop_merchant(&app).await;
    let (status, answer) = establish_through_the_shop(&app, json!("12.5")).await;
    assert_eq!(status, 200, "{answer}");
    let data = &answer["establishData"];
    assert_eq!(data["accessId"], merchant.access_id.as_str());
    assert_eq!(
        data["merchantId"],
        merchant.merchant_id.to_string().as_str()
    );
    assert_eq!(data["amount"], "12.50");
    assert_eq!(data["currency"], "USD");
    assert_eq!(data["paymentType"], "Deferred");
    assert_eq!(data["description"], "Sandbox hoodie");
    assert_eq!(data["customer"]["name"], "John Smith");
    assert_eq!(data["metadata"]["finishButtonLabelType"], "pay");
    assert_eq!(
        data["returnUrl"],
        format!("{}/demo/return", app.url).as_str()
    );
    assert_eq!(
        data["cancelUrl"],
        format!("{}/demo/cancel", app.url).as_str()
    );
    assert!(text(&data["merchantReference"]).starts_with("demo-"));
    let message = request_signature_message(data);
    let signature = text(&data["requestSignature"]);
    assert!(verify(&merchant.access_key, &message, &signature));
    let (_, again) = establish_through_the_shop(&app, json!("12.50")).await;
    assert_ne!(
        again["establishData"]["merchantReference"],
        data["merchantReference"]
    );
    let lightbox_url = open_lightbox(&app, data).await;
    assert!(
        lightbox_url.starts_with(&format!("{}/lightbox/", app.url)),
        "{lightbox_url}"
    );
    assert_eq!(app.open_page(&lightbox_url).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amounts_the_api_would_refuse_are_refused_before_establish() {
    // Zero, negative, three decimals, over 10000.00 and words get 400 and an error message.
    let app = TestApp::spawn().await;
    let refused = [
        json!("0"),
        json!("0.00"),
        json!("-1"),
        json!("10.001"),
        json!("10000.01"),
    ];
    for amount in refused
        .into_iter()
        .chain([json!("ten"), json!(""), Value::Null])
    {
        let (status, answer) = establish_through_the_shop(&app, amount.clone()).await;
        assert_eq!(status, 400, "{amount}: {answer}");
        assert!(!text(&answer["error"]).is_empty(), "{amount}: {answer}");
        assert!(answer.get("establishData").is_none());
    }
    let (status, _) = establish_through_the_shop(&app, json!("10000.00")).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_goes_from_the_shop_through_the_lightbox_to_capture_and_refund() {
    // The shop's whole journey: establish, Lightbox, signed return, notifications with the
    // split token, capture, settlement by the clock, refund.
    let app = TestApp::spawn().await;
    let merchant = shop_merchant(&app).await;
    app.align_clock(&merchant).await;
    let (_, answer) = establish_through_the_shop(&app, json!("40.00")).await;
    let lightbox_url = open_lightbox(&app, &answer["establishData"]).await;
    let redirect = app.complete_lightbox(&lightbox_url).await;
    assert!(
        redirect.starts_with(&format!("{}/demo/return?", app.url)),
        "{redirect}"
    );
    let id = query_param(&redirect, "transactionId").expect("a transactionId");
    // Until the Authorize notification arrives the shop has no split token, and the API says so.
    let notice = order_action(&app, &id, "capture", "40.00").await;
    assert!(notice.starts_with("Capture failed: 397"), "{notice}");
    app.deliver().await;
    let notifications = app.state.demo.notifications();
    let authorize = notifications
        .iter()
        .find(|event| event.transaction_id == id && event.event_type == "Authorize")
        .expect("the Authorize notification");
    assert!(authorize
        .split_token
        .as_deref()
        .is_some_and(|token| !token.is_empty()));
    let receipt = app.open_page(&redirect).await;
    assert_eq!(receipt.status, 200, "{}", receipt.html);
    assert!(receipt.html.contains("data-valid=\"true\""));
    assert_eq!(element_text(&receipt, "transaction-id"), id);
    assert_eq!(
        element_text(&receipt, "transaction-status"),
        "Authorized (2)"
    );
    assert!(receipt.html.contains("<li data-event-type=\"Authorize\">"));
    capture_settle_and_refund(&app, &merchant, &id).await;
}

async fn capture_settle_and_refund(app: &TestApp, merchant: &Merchant, id: &str) {
    let notice = order_action(app, id, "capture", "40.00").await;
    assert!(
        notice.starts_with("Captured 40.00 USD: capture "),
        "{notice}"
    );
    assert!(notice.ends_with("is Authorized (2)."), "{notice}");
    let early = order_action(app, id, "refund", "15.00").await;
    assert!(early.starts_with("Refund failed: 220"), "{early}");
    app.advance(merchant, 6 * 86_400).await;
    let order = app.open_page(&format!("/demo/orders/{id}")).await;
    assert!(order.html.contains("data-capture-id="), "{}", order.html);
    assert!(order.html.contains("Completed (4)"), "{}", order.html);
    assert!(order.html.contains("<li data-event-type=\"Complete\">"));
    let notice = order_action(app, id, "refund", "15.00").await;
    assert!(
        notice.starts_with("Refunded 15.00 USD of capture "),
        "{notice}"
    );
    app.deliver().await;
    let order = app.open_page(&format!("/demo/orders/{id}")).await;
    assert!(
        order.html.contains("<li data-event-type=\"Refund\">"),
        "{}",
        order.html
    );
    assert!(
        order.html.contains("PartiallyRefunded (11)"),
        "{}",
        order.html
    );
    assert!(order.html.contains("value=\"25.00\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_return_url_is_refused_and_shows_nothing() {
    // A redirect whose status was changed fails the signature check: 400, no order shown.
    let app = TestApp::spawn().await;
    let (_, answer) = establish_through_the_shop(&app, json!("25.00")).await;
    let lightbox_url = open_lightbox(&app, &answer["establishData"]).await;
    let redirect = app.complete_lightbox(&lightbox_url).await;
    let tampered = app
        .open_page(&redirect.replace("status=2", "status=4"))
        .await;
    assert_eq!(tampered.status, 400, "{}", tampered.html);
    assert!(tampered.html.contains("data-valid=\"false\""));
    assert!(!tampered.html.contains("data-valid=\"true\""));
    assert!(!tampered.html.contains("id=\"transaction-id\""));
    let unsigned = app
        .open_page("/demo/return?transactionId=1000000000001")
        .await;
    assert_eq!(unsigned.status, 400);
    assert!(unsigned.html.contains("data-valid=\"false\""));
}

/// A notification body and its `Authorization` header, signed with `access_key`.
fn notification(access_id: &str, access_key: &str, event_id: &str) -> (String, String) {
    let pairs: Vec<(String, String)> = [
        ("eventId", event_id),
        ("eventType", "Authorize"),
        ("objectId", "1000000000042"),
        ("transactionType", "1"),
        ("status", "2"),
        ("statusMessage", "Authorized"),
        ("createdAt", "1556234040954"),
        ("splitToken", "a+b/c="),
    ]
    .iter()
    .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
    .collect();
    let signature = sign(HmacAlgorithm::Sha1, access_key, &webhook_message(&pairs));
    (
        form_encode(&pairs),
        webhook_authorization_header(access_id, &signature),
    )
}

async fn notify(app: &TestApp, body: &str, authorization: &str) -> (u16, String) {
    let response = app
        .http
        .post(format!("{}/demo/notifications", app.url))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(AUTHORIZATION, authorization)
        .body(body.to_owned())
        .send()
        .await
        .expect("POST the notification");
    let status = response.status().as_u16();
    (status, response.text().await.expect("read the answer"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_need_the_shops_signature_and_count_once_per_event_id() {
    // Forged or foreign notifications get 401 and are not kept; a resent event is kept once.
    let app = TestApp::spawn().await;
    let shop = shop_merchant(&app).await;
    let (body, wrong_key) = notification(&shop.access_id, "not-the-key", "1000000000100");
    assert_eq!(notify(&app, &body, &wrong_key).await.0, 401);
    let other = &app.merchant;
    let (body, foreign) = notification(&other.access_id, &other.access_key, "1000000000101");
    assert_eq!(notify(&app, &body, &foreign).await.0, 401);
    assert_eq!(notify(&app, &body, "Basic !!!").await.0, 401);
    assert!(app.state.demo.notifications().is_empty());
    let (body, signed) = notification(&shop.access_id, &shop.access_key, "1000000000102");
    for _ in 0..2 {
        assert_eq!(notify(&app, &body, &signed).await, (200, "OK".to_owned()));
    }
    let kept = app.state.demo.notifications();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].event_id, "1000000000102");
    assert_eq!(kept[0].split_token.as_deref(), Some("a+b/c="));
    assert_eq!(kept[0].created_at, 1_556_234_040_954);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_posts_to_the_shop_are_refused() {
    // Another site's page cannot make the shop capture or refund, by Origin or Sec-Fetch-Site.
    let app = TestApp::spawn().await;
    let path = "/demo/orders/1000000000001/capture";
    let (status, _) =
        post_shop_form(&app, path, &[("amount", "1.00")], "http://evil.example").await;
    assert_eq!(status, 403);
    let (status, _) = post_shop_form(
        &app,
        path.replace("capture", "refund").as_str(),
        &[],
        "null",
    )
    .await;
    assert_eq!(status, 403);
    let response = app
        .http
        .post(format!("{}{path}", app.url))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("Sec-Fetch-Site", "cross-site")
        .body("amount=1.00")
        .send()
        .await
        .expect("POST the form");
    assert_eq!(response.status().as_u16(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_requests_create_one_demo_merchant() {
    // Two first uses at once find or create the same single "Demo Shop".
    let app = TestApp::spawn().await;
    let (first, second) = tokio::join!(demo_merchant(&app.state), demo_merchant(&app.state));
    let (first, first_created) = first.expect("the demo merchant");
    let (second, second_created) = second.expect("the demo merchant");
    assert_eq!(first.merchant_id, second.merchant_id);
    assert!(first_created != second_created);
    let merchants = app.state.store.list_merchants().await.expect("merchants");
    let shops = merchants
        .iter()
        .filter(|merchant| merchant.name == "Demo Shop");
    assert_eq!(shops.count(), 1);
    assert!(first.split_token_enabled);
    let notification_url = format!("{}/demo/notifications", app.url);
    assert_eq!(
        first.notification_url.as_deref(),
        Some(notification_url.as_str())
    );
    assert!(first.allowed_origins.contains(&app.url));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shop_is_absent_when_disabled() {
    // With `demo.enabled = false` nothing is served under /demo.
    let app = TestApp::spawn_with(|config| config.demo.enabled = false).await;
    assert_eq!(app.open_page("/demo").await.status, 404);
    assert_eq!(app.open_page("/demo/assets/demo.js").await.status, 404);
    let (status, _) = notify(&app, "eventId=1", "Basic !!!").await;
    assert_eq!(status, 404);
}
