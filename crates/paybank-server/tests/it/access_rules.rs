//! Who may do what, and what establish accepts: unknown and foreign transactions, credentials,
//! request signatures, allowed origins, required fields, and JSON and form bodies alike.

use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{flatten, sign_establish, text, Body};
use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_transaction_id_answers_404() {
    // Reads and operations on an id that does not exist answer 404 in the error envelope.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let before = app.snapshot(merchant).await;
    for id in ["1999999999999", "not-an-id"] {
        let read = app.get_transaction(merchant, id).await;
        read.assert_error(404, 200, Some("transactionId"));
        let capture = app.capture(merchant, id, "ghost", "10.00", None).await;
        capture.assert_error(404, 200, Some("transactionId"));
        let refund = app.refund(merchant, id, "10.00").await;
        refund.assert_error(404, 200, Some("transactionId"));
    }
    assert_eq!(app.snapshot(merchant).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_merchants_transaction_answers_404() {
    // A merchant cannot read or touch another merchant's transactions, nor tell they exist.
    let app = TestApp::spawn().await;
    let owner = &app.merchant;
    let payment = app.authorized(owner, "owned", "100.00").await;
    let stranger = app.add_merchant("Other Shop", true).await;
    let before = app.snapshot(owner).await;
    let token = payment.split_token.as_deref();
    let read = app.get_transaction(&stranger, &payment.id).await;
    read.assert_error(404, 200, Some("transactionId"));
    let capture = app
        .capture(&stranger, &payment.id, "steal", "10.00", token)
        .await;
    capture.assert_error(404, 200, Some("transactionId"));
    let cancel = app.cancel(&stranger, &payment.id).await;
    cancel.assert_error(404, 200, Some("transactionId"));
    let refresh = app
        .refresh(&stranger, &payment.id, token.unwrap_or_default())
        .await;
    refresh.assert_error(404, 200, Some("transactionId"));
    let listed = app.list_transactions(&stranger, "count=100").await.ok();
    assert_eq!(listed.json["transactions"], json!([]));
    assert_eq!(app.snapshot(owner).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_merchants_lightbox_cannot_be_completed_headlessly() {
    // A stranger's headless authorization of a payment still in the Lightbox is not found,
    // whatever else is wrong with its body, and changes nothing; the owner's own works.
    let app = TestApp::spawn().await;
    let owner = &app.merchant;
    let id = app.establish_id(owner, "in-lightbox", "100.00").await;
    let stranger = app.add_merchant("Other Shop", true).await;
    let before = app.snapshot(owner).await;
    let path = format!("/api/v1/sandbox/transactions/{id}/authorize");
    let bodies = [
        json!({ "username": "thief", "password": "secret" }),
        json!({ "username": "thief", "password": "secret", "accountIndex": "many" }),
        json!({ "username": "thief" }),
    ];
    for body in bodies {
        let reply = app
            .call(&stranger, Method::POST, &path, Body::Json(body))
            .await;
        reply.assert_error(404, 200, Some("transactionId"));
    }
    assert_eq!(app.snapshot(owner).await, before);
    let bad_index = json!({ "username": "jane", "password": "secret", "accountIndex": "many" });
    let reply = app
        .call(owner, Method::POST, &path, Body::Json(bad_index))
        .await;
    reply.assert_error(400, 200, Some("accountIndex"));
    assert_eq!(app.snapshot(owner).await, before);
    let reply = app.authorize(owner, &id, "jane", "secret", None).await;
    assert_eq!(reply.transaction()["status"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_basic_credentials_answer_401_with_code_375() {
    // Wrong key, unknown accessId, no header or another scheme: 401, AccessControlException.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let id = app.establish_id(merchant, "creds", "10.00").await;
    let before = app.snapshot(merchant).await;
    let access_id = merchant.access_id.as_str();
    let path = format!("/api/v1/transactions/{id}");
    for credentials in [
        Some((access_id, "wrong-key")),
        Some(("unknown-id", "x")),
        None,
    ] {
        let reply = app
            .call_as(credentials, Method::GET, &path, Body::Empty)
            .await;
        reply.assert_error(401, 375, None);
        let domain = &reply.json["errors"][0]["domain"];
        assert_eq!(
            domain,
            "com.paywithmybank.merchantgateway.v1.exception.AccessControlException"
        );
    }
    let bearer = app
        .http
        .get(format!("{}{path}", app.url))
        .bearer_auth(&merchant.access_key)
        .send()
        .await
        .expect("send");
    assert_eq!(bearer.status().as_u16(), 401);
    let data = app.establish_data(merchant, "creds-2", "10.00");
    let establish_path = "/api/v1/establish?createTransaction=true";
    let wrong = Some((access_id, "wrong-key"));
    let reply = app
        .call_as(wrong, Method::POST, establish_path, Body::Json(data))
        .await;
    reply.assert_error(401, 375, None);
    assert_eq!(app.snapshot(merchant).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn establish_with_a_bad_request_signature_answers_401_and_creates_nothing() {
    // A signature made with another key, or over other data, is refused (375).
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let before = app.snapshot(merchant).await;
    let mut data = app.establish_data(merchant, "bad-sig", "10.00");
    sign_establish(&mut data, "not-the-access-key");
    let reply = app.post_establish(merchant, Body::Json(data)).await;
    reply.assert_error(401, 375, Some("requestSignature"));
    let mut tampered = app.establish_data(merchant, "bad-sig", "10.00");
    tampered["amount"] = json!("1000.00");
    let reply = app.post_establish(merchant, Body::Json(tampered)).await;
    reply.assert_error(401, 375, Some("requestSignature"));
    let mut unsigned = app.establish_data(merchant, "bad-sig", "10.00");
    unsigned
        .as_object_mut()
        .expect("object")
        .remove("requestSignature");
    let reply = app.post_establish(merchant, Body::Json(unsigned)).await;
    reply.assert_error(400, 200, Some("requestSignature"));
    assert_eq!(app.snapshot(merchant).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn establish_with_a_return_url_off_the_allowed_origins_is_refused() {
    // returnUrl (and cancelUrl) must be on one of the merchant's origins: no open redirect.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let before = app.snapshot(merchant).await;
    for (field, url) in [
        ("returnUrl", "https://evil.example/return"),
        ("returnUrl", "https://127.0.0.1.evil.example/return"),
        ("cancelUrl", "javascript:alert(1)"),
    ] {
        let mut data = app.establish_data(merchant, "origin", "10.00");
        data[field] = json!(url);
        sign_establish(&mut data, &merchant.access_key);
        let reply = app.post_establish(merchant, Body::Json(data)).await;
        reply.assert_error(400, 200, Some(field));
    }
    assert_eq!(app.snapshot(merchant).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn establish_without_a_merchant_reference_is_refused() {
    // merchantReference is required (it is the idempotency key).
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let before = app.snapshot(merchant).await;
    let mut data = app.establish_data(merchant, "unused", "10.00");
    data.as_object_mut()
        .expect("object")
        .remove("merchantReference");
    sign_establish(&mut data, &merchant.access_key);
    let reply = app.post_establish(merchant, Body::Json(data)).await;
    reply.assert_error(400, 200, Some("merchantReference"));
    let path = "/api/v1/establish";
    let reply = app.call(merchant, Method::POST, path, Body::Empty).await;
    reply.assert_error(400, 200, Some("createTransaction"));
    assert_eq!(app.snapshot(merchant).await, before);
}

/// The fields of a transaction that must not depend on how the request was encoded.
fn comparable(transaction: &Value) -> Value {
    let payment = &transaction["payment"];
    json!({
        "transactionType": transaction["transactionType"],
        "status": transaction["status"],
        "amount": transaction["amount"],
        "pending": transaction["pending"],
        "currency": transaction["currency"],
        "paymentType": payment["paymentType"],
        "paymentAmount": payment["amount"],
        "description": payment["description"],
        "customer": payment["customer"],
        "notificationUrl": payment["notificationUrl"],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_bodies_with_dotted_keys_work_like_json_for_establish_and_capture() {
    // The same establish data and capture, sent as JSON and as dotted form fields, agree.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let as_json = app.establish_data(merchant, "enc-json", "100.00");
    let as_form = app.establish_data(merchant, "enc-form", "100.00");
    assert!(flatten(&as_form)
        .iter()
        .any(|(key, _)| key == "customer.address.country"));
    let json_reply = app.post_establish(merchant, Body::Json(as_json)).await;
    let form_reply = app
        .post_establish(merchant, Body::Form(flatten(&as_form)))
        .await;
    let (json_txn, form_txn) = (json_reply.transaction(), form_reply.transaction());
    assert_eq!(comparable(&json_txn), comparable(&form_txn));
    assert_eq!(form_txn["payment"]["customer"]["address"]["country"], "US");
    let mut ids = Vec::new();
    for (reference, txn) in [("enc-json", &json_txn), ("enc-form", &form_txn)] {
        let id = text(&txn["transactionId"]);
        app.authorize(merchant, &id, &format!("u_{reference}"), "secret", None)
            .await
            .ok();
        ids.push(id);
    }
    app.deliver().await;
    let token_of = |id: &str| {
        app.receiver
            .only(id, "Authorize")
            .param("splitToken")
            .map(str::to_owned)
    };
    let json_token = token_of(&ids[0]).expect("a token");
    let body =
        json!({ "merchantReference": "c-json", "amount": "10.00", "splitToken": json_token });
    let path = format!("/api/v1/transactions/{}/capture", ids[0]);
    let by_json = app
        .call(merchant, Method::POST, &path, Body::Json(body))
        .await;
    let form_token = token_of(&ids[1]);
    let by_form = app
        .capture(merchant, &ids[1], "c-form", "10.00", form_token.as_deref())
        .await;
    let (json_capture, form_capture) = (by_json.transaction(), by_form.transaction());
    assert_eq!(json_capture["status"], 2);
    assert_eq!(comparable(&json_capture), comparable(&form_capture));
}
