//! A merchant's webhook endpoint: records every notification (headers and raw body) and checks
//! its signature exactly as a merchant would (client-flows §6). It can answer 500, or be down.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONNECTION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How the receiver answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// 200 OK.
    Up,
    /// 500 Internal Server Error (the notification is still recorded).
    Failing,
    /// Connections are accepted and closed at once, without an answer; nothing is recorded.
    Down,
}

/// One notification as received.
#[derive(Clone, Debug)]
pub struct Notification {
    pub authorization: String,
    pub content_type: String,
    pub webhook_id: Option<String>,
    /// The raw body, byte for byte.
    pub body: String,
    /// The body form-decoded, in order.
    pub params: Vec<(String, String)>,
    pub signature_valid: bool,
    pub answered: u16,
}

impl Notification {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }

    pub fn event_type(&self) -> &str {
        self.param("eventType").unwrap_or_default()
    }

    pub fn event_id(&self) -> &str {
        self.param("eventId").unwrap_or_default()
    }
}

struct Shared {
    mode: Mutex<Mode>,
    /// accessId → accessKey of the merchants this endpoint belongs to.
    keys: Mutex<HashMap<String, String>>,
    received: Mutex<Vec<Notification>>,
}

pub struct Receiver {
    /// `http://127.0.0.1:PORT`; an allowed origin of every test merchant.
    pub url: String,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Receiver {
    pub async fn spawn() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let shared = Arc::new(Shared {
            mode: Mutex::new(Mode::Up),
            keys: Mutex::new(HashMap::new()),
            received: Mutex::new(Vec::new()),
        });
        let router = Router::new().fallback(record).with_state(shared.clone());
        let listener = Switchable {
            inner: listener,
            shared: shared.clone(),
        };
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Receiver {
            url,
            shared,
            server,
        }
    }

    pub fn notify_url(&self) -> String {
        format!("{}/notify", self.url)
    }

    /// Lets the receiver verify notifications signed with this merchant's key.
    pub fn trust(&self, access_id: &str, access_key: &str) {
        lock(&self.shared.keys).insert(access_id.to_owned(), access_key.to_owned());
    }

    pub fn set_mode(&self, mode: Mode) {
        *lock(&self.shared.mode) = mode;
    }

    pub fn received(&self) -> Vec<Notification> {
        lock(&self.shared.received).clone()
    }

    /// Notifications about one transaction (`objectId`), in arrival order.
    pub fn about(&self, transaction_id: &str) -> Vec<Notification> {
        self.received()
            .into_iter()
            .filter(|notification| notification.param("objectId") == Some(transaction_id))
            .collect()
    }

    /// The event types received about one transaction, ordered by the events' `createdAt`
    /// (retries can reorder arrivals; `about` keeps the arrival order).
    pub fn event_types(&self, transaction_id: &str) -> Vec<String> {
        let mut about = self.about(transaction_id);
        about.sort_by_key(|notification| {
            notification
                .param("createdAt")
                .and_then(|at| at.parse::<i64>().ok())
        });
        about
            .iter()
            .map(|notification| notification.event_type().to_owned())
            .collect()
    }

    /// The one notification of a type about a transaction; panics if there is not exactly one.
    pub fn only(&self, transaction_id: &str, event_type: &str) -> Notification {
        let found: Vec<Notification> = self
            .about(transaction_id)
            .into_iter()
            .filter(|notification| notification.event_type() == event_type)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "{event_type} notifications about {transaction_id}: {:?}",
            self.event_types(transaction_id)
        );
        found.into_iter().next().expect("one")
    }

    /// Notifications carrying one eventId (retries and resends of one event).
    pub fn with_event_id(&self, event_id: &str) -> Vec<Notification> {
        self.received()
            .into_iter()
            .filter(|notification| notification.event_id() == event_id)
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn record(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let authorization = header(AUTHORIZATION);
    let body = String::from_utf8_lossy(&body).into_owned();
    let access_key =
        access_id_of(&authorization).and_then(|id| lock(&shared.keys).get(&id).cloned());
    let signature_valid = access_key
        .is_some_and(|access_key| verify_notification(&authorization, &body, &access_key));
    let answered = match *lock(&shared.mode) {
        Mode::Failing => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::OK,
    };
    let notification = Notification {
        content_type: header(CONTENT_TYPE),
        webhook_id: headers
            .get("webhook-id")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
        params: form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect(),
        authorization,
        body,
        signature_valid,
        answered: answered.as_u16(),
    };
    lock(&shared.received).push(notification);
    // No keep-alive: every delivery opens a new connection, so `Down` takes effect at once.
    (answered, [(CONNECTION, "close")], "OK").into_response()
}

/// The accessId of a `Basic base64(accessId:signature)` header.
fn access_id_of(authorization: &str) -> Option<String> {
    basic_credentials(authorization).map(|(access_id, _)| access_id)
}

fn basic_credentials(authorization: &str) -> Option<(String, String)> {
    let encoded = authorization.trim().strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (access_id, signature) = decoded.split_once(':')?;
    Some((access_id.to_owned(), signature.to_owned()))
}

/// A merchant's check of a notification: decode the header, URL-decode the raw body as UTF-8
/// back into `k=v&…` (order kept), HMAC-SHA1 it with the accessKey, base64, compare.
pub fn verify_notification(authorization: &str, raw_body: &str, access_key: &str) -> bool {
    let Some((_, signature)) = basic_credentials(authorization) else {
        return false;
    };
    let decoded: Vec<String> = form_urlencoded::parse(raw_body.as_bytes())
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    paybank_core::signature::verify(access_key, &decoded.join("&"), &signature)
}

/// A listener that drops every connection while the receiver is down.
struct Switchable {
    inner: TcpListener,
    shared: Arc<Shared>,
}

impl axum::serve::Listener for Switchable {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            let (stream, address) = axum::serve::Listener::accept(&mut self.inner).await;
            let down = *lock(&self.shared.mode) == Mode::Down;
            if !down {
                return (stream, address);
            }
            drop(stream);
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// The published notification vector of client-flows §6, checked with the receiver's own
/// verification function.
#[test]
fn the_published_notification_vector_verifies_with_the_receivers_check() {
    let body = "merchantId=1002463580&merchantReference=cb180040-7210-4ab9-97b7-415824754802&paymentType=2&transactionType=3&eventId=1002593570&eventType=Authorize&objectId=1002593555&objectType=Transaction&message=&timeZone=Etc%2FUTC&createdAt=1556234040954&accessId=M8RaHgEjBE54zuFYMRQq&paymentProviderTransaction.status=AC100&paymentProviderTransaction.statusMessage=AC100&status=2&statusMessage=Authorized";
    let header = "Basic TThSYUhnRWpCRTU0enVGWU1SUXE6ZFBnMEpWY3Rxb2dTRTRXVjhGSGZtRkt0MXdJPQ==";
    assert!(verify_notification(header, body, "123456"));
    assert_eq!(
        access_id_of(header).as_deref(),
        Some("M8RaHgEjBE54zuFYMRQq")
    );
    assert!(!verify_notification(header, body, "654321"));
    let tampered = body.replace("status=2", "status=4");
    assert!(!verify_notification(header, &tampered, "123456"));
    // The documented header was made with an unpublished key.
    let documented = "Basic TThSYUhnRWpCRTU0enVGWU1SUXE6RVlOM0dYYXNyVlUxdlExdXlZejIyTk5RZHk0PQ==";
    assert!(!verify_notification(documented, body, "123456"));
    // A signature over the raw, undecoded body is the wrong form (§6).
    let raw_form = format!(
        "Basic {}",
        STANDARD.encode("M8RaHgEjBE54zuFYMRQq:ag0TDdvqeV62inbOug07py6nc3g=")
    );
    assert!(!verify_notification(&raw_form, body, "123456"));
}
