//! A JSON object writer for the wire views: names known at compile time are written as they
//! are, and a string value is copied straight when nothing in it needs escaping.
//!
//! The views were serialized through serde_json, which escapes every object key and writes
//! amounts and ids through `core::fmt`, into a body grown from 128 bytes (axum's `Json`); on a
//! transaction read that was a sixth of the server's time. The bytes are the same: values that
//! need escaping go through serde_json itself.

use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use paybank_core::json_text::{needs_no_escape, write_str};
use paybank_core::money::Amount;
use serde_json::Value;

/// About the size of a transaction answer, so most bodies are written without growing.
const BODY_CAPACITY: usize = 2048;

/// Something that writes itself as one JSON value.
pub trait WriteJson {
    fn write_json(&self, out: &mut Vec<u8>);

    /// The value as JSON text.
    fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(BODY_CAPACITY);
        self.write_json(&mut out);
        out
    }

    /// The value as a `Value`, for callers that compose `Value` objects. It is read back from
    /// the text, which is exact for integers, strings and bools; a float can come back one unit
    /// in the last place off (see `PaymentView::restore_echo`).
    fn to_value(&self) -> Value {
        serde_json::from_slice(&self.to_json()).expect("a wire view writes valid JSON")
    }

    /// An `application/json` answer, as axum's `Json` gives.
    fn into_json_response(self) -> Response
    where
        Self: Sized,
    {
        let headers = [(CONTENT_TYPE, HeaderValue::from_static("application/json"))];
        (headers, self.to_json()).into_response()
    }
}

/// An object being written: `{` at the start, a field per call, `}` at `finish`.
pub struct Object<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> Object<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Object<'a> {
        out.push(b'{');
        Object { out, empty: true }
    }

    pub fn finish(self) {
        self.out.push(b'}');
    }

    /// Writes `"key":` and hands back the body for the value.
    ///
    /// Inlined, with the field methods that call it, so that each field's name is a constant
    /// of known length where it is written: copied by a few moves instead of a call to
    /// `memcpy`. A transaction answer has about ninety names, and out of line each cost about
    /// seventy instructions, more than a third of writing the answer.
    #[inline(always)]
    fn key(&mut self, key: &'static str) -> &mut Vec<u8> {
        debug_assert!(needs_no_escape(key), "a field name is plain text");
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    #[inline(always)]
    pub fn str(&mut self, key: &'static str, value: &str) {
        write_str(self.key(key), value);
    }

    /// A string field, left out when absent.
    #[inline(always)]
    pub fn opt_str(&mut self, key: &'static str, value: Option<&str>) {
        if let Some(value) = value {
            self.str(key, value);
        }
    }

    #[inline(always)]
    pub fn int(&mut self, key: &'static str, value: impl Into<i64>) {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(value.into()).as_bytes();
        self.key(key).extend_from_slice(digits);
    }

    /// A number field, left out when absent.
    #[inline(always)]
    pub fn opt_int(&mut self, key: &'static str, value: Option<impl Into<i64>>) {
        if let Some(value) = value {
            self.int(key, value);
        }
    }

    #[inline(always)]
    pub fn bool(&mut self, key: &'static str, value: bool) {
        let text: &[u8] = if value { b"true" } else { b"false" };
        self.key(key).extend_from_slice(text);
    }

    /// An amount as the wire writes it: a string with two decimals.
    #[inline(always)]
    pub fn amount(&mut self, key: &'static str, value: Amount) {
        let out = self.key(key);
        out.push(b'"');
        value.write_wire(out);
        out.push(b'"');
    }

    /// An id as the wire writes it: its digits as a string.
    #[inline(always)]
    pub fn id(&mut self, key: &'static str, value: u64) {
        let out = self.key(key);
        out.push(b'"');
        out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        out.push(b'"');
    }

    /// JSON text written as it is (`null`, `[1]`).
    #[inline(always)]
    pub fn raw(&mut self, key: &'static str, json: &'static str) {
        self.key(key).extend_from_slice(json.as_bytes());
    }

    /// A `Value` field, left out when absent.
    pub fn opt_value(&mut self, key: &'static str, value: Option<&Value>) {
        if let Some(value) = value {
            let out = self.key(key);
            serde_json::to_writer(out, value).expect("writing to memory cannot fail");
        }
    }

    /// A `Value` field under a name that may need escaping (one a merchant sent).
    pub fn named_value(&mut self, key: &str, value: &Value) {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        write_str(self.out, key);
        self.out.push(b':');
        serde_json::to_writer(&mut *self.out, value).expect("writing to memory cannot fail");
    }

    /// A field whose value writes itself.
    #[inline(always)]
    pub fn field(&mut self, key: &'static str, value: &(impl WriteJson + ?Sized)) {
        value.write_json(self.key(key));
    }

    /// A field written only when present.
    #[inline(always)]
    pub fn opt_field(&mut self, key: &'static str, value: Option<&impl WriteJson>) {
        if let Some(value) = value {
            self.field(key, value);
        }
    }
}

/// A slice of values as a JSON array.
impl<T: WriteJson> WriteJson for [T] {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        for (index, value) in self.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            value.write_json(out);
        }
        out.push(b']');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn object(fill: impl FnOnce(&mut Object)) -> String {
        let mut out = Vec::new();
        let mut object = Object::new(&mut out);
        fill(&mut object);
        object.finish();
        String::from_utf8(out).expect("UTF-8")
    }

    proptest! {
        #[test]
        fn numbers_print_as_serde_json_prints_them(value in any::<i64>(), id in any::<u64>()) {
            let written = object(|object| {
                object.int("n", value);
                object.id("v", id);
            });
            let expected = serde_json::json!({ "n": value, "v": id.to_string() });
            prop_assert_eq!(written, expected.to_string());
        }

        #[test]
        fn amounts_print_as_their_display(minor in any::<i64>()) {
            let amount = Amount::from_minor(minor);
            let written = object(|object| object.amount("a", amount));
            prop_assert_eq!(written, serde_json::json!({ "a": amount.to_string() }).to_string());
        }
    }

    #[test]
    fn answers_are_json_as_axums_json_gives() {
        struct Empty;
        impl WriteJson for Empty {
            fn write_json(&self, out: &mut Vec<u8>) {
                Object::new(out).finish();
            }
        }
        let response = Empty.into_json_response();
        let json = axum::Json(serde_json::json!({})).into_response();
        assert_eq!(response.headers(), json.headers());
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    }

    #[test]
    fn fields_are_separated_and_absent_ones_left_out() {
        let written = object(|object| {
            object.bool("a", true);
            object.opt_str("b", None);
            object.opt_int("c", None::<u8>);
            object.raw("d", "[1]");
            object.opt_value("e", Some(&serde_json::json!({"x": null})));
            object.bool("f", false);
        });
        assert_eq!(written, r#"{"a":true,"d":[1],"e":{"x":null},"f":false}"#);
    }
}
