//! Counts of the group-commit writer's work since the store opened: how many batches it
//! committed, how many commands they held, and how long each took, so an operator (or the
//! benchmark harness) can tell a slow disk from a busy server.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The upper bounds of the batch-time buckets, in microseconds; a last bucket takes the rest.
pub const BATCH_BUCKET_BOUNDS_US: [u64; 12] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000,
];

/// What the writer has done since the store opened. Every count only grows, so the work
/// of a span of time is the difference of two reads ([`WriterStats::since`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Batches committed, or rolled back whole.
    pub batches: u64,
    /// Commands in those batches (changes, claims, clock moves, …), chain reads not counted.
    pub commands: u64,
    /// Batches by how long they took, from their first statement until every caller could
    /// be answered (the commit and its flush included): one count per bucket of
    /// [`BATCH_BUCKET_BOUNDS_US`], then one for longer batches.
    pub batch_time_buckets: [u64; BATCH_BUCKET_BOUNDS_US.len() + 1],
    /// Total time spent in batches, microseconds.
    pub batch_time_us: u64,
}

impl WriterStats {
    /// The work done between `earlier` and this read.
    pub fn since(&self, earlier: &WriterStats) -> WriterStats {
        let mut buckets = self.batch_time_buckets;
        for (bucket, before) in buckets.iter_mut().zip(earlier.batch_time_buckets) {
            *bucket = bucket.saturating_sub(before);
        }
        WriterStats {
            batches: self.batches.saturating_sub(earlier.batches),
            commands: self.commands.saturating_sub(earlier.commands),
            batch_time_buckets: buckets,
            batch_time_us: self.batch_time_us.saturating_sub(earlier.batch_time_us),
        }
    }

    /// How many batches took longer than `bound_us`, which must be one of the bucket bounds.
    pub fn batches_over(&self, bound_us: u64) -> Option<u64> {
        let index = BATCH_BUCKET_BOUNDS_US
            .iter()
            .position(|&bound| bound == bound_us)?;
        Some(self.batch_time_buckets[index + 1..].iter().sum())
    }

    /// The smallest bucket bound that at least `share` (0 to 1) of the batches stayed within;
    /// `None` when there were none, or when the share needs the open last bucket.
    pub fn batch_time_within_us(&self, share: f64) -> Option<u64> {
        if self.batches == 0 {
            return None;
        }
        let wanted = (share * self.batches as f64).ceil() as u64;
        let mut seen = 0;
        for (bound, count) in BATCH_BUCKET_BOUNDS_US.iter().zip(self.batch_time_buckets) {
            seen += count;
            if seen >= wanted {
                return Some(*bound);
            }
        }
        None
    }
}

/// The writer's side: counts kept in atomics, so reading them never waits for the writer.
#[derive(Debug, Default)]
pub(crate) struct WriterMeter {
    batches: AtomicU64,
    commands: AtomicU64,
    buckets: [AtomicU64; BATCH_BUCKET_BOUNDS_US.len() + 1],
    time_us: AtomicU64,
}

impl WriterMeter {
    /// Counts one batch of `commands` that took `took`.
    pub(crate) fn record(&self, commands: usize, took: Duration) {
        let took_us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let bucket = BATCH_BUCKET_BOUNDS_US
            .iter()
            .position(|&bound| took_us <= bound)
            .unwrap_or(BATCH_BUCKET_BOUNDS_US.len());
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.commands.fetch_add(commands as u64, Ordering::Relaxed);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.time_us.fetch_add(took_us, Ordering::Relaxed);
    }

    pub(crate) fn read(&self) -> WriterStats {
        WriterStats {
            batches: self.batches.load(Ordering::Relaxed),
            commands: self.commands.load(Ordering::Relaxed),
            batch_time_buckets: std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed)),
            batch_time_us: self.time_us.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_fall_in_the_bucket_of_their_time_and_spans_subtract() {
        let meter = WriterMeter::default();
        meter.record(3, Duration::from_micros(50));
        let before = meter.read();
        meter.record(2, Duration::from_micros(51));
        meter.record(1, Duration::from_millis(3));
        meter.record(64, Duration::from_secs(1));
        let span = meter.read().since(&before);
        assert_eq!(span.batches, 3);
        assert_eq!(span.commands, 67);
        assert_eq!(span.batch_time_buckets[0], 0, "the first batch was before");
        assert_eq!(
            span.batch_time_buckets[1], 1,
            "51 µs is over 50, within 100"
        );
        assert_eq!(span.batch_time_buckets[6], 1, "3 ms is within 5 ms");
        assert_eq!(span.batch_time_buckets[12], 1, "1 s is over every bound");
        assert_eq!(span.batch_time_us, 51 + 3_000 + 1_000_000);
        assert_eq!(span.batches_over(2_500), Some(2));
        assert_eq!(span.batches_over(250_000), Some(1));
        assert_eq!(span.batches_over(7), None, "not a bound");
        assert_eq!(span.batch_time_within_us(0.3), Some(100));
        assert_eq!(span.batch_time_within_us(0.5), Some(5_000));
        assert_eq!(span.batch_time_within_us(0.99), None, "in the open bucket");
        assert_eq!(WriterStats::default().batch_time_within_us(0.5), None);
    }
}
