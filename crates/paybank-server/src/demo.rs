//! The demo merchant shop at `/demo`: a small web shop that takes payments through paybank the
//! way a real merchant does, so a new user can follow the whole pay-in journey from the
//! merchant's side.
//!
//! The shop uses only what a real merchant has: its accessId and accessKey, the public HTTP
//! API, the JavaScript SDK and signed event notifications. The one exception is finding or
//! creating its own merchant record ([`demo_merchant`]), which a real merchant gets at onboarding.
//! What a real shop keeps in its database (the notifications it received, the captures it made)
//! it keeps here in memory, bounded, in [`DemoShop`].

mod checkout;
mod merchant_api;
mod notifications;
mod orders;
mod pages;

use std::sync::{Mutex, MutexGuard};

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, ORIGIN, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use paybank_core::model::Merchant;
use tokio::sync::OnceCell;

use crate::app::AppState;
use crate::merchants::{create_merchant, NewMerchant};
use crate::origins::origin_of;

pub use notifications::ReceivedEvent;

/// The name the shop's merchant record goes by; the shop finds its record by it.
pub const DEMO_MERCHANT_NAME: &str = "Demo Shop";

/// The policy of every `/demo` response. `frame-src 'self'` lets the SDK frame the Lightbox,
/// which paybank serves at the same origin; `frame-ancestors 'self'` keeps other sites from
/// framing the capture and refund buttons.
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; frame-src 'self'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'self'";

/// The shop's state: what a real shop would keep in its database, here in memory.
pub struct DemoShop {
    /// The shop's merchant record, found or created on first use. The cell runs one
    /// initialisation at a time, so two concurrent first requests cannot create two merchants.
    merchant: OnceCell<Merchant>,
    /// The shop's own templates, apart from the Lightbox's.
    templates: minijinja::Environment<'static>,
    /// The event notifications received, verified and de-duplicated, oldest first.
    notifications: Mutex<notifications::NotificationLog>,
    /// The captures the shop made and the one-line notices shown after an action.
    orders: Mutex<orders::OrderBook>,
}

impl DemoShop {
    /// A shop with nothing received yet; fails only if a built-in template does not compile.
    pub fn new() -> anyhow::Result<DemoShop> {
        Ok(DemoShop {
            merchant: OnceCell::new(),
            templates: pages::templates()?,
            notifications: Mutex::new(notifications::NotificationLog::default()),
            orders: Mutex::new(orders::OrderBook::default()),
        })
    }

    /// Every notification the shop recorded, oldest first.
    pub fn notifications(&self) -> Vec<ReceivedEvent> {
        lock(&self.notifications).all()
    }
}

/// The demo merchant and whether this call created it: the "Demo Shop" that allows this
/// deployment's public URL, else a new one with split tokens on, the public URL and the usual
/// local addresses as allowed origins, and the shop's notification endpoint.
pub async fn demo_merchant(state: &AppState) -> anyhow::Result<(Merchant, bool)> {
    let mut created = false;
    let created_here = &mut created;
    let merchant = state
        .demo
        .merchant
        .get_or_try_init(|| async move {
            let (merchant, was_created) = find_or_create_demo_merchant(state).await?;
            *created_here = was_created;
            anyhow::Ok(merchant)
        })
        .await?;
    Ok((merchant.clone(), created))
}

async fn find_or_create_demo_merchant(state: &AppState) -> anyhow::Result<(Merchant, bool)> {
    let public_url = state.public_url.to_string();
    let public_origin = origin_of(&public_url);
    // A record made for another public URL would refuse this deployment's return URLs.
    let existing = state
        .store
        .list_merchants()
        .await?
        .into_iter()
        .filter(|merchant| merchant.name == DEMO_MERCHANT_NAME)
        .filter(|merchant| {
            let allowed = merchant.allowed_origins.iter();
            allowed
                .map(|origin| origin_of(origin))
                .any(|origin| origin.is_some() && origin == public_origin)
        })
        .min_by_key(|merchant| merchant.created_at);
    if let Some(merchant) = existing {
        return Ok((merchant, false));
    }
    let mut allowed_origins: Vec<String> = Vec::new();
    for origin in [
        &public_url,
        "http://localhost:8080",
        "http://127.0.0.1:8080",
    ] {
        if !allowed_origins.iter().any(|known| known == origin) {
            allowed_origins.push(origin.to_owned());
        }
    }
    let new = NewMerchant {
        name: DEMO_MERCHANT_NAME.to_owned(),
        notification_url: Some(format!("{public_url}/demo/notifications")),
        allowed_origins,
        split_token_enabled: true,
        payouts_from_settled_only: false,
    };
    Ok((create_merchant(state, new).await?, true))
}

/// The shop's pages, its browser API and its notification endpoint.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/demo", get(checkout::show_checkout))
        .route("/demo/api/establish", post(checkout::create_establish_data))
        .route("/demo/return", get(orders::show_return))
        .route("/demo/cancel", get(orders::show_cancel))
        .route("/demo/orders/{transaction_id}", get(orders::show_order))
        .route(
            "/demo/orders/{transaction_id}/capture",
            post(orders::capture_order),
        )
        .route(
            "/demo/orders/{transaction_id}/refund",
            post(orders::refund_order),
        )
        .route(
            "/demo/notifications",
            post(notifications::receive_notification),
        )
        .route("/demo/assets/demo.css", get(pages::stylesheet))
        .route("/demo/assets/demo.js", get(pages::script))
        .layer(axum::middleware::map_response(with_security_headers))
}

/// The shop's one error type.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The visitor's request cannot be served; the message is for them.
    #[error("{message}")]
    Refused { status: StatusCode, message: String },
    /// The merchant API refused a call with its error envelope.
    #[error("{code} {message}")]
    Api {
        status: StatusCode,
        code: u64,
        message: String,
    },
    /// Something failed on the shop's side (the API unreachable, a template): logged, not shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl DemoError {
    fn refused(status: StatusCode, message: impl Into<String>) -> DemoError {
        DemoError::Refused {
            status,
            message: message.into(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            DemoError::Refused { status, .. } | DemoError::Api { status, .. } => *status,
            DemoError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the visitor is told; internal failures are logged here and stay vague.
    fn public_message(&self) -> String {
        match self {
            DemoError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "demo shop request failed");
                "Something went wrong on the shop's side; the server log has the details."
                    .to_owned()
            }
            other => other.to_string(),
        }
    }
}

/// Refuses a state-changing request a browser sent from another site (cross-site request
/// forgery). Browsers send `Sec-Fetch-Site` or at least `Origin` with every POST, so a request
/// with neither comes from a non-browser client, which no other site can drive.
fn refuse_cross_site(state: &AppState, headers: &HeaderMap) -> Result<(), DemoError> {
    let header = |name: &str| headers.get(name).map(|value| value.to_str());
    let same_origin = match (header("sec-fetch-site"), header(ORIGIN.as_str())) {
        (Some(site), _) => matches!(site, Ok("same-origin" | "none")),
        (None, Some(Ok(origin))) => {
            origin_of(origin).is_some() && origin_of(origin) == origin_of(&state.public_url)
        }
        (None, Some(Err(_))) => false,
        (None, None) => true,
    };
    match same_origin {
        true => Ok(()),
        false => Err(DemoError::refused(
            StatusCode::FORBIDDEN,
            "This request can only come from the demo shop's own pages.",
        )),
    }
}

/// The headers of every `/demo` response: the strict policy, no caching, no sniffing.
async fn with_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_POLICY),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// Locks a shop table. Its edits are short and cannot panic halfway, so a lock poisoned by a
/// panic elsewhere still guards consistent data.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
