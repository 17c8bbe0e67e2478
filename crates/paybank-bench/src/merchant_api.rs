//! The merchant's side of the calls the event scenarios make, as an integration would make
//! them: a signed establish, the sandbox's headless authorization, a capture, a clock advance,
//! and the server's event log to check deliveries against.

use std::time::Duration;

use paybank_core::model::Merchant;
use paybank_core::signature::{form_encode, request_signature_message, sign, HmacAlgorithm};
use serde_json::{json, Value};

/// Events the log answers per page (the API's largest page).
const EVENT_PAGE: usize = 500;
/// A clock advance settles a whole batch inside one request, so it may take a while.
const ADVANCE_TIMEOUT: Duration = Duration::from_secs(600);

/// One event as the server's log records it.
#[derive(Clone, Debug)]
pub struct LoggedEvent {
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Delivery attempts the server made.
    pub attempts: u64,
}

/// A merchant's credentials and the server it talks to.
pub struct MerchantApi {
    client: reqwest::Client,
    base: String,
    merchant_id: String,
    access_id: String,
    access_key: String,
}

impl MerchantApi {
    pub fn new(base: String, merchant: &Merchant) -> MerchantApi {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1024)
            .timeout(ADVANCE_TIMEOUT)
            .build()
            .expect("a plain HTTP client builds");
        MerchantApi {
            client,
            base,
            merchant_id: merchant.merchant_id.to_string(),
            access_id: merchant.access_id.clone(),
            access_key: merchant.access_key.clone(),
        }
    }

    /// Establishes a Deferred payment of $1.00 with a `requestSignature`; returns the
    /// authorization's transactionId.
    pub async fn establish(&self, reference: &str) -> anyhow::Result<String> {
        let mut data = json!({
            "accessId": self.access_id,
            "merchantId": self.merchant_id,
            "description": "Bench flow",
            "currency": "USD",
            "amount": "1.00",
            "merchantReference": reference,
            "paymentType": "Deferred",
            "returnUrl": "http://127.0.0.1/return",
            "cancelUrl": "http://127.0.0.1/cancel",
        });
        let message = request_signature_message(&data);
        data["requestSignature"] = json!(sign(HmacAlgorithm::Sha1, &self.access_key, &message));
        let path = "/api/v1/establish?createTransaction=true";
        let answer = self
            .post(path, "application/json", data.to_string())
            .await?;
        text_at(&answer, &["transactionId"])
    }

    /// Completes the Lightbox at Demo Bank without a browser, as a consumer of its own: with
    /// one shared login, every flow would draw on one simulated account until it ran dry.
    pub async fn authorize(&self, transaction_id: &str) -> anyhow::Result<()> {
        let path = format!("/api/v1/sandbox/transactions/{transaction_id}/authorize");
        let username = format!("bench-{transaction_id}");
        self.post_form(
            &path,
            &[("username", username.as_str()), ("password", "secret")],
        )
        .await?;
        Ok(())
    }

    /// Captures $1.00; returns the capture's transactionId.
    pub async fn capture(&self, transaction_id: &str, reference: &str) -> anyhow::Result<String> {
        let path = format!("/api/v1/transactions/{transaction_id}/capture");
        let fields = [("merchantReference", reference), ("amount", "1.00")];
        let answer = self.post_form(&path, &fields).await?;
        text_at(&answer, &["transaction", "transactionId"])
    }

    /// Moves the sandbox clock; the answer comes once everything due has run.
    pub async fn advance_clock(&self, seconds: i64) -> anyhow::Result<()> {
        let seconds = seconds.to_string();
        self.post_form("/api/v1/sandbox/clock/advance", &[("seconds", &seconds)])
            .await?;
        Ok(())
    }

    /// How far the sandbox clock is ahead of wall time, in milliseconds.
    pub async fn clock_offset_ms(&self) -> anyhow::Result<i64> {
        let answer = self.get("/api/v1/sandbox/clock").await?;
        answer["clock"]["offsetMs"]
            .as_i64()
            .ok_or_else(|| anyhow::anyhow!("no clock.offsetMs in {answer}"))
    }

    /// Every event of the merchant, page by page.
    pub async fn event_log(&self) -> anyhow::Result<Vec<LoggedEvent>> {
        let mut events = Vec::new();
        loop {
            let path = format!(
                "/api/v1/paybank/events?count={EVENT_PAGE}&startIndex={}",
                events.len()
            );
            let answer = self.get(&path).await?;
            let page = answer["events"].as_array().cloned().unwrap_or_default();
            let full = page.len() == EVENT_PAGE;
            events.extend(page.iter().map(logged_event));
            if !full {
                return Ok(events);
            }
        }
    }

    async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> anyhow::Result<Value> {
        let pairs: Vec<(String, String)> = fields
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        let body = form_encode(&pairs);
        self.post(path, "application/x-www-form-urlencoded", body)
            .await
    }

    async fn post(&self, path: &str, content_type: &str, body: String) -> anyhow::Result<Value> {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        self.send(request).await
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let response = request
            .basic_auth(&self.access_id, Some(&self.access_key))
            .send()
            .await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        anyhow::ensure!(
            status.is_success(),
            "{status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        Ok(serde_json::from_slice(&bytes)?)
    }
}

fn text_at(answer: &Value, path: &[&str]) -> anyhow::Result<String> {
    let found = path.iter().try_fold(answer, |value, key| value.get(key));
    found
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no {} in {answer}", path.join(".")))
}

fn logged_event(event: &Value) -> LoggedEvent {
    let text = |key: &str| event[key].as_str().unwrap_or_default().to_owned();
    LoggedEvent {
        event_id: text("eventId"),
        event_type: text("eventType"),
        state: text("state"),
        attempts: event["attempts"].as_u64().unwrap_or(0),
    }
}
