//! Property tests: any file built with the codec's builders from well-formed field values
//! writes and reads back unchanged, and its text is a fixed point of read-then-write.

use paybank_core::nacha::{
    parse, trace_number, write, write_checked, Batch, BatchHeader, Entry, EntryDetail, FileHeader,
    NachaFile, ServiceClass, TransactionCode,
};
use paybank_core::routing::{check_digit, routing_number_is_valid};
use proptest::prelude::*;

/// Printable ASCII of at most `max` characters without trailing spaces, as the reader keeps
/// alphanumeric fields.
fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[ -~]{{0,{max}}}"))
        .expect("valid regex")
        .prop_map(|s| s.trim_end().to_string())
}

fn digits(len: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[0-9]{{{len}}}")).expect("valid regex")
}

/// The first 8 digits of a valid routing number: a Federal Reserve prefix and six digits (the
/// check digit is computed from them).
fn rdfi() -> impl Strategy<Value = String> {
    let prefixes: Vec<u8> = (0..=12).chain(21..=32).chain(61..=72).chain([80]).collect();
    (proptest::sample::select(prefixes), digits(6))
        .prop_map(|(prefix, rest)| format!("{prefix:02}{rest}"))
}

fn service_class() -> impl Strategy<Value = ServiceClass> {
    prop_oneof![
        Just(ServiceClass::Mixed),
        Just(ServiceClass::CreditsOnly),
        Just(ServiceClass::DebitsOnly),
    ]
}

prop_compose! {
    fn file_header()(
        destination in digits(9),
        origin in text(10),
        date in digits(6),
        time in prop_oneof![Just(String::new()), digits(4)],
        modifier in proptest::sample::select(('A'..='Z').chain('0'..='9').collect::<Vec<_>>()),
        names in (text(23), text(23), text(8)),
    ) -> FileHeader {
        FileHeader {
            priority_code: 1,
            immediate_destination: format!(" {destination}").into(),
            immediate_origin: origin.into(),
            file_creation_date: date.into(),
            file_creation_time: time.into(),
            file_id_modifier: modifier,
            immediate_destination_name: names.0.into(),
            immediate_origin_name: names.1.into(),
            reference_code: names.2.into(),
        }
    }
}

prop_compose! {
    fn batch_header(class: ServiceClass, batch_number: u32)(
        company in (text(16), text(20), text(10)),
        sec in proptest::sample::select(vec!["WEB", "PPD", "CCD"]),
        description in (text(10), text(6)),
        effective in digits(6),
        settlement in prop_oneof![Just(String::new()), digits(3)],
        odfi in digits(8),
    ) -> BatchHeader {
        BatchHeader {
            service_class: class,
            company_name: company.0.into(),
            company_discretionary_data: company.1.into(),
            company_identification: company.2.into(),
            standard_entry_class: sec.into(),
            company_entry_description: description.0.into(),
            company_descriptive_date: description.1.into(),
            effective_entry_date: effective.into(),
            settlement_date: settlement.into(),
            originator_status_code: 1,
            odfi_identification: odfi.into(),
            batch_number,
        }
    }
}

/// Live and prenote codes a service class allows.
fn transaction_code(class: ServiceClass) -> impl Strategy<Value = TransactionCode> {
    let codes: Vec<TransactionCode> = [22, 23, 24, 27, 28, 29, 32, 33, 34, 37, 38, 39]
        .into_iter()
        .filter_map(TransactionCode::new)
        .filter(|code| class.allows(*code))
        .collect();
    proptest::sample::select(codes)
}

prop_compose! {
    /// An entry whose trace number ends in `sequence`, with an addenda 05 or none.
    fn entry(class: ServiceClass, odfi: String, sequence: u32)(
        code in transaction_code(class),
        rdfi in rdfi(),
        account in text(17),
        amount in 0..=9_999_999_999u64,
        person in (text(15), text(22)),
        payment_type in proptest::sample::select(vec!["", "S", "R", " S", "A1"]),
        information in proptest::option::of(text(80)),
    ) -> Entry {
        let detail = EntryDetail {
            transaction_code: code,
            check_digit: check_digit(&rdfi).expect("8 digits"),
            rdfi_identification: rdfi.into(),
            dfi_account_number: account.into(),
            amount,
            individual_identification: person.0.into(),
            individual_name: person.1.into(),
            discretionary_data: payment_type.into(),
            trace_number: trace_number(&odfi, sequence).expect("trace number").into(),
        };
        assert!(routing_number_is_valid(&detail.routing_number()));
        match information {
            Some(information) => Entry::with_payment_information(detail, &information),
            None => Entry::new(detail),
        }
    }
}

/// A batch numbered `batch_number` with up to 8 entries; trace sequences start at the batch's
/// own thousand so they are unique in the file.
fn batch(batch_number: u32) -> impl Strategy<Value = Batch> {
    service_class()
        .prop_flat_map(move |class| (Just(class), batch_header(class, batch_number)))
        .prop_flat_map(move |(class, header)| {
            let odfi = header.odfi_identification.clone();
            let entries: Vec<_> = (0..8)
                .map(|index| entry(class, odfi.to_string(), batch_number * 1000 + index))
                .collect();
            (Just(header), entries, 0..=8usize)
        })
        .prop_map(|(header, mut entries, count)| {
            entries.truncate(count);
            Batch::new(header, entries)
        })
}

fn nacha_file() -> impl Strategy<Value = NachaFile> {
    let batches = (1..=4u32).map(batch).collect::<Vec<_>>();
    (file_header(), batches, 0..=4usize).prop_map(|(header, mut batches, count)| {
        batches.truncate(count);
        NachaFile::new(header, batches)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn written_files_read_back_unchanged(file in nacha_file()) {
        let text = write_checked(&file).map_err(|err| TestCaseError::fail(err.to_string()))?;
        prop_assert_eq!(&text, &write(&file));
        let read = parse(&text).map_err(|err| TestCaseError::fail(err.to_string()))?;
        prop_assert_eq!(&read, &file);
        prop_assert_eq!(write(&read), text);
    }
}
