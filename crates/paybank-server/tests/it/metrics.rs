//! `GET /metrics` exists only when `server.metrics` is on, and then counts the writer's work.

use reqwest::Method;

use crate::client::Body;
use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_the_writers_batches_only_when_turned_on() {
    let off = TestApp::spawn().await;
    let reply = off
        .call_as(None, Method::GET, "/metrics", Body::Empty)
        .await;
    reply.assert_error(404, 404, None);

    let app = TestApp::spawn_with(|config| config.server.metrics = true).await;
    let before = app
        .call_as(None, Method::GET, "/metrics", Body::Empty)
        .await;
    assert_eq!(before.status, 200, "{}", before.text);
    assert!(before.headers["content-type"]
        .to_str()
        .is_ok_and(|kind| kind.starts_with("text/plain; version=0.0.4")));
    let before = paybank_server::metrics::parse(&before.text).expect("the writer's metrics");
    app.establish_id(&app.merchant, "metered-1", "10.00").await;
    app.establish_id(&app.merchant, "metered-2", "10.00").await;
    let after = app
        .call_as(None, Method::GET, "/metrics", Body::Empty)
        .await;
    let after = paybank_server::metrics::parse(&after.text).expect("the writer's metrics");
    let span = after.since(&before);
    assert!(
        span.commands >= 2,
        "two establishes are two commits: {span:?}"
    );
    assert!(
        span.batches >= 1 && span.batches <= span.commands,
        "{span:?}"
    );
    assert_eq!(span.batch_time_buckets.iter().sum::<u64>(), span.batches);
}
