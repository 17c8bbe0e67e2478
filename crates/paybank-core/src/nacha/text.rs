//! The text of a record field. NACHA fields are short (22 characters at most in an entry
//! detail), and a file of 100,000 entries holds some 600,000 of them: kept as `String`s, each
//! cost an allocation and its own bit of heap, which was most of the time spent building or
//! reading such a file. `Text` keeps up to [`INLINE_MAX`] bytes in place, the size of a
//! `String`, and only longer values (addenda information, values too wide for their field)
//! on the heap. It reads as a `&str` and compares with `str` and `String`.

use std::fmt;
use std::ops::Deref;

/// Longest text kept without an allocation: what fits beside the length in 24 bytes.
pub const INLINE_MAX: usize = 22;

/// Field text, stored inline when short. Any string can be held, so a value too wide for its
/// field still reaches the writer, which reports it.
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE_MAX] },
    Heap(Box<str>),
}

impl Text {
    /// Empty text.
    pub const fn new() -> Text {
        Text(Repr::Inline {
            len: 0,
            bytes: [0; INLINE_MAX],
        })
    }

    /// The bytes, without the UTF-8 check `as_str` has to make on inline text: for the hot
    /// loops (writing and summing) that look at bytes anyway.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Repr::Heap(text) => text.as_bytes(),
        }
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Only ever filled from a whole `&str`, so the bytes are always UTF-8.
            Repr::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Repr::Heap(text) => text,
        }
    }
}

impl Default for Text {
    fn default() -> Text {
        Text::new()
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Text {
        if text.len() > INLINE_MAX {
            return Text(Repr::Heap(text.into()));
        }
        let mut bytes = [0; INLINE_MAX];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Text(Repr::Inline {
            len: text.len() as u8,
            bytes,
        })
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text::from(text.as_str())
    }
}

impl From<&String> for Text {
    fn from(text: &String) -> Text {
        Text::from(text.as_str())
    }
}

impl From<Text> for String {
    fn from(text: Text) -> String {
        text.as_str().to_owned()
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Text {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Text {}

impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self == other.as_str()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_text_read_back_alike() {
        let long = "X".repeat(INLINE_MAX + 1);
        for value in ["", "S ", "JOSÉ", "1234567890123456789012", long.as_str()] {
            let text = Text::from(value);
            assert_eq!(text, value);
            assert_eq!(text.len(), value.len());
            assert_eq!(format!("{text:?}"), format!("{value:?}"));
        }
        assert_eq!(std::mem::size_of::<Text>(), std::mem::size_of::<String>());
        assert_eq!(Text::from("AB"), Text::from("AB".to_string()));
        assert_ne!(Text::from("AB"), Text::from("AB "));
    }
}
