//! NACHA ACH files: typed records, a reader that is lenient about the physical form and strict
//! about content, a writer, and builders that fill in every control so callers never compute
//! counts or hashes (rails.md §1).
//!
//! ```text
//! file header 1
//!   batch header 5, (entry detail 6, addenda 7*)*, batch control 8   (per batch)
//! file control 9, then 9…9 filler to a multiple of 10 records
//! ```
//!
//! Pure: text in, text out. The reader refuses inputs over [`MAX_FILE_BYTES`] or
//! [`MAX_RECORDS`], so its work is bounded.

mod check;
pub mod codes;
mod error;
mod layout;
mod line;
mod read;
mod records;
mod text;
mod write;

pub use codes::{
    change_code_is_known, change_code_meaning, return_code_is_known, return_code_meaning,
    TransactionCode,
};
pub use error::{NachaError, Record};
pub use line::{MAX_FILE_BYTES, MAX_RECORDS};
pub use read::parse;
pub use records::{
    Addenda, BatchControl, BatchHeader, EntryDetail, FileControl, FileHeader, ServiceClass,
};
pub use text::Text;
pub use write::{write, write_checked};

use check::Sums;

/// A whole NACHA file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NachaFile {
    pub header: FileHeader,
    pub batches: Vec<Batch>,
    pub control: FileControl,
}

/// One batch: a header, its entries and its control.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub header: BatchHeader,
    pub entries: Vec<Entry>,
    pub control: BatchControl,
}

/// An entry detail and its addenda records. The entry's addenda record indicator is not
/// stored: it is `1` exactly when `addenda` is not empty (the reader checks it, the writer
/// derives it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub detail: EntryDetail,
    pub addenda: Vec<Addenda>,
}

impl Entry {
    /// An entry without addenda.
    pub fn new(detail: EntryDetail) -> Entry {
        Entry {
            detail,
            addenda: Vec::new(),
        }
    }

    /// An entry with one addenda 05 carrying `information`, numbered 1 and tied to the entry's
    /// trace number.
    pub fn with_payment_information(detail: EntryDetail, information: &str) -> Entry {
        let addenda = Addenda::Payment05 {
            payment_related_information: information.into(),
            addenda_sequence_number: 1,
            entry_detail_sequence_number: detail.trace_sequence().unwrap_or(0),
        };
        Entry {
            detail,
            addenda: vec![addenda],
        }
    }
}

impl Batch {
    /// A batch whose control is computed from `header` and `entries`: the count of entry and
    /// addenda records, the entry hash, the debit and credit totals, and the service class,
    /// company identification, ODFI identification and batch number copied from the header.
    pub fn new(header: BatchHeader, entries: Vec<Entry>) -> Batch {
        let sums = Sums::of_entries(&entries);
        let control = BatchControl {
            service_class: header.service_class,
            entry_addenda_count: saturate(sums.entry_addenda_count),
            entry_hash: sums.entry_hash,
            total_debit: sums.total_debit,
            total_credit: sums.total_credit,
            company_identification: header.company_identification.clone(),
            message_authentication_code: Text::const_new(""),
            odfi_identification: header.odfi_identification.clone(),
            batch_number: header.batch_number,
        };
        Batch {
            header,
            entries,
            control,
        }
    }
}

impl NachaFile {
    /// A file whose control is computed from the batches' controls: batch count, block count
    /// (including the filler the writer adds), entry and addenda count, entry hash and totals.
    pub fn new(header: FileHeader, batches: Vec<Batch>) -> NachaFile {
        let sums = Sums::of_batches(&batches);
        let control = FileControl {
            batch_count: saturate(batches.len() as u64),
            block_count: saturate(check::blocks(check::record_count(&batches))),
            entry_addenda_count: saturate(sums.entry_addenda_count),
            entry_hash: sums.entry_hash,
            total_debit: sums.total_debit,
            total_credit: sums.total_credit,
        };
        NachaFile {
            header,
            batches,
            control,
        }
    }
}

/// Counts beyond `u32` cannot be written anyway; `write_checked` reports them.
fn saturate(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// A trace number: the 8-digit ODFI identification followed by a 7-digit sequence number.
/// `None` unless `odfi` is 8 digits and `sequence` fits in 7 digits.
pub fn trace_number(odfi: &str, sequence: u32) -> Option<String> {
    let odfi_ok = odfi.len() == 8 && odfi.bytes().all(|b| b.is_ascii_digit());
    (odfi_ok && sequence <= 9_999_999).then(|| format!("{odfi}{sequence:07}"))
}

/// A date as NACHA writes it, YYMMDD. Years outside 2000–2099 keep their last two digits.
pub fn yymmdd(date: time::Date) -> String {
    format!(
        "{:02}{:02}{:02}",
        date.year().rem_euclid(100),
        u8::from(date.month()),
        date.day()
    )
}

/// Reads a YYMMDD date as a day in 2000–2099; `None` for anything that is not a real date
/// (blank, `000000`, February 30th).
pub fn parse_yymmdd(text: &str) -> Option<time::Date> {
    if text.len() != 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text[range].parse::<u8>().ok();
    let year = 2000 + i32::from(number(0..2)?);
    let month = time::Month::try_from(number(2..4)?).ok()?;
    time::Date::from_calendar_date(year, month, number(4..6)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_numbers() {
        assert_eq!(
            trace_number("08100003", 5).as_deref(),
            Some("081000030000005")
        );
        assert_eq!(trace_number("08100003", 10_000_000), None);
        assert_eq!(trace_number("0810000", 1), None);
        assert_eq!(trace_number("0810000x", 1), None);
    }

    #[test]
    fn dates() {
        let date = time::macros::date!(2015 - 03 - 05);
        assert_eq!(yymmdd(date), "150305");
        assert_eq!(parse_yymmdd("150305"), Some(date));
        assert_eq!(parse_yymmdd("000000"), None);
        assert_eq!(parse_yymmdd("150230"), None);
        assert_eq!(parse_yymmdd("      "), None);
    }
}
