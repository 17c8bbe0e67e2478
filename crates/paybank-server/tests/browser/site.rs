//! A merchant's own website for the browser tests, on its own origin: a checkout page that
//! loads paybank's SDK and records what the SDK reports, return and cancel pages, and a page
//! that frames any URL and records the messages it gets.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use paybank_core::model::Merchant;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::client::sign_establish;

pub struct Site {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    shop: Arc<Shop>,
    server: JoinHandle<()>,
}

struct Shop {
    url: String,
    app_url: String,
    /// Set once the merchant exists (its allowed origins need this site's URL first); a
    /// stranger's site never has one.
    merchant: OnceLock<Merchant>,
    orders: AtomicU64,
}

impl Site {
    pub async fn spawn(app_url: &str) -> Site {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let shop = Arc::new(Shop {
            url: url.clone(),
            app_url: app_url.to_owned(),
            merchant: OnceLock::new(),
            orders: AtomicU64::new(0),
        });
        let router = Router::new()
            .route("/checkout", get(checkout))
            .route("/return", get(landing))
            .route("/cancel", get(landing))
            .route("/frame", get(frame))
            .with_state(shop.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Site { url, shop, server }
    }

    pub fn sell_for(&self, merchant: Merchant) {
        let _ = self.shop.merchant.set(merchant);
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// `/checkout?mode=overlay|widget|hash|notify[&script=pwmb.js&global=PayWithMyBank][&close=0]`.
async fn checkout(
    State(shop): State<Arc<Shop>>,
    Query(params): Query<HashMap<String, String>>,
) -> Html<String> {
    let merchant = shop.merchant.get().expect("a merchant's site");
    let mode = params.get("mode").map(String::as_str).unwrap_or("overlay");
    let script = params
        .get("script")
        .map(String::as_str)
        .unwrap_or("trustly.js");
    let global = params
        .get("global")
        .map(String::as_str)
        .unwrap_or("Trustly");
    let order = shop.orders.fetch_add(1, Ordering::Relaxed);
    let mut data = establish_data(&shop, merchant, mode, order);
    sign_establish(&mut data, &merchant.access_key);
    // An option no SDK knows rides along every time: unknown options must be ignored.
    let close_button = params.get("close").map(String::as_str) != Some("0");
    let call = match mode {
        "widget" => "sdk.selectBankWidget(establishData, { widgetContainerId: 'widget', sparkles: 3 });".to_owned(),
        _ => format!("document.getElementById('pay').addEventListener('click', function () {{ sdk.establish(establishData, {{ closeButton: {close_button}, dragAndDrop: true, sparkles: 3 }}); }});"),
    };
    Html(format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Test shop</title>
<script src="{app}/start/scripts/{script}?accessId={access_id}"></script></head>
<body><main data-page="merchant-checkout"><h1>Test shop</h1><button id="pay" type="button">Pay with your bank</button><div id="widget"></div></main>
<script>
window.__events = []; window.__messages = [];
window.addEventListener('message', function (event) {{ window.__messages.push(String(event.data)); }});
var sdk = window.{global};
var establishData = {data};
sdk.addPanelListener(function (command, obj) {{
  obj = obj || {{}};
  window.__events.push([command, obj.type || '', obj.page || '', obj.data || ''].join(':'));
  if (command === 'event' && obj.type === 'new_location' && String(obj.data).indexOf('#success') === 0) {{
    window.__result = obj.data;
    return false;
  }}
}});
{call}
</script></body></html>"#,
        app = shop.app_url,
        access_id = merchant.access_id,
    ))
}

fn establish_data(shop: &Shop, merchant: &Merchant, mode: &str, order: u64) -> Value {
    let (return_url, cancel_url) = match mode {
        "hash" => ("#success".to_owned(), "#cancel".to_owned()),
        "notify" => ("testapp://return".to_owned(), "testapp://cancel".to_owned()),
        _ => (
            format!("{}/return", shop.url),
            format!("{}/cancel", shop.url),
        ),
    };
    let mut data = json!({
        "accessId": merchant.access_id,
        "merchantId": merchant.merchant_id.to_string(),
        "merchantReference": format!("browser-{}-{order}", std::process::id()),
        "paymentType": "Deferred",
        "currency": "USD",
        "amount": "12.34",
        "description": "Browser test order",
        "returnUrl": return_url,
        "cancelUrl": cancel_url,
        "customer": { "name": "John Smith" },
    });
    if mode == "notify" {
        data["metadata"] =
            json!({ "integrationContext": "InAppBrowserNotify", "urlScheme": "testapp://" });
    }
    data
}

async fn landing(Query(params): Query<Vec<(String, String)>>) -> Html<String> {
    let rows: String = params
        .iter()
        .map(|(key, value)| format!("<li>{}={}</li>", escape(key), escape(value)))
        .collect();
    Html(format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Back at the shop</title></head>
<body><main data-page="merchant-landing"><h1>Back at the shop</h1><ul>{rows}</ul></main></body></html>"#
    ))
}

/// `/frame?src=URL`: frames `src` and records every message it posts.
async fn frame(Query(params): Query<HashMap<String, String>>) -> Html<String> {
    let src = params
        .get("src")
        .map(String::as_str)
        .unwrap_or("about:blank");
    Html(format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Framing</title></head>
<body><main data-page="framer"><iframe id="framed" title="framed" src="{src}" width="400" height="600"></iframe></main>
<script>
window.__messages = [];
window.addEventListener('message', function (event) {{ window.__messages.push(String(event.data)); }});
</script></body></html>"#,
        src = escape(src)
    ))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
