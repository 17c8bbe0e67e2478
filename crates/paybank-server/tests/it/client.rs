//! Typed merchant-side helpers over HTTP: establish, headless authorize, capture, refund,
//! cancel, refresh, reads, the sandbox clock and the event log, plus reply assertions.

use paybank_core::model::Merchant;
use paybank_core::settlement::{banking_days_later, next_cutoff};
use paybank_core::signature::{request_signature_message, sign, HmacAlgorithm};
use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::TestApp;

/// A request body as merchants send them.
pub enum Body {
    Empty,
    Json(Value),
    /// Form-urlencoded pairs; values are percent-encoded on the wire.
    Form(Vec<(String, String)>),
}

/// Turns `&[("k", "v")]` into form pairs.
pub fn form(pairs: &[(&str, &str)]) -> Body {
    Body::Form(
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect(),
    )
}

/// An HTTP answer: status, headers, text and (when it parses) JSON.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    /// Asserts 200 and returns the reply.
    pub fn ok(self) -> Reply {
        assert_eq!(self.status, 200, "expected 200, got: {}", self.text);
        self
    }

    /// The `transaction` object of a 200 reply.
    pub fn transaction(self) -> Value {
        self.ok().json["transaction"].clone()
    }

    /// Asserts the provider's error envelope with this status, code and location.
    pub fn assert_error(&self, status: u16, code: u64, location: Option<&str>) {
        assert_eq!(self.status, status, "status of {}", self.text);
        let content_type = self.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
        assert_eq!(content_type, Some("application/json"));
        let errors = self.json["errors"].as_array().expect("an errors array");
        assert_eq!(errors.len(), 1, "{}", self.text);
        let error = &errors[0];
        let domain = error["domain"].as_str().expect("domain");
        assert!(domain.starts_with("com.paywithmybank."), "{domain}");
        assert_eq!(error["code"].as_u64(), Some(code), "{}", self.text);
        assert_eq!(error["location"].as_str(), location, "{}", self.text);
        assert!(!error["message"].as_str().expect("message").is_empty());
        assert!(error["occurredAt"].as_i64().expect("occurredAt") > 0);
    }
}

/// A payment authorized through the headless sandbox authorization.
pub struct Authorized {
    pub id: String,
    /// From the Authorize event; None when the merchant has split tokens off.
    pub split_token: Option<String>,
}

/// What `GET /transactions` and the event log hold; equal snapshots mean nothing changed.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub transactions: Vec<Value>,
    pub events: usize,
}

/// Adds a valid `requestSignature` to establish data.
pub fn sign_establish(data: &mut Value, access_key: &str) {
    let message = request_signature_message(data);
    data["requestSignature"] = json!(sign(HmacAlgorithm::Sha1, access_key, &message));
}

/// Nested JSON as flat dotted form pairs (`customer.address.country=US`).
pub fn flatten(value: &Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let path = match prefix {
                        "" => key.clone(),
                        _ => format!("{prefix}.{key}"),
                    };
                    walk(&path, child, out);
                }
            }
            Value::String(text) => out.push((prefix.to_owned(), text.clone())),
            other => out.push((prefix.to_owned(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    walk("", value, &mut out);
    out
}

impl TestApp {
    /// One API call as `merchant`.
    pub async fn call(&self, merchant: &Merchant, method: Method, path: &str, body: Body) -> Reply {
        let credentials = (merchant.access_id.as_str(), merchant.access_key.as_str());
        self.call_as(Some(credentials), method, path, body).await
    }

    /// One API call with any (or no) Basic credentials.
    pub async fn call_as(
        &self,
        credentials: Option<(&str, &str)>,
        method: Method,
        path: &str,
        body: Body,
    ) -> Reply {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some((access_id, access_key)) = credentials {
            request = request.basic_auth(access_id, Some(access_key));
        }
        request = match body {
            Body::Empty => request,
            Body::Json(value) => request
                .header(CONTENT_TYPE, "application/json")
                .body(value.to_string()),
            Body::Form(pairs) => request
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(
                    form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(pairs)
                        .finish(),
                ),
        };
        let response = request.send().await.expect("send the request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("read the body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            json,
        }
    }

    /// Signed Deferred establish data with this app's return, cancel and notification URLs.
    pub fn establish_data(&self, merchant: &Merchant, reference: &str, amount: &str) -> Value {
        let mut data = json!({
            "accessId": merchant.access_id,
            "merchantId": merchant.merchant_id.to_string(),
            "description": "Two concert tickets",
            "currency": "USD",
            "amount": amount,
            "merchantReference": reference,
            "paymentType": "Deferred",
            "returnUrl": format!("{}/return", self.receiver.url),
            "cancelUrl": format!("{}/cancel", self.receiver.url),
            "notificationUrl": self.receiver.notify_url(),
            "customer": {
                "name": "John Smith",
                "email": "john@example.com",
                "address": { "city": "San Francisco", "country": "US" }
            },
            "metadata": { "finishButtonLabelType": "pay" }
        });
        sign_establish(&mut data, &merchant.access_key);
        data
    }

    pub async fn post_establish(&self, merchant: &Merchant, body: Body) -> Reply {
        let path = "/api/v1/establish?createTransaction=true";
        self.call(merchant, Method::POST, path, body).await
    }

    /// Establishes a Deferred authorization; returns the whole (200) answer.
    pub async fn establish(&self, merchant: &Merchant, reference: &str, amount: &str) -> Value {
        let data = self.establish_data(merchant, reference, amount);
        self.post_establish(merchant, Body::Json(data))
            .await
            .ok()
            .json
    }

    /// Establishes and returns the authorization's transactionId.
    pub async fn establish_id(&self, merchant: &Merchant, reference: &str, amount: &str) -> String {
        let reply = self.establish(merchant, reference, amount).await;
        text(&reply["transaction"]["transactionId"])
    }

    /// `POST /sandbox/transactions/{id}/authorize` with Demo Bank.
    pub async fn authorize(
        &self,
        merchant: &Merchant,
        id: &str,
        username: &str,
        password: &str,
        mfa_answer: Option<&str>,
    ) -> Reply {
        let mut body = json!({ "bank": "Demo Bank", "username": username, "password": password });
        if let Some(answer) = mfa_answer {
            body["mfaAnswer"] = json!(answer);
        }
        let path = format!("/api/v1/sandbox/transactions/{id}/authorize");
        self.call(merchant, Method::POST, &path, Body::Json(body))
            .await
    }

    /// Establishes and authorizes headlessly with `password`, delivers the events, and picks
    /// the split token from the Authorize event, as a merchant would.
    pub async fn authorized_with(
        &self,
        merchant: &Merchant,
        reference: &str,
        amount: &str,
        password: &str,
    ) -> Authorized {
        let id = self.establish_id(merchant, reference, amount).await;
        let username = format!("user_{reference}");
        let reply = self
            .authorize(merchant, &id, &username, password, None)
            .await;
        assert_eq!(reply.transaction()["status"], 2);
        self.deliver().await;
        let authorize = self.receiver.only(&id, "Authorize");
        assert!(authorize.signature_valid);
        let split_token = authorize.param("splitToken").map(str::to_owned);
        Authorized { id, split_token }
    }

    /// [`TestApp::authorized_with`] with an ordinary Demo Bank login.
    pub async fn authorized(
        &self,
        merchant: &Merchant,
        reference: &str,
        amount: &str,
    ) -> Authorized {
        self.authorized_with(merchant, reference, amount, "secret")
            .await
    }

    /// A form-encoded capture, the split token percent-encoded, as merchants send it.
    pub async fn capture(
        &self,
        merchant: &Merchant,
        id: &str,
        reference: &str,
        amount: &str,
        split_token: Option<&str>,
    ) -> Reply {
        let mut pairs = vec![("merchantReference", reference), ("amount", amount)];
        if let Some(token) = split_token {
            pairs.push(("splitToken", token));
        }
        let path = format!("/api/v1/transactions/{id}/capture");
        self.call(merchant, Method::POST, &path, form(&pairs)).await
    }

    pub async fn refund(&self, merchant: &Merchant, id: &str, amount: &str) -> Reply {
        let path = format!("/api/v1/transactions/{id}/refund");
        let body = form(&[("amount", amount)]);
        self.call(merchant, Method::POST, &path, body).await
    }

    pub async fn cancel(&self, merchant: &Merchant, id: &str) -> Reply {
        let path = format!("/api/v1/transactions/{id}/cancel");
        let body = form(&[("message", "Customer changed their mind")]);
        self.call(merchant, Method::POST, &path, body).await
    }

    pub async fn refresh(&self, merchant: &Merchant, id: &str, split_token: &str) -> Reply {
        let path = format!("/api/v1/transactions/{id}/refresh");
        let body = form(&[("splitToken", split_token)]);
        self.call(merchant, Method::POST, &path, body).await
    }

    pub async fn get_transaction(&self, merchant: &Merchant, id: &str) -> Reply {
        let path = format!("/api/v1/transactions/{id}");
        self.call(merchant, Method::GET, &path, Body::Empty).await
    }

    /// The transaction object of `GET /transactions/{id}`.
    pub async fn transaction(&self, merchant: &Merchant, id: &str) -> Value {
        self.get_transaction(merchant, id).await.transaction()
    }

    /// `GET /transactions?{query}`.
    pub async fn list_transactions(&self, merchant: &Merchant, query: &str) -> Reply {
        let path = format!("/api/v1/transactions?{query}");
        self.call(merchant, Method::GET, &path, Body::Empty).await
    }

    /// The merchant's events (oldest first), at most 500.
    pub async fn events(&self, merchant: &Merchant) -> Vec<Value> {
        let path = "/api/v1/paybank/events?count=500";
        let reply = self
            .call(merchant, Method::GET, path, Body::Empty)
            .await
            .ok();
        reply.json["events"].as_array().expect("events").clone()
    }

    /// The merchant's events about one transaction.
    pub async fn events_of(&self, merchant: &Merchant, id: &str) -> Vec<Value> {
        let path = format!("/api/v1/paybank/events?transactionId={id}&count=500");
        let reply = self
            .call(merchant, Method::GET, &path, Body::Empty)
            .await
            .ok();
        reply.json["events"].as_array().expect("events").clone()
    }

    /// The event types logged about one transaction, oldest first.
    pub async fn event_types_of(&self, merchant: &Merchant, id: &str) -> Vec<String> {
        let events = self.events_of(merchant, id).await;
        events
            .iter()
            .map(|event| text(&event["eventType"]))
            .collect()
    }

    /// `GET /paybank/events/{id}`: the event with its delivery attempts.
    pub async fn event(&self, merchant: &Merchant, event_id: &str) -> Value {
        let path = format!("/api/v1/paybank/events/{event_id}");
        let reply = self.call(merchant, Method::GET, &path, Body::Empty).await;
        reply.ok().json["event"].clone()
    }

    /// Everything the merchant can see: its transactions and how many events it has.
    pub async fn snapshot(&self, merchant: &Merchant) -> Snapshot {
        let reply = self
            .list_transactions(merchant, "count=100&sortOrder=asc")
            .await
            .ok();
        Snapshot {
            transactions: reply.json["transactions"].as_array().expect("list").clone(),
            events: self.events(merchant).await.len(),
        }
    }

    /// `POST /sandbox/clock/advance`: moves simulated time, running what falls due.
    pub async fn advance(&self, merchant: &Merchant, seconds: i64) {
        let body = form(&[("seconds", &seconds.to_string())]);
        let path = "/api/v1/sandbox/clock/advance";
        self.call(merchant, Method::POST, path, body).await.ok();
    }

    /// Runs the work due now (event deliveries) without moving the clock.
    pub async fn deliver(&self) {
        paybank_server::jobs::run_pending_jobs(&self.state)
            .await
            .expect("run the pending jobs");
    }

    pub async fn clock_now(&self, merchant: &Merchant) -> i64 {
        let reply = self
            .call(merchant, Method::GET, "/api/v1/sandbox/clock", Body::Empty)
            .await;
        reply.ok().json["clock"]["now"].as_i64().expect("now")
    }

    /// Moves the clock to 09:00 Eastern on a banking day, before the first same-day ACH window,
    /// chosen so that a capture made now is submitted within a day and completed (or returned)
    /// within six, even across weekends and holidays. Call before creating anything.
    pub async fn align_clock(&self, merchant: &Merchant) {
        const HOUR: i64 = 3_600_000;
        const DAY: i64 = 24 * HOUR;
        let now = self.clock_now(merchant).await;
        let policy = self.state.policy.as_ref();
        let today = paybank_core::eastern::eastern_date(now);
        let nine = time::Time::from_hms(9, 0, 0).expect("09:00");
        let target = (1..60)
            .filter_map(|day| today.checked_add(time::Duration::days(day)))
            .map(|date| paybank_core::eastern::eastern_to_utc_ms(date, nine))
            .find(|&at| {
                let cutoff = next_cutoff(at, policy);
                let completes = banking_days_later(cutoff, policy.settlement_banking_days);
                cutoff - at < DAY && completes < at + 6 * DAY - HOUR
            })
            .expect("a quiet banking day within two months");
        self.advance(merchant, (target - now) / 1000 + 1).await;
    }
}

/// A JSON string value (or any value printed) as text.
pub fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The query parameters of a URL, form-decoded, in order.
pub fn query_params(url: &str) -> Vec<(String, String)> {
    let query = url
        .split_once('?')
        .map(|(_, query)| query)
        .unwrap_or_default();
    let query = query.split('#').next().unwrap_or_default();
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// One query parameter of a URL.
pub fn query_param(url: &str, key: &str) -> Option<String> {
    query_params(url)
        .into_iter()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value)
}
