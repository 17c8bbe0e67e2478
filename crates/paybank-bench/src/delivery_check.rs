//! Whether every event the server logged reached the receiver, verified, exactly once:
//! nothing lost, nothing the log does not know, and no repeat beyond the server's own retries.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::merchant_api::{LoggedEvent, MerchantApi};
use crate::receiver::{Receiver, Tally};

/// The receiver's tally held against the server's event log.
#[derive(Clone, Debug, Default)]
pub struct DeliveryCheck {
    pub logged: usize,
    pub accepted: usize,
    /// Logged, never accepted.
    pub lost: usize,
    /// Accepted, not in the log.
    pub unknown: usize,
    /// Logged events the server does not mark delivered.
    pub not_marked_delivered: usize,
    /// Accepted again, but the server made that many attempts: a retry after an answer it
    /// did not see (at-least-once delivery).
    pub retried: u64,
    /// Accepted more often than the server attempted.
    pub duplicates: u64,
    /// Two events of one type about one transaction (none of these flows has that).
    pub same_type_repeats: usize,
    pub invalid_signatures: u64,
    pub malformed: u64,
    /// Deliveries the receiver turned away while down.
    pub refused: u64,
    /// Accepted events by type.
    pub by_type: BTreeMap<String, usize>,
}

impl DeliveryCheck {
    /// What counts against the run: anything lost, unknown, duplicated or unverified.
    pub fn errors(&self) -> u64 {
        (self.lost + self.unknown + self.same_type_repeats) as u64
            + self.duplicates
            + self.invalid_signatures
            + self.malformed
    }

    pub fn describe(&self) -> String {
        let types: Vec<String> = self
            .by_type
            .iter()
            .map(|(event_type, count)| format!("{event_type} {count}"))
            .collect();
        format!(
            "{} events logged, {} received ({}), every signature checked: {} invalid; lost {}, \
             unknown {}, duplicated {}, repeated by retries {}, same type twice {}, not marked \
             delivered {}",
            self.logged,
            self.accepted,
            types.join(", "),
            self.invalid_signatures + self.malformed,
            self.lost,
            self.unknown,
            self.duplicates,
            self.retried,
            self.same_type_repeats,
            self.not_marked_delivered,
        )
    }
}

/// Reads the whole event log and compares it with what the receiver accepted. The server marks
/// an event delivered only after the receiver's answer reached it, so the log is read again,
/// for a few seconds, while some accepted events are not yet marked.
pub async fn check(api: &MerchantApi, receiver: &Receiver) -> anyhow::Result<DeliveryCheck> {
    let mut reads = 0;
    loop {
        let result = compare(&api.event_log().await?, &receiver.tally());
        reads += 1;
        if result.not_marked_delivered == 0 || reads == LOG_READS_MAX {
            return Ok(result);
        }
        tokio::time::sleep(LOG_READ_INTERVAL).await;
    }
}

/// Times the log is read before the check gives its verdict, and the pause between reads.
const LOG_READS_MAX: u32 = 20;
const LOG_READ_INTERVAL: Duration = Duration::from_millis(250);

fn compare(log: &[LoggedEvent], tally: &Tally) -> DeliveryCheck {
    let mut result = DeliveryCheck {
        logged: log.len(),
        accepted: tally.arrivals.len(),
        invalid_signatures: tally.invalid_signatures,
        malformed: tally.malformed,
        refused: tally.refused,
        ..DeliveryCheck::default()
    };
    let accepted: HashMap<&str, u64> = tally
        .arrivals
        .iter()
        .map(|arrival| {
            let repeats = tally.repeats.get(&arrival.event_id).copied().unwrap_or(0);
            (arrival.event_id.as_str(), 1 + repeats)
        })
        .collect();
    let mut known = 0;
    for event in log {
        result.not_marked_delivered += usize::from(event.state != "delivered");
        let Some(&times) = accepted.get(event.event_id.as_str()) else {
            result.lost += 1;
            continue;
        };
        known += 1;
        let extra = times - 1;
        let beyond_attempts = times.saturating_sub(event.attempts);
        result.duplicates += beyond_attempts;
        result.retried += extra - beyond_attempts.min(extra);
    }
    result.unknown = result.accepted.saturating_sub(known);
    let mut per_object: HashMap<(&str, &str), usize> = HashMap::new();
    for arrival in &tally.arrivals {
        *result
            .by_type
            .entry(arrival.event_type.clone())
            .or_default() += 1;
        *per_object
            .entry((&arrival.object_id, &arrival.event_type))
            .or_default() += 1;
    }
    result.same_type_repeats = per_object.values().filter(|count| **count > 1).count();
    result
}
