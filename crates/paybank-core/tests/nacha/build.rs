//! Small builders for NACHA records in tests: plausible defaults, one argument per thing a test
//! varies, and the codec's own builders for every control.

use paybank_core::nacha::{
    trace_number, Addenda, Batch, BatchHeader, Entry, EntryDetail, FileHeader, NachaFile,
    ServiceClass, Text, TransactionCode,
};
use paybank_core::routing::check_digit;

/// paybank's ODFI in these tests: Demo ODFI, routing number 091000019.
pub const ODFI: &str = "09100001";
/// Receiving banks, as 8-digit RDFI identifications of valid routing numbers.
pub const RDFI_A: &str = "02100002";
pub const RDFI_B: &str = "23138010";

pub fn file_header() -> FileHeader {
    FileHeader {
        priority_code: 1,
        immediate_destination: " 091000019".into(),
        immediate_origin: "1234567890".into(),
        file_creation_date: "250602".into(),
        file_creation_time: "1200".into(),
        file_id_modifier: 'A',
        immediate_destination_name: "DEMO ODFI".into(),
        immediate_origin_name: "PAYBANK".into(),
        reference_code: Text::const_new(""),
    }
}

pub fn batch_header(class: ServiceClass, sec: &str, batch_number: u32) -> BatchHeader {
    BatchHeader {
        service_class: class,
        company_name: "DEMO SHOP".into(),
        company_discretionary_data: Text::const_new(""),
        company_identification: "1234567890".into(),
        standard_entry_class: sec.into(),
        company_entry_description: "PAYMENT".into(),
        company_descriptive_date: Text::const_new(""),
        effective_entry_date: "250603".into(),
        settlement_date: Text::const_new(""),
        originator_status_code: 1,
        odfi_identification: ODFI.into(),
        batch_number,
    }
}

/// An entry to `rdfi` with trace sequence `sequence` under [`ODFI`].
pub fn detail(code: TransactionCode, rdfi: &str, amount: u64, sequence: u32) -> EntryDetail {
    EntryDetail {
        transaction_code: code,
        rdfi_identification: rdfi.into(),
        check_digit: check_digit(rdfi).expect("8-digit RDFI"),
        dfi_account_number: format!("{:09}", 100_000 + sequence).into(),
        amount,
        individual_identification: format!("CUST{sequence:04}").into(),
        individual_name: "JANE DOE".into(),
        discretionary_data: "S".into(),
        trace_number: trace_number(ODFI, sequence).expect("trace number").into(),
    }
}

/// The first trace sequence number of a batch: trace numbers must be unique in a file, so
/// each batch of a test file numbers its entries from its own thousand.
pub fn first_sequence(batch_number: u32) -> u32 {
    batch_number * 1000 + 1
}

/// A WEB debit batch of `amounts`.
pub fn web_debit_batch(batch_number: u32, amounts: &[u64]) -> Batch {
    let header = batch_header(ServiceClass::DebitsOnly, "WEB", batch_number);
    let entries = amounts
        .iter()
        .zip(first_sequence(batch_number)..)
        .map(|(amount, sequence)| {
            Entry::new(detail(
                TransactionCode::CHECKING_DEBIT,
                RDFI_A,
                *amount,
                sequence,
            ))
        })
        .collect();
    Batch::new(header, entries)
}

/// A one-batch WEB debit file.
pub fn web_debit_file(amounts: &[u64]) -> NachaFile {
    NachaFile::new(file_header(), vec![web_debit_batch(1, amounts)])
}

/// A return of `original` (sent by the RDFI back to us, so the entry goes to our ODFI).
pub fn return_entry(original: &EntryDetail, code: &str, sequence: u32) -> Entry {
    let transaction_code = if original.is_debit() {
        TransactionCode::CHECKING_RETURN_DEBIT
    } else {
        TransactionCode::CHECKING_RETURN_CREDIT
    };
    let mut detail = detail(transaction_code, ODFI, original.amount, sequence);
    detail.trace_number = trace_number(&original.rdfi_identification, sequence)
        .unwrap()
        .into();
    let addenda = Addenda::Return99 {
        return_reason_code: code.into(),
        original_entry_trace_number: original.trace_number.clone(),
        date_of_death: Text::const_new(""),
        original_rdfi_identification: original.rdfi_identification.clone(),
        addenda_information: Text::const_new(""),
        trace_number: detail.trace_number.clone(),
    };
    Entry {
        detail,
        addenda: vec![addenda],
    }
}

/// A zero-dollar notification of change about `original`.
pub fn notice_entry(original: &EntryDetail, code: &str, corrected: &str, sequence: u32) -> Entry {
    let transaction_code = if original.is_debit() {
        TransactionCode::CHECKING_RETURN_DEBIT
    } else {
        TransactionCode::CHECKING_RETURN_CREDIT
    };
    let mut detail = detail(transaction_code, ODFI, 0, sequence);
    detail.trace_number = trace_number(&original.rdfi_identification, sequence)
        .unwrap()
        .into();
    let addenda = Addenda::Notice98 {
        change_code: code.into(),
        original_entry_trace_number: original.trace_number.clone(),
        original_rdfi_identification: original.rdfi_identification.clone(),
        corrected_data: corrected.into(),
        trace_number: detail.trace_number.clone(),
    };
    Entry {
        detail,
        addenda: vec![addenda],
    }
}
