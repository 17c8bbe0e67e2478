//! The text of a record field. NACHA fields are short (22 characters at most in an entry
//! detail), and a file of 100,000 entries holds some 600,000 of them: kept as `String`s, each
//! cost an allocation and its own bit of heap, which was most of the time spent building or
//! reading such a file. `CompactString` keeps up to 24 bytes in place, in the size of a
//! `String`, and only longer values (addenda information, values too wide for their field) on
//! the heap, so a value too wide for its field still reaches the writer, which reports it.

/// Field text, stored inline when short.
pub type Text = compact_str::CompactString;
