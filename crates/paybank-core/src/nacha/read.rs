//! Reading a NACHA file: record order, then each record's fields, then the controls.
//! Lenient about the physical form (see `line`), strict about content.

use super::check::{self, Sums, Traces};
use super::codes::{change_code_is_known, return_code_is_known, TransactionCode};
use super::error::{NachaError, Record};
use super::layout::{
    addenda as ad, batch_control as bc, batch_header as bh, entry_detail as ed, file_control as fc,
    file_header as fh, RECORD_TYPE,
};
use super::line::{split_records, Line, RawLine};
use super::records::{
    Addenda, BatchControl, BatchHeader, EntryDetail, FileControl, FileHeader, ServiceClass,
};
use super::{Batch, Entry, NachaFile};
use crate::routing::check_digit;

/// Reads a NACHA file.
///
/// Accepted physical forms: LF or CRLF line ends, lines whose trailing spaces were trimmed, a
/// file with no line breaks whose length is a multiple of 94, with or without the `9…9` block
/// filler and a final newline. Everything else is checked: record order, field formats,
/// transaction, service class, return and change codes, routing check digits, unique trace
/// numbers, addenda indicators and sequence numbers, and every count, hash and total in the
/// batch and file controls. The file control's block count may count the filler as found or
/// as if the file were padded to whole blocks: moov writes unpadded files whose count assumes
/// padding (`ppd-debit-fixedLength.ach`), and the two agree for every well-formed file.
pub fn parse(text: &str) -> Result<NachaFile, NachaError> {
    let lines = split_records(text)?;
    let mut reader = Reader {
        lines: &lines,
        next: 0,
        traces: Traces::with_capacity(lines.len()),
    };
    let read = read_file(&mut reader);
    // Trace numbers are checked for repeats once, when reading stops. A repeat comes before
    // any problem that stopped the reading: it was found on an entry read in full, and only
    // that entry's addenda indicator and later records were looked at after it.
    reader.traces.check_unique()?;
    read
}

fn read_file(reader: &mut Reader) -> Result<NachaFile, NachaError> {
    let header = read_file_header(&reader.expect(Record::FileHeader, b"1")?)?;
    let mut batches: Vec<Batch> = Vec::new();
    loop {
        let line = reader.expect(Record::BatchHeader, b"59")?;
        if line.record == Record::FileControl {
            let control = read_file_control(&line)?;
            let records = reader.next;
            let filler = reader.filler_after_control()?;
            check::file_control(&batches, &control, line.number, records, filler)?;
            return Ok(NachaFile {
                header,
                batches,
                control,
            });
        }
        let previous = batches.last().map(|batch| batch.header.batch_number);
        batches.push(read_batch(reader, line, previous)?);
    }
}

/// Walks the records in order.
struct Reader<'a, 'b> {
    lines: &'b [RawLine<'a>],
    next: usize,
    /// Each trace number read so far and its line.
    traces: Traces,
}

impl<'a> Reader<'a, '_> {
    /// The next record, which must have one of the `allowed` type codes. A wrong record is
    /// reported as `missing`; the end of the file or block filler as the last allowed record,
    /// the one whose absence ends the file early (a batch or file control).
    fn expect(&mut self, missing: Record, allowed: &[u8]) -> Result<Line<'a>, NachaError> {
        // Described only on the way to an error: a 100,000-entry file reads as many records.
        let expected = || describe(allowed);
        let last = record_of(allowed.last().copied().unwrap_or(b'9'));
        let Some(raw) = self.lines.get(self.next).copied() else {
            let expected = expected();
            let number = self.lines.len() + 1;
            let problem = format!("missing: expected {expected}, found the end of the file");
            return Err(NachaError::new(number, last, RECORD_TYPE.name, problem));
        };
        let found = raw.type_code().unwrap_or(b' ');
        if raw.is_filler() {
            let expected = expected();
            let problem = format!("missing: expected {expected}, found block filler (94 nines)");
            return Err(NachaError::new(raw.number, last, RECORD_TYPE.name, problem));
        }
        if !allowed.contains(&found) {
            let found = if raw.text.is_empty() {
                "an empty line".to_string()
            } else {
                format!("{:?}", char::from(found))
            };
            let problem = format!("expected {}, found {found}", expected());
            return Err(NachaError::new(
                raw.number,
                missing,
                RECORD_TYPE.name,
                problem,
            ));
        }
        self.next += 1;
        Line::new(raw, record_of(found))
    }

    /// Entry detail records from the next record up to the first that is neither an entry
    /// nor an addenda: the entries of the batch being read, if the file is well formed.
    fn entries_ahead(&self) -> usize {
        let ahead = self.lines[self.next..]
            .iter()
            .map_while(|line| match line.type_code() {
                Some(b'6') => Some(1),
                Some(b'7') => Some(0),
                _ => None,
            });
        ahead.sum()
    }

    fn peek_type(&self) -> Option<u8> {
        self.lines.get(self.next).and_then(RawLine::type_code)
    }

    /// Counts the block filler after the file control; anything else there is refused.
    fn filler_after_control(&mut self) -> Result<usize, NachaError> {
        let rest = &self.lines[self.next..];
        if let Some(line) = rest.iter().find(|line| !line.is_filler()) {
            let problem = "expected only block filler (94 nines) after the file control";
            return Err(NachaError::new(
                line.number,
                Record::File,
                "block filler",
                problem,
            ));
        }
        self.next = self.lines.len();
        Ok(rest.len())
    }
}

fn record_of(type_code: u8) -> Record {
    match type_code {
        b'1' => Record::FileHeader,
        b'5' => Record::BatchHeader,
        b'6' => Record::EntryDetail,
        b'7' => Record::Addenda,
        b'8' => Record::BatchControl,
        _ => Record::FileControl,
    }
}

/// "5 (batch header) or 9 (file control)".
fn describe(allowed: &[u8]) -> String {
    let names: Vec<String> = allowed
        .iter()
        .map(|code| format!("{} ({})", char::from(*code), record_of(*code)))
        .collect();
    match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

fn read_file_header(line: &Line) -> Result<FileHeader, NachaError> {
    line.fixed(fh::RECORD_SIZE, "094")?;
    line.fixed(fh::BLOCKING_FACTOR, "10")?;
    line.fixed(fh::FORMAT_CODE, "1")?;
    let modifier = line.raw(fh::FILE_ID_MODIFIER).as_bytes()[0];
    if !(modifier.is_ascii_uppercase() || modifier.is_ascii_digit()) {
        let problem = format!("expected A-Z or 0-9, found {:?}", char::from(modifier));
        return Err(line.error(fh::FILE_ID_MODIFIER, problem));
    }
    Ok(FileHeader {
        priority_code: line.small(fh::PRIORITY_CODE)?,
        immediate_destination: line.text(fh::IMMEDIATE_DESTINATION),
        immediate_origin: line.text(fh::IMMEDIATE_ORIGIN),
        file_creation_date: line.digits(fh::FILE_CREATION_DATE)?,
        file_creation_time: line.digits_or_blank(fh::FILE_CREATION_TIME)?,
        file_id_modifier: char::from(modifier),
        immediate_destination_name: line.text(fh::DESTINATION_NAME),
        immediate_origin_name: line.text(fh::ORIGIN_NAME),
        reference_code: line.text(fh::REFERENCE_CODE),
    })
}

fn service_class(line: &Line, field: super::layout::Field) -> Result<ServiceClass, NachaError> {
    let code = line.small(field)?;
    ServiceClass::from_code(code)
        .ok_or_else(|| line.error(field, format!("expected 200, 220 or 225, found {code:03}")))
}

fn read_batch_header(line: &Line) -> Result<BatchHeader, NachaError> {
    let sec = line.text(bh::STANDARD_ENTRY_CLASS);
    if sec.len() != 3 || !sec.bytes().all(|b| b.is_ascii_alphanumeric()) {
        let problem = format!("expected a 3-letter code like WEB, found {sec:?}");
        return Err(line.error(bh::STANDARD_ENTRY_CLASS, problem));
    }
    if sec == "IAT" || sec == "ADV" {
        let problem =
            format!("{sec} batches use their own record layouts, which are not supported");
        return Err(line.error(bh::STANDARD_ENTRY_CLASS, problem));
    }
    Ok(BatchHeader {
        service_class: service_class(line, bh::SERVICE_CLASS_CODE)?,
        company_name: line.text(bh::COMPANY_NAME),
        company_discretionary_data: line.text(bh::COMPANY_DISCRETIONARY_DATA),
        company_identification: line.text(bh::COMPANY_IDENTIFICATION),
        standard_entry_class: sec,
        company_entry_description: line.text(bh::COMPANY_ENTRY_DESCRIPTION),
        company_descriptive_date: line.text(bh::COMPANY_DESCRIPTIVE_DATE),
        effective_entry_date: line.digits(bh::EFFECTIVE_ENTRY_DATE)?,
        settlement_date: line.digits_or_blank(bh::SETTLEMENT_DATE)?,
        originator_status_code: line.small(bh::ORIGINATOR_STATUS_CODE)?,
        odfi_identification: line.digits(bh::ODFI_IDENTIFICATION)?,
        batch_number: line.small(bh::BATCH_NUMBER)?,
    })
}

/// Reads a batch from its header through its control, and checks the control.
/// `previous` is the batch number of the batch before, if any.
fn read_batch<'a>(
    reader: &mut Reader<'a, '_>,
    header_line: Line<'a>,
    previous: Option<u32>,
) -> Result<Batch, NachaError> {
    let header = read_batch_header(&header_line)?;
    if let Some(previous) = previous {
        check::batch_order(previous, header.batch_number, header_line.number)?;
    }
    // Sized once: entries are large, and a batch may hold most of a 100,000-entry file.
    let mut entries: Vec<Entry> = Vec::with_capacity(reader.entries_ahead());
    let mut sums = Sums::default();
    loop {
        let line = reader.expect(Record::BatchControl, b"68")?;
        if line.record == Record::EntryDetail {
            let entry = read_entry(reader, &line, header.service_class)?;
            sums.add(&entry);
            entries.push(entry);
            continue;
        }
        let control = read_batch_control(&line)?;
        check::batch_control(&header, &sums, &control, line.number)?;
        return Ok(Batch {
            header,
            entries,
            control,
        });
    }
}

/// Reads an entry detail and the addenda records after it.
fn read_entry(reader: &mut Reader, line: &Line, class: ServiceClass) -> Result<Entry, NachaError> {
    let code = line.small(ed::TRANSACTION_CODE)?;
    let transaction_code = TransactionCode::new(code).ok_or_else(|| {
        line.error(
            ed::TRANSACTION_CODE,
            format!("{code:02} is not a NACHA transaction code"),
        )
    })?;
    if !class.allows(transaction_code) {
        let kind = if transaction_code.is_credit() {
            "credit"
        } else {
            "debit"
        };
        let problem = format!(
            "{code:02} is a {kind}, which service class {} does not allow",
            class.code()
        );
        return Err(line.error(ed::TRANSACTION_CODE, problem));
    }
    let rdfi_identification = line.digits(ed::RDFI_IDENTIFICATION)?;
    let check = line.small(ed::CHECK_DIGIT)?;
    let expected = check_digit(&rdfi_identification).unwrap_or(0);
    if check != expected {
        return Err(line.mismatch(ed::CHECK_DIGIT, expected, check));
    }
    let detail = EntryDetail {
        transaction_code,
        rdfi_identification,
        check_digit: check,
        dfi_account_number: line.text(ed::DFI_ACCOUNT_NUMBER),
        amount: line.number(ed::AMOUNT)?,
        individual_identification: line.text(ed::INDIVIDUAL_IDENTIFICATION),
        individual_name: line.text(ed::INDIVIDUAL_NAME),
        discretionary_data: line.text(ed::DISCRETIONARY_DATA),
        trace_number: line.digits(ed::TRACE_NUMBER)?,
    };
    // Fifteen digits (checked above) always fit a u64.
    let trace = detail.trace_number.parse::<u64>().unwrap_or(u64::MAX);
    reader.traces.push(trace, line.number);
    let indicator: u8 = line.small(ed::ADDENDA_RECORD_INDICATOR)?;
    let follows = reader.peek_type() == Some(b'7');
    match (indicator, follows) {
        (0, false) | (1, true) => {}
        (0, true) => {
            let problem = "is 0, but an addenda record follows the entry";
            return Err(line.error(ed::ADDENDA_RECORD_INDICATOR, problem));
        }
        (1, false) => {
            let problem = "is 1, but no addenda record follows the entry";
            return Err(line.error(ed::ADDENDA_RECORD_INDICATOR, problem));
        }
        _ => return Err(line.mismatch(ed::ADDENDA_RECORD_INDICATOR, "0 or 1", indicator)),
    }
    let mut addenda = Vec::new();
    while reader.peek_type() == Some(b'7') {
        let addenda_line = reader.expect(Record::Addenda, b"7")?;
        let record = read_addenda(&addenda_line)?;
        check::addenda_sequence(&detail, &addenda, &record, &addenda_line)?;
        addenda.push(record);
    }
    Ok(Entry { detail, addenda })
}

fn read_addenda(line: &Line) -> Result<Addenda, NachaError> {
    match line.raw(ad::TYPE_CODE) {
        "05" => Ok(Addenda::Payment05 {
            payment_related_information: line.text(ad::PAYMENT_RELATED_INFORMATION),
            addenda_sequence_number: line.small(ad::ADDENDA_SEQUENCE_NUMBER)?,
            entry_detail_sequence_number: line.small(ad::ENTRY_DETAIL_SEQUENCE_NUMBER)?,
        }),
        "98" => {
            let change_code = line.text(ad::CHANGE_CODE);
            if !change_code_is_known(&change_code) {
                let problem =
                    format!("{change_code:?} is not a known change code (C01-C14, C61-C69)");
                return Err(line.error(ad::CHANGE_CODE, problem));
            }
            line.blank(ad::RESERVED_22)?;
            line.blank(ad::RESERVED_65)?;
            Ok(Addenda::Notice98 {
                change_code,
                original_entry_trace_number: line.digits(ad::ORIGINAL_ENTRY_TRACE_NUMBER)?,
                original_rdfi_identification: line.digits(ad::ORIGINAL_RDFI_IDENTIFICATION)?,
                corrected_data: line.text(ad::CORRECTED_DATA),
                trace_number: line.digits(ad::TRACE_NUMBER)?,
            })
        }
        "99" => {
            let return_reason_code = line.text(ad::RETURN_REASON_CODE);
            if !return_code_is_known(&return_reason_code) {
                let problem =
                    format!("{return_reason_code:?} is not a return reason code (R01-R85)");
                return Err(line.error(ad::RETURN_REASON_CODE, problem));
            }
            Ok(Addenda::Return99 {
                return_reason_code,
                original_entry_trace_number: line.digits(ad::ORIGINAL_ENTRY_TRACE_NUMBER)?,
                date_of_death: line.digits_or_blank(ad::DATE_OF_DEATH)?,
                original_rdfi_identification: line.digits(ad::ORIGINAL_RDFI_IDENTIFICATION)?,
                addenda_information: line.text(ad::ADDENDA_INFORMATION),
                trace_number: line.digits(ad::TRACE_NUMBER)?,
            })
        }
        other => {
            let problem = format!("expected 05, 98 or 99, found {other:?}");
            Err(line.error(ad::TYPE_CODE, problem))
        }
    }
}

fn read_batch_control(line: &Line) -> Result<BatchControl, NachaError> {
    line.blank(bc::RESERVED)?;
    Ok(BatchControl {
        service_class: service_class(line, bc::SERVICE_CLASS_CODE)?,
        entry_addenda_count: line.small(bc::ENTRY_ADDENDA_COUNT)?,
        entry_hash: line.number(bc::ENTRY_HASH)?,
        total_debit: line.number(bc::TOTAL_DEBIT)?,
        total_credit: line.number(bc::TOTAL_CREDIT)?,
        company_identification: line.text(bc::COMPANY_IDENTIFICATION),
        message_authentication_code: line.text(bc::MESSAGE_AUTHENTICATION_CODE),
        odfi_identification: line.digits(bc::ODFI_IDENTIFICATION)?,
        batch_number: line.small(bc::BATCH_NUMBER)?,
    })
}

fn read_file_control(line: &Line) -> Result<FileControl, NachaError> {
    line.blank(fc::RESERVED)?;
    Ok(FileControl {
        batch_count: line.small(fc::BATCH_COUNT)?,
        block_count: line.small(fc::BLOCK_COUNT)?,
        entry_addenda_count: line.small(fc::ENTRY_ADDENDA_COUNT)?,
        entry_hash: line.number(fc::ENTRY_HASH)?,
        total_debit: line.number(fc::TOTAL_DEBIT)?,
        total_credit: line.number(fc::TOTAL_CREDIT)?,
    })
}
