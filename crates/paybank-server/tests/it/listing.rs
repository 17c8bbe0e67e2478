//! `GET /transactions`: filters, paging, ordering, the `{transactions, startIndex,
//! itemsPerPage}` envelope, and page-size bounds.

use std::collections::HashSet;

use paybank_core::model::Merchant;
use serde_json::Value;

use crate::client::text;
use crate::helpers::TestApp;

/// Five transactions a minute apart: authorizations A and B (New), C (Authorized) and two
/// captures of C. Returns the app and the createdAt of A, B and C.
async fn five_transactions() -> (TestApp, [i64; 3]) {
    let app = TestApp::spawn().await;
    let merchant = app.merchant.clone();
    let mut created = Vec::new();
    for reference in ["list-a", "list-b"] {
        let reply = app.establish(&merchant, reference, "100.00").await;
        created.push(
            reply["transaction"]["createdAt"]
                .as_i64()
                .expect("createdAt"),
        );
        app.advance(&merchant, 60).await;
    }
    let payment = app.authorized(&merchant, "list-c", "100.00").await;
    let authorization = app.transaction(&merchant, &payment.id).await;
    created.push(authorization["createdAt"].as_i64().expect("createdAt"));
    let token = payment.split_token.as_deref();
    for reference in ["list-c-1", "list-c-2"] {
        app.advance(&merchant, 60).await;
        let capture = app
            .capture(&merchant, &payment.id, reference, "10.00", token)
            .await;
        assert_eq!(capture.transaction()["status"], 2);
    }
    (app, [created[0], created[1], created[2]])
}

/// The list for `query`, checking the envelope; returns the transactions.
async fn list(app: &TestApp, merchant: &Merchant, query: &str) -> Vec<Value> {
    let reply = app.list_transactions(merchant, query).await.ok();
    let object = reply.json.as_object().expect("an object");
    let mut keys: Vec<&String> = object.keys().collect();
    keys.sort();
    assert_eq!(keys, ["itemsPerPage", "startIndex", "transactions"]);
    reply.json["transactions"]
        .as_array()
        .expect("a list")
        .clone()
}

fn references(transactions: &[Value]) -> Vec<String> {
    let mut references: Vec<String> = transactions
        .iter()
        .map(|txn| text(&txn["merchantReference"]))
        .collect();
    references.sort();
    references
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_filter_by_reference_parent_type_status_and_creation_time() {
    // Each filter narrows the list to exactly the matching transactions.
    let (app, [at_a, at_b, _]) = five_transactions().await;
    let merchant = &app.merchant;
    let all = list(&app, merchant, "").await;
    assert_eq!(all.len(), 5);
    let b = list(&app, merchant, "merchantReference=list-b").await;
    assert_eq!(references(&b), ["list-b"]);
    let captures = list(&app, merchant, "transactionType=3").await;
    assert_eq!(references(&captures), ["list-c-1", "list-c-2"]);
    assert!(captures.iter().all(|txn| txn["transactionType"] == 3));
    let both = list(&app, merchant, "transactionType=1&transactionType=3").await;
    assert_eq!(both.len(), 5);
    let new = list(&app, merchant, "transactionStatus=0").await;
    assert_eq!(references(&new), ["list-a", "list-b"]);
    let authorized = list(&app, merchant, "transactionStatus=2").await;
    assert_eq!(references(&authorized), ["list-c", "list-c-1", "list-c-2"]);
    let mixed = list(&app, merchant, "transactionType=1&transactionStatus=2").await;
    assert_eq!(references(&mixed), ["list-c"]);
    let since_b = list(&app, merchant, &format!("createdAt.start={at_b}")).await;
    assert_eq!(since_b.len(), 4);
    let until_b = list(&app, merchant, &format!("createdAt.end={at_b}")).await;
    assert_eq!(references(&until_b), ["list-a", "list-b"]);
    let only_b = format!("createdAt.start={}&createdAt.end={at_b}", at_a + 1);
    assert_eq!(references(&list(&app, merchant, &only_b).await), ["list-b"]);
    let nothing = list(&app, merchant, "merchantReference=none").await;
    assert!(nothing.is_empty());
    let authorization_id =
        text(&list(&app, merchant, "merchantReference=list-c").await[0]["transactionId"]);
    let children = list(
        &app,
        merchant,
        &format!("originalTransactionId={authorization_id}"),
    )
    .await;
    assert_eq!(references(&children), ["list-c-1", "list-c-2"]);
    let bad = app
        .list_transactions(merchant, "originalTransactionId=abc")
        .await;
    bad.assert_error(400, 200, Some("originalTransactionId"));
    let bad = app
        .list_transactions(merchant, "transactionType=capture")
        .await;
    bad.assert_error(400, 200, Some("transactionType"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_page_with_start_index_and_count_and_sort_by_creation() {
    // Pages of two cover all five once; asc and desc order by createdAt; the envelope echoes.
    let (app, _) = five_transactions().await;
    let merchant = &app.merchant;
    let mut seen = HashSet::new();
    for start in [0, 2, 4] {
        let query = format!("startIndex={start}&count=2&orderBy=createdAt&sortOrder=asc");
        let reply = app.list_transactions(merchant, &query).await.ok();
        assert_eq!(reply.json["startIndex"], start);
        assert_eq!(reply.json["itemsPerPage"], 2);
        let page = reply.json["transactions"].as_array().expect("page").clone();
        assert_eq!(page.len(), if start == 4 { 1 } else { 2 });
        for txn in page {
            assert!(
                seen.insert(text(&txn["transactionId"])),
                "seen twice: {txn}"
            );
        }
    }
    assert_eq!(seen.len(), 5);
    let created = |list: &[Value]| -> Vec<i64> {
        list.iter()
            .map(|txn| txn["createdAt"].as_i64().expect("createdAt"))
            .collect()
    };
    let ascending = created(&list(&app, merchant, "orderBy=createdAt&sortOrder=asc").await);
    assert!(
        ascending.windows(2).all(|pair| pair[0] <= pair[1]),
        "{ascending:?}"
    );
    let descending = created(&list(&app, merchant, "orderBy=createdAt&sortOrder=desc").await);
    assert!(
        descending.windows(2).all(|pair| pair[0] >= pair[1]),
        "{descending:?}"
    );
    let default = created(&list(&app, merchant, "").await);
    assert_eq!(default, descending);
    let by_update = list(&app, merchant, "orderBy=updatedAt&sortOrder=asc").await;
    assert_eq!(by_update.len(), 5);
    let past_the_end = list(&app, merchant, "startIndex=10").await;
    assert!(past_the_end.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_sizes_of_0_or_1000_and_unknown_sort_keys_are_refused() {
    // count must be between 1 and the maximum; orderBy and sortOrder take known values only.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    for count in ["0", "1000", "-1"] {
        let reply = app
            .list_transactions(merchant, &format!("count={count}"))
            .await;
        reply.assert_error(400, 200, Some("count"));
    }
    let reply = app.list_transactions(merchant, "count=lots").await;
    reply.assert_error(400, 200, Some("count"));
    let reply = app.list_transactions(merchant, "orderBy=amount").await;
    reply.assert_error(400, 200, Some("orderBy"));
    let reply = app.list_transactions(merchant, "sortOrder=sideways").await;
    reply.assert_error(400, 200, Some("sortOrder"));
    let reply = app.list_transactions(merchant, "count=100").await.ok();
    assert_eq!(reply.json["itemsPerPage"], 100);
}
