//! The bench's merchant endpoint for event notifications: it checks every signature as a
//! merchant would, records when each event first arrived, and can go down and come back, so
//! the event scenarios measure delivery latency, drain rate and recovery after an outage.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONNECTION};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Router};
use paybank_core::signature::{parse_basic_authorization, verify, webhook_message};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// One event's first accepted delivery.
#[derive(Clone, Debug)]
pub struct Arrival {
    pub event_id: String,
    pub event_type: String,
    /// The transaction the event is about.
    pub object_id: String,
    /// The event's `createdAt`: the server's clock (wall time plus the sandbox offset) when
    /// the rule that caused it ran, just before its commit.
    pub created_at: i64,
    /// Wall time at arrival, in milliseconds since the epoch.
    pub arrived_ms: i64,
}

/// Everything the receiver saw.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Each event's first accepted delivery, in arrival order.
    pub arrivals: Vec<Arrival>,
    /// Accepted deliveries of an event already accepted once, by eventId.
    pub repeats: HashMap<String, u64>,
    /// Notifications whose signature did not verify (answered 401, never accepted).
    pub invalid_signatures: u64,
    /// Notifications whose body was not a form (answered 400).
    pub malformed: u64,
    /// Deliveries turned away while down: connections dropped at once, and requests on
    /// connections opened before the outage, answered 503.
    pub refused: u64,
    seen: HashSet<String>,
}

struct Shared {
    down: AtomicBool,
    /// accessId and accessKey of the merchant whose notifications this endpoint checks.
    key: Mutex<Option<(String, String)>>,
    tally: Mutex<Tally>,
    /// Events accepted so far, for waiting without polling.
    accepted: watch::Sender<usize>,
}

/// A running receiver; stops when dropped.
pub struct Receiver {
    pub url: String,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Receiver {
    pub async fn spawn() -> anyhow::Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            down: AtomicBool::new(false),
            key: Mutex::new(None),
            tally: Mutex::new(Tally::default()),
            accepted: watch::channel(0).0,
        });
        let router = Router::new().fallback(record).with_state(shared.clone());
        let listener = Switchable {
            inner: listener,
            shared: shared.clone(),
        };
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Receiver {
            url,
            shared,
            server,
        })
    }

    /// The merchant's notification URL.
    pub fn notify_url(&self) -> String {
        format!("{}/events", self.url)
    }

    /// Checks notifications against this merchant's key from now on.
    pub fn trust(&self, access_id: &str, access_key: &str) {
        *lock(&self.shared.key) = Some((access_id.to_owned(), access_key.to_owned()));
    }

    /// Takes the endpoint down (every delivery fails) or brings it back.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    /// Events accepted so far.
    pub fn accepted(&self) -> usize {
        *self.shared.accepted.borrow()
    }

    /// Waits until `count` events have been accepted; false if `timeout` passed first.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> bool {
        let mut accepted = self.shared.accepted.subscribe();
        let reached = async {
            accepted
                .wait_for(|accepted| *accepted >= count)
                .await
                .is_ok()
        };
        tokio::time::timeout(timeout, reached).await == Ok(true)
    }

    /// The first arrivals from the `start`th accepted event on.
    pub fn arrivals_since(&self, start: usize) -> Vec<Arrival> {
        let tally = lock(&self.shared.tally);
        tally.arrivals.get(start..).unwrap_or_default().to_vec()
    }

    /// Deliveries turned away while down, so far.
    pub fn refused(&self) -> u64 {
        lock(&self.shared.tally).refused
    }

    pub fn tally(&self) -> Tally {
        lock(&self.shared.tally).clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Answers one notification: 503 while down, 400 if it is no form, 401 if the signature does
/// not verify, otherwise 200 (recorded once per eventId).
async fn record(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    if shared.down.load(Ordering::SeqCst) {
        lock(&shared.tally).refused += 1;
        // Closing makes the sender's next attempt open a connection, which is then dropped.
        return (StatusCode::SERVICE_UNAVAILABLE, [(CONNECTION, "close")]).into_response();
    }
    let Ok(Form(params)) = form else {
        lock(&shared.tally).malformed += 1;
        return StatusCode::BAD_REQUEST.into_response();
    };
    let authorization = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let key = lock(&shared.key).clone();
    if !key.is_some_and(|(access_id, access_key)| {
        signature_valid(authorization, &params, &access_id, &access_key)
    }) {
        lock(&shared.tally).invalid_signatures += 1;
        return StatusCode::UNAUTHORIZED.into_response();
    }
    accept(&shared, &params);
    StatusCode::OK.into_response()
}

/// A merchant's check: the header names this merchant, and its signature is the HMAC-SHA1
/// of the decoded body (`k=v` pairs in the order sent) under the merchant's accessKey.
fn signature_valid(
    authorization: &str,
    params: &[(String, String)],
    access_id: &str,
    access_key: &str,
) -> bool {
    match parse_basic_authorization(authorization) {
        Some(credentials) => {
            credentials.access_id() == access_id
                && verify(access_key, &webhook_message(params), credentials.secret())
        }
        None => false,
    }
}

fn accept(shared: &Shared, params: &[(String, String)]) {
    let param = |key: &str| {
        params
            .iter()
            .find(|(name, _)| name == key)
            .map_or("", |(_, value)| value.as_str())
    };
    let event_id = param("eventId").to_owned();
    let mut tally = lock(&shared.tally);
    if !tally.seen.insert(event_id.clone()) {
        *tally.repeats.entry(event_id).or_default() += 1;
        return;
    }
    tally.arrivals.push(Arrival {
        event_id,
        event_type: param("eventType").to_owned(),
        object_id: param("objectId").to_owned(),
        created_at: param("createdAt").parse().unwrap_or(0),
        arrived_ms: paybank_server::clock::wall_time_ms(),
    });
    let count = tally.arrivals.len();
    drop(tally);
    shared.accepted.send_replace(count);
}

/// A listener that drops every new connection while the receiver is down, as a merchant's
/// endpoint that is away refuses them.
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
            if !self.shared.down.load(Ordering::SeqCst) {
                return (stream, address);
            }
            lock(&self.shared.tally).refused += 1;
            drop(stream);
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paybank_core::signature::{sign, webhook_authorization_header, HmacAlgorithm};

    /// The receiver accepts exactly what the server signs, and nothing signed with another key
    /// or for another merchant.
    #[test]
    fn signature_check_accepts_the_servers_signature_only() {
        let params: Vec<(String, String)> = [("eventId", "1"), ("message", "a b+c&d")]
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        let signature = sign(HmacAlgorithm::Sha1, "key", &webhook_message(&params));
        let header = webhook_authorization_header("shop", &signature);
        assert!(signature_valid(&header, &params, "shop", "key"));
        assert!(!signature_valid(&header, &params, "shop", "other"));
        assert!(!signature_valid(&header, &params, "other", "key"));
        assert!(!signature_valid("Basic !", &params, "shop", "key"));
    }
}
