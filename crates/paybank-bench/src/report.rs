//! The results of a run, as JSON (`bench.json`) and as a Markdown table (`bench.md`), with the
//! ratios between paybank and the systems it is compared with under the table.

pub mod merge;
pub mod ratios;
pub mod runs;

use std::path::Path;

use serde::Serialize;

use crate::load::Outcome;
use crate::Options;

/// One measured line: a scenario on one system.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub scenario: String,
    pub system: String,
    pub offered_rate: Option<f64>,
    pub achieved_rate: Option<f64>,
    pub ok: Option<u64>,
    pub errors: Option<u64>,
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
    pub p999_us: Option<u64>,
    pub cpu_us_per_request: Option<f64>,
    pub peak_rss_mb: Option<f64>,
    pub database_mb: Option<f64>,
    pub elapsed_ms: Option<f64>,
    /// (c) only: the median time from an event's `createdAt` to its arrival. Also in the note;
    /// kept apart so that merged runs report it per run rather than only the median run's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_p50_ms: Option<u64>,
    /// (f) only: instructions the server ran per request, as callgrind counts them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions_per_request: Option<f64>,
    pub note: String,
}

impl Row {
    /// Adds `text` to the note, after what it says already.
    pub fn add_note(&mut self, text: &str) {
        if !self.note.is_empty() && !text.is_empty() {
            self.note.push_str("; ");
        }
        self.note.push_str(text);
    }

    /// A load run's line, with the server's CPU used during it.
    pub fn from_outcome(scenario: &str, system: &str, outcome: &Outcome, cpu_us: u64) -> Row {
        let requests = (outcome.ok + outcome.errors).max(1);
        Row {
            scenario: scenario.to_owned(),
            system: system.to_owned(),
            offered_rate: outcome.offered_rate,
            achieved_rate: Some(outcome.achieved_rate()),
            ok: Some(outcome.ok),
            errors: Some(outcome.errors),
            p50_us: Some(outcome.percentile_us(0.50)),
            p99_us: Some(outcome.percentile_us(0.99)),
            p999_us: Some(outcome.percentile_us(0.999)),
            cpu_us_per_request: Some(cpu_us as f64 / requests as f64),
            ..Row::default()
        }
    }
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub quick: bool,
    pub machine: crate::machine::Machine,
    pub rows: Vec<Row>,
}

impl Report {
    pub fn new(options: &Options) -> Report {
        Report {
            quick: options.quick,
            machine: Default::default(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        write_files(dir, &self.with_ratios(), &self.markdown())
    }

    /// The report as written, with its ratios. They are derived from the rows when written, so
    /// they always match them.
    pub fn with_ratios(&self) -> WithRatios<'_> {
        WithRatios {
            report: self,
            ratios: ratios::compute(&self.rows),
        }
    }

    pub fn markdown(&self) -> String {
        let mut text = machine_line(&self.machine);
        text.push_str(&rows_table(&self.rows));
        text.push_str(&ratios::markdown(&ratios::compute(&self.rows)));
        text
    }
}

/// A report with its ratios, as `bench.json` holds it.
#[derive(Serialize)]
pub struct WithRatios<'a> {
    #[serde(flatten)]
    report: &'a Report,
    ratios: Vec<ratios::Ratio>,
}

fn machine_line(machine: &crate::machine::Machine) -> String {
    let idled = match machine.idled.is_empty() {
        true => String::new(),
        false => format!(
            "; the kernel's DAMON reclaim ({}) under SCHED_IDLE during the run",
            machine.idled.join(", ")
        ),
    };
    format!(
        "Machine: {} cores, {}, disk flush {} µs (median of 4 KiB write + fdatasync; p99 {} µs, \
         slowest {} µs); the harness and the servers it starts at nice {}{idled}.\n\n",
        machine.cores,
        machine.cpu_model,
        machine.disk_flush_us,
        machine.disk_flush_p99_us,
        machine.disk_flush_max_us,
        machine.nice
    )
}

fn rows_table(rows: &[Row]) -> String {
    let mut text = String::from(
        "| scenario | system | offered/s | achieved/s | p50 µs | p99 µs | p99.9 µs | errors | CPU µs/req | peak RSS MB | DB MB | note |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for row in rows {
        text.push_str(&markdown_line(row));
        text.push('\n');
    }
    text
}

fn markdown_line(row: &Row) -> String {
    let number = |value: Option<f64>, digits: usize| {
        value.map_or("".to_owned(), |value| format!("{value:.digits$}"))
    };
    let integer = |value: Option<u64>| value.map_or("".to_owned(), |value| value.to_string());
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        row.scenario,
        row.system,
        number(row.offered_rate, 0),
        number(row.achieved_rate, 0),
        integer(row.p50_us),
        integer(row.p99_us),
        integer(row.p999_us),
        integer(row.errors),
        number(row.cpu_us_per_request, 1),
        number(row.peak_rss_mb, 1),
        number(row.database_mb, 1),
        note_text(row)
    )
}

/// The row's note, after its instruction count where it has one: the table has no column of
/// its own for the one scenario that counts them.
fn note_text(row: &Row) -> String {
    match row.instructions_per_request {
        Some(instructions) => {
            let count = format!("{instructions:.0} instructions per request");
            match row.note.is_empty() {
                true => count,
                false => format!("{count}; {}", row.note),
            }
        }
        None => row.note.clone(),
    }
}

/// Writes a run's results into `dir`: `bench.json` from `json`, `bench.md` from `markdown`.
pub(crate) fn write_files(dir: &Path, json: &impl Serialize, markdown: &str) -> anyhow::Result<()> {
    std::fs::write(dir.join("bench.json"), serde_json::to_string_pretty(json)?)?;
    std::fs::write(dir.join("bench.md"), markdown)?;
    Ok(())
}
