//! Several runs of the same scenarios merged into one set of rows and one ratios table. Each
//! number is its median over the runs that have the row, and each ratio is taken within a run
//! before its median is, so a peer is only ever compared with paybank measured beside it.
//!
//! The median of an even count is the mean of the two middle values (rounded half up for the
//! integer columns), so two runs give their midpoint rather than favouring either. A row's
//! note cannot be averaged: it comes from the run whose main metric is the median or, for an
//! even count, the lower of the two middle values.

use serde::Serialize;

use crate::report::ratios::Ratio;
use crate::report::Row;

/// A ratio over several runs: each figure the median of the runs' figures, with each run's
/// ratios beside it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MergedRatio {
    #[serde(flatten)]
    pub median: Ratio,
    /// Each run's paybank ÷ other, in run order; none where that run's reads n/a.
    pub throughput_ratio_runs: Vec<Option<f64>>,
    /// Each run's other CPU ÷ paybank's, in run order; none where that run's reads n/a.
    pub cpu_ratio_runs: Vec<Option<f64>>,
}

/// The median of `values`, in any order; none when there are none.
pub fn median(values: &[f64]) -> Option<f64> {
    middle_pair(values, f64::total_cmp).map(|(low, high)| (low + high) / 2.0)
}

/// The two middle values of `values` in `order` (the same one twice for an odd count), which
/// each median then combines its own way; none when there are none.
fn middle_pair<T: Copy>(
    values: &[T],
    order: impl FnMut(&T, &T) -> std::cmp::Ordering,
) -> Option<(T, T)> {
    let mut sorted = values.to_vec();
    sorted.sort_by(order);
    let upper = sorted.len() / 2;
    let lower = sorted.len().checked_sub(1)? / 2;
    Some((sorted[lower], sorted[upper]))
}

/// The median of one figure over `items`, leaving out those without it.
fn median_of<T>(items: &[&T], figure: fn(&T) -> Option<f64>) -> Option<f64> {
    let values: Vec<f64> = items.iter().filter_map(|item| figure(item)).collect();
    median(&values)
}

/// The median of integer values, rounded half up when it falls between two.
fn median_integer(values: &[u64]) -> Option<u64> {
    middle_pair(values, Ord::cmp).map(|(low, high)| (low + high).div_ceil(2))
}

/// Every run's rows merged into one row per key, in the order the runs list them; a row that
/// only some runs have is merged over those, after the row it follows in them.
pub fn merge_rows(runs: &[&[Row]]) -> Vec<Row> {
    let keyed: Vec<Vec<(RowKey, &Row)>> = runs.iter().map(|rows| keyed(rows)).collect();
    merged_order(&keyed)
        .iter()
        .map(|key| {
            let per_run: Vec<Option<&Row>> = keyed
                .iter()
                .map(|run| run.iter().find(|(known, _)| known == key))
                .map(|found| found.map(|(_, row)| *row))
                .collect();
            merge_row(&per_run)
        })
        .collect()
}

/// Each run's ratios merged comparison by comparison: the median of each figure over the runs
/// where it is not n/a.
pub fn merge_ratios(runs: &[Vec<Ratio>]) -> Vec<MergedRatio> {
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    first
        .iter()
        .map(|comparison| {
            let per_run: Vec<Option<&Ratio>> = runs
                .iter()
                .map(|ratios| {
                    ratios.iter().find(|ratio| {
                        ratio.scenario == comparison.scenario && ratio.other == comparison.other
                    })
                })
                .collect();
            merge_ratio(comparison, &per_run)
        })
        .collect()
}

/// A row's identity across runs: its scenario and system, and which of the rows sharing them
/// it is within its run (no two share them today, but rows that did must not be blended).
#[derive(Clone, Debug, PartialEq)]
struct RowKey {
    scenario: String,
    system: String,
    occurrence: usize,
}

fn keyed(rows: &[Row]) -> Vec<(RowKey, &Row)> {
    let mut keyed: Vec<(RowKey, &Row)> = Vec::with_capacity(rows.len());
    for row in rows {
        let occurrence = keyed
            .iter()
            .filter(|(key, _)| key.scenario == row.scenario && key.system == row.system)
            .count();
        let key = RowKey {
            scenario: row.scenario.clone(),
            system: row.system.clone(),
            occurrence,
        };
        keyed.push((key, row));
    }
    keyed
}

/// Every key once, in the first run's order; a key a later run adds goes right after the key
/// before it in that run, so a peer measured in only one run still sits beside its scenario.
fn merged_order(runs: &[Vec<(RowKey, &Row)>]) -> Vec<RowKey> {
    let mut order: Vec<RowKey> = Vec::new();
    for run in runs {
        let mut next_position = 0;
        for (key, _) in run {
            let position = match order.iter().position(|known| known == key) {
                Some(position) => position,
                None => {
                    order.insert(next_position, key.clone());
                    next_position
                }
            };
            next_position = position + 1;
        }
    }
    order
}

/// One row from each run's (none where a run lacks it), in run order.
fn merge_row(per_run: &[Option<&Row>]) -> Row {
    let rows: Vec<&Row> = per_run.iter().flatten().copied().collect();
    let real = |column: fn(&Row) -> Option<f64>| median_of(&rows, column);
    let integer = |column: fn(&Row) -> Option<u64>| {
        median_integer(
            &rows
                .iter()
                .filter_map(|row| column(row))
                .collect::<Vec<_>>(),
        )
    };
    Row {
        scenario: rows[0].scenario.clone(),
        system: rows[0].system.clone(),
        offered_rate: real(|row| row.offered_rate),
        achieved_rate: real(|row| row.achieved_rate),
        ok: integer(|row| row.ok),
        errors: integer(|row| row.errors),
        p50_us: integer(|row| row.p50_us),
        p99_us: integer(|row| row.p99_us),
        p999_us: integer(|row| row.p999_us),
        cpu_us_per_request: real(|row| row.cpu_us_per_request),
        peak_rss_mb: real(|row| row.peak_rss_mb),
        database_mb: real(|row| row.database_mb),
        elapsed_ms: real(|row| row.elapsed_ms),
        delivery_p50_ms: integer(|row| row.delivery_p50_ms),
        instructions_per_request: real(|row| row.instructions_per_request),
        note: merged_note(per_run),
    }
}

/// The number that ranks a row's runs to pick its note: its achieved rate or, for a row
/// without one, its elapsed time, or else its instructions or CPU per request, or else its
/// count (a check's row has only that).
#[derive(Clone, Copy, Debug)]
enum Metric {
    AchievedRate,
    ElapsedMs,
    InstructionsPerRequest,
    CpuUsPerRequest,
    Ok,
}

impl Metric {
    const BY_PREFERENCE: [Metric; 5] = [
        Metric::AchievedRate,
        Metric::ElapsedMs,
        Metric::InstructionsPerRequest,
        Metric::CpuUsPerRequest,
        Metric::Ok,
    ];

    fn value(self, row: &Row) -> Option<f64> {
        match self {
            Metric::AchievedRate => row.achieved_rate,
            Metric::ElapsedMs => row.elapsed_ms,
            Metric::InstructionsPerRequest => row.instructions_per_request,
            Metric::CpuUsPerRequest => row.cpu_us_per_request,
            Metric::Ok => row.ok.map(|ok| ok as f64),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Metric::AchievedRate => "achieved/s",
            Metric::ElapsedMs => "elapsed ms",
            Metric::InstructionsPerRequest => "instructions/req",
            Metric::CpuUsPerRequest => "CPU µs/req",
            Metric::Ok => "ok",
        }
    }

    fn text(self, value: Option<f64>) -> String {
        match (self, value) {
            (_, None) => "n/a".to_owned(),
            (Metric::CpuUsPerRequest, Some(value)) => format!("{value:.1}"),
            (_, Some(value)) => format!("{value:.0}"),
        }
    }
}

/// The first metric any of the rows has; none for rows without numbers (a skipped peer).
fn main_metric(rows: &[&Row]) -> Option<Metric> {
    Metric::BY_PREFERENCE
        .into_iter()
        .find(|metric| rows.iter().any(|row| metric.value(row).is_some()))
}

/// The median run's note, then what the runs measured, then each run's errors if they differ.
fn merged_note(per_run: &[Option<&Row>]) -> String {
    let rows: Vec<&Row> = per_run.iter().flatten().copied().collect();
    let metric = main_metric(&rows);
    let note_row = metric.map_or(rows[0], |metric| median_run(&rows, metric));
    let parts = [
        note_row.note.clone(),
        runs_text(per_run, metric),
        delivery_text(per_run),
        errors_text(per_run),
    ];
    let parts: Vec<String> = parts.into_iter().filter(|part| !part.is_empty()).collect();
    parts.join("; ")
}

/// The row at the median of `metric` among those that have it: for an even count, the lower
/// of the two middle values. Ties keep run order.
fn median_run<'a>(rows: &[&'a Row], metric: Metric) -> &'a Row {
    let value = |row: &Row| metric.value(row).unwrap_or(0.0);
    let mut ranked: Vec<&Row> = rows
        .iter()
        .copied()
        .filter(|row| metric.value(row).is_some())
        .collect();
    ranked.sort_by(|left, right| value(left).total_cmp(&value(right)));
    ranked[(ranked.len() - 1) / 2]
}

/// "median of 3 runs (achieved/s: 22087, 21500, 23010)", saying how many runs measured the
/// row when not all did (a peer skipped in one); empty for a row no run measured.
fn runs_text(per_run: &[Option<&Row>], metric: Option<Metric>) -> String {
    let n_runs = per_run.len();
    let Some(metric) = metric else {
        let present = per_run.iter().flatten().count();
        return match present == n_runs {
            true => String::new(),
            false => format!("in {present} of {n_runs} runs"),
        };
    };
    let values: Vec<Option<f64>> = per_run
        .iter()
        .map(|row| row.and_then(|row| metric.value(row)))
        .collect();
    let counted = match values.iter().flatten().count() {
        measured if measured == n_runs => format!("median of {n_runs} runs"),
        1 => format!("in 1 of {n_runs} runs"),
        measured => format!("median of {measured} of {n_runs} runs"),
    };
    let texts: Vec<String> = values.into_iter().map(|value| metric.text(value)).collect();
    format!("{counted} ({}: {})", metric.label(), texts.join(", "))
}

/// Each run's event delivery p50, since the note shown is one run's and the runs of (c)'s
/// open loop all achieve about the offered rate, which then picks that run almost at random.
fn delivery_text(per_run: &[Option<&Row>]) -> String {
    let values = per_run_values(per_run, |row| row.delivery_p50_ms);
    let measured: Vec<u64> = values.iter().flatten().copied().collect();
    let Some(median) = median_integer(&measured).filter(|_| measured.len() > 1) else {
        return String::new();
    };
    format!(
        "event delivery p50 per run: {} ms (median {median} ms)",
        listed(&values)
    )
}

/// Each run's errors when the runs that counted them disagree, since their median alone
/// would hide a run that failed; empty when they agree.
fn errors_text(per_run: &[Option<&Row>]) -> String {
    let errors = per_run_values(per_run, |row| row.errors);
    let mut counted = errors.iter().flatten();
    let first = counted.next();
    if counted.all(|errors| Some(errors) == first) {
        return String::new();
    }
    format!("errors per run: {}", listed(&errors))
}

/// One count from each run's row, in run order; none where a run lacks the row or the count.
fn per_run_values(per_run: &[Option<&Row>], count: fn(&Row) -> Option<u64>) -> Vec<Option<u64>> {
    per_run.iter().map(|row| row.and_then(count)).collect()
}

/// "3, n/a, 5": each run's value, or n/a where it has none.
fn listed(values: &[Option<u64>]) -> String {
    let texts: Vec<String> = values
        .iter()
        .map(|value| value.map_or("n/a".to_owned(), |value| value.to_string()))
        .collect();
    texts.join(", ")
}

/// One comparison from each run's ratios (none where a run lacks it), in run order.
fn merge_ratio(comparison: &Ratio, per_run: &[Option<&Ratio>]) -> MergedRatio {
    let present: Vec<&Ratio> = per_run.iter().flatten().copied().collect();
    let real = |field: fn(&Ratio) -> Option<f64>| median_of(&present, field);
    let label = |field: fn(&Ratio) -> Option<&String>| {
        present.iter().find_map(|ratio| field(ratio).cloned())
    };
    let runs = |field: fn(&Ratio) -> Option<f64>| {
        per_run.iter().map(|ratio| ratio.and_then(field)).collect()
    };
    MergedRatio {
        median: Ratio {
            paybank_row: label(|ratio| ratio.paybank_row.as_ref()),
            other_row: label(|ratio| ratio.other_row.as_ref()),
            paybank_peak_per_s: real(|ratio| ratio.paybank_peak_per_s),
            other_peak_per_s: real(|ratio| ratio.other_peak_per_s),
            throughput_ratio: real(|ratio| ratio.throughput_ratio),
            paybank_cpu_us: real(|ratio| ratio.paybank_cpu_us),
            other_cpu_us: real(|ratio| ratio.other_cpu_us),
            cpu_ratio: real(|ratio| ratio.cpu_ratio),
            ..comparison.clone()
        },
        throughput_ratio_runs: runs(|ratio| ratio.throughput_ratio),
        cpu_ratio_runs: runs(|ratio| ratio.cpu_ratio),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ratios;

    fn row(scenario: &str, system: &str, rate: Option<f64>, note: &str) -> Row {
        Row {
            scenario: scenario.to_owned(),
            system: system.to_owned(),
            achieved_rate: rate,
            errors: rate.map(|_| 0),
            note: note.to_owned(),
            ..Row::default()
        }
    }

    fn find<'a>(rows: &'a [Row], scenario: &str, system: &str) -> &'a Row {
        rows.iter()
            .find(|row| row.scenario == scenario && row.system == system)
            .expect("the row is merged")
    }

    /// The full flow's open loop: every run achieves about the offered rate, so the note is
    /// one run's nearly at random; each run's delivery p50 follows it, and a single run (or
    /// a row without deliveries) adds nothing.
    #[test]
    fn delivery_p50_is_listed_per_run_with_its_median() {
        let run = |rate: f64, delivery_ms: u64| {
            vec![Row {
                delivery_p50_ms: Some(delivery_ms),
                ..row(
                    "(c) full flow",
                    "paybank",
                    Some(rate),
                    &format!("p50 {delivery_ms} ms"),
                )
            }]
        };
        let runs = [run(500.2, 963), run(499.1, 4), run(500.1, 7)];
        let runs: Vec<&[Row]> = runs.iter().map(Vec::as_slice).collect();
        let merged = &merge_rows(&runs)[0];
        assert_eq!(merged.delivery_p50_ms, Some(7));
        assert_eq!(
            merged.note,
            "p50 7 ms; median of 3 runs (achieved/s: 500, 499, 500); \
             event delivery p50 per run: 963, 4, 7 ms (median 7 ms)"
        );
        let single = [run(500.0, 963)];
        let single: Vec<&[Row]> = single.iter().map(Vec::as_slice).collect();
        assert!(!merge_rows(&single)[0].note.contains("per run"));
        let plain = [1.0, 2.0].map(|rate| vec![row("(a) GET", "paybank", Some(rate), "")]);
        let plain: Vec<&[Row]> = plain.iter().map(Vec::as_slice).collect();
        assert!(!merge_rows(&plain)[0].note.contains("delivery"));
    }

    /// An odd count takes the middle value, an even one the mean of the two middle values
    /// (integers rounded half up), and no values give none.
    #[test]
    fn median_is_the_middle_value_or_the_mean_of_the_two_middle_ones() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median_integer(&[7, 1, 4]), Some(4));
        assert_eq!(median_integer(&[13, 10]), Some(12));
        assert_eq!(median_integer(&[]), None);
        assert_eq!(median(&[5.0]), Some(5.0));
        assert_eq!(median_integer(&[9]), Some(9));
    }

    /// Each column's median is taken on its own, so one merged row can mix runs, while the
    /// note is the whole note of the run with the median rate, followed by every run's rate.
    #[test]
    fn three_runs_give_each_columns_median_and_the_median_runs_note() {
        let runs: Vec<Vec<Row>> = [
            (22087.0, 300, 10.0),
            (21500.0, 100, 30.0),
            (23010.0, 200, 20.0),
        ]
        .iter()
        .map(|&(rate, p99_us, cpu)| {
            let note = format!("start-up {cpu:.0} ms");
            vec![Row {
                p99_us: Some(p99_us),
                cpu_us_per_request: Some(cpu),
                ..row("(a) GET", "paybank", Some(rate), &note)
            }]
        })
        .collect();
        let runs: Vec<&[Row]> = runs.iter().map(Vec::as_slice).collect();
        let merged = merge_rows(&runs);
        assert_eq!(merged.len(), 1);
        let read = &merged[0];
        assert_eq!(read.achieved_rate, Some(22087.0));
        assert_eq!(
            (read.p99_us, read.cpu_us_per_request),
            (Some(200), Some(20.0))
        );
        assert_eq!(read.errors, Some(0));
        assert_eq!(
            read.note,
            "start-up 10 ms; median of 3 runs (achieved/s: 22087, 21500, 23010)"
        );
    }

    /// Two runs give the midpoint of each column and the note of the lower-middle run; a row
    /// without a rate is ranked by elapsed time; runs that disagree on errors are listed.
    #[test]
    fn two_runs_give_midpoints_and_the_lower_middle_runs_note() {
        let run = |rate: f64, p50_us: u64, elapsed_ms: f64, errors: u64| {
            vec![
                Row {
                    p50_us: Some(p50_us),
                    ..row("(b) capture", "paybank", Some(rate), &format!("at {rate}"))
                },
                Row {
                    elapsed_ms: Some(elapsed_ms),
                    errors: Some(errors),
                    ..row("(e) NACHA", "paybank", None, &format!("took {elapsed_ms}"))
                },
            ]
        };
        let mut runs = [run(200.0, 102, 30.0, 2), run(100.0, 101, 10.0, 0)];
        for (ok, run) in [1008, 1002].into_iter().zip(&mut runs) {
            let note = format!("{ok} events");
            run.push(Row {
                ok: Some(ok),
                ..row("(c) flows", "paybank (events)", None, &note)
            });
        }
        let runs: Vec<&[Row]> = runs.iter().map(Vec::as_slice).collect();
        let merged = merge_rows(&runs);
        let capture = find(&merged, "(b) capture", "paybank");
        assert_eq!(
            (capture.achieved_rate, capture.p50_us),
            (Some(150.0), Some(102))
        );
        assert_eq!(
            capture.note,
            "at 100; median of 2 runs (achieved/s: 200, 100)"
        );
        let nacha = find(&merged, "(e) NACHA", "paybank");
        assert_eq!((nacha.elapsed_ms, nacha.errors), (Some(20.0), Some(1)));
        assert_eq!(
            nacha.note,
            "took 10; median of 2 runs (elapsed ms: 30, 10); errors per run: 2, 0"
        );
        let events = find(&merged, "(c) flows", "paybank (events)");
        assert_eq!(events.ok, Some(1005));
        assert_eq!(
            events.note,
            "1002 events; median of 2 runs (ok: 1008, 1002)"
        );
    }

    /// A peer measured in only some runs is merged over those and says how many, wherever it
    /// was skipped (a row without numbers) or missing; a row no run measured keeps its note;
    /// and a row only a later run has sits after the row it followed there.
    #[test]
    fn rows_missing_from_some_runs_are_merged_over_the_runs_that_have_them() {
        let runs = [
            vec![
                row("(a) GET", "paybank", Some(100.0), "a1"),
                row("(a) Prism", "Prism", Some(10.0), "prism 1"),
                row("(b) Prism", "Prism", None, "skipped: offline"),
            ],
            vec![
                row("(a) GET", "paybank", Some(110.0), "a2"),
                row("(a) extra", "paybank", Some(5.0), "extra"),
                row("(a) Prism", "Prism", None, "skipped: offline"),
                row("(b) Prism", "Prism", None, "skipped: offline"),
            ],
            vec![
                row("(a) GET", "paybank", Some(120.0), "a3"),
                row("(b) Prism", "Prism", None, "skipped: offline"),
            ],
        ];
        let runs: Vec<&[Row]> = runs.iter().map(Vec::as_slice).collect();
        let merged = merge_rows(&runs);
        let order: Vec<&str> = merged.iter().map(|row| row.scenario.as_str()).collect();
        assert_eq!(order, ["(a) GET", "(a) extra", "(a) Prism", "(b) Prism"]);
        let prism = find(&merged, "(a) Prism", "Prism");
        assert_eq!(prism.achieved_rate, Some(10.0));
        assert_eq!(
            prism.note,
            "prism 1; in 1 of 3 runs (achieved/s: 10, n/a, n/a)"
        );
        let extra = find(&merged, "(a) extra", "paybank");
        assert_eq!(
            extra.note,
            "extra; in 1 of 3 runs (achieved/s: n/a, 5, n/a)"
        );
        let skipped = find(&merged, "(b) Prism", "Prism");
        assert_eq!(
            (skipped.note.as_str(), skipped.achieved_rate),
            ("skipped: offline", None)
        );
        let reads = find(&merged, "(a) GET", "paybank");
        assert_eq!(
            reads.note,
            "a2; median of 3 runs (achieved/s: 100, 110, 120)"
        );
    }

    /// Ratios are taken within each run and then their median, which differs from the ratio of
    /// the median peaks; a run where a side is missing counts as n/a, not as zero.
    #[test]
    fn ratios_are_taken_within_each_run_then_their_median() {
        let run = |paybank: f64, prism: Option<f64>| {
            let mut rows = vec![row(
                "(a) GET",
                "paybank (peak, closed loop)",
                Some(paybank),
                "",
            )];
            rows.push(row(
                "(a) GET, Prism mock",
                "Prism (peak, closed loop)",
                prism,
                "",
            ));
            ratios::compute(&rows)
        };
        let runs = [
            run(1000.0, Some(500.0)),
            run(3000.0, Some(1000.0)),
            run(2000.0, None),
        ];
        let merged = merge_ratios(&runs);
        assert_eq!(merged.len(), runs[0].len());
        let prism = merged
            .iter()
            .find(|ratio| ratio.median.scenario == "(a)" && ratio.median.other == "Prism")
            .expect("the comparison is merged");
        assert_eq!(prism.throughput_ratio_runs, [Some(2.0), Some(3.0), None]);
        assert_eq!(prism.median.throughput_ratio, Some(2.5));
        assert_eq!(prism.median.paybank_peak_per_s, Some(2000.0));
        assert_eq!(prism.median.other_peak_per_s, Some(750.0));
        assert_eq!(
            prism.median.paybank_row.as_deref(),
            Some("(a) GET — paybank (peak, closed loop)")
        );
        let ceiling = &merged[0];
        assert!(ceiling.median.ceiling);
        assert_eq!(ceiling.throughput_ratio_runs, [None, None, None]);
        assert_eq!(ceiling.median.throughput_ratio, None);
    }
}
