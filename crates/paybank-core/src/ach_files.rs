//! paybank's ACH files as the NACHA codec writes them: a merchant's originated entries (WEB
//! debits, PPD credits), a receiving bank's returns (addenda 99) and notifications of change
//! (COR, addenda 98), and the reading of the returns and NOCs that come back.

use time::Date;

use crate::ach_schedule::{hhmm_eastern, julian_day_of_year, yymmdd};
use crate::eastern::eastern_date;
use crate::model::TimestampMs;
use crate::nacha::{
    self, Addenda, Batch, BatchHeader, Entry, EntryDetail, FileHeader, NachaError, NachaFile,
    ServiceClass, Text, TransactionCode,
};
use crate::rails::{AchEntry, Direction};

/// Who sends a file and to whom, as its file header names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileParties {
    pub destination_routing: String,
    pub destination_name: String,
    pub origin_routing: String,
    pub origin_name: String,
}

/// The originator of a batch: the merchant, as the consumer's statement shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Company {
    /// At most 16 characters, upper case.
    pub name: String,
    /// 10 characters, conventionally `1` + a 9-digit number.
    pub identification: String,
}

/// An entry with the trace number its file gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracedEntry {
    pub entry: AchEntry,
    pub trace_number: String,
}

/// A 15-digit trace number: the ODFI's first 8 routing digits and a 7-digit sequence.
pub fn trace_number(odfi_routing: &str, sequence: u64) -> String {
    let odfi = odfi_routing.get(..8).unwrap_or(odfi_routing);
    format!("{odfi}{:07}", sequence % 10_000_000)
}

/// The file id modifier for the `n`-th file of a day between the same parties: A–Z, then 0–9.
pub fn file_id_modifier(n: u64) -> char {
    const MODIFIERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    char::from(MODIFIERS[(n % MODIFIERS.len() as u64) as usize])
}

/// Upper-cased and cut to the field's width: NACHA fields are fixed-width ASCII. Other
/// characters become spaces, and trailing spaces are dropped as the reader drops them.
fn field(text: &str, width: usize) -> Text {
    let kept = text.get(..width.min(text.len())).unwrap_or(text);
    // Most values are already clean (upper-case letters, digits, punctuation, spaces) and are
    // kept as they are: a file of 100,000 entries builds several hundred thousand fields.
    let clean = |byte: u8| byte == b' ' || byte.is_ascii_graphic() && !byte.is_ascii_lowercase();
    if kept.bytes().all(clean) {
        return Text::from(kept.trim_end_matches(' '));
    }
    // The rest (a consumer's name in mixed case) is built in place: a `Text` keeps up to 24
    // bytes inline, as wide as any entry detail field, so this allocates nothing either.
    let mut cleaned: Text = (text.chars().take(width))
        .map(|c| match c.is_ascii_graphic() {
            true => c.to_ascii_uppercase(),
            false => ' ',
        })
        .collect();
    cleaned.truncate(cleaned.trim_end_matches(' ').len());
    cleaned
}

fn file_header(parties: &FileParties, created_at: TimestampMs, modifier: char) -> FileHeader {
    FileHeader {
        priority_code: 1,
        immediate_destination: format!(" {}", parties.destination_routing).into(),
        immediate_origin: format!(" {}", parties.origin_routing).into(),
        file_creation_date: yymmdd(eastern_date(created_at)).into(),
        file_creation_time: hhmm_eastern(created_at).into(),
        file_id_modifier: modifier,
        immediate_destination_name: field(&parties.destination_name, 23),
        immediate_origin_name: field(&parties.origin_name, 23),
        reference_code: Text::const_new(""),
    }
}

fn transaction_code(direction: Direction, account_type: u8, returned: bool) -> TransactionCode {
    match (direction, account_type == 2, returned) {
        (Direction::Debit, false, false) => TransactionCode::CHECKING_DEBIT,
        (Direction::Debit, true, false) => TransactionCode::SAVINGS_DEBIT,
        (Direction::Credit, false, false) => TransactionCode::CHECKING_CREDIT,
        (Direction::Credit, true, false) => TransactionCode::SAVINGS_CREDIT,
        (Direction::Debit, false, true) => TransactionCode::CHECKING_RETURN_DEBIT,
        (Direction::Debit, true, true) => TransactionCode::SAVINGS_RETURN_DEBIT,
        (Direction::Credit, false, true) => TransactionCode::CHECKING_RETURN_CREDIT,
        (Direction::Credit, true, true) => TransactionCode::SAVINGS_RETURN_CREDIT,
    }
}

struct BatchSpec<'a> {
    service_class: ServiceClass,
    company: &'a Company,
    sec: &'static str,
    description: &'static str,
    effective_date: Date,
    settlement_date: Option<Date>,
    odfi_routing: &'a str,
    batch_number: u32,
}

fn batch_header(spec: &BatchSpec<'_>) -> BatchHeader {
    BatchHeader {
        service_class: spec.service_class,
        company_name: field(&spec.company.name, 16),
        company_discretionary_data: Text::const_new(""),
        company_identification: field(&spec.company.identification, 10),
        standard_entry_class: spec.sec.into(),
        company_entry_description: spec.description.into(),
        company_descriptive_date: Text::const_new(""),
        effective_entry_date: yymmdd(spec.effective_date).into(),
        settlement_date: spec
            .settlement_date
            .map(|date| format!("{:03}", julian_day_of_year(date)).into())
            .unwrap_or_default(),
        originator_status_code: 1,
        odfi_identification: spec.odfi_routing.get(..8).unwrap_or_default().into(),
        batch_number: spec.batch_number,
    }
}

/// WEB debits say whether they are single or recurring; PPD has no such field. The code is
/// one letter in a two-column field: the writer fills the second with a space and the reader
/// drops it again, so the record reads back as it was built.
fn discretionary_data(entry: &AchEntry) -> &'static str {
    match (entry.direction, entry.recurring) {
        (Direction::Debit, true) => "R",
        (Direction::Debit, false) => "S",
        (Direction::Credit, _) => "",
    }
}

/// An entry detail record for `entry`'s account, addressed to the bank with `routing`.
fn entry_detail(
    code: TransactionCode,
    routing: &str,
    entry: &AchEntry,
    amount: u64,
    discretionary: &str,
    trace: &str,
) -> EntryDetail {
    EntryDetail {
        transaction_code: code,
        rdfi_identification: routing.get(..8).unwrap_or_default().into(),
        check_digit: routing
            .get(8..9)
            .and_then(|digit| digit.parse().ok())
            .unwrap_or(0),
        dfi_account_number: field(&entry.account_number, 17),
        amount,
        individual_identification: field(&entry.individual_id, 15),
        individual_name: field(&entry.individual_name, 22),
        discretionary_data: discretionary.into(),
        trace_number: trace.into(),
    }
}

/// The file paybank sends for one merchant at a cut-off: consumer debits in a WEB batch
/// (service class 225), payouts and refunds in a PPD batch (220), each batch by effective date.
pub fn originate(
    parties: &FileParties,
    company: &Company,
    created_at: TimestampMs,
    modifier: char,
    entries: &[TracedEntry],
) -> NachaFile {
    let mut groups: Vec<(Direction, Date, Vec<&TracedEntry>)> = Vec::new();
    for traced in entries {
        let key = (traced.entry.direction, traced.entry.effective_date);
        match groups.iter_mut().find(|(d, e, _)| (*d, *e) == key) {
            Some((_, _, members)) => members.push(traced),
            None => groups.push((key.0, key.1, vec![traced])),
        }
    }
    let batches = groups
        .into_iter()
        .enumerate()
        .map(|(index, (direction, effective_date, members))| {
            let spec = BatchSpec {
                service_class: match direction {
                    Direction::Debit => ServiceClass::DebitsOnly,
                    Direction::Credit => ServiceClass::CreditsOnly,
                },
                company,
                sec: match direction {
                    Direction::Debit => "WEB",
                    Direction::Credit => "PPD",
                },
                description: match direction {
                    Direction::Debit => "PAYMENT",
                    Direction::Credit => "PAYOUT",
                },
                effective_date,
                settlement_date: None,
                odfi_routing: &parties.origin_routing,
                batch_number: index as u32 + 1,
            };
            let entries = members
                .iter()
                .map(|traced| originated_entry(traced))
                .collect();
            Batch::new(batch_header(&spec), entries)
        })
        .collect();
    NachaFile::new(file_header(parties, created_at, modifier), batches)
}

fn originated_entry(traced: &TracedEntry) -> Entry {
    let entry = &traced.entry;
    Entry {
        detail: entry_detail(
            transaction_code(entry.direction, entry.account_type, false),
            &entry.routing_number,
            entry,
            entry.amount.minor().unsigned_abs(),
            discretionary_data(entry),
            &traced.trace_number,
        ),
        addenda: Vec::new(),
    }
}

/// One entry a receiving bank sends back, with what it says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Return { code: String },
    Notice { code: String, corrected: String },
}

/// A receiving bank's file of returns or NOCs for one originator's entries: the bank is the
/// origin, paybank's ODFI the destination; return entries keep the amount and swap the
/// transaction code to x1/x6, NOCs carry zero. Returns keep the original's SEC code (WEB for
/// debits, PPD for credits); NOCs go in a COR batch.
pub fn answer_file(
    parties: &FileParties,
    company: &Company,
    created_at: TimestampMs,
    modifier: char,
    answers: &[(TracedEntry, Answer, String)],
) -> NachaFile {
    let settlement = eastern_date(created_at);
    let mut groups: Vec<(&'static str, Vec<Entry>)> = Vec::new();
    for (traced, answer, trace) in answers {
        let sec = answer_sec(traced, answer);
        let entry = answer_entry(parties, traced, answer, trace);
        match groups.iter_mut().find(|(key, _)| *key == sec) {
            Some((_, members)) => members.push(entry),
            None => groups.push((sec, vec![entry])),
        }
    }
    let batches = groups
        .into_iter()
        .enumerate()
        .map(|(index, (sec, entries))| {
            let spec = BatchSpec {
                service_class: ServiceClass::Mixed,
                company,
                sec,
                description: match sec {
                    "COR" => "NOTICE",
                    _ => "RETURN",
                },
                effective_date: settlement,
                settlement_date: Some(settlement),
                odfi_routing: &parties.origin_routing,
                batch_number: index as u32 + 1,
            };
            Batch::new(batch_header(&spec), entries)
        })
        .collect();
    NachaFile::new(file_header(parties, created_at, modifier), batches)
}

/// The SEC code of the batch an answer goes in.
fn answer_sec(traced: &TracedEntry, answer: &Answer) -> &'static str {
    match (answer, traced.entry.direction) {
        (Answer::Notice { .. }, _) => "COR",
        (Answer::Return { .. }, Direction::Debit) => "WEB",
        (Answer::Return { .. }, Direction::Credit) => "PPD",
    }
}

fn answer_entry(
    parties: &FileParties,
    traced: &TracedEntry,
    answer: &Answer,
    trace: &str,
) -> Entry {
    let original = &traced.entry;
    let code = transaction_code(original.direction, original.account_type, true);
    let rdfi = Text::from(original.routing_number.get(..8).unwrap_or_default());
    let (amount, addenda) = match answer {
        Answer::Return { code } => (
            original.amount.minor().unsigned_abs(),
            Addenda::Return99 {
                return_reason_code: code.into(),
                original_entry_trace_number: (&traced.trace_number).into(),
                date_of_death: Text::const_new(""),
                original_rdfi_identification: rdfi,
                addenda_information: Text::const_new(""),
                trace_number: trace.into(),
            },
        ),
        Answer::Notice { code, corrected } => (
            0,
            Addenda::Notice98 {
                change_code: code.into(),
                original_entry_trace_number: (&traced.trace_number).into(),
                original_rdfi_identification: rdfi,
                corrected_data: field(corrected, 29),
                trace_number: trace.into(),
            },
        ),
    };
    // The return travels back to the originator's bank: its routing number is the "RDFI" here.
    // Returns and NOCs carry the original's discretionary data unchanged (Nacha Appendix 4).
    Entry {
        detail: entry_detail(
            code,
            &parties.destination_routing,
            original,
            amount,
            discretionary_data(original),
            trace,
        ),
        addenda: vec![addenda],
    }
}

/// A return or NOC read from a received file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceivedItem {
    Return {
        original_trace: String,
        code: String,
        amount: u64,
    },
    Notice {
        original_trace: String,
        code: String,
        corrected: String,
    },
}

/// Reads every return and NOC in a received file; entries without addenda 98/99 are skipped.
pub fn read_answers(text: &str) -> Result<Vec<ReceivedItem>, NachaError> {
    let file = nacha::parse(text)?;
    let items = file
        .batches
        .iter()
        .flat_map(|batch| batch.entries.iter())
        .filter_map(|entry| match entry.addenda.first()? {
            Addenda::Return99 {
                return_reason_code,
                original_entry_trace_number,
                ..
            } => Some(ReceivedItem::Return {
                original_trace: original_entry_trace_number.to_string(),
                code: return_reason_code.to_string(),
                amount: entry.detail.amount,
            }),
            Addenda::Notice98 {
                change_code,
                original_entry_trace_number,
                corrected_data,
                ..
            } => Some(ReceivedItem::Notice {
                original_trace: original_entry_trace_number.to_string(),
                code: change_code.to_string(),
                corrected: corrected_data.to_string(),
            }),
            Addenda::Payment05 { .. } => None,
        })
        .collect();
    Ok(items)
}

/// A file's totals as its file control states them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileSummary {
    pub entry_count: i64,
    pub debit_total: i64,
    pub credit_total: i64,
}

pub fn summary(file: &NachaFile) -> FileSummary {
    let entry_count = file
        .batches
        .iter()
        .map(|batch| batch.entries.len())
        .sum::<usize>();
    FileSummary {
        entry_count: entry_count as i64,
        debit_total: file.control.total_debit as i64,
        credit_total: file.control.total_credit as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_upper_case_ascii_cut_to_width_without_trailing_spaces() {
        assert_eq!(field("bench shop", 16), "BENCH SHOP");
        assert_eq!(field("abcdef", 4), "ABCD");
        assert_eq!(field("ab  cd", 4), "AB");
        assert_eq!(field("ab\tc  ", 10), "AB C");
        assert_eq!(field("José ñ lower", 22), "JOS    LOWER");
        assert_eq!(field("ééééé", 3), "");
        assert_eq!(field("", 10), "");
        // Values already clean are kept as they are, cut and trimmed the same way.
        assert_eq!(field("BENCH SHOP", 16), "BENCH SHOP");
        assert_eq!(field("A-1/B #2", 8), "A-1/B #2");
        assert_eq!(field("ABCDEF", 4), "ABCD");
        assert_eq!(field("AB  CD", 4), "AB");
        assert_eq!(field("ÉA", 1), "");
    }

    fn traced(n: u64, direction: Direction, recurring: bool) -> TracedEntry {
        use crate::ids::{MerchantId, PaymentId, TransactionId};
        let effective = time::macros::date!(2026 - 03 - 03);
        TracedEntry {
            entry: AchEntry {
                transaction_id: TransactionId(1_000_000 + n),
                payment_id: PaymentId(2_000_000 + n),
                merchant_id: MerchantId(1),
                direction,
                amount: crate::money::Amount::from_minor(1_234),
                routing_number: "310000004".to_owned(),
                account_number: format!("{n:010}"),
                account_type: 1,
                individual_name: "Jane Consumer".to_owned(),
                individual_id: format!("REF-{n}"),
                recurring,
                cutoff_at: 0,
                same_day: false,
                effective_date: effective,
                settlement_date: effective,
                settles_at: 0,
            },
            trace_number: trace_number("091000019", n),
        }
    }

    /// paybank's own files pass the writer's strictest check and read back to the same file:
    /// no field holds a value that reading would change (a payment type code with a trailing
    /// space did, though its bytes were the same).
    #[test]
    fn an_originated_file_reads_back_as_it_was_built() {
        let parties = FileParties {
            destination_routing: "011000015".to_owned(),
            destination_name: "Federal Reserve Bank".to_owned(),
            origin_routing: "091000019".to_owned(),
            origin_name: "PAYBANK ODFI".to_owned(),
        };
        let company = Company {
            name: "Bench Shop".to_owned(),
            identification: "1000000001".to_owned(),
        };
        let entries = [
            traced(1, Direction::Debit, false),
            traced(2, Direction::Debit, true),
            traced(3, Direction::Credit, false),
        ];
        let file = originate(&parties, &company, 1_772_456_400_000, 'A', &entries);
        let text = crate::nacha::write_checked(&file).expect("a well-formed file");
        assert_eq!(crate::nacha::parse(&text).as_ref(), Ok(&file));
        let codes: Vec<&str> = (file.batches.iter().flat_map(|batch| &batch.entries))
            .map(|entry| entry.detail.payment_type_code())
            .collect();
        assert_eq!(codes, ["S", "R", ""]);
    }
}
