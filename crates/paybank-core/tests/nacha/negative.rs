//! Files that must be refused, each made by writing a valid file and breaking one thing, and
//! files the writer must refuse to produce: the error names the line, record and field.

use paybank_core::nacha::{
    parse, write, write_checked, Addenda, Batch, Entry, NachaFile, Record, ServiceClass,
    TransactionCode, MAX_FILE_BYTES,
};

use super::build::{self, detail, file_header, web_debit_batch, web_debit_file, RDFI_A};

/// Overwrites `line` (1-based) from 1-based `column` with `text`.
fn patch(text: &str, line: usize, column: usize, replacement: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let target = &mut lines[line - 1];
    target.replace_range(column - 1..column - 1 + replacement.len(), replacement);
    lines.join("\n") + "\n"
}

/// Parses `text` and returns `(line, record, field)` of the error.
fn refusal(text: &str) -> (usize, Record, &'static str) {
    let err = parse(text).expect_err("the file must be refused");
    (err.line, err.record, err.field)
}

/// Two debits of 1000 and 2500: lines 1 header, 2 batch header, 3-4 entries, 5 batch control,
/// 6 file control, 7-10 filler.
fn sample() -> String {
    write(&web_debit_file(&[1000, 2500]))
}

#[test]
fn the_sample_is_valid() {
    let text = sample();
    let file = parse(&text).unwrap();
    assert_eq!(file.batches[0].control.entry_hash, 2 * 2_100_002);
    assert_eq!(text.lines().nth(4).unwrap().get(10..20), Some("0004200004"));
}

#[test]
fn a_wrong_entry_hash_is_refused() {
    let err = parse(&patch(&sample(), 5, 11, "0004200005")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 5: batch control, entry hash: expected 4200004, found 4200005"
    );
    let text = patch(&sample(), 6, 22, "0004200005");
    assert_eq!(refusal(&text), (6, Record::FileControl, "entry hash"));
}

#[test]
fn wrong_totals_are_refused() {
    let text = patch(&sample(), 5, 21, "000000003501");
    assert_eq!(
        refusal(&text),
        (5, Record::BatchControl, "total debit entry dollar amount")
    );
    let text = patch(&sample(), 5, 33, "000000000001");
    assert_eq!(
        refusal(&text),
        (5, Record::BatchControl, "total credit entry dollar amount")
    );
    let text = patch(&sample(), 6, 32, "000000003499");
    assert_eq!(
        refusal(&text),
        (6, Record::FileControl, "total debit entry dollar amount")
    );
    let text = patch(&sample(), 6, 44, "000000000100");
    assert_eq!(
        refusal(&text),
        (6, Record::FileControl, "total credit entry dollar amount")
    );
}

#[test]
fn wrong_counts_are_refused() {
    let text = patch(&sample(), 5, 5, "000003");
    assert_eq!(
        refusal(&text),
        (5, Record::BatchControl, "entry/addenda count")
    );
    let text = patch(&sample(), 6, 2, "000002");
    assert_eq!(refusal(&text), (6, Record::FileControl, "batch count"));
    let text = patch(&sample(), 6, 8, "000002");
    assert_eq!(refusal(&text), (6, Record::FileControl, "block count"));
    let text = patch(&sample(), 6, 14, "00000003");
    assert_eq!(
        refusal(&text),
        (6, Record::FileControl, "entry/addenda count")
    );
}

#[test]
fn controls_must_repeat_the_batch_header() {
    let text = patch(&sample(), 5, 2, "200");
    assert_eq!(
        refusal(&text),
        (5, Record::BatchControl, "service class code")
    );
    let text = patch(&sample(), 5, 45, "9999999999");
    assert_eq!(
        refusal(&text),
        (5, Record::BatchControl, "company identification")
    );
    let text = patch(&sample(), 5, 88, "0000002");
    assert_eq!(refusal(&text), (5, Record::BatchControl, "batch number"));
    let text = patch(&sample(), 5, 80, "02100002");
    assert_eq!(
        refusal(&text),
        (5, Record::BatchControl, "odfi identification")
    );
}

#[test]
fn a_debit_in_a_credits_only_batch_is_refused() {
    let text = patch(&sample(), 2, 2, "220");
    let err = parse(&text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 3: entry detail, transaction code: 27 is a debit, which service class 220 does not allow"
    );
    let text = patch(&sample(), 2, 2, "210");
    assert_eq!(
        refusal(&text),
        (2, Record::BatchHeader, "service class code")
    );
}

#[test]
fn malformed_fields_are_refused() {
    let text = patch(&sample(), 3, 30, "00000010O0");
    let err = parse(&text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 3: entry detail, amount: expected 10 digits, found \"00000010O0\""
    );
    let text = patch(&sample(), 3, 2, "25");
    assert_eq!(refusal(&text), (3, Record::EntryDetail, "transaction code"));
    let text = patch(&sample(), 3, 12, "2");
    assert_eq!(refusal(&text), (3, Record::EntryDetail, "check digit"));
    let text = patch(&sample(), 1, 35, "095");
    assert_eq!(refusal(&text), (1, Record::FileHeader, "record size"));
    let text = patch(&sample(), 5, 74, "X");
    assert_eq!(refusal(&text), (5, Record::BatchControl, "reserved"));
    let text = patch(&sample(), 3, 79, "1");
    assert_eq!(
        refusal(&text),
        (3, Record::EntryDetail, "addenda record indicator")
    );
}

#[test]
fn a_short_record_is_refused() {
    let text = sample();
    let cut: Vec<&str> = text
        .lines()
        .enumerate()
        .map(|(i, l)| if i == 2 { &l[..50] } else { l })
        .collect();
    let err = parse(&cut.join("\n")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 3: entry detail, trace number: missing: the record has only 50 of 94 characters"
    );
    let long: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 2 {
                format!("{l}X")
            } else {
                l.to_string()
            }
        })
        .collect();
    assert_eq!(
        refusal(&long.join("\n")),
        (3, Record::EntryDetail, "record length")
    );
}

#[test]
fn records_out_of_order_are_refused() {
    let text = sample();
    let lines: Vec<&str> = text.lines().collect();
    let mut swapped = lines.clone();
    swapped.swap(1, 2);
    let err = parse(&swapped.join("\n")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 2: batch header, record type: expected 5 (batch header) or 9 (file control), found '6'"
    );
    let mut no_batch_control = lines.clone();
    no_batch_control.remove(4);
    assert_eq!(
        refusal(&no_batch_control.join("\n")),
        (5, Record::BatchControl, "record type")
    );
    let mut stray_addenda = lines.clone();
    stray_addenda.insert(2, "705PAYMENT");
    assert_eq!(
        refusal(&stray_addenda.join("\n")),
        (3, Record::BatchControl, "record type")
    );
    let filler_first = [lines[9], lines[0]].join("\n");
    assert_eq!(
        refusal(&filler_first),
        (1, Record::FileHeader, "record type")
    );
    let truncated_batch = lines[..3].join("\n");
    assert_eq!(
        refusal(&truncated_batch),
        (4, Record::BatchControl, "record type")
    );
}

#[test]
fn a_missing_file_control_is_refused() {
    let text = sample();
    let lines: Vec<&str> = text.lines().collect();
    let without: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.starts_with("9000"))
        .collect();
    let err = parse(&without.join("\n")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 6: file control, record type: missing: expected 5 (batch header) or 9 (file control), found block filler (94 nines)"
    );
    let truncated = lines[..5].join("\n");
    let err = parse(&truncated).unwrap_err();
    assert_eq!(
        (err.line, err.record, err.field),
        (6, Record::FileControl, "record type")
    );
    assert!(err.problem.contains("end of the file"), "{err}");
}

#[test]
fn only_filler_may_follow_the_file_control() {
    let text = patch(&sample(), 8, 1, "5");
    assert_eq!(refusal(&text), (8, Record::File, "block filler"));
    assert_eq!(refusal(""), (1, Record::FileHeader, "record type"));
}

#[test]
fn addenda_rules() {
    let mut file = web_debit_file(&[1000]);
    let detail = file.batches[0].entries[0].detail.clone();
    let entry = Entry::with_payment_information(detail, "ORDER 1");
    let batch = Batch::new(file.batches[0].header.clone(), vec![entry]);
    file = NachaFile::new(file_header(), vec![batch]);
    let text = write_checked(&file).unwrap();
    assert_eq!(parse(&text).unwrap(), file);
    let text_bad_sequence = patch(&text, 4, 84, "0002");
    assert_eq!(
        refusal(&text_bad_sequence),
        (4, Record::Addenda, "addenda sequence number")
    );
    let text_bad_trace = patch(&text, 4, 88, "0000002");
    assert_eq!(
        refusal(&text_bad_trace),
        (4, Record::Addenda, "entry detail sequence number")
    );
    let text_bad_type = patch(&text, 4, 2, "02");
    assert_eq!(
        refusal(&text_bad_type),
        (4, Record::Addenda, "addenda type code")
    );
    let text_no_indicator = patch(&text, 3, 79, "0");
    assert_eq!(
        refusal(&text_no_indicator),
        (3, Record::EntryDetail, "addenda record indicator")
    );
    // A return addenda needs a return entry (x1/x6), not a live debit.
    let trace = "091000010000001";
    let return_addenda = format!("799R01{trace}      02100002{:44}{trace}", "");
    let text_return_on_debit = patch(&text, 4, 1, &return_addenda);
    assert_eq!(
        refusal(&text_return_on_debit),
        (4, Record::Addenda, "addenda type code")
    );
}

#[test]
fn unknown_return_codes_are_refused() {
    let original = detail(TransactionCode::CHECKING_DEBIT, RDFI_A, 500, 1);
    let header = build::batch_header(ServiceClass::Mixed, "WEB", 1);
    let batch = Batch::new(header, vec![build::return_entry(&original, "R86", 1)]);
    let file = NachaFile::new(file_header(), vec![batch]);
    let err = write_checked(&file).unwrap_err();
    assert_eq!(
        (err.line, err.record, err.field),
        (4, Record::Addenda, "return reason code")
    );
}

#[test]
fn batch_numbers_ascend() {
    let file = NachaFile::new(
        file_header(),
        vec![web_debit_batch(2, &[1]), web_debit_batch(2, &[2])],
    );
    let err = parse(&write(&file)).unwrap_err();
    assert_eq!(
        (err.line, err.record, err.field),
        (5, Record::BatchHeader, "batch number")
    );
}

#[test]
fn trace_numbers_are_unique_in_the_file() {
    let text = sample();
    let first_trace = &text.lines().nth(2).unwrap()[79..];
    let err = parse(&patch(&text, 4, 80, first_trace)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("line 4: entry detail, trace number: {first_trace} is already the trace number on line 3")
    );
}

// Trace numbers are checked once reading stops, yet a repeat is still reported ahead of a
// problem on a later record, as it was found first.
#[test]
fn a_repeated_trace_number_comes_before_later_problems() {
    let text = sample();
    let first_trace = &text.lines().nth(2).unwrap()[79..];
    let repeated = patch(&text, 4, 80, first_trace);
    let broken_later = patch(&repeated, 5, 11, "9999999999");
    assert_eq!(
        refusal(&broken_later),
        (4, Record::EntryDetail, "trace number")
    );
}

#[test]
fn oversized_input_is_refused_before_reading() {
    let huge = "9".repeat(MAX_FILE_BYTES + 1);
    assert_eq!(refusal(&huge), (1, Record::File, "size"));
}

#[test]
fn the_writer_refuses_values_that_do_not_fit() {
    let mut file = web_debit_file(&[1000]);
    file.batches[0].entries[0].detail.individual_name = "A NAME LONGER THAN TWENTY-TWO".into();
    let err = write_checked(&file).unwrap_err();
    assert_eq!(
        (err.line, err.record, err.field),
        (3, Record::EntryDetail, "individual name")
    );
    // The plain writer still writes a well-formed file, with the name cut to its column.
    assert!(write(&file).lines().all(|line| line.len() == 94));

    let mut file = web_debit_file(&[1000]);
    file.batches[0].entries[0].detail.individual_name = "JOSÉ".into();
    let err = write_checked(&file).unwrap_err();
    assert_eq!(err.field, "individual name");
    // The plain writer puts one `?` for each character outside printable ASCII.
    let written = write(&file);
    assert_eq!(written.lines().nth(2).unwrap().get(54..59), Some("JOS? "));

    let mut file = web_debit_file(&[1000]);
    file.batches[0].entries[0].detail.amount = 10_000_000_000;
    assert_eq!(write_checked(&file).unwrap_err().field, "amount");

    let mut file = web_debit_file(&[1000]);
    file.control.total_debit += 1;
    let err = write_checked(&file).unwrap_err();
    assert_eq!(
        (err.record, err.field),
        (Record::FileControl, "total debit entry dollar amount")
    );

    let mut file = web_debit_file(&[1000]);
    if let Some(entry) = file.batches[0].entries.first_mut() {
        entry.addenda.push(Addenda::Payment05 {
            payment_related_information: "NOTE ".into(),
            addenda_sequence_number: 1,
            entry_detail_sequence_number: 1,
        });
    }
    assert_eq!(
        write_checked(&file).unwrap_err().field,
        "payment related information"
    );
}
