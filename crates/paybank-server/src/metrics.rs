//! `GET /metrics` (when `server.metrics` is on): what the group-commit writer has done since
//! the server started, in Prometheus' text format, so an operator or the benchmark harness can
//! see how many changes share a commit and how long commits take, and tell a slow disk from a
//! busy server.

use std::fmt::Write;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use paybank_store::{WriterStats, BATCH_BUCKET_BOUNDS_US};

use crate::app::AppState;

/// The text format's media type, version 0.0.4.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let text = render(&state.store.writer_stats());
    ([(header::CONTENT_TYPE, TEXT_FORMAT)], text)
}

/// The writer's counts as Prometheus metrics: two counters and a histogram of batch times in
/// seconds (cumulative buckets, as the format wants).
pub fn render(stats: &WriterStats) -> String {
    let mut text = String::with_capacity(2048);
    counter(
        &mut text,
        "paybank_writer_batches_total",
        "Batches the group-commit writer ran, each one commit.",
        stats.batches,
    );
    counter(
        &mut text,
        "paybank_writer_commands_total",
        "Commands (changes and the like) in those batches.",
        stats.commands,
    );
    let name = "paybank_writer_batch_seconds";
    let _ = writeln!(
        text,
        "# HELP {name} Time from a batch's first statement until its commit was on disk.\n# TYPE {name} histogram"
    );
    let mut cumulative = 0;
    for (bound_us, count) in BATCH_BUCKET_BOUNDS_US.iter().zip(stats.batch_time_buckets) {
        cumulative += count;
        let bound = *bound_us as f64 / 1e6;
        let _ = writeln!(text, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
    }
    let _ = writeln!(text, "{name}_bucket{{le=\"+Inf\"}} {}", stats.batches);
    let _ = writeln!(text, "{name}_sum {}", stats.batch_time_us as f64 / 1e6);
    let _ = writeln!(text, "{name}_count {}", stats.batches);
    text
}

fn counter(text: &mut String, name: &str, help: &str, value: u64) {
    let _ = writeln!(
        text,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
    );
}

/// Reads back what [`render`] wrote (the harness's side); `None` if a metric is missing.
pub fn parse(text: &str) -> Option<WriterStats> {
    let value = |name: &str| -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    };
    let mut stats = WriterStats {
        batches: value("paybank_writer_batches_total")? as u64,
        commands: value("paybank_writer_commands_total")? as u64,
        batch_time_us: (value("paybank_writer_batch_seconds_sum")? * 1e6).round() as u64,
        ..WriterStats::default()
    };
    let mut below = 0;
    for (index, bound_us) in BATCH_BUCKET_BOUNDS_US.iter().enumerate() {
        let bound = *bound_us as f64 / 1e6;
        let name = format!("paybank_writer_batch_seconds_bucket{{le=\"{bound}\"}}");
        let cumulative = value(&name)? as u64;
        stats.batch_time_buckets[index] = cumulative.saturating_sub(below);
        below = cumulative;
    }
    stats.batch_time_buckets[BATCH_BUCKET_BOUNDS_US.len()] = stats.batches.saturating_sub(below);
    Some(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_reads_back_as_the_counts_it_was_written_from() {
        let mut stats = WriterStats {
            batches: 9,
            commands: 120,
            batch_time_us: 61_234,
            ..WriterStats::default()
        };
        stats.batch_time_buckets[1] = 2;
        stats.batch_time_buckets[4] = 5;
        stats.batch_time_buckets[9] = 1;
        stats.batch_time_buckets[12] = 1;
        let text = render(&stats);
        assert!(text.contains("paybank_writer_batch_seconds_bucket{le=\"0.0001\"} 2\n"));
        assert!(text.contains("paybank_writer_batch_seconds_bucket{le=\"0.001\"} 7\n"));
        assert!(text.contains("paybank_writer_batch_seconds_bucket{le=\"+Inf\"} 9\n"));
        assert!(text.contains("paybank_writer_batches_total 9\n"));
        assert_eq!(parse(&text), Some(stats));
        assert_eq!(parse("paybank_writer_batches_total 1\n"), None);
    }
}
