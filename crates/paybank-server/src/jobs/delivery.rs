//! Event delivery: POSTs each due event, form-encoded and signed, to its notification URL,
//! records the attempt, and schedules a retry (doubling, capped) until the retry window ends.
//! A slow merchant only holds its own deliveries: concurrency is bounded per origin.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use paybank_core::signature::{
    sign, webhook_authorization_header, webhook_message_of_body, HmacAlgorithm,
};
use paybank_store::{DeliveryRecord, DueEvent, EventAttempt, NextDelivery, WriteSet};
use tokio::sync::Semaphore;

use crate::app::AppState;
use crate::config::WebhookConfig;
use crate::origins::origin_of;

/// Bounds on deliveries in flight, overall and per merchant origin.
pub struct DeliveryLimits {
    total: Arc<Semaphore>,
    per_origin_max: usize,
    per_origin: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl DeliveryLimits {
    pub fn new(config: &WebhookConfig) -> DeliveryLimits {
        DeliveryLimits {
            total: Arc::new(Semaphore::new(config.concurrency_max.max(1))),
            per_origin_max: config.concurrency_per_origin_max.max(1),
            per_origin: Mutex::new(HashMap::new()),
        }
    }

    fn origin(&self, origin: &str) -> Arc<Semaphore> {
        let mut map = self
            .per_origin
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.entry(origin.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_origin_max)))
            .clone()
    }
}

/// Claims the events due now and delivers them: the events of one transaction one after the
/// other, in the order they happened; different transactions concurrently.
pub async fn deliver_due_events(state: &AppState) -> anyhow::Result<usize> {
    let now = state.clock.now();
    let workers = &state.config.workers;
    let events = state
        .store
        .claim_due_events(now, workers.lease_ms, workers.batch_size)
        .await?;
    let count = events.len();
    let transaction = |event: &DueEvent| event.transaction_id;
    let work = |state: AppState, event| async move { deliver(&state, event).await };
    super::in_order_per_key(state, events, transaction, work).await?;
    Ok(count)
}

async fn deliver(state: &AppState, event: DueEvent) -> anyhow::Result<()> {
    let attempted_at = state.clock.now();
    let started = Instant::now();
    let outcome = match &event.notification_url {
        Some(url) => send(state, &event, url).await,
        None => Err("no notification URL is configured for this merchant".to_owned()),
    };
    let attempt = EventAttempt {
        attempt: event.attempts + 1,
        attempted_at,
        duration_ms: started.elapsed().as_millis() as i64,
        http_status: outcome.as_ref().ok().copied(),
        error: outcome.as_ref().err().cloned(),
    };
    let next = match (&outcome, &event.notification_url) {
        (Ok(200), _) => NextDelivery::Delivered,
        (_, None) => NextDelivery::GiveUp,
        _ => next_attempt(&state.config.webhooks, &event, attempted_at),
    };
    let delivery = DeliveryRecord {
        event_id: event.event_id,
        attempt,
        next,
    };
    state
        .store
        .commit(WriteSet {
            delivery: Some(delivery),
            ..WriteSet::default()
        })
        .await?;
    Ok(())
}

/// Doubling delays from the first, capped, until the window after creation closes.
fn next_attempt(config: &WebhookConfig, event: &DueEvent, failed_at: i64) -> NextDelivery {
    let exponent = u32::try_from(event.attempts.clamp(0, 30)).unwrap_or(30);
    let delay_s = config
        .retry_delay_first_s
        .saturating_mul(1u64 << exponent)
        .min(config.retry_delay_max_s);
    let due_at = failed_at + (delay_s as i64) * 1000;
    let window_end = event.created_at + (config.retry_window_s as i64) * 1000;
    match due_at <= window_end {
        true => NextDelivery::RetryAt(due_at),
        false => NextDelivery::GiveUp,
    }
}

/// One POST. Ok(status) when the merchant answered at all; Err(reason) otherwise.
async fn send(state: &AppState, event: &DueEvent, url: &str) -> Result<i64, String> {
    let merchant = state
        .store
        .merchant(event.merchant_id)
        .await
        .map_err(|error| error.to_string())?
        .ok_or("the merchant no longer exists")?;
    let signature = sign(
        HmacAlgorithm::Sha1,
        &merchant.access_key,
        &webhook_message_of_body(&event.body),
    );
    let limits = &state.delivery_limits;
    let origin_limit = limits.origin(&origin_of(url).unwrap_or_default());
    let _total = limits
        .total
        .acquire()
        .await
        .map_err(|error| error.to_string())?;
    let _origin = origin_limit
        .acquire()
        .await
        .map_err(|error| error.to_string())?;
    let response = state
        .http
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header(
            "Authorization",
            webhook_authorization_header(&merchant.access_id, &signature),
        )
        .header("webhook-id", event.event_id.to_string())
        .body(event.body.clone())
        .send()
        .await
        .map_err(|error| error.to_string())?;
    Ok(i64::from(response.status().as_u16()))
}
