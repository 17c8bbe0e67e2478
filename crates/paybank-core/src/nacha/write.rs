//! Writing a NACHA file: 94-character records, alphanumeric fields left-justified and
//! space-filled, numeric fields right-justified and zero-filled, LF after every record, and
//! `9…9` filler up to a whole block.

use super::check::BLOCKING_FACTOR;
use super::error::{NachaError, Record};
use super::layout::{
    addenda as ad, batch_control as bc, batch_header as bh, entry_detail as ed, file_control as fc,
    file_header as fh, Field, RECORD_LEN, RECORD_TYPE,
};
use super::records::{Addenda, BatchControl, BatchHeader, EntryDetail, FileControl, FileHeader};
use super::{parse, NachaFile};

/// A block filler record: 94 nines.
const FILLER: &str = concat!(
    "9999999999999999999999999999999999999999999999999999999999999999999999999999999999",
    "999999999999",
);
const _: () = assert!(FILLER.len() == RECORD_LEN);

/// Writes `file` exactly as its records say; controls are not recomputed (build the file
/// with [`NachaFile::new`] for that). The text is always well-formed: a value too wide for
/// its field is cut to fit and a character outside printable ASCII becomes `?`. Use
/// [`write_checked`] to refuse such a file instead.
pub fn write(file: &NachaFile) -> String {
    render(file).0
}

/// Writes `file`, or reports the first field whose value does not fit its column (too wide,
/// not printable ASCII, trailing spaces that reading would drop) and otherwise any problem the
/// reader finds in the written text (controls, codes, check digits), so what it returns reads
/// back to `file` unchanged.
pub fn write_checked(file: &NachaFile) -> Result<String, NachaError> {
    let (text, problem) = render(file);
    if let Some(problem) = problem {
        return Err(problem);
    }
    parse(&text)?;
    Ok(text)
}

fn render(file: &NachaFile) -> (String, Option<NachaError>) {
    let records = padded_record_count(file);
    let mut out = Out {
        // Sized once: a 100,000-entry file is about 9.5 MB, and growing it by doubling would
        // copy it several times over.
        text: Vec::with_capacity(records * (RECORD_LEN + 1)),
        records: 0,
        problem: None,
    };
    file_header(&mut out, &file.header);
    for batch in &file.batches {
        batch_header(&mut out, &batch.header);
        for entry in &batch.entries {
            entry_detail(&mut out, &entry.detail, !entry.addenda.is_empty());
            for addenda in &entry.addenda {
                addenda_record(&mut out, addenda);
            }
        }
        batch_control(&mut out, &batch.control);
    }
    file_control(&mut out, &file.control);
    while !out.records.is_multiple_of(BLOCKING_FACTOR) {
        out.text.extend_from_slice(FILLER.as_bytes());
        out.text.push(b'\n');
        out.records += 1;
    }
    // Every byte written is printable ASCII or a newline, so the text is always UTF-8; it is
    // checked once here rather than record by record.
    let text = String::from_utf8(out.text)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned());
    (text, out.problem)
}

/// Records `render` writes for `file`, filler included, counted from the batches themselves
/// rather than their controls, which a hand-built file may state wrongly.
fn padded_record_count(file: &NachaFile) -> usize {
    let batch_records: usize = file
        .batches
        .iter()
        .map(|batch| {
            let addenda: usize = batch.entries.iter().map(|entry| entry.addenda.len()).sum();
            2 + batch.entries.len() + addenda
        })
        .sum();
    (2 + batch_records).next_multiple_of(BLOCKING_FACTOR)
}

/// The text written so far and the first field that did not fit.
struct Out {
    text: Vec<u8>,
    records: usize,
    problem: Option<NachaError>,
}

impl Out {
    fn record(&mut self, record: Record) -> RecordBuf<'_> {
        self.records += 1;
        RecordBuf {
            bytes: [b' '; RECORD_LEN],
            line: self.records,
            record,
            out: self,
        }
    }
}

/// One record being filled in, appended to the text by `finish`.
struct RecordBuf<'a> {
    bytes: [u8; RECORD_LEN],
    line: usize,
    record: Record,
    out: &'a mut Out,
}

impl RecordBuf<'_> {
    /// Keeps the first problem found; `problem` describes it, and runs only for that one, so
    /// a file full of values that do not fit costs one message, not one per field.
    fn report(&mut self, field: Field, problem: impl FnOnce() -> String) {
        if self.out.problem.is_none() {
            let error = NachaError::new(self.line, self.record, field.name, problem());
            self.out.problem = Some(error);
        }
    }

    /// Left-justified, space-filled. Characters outside printable ASCII become `?`, one per
    /// character, and a value too long keeps its first `field.len` characters. Takes bytes
    /// (a `&str` or a [`Text`](super::Text)) so field text is not checked as UTF-8 on the way.
    fn text(&mut self, field: Field, value: impl AsRef<[u8]>) {
        let value = value.as_ref();
        let slot = &mut self.bytes[field.range()];
        let printable = value.iter().all(is_printable);
        // Copying bytes is enough when every byte is printable ASCII, as in nearly every field.
        let characters = if printable {
            let len = value.len().min(slot.len());
            slot[..len].copy_from_slice(&value[..len]);
            value.len()
        } else {
            let value = String::from_utf8_lossy(value);
            let replaced = value
                .chars()
                .map(|c| u8::try_from(c).ok().filter(is_printable).unwrap_or(b'?'));
            slot.iter_mut()
                .zip(replaced)
                .for_each(|(byte, c)| *byte = c);
            value.chars().count()
        };
        let shown = || String::from_utf8_lossy(value);
        if !printable {
            self.report(field, || {
                format!("{:?} has characters outside printable ASCII", shown())
            });
        } else if characters > field.len {
            self.report(field, || {
                format!("{:?} is longer than {} characters", shown(), field.len)
            });
        } else if value.ends_with(b" ") {
            self.report(field, || {
                format!("{:?} ends in spaces, which reading drops", shown())
            });
        }
    }

    /// Right-justified, zero-filled; a value too large keeps its low-order digits.
    fn number(&mut self, field: Field, value: u64) {
        let mut rest = value;
        for byte in self.bytes[field.range()].iter_mut().rev() {
            *byte = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        if rest != 0 {
            self.report(field, || {
                format!("{value} does not fit in {} digits", field.len)
            });
        }
    }

    /// Text that must be all digits and exactly fill its field (identifiers, dates).
    fn digits(&mut self, field: Field, value: impl AsRef<[u8]>) {
        let value = value.as_ref();
        if value.len() != field.len || !value.iter().all(u8::is_ascii_digit) {
            self.report(field, || {
                let shown = String::from_utf8_lossy(value);
                format!("expected {} digits, found {shown:?}", field.len)
            });
        }
        self.text(field, value);
    }

    /// Like `digits`, but blank is allowed too.
    fn digits_or_blank(&mut self, field: Field, value: impl AsRef<[u8]>) {
        if value.as_ref().is_empty() {
            return;
        }
        self.digits(field, value);
    }

    fn finish(mut self) {
        let type_code = self.record.type_code().unwrap_or(' ');
        self.bytes[RECORD_TYPE.range()][0] = type_code as u8;
        self.out.text.extend_from_slice(&self.bytes);
        self.out.text.push(b'\n');
    }
}

fn file_header(out: &mut Out, header: &FileHeader) {
    let mut r = out.record(Record::FileHeader);
    r.number(fh::PRIORITY_CODE, header.priority_code.into());
    r.text(fh::IMMEDIATE_DESTINATION, &header.immediate_destination);
    r.text(fh::IMMEDIATE_ORIGIN, &header.immediate_origin);
    r.digits(fh::FILE_CREATION_DATE, &header.file_creation_date);
    r.digits_or_blank(fh::FILE_CREATION_TIME, &header.file_creation_time);
    let modifier = header.file_id_modifier;
    if !(modifier.is_ascii_uppercase() || modifier.is_ascii_digit()) {
        r.report(fh::FILE_ID_MODIFIER, || {
            format!("expected A-Z or 0-9, found {modifier:?}")
        });
    }
    r.text(fh::FILE_ID_MODIFIER, modifier.encode_utf8(&mut [0; 4]));
    r.text(fh::RECORD_SIZE, "094");
    r.text(fh::BLOCKING_FACTOR, "10");
    r.text(fh::FORMAT_CODE, "1");
    r.text(fh::DESTINATION_NAME, &header.immediate_destination_name);
    r.text(fh::ORIGIN_NAME, &header.immediate_origin_name);
    r.text(fh::REFERENCE_CODE, &header.reference_code);
    r.finish();
}

fn batch_header(out: &mut Out, header: &BatchHeader) {
    let mut r = out.record(Record::BatchHeader);
    r.number(bh::SERVICE_CLASS_CODE, header.service_class.code().into());
    r.text(bh::COMPANY_NAME, &header.company_name);
    r.text(
        bh::COMPANY_DISCRETIONARY_DATA,
        &header.company_discretionary_data,
    );
    r.text(bh::COMPANY_IDENTIFICATION, &header.company_identification);
    r.text(bh::STANDARD_ENTRY_CLASS, &header.standard_entry_class);
    r.text(
        bh::COMPANY_ENTRY_DESCRIPTION,
        &header.company_entry_description,
    );
    r.text(
        bh::COMPANY_DESCRIPTIVE_DATE,
        &header.company_descriptive_date,
    );
    r.digits(bh::EFFECTIVE_ENTRY_DATE, &header.effective_entry_date);
    r.digits_or_blank(bh::SETTLEMENT_DATE, &header.settlement_date);
    r.number(
        bh::ORIGINATOR_STATUS_CODE,
        header.originator_status_code.into(),
    );
    r.digits(bh::ODFI_IDENTIFICATION, &header.odfi_identification);
    r.number(bh::BATCH_NUMBER, header.batch_number.into());
    r.finish();
}

fn entry_detail(out: &mut Out, detail: &EntryDetail, has_addenda: bool) {
    let mut r = out.record(Record::EntryDetail);
    r.number(ed::TRANSACTION_CODE, detail.transaction_code.code().into());
    r.digits(ed::RDFI_IDENTIFICATION, &detail.rdfi_identification);
    r.number(ed::CHECK_DIGIT, detail.check_digit.into());
    r.text(ed::DFI_ACCOUNT_NUMBER, &detail.dfi_account_number);
    r.number(ed::AMOUNT, detail.amount);
    r.text(
        ed::INDIVIDUAL_IDENTIFICATION,
        &detail.individual_identification,
    );
    r.text(ed::INDIVIDUAL_NAME, &detail.individual_name);
    r.text(ed::DISCRETIONARY_DATA, &detail.discretionary_data);
    r.number(ed::ADDENDA_RECORD_INDICATOR, u64::from(has_addenda));
    r.digits(ed::TRACE_NUMBER, &detail.trace_number);
    r.finish();
}

fn addenda_record(out: &mut Out, addenda: &Addenda) {
    let mut r = out.record(Record::Addenda);
    r.text(ad::TYPE_CODE, addenda.type_code());
    match addenda {
        Addenda::Payment05 {
            payment_related_information,
            addenda_sequence_number,
            entry_detail_sequence_number,
        } => {
            r.text(ad::PAYMENT_RELATED_INFORMATION, payment_related_information);
            r.number(
                ad::ADDENDA_SEQUENCE_NUMBER,
                (*addenda_sequence_number).into(),
            );
            r.number(
                ad::ENTRY_DETAIL_SEQUENCE_NUMBER,
                (*entry_detail_sequence_number).into(),
            );
        }
        Addenda::Notice98 {
            change_code,
            original_entry_trace_number,
            original_rdfi_identification,
            corrected_data,
            trace_number,
        } => {
            r.text(ad::CHANGE_CODE, change_code);
            r.digits(ad::ORIGINAL_ENTRY_TRACE_NUMBER, original_entry_trace_number);
            r.digits(
                ad::ORIGINAL_RDFI_IDENTIFICATION,
                original_rdfi_identification,
            );
            r.text(ad::CORRECTED_DATA, corrected_data);
            r.digits(ad::TRACE_NUMBER, trace_number);
        }
        Addenda::Return99 {
            return_reason_code,
            original_entry_trace_number,
            date_of_death,
            original_rdfi_identification,
            addenda_information,
            trace_number,
        } => {
            r.text(ad::RETURN_REASON_CODE, return_reason_code);
            r.digits(ad::ORIGINAL_ENTRY_TRACE_NUMBER, original_entry_trace_number);
            r.digits_or_blank(ad::DATE_OF_DEATH, date_of_death);
            r.digits(
                ad::ORIGINAL_RDFI_IDENTIFICATION,
                original_rdfi_identification,
            );
            r.text(ad::ADDENDA_INFORMATION, addenda_information);
            r.digits(ad::TRACE_NUMBER, trace_number);
        }
    }
    r.finish();
}

fn batch_control(out: &mut Out, control: &BatchControl) {
    let mut r = out.record(Record::BatchControl);
    r.number(bc::SERVICE_CLASS_CODE, control.service_class.code().into());
    r.number(bc::ENTRY_ADDENDA_COUNT, control.entry_addenda_count.into());
    r.number(bc::ENTRY_HASH, control.entry_hash);
    r.number(bc::TOTAL_DEBIT, control.total_debit);
    r.number(bc::TOTAL_CREDIT, control.total_credit);
    r.text(bc::COMPANY_IDENTIFICATION, &control.company_identification);
    r.text(
        bc::MESSAGE_AUTHENTICATION_CODE,
        &control.message_authentication_code,
    );
    r.digits(bc::ODFI_IDENTIFICATION, &control.odfi_identification);
    r.number(bc::BATCH_NUMBER, control.batch_number.into());
    r.finish();
}

fn file_control(out: &mut Out, control: &FileControl) {
    let mut r = out.record(Record::FileControl);
    r.number(fc::BATCH_COUNT, control.batch_count.into());
    r.number(fc::BLOCK_COUNT, control.block_count.into());
    r.number(fc::ENTRY_ADDENDA_COUNT, control.entry_addenda_count.into());
    r.number(fc::ENTRY_HASH, control.entry_hash);
    r.number(fc::TOTAL_DEBIT, control.total_debit);
    r.number(fc::TOTAL_CREDIT, control.total_credit);
    r.finish();
}

/// The characters a NACHA record may hold: space through tilde.
fn is_printable(byte: &u8) -> bool {
    (b' '..=b'~').contains(byte)
}
