//! Ratios between paybank and what it is compared with in the same run: each peer (Prism on
//! (a) and (b), localstripe on (c)) and the bare-axum ceiling on (a). They are computed from the
//! report's rows, so a comparison whose rows are missing (a skipped peer, a quick run, a
//! scenario not built yet) reads "n/a" instead of failing.

use serde::Serialize;

use crate::report::Row;

/// paybank against one other system on one scenario.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ratio {
    /// The scenario's letter, e.g. "(a)".
    pub scenario: String,
    /// What paybank is compared with.
    pub other: String,
    /// The rows compared, as "scenario — system", so a reader can see which peak was taken.
    pub paybank_row: Option<String>,
    pub other_row: Option<String>,
    pub paybank_peak_per_s: Option<f64>,
    pub other_peak_per_s: Option<f64>,
    /// paybank's peak throughput ÷ the other's.
    pub throughput_ratio: Option<f64>,
    pub paybank_cpu_us: Option<f64>,
    pub other_cpu_us: Option<f64>,
    /// The other's CPU per request (or per flow) ÷ paybank's.
    pub cpu_ratio: Option<f64>,
    /// True for the ceiling, whose throughput ratio reads as a share of what the machine serves.
    pub ceiling: bool,
}

/// One comparison to look for: rows are matched by scenario prefix and system prefix.
struct Comparison {
    scenario: &'static str,
    other_label: &'static str,
    other_scenario_prefix: &'static str,
    other_system_prefix: &'static str,
    ceiling: bool,
}

const COMPARISONS: [Comparison; 4] = [
    Comparison {
        scenario: "(a)",
        other_label: "ceiling (bare axum)",
        other_scenario_prefix: "(a) ceiling",
        other_system_prefix: "axum",
        ceiling: true,
    },
    Comparison {
        scenario: "(a)",
        other_label: "Prism",
        other_scenario_prefix: "(a)",
        other_system_prefix: "Prism",
        ceiling: false,
    },
    Comparison {
        scenario: "(b)",
        other_label: "Prism",
        other_scenario_prefix: "(b)",
        other_system_prefix: "Prism",
        ceiling: false,
    },
    Comparison {
        scenario: "(c)",
        other_label: "localstripe",
        other_scenario_prefix: "(c)",
        other_system_prefix: "localstripe",
        ceiling: false,
    },
];

/// Every comparison, with "n/a" (`None`) wherever a row is missing.
pub fn compute(rows: &[Row]) -> Vec<Ratio> {
    COMPARISONS
        .iter()
        .map(|comparison| {
            let paybank = peak(rows, comparison.scenario, "paybank");
            let other = peak(
                rows,
                comparison.other_scenario_prefix,
                comparison.other_system_prefix,
            );
            let paybank_cpu_us = paybank.and_then(|row| row.cpu_us_per_request);
            let other_cpu_us = other.and_then(|row| row.cpu_us_per_request);
            let paybank_peak_per_s = paybank.and_then(|row| row.achieved_rate);
            let other_peak_per_s = other.and_then(|row| row.achieved_rate);
            Ratio {
                scenario: comparison.scenario.to_owned(),
                other: comparison.other_label.to_owned(),
                paybank_row: paybank.map(describe),
                other_row: other.map(describe),
                paybank_peak_per_s,
                other_peak_per_s,
                throughput_ratio: divide(paybank_peak_per_s, other_peak_per_s),
                paybank_cpu_us,
                other_cpu_us,
                cpu_ratio: divide(other_cpu_us, paybank_cpu_us),
                ceiling: comparison.ceiling,
            }
        })
        .collect()
}

/// A system's closed-loop peak on a scenario: its first "(peak, closed loop)" row (the first,
/// so (b) on SQLite is taken before (b) on PostgreSQL), or, for a system measured without one,
/// its fastest row. Rows without requests served (skipped peers, checks) never count.
fn peak<'a>(rows: &'a [Row], scenario_prefix: &str, system_prefix: &str) -> Option<&'a Row> {
    let measured = || {
        rows.iter()
            .filter(|row| row.scenario.starts_with(scenario_prefix))
            .filter(|row| row.system.starts_with(system_prefix))
            .filter(|row| row.achieved_rate.is_some_and(|rate| rate > 0.0))
    };
    measured()
        .find(|row| row.system.contains("(peak"))
        .or_else(|| {
            measured().max_by(|left, right| {
                let rate = |row: &Row| row.achieved_rate.unwrap_or(0.0);
                rate(left).total_cmp(&rate(right))
            })
        })
}

fn describe(row: &Row) -> String {
    format!("{} — {}", row.scenario, row.system)
}

fn divide(numerator: Option<f64>, denominator: Option<f64>) -> Option<f64> {
    match (numerator, denominator) {
        (Some(numerator), Some(denominator)) if denominator > 0.0 => Some(numerator / denominator),
        _ => None,
    }
}

/// The ratios as a Markdown table, printed under the results.
pub fn markdown(ratios: &[Ratio]) -> String {
    let mut text = String::from(
        "\nRatios: paybank against each peer and the ceiling, at each system's closed-loop peak; CPU per request (per flow for (c)).\n\n\
         | scenario | compared with | paybank peak/s | its peak/s | paybank ÷ it | paybank CPU µs | its CPU µs | its CPU ÷ paybank's |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for ratio in ratios {
        let throughput = match ratio.ceiling {
            true => ratio
                .throughput_ratio
                .map(|share| format!("{:.1}% of the ceiling", share * 100.0)),
            false => ratio.throughput_ratio.map(|times| format!("{times:.2}×")),
        };
        text.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            ratio.scenario,
            ratio.other,
            or_na(ratio.paybank_peak_per_s.map(|rate| format!("{rate:.0}"))),
            or_na(ratio.other_peak_per_s.map(|rate| format!("{rate:.0}"))),
            or_na(throughput),
            or_na(ratio.paybank_cpu_us.map(|cpu| format!("{cpu:.1}"))),
            or_na(ratio.other_cpu_us.map(|cpu| format!("{cpu:.1}"))),
            or_na(ratio.cpu_ratio.map(|times| format!("{times:.2}×"))),
        ));
    }
    text
}

fn or_na(value: Option<String>) -> String {
    value.unwrap_or_else(|| "n/a".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(scenario: &str, system: &str, rate: f64, cpu: f64) -> Row {
        Row {
            scenario: scenario.to_owned(),
            system: system.to_owned(),
            achieved_rate: Some(rate),
            cpu_us_per_request: Some(cpu),
            ..Row::default()
        }
    }

    fn find<'a>(ratios: &'a [Ratio], scenario: &str, other: &str) -> &'a Ratio {
        ratios
            .iter()
            .find(|ratio| ratio.scenario == scenario && ratio.other == other)
            .expect("every comparison is listed")
    }

    /// Peaks are matched by scenario and system prefix, the first closed-loop peak row is taken
    /// even when an open-loop run went faster, and a comparison with a missing or skipped side
    /// reads n/a.
    #[test]
    fn ratios_compare_peaks_and_cpu_and_say_na_when_a_side_is_missing() {
        const READS: &str = "(a) GET /transactions/{id}, 2000 stored";
        const PRISM_READS: &str = "(a) GET /transactions/{id}, Prism mock";
        const PEAK: &str = "paybank (peak, closed loop)";
        let mut rows = vec![
            row(READS, "paybank", 500.0, 680.0),
            row(READS, PEAK, 2000.0, 400.0),
            row("(a) ceiling", "axum (peak, closed loop)", 20000.0, 25.0),
            row(PRISM_READS, "Prism", 1300.0, 650.0),
            row(PRISM_READS, "Prism (peak, closed loop)", 1000.0, 800.0),
            row("(b) durable capture, SQLite", PEAK, 1000.0, 900.0),
            row("(b) durable capture, PostgreSQL", PEAK, 3000.0, 300.0),
            row(
                "(c) flows, localstripe",
                "localstripe (peak)",
                36.0,
                27000.0,
            ),
        ];
        rows.push(Row {
            scenario: "(b) capture, Prism mock".to_owned(),
            system: "Prism".to_owned(),
            note: "skipped: npm registry unreachable".to_owned(),
            ..Row::default()
        });
        let ratios = compute(&rows);
        assert_eq!(ratios.len(), 4);
        let ceiling = find(&ratios, "(a)", "ceiling (bare axum)");
        assert_eq!(ceiling.throughput_ratio, Some(0.1));
        assert_eq!(ceiling.cpu_ratio, Some(25.0 / 400.0));
        let prism = find(&ratios, "(a)", "Prism");
        assert_eq!(prism.throughput_ratio, Some(2.0));
        assert_eq!(prism.cpu_ratio, Some(2.0));
        assert_eq!(
            prism.paybank_row.as_deref(),
            Some("(a) GET /transactions/{id}, 2000 stored — paybank (peak, closed loop)")
        );
        let skipped = find(&ratios, "(b)", "Prism");
        assert_eq!(
            (skipped.throughput_ratio, skipped.other_row.as_deref()),
            (None, None)
        );
        assert_eq!(skipped.paybank_peak_per_s, Some(1000.0));
        let flows = find(&ratios, "(c)", "localstripe");
        assert_eq!(
            (flows.paybank_peak_per_s, flows.other_peak_per_s),
            (None, Some(36.0))
        );
        let text = markdown(&ratios);
        assert!(
            text.contains("| (a) | ceiling (bare axum) | 2000 | 20000 | 10.0% of the ceiling |"),
            "{text}"
        );
        assert!(
            text.contains("| (c) | localstripe | n/a | 36 | n/a | n/a | 27000.0 | n/a |"),
            "{text}"
        );
    }
}
