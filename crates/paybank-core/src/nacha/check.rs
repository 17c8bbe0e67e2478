//! The sums a NACHA file carries about itself (counts, entry hashes, totals, block count), used
//! both to check a file being read and to fill in the controls of a file being built, so the
//! two can never compute them differently.
//!
//! Block count rule: the reader accepts the file control's block count if it equals the
//! number of 10-record blocks either as the file stands (counting whatever `9…9` filler it
//! has) or as it would stand once padded to whole blocks. Both describe the same well-formed
//! file; they differ only for a file with extra filler, and moov writes unpadded files whose
//! count already assumes padding (`ppd-debit-fixedLength.ach`). The writer always pads.

use super::error::{NachaError, Record};
use super::layout::{
    addenda as ad, batch_control as bc, batch_header as bh, entry_detail as ed, file_control as fc,
};
use super::line::Line;
use super::records::{Addenda, BatchControl, BatchHeader, EntryDetail, FileControl};
use super::{Batch, Entry};

/// Entry hashes keep their ten low-order digits.
const HASH_MODULUS: u64 = 10_000_000_000;
/// Records per block.
pub(super) const BLOCKING_FACTOR: usize = 10;

/// What a batch control states about its entries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Sums {
    pub entry_addenda_count: u64,
    pub entry_hash: u64,
    pub total_debit: u64,
    pub total_credit: u64,
}

impl Sums {
    pub fn of_entries(entries: &[Entry]) -> Sums {
        let mut sums = Sums::default();
        for entry in entries {
            sums.add(entry);
        }
        sums
    }

    /// Counts one more entry in, so the reader can sum a batch as it reads it.
    pub fn add(&mut self, entry: &Entry) {
        let detail = &entry.detail;
        self.entry_addenda_count += 1 + entry.addenda.len() as u64;
        self.entry_hash = (self.entry_hash + rdfi_hash_part(detail)) % HASH_MODULUS;
        // Saturating: a built file with absurd amounts must not panic; its totals cannot be
        // written anyway and `write_checked` reports them.
        if detail.is_debit() {
            self.total_debit = self.total_debit.saturating_add(detail.amount);
        } else {
            self.total_credit = self.total_credit.saturating_add(detail.amount);
        }
    }

    /// File sums: the batch controls' sums added up (the hash again mod 10^10).
    pub fn of_batches(batches: &[Batch]) -> Sums {
        let mut sums = Sums::default();
        for control in batches.iter().map(|batch| &batch.control) {
            sums.entry_addenda_count += u64::from(control.entry_addenda_count);
            sums.entry_hash = (sums.entry_hash + control.entry_hash) % HASH_MODULUS;
            sums.total_debit = sums.total_debit.saturating_add(control.total_debit);
            sums.total_credit = sums.total_credit.saturating_add(control.total_credit);
        }
        sums
    }
}

/// An entry's contribution to the hash: its 8-digit RDFI identification as a number.
fn rdfi_hash_part(detail: &EntryDetail) -> u64 {
    let digits = detail
        .rdfi_identification
        .as_bytes()
        .iter()
        .filter(|byte| byte.is_ascii_digit());
    digits.fold(0, |n, b| (n * 10 + u64::from(b - b'0')) % HASH_MODULUS)
}

/// Records in a file of `batches` without filler: header, every batch's records, control.
pub(super) fn record_count(batches: &[Batch]) -> u64 {
    let batch_records: u64 = batches
        .iter()
        .map(|batch| 2 + u64::from(batch.control.entry_addenda_count))
        .sum();
    2 + batch_records
}

/// Blocks needed for `records` records.
pub(super) fn blocks(records: u64) -> u64 {
    records.div_ceil(BLOCKING_FACTOR as u64)
}

/// Checks a batch control against its header and the sums of its entries.
pub(super) fn batch_control(
    header: &BatchHeader,
    sums: &Sums,
    control: &BatchControl,
    line: usize,
) -> Result<(), NachaError> {
    let record = Record::BatchControl;
    let mismatch = |field: &'static str, expected: String, found: String| {
        Err(NachaError::mismatch(line, record, field, expected, found))
    };
    if control.service_class != header.service_class {
        let expected = format!("{} as in the batch header", header.service_class.code());
        return mismatch(
            bc::SERVICE_CLASS_CODE.name,
            expected,
            control.service_class.code().to_string(),
        );
    }
    let stated = [
        (
            bc::ENTRY_ADDENDA_COUNT.name,
            sums.entry_addenda_count,
            u64::from(control.entry_addenda_count),
        ),
        (bc::ENTRY_HASH.name, sums.entry_hash, control.entry_hash),
        (bc::TOTAL_DEBIT.name, sums.total_debit, control.total_debit),
        (
            bc::TOTAL_CREDIT.name,
            sums.total_credit,
            control.total_credit,
        ),
    ];
    for (field, expected, found) in stated {
        if expected != found {
            return mismatch(field, expected.to_string(), found.to_string());
        }
    }
    // Compared without surrounding spaces: moov's return sample right-justifies the company
    // identification in the control but left-justifies it in the header.
    if control.company_identification.trim() != header.company_identification.trim() {
        let expected = format!("{:?} as in the batch header", header.company_identification);
        return mismatch(
            bc::COMPANY_IDENTIFICATION.name,
            expected,
            format!("{:?}", control.company_identification),
        );
    }
    if control.odfi_identification != header.odfi_identification {
        let expected = format!("{} as in the batch header", header.odfi_identification);
        return mismatch(
            bc::ODFI_IDENTIFICATION.name,
            expected,
            control.odfi_identification.to_string(),
        );
    }
    if control.batch_number != header.batch_number {
        let expected = format!("{} as in the batch header", header.batch_number);
        return mismatch(
            bc::BATCH_NUMBER.name,
            expected,
            control.batch_number.to_string(),
        );
    }
    Ok(())
}

/// Batch numbers ascend through the file.
pub(super) fn batch_order(before: u32, number: u32, line: usize) -> Result<(), NachaError> {
    if number > before {
        return Ok(());
    }
    let expected = format!("a number above {before} (batch numbers ascend)");
    Err(NachaError::mismatch(
        line,
        Record::BatchHeader,
        bh::BATCH_NUMBER.name,
        expected,
        number,
    ))
}

/// Checks an addenda record against its entry and the addenda before it: either a run of 05
/// records numbered from 1, each naming the entry's trace sequence, or a single 98 or 99 on
/// a return or notification-of-change entry.
pub(super) fn addenda_sequence(
    detail: &EntryDetail,
    previous: &[Addenda],
    addenda: &Addenda,
    line: &Line,
) -> Result<(), NachaError> {
    match addenda {
        Addenda::Payment05 {
            addenda_sequence_number,
            entry_detail_sequence_number,
            ..
        } => {
            if previous
                .iter()
                .any(|before| !matches!(before, Addenda::Payment05 { .. }))
            {
                return Err(line.error(ad::TYPE_CODE, "a 05 addenda cannot follow a 98 or 99"));
            }
            let expected = previous.len() + 1;
            if usize::from(*addenda_sequence_number) != expected {
                return Err(line.mismatch(
                    ad::ADDENDA_SEQUENCE_NUMBER,
                    expected,
                    addenda_sequence_number,
                ));
            }
            let trace = detail.trace_sequence().unwrap_or(0);
            if *entry_detail_sequence_number != trace {
                let expected = format!("{trace:07} from the entry's trace number");
                let found = format!("{entry_detail_sequence_number:07}");
                return Err(line.mismatch(ad::ENTRY_DETAIL_SEQUENCE_NUMBER, expected, found));
            }
        }
        Addenda::Notice98 { .. } | Addenda::Return99 { .. } => {
            if !previous.is_empty() {
                let problem = "a return or change addenda must be the entry's only addenda";
                return Err(line.error(ad::TYPE_CODE, problem));
            }
            if !detail.transaction_code.is_return_or_notice() {
                let problem = format!(
                    "a {} addenda needs a return or change entry (transaction code x1 or x6), found {:02}",
                    addenda.type_code(),
                    detail.transaction_code.code()
                );
                return Err(line.error(ad::TYPE_CODE, problem));
            }
        }
    }
    Ok(())
}

/// The trace numbers of a file's entries and their lines. A trace number identifies one entry
/// in the file (returns and NOCs find their entry by it), so none may repeat.
pub(super) struct Traces {
    /// Trace number and line, in reading order.
    seen: Vec<(u64, usize)>,
}

impl Traces {
    pub fn with_capacity(capacity: usize) -> Traces {
        Traces {
            seen: Vec::with_capacity(capacity),
        }
    }

    pub fn push(&mut self, trace: u64, line: usize) {
        self.seen.push((trace, line));
    }

    /// Refuses the first repeat in reading order: the earliest line whose trace number an
    /// earlier line already has. Sorting is cheaper than hashing every trace number as it is
    /// read, and nearly free on the ascending runs a batch's trace numbers form.
    pub fn check_unique(mut self) -> Result<(), NachaError> {
        // Stable, so equal trace numbers stay in line order.
        self.seen.sort_by_key(|&(trace, _)| trace);
        let repeat = self
            .seen
            .windows(2)
            .filter(|pair| pair[0].0 == pair[1].0)
            .min_by_key(|pair| pair[1].1);
        let Some(&[(trace, first), (_, line)]) = repeat else {
            return Ok(());
        };
        Err(NachaError::new(
            line,
            Record::EntryDetail,
            ed::TRACE_NUMBER.name,
            format!("{trace:015} is already the trace number on line {first}"),
        ))
    }
}

/// Checks the file control against the batches; `records` counts the records up to and
/// including the file control, `filler` the `9…9` records after it.
pub(super) fn file_control(
    batches: &[Batch],
    control: &FileControl,
    line: usize,
    records: usize,
    filler: usize,
) -> Result<(), NachaError> {
    let mismatch = |field: &'static str, expected: String, found: u64| {
        Err(NachaError::mismatch(
            line,
            Record::FileControl,
            field,
            expected,
            found,
        ))
    };
    let sums = Sums::of_batches(batches);
    let stated = [
        (
            fc::BATCH_COUNT.name,
            batches.len() as u64,
            u64::from(control.batch_count),
        ),
        (
            fc::ENTRY_ADDENDA_COUNT.name,
            sums.entry_addenda_count,
            u64::from(control.entry_addenda_count),
        ),
        (fc::ENTRY_HASH.name, sums.entry_hash, control.entry_hash),
        (fc::TOTAL_DEBIT.name, sums.total_debit, control.total_debit),
        (
            fc::TOTAL_CREDIT.name,
            sums.total_credit,
            control.total_credit,
        ),
    ];
    for (field, expected, found) in stated {
        if expected != found {
            return mismatch(field, expected.to_string(), found);
        }
    }
    let padded = blocks(records as u64);
    let as_is = blocks((records + filler) as u64);
    let found = u64::from(control.block_count);
    if found != padded && found != as_is {
        let expected = if padded == as_is {
            padded.to_string()
        } else {
            format!("{padded} or {as_is}")
        };
        return mismatch(fc::BLOCK_COUNT.name, expected, found);
    }
    Ok(())
}
