//! The six NACHA record kinds as typed structs (rails.md §1.2).
//!
//! Quantities (amounts in cents, counts, hashes, sequence and batch numbers) are integers.
//! Everything else is [`Text`] kept exactly as in the file minus trailing spaces, so a file
//! paybank writes reads back byte for byte: that includes identifiers made of digits (routing
//! and DFI identifications, trace numbers, dates), whose leading zeros matter. The record type
//! and the file header's fixed record size, blocking factor and format code are not stored:
//! the reader checks them and the writer writes them.

use super::codes::TransactionCode;
use super::text::Text;

/// File header, record type `1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileHeader {
    /// `01` in practice.
    pub priority_code: u8,
    /// A space and the 9-digit routing number of the ODFI or ACH operator, e.g. ` 031300012`.
    pub immediate_destination: Text,
    /// A space and a routing number, or a 10-character company identification.
    pub immediate_origin: Text,
    /// YYMMDD.
    pub file_creation_date: Text,
    /// HHMM, or empty.
    pub file_creation_time: Text,
    /// A–Z or 0–9, telling apart files created on the same day.
    pub file_id_modifier: char,
    pub immediate_destination_name: Text,
    pub immediate_origin_name: Text,
    pub reference_code: Text,
}

/// What a batch may contain (batch header positions 2-4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServiceClass {
    /// `200`: debits and credits.
    Mixed,
    /// `220`: credits only.
    CreditsOnly,
    /// `225`: debits only.
    DebitsOnly,
}

impl ServiceClass {
    pub fn code(self) -> u16 {
        match self {
            ServiceClass::Mixed => 200,
            ServiceClass::CreditsOnly => 220,
            ServiceClass::DebitsOnly => 225,
        }
    }

    pub fn from_code(code: u16) -> Option<Self> {
        match code {
            200 => Some(ServiceClass::Mixed),
            220 => Some(ServiceClass::CreditsOnly),
            225 => Some(ServiceClass::DebitsOnly),
            _ => None,
        }
    }

    /// Whether an entry with this transaction code may appear in the batch.
    pub fn allows(self, code: TransactionCode) -> bool {
        match self {
            ServiceClass::Mixed => true,
            ServiceClass::CreditsOnly => code.is_credit(),
            ServiceClass::DebitsOnly => code.is_debit(),
        }
    }
}

/// Batch header, record type `5` (every SEC code except IAT and ADV, whose layouts differ).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    pub service_class: ServiceClass,
    /// The name the receiver sees on their statement.
    pub company_name: Text,
    pub company_discretionary_data: Text,
    pub company_identification: Text,
    /// `WEB`, `PPD`, `CCD`, `COR`, …
    pub standard_entry_class: Text,
    /// e.g. `PAYMENT`; reserved values include `ACCTVERIFY`, `REVERSAL` and `RETRY PYMT`.
    pub company_entry_description: Text,
    pub company_descriptive_date: Text,
    /// YYMMDD (the moov COR sample carries `000000`, so it is only checked to be digits).
    pub effective_entry_date: Text,
    /// Julian day filled in by the ACH operator; empty on files an originator sends.
    pub settlement_date: Text,
    /// `1` for a batch an ODFI originates.
    pub originator_status_code: u8,
    /// The first 8 digits of the ODFI's routing number.
    pub odfi_identification: Text,
    pub batch_number: u32,
}

/// Entry detail, record type `6` (the PPD/WEB/CCD layout).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryDetail {
    pub transaction_code: TransactionCode,
    /// The first 8 digits of the receiving DFI's routing number.
    pub rdfi_identification: Text,
    /// The routing number's ninth digit; the reader checks it against `rdfi_identification`.
    pub check_digit: u8,
    pub dfi_account_number: Text,
    /// Cents, at most 9,999,999,999.
    pub amount: u64,
    /// Individual identification number (PPD/WEB) or identification number (CCD).
    pub individual_identification: Text,
    /// Individual name (PPD/WEB) or receiving company name (CCD).
    pub individual_name: Text,
    /// Two characters, raw: for WEB this is the payment type code; see
    /// [`EntryDetail::payment_type_code`].
    pub discretionary_data: Text,
    /// ODFI identification (8 digits) and a 7-digit sequence number.
    pub trace_number: Text,
}

impl EntryDetail {
    pub fn is_credit(&self) -> bool {
        self.transaction_code.is_credit()
    }

    pub fn is_debit(&self) -> bool {
        self.transaction_code.is_debit()
    }

    /// The WEB payment type code, `R` (recurring) or `S` (single). Older files right-justify
    /// it (` S`), so both sides are trimmed.
    pub fn payment_type_code(&self) -> &str {
        self.discretionary_data.trim()
    }

    /// The receiving DFI's full 9-digit routing number.
    pub fn routing_number(&self) -> String {
        format!("{}{}", self.rdfi_identification, self.check_digit)
    }

    /// The last 7 digits of the trace number, which an addenda 05 repeats as its entry detail
    /// sequence number; `None` if the trace number is not 15 digits.
    pub fn trace_sequence(&self) -> Option<u32> {
        let trace = self.trace_number.as_str();
        if trace.len() != 15 || !trace.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        trace[8..].parse().ok()
    }
}

/// An addenda record, type `7`, in one of the three layouts paybank reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Addenda {
    /// `05`: free-form payment related information (PPD/WEB/CCD allow one per entry).
    Payment05 {
        payment_related_information: Text,
        /// 1 for an entry's first addenda, counting up.
        addenda_sequence_number: u16,
        /// The last 7 digits of the entry's trace number.
        entry_detail_sequence_number: u32,
    },
    /// `98`: a notification of change (or a refused one, C61–C69) on a COR entry.
    Notice98 {
        change_code: Text,
        original_entry_trace_number: Text,
        original_rdfi_identification: Text,
        corrected_data: Text,
        trace_number: Text,
    },
    /// `99`: a return, including dishonored and contested returns, whose addenda
    /// information is kept whole.
    Return99 {
        return_reason_code: Text,
        original_entry_trace_number: Text,
        /// YYMMDD for R14/R15, otherwise empty.
        date_of_death: Text,
        original_rdfi_identification: Text,
        addenda_information: Text,
        trace_number: Text,
    },
}

impl Addenda {
    /// The addenda type code in positions 2-3.
    pub fn type_code(&self) -> &'static str {
        match self {
            Addenda::Payment05 { .. } => "05",
            Addenda::Notice98 { .. } => "98",
            Addenda::Return99 { .. } => "99",
        }
    }
}

/// Batch control, record type `8`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchControl {
    pub service_class: ServiceClass,
    /// Entry detail and addenda records in the batch.
    pub entry_addenda_count: u32,
    /// Sum of the entries' RDFI identifications, mod 10^10.
    pub entry_hash: u64,
    pub total_debit: u64,
    pub total_credit: u64,
    pub company_identification: Text,
    pub message_authentication_code: Text,
    pub odfi_identification: Text,
    pub batch_number: u32,
}

/// File control, record type `9`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileControl {
    pub batch_count: u32,
    /// Blocks of ten records, counting the `9…9` filler.
    pub block_count: u32,
    pub entry_addenda_count: u32,
    pub entry_hash: u64,
    pub total_debit: u64,
    pub total_credit: u64,
}
