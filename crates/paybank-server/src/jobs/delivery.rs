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

/// How many notification URLs keep their parsed form at once. A payment may name a URL of its
/// own, so the cache starts over when full instead of growing without end; the origins' limits
/// are kept apart and survive that.
const TARGETS_KEPT_MAX: usize = 1024;

/// Bounds on deliveries in flight, overall and per merchant origin, and the notification URLs
/// seen, each parsed once.
pub struct DeliveryLimits {
    total: Arc<Semaphore>,
    per_origin_max: usize,
    per_origin: Mutex<HashMap<String, Arc<Semaphore>>>,
    targets: Mutex<HashMap<String, Arc<Target>>>,
}

/// A notification URL as the HTTP client takes it, and the limit of its origin. Parsing the
/// URL and finding its origin on every delivery cost more than signing the event.
struct Target {
    url: reqwest::Url,
    origin: Arc<Semaphore>,
}

impl DeliveryLimits {
    pub fn new(config: &WebhookConfig) -> DeliveryLimits {
        DeliveryLimits {
            total: Arc::new(Semaphore::new(config.concurrency_max.max(1))),
            per_origin_max: config.concurrency_per_origin_max.max(1),
            per_origin: Mutex::new(HashMap::new()),
            targets: Mutex::new(HashMap::new()),
        }
    }

    fn origin(&self, origin: &str) -> Arc<Semaphore> {
        lock(&self.per_origin)
            .entry(origin.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_origin_max)))
            .clone()
    }

    /// `url` parsed, with its origin's limit; Err(reason) if it is no URL the client can post to.
    fn target(&self, url: &str) -> Result<Arc<Target>, String> {
        if let Some(target) = lock(&self.targets).get(url) {
            return Ok(target.clone());
        }
        let parsed = reqwest::Url::parse(url)
            .map_err(|error| format!("invalid notification URL: {error}"))?;
        let origin = self.origin(&origin_of(url).unwrap_or_default());
        let target = Arc::new(Target {
            url: parsed,
            origin,
        });
        let mut targets = lock(&self.targets);
        if targets.len() >= TARGETS_KEPT_MAX {
            targets.clear();
        }
        targets.insert(url.to_owned(), target.clone());
        Ok(target)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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
    let target = limits.target(url)?;
    let _total = limits
        .total
        .acquire()
        .await
        .map_err(|error| error.to_string())?;
    let _origin = (target.origin.acquire().await).map_err(|error| error.to_string())?;
    let response = state
        .http
        .post(target.url.clone())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> DeliveryLimits {
        DeliveryLimits::new(&WebhookConfig {
            timeout_ms: 1_000,
            retry_delay_first_s: 1,
            retry_delay_max_s: 4,
            retry_window_s: 60,
            concurrency_max: 8,
            concurrency_per_origin_max: 2,
        })
    }

    #[test]
    fn urls_of_one_origin_share_its_limit_and_a_full_cache_keeps_it() {
        let limits = limits();
        let first = limits.target("http://shop.test:80/events?order=1").unwrap();
        let second = limits.target("HTTP://SHOP.test/other").unwrap();
        assert!(Arc::ptr_eq(&first.origin, &second.origin));
        assert_eq!(first.url.as_str(), "http://shop.test/events?order=1");
        let elsewhere = limits.target("https://other.test/events").unwrap();
        assert!(!Arc::ptr_eq(&first.origin, &elsewhere.origin));
        for order in 0..TARGETS_KEPT_MAX {
            limits
                .target(&format!("http://shop.test/o/{order}"))
                .unwrap();
        }
        assert!(lock(&limits.targets).len() <= TARGETS_KEPT_MAX);
        let again = limits.target("http://shop.test/events?order=1").unwrap();
        assert!(Arc::ptr_eq(&first.origin, &again.origin));
    }

    #[test]
    fn a_url_the_client_cannot_post_to_is_a_reason() {
        let error = limits().target("not a url").err().unwrap();
        assert!(error.starts_with("invalid notification URL"), "{error}");
    }
}
