//! Request bodies: JSON, or form-urlencoded with dotted keys (`customer.address.city`), both
//! read into one nested JSON object, because merchants' integrations send either.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde_json::{Map, Value};

use crate::api::error::ApiError;

/// The parsed body of a POST: always a JSON object.
#[derive(Clone, Debug, Default)]
pub struct RequestBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for RequestBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<RequestBody, ApiError> {
        let is_json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.to_ascii_lowercase().contains("json"));
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| ApiError::invalid("body", rejection.body_text()))?;
        parse_body(&bytes, is_json).map(RequestBody)
    }
}

/// Parses JSON (when the content type says so) or form data; an empty body is an empty object.
pub fn parse_body(bytes: &[u8], is_json: bool) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    if is_json {
        return match serde_json::from_slice(bytes) {
            Ok(Value::Object(object)) => Ok(Value::Object(object)),
            Ok(_) => Err(ApiError::invalid("body", "the JSON body must be an object")),
            Err(error) => Err(ApiError::invalid(
                "body",
                format!("malformed JSON: {error}"),
            )),
        };
    }
    Ok(nest_dotted(form_urlencoded::parse(bytes).into_owned()))
}

/// Turns `a.b=1` pairs into `{"a":{"b":"1"}}`. A later duplicate key wins.
pub fn nest_dotted(pairs: impl IntoIterator<Item = (String, String)>) -> Value {
    let mut root = Map::new();
    for (key, value) in pairs {
        let Some((parents, name)) = key.rsplit_once('.') else {
            // A plain name, as most are: the key itself, not a copy.
            root.insert(key, Value::String(value));
            continue;
        };
        let mut node = &mut root;
        for part in parents.split('.') {
            let child = node
                .entry(part.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            node = child.as_object_mut().expect("just made an object");
        }
        node.insert(name.to_owned(), Value::String(value));
    }
    Value::Object(root)
}

impl RequestBody {
    /// The value at a dotted path as text: strings as they are, numbers and booleans printed.
    pub fn text(&self, path: &str) -> Option<String> {
        lookup(&self.0, path).and_then(|value| match value {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            Value::Bool(flag) => Some(flag.to_string()),
            _ => None,
        })
    }

    /// Like [`RequestBody::text`], treating an empty string as absent.
    pub fn present(&self, path: &str) -> Option<String> {
        self.text(path).filter(|text| !text.trim().is_empty())
    }

    pub fn required(&self, path: &str) -> Result<String, ApiError> {
        self.present(path).ok_or_else(|| ApiError::missing(path))
    }

    /// A text field with a length bound.
    pub fn bounded(&self, path: &str, length_max: usize) -> Result<Option<String>, ApiError> {
        match self.present(path) {
            Some(text) if text.chars().count() > length_max => Err(ApiError::invalid(
                path,
                format!("{path} must be at most {length_max} characters"),
            )),
            other => Ok(other),
        }
    }
}

fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(found) = value.get(path) {
        return Some(found);
    }
    let (head, rest) = path.split_once('.')?;
    lookup(value.get(head)?, rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Dotted keys nest, a later key wins over an earlier one at the same place (a value over
    /// an object and an object over a value), and empty parts are names like any other.
    #[test]
    fn dotted_keys_nest_and_the_later_wins() {
        let nested = |pairs: &[(&str, &str)]| {
            let owned = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string()));
            nest_dotted(owned.collect::<Vec<_>>())
        };
        assert_eq!(
            nested(&[("a.b.c", "1"), ("a.d", "2"), ("e", "3")]),
            json!({"a": {"b": {"c": "1"}, "d": "2"}, "e": "3"})
        );
        assert_eq!(
            nested(&[("a", "1"), ("a.b", "2")]),
            json!({"a": {"b": "2"}})
        );
        assert_eq!(nested(&[("a.b", "1"), ("a", "2")]), json!({"a": "2"}));
        assert_eq!(nested(&[("a", "1"), ("a", "2")]), json!({"a": "2"}));
        assert_eq!(
            nested(&[("a..b", "1"), ("c.", "2"), ("", "3")]),
            json!({"a": {"": {"b": "1"}}, "c": {"": "2"}, "": "3"})
        );
    }

    #[test]
    fn form_and_json_bodies_read_the_same() {
        let form = parse_body(
            b"merchantReference=r1&amount=10.00&customer.address.city=San+Francisco",
            false,
        )
        .map(RequestBody)
        .expect("form");
        let json = parse_body(
            br#"{"merchantReference":"r1","amount":10.00,"customer":{"address":{"city":"San Francisco"}}}"#,
            true,
        )
        .map(RequestBody)
        .expect("json");
        for body in [&form, &json] {
            assert_eq!(body.text("merchantReference").as_deref(), Some("r1"));
            assert_eq!(
                body.text("customer.address.city").as_deref(),
                Some("San Francisco")
            );
        }
        assert_eq!(form.text("amount").as_deref(), Some("10.00"));
        assert!(parse_body(b"[1]", true).is_err());
        assert!(parse_body(b"{", true).is_err());
    }
}
