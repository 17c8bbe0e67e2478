//! Where each field sits in its 94-character record (rails.md §1.2). The reader and the writer
//! both take positions from here, so they cannot disagree about a column.

use std::ops::Range;

use super::error::Record;

/// One fixed-width field: its name for error messages and its 1-based first column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Field {
    pub name: &'static str,
    pub start: usize,
    pub len: usize,
}

impl Field {
    const fn new(name: &'static str, start: usize, len: usize) -> Self {
        Field { name, start, len }
    }

    /// The field's byte range in a record.
    pub fn range(self) -> Range<usize> {
        self.start - 1..self.start - 1 + self.len
    }
}

/// Every record is this long.
pub(super) const RECORD_LEN: usize = 94;

pub(super) const RECORD_TYPE: Field = Field::new("record type", 1, 1);

pub(super) mod file_header {
    use super::{Field, RECORD_TYPE};
    pub const PRIORITY_CODE: Field = Field::new("priority code", 2, 2);
    pub const IMMEDIATE_DESTINATION: Field = Field::new("immediate destination", 4, 10);
    pub const IMMEDIATE_ORIGIN: Field = Field::new("immediate origin", 14, 10);
    pub const FILE_CREATION_DATE: Field = Field::new("file creation date", 24, 6);
    pub const FILE_CREATION_TIME: Field = Field::new("file creation time", 30, 4);
    pub const FILE_ID_MODIFIER: Field = Field::new("file id modifier", 34, 1);
    pub const RECORD_SIZE: Field = Field::new("record size", 35, 3);
    pub const BLOCKING_FACTOR: Field = Field::new("blocking factor", 38, 2);
    pub const FORMAT_CODE: Field = Field::new("format code", 40, 1);
    pub const DESTINATION_NAME: Field = Field::new("immediate destination name", 41, 23);
    pub const ORIGIN_NAME: Field = Field::new("immediate origin name", 64, 23);
    pub const REFERENCE_CODE: Field = Field::new("reference code", 87, 8);
    pub const ALL: &[Field] = &[
        RECORD_TYPE,
        PRIORITY_CODE,
        IMMEDIATE_DESTINATION,
        IMMEDIATE_ORIGIN,
        FILE_CREATION_DATE,
        FILE_CREATION_TIME,
        FILE_ID_MODIFIER,
        RECORD_SIZE,
        BLOCKING_FACTOR,
        FORMAT_CODE,
        DESTINATION_NAME,
        ORIGIN_NAME,
        REFERENCE_CODE,
    ];
}

pub(super) mod batch_header {
    use super::{Field, RECORD_TYPE};
    pub const SERVICE_CLASS_CODE: Field = Field::new("service class code", 2, 3);
    pub const COMPANY_NAME: Field = Field::new("company name", 5, 16);
    pub const COMPANY_DISCRETIONARY_DATA: Field = Field::new("company discretionary data", 21, 20);
    pub const COMPANY_IDENTIFICATION: Field = Field::new("company identification", 41, 10);
    pub const STANDARD_ENTRY_CLASS: Field = Field::new("standard entry class code", 51, 3);
    pub const COMPANY_ENTRY_DESCRIPTION: Field = Field::new("company entry description", 54, 10);
    pub const COMPANY_DESCRIPTIVE_DATE: Field = Field::new("company descriptive date", 64, 6);
    pub const EFFECTIVE_ENTRY_DATE: Field = Field::new("effective entry date", 70, 6);
    pub const SETTLEMENT_DATE: Field = Field::new("settlement date", 76, 3);
    pub const ORIGINATOR_STATUS_CODE: Field = Field::new("originator status code", 79, 1);
    pub const ODFI_IDENTIFICATION: Field = Field::new("odfi identification", 80, 8);
    pub const BATCH_NUMBER: Field = Field::new("batch number", 88, 7);
    pub const ALL: &[Field] = &[
        RECORD_TYPE,
        SERVICE_CLASS_CODE,
        COMPANY_NAME,
        COMPANY_DISCRETIONARY_DATA,
        COMPANY_IDENTIFICATION,
        STANDARD_ENTRY_CLASS,
        COMPANY_ENTRY_DESCRIPTION,
        COMPANY_DESCRIPTIVE_DATE,
        EFFECTIVE_ENTRY_DATE,
        SETTLEMENT_DATE,
        ORIGINATOR_STATUS_CODE,
        ODFI_IDENTIFICATION,
        BATCH_NUMBER,
    ];
}

pub(super) mod entry_detail {
    use super::{Field, RECORD_TYPE};
    pub const TRANSACTION_CODE: Field = Field::new("transaction code", 2, 2);
    pub const RDFI_IDENTIFICATION: Field = Field::new("rdfi identification", 4, 8);
    pub const CHECK_DIGIT: Field = Field::new("check digit", 12, 1);
    pub const DFI_ACCOUNT_NUMBER: Field = Field::new("dfi account number", 13, 17);
    pub const AMOUNT: Field = Field::new("amount", 30, 10);
    pub const INDIVIDUAL_IDENTIFICATION: Field =
        Field::new("individual identification number", 40, 15);
    pub const INDIVIDUAL_NAME: Field = Field::new("individual name", 55, 22);
    pub const DISCRETIONARY_DATA: Field = Field::new("discretionary data", 77, 2);
    pub const ADDENDA_RECORD_INDICATOR: Field = Field::new("addenda record indicator", 79, 1);
    pub const TRACE_NUMBER: Field = Field::new("trace number", 80, 15);
    pub const ALL: &[Field] = &[
        RECORD_TYPE,
        TRANSACTION_CODE,
        RDFI_IDENTIFICATION,
        CHECK_DIGIT,
        DFI_ACCOUNT_NUMBER,
        AMOUNT,
        INDIVIDUAL_IDENTIFICATION,
        INDIVIDUAL_NAME,
        DISCRETIONARY_DATA,
        ADDENDA_RECORD_INDICATOR,
        TRACE_NUMBER,
    ];
}

/// Addenda layouts; the type code in columns 2-3 says which one applies.
pub(super) mod addenda {
    use super::{Field, RECORD_TYPE};
    pub const TYPE_CODE: Field = Field::new("addenda type code", 2, 2);

    pub const PAYMENT_RELATED_INFORMATION: Field = Field::new("payment related information", 4, 80);
    pub const ADDENDA_SEQUENCE_NUMBER: Field = Field::new("addenda sequence number", 84, 4);
    pub const ENTRY_DETAIL_SEQUENCE_NUMBER: Field =
        Field::new("entry detail sequence number", 88, 7);
    pub const ALL_05: &[Field] = &[
        RECORD_TYPE,
        TYPE_CODE,
        PAYMENT_RELATED_INFORMATION,
        ADDENDA_SEQUENCE_NUMBER,
        ENTRY_DETAIL_SEQUENCE_NUMBER,
    ];

    pub const CHANGE_CODE: Field = Field::new("change code", 4, 3);
    pub const RETURN_REASON_CODE: Field = Field::new("return reason code", 4, 3);
    pub const ORIGINAL_ENTRY_TRACE_NUMBER: Field = Field::new("original entry trace number", 7, 15);
    pub const RESERVED_22: Field = Field::new("reserved", 22, 6);
    pub const DATE_OF_DEATH: Field = Field::new("date of death", 22, 6);
    pub const ORIGINAL_RDFI_IDENTIFICATION: Field =
        Field::new("original rdfi identification", 28, 8);
    pub const CORRECTED_DATA: Field = Field::new("corrected data", 36, 29);
    pub const RESERVED_65: Field = Field::new("reserved", 65, 15);
    pub const ADDENDA_INFORMATION: Field = Field::new("addenda information", 36, 44);
    pub const TRACE_NUMBER: Field = Field::new("trace number", 80, 15);
    pub const ALL_98: &[Field] = &[
        RECORD_TYPE,
        TYPE_CODE,
        CHANGE_CODE,
        ORIGINAL_ENTRY_TRACE_NUMBER,
        RESERVED_22,
        ORIGINAL_RDFI_IDENTIFICATION,
        CORRECTED_DATA,
        RESERVED_65,
        TRACE_NUMBER,
    ];
    pub const ALL_99: &[Field] = &[
        RECORD_TYPE,
        TYPE_CODE,
        RETURN_REASON_CODE,
        ORIGINAL_ENTRY_TRACE_NUMBER,
        DATE_OF_DEATH,
        ORIGINAL_RDFI_IDENTIFICATION,
        ADDENDA_INFORMATION,
        TRACE_NUMBER,
    ];
}

pub(super) mod batch_control {
    use super::{Field, RECORD_TYPE};
    pub const SERVICE_CLASS_CODE: Field = Field::new("service class code", 2, 3);
    pub const ENTRY_ADDENDA_COUNT: Field = Field::new("entry/addenda count", 5, 6);
    pub const ENTRY_HASH: Field = Field::new("entry hash", 11, 10);
    pub const TOTAL_DEBIT: Field = Field::new("total debit entry dollar amount", 21, 12);
    pub const TOTAL_CREDIT: Field = Field::new("total credit entry dollar amount", 33, 12);
    pub const COMPANY_IDENTIFICATION: Field = Field::new("company identification", 45, 10);
    pub const MESSAGE_AUTHENTICATION_CODE: Field =
        Field::new("message authentication code", 55, 19);
    pub const RESERVED: Field = Field::new("reserved", 74, 6);
    pub const ODFI_IDENTIFICATION: Field = Field::new("odfi identification", 80, 8);
    pub const BATCH_NUMBER: Field = Field::new("batch number", 88, 7);
    pub const ALL: &[Field] = &[
        RECORD_TYPE,
        SERVICE_CLASS_CODE,
        ENTRY_ADDENDA_COUNT,
        ENTRY_HASH,
        TOTAL_DEBIT,
        TOTAL_CREDIT,
        COMPANY_IDENTIFICATION,
        MESSAGE_AUTHENTICATION_CODE,
        RESERVED,
        ODFI_IDENTIFICATION,
        BATCH_NUMBER,
    ];
}

pub(super) mod file_control {
    use super::{Field, RECORD_TYPE};
    pub const BATCH_COUNT: Field = Field::new("batch count", 2, 6);
    pub const BLOCK_COUNT: Field = Field::new("block count", 8, 6);
    pub const ENTRY_ADDENDA_COUNT: Field = Field::new("entry/addenda count", 14, 8);
    pub const ENTRY_HASH: Field = Field::new("entry hash", 22, 10);
    pub const TOTAL_DEBIT: Field = Field::new("total debit entry dollar amount", 32, 12);
    pub const TOTAL_CREDIT: Field = Field::new("total credit entry dollar amount", 44, 12);
    pub const RESERVED: Field = Field::new("reserved", 56, 39);
    pub const ALL: &[Field] = &[
        RECORD_TYPE,
        BATCH_COUNT,
        BLOCK_COUNT,
        ENTRY_ADDENDA_COUNT,
        ENTRY_HASH,
        TOTAL_DEBIT,
        TOTAL_CREDIT,
        RESERVED,
    ];
}

/// The fields of a record kind, in column order; `addenda_type` picks the addenda layout.
pub(super) fn fields_of(record: Record, addenda_type: &str) -> &'static [Field] {
    match record {
        Record::File => &[],
        Record::FileHeader => file_header::ALL,
        Record::BatchHeader => batch_header::ALL,
        Record::EntryDetail => entry_detail::ALL,
        Record::Addenda => match addenda_type {
            "98" => addenda::ALL_98,
            "99" => addenda::ALL_99,
            _ => addenda::ALL_05,
        },
        Record::BatchControl => batch_control::ALL,
        Record::FileControl => file_control::ALL,
    }
}

/// The name of the field covering 1-based `column`, for errors about a single character.
pub(super) fn field_at(record: Record, addenda_type: &str, column: usize) -> &'static str {
    fields_of(record, addenda_type)
        .iter()
        .find(|field| field.range().contains(&(column - 1)))
        .map_or("characters", |field| field.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Each layout must cover columns 1-94 exactly once, in order, or a field would be lost or
    // written twice.
    #[test]
    fn every_layout_tiles_the_record() {
        let layouts = [
            file_header::ALL,
            batch_header::ALL,
            entry_detail::ALL,
            addenda::ALL_05,
            addenda::ALL_98,
            addenda::ALL_99,
            batch_control::ALL,
            file_control::ALL,
        ];
        for layout in layouts {
            let mut next = 1;
            for field in layout {
                assert_eq!(
                    field.start, next,
                    "{} starts at {}",
                    field.name, field.start
                );
                next += field.len;
            }
            assert_eq!(next, RECORD_LEN + 1, "layout of {}", layout[1].name);
        }
    }

    #[test]
    fn a_column_names_its_field() {
        assert_eq!(field_at(Record::EntryDetail, "", 12), "check digit");
        assert_eq!(
            field_at(Record::Addenda, "98", 30),
            "original rdfi identification"
        );
        assert_eq!(field_at(Record::File, "", 1), "characters");
    }
}
