//! The ceiling: a bare axum handler answering a fixed body of the same size as paybank's
//! answer, so "as fast as this machine serves HTTP at all" is measured in the same run.

use axum::routing::get;
use axum::Router;

/// Serves `body_bytes` of JSON on every GET until killed.
pub async fn serve(listen: &str, body_bytes: usize) -> anyhow::Result<()> {
    let body = format!(
        "{{\"pad\":\"{}\"}}",
        "x".repeat(body_bytes.saturating_sub(10))
    );
    let app = Router::new().fallback(get(move || {
        let body = body.clone();
        async move { ([("content-type", "application/json")], body) }
    }));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
