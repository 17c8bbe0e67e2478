//! With `sandbox.enabled = false` the sandbox routes do not exist: 404 in the error envelope.

use reqwest::Method;
use serde_json::json;

use crate::client::Body;
use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_routes_answer_404_when_the_sandbox_is_off() {
    // Clock and headless authorization are gone; the rest of the API still works.
    let app = TestApp::spawn_with(|config| config.sandbox.enabled = false).await;
    let merchant = &app.merchant;
    let id = app.establish_id(merchant, "prod-1", "10.00").await;
    let calls = [
        (Method::GET, "/api/v1/sandbox/clock".to_owned(), Body::Empty),
        (
            Method::POST,
            "/api/v1/sandbox/clock/advance".to_owned(),
            Body::Json(json!({ "seconds": "86400" })),
        ),
        (
            Method::POST,
            format!("/api/v1/sandbox/transactions/{id}/authorize"),
            Body::Json(json!({ "username": "jane", "password": "secret" })),
        ),
    ];
    for (method, path, body) in calls {
        let reply = app.call(merchant, method, &path, body).await;
        reply.assert_error(404, 404, None);
        assert!(reply.json["errors"][0]["domain"]
            .as_str()
            .is_some_and(|domain| domain.ends_with("NotFoundException")));
    }
    let transaction = app.transaction(merchant, &id).await;
    assert_eq!(transaction["status"], 0);
    let unknown = app
        .call_as(None, Method::GET, "/api/v1/nothing-here", Body::Empty)
        .await;
    unknown.assert_error(404, 404, None);
}
