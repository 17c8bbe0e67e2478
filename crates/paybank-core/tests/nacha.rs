//! The NACHA codec against moov-io/ach's reference files (tests/data/nacha): what valid files
//! contain, that lenient forms read the same, that invalid files are refused at the right
//! field, and that reading and writing round-trip.

#[path = "nacha/build.rs"]
mod build;
#[path = "nacha/negative.rs"]
mod negative;
#[path = "nacha/properties.rs"]
mod properties;
mod third_party;
#[path = "nacha/written.rs"]
mod written;

use paybank_core::nacha::{
    parse, return_code_meaning, write, Addenda, NachaFile, Record, ServiceClass, TransactionCode,
};

/// The reference files that are valid, with how many entries each holds.
const VALID: &[(&str, usize)] = &[
    ("web-debit.ach", 6),
    ("web-credit.ach", 1),
    ("ppd-debit.ach", 1),
    ("ppd-credit.ach", 1),
    ("ppd-mixedDebitCredit.ach", 3),
    ("ccd-debit.ach", 2),
    ("return-WEB.ach", 2),
    ("cor-example.ach", 1),
    ("two-micro-deposits.ach", 6),
];

fn data_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/nacha")
        .join(name)
}

fn data(name: &str) -> String {
    std::fs::read_to_string(data_path(name)).unwrap_or_else(|err| panic!("{name}: {err}"))
}

fn read(name: &str) -> NachaFile {
    parse(&data(name)).unwrap_or_else(|err| panic!("{name}: {err}"))
}

fn entry_count(file: &NachaFile) -> usize {
    file.batches.iter().map(|batch| batch.entries.len()).sum()
}

#[test]
fn every_valid_reference_file_parses() {
    for (name, entries) in VALID {
        assert_eq!(entry_count(&read(name)), *entries, "{name}");
    }
}

// web-debit: three batches over two blocks; batch 1 is the worked hash example of rails §1.3.
#[test]
fn web_debit_contents() {
    let file = read("web-debit.ach");
    assert_eq!(file.batches.len(), 3);
    let first = &file.batches[0];
    assert_eq!(first.header.standard_entry_class, "WEB");
    assert_eq!(first.header.service_class, ServiceClass::CreditsOnly);
    assert_eq!(first.header.company_descriptive_date, "Mar 5");
    assert_eq!(first.header.effective_entry_date, "150305");
    assert_eq!(first.entries.len(), 4);
    assert_eq!(first.control.entry_hash, 32_400_084);
    assert_eq!(first.control.total_credit, 3521 + 2300 + 2499 + 1000);
    let detail = &first.entries[0].detail;
    assert_eq!(detail.transaction_code, TransactionCode::CHECKING_CREDIT);
    assert_eq!(detail.routing_number(), "081000210");
    assert_eq!(detail.dfi_account_number, "12345678901234567");
    assert_eq!(detail.individual_name, "John Doe");
    assert_eq!(detail.discretionary_data, " S");
    assert_eq!(detail.payment_type_code(), "S");
    assert_eq!(detail.trace_number, "081000030000000");
    let third = &file.batches[2];
    assert_eq!(third.header.standard_entry_class, "PPD");
    assert!(third.entries[0].detail.is_debit());
    assert_eq!(third.entries[0].detail.amount, 15000);
    assert_eq!(third.entries[0].detail.discretionary_data, "A1");
    let control = &file.control;
    assert_eq!((control.batch_count, control.block_count), (3, 2));
    assert_eq!(control.entry_addenda_count, 6);
    assert_eq!(control.entry_hash, 50_600_106);
    assert_eq!((control.total_debit, control.total_credit), (15000, 26820));
    assert_eq!(file.header.immediate_destination, " 031300012");
    assert_eq!(file.header.file_id_modifier, 'A');
    assert_eq!(file.header.reference_code, "A0000001");
}

#[test]
fn payment_files_contents() {
    let credit = read("web-credit.ach");
    let entry = &credit.batches[0].entries[0];
    assert_eq!(entry.detail.amount, 10000);
    assert_eq!(
        entry.addenda,
        [Addenda::Payment05 {
            payment_related_information: "PAY-GATE payment\\".into(),
            addenda_sequence_number: 1,
            entry_detail_sequence_number: 1,
        }]
    );
    let debit = read("ppd-debit.ach");
    assert_eq!(
        debit.batches[0].header.service_class,
        ServiceClass::DebitsOnly
    );
    assert_eq!(debit.batches[0].entries[0].detail.amount, 200_000_000);
    assert_eq!(
        debit.batches[0].entries[0].detail.individual_name,
        "Debit Account"
    );
    let ppd_credit = read("ppd-credit.ach");
    assert_eq!(
        ppd_credit.batches[0].header.service_class,
        ServiceClass::CreditsOnly
    );
    assert_eq!(ppd_credit.control.total_credit, 100_000_000);
    let mixed = read("ppd-mixedDebitCredit.ach");
    assert_eq!(mixed.batches[0].header.service_class, ServiceClass::Mixed);
    assert_eq!(
        (mixed.control.total_debit, mixed.control.total_credit),
        (200_000_000, 200_000_000)
    );
    let ccd = read("ccd-debit.ach");
    assert_eq!(ccd.batches[0].header.standard_entry_class, "CCD");
    let names: Vec<&str> = ccd.batches[0]
        .entries
        .iter()
        .map(|e| e.detail.individual_name.as_str())
        .collect();
    assert_eq!(names, ["Best Co. #123456789012"; 2]);
    assert_eq!(ccd.control.total_debit, 500_125);
}

#[test]
fn micro_deposit_contents() {
    let file = read("two-micro-deposits.ach");
    assert_eq!(file.batches.len(), 2);
    for batch in &file.batches {
        assert_eq!(batch.header.service_class, ServiceClass::Mixed);
        let codes: Vec<u8> = batch
            .entries
            .iter()
            .map(|e| e.detail.transaction_code.code())
            .collect();
        assert_eq!(codes, [32, 32, 27]);
        assert_eq!(batch.control.total_debit, batch.control.total_credit);
        assert!(batch.entries.iter().all(|e| e.addenda.len() == 1));
    }
    assert_eq!(file.batches[0].control.total_credit, 76);
}

#[test]
fn return_contents() {
    let file = read("return-WEB.ach");
    assert_eq!(file.batches.len(), 2);
    let first = &file.batches[0].entries[0];
    assert_eq!(
        first.detail.transaction_code,
        TransactionCode::CHECKING_RETURN_DEBIT
    );
    assert_eq!(first.detail.amount, 12354);
    let Addenda::Return99 {
        return_reason_code,
        original_entry_trace_number,
        original_rdfi_identification,
        trace_number,
        date_of_death,
        ..
    } = &first.addenda[0]
    else {
        panic!("expected a return addenda, found {:?}", first.addenda);
    };
    assert_eq!(return_reason_code, "R01");
    assert_eq!(
        return_code_meaning(return_reason_code),
        Some("insufficient funds")
    );
    assert_eq!(original_entry_trace_number, "091400600000001");
    assert_eq!(original_rdfi_identification, "09100001");
    assert_eq!(trace_number, &first.detail.trace_number);
    assert_eq!(date_of_death, "");
    let second = &file.batches[1].entries[0];
    assert_eq!(
        second.detail.transaction_code,
        TransactionCode::CHECKING_RETURN_CREDIT
    );
    assert!(
        matches!(&second.addenda[0], Addenda::Return99 { return_reason_code, .. } if return_reason_code == "R03")
    );
    // The control's company identification is right-justified, the header's left: kept as is.
    assert_eq!(file.batches[0].header.company_identification, "123456789");
    assert_eq!(file.batches[0].control.company_identification, " 123456789");
}

#[test]
fn notification_of_change_contents() {
    let file = read("cor-example.ach");
    let batch = &file.batches[0];
    assert_eq!(batch.header.standard_entry_class, "COR");
    let entry = &batch.entries[0];
    assert_eq!(
        entry.detail.transaction_code,
        TransactionCode::CHECKING_RETURN_CREDIT
    );
    assert_eq!(entry.detail.amount, 0);
    assert_eq!(
        entry.addenda,
        [Addenda::Notice98 {
            change_code: "C01".into(),
            original_entry_trace_number: "121042880000001".into(),
            original_rdfi_identification: "12104288".into(),
            corrected_data: "1918171614".into(),
            trace_number: "091012980000088".into(),
        }]
    );
}

/// Pads every line to 94 characters and ends each with LF: the canonical form of a file.
fn canonical(text: &str) -> String {
    text.lines().map(|line| format!("{line:<94}\n")).collect()
}

#[test]
fn trimmed_lines_read_as_padded_ones() {
    let text = data("ppd-debit-trimmed.ach");
    assert!(
        text.lines().any(|line| line.len() < 94),
        "the file has trimmed lines"
    );
    let file = parse(&text).unwrap();
    assert_eq!(file, parse(&canonical(&text)).unwrap());
    assert_eq!(file.header.immediate_origin_name, "My Bank Name");
    assert_eq!(file.batches[0].entries[0].detail.amount, 100_000_000);
    assert_eq!(write(&file), canonical(&text));
}

#[test]
fn one_long_line_reads_as_records() {
    let text = data("ppd-debit-fixedLength.ach");
    assert_eq!(text.trim_end_matches('\n').len(), 5 * 94);
    let file = parse(&text).unwrap();
    let records: Vec<&str> = (0..5).map(|i| &text[i * 94..(i + 1) * 94]).collect();
    assert_eq!(file, parse(&records.join("\n")).unwrap());
    let detail = &file.batches[0].entries[0].detail;
    assert_eq!(
        (detail.individual_name.as_str(), detail.amount),
        ("Bachman Eric", 10500)
    );
    // Five records and no filler, yet a block count of 1: the count as if padded.
    assert_eq!(file.control.block_count, 1);
    let written = write(&file);
    assert_eq!(written.lines().count(), 10);
    assert_eq!(parse(&written).unwrap(), file);
}

#[test]
fn crlf_reads_like_lf() {
    for (name, _) in VALID {
        let text = data(name);
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(parse(&crlf).unwrap(), read(name), "{name}");
    }
}

#[test]
fn invalid_reference_files_are_refused_at_the_field() {
    let cases = [
        (
            "ppd-debit-invalid-entryDetail-checkDigit.ach",
            3,
            Record::EntryDetail,
            "check digit",
        ),
        (
            "invalid-two-micro-deposits.ach",
            15,
            Record::EntryDetail,
            "amount",
        ),
        ("web-invalidNOCFile.ach", 4, Record::Addenda, "change code"),
        (
            "return-no-batch-header.ach",
            1,
            Record::FileHeader,
            "record type",
        ),
    ];
    for (name, line, record, field) in cases {
        let err = parse(&data(name)).expect_err(name);
        assert_eq!(
            (err.line, err.record, err.field),
            (line, record, field),
            "{name}: {err}"
        );
    }
    let err = parse(&data("ppd-debit-invalid-entryDetail-checkDigit.ach")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 3: entry detail, check digit: expected 4, found 5"
    );
}

#[test]
fn valid_files_round_trip() {
    for (name, _) in VALID {
        let file = read(name);
        let written = write(&file);
        assert_eq!(parse(&written).unwrap(), file, "{name}");
        assert_eq!(write(&parse(&written).unwrap()), written, "{name}");
        assert_eq!(
            written.len() % (10 * 95),
            0,
            "{name}: whole blocks of LF-ended records"
        );
    }
}

// Files already in canonical form (94-character records, LF after each, whole blocks) come
// back byte for byte; the others differ from it only by a missing final newline.
#[test]
fn canonical_files_round_trip_byte_for_byte() {
    let mut exact = Vec::new();
    for (name, _) in VALID {
        let text = data(name);
        let written = write(&read(name));
        if written == text {
            exact.push(*name);
        } else {
            assert_eq!(written, format!("{text}\n"), "{name}");
        }
    }
    assert_eq!(exact, ["cor-example.ach", "two-micro-deposits.ach"]);
}

#[test]
fn third_party_accepts_the_valid_reference_files() {
    // return-WEB and cor-example are left out: achlens rightly flags their own quirks (a
    // right-justified company identification, an effective date of 000000).
    let files: Vec<_> = VALID
        .iter()
        .filter(|(name, _)| !["return-WEB.ach", "cor-example.ach"].contains(name))
        .map(|(name, entries)| (data_path(name), *entries))
        .collect();
    third_party::check_files(&files).unwrap();
    // And it is not a rubber stamp: it refuses the bad check digit.
    let bad = data_path("ppd-debit-invalid-entryDetail-checkDigit.ach");
    let err = third_party::check_files(&[(bad, 1)]).unwrap_err();
    assert!(err.contains("ED004"), "{err}");
}
