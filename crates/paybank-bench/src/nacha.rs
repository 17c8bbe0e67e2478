//! Scenario (e): a NACHA file of many entries written and parsed back with paybank's codec.

use std::time::Instant;

use paybank_core::ach_files::{originate, trace_number, Company, FileParties, TracedEntry};
use paybank_core::ids::{MerchantId, PaymentId, TransactionId};
use paybank_core::money::Amount;
use paybank_core::nacha::{parse, write};
use paybank_core::rails::{AchEntry, Direction};

use crate::report::Row;

/// Builds `entries` entries, then times writing the file and parsing it back.
pub fn run(entries: usize) -> anyhow::Result<Row> {
    let traced = traced_entries(entries);
    let parties = FileParties {
        destination_routing: "011000015".to_owned(),
        destination_name: "FEDERAL RESERVE BANK".to_owned(),
        origin_routing: "091000019".to_owned(),
        origin_name: "PAYBANK ODFI".to_owned(),
    };
    let company = Company {
        name: "BENCH SHOP".to_owned(),
        identification: "1000000001".to_owned(),
    };
    let started = Instant::now();
    let file = originate(&parties, &company, 1_772_456_400_000, 'A', &traced);
    let text = write(&file);
    let written = started.elapsed();
    let parsed = parse(&text).map_err(|error| anyhow::anyhow!("parsing back: {error}"))?;
    let total = started.elapsed();
    let count: usize = parsed.batches.iter().map(|batch| batch.entries.len()).sum();
    anyhow::ensure!(
        count == entries,
        "read {count} entries back, wrote {entries}"
    );
    Ok(Row {
        scenario: format!("(e) NACHA write + parse, {entries} entries"),
        system: "paybank".to_owned(),
        note: format!(
            "write {:.1} ms, parse {:.1} ms, {} bytes",
            written.as_secs_f64() * 1e3,
            (total - written).as_secs_f64() * 1e3,
            text.len()
        ),
        elapsed_ms: Some(total.as_secs_f64() * 1e3),
        ..Row::default()
    })
}

fn traced_entries(count: usize) -> Vec<TracedEntry> {
    let effective = time::macros::date!(2026 - 03 - 03);
    (0..count)
        .map(|n| TracedEntry {
            entry: AchEntry {
                transaction_id: TransactionId(1_000_000 + n as u64),
                payment_id: PaymentId(2_000_000 + n as u64),
                merchant_id: MerchantId(1),
                direction: match n % 4 {
                    0 => Direction::Credit,
                    _ => Direction::Debit,
                },
                amount: Amount::from_minor(100 + n as i64 % 100_000),
                routing_number: "310000004".to_owned(),
                account_number: format!("{:010}", n),
                account_type: 1 + (n % 2) as u8,
                individual_name: "BENCH CONSUMER".to_owned(),
                individual_id: format!("REF-{n}"),
                recurring: false,
                cutoff_at: 0,
                same_day: false,
                effective_date: effective,
                settlement_date: effective,
                settles_at: 0,
            },
            trace_number: trace_number("091000019", n as u64),
        })
        .collect()
}
