//! The shop's webhook endpoint and the log of what it received: each notification's signature
//! is checked as merchants are told to (client-flows §6), and each event is kept once.

use std::collections::{HashSet, VecDeque};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use paybank_core::model::Merchant;
use paybank_core::signature::{parse_basic_authorization, verify, webhook_message};
use serde::Serialize;

use super::{demo_merchant, lock};
use crate::app::AppState;

/// How many notifications the shop remembers; the oldest are forgotten first.
const NOTIFICATIONS_MAX: usize = 1000;

/// The transactionType of a bank authorization, the transaction an order is about.
const AUTHORIZATION_TYPE: &str = "1";

/// One event notification as the shop recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReceivedEvent {
    pub event_id: String,
    pub event_type: String,
    /// The transaction the event is about (`objectId`).
    pub transaction_id: String,
    pub transaction_type: String,
    /// The transaction it hangs from: the authorization of a capture, the capture of a refund.
    pub parent_object_id: Option<String>,
    pub merchant_reference: String,
    pub status: String,
    pub status_message: String,
    /// Simulated time of the event, epoch milliseconds.
    pub created_at: i64,
    /// Sent once, with the Authorize event of an authorization; captures need it.
    pub split_token: Option<String>,
}

/// The notifications received, oldest first, with their eventIds for de-duplication.
#[derive(Default)]
pub(super) struct NotificationLog {
    events: VecDeque<ReceivedEvent>,
    /// The eventIds of `events`: retries resend an event with the same eventId.
    event_ids: HashSet<String>,
}

impl NotificationLog {
    /// Keeps `event` unless its eventId is already kept; forgets the oldest beyond the bound.
    fn record(&mut self, event: ReceivedEvent) {
        if !self.event_ids.insert(event.event_id.clone()) {
            return;
        }
        self.events.push_back(event);
        if self.events.len() > NOTIFICATIONS_MAX {
            if let Some(oldest) = self.events.pop_front() {
                self.event_ids.remove(&oldest.event_id);
            }
        }
    }

    pub(super) fn all(&self) -> Vec<ReceivedEvent> {
        self.events.iter().cloned().collect()
    }

    /// Events about any of `transaction_ids` or their children (a capture's refunds, say),
    /// oldest first; arrival order breaks ties.
    pub(super) fn about(&self, transaction_ids: &[String]) -> Vec<ReceivedEvent> {
        let is_about = |event: &&ReceivedEvent| {
            let parent = event.parent_object_id.as_ref();
            transaction_ids.contains(&event.transaction_id)
                || parent.is_some_and(|parent| transaction_ids.contains(parent))
        };
        let mut about: Vec<ReceivedEvent> = self.events.iter().filter(is_about).cloned().collect();
        about.sort_by_key(|event| event.created_at);
        about
    }

    /// The split token of an authorization, from its Authorize event.
    pub(super) fn split_token_of(&self, authorization_id: &str) -> Option<String> {
        self.events
            .iter()
            .rev()
            .filter(|event| event.transaction_id == authorization_id)
            .find_map(|event| event.split_token.clone())
    }

    /// The latest event of each of the last `count` authorizations, newest first.
    pub(super) fn recent_orders(&self, count: usize) -> Vec<ReceivedEvent> {
        let mut seen: Vec<ReceivedEvent> = Vec::new();
        let authorizations = self.events.iter().rev();
        for event in authorizations.filter(|event| event.transaction_type == AUTHORIZATION_TYPE) {
            if seen.len() == count {
                break;
            }
            if !seen
                .iter()
                .any(|known| known.transaction_id == event.transaction_id)
            {
                seen.push(event.clone());
            }
        }
        seen
    }
}

/// `POST /demo/notifications`: 401 and nothing kept unless signed with the shop's accessKey;
/// otherwise kept once per eventId and answered 200 `OK`, as the provider expects.
pub(super) async fn receive_notification(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let merchant = match demo_merchant(&state).await {
        Ok((merchant, _)) => merchant,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "demo shop has no merchant");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let authorization = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if !is_signed_by(&merchant, authorization, &pairs) {
        return (StatusCode::UNAUTHORIZED, "Invalid signature").into_response();
    }
    let Some(event) = received_event(&pairs) else {
        return (StatusCode::BAD_REQUEST, "Not an event notification").into_response();
    };
    lock(&state.demo.notifications).record(event);
    (StatusCode::OK, "OK").into_response()
}

/// The merchant's check: `Basic base64(accessId:signature)` where the signature is the
/// HMAC of the URL-decoded body, its pairs in the order received.
fn is_signed_by(merchant: &Merchant, authorization: &str, pairs: &[(String, String)]) -> bool {
    let Some(credentials) = parse_basic_authorization(authorization) else {
        return false;
    };
    credentials.access_id() == merchant.access_id
        && verify(
            &merchant.access_key,
            &webhook_message(pairs),
            credentials.secret(),
        )
}

fn received_event(pairs: &[(String, String)]) -> Option<ReceivedEvent> {
    let param = |key: &str| {
        pairs
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
    };
    let required = |key: &str| param(key).filter(|value| !value.is_empty());
    Some(ReceivedEvent {
        event_id: required("eventId")?,
        event_type: required("eventType")?,
        transaction_id: required("objectId")?,
        transaction_type: param("transactionType").unwrap_or_default(),
        parent_object_id: required("parentObjectId"),
        merchant_reference: param("merchantReference").unwrap_or_default(),
        status: param("status").unwrap_or_default(),
        status_message: param("statusMessage").unwrap_or_default(),
        created_at: param("createdAt")
            .and_then(|at| at.parse().ok())
            .unwrap_or_default(),
        split_token: required("splitToken"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(event_id: &str, transaction_id: &str, parent: Option<&str>) -> ReceivedEvent {
        ReceivedEvent {
            event_id: event_id.to_owned(),
            event_type: "Authorize".to_owned(),
            transaction_id: transaction_id.to_owned(),
            transaction_type: if parent.is_some() { "3" } else { "1" }.to_owned(),
            parent_object_id: parent.map(str::to_owned),
            merchant_reference: "demo-1".to_owned(),
            status: "2".to_owned(),
            status_message: "Authorized".to_owned(),
            created_at: 1,
            split_token: None,
        }
    }

    #[test]
    fn the_log_keeps_each_event_once_and_forgets_the_oldest() {
        let mut log = NotificationLog::default();
        log.record(event("e1", "t1", None));
        log.record(event("e1", "t1", None));
        assert_eq!(log.all().len(), 1);
        for n in 0..NOTIFICATIONS_MAX {
            log.record(event(&format!("x{n}"), "t2", Some("t1")));
        }
        let kept_e1 = |log: &NotificationLog| {
            let all = log.all();
            all.iter().filter(|event| event.event_id == "e1").count()
        };
        assert_eq!(log.all().len(), NOTIFICATIONS_MAX);
        assert_eq!(kept_e1(&log), 0);
        // A forgotten event may come back: the de-duplication window is the log itself.
        log.record(event("e1", "t1", None));
        assert_eq!(kept_e1(&log), 1);
        assert_eq!(log.about(&["t1".to_owned()]).len(), NOTIFICATIONS_MAX);
    }
}
