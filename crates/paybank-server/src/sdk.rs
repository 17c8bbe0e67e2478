//! The JavaScript SDK merchants load from paybank (client-flows §1): one static file under its
//! current name and the two legacy ones.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::app::AppState;
use crate::lightbox::static_asset;

/// `window.Trustly` and its legacy alias `window.PayWithMyBank`.
pub const SDK_SCRIPT: &str = include_str!("../assets/trustly.js");

/// The names merchants' pages load the SDK by; the `accessId` query parameter is read by the
/// script itself.
const SCRIPT_NAMES: [&str; 3] = ["trustly.js", "paywithmybank.js", "pwmb.js"];

pub fn routes() -> Router<AppState> {
    Router::new().route("/start/scripts/{name}", get(script))
}

async fn script(Path(name): Path<String>) -> Response {
    if !SCRIPT_NAMES.contains(&name.as_str()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    static_asset("text/javascript; charset=utf-8", SDK_SCRIPT)
}
