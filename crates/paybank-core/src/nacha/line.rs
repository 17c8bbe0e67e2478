//! The physical side of reading: splitting text into 94-character records, forgiving the forms
//! seen in real files (CRLF, trimmed trailing spaces, one long line), and typed access to a
//! record's fields with errors that name the field.

use std::borrow::Cow;

use super::error::{NachaError, Record};
use super::layout::{self, Field, RECORD_LEN};
use super::text::Text;

/// Larger inputs are refused before any work, so a hostile file cannot cost unbounded memory.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
/// At most this many records (lines) are read.
pub const MAX_RECORDS: usize = 1_000_000;

/// One record's text as found in the input, before padding.
#[derive(Clone, Copy, Debug)]
pub(super) struct RawLine<'a> {
    /// 1-based record position (the line number unless the file is one long line).
    pub number: usize,
    pub text: &'a str,
}

impl RawLine<'_> {
    pub fn type_code(&self) -> Option<u8> {
        self.text.as_bytes().first().copied()
    }

    /// A block filler record: 94 nines.
    pub fn is_filler(&self) -> bool {
        self.text.len() == RECORD_LEN && self.text.bytes().all(|b| b == b'9')
    }
}

/// Splits `text` into records. Accepts LF or CRLF, a final newline or not, trailing blank
/// lines, and a file with no line breaks whose length is a multiple of 94.
pub(super) fn split_records(text: &str) -> Result<Vec<RawLine<'_>>, NachaError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(NachaError::new(
            1,
            Record::File,
            "size",
            format!(
                "{} bytes is more than the {MAX_FILE_BYTES} this reader accepts",
                text.len()
            ),
        ));
    }
    // Nearly every line is a whole record and its newline, so this is about the final count.
    let mut lines = Vec::with_capacity(text.len() / (RECORD_LEN + 1) + 1);
    for (index, line) in text.split('\n').enumerate() {
        if index > MAX_RECORDS {
            return Err(too_many_records());
        }
        let line = line.strip_suffix('\r').unwrap_or(line);
        lines.push(RawLine {
            number: index + 1,
            text: line,
        });
    }
    while lines.last().is_some_and(|line| line.text.is_empty()) {
        lines.pop();
    }
    if let [only] = lines[..] {
        let len = only.text.len();
        if len > RECORD_LEN && len % RECORD_LEN == 0 && only.text.is_ascii() {
            return split_fixed_length(only.text);
        }
    }
    if lines.len() > MAX_RECORDS {
        return Err(too_many_records());
    }
    Ok(lines)
}

/// Cuts a file written without line breaks into its 94-character records.
fn split_fixed_length(text: &str) -> Result<Vec<RawLine<'_>>, NachaError> {
    let count = text.len() / RECORD_LEN;
    if count > MAX_RECORDS {
        return Err(too_many_records());
    }
    Ok((0..count)
        .map(|index| RawLine {
            number: index + 1,
            text: &text[index * RECORD_LEN..(index + 1) * RECORD_LEN],
        })
        .collect())
}

fn too_many_records() -> NachaError {
    NachaError::new(
        MAX_RECORDS + 1,
        Record::File,
        "size",
        format!("more than the {MAX_RECORDS} records this reader accepts"),
    )
}

/// The error for the first character of `raw` outside printable ASCII, naming its column
/// (counted in characters) and the field there.
fn unprintable(raw: RawLine, record: Record) -> NachaError {
    let addenda_type = raw.text.get(1..3).unwrap_or("");
    let bad = raw
        .text
        .chars()
        .enumerate()
        .find(|(_, c)| !(' '..='~').contains(c));
    // Always found: a byte outside the range belongs to a character outside it.
    let Some((index, c)) = bad else {
        return NachaError::new(raw.number, record, "characters", "not printable ASCII");
    };
    let field = layout::field_at(record, addenda_type, index + 1);
    let problem = format!(
        "column {}: {c:?} is not a printable ASCII character",
        index + 1
    );
    NachaError::new(raw.number, record, field, problem)
}

/// A record padded to 94 printable ASCII characters, ready for field access.
pub(super) struct Line<'a> {
    pub number: usize,
    pub record: Record,
    text: Cow<'a, str>,
    /// Characters present before padding, to tell a trimmed line from a short one.
    given: usize,
}

impl<'a> Line<'a> {
    /// Checks the characters and the length of `raw` as a record of kind `record`, and pads a
    /// line whose trailing spaces were trimmed.
    pub fn new(raw: RawLine<'a>, record: Record) -> Result<Self, NachaError> {
        // Checked by byte first: every record of a well-formed file passes, and only a line
        // that fails needs its characters counted to name the column.
        // A fold rather than `all`: without the early exit the check runs many bytes at once.
        let printable = raw.text.bytes().fold(true, |printable, byte| {
            printable & (b' '..=b'~').contains(&byte)
        });
        if !printable {
            return Err(unprintable(raw, record));
        }
        let given = raw.text.len();
        if given > RECORD_LEN {
            let problem = format!("expected {RECORD_LEN} characters, found {given}");
            return Err(NachaError::new(
                raw.number,
                record,
                "record length",
                problem,
            ));
        }
        let text = if given == RECORD_LEN {
            Cow::Borrowed(raw.text)
        } else {
            Cow::Owned(format!("{:<RECORD_LEN$}", raw.text))
        };
        Ok(Line {
            number: raw.number,
            record,
            text,
            given,
        })
    }

    pub fn raw(&self, field: Field) -> &str {
        &self.text[field.range()]
    }

    pub fn error(&self, field: Field, problem: impl Into<String>) -> NachaError {
        NachaError::new(self.number, self.record, field.name, problem)
    }

    pub fn mismatch(
        &self,
        field: Field,
        expected: impl std::fmt::Display,
        found: impl std::fmt::Display,
    ) -> NachaError {
        NachaError::mismatch(self.number, self.record, field.name, expected, found)
    }

    /// An alphanumeric field, without its trailing spaces.
    pub fn text(&self, field: Field) -> Text {
        // Spaces are the only whitespace a printable ASCII record can hold, so trimming ASCII
        // whitespace trims spaces, a byte at a time rather than a `char` pattern at a time.
        Text::from(self.raw(field).trim_ascii_end())
    }

    /// A field that must be all digits, kept as text because its leading zeros matter.
    pub fn digits(&self, field: Field) -> Result<Text, NachaError> {
        self.digit_str(field).map(Text::from)
    }

    /// The text of a field that must be all digits, without copying it.
    fn digit_str(&self, field: Field) -> Result<&str, NachaError> {
        let raw = self.raw(field);
        if raw.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(raw);
        }
        if field.start > self.given {
            let problem = format!(
                "missing: the record has only {} of {RECORD_LEN} characters",
                self.given
            );
            return Err(self.error(field, problem));
        }
        Err(self.error(
            field,
            format!("expected {} digits, found {raw:?}", field.len),
        ))
    }

    /// A numeric field, right-justified and zero-filled.
    pub fn number(&self, field: Field) -> Result<u64, NachaError> {
        let digits = self.digit_str(field)?;
        // At most 15 digits by layout, so the value always fits.
        Ok(digits.bytes().fold(0, |n, b| n * 10 + u64::from(b - b'0')))
    }

    /// A numeric field narrower than `T`'s range by layout.
    pub fn small<T: TryFrom<u64>>(&self, field: Field) -> Result<T, NachaError> {
        let value = self.number(field)?;
        T::try_from(value).map_err(|_| self.error(field, format!("{value} is out of range")))
    }

    /// An optional numeric field: all digits or all blank (returned empty).
    pub fn digits_or_blank(&self, field: Field) -> Result<Text, NachaError> {
        if self.raw(field).trim().is_empty() {
            return Ok(Text::const_new(""));
        }
        let raw = self.raw(field);
        if raw.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Text::from(raw));
        }
        let problem = format!("expected {} digits or blanks, found {raw:?}", field.len);
        Err(self.error(field, problem))
    }

    /// A reserved field, which must be blank.
    pub fn blank(&self, field: Field) -> Result<(), NachaError> {
        let raw = self.raw(field);
        if raw.trim().is_empty() {
            return Ok(());
        }
        Err(self.error(field, format!("must be blank, found {:?}", raw.trim_end())))
    }

    /// A field with one allowed value.
    pub fn fixed(&self, field: Field, expected: &str) -> Result<(), NachaError> {
        let raw = self.raw(field);
        if raw == expected {
            return Ok(());
        }
        Err(self.mismatch(field, format!("{expected:?}"), format!("{raw:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(input: &str) -> Vec<&str> {
        split_records(input)
            .unwrap()
            .iter()
            .map(|l| l.text)
            .collect()
    }

    #[test]
    fn line_endings_and_trailing_blank_lines_are_forgiven() {
        assert_eq!(texts("1a\r\n5b\r\n"), ["1a", "5b"]);
        assert_eq!(texts("1a\n5b"), ["1a", "5b"]);
        assert_eq!(texts("1a\n5b\n\n\n"), ["1a", "5b"]);
        assert_eq!(texts("1a\n\n5b"), ["1a", "", "5b"]);
    }

    #[test]
    fn one_long_line_is_cut_into_records() {
        let input = format!("{}{}", "1".repeat(94), "9".repeat(94));
        let lines = split_records(&input).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].number, 2);
        assert!(lines[1].is_filler());
        // Not a multiple of 94: left whole, so the length check reports it.
        assert_eq!(texts(&"1".repeat(95)).len(), 1);
    }

    #[test]
    fn too_many_records_are_refused() {
        let input = "\n".repeat(MAX_RECORDS + 5) + "x";
        let err = split_records(&input).unwrap_err();
        assert_eq!((err.record, err.field), (Record::File, "size"));
    }

    #[test]
    fn short_and_long_lines() {
        let raw = RawLine {
            number: 7,
            text: "6221",
        };
        let line = Line::new(raw, Record::EntryDetail).unwrap();
        let err = line.number(layout::entry_detail::AMOUNT).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 7: entry detail, amount: missing: the record has only 4 of 94 characters"
        );
        let long = "6".repeat(95);
        let raw = RawLine {
            number: 2,
            text: &long,
        };
        let err = Line::new(raw, Record::EntryDetail).err().unwrap();
        assert_eq!(err.field, "record length");
    }

    #[test]
    fn a_bad_character_names_its_field() {
        let text = format!("{:<94}", "627231380104é");
        let raw = RawLine {
            number: 3,
            text: &text,
        };
        let err = Line::new(raw, Record::EntryDetail).err().unwrap();
        assert_eq!(err.field, "dfi account number");
    }
}
