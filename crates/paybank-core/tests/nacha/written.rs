//! Files paybank writes, one of each kind it needs (WEB debits, PPD credits, micro-deposits,
//! addenda 05, returns, notifications of change), checked by paybank's reader and by an
//! independent third-party validator.

use paybank_core::nacha::{
    parse, write_checked, Batch, Entry, NachaFile, ServiceClass, Text, TransactionCode,
};

use super::build::{
    batch_header, detail, file_header, first_sequence, notice_entry, return_entry, web_debit_batch,
    RDFI_A, RDFI_B,
};
use super::third_party;

fn ppd_credit_batch(batch_number: u32) -> Batch {
    let mut header = batch_header(ServiceClass::CreditsOnly, "PPD", batch_number);
    header.company_entry_description = "PAYOUT".into();
    let first = first_sequence(batch_number);
    let entries = [
        (RDFI_A, 12_500, first),
        (RDFI_B, 999_999, first + 1),
        (RDFI_A, 1, first + 2),
    ]
    .into_iter()
    .map(|(rdfi, amount, sequence)| {
        let mut credit = detail(TransactionCode::CHECKING_CREDIT, rdfi, amount, sequence);
        credit.discretionary_data = Text::const_new("");
        Entry::new(credit)
    })
    .collect();
    Batch::new(header, entries)
}

/// Two micro-deposit credits and the debit that offsets them (rails §1.4).
fn micro_deposit_batch(batch_number: u32) -> Batch {
    let mut header = batch_header(ServiceClass::Mixed, "PPD", batch_number);
    header.company_entry_description = "ACCTVERIFY".into();
    let savings = TransactionCode::SAVINGS_CREDIT;
    let first = first_sequence(batch_number);
    let entries = vec![
        Entry::new(detail(savings, RDFI_B, 7, first)),
        Entry::new(detail(savings, RDFI_B, 32, first + 1)),
        Entry::new(detail(
            TransactionCode::SAVINGS_DEBIT,
            RDFI_B,
            39,
            first + 2,
        )),
    ];
    Batch::new(header, entries)
}

fn web_debits_with_addenda(batch_number: u32) -> Batch {
    let header = batch_header(ServiceClass::DebitsOnly, "WEB", batch_number);
    let first = first_sequence(batch_number);
    let entries = (first..first + 4)
        .map(|sequence| {
            let debit = detail(
                TransactionCode::CHECKING_DEBIT,
                RDFI_A,
                1_000 * u64::from(sequence - first + 1),
                sequence,
            );
            Entry::with_payment_information(debit, &format!("ORDER {sequence} PAYBANK DEMO SHOP"))
        })
        .collect();
    Batch::new(header, entries)
}

/// The RDFI returns two of our entries: an R01 debit and an R03 credit.
fn return_batch(batch_number: u32) -> Batch {
    let mut header = batch_header(ServiceClass::Mixed, "WEB", batch_number);
    header.odfi_identification = RDFI_A.into();
    let debit = detail(TransactionCode::CHECKING_DEBIT, RDFI_A, 12_354, 11);
    let credit = detail(TransactionCode::CHECKING_CREDIT, RDFI_A, 4_565, 12);
    let entries = vec![
        return_entry(&debit, "R01", 1),
        return_entry(&credit, "R03", 2),
    ];
    Batch::new(header, entries)
}

/// The RDFI tells us the account number changed (C01).
fn notice_batch(batch_number: u32) -> Batch {
    let mut header = batch_header(ServiceClass::Mixed, "COR", batch_number);
    header.odfi_identification = RDFI_A.into();
    header.company_entry_description = "VENDOR PAY".into();
    let original = detail(TransactionCode::CHECKING_DEBIT, RDFI_A, 5_000, 21);
    let entries = vec![notice_entry(&original, "C01", "1918171614", 1)];
    Batch::new(header, entries)
}

/// Each representative file, by name.
fn representative_files() -> Vec<(&'static str, NachaFile)> {
    let file = |batches| NachaFile::new(file_header(), batches);
    vec![
        (
            "web-debit",
            file(vec![web_debit_batch(1, &[1_000, 2_550, 9_999_999_999])]),
        ),
        ("ppd-credit", file(vec![ppd_credit_batch(1)])),
        ("micro-deposits", file(vec![micro_deposit_batch(1)])),
        ("web-debit-addenda", file(vec![web_debits_with_addenda(1)])),
        ("return", file(vec![return_batch(1)])),
        ("notification-of-change", file(vec![notice_batch(1)])),
        (
            "several-batches",
            file(vec![
                web_debit_batch(1, &[1, 2, 3]),
                ppd_credit_batch(2),
                micro_deposit_batch(3),
                web_debits_with_addenda(4),
            ]),
        ),
    ]
}

#[test]
fn written_files_read_back_unchanged() {
    for (name, file) in representative_files() {
        let text = write_checked(&file).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(parse(&text).unwrap(), file, "{name}");
        assert!(text.lines().all(|line| line.len() == 94), "{name}");
        assert_eq!(text.lines().count() % 10, 0, "{name}");
        let blocks = text.lines().count() / 10;
        assert_eq!(file.control.block_count as usize, blocks, "{name}");
    }
}

#[test]
fn third_party_accepts_written_files() {
    let dir = third_party::scratch_dir("nacha-written");
    let mut files = Vec::new();
    for (name, file) in representative_files() {
        let path = dir.join(format!("{name}.ach"));
        std::fs::write(&path, write_checked(&file).unwrap()).unwrap();
        let entries = file.batches.iter().map(|batch| batch.entries.len()).sum();
        files.push((path, entries));
    }
    third_party::check_files(&files).unwrap();
}
