//! Why a NACHA file was refused: the line, the record and the field, so an operator can find
//! the problem in a 94-column file without counting columns.

use std::fmt;

/// The kind of record a problem is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Record {
    /// The file as a whole: its size, line structure or block filler.
    File,
    FileHeader,
    BatchHeader,
    EntryDetail,
    Addenda,
    BatchControl,
    FileControl,
}

impl Record {
    /// The record type code in column 1, for the records that have one.
    pub fn type_code(self) -> Option<char> {
        match self {
            Record::File => None,
            Record::FileHeader => Some('1'),
            Record::BatchHeader => Some('5'),
            Record::EntryDetail => Some('6'),
            Record::Addenda => Some('7'),
            Record::BatchControl => Some('8'),
            Record::FileControl => Some('9'),
        }
    }
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Record::File => "file",
            Record::FileHeader => "file header",
            Record::BatchHeader => "batch header",
            Record::EntryDetail => "entry detail",
            Record::Addenda => "addenda",
            Record::BatchControl => "batch control",
            Record::FileControl => "file control",
        })
    }
}

/// A NACHA file that cannot be read or written, e.g.
/// `line 3: entry detail, check digit: expected 4, found 5`.
///
/// `line` counts records from 1; it is the text line number except in a file written as one
/// long line, where it is the position of the 94-character record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {record}, {field}: {problem}")]
pub struct NachaError {
    pub line: usize,
    pub record: Record,
    /// The field's name as rails.md §1.2 spells it, in lower case.
    pub field: &'static str,
    pub problem: String,
}

impl NachaError {
    pub(crate) fn new(
        line: usize,
        record: Record,
        field: &'static str,
        problem: impl Into<String>,
    ) -> Self {
        NachaError {
            line,
            record,
            field,
            problem: problem.into(),
        }
    }

    /// A field whose value disagrees with what the rest of the file implies.
    pub(crate) fn mismatch(
        line: usize,
        record: Record,
        field: &'static str,
        expected: impl fmt::Display,
        found: impl fmt::Display,
    ) -> Self {
        Self::new(
            line,
            record,
            field,
            format!("expected {expected}, found {found}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_line_record_and_field() {
        let err = NachaError::mismatch(3, Record::EntryDetail, "check digit", 5, 4);
        assert_eq!(
            err.to_string(),
            "line 3: entry detail, check digit: expected 5, found 4"
        );
    }
}
