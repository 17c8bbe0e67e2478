//! What paybank's group-commit writer did during a phase, read from the server's `/metrics`
//! before and after it: how many commits, how many changes shared each, and how long they
//! took, so a row's note tells a slow disk (long commits) from a busy server (many small ones).

use paybank_store::WriterStats;

/// The writer's counts so far from the server at `base`, or `None` where the server has none
/// to give (the ceiling, the peers) or could not be asked.
pub async fn writer_stats(client: &reqwest::Client, base: &str) -> Option<WriterStats> {
    let response = client.get(format!("{base}/metrics")).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    paybank_server::metrics::parse(&response.text().await.ok()?)
}

/// The note for a phase of `seconds` that began when the writer had done `before`, read from
/// the server at `base` now; `None` where either read is missing or nothing was committed.
pub async fn writer_note_since(
    client: &reqwest::Client,
    base: &str,
    before: Option<WriterStats>,
    seconds: f64,
) -> Option<String> {
    writer_note(&writer_stats_since(client, base, before).await?, seconds)
}

/// What the writer did since `before`, read from the server at `base` now; `None` where
/// either read is missing.
pub async fn writer_stats_since(
    client: &reqwest::Client,
    base: &str,
    before: Option<WriterStats>,
) -> Option<WriterStats> {
    let after = writer_stats(client, base).await?;
    Some(after.since(&before?))
}

/// The note for a phase of `seconds` in which the writer did `span`; `None` when it committed
/// nothing (reads).
pub fn writer_note(span: &WriterStats, seconds: f64) -> Option<String> {
    if span.batches == 0 || seconds <= 0.0 {
        return None;
    }
    let per_second = span.batches as f64 / seconds;
    let per_commit = span.commands as f64 / span.batches as f64;
    let mean_us = span.batch_time_us as f64 / span.batches as f64;
    let within = match span.batch_time_within_us(0.99) {
        Some(bound) => format!("99 % within {}", duration(bound)),
        None => "99 % not within 250 ms".to_owned(),
    };
    let slow = [10_000, 50_000].map(|bound| {
        format!(
            "{} over {}",
            span.batches_over(bound).unwrap_or(0),
            duration(bound)
        )
    });
    Some(format!(
        "writer: {per_second:.0} commits/s, {per_commit:.1} commands each, {mean_us:.0} µs each on average, {within}, {}, {}",
        slow[0], slow[1]
    ))
}

fn duration(us: u64) -> String {
    match us {
        0..1_000 => format!("{us} µs"),
        _ => format!("{} ms", us as f64 / 1_000.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_gives_rate_size_and_slow_commits() {
        let mut span = WriterStats {
            batches: 400,
            commands: 1_000,
            batch_time_us: 400 * 180,
            ..WriterStats::default()
        };
        span.batch_time_buckets[2] = 390; // within 250 µs
        span.batch_time_buckets[5] = 6; // within 2.5 ms
        span.batch_time_buckets[8] = 3; // within 25 ms
        span.batch_time_buckets[10] = 1; // within 100 ms
        let note = writer_note(&span, 2.0).expect("a note");
        assert_eq!(
            note,
            "writer: 200 commits/s, 2.5 commands each, 180 µs each on average, \
             99 % within 2.5 ms, 4 over 10 ms, 1 over 50 ms"
        );
        assert_eq!(writer_note(&WriterStats::default(), 2.0), None);
    }
}
