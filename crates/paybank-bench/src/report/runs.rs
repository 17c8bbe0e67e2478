//! Every run's report. One run is written exactly as a single report always was; several are
//! written as their merge (see `merge`): the merged rows and ratios, then each run's ratios,
//! and in `bench.json` each run's full report under `runs`.

use std::path::Path;

use serde::Serialize;

use crate::machine::Machine;
use crate::report::merge::{merge_ratios, merge_rows, MergedRatio};
use crate::report::ratios::{self, Ratio};
use crate::report::{machine_line, rows_table, write_files, Report, Row, WithRatios};

/// The reports of the runs so far, in order.
#[derive(Debug, Default)]
pub struct Runs {
    reports: Vec<Report>,
}

/// Several runs as `bench.json` holds them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Merged<'a> {
    quick: bool,
    machine: Machine,
    /// Each row's numbers are medians over the runs; its note says over which.
    rows: Vec<Row>,
    /// Each ratio is taken within each run, then its median over the runs.
    ratios: Vec<MergedRatio>,
    runs: Vec<WithRatios<'a>>,
}

impl Runs {
    pub fn push(&mut self, report: Report) {
        self.reports.push(report);
    }

    pub fn reports(&self) -> &[Report] {
        &self.reports
    }

    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        if let [report] = self.reports.as_slice() {
            return report.write(dir);
        }
        write_files(dir, &self.merged(), &self.markdown())
    }

    pub fn markdown(&self) -> String {
        if let [report] = self.reports.as_slice() {
            return report.markdown();
        }
        let merged = self.merged();
        let mut text = machine_line(&merged.machine);
        text.push_str(&rows_table(&merged.rows));
        let medians: Vec<Ratio> = merged
            .ratios
            .iter()
            .map(|ratio| ratio.median.clone())
            .collect();
        text.push_str(&ratios::markdown(&medians));
        text.push_str(&per_run_markdown(&merged.ratios));
        text
    }

    fn merged(&self) -> Merged<'_> {
        let first = self.reports.first();
        let rows: Vec<&[Row]> = self
            .reports
            .iter()
            .map(|report| report.rows.as_slice())
            .collect();
        let runs: Vec<WithRatios<'_>> = self.reports.iter().map(Report::with_ratios).collect();
        let per_run: Vec<Vec<Ratio>> = runs.iter().map(|run| run.ratios.clone()).collect();
        Merged {
            quick: first.is_some_and(|report| report.quick),
            machine: first.map_or_else(Machine::default, |report| report.machine.clone()),
            rows: merge_rows(&rows),
            ratios: merge_ratios(&per_run),
            runs,
        }
    }
}

/// Each run's ratios, one line per comparison, so the spread behind each median shows.
fn per_run_markdown(ratios: &[MergedRatio]) -> String {
    let mut text = String::from(
        "\nEach ratio above is the median of the ratios taken within each run; the peaks and CPU \
         beside it are medians of their own, so they need not divide to it. Per run, in order:\n\n",
    );
    for ratio in ratios {
        let median = &ratio.median;
        let runs = &ratio.throughput_ratio_runs;
        let line = match runs
            .iter()
            .chain(&ratio.cpu_ratio_runs)
            .all(Option::is_none)
        {
            true => "n/a in every run".to_owned(),
            false => format!(
                "paybank ÷ it {}; its CPU ÷ paybank's {}",
                throughput_runs_text(runs, median.ceiling),
                values_text(&ratio.cpu_ratio_runs, |times| format!("{times:.2}×")),
            ),
        };
        text.push_str(&format!(
            "- {} against {}: {line}\n",
            median.scenario, median.other
        ));
    }
    text
}

/// A run's throughput ratio: against the ceiling a share of it, else a multiple.
fn throughput_runs_text(runs: &[Option<f64>], ceiling: bool) -> String {
    match ceiling {
        true => {
            let shares = values_text(runs, |share| format!("{:.1}%", share * 100.0));
            format!("{shares} of the ceiling")
        }
        false => values_text(runs, |times| format!("{times:.2}×")),
    }
}

fn values_text(values: &[Option<f64>], format: impl Fn(f64) -> String) -> String {
    let texts: Vec<String> = values
        .iter()
        .map(|value| value.map_or("n/a".to_owned(), &format))
        .collect();
    texts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(paybank_peak: f64, ceiling_peak: f64) -> Report {
        let row = |scenario: &str, system: &str, rate: f64| Row {
            scenario: scenario.to_owned(),
            system: system.to_owned(),
            achieved_rate: Some(rate),
            cpu_us_per_request: Some(10.0),
            note: "start-up 5 ms".to_owned(),
            ..Row::default()
        };
        Report {
            quick: true,
            machine: Machine::default(),
            rows: vec![
                row("(a) GET", "paybank (peak, closed loop)", paybank_peak),
                row("(a) ceiling", "axum (peak, closed loop)", ceiling_peak),
            ],
        }
    }

    /// One run is written exactly as a single report, without any word of medians.
    #[test]
    fn one_run_reads_as_a_single_report() {
        let mut runs = Runs::default();
        runs.push(report(1000.0, 10000.0));
        let text = runs.markdown();
        assert_eq!(text, runs.reports()[0].markdown());
        assert!(!text.contains(" run"), "{text}");
    }

    /// Several runs show the merged rows and ratios, then each run's ratios, and the JSON keeps
    /// every run's full report beside the merge.
    #[test]
    fn several_runs_show_the_merge_then_each_runs_ratios() {
        let mut runs = Runs::default();
        runs.push(report(1000.0, 10000.0));
        runs.push(report(3000.0, 10000.0));
        let text = runs.markdown();
        assert!(
            text.contains("start-up 5 ms; median of 2 runs (achieved/s: 1000, 3000) |"),
            "{text}"
        );
        assert!(
            text.contains("| (a) | ceiling (bare axum) | 2000 | 10000 | 20.0% of the ceiling |"),
            "{text}"
        );
        assert!(
            text.contains(
                "- (a) against ceiling (bare axum): paybank ÷ it 10.0%, 30.0% of the ceiling; \
                 its CPU ÷ paybank's 1.00×, 1.00×\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("- (b) against Prism: n/a in every run\n"),
            "{text}"
        );
        let json = serde_json::to_value(runs.merged()).expect("JSON");
        assert_eq!(json["rows"].as_array().map(Vec::len), Some(2));
        assert_eq!(json["runs"].as_array().map(Vec::len), Some(2));
        assert_eq!(json["runs"][1]["rows"][0]["achievedRate"], 3000.0);
        assert_eq!(json["ratios"][0]["throughputRatioRuns"][1], 0.3);
    }
}
