//! Trustly-compatible HMAC signatures: the establish `requestSignature`, webhook `Authorization` headers and signed redirect URLs.
//!
//! Everything here follows `client-flows.md` §3 (redirect signature), §4 (request signature) and §6
//! (webhook signature). All functions are pure: keys and messages come in as arguments and nothing
//! touches the clock, the network or the environment.

mod basic;
mod form;
mod redirect;

use std::borrow::Cow;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha1::Sha1;
use sha2::{Sha256, Sha512};

/// The hash function behind an HMAC signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HmacAlgorithm {
    /// HMAC-SHA1, the default; signatures carry no prefix.
    Sha1,
    /// HMAC-SHA256; signatures carry the `HmacSHA256:` prefix (accepted defensively, see §4).
    Sha256,
    /// HMAC-SHA512; signatures carry the `HmacSHA512:` prefix (Trustly's BETA option).
    Sha512,
}

/// Prefix that marks an HMAC-SHA512 signature.
const SHA512_PREFIX: &str = "HmacSHA512:";
/// Prefix that marks an HMAC-SHA256 signature.
const SHA256_PREFIX: &str = "HmacSHA256:";

/// The fixed key order of the request signature (client-flows §4, including
/// customer.externalTier, customer.dateOfBirth, then account.*, transactionId, and finally
/// onlinePPSubtype).
pub const REQUEST_SIGNATURE_KEYS: &[&str] = &[
    "accessId",
    "merchantId",
    "description",
    "currency",
    "amount",
    "displayAmount",
    "minimumBalance",
    "merchantReference",
    "paymentType",
    "timeZone",
    "recurrence.startDate",
    "recurrence.endDate",
    "recurrence.frequency",
    "recurrence.frequencyUnit",
    "recurrence.frequencyUnitType",
    "recurrence.recurringAmount",
    "recurrence.automaticCapture",
    "verification.status",
    "verification.verifyCustomer",
    "customer.customerId",
    "customer.externalId",
    "customer.name",
    "customer.vip",
    "customer.taxId",
    "customer.driverLicense.number",
    "customer.driverLicense.state",
    "customer.address.address1",
    "customer.address.address2",
    "customer.address.city",
    "customer.address.state",
    "customer.address.zip",
    "customer.address.country",
    "customer.phone",
    "customer.email",
    "customer.balance",
    "customer.currency",
    "customer.enrollDate",
    "customer.externalTier",
    "customer.dateOfBirth",
    "account.nameOnAccount",
    "account.name",
    "account.type",
    "account.profile",
    "account.accountNumber",
    "account.routingNumber",
    "transactionId",
    "onlinePPSubtype",
];

/// Canonical message for `requestSignature` over establish data given as a nested JSON object
/// (dotted keys are paths into nested objects).
///
/// For each key of [`REQUEST_SIGNATURE_KEYS`] in order whose value is "truthy" in the JavaScript
/// sense (absent, null, "", 0, false, arrays and objects are skipped) this emits `key=value`, joined
/// with '&'. Strings are raw (not URL-encoded), numbers use their decimal text (serde_json's
/// `Number` display) and `true` is "true". If the value at a path is absent but some object along
/// the path has a flat key with the literal dotted remainder (e.g. `{"customer.name": "x"}`), that
/// value is used too.
pub fn request_signature_message(establish_data: &Value) -> String {
    let mut pairs: Vec<(&str, Cow<'_, str>)> = Vec::new();
    for key in REQUEST_SIGNATURE_KEYS {
        if let Some(text) = lookup(establish_data, key).and_then(truthy_text) {
            pairs.push((key, text));
        }
    }
    join_pairs(&pairs, append_raw)
}

/// Finds the value at a dotted path, trying the nested form first and then flat dotted keys.
///
/// Establish data arrives both as nested JSON and as form fields with dotted names, so a path
/// like `customer.address.city` may be split at any dot; the nested reading wins when both exist.
/// Each head tried is a prefix of `path` ending before one of its dots, or `path` whole, so no
/// key is built: an establish asks for some thirty paths, most of them absent.
fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let object = value.as_object()?;
    let heads = (path.match_indices('.').map(|(dot, _)| dot)).chain([path.len()]);
    for end in heads {
        let Some(child) = object.get(&path[..end]) else {
            continue;
        };
        let found = match path.get(end + 1..) {
            Some(rest) => lookup(child, rest),
            None => Some(child),
        };
        if let Some(found) = found.filter(|found| !found.is_null()) {
            return Some(found);
        }
    }
    None
}

/// Returns the text a JavaScript `toString()` would sign, or `None` when the value is falsy; a
/// string is borrowed as it is.
///
/// Arrays and objects are skipped because the reference implementation only signs scalar fields
/// and their JavaScript string forms would never match a Rust rendering anyway.
fn truthy_text(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(text) if !text.is_empty() => Some(Cow::Borrowed(text)),
        Value::Number(number) if number.as_f64().is_some_and(|n| n != 0.0) => {
            Some(Cow::Owned(number.to_string()))
        }
        Value::Bool(true) => Some(Cow::Borrowed("true")),
        _ => None,
    }
}

/// Computes the raw HMAC bytes of `message` under `key` for any HMAC type.
fn hmac_bytes<M: Mac + hmac::digest::KeyInit>(key: &str, message: &str) -> Vec<u8> {
    // HMAC hashes over-long keys and pads short ones, so every key length is accepted and this
    // constructor cannot fail; the `expect` documents an invariant, not an input check.
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Base64 (standard, padded) HMAC of message with key (UTF-8 bytes).
///
/// Sha1 gives the bare base64; Sha512 gives `"HmacSHA512:" + base64`; Sha256 gives
/// `"HmacSHA256:" + base64`.
pub fn sign(algorithm: HmacAlgorithm, key: &str, message: &str) -> String {
    match algorithm {
        HmacAlgorithm::Sha1 => STANDARD.encode(hmac_bytes::<Hmac<Sha1>>(key, message)),
        HmacAlgorithm::Sha256 => format!(
            "{SHA256_PREFIX}{}",
            STANDARD.encode(hmac_bytes::<Hmac<Sha256>>(key, message))
        ),
        HmacAlgorithm::Sha512 => format!(
            "{SHA512_PREFIX}{}",
            STANDARD.encode(hmac_bytes::<Hmac<Sha512>>(key, message))
        ),
    }
}

/// Verifies `tag` against the HMAC of `message` in constant time.
fn verify_tag<M: Mac + hmac::digest::KeyInit>(key: &str, message: &str, tag: &[u8]) -> bool {
    match <M as hmac::digest::KeyInit>::new_from_slice(key.as_bytes()) {
        Ok(mut mac) => {
            mac.update(message.as_bytes());
            mac.verify_slice(tag).is_ok()
        }
        Err(_) => false,
    }
}

/// Verifies a provided signature.
///
/// The optional prefix `HmacSHA512:` or `HmacSHA256:` selects the algorithm (no prefix means
/// SHA-1); the rest is base64-decoded and compared in constant time with the recomputed HMAC.
/// Invalid base64, an unknown prefix or a wrong length all give `false`.
pub fn verify(key: &str, message: &str, provided: &str) -> bool {
    let (algorithm, encoded) = if let Some(rest) = provided.strip_prefix(SHA512_PREFIX) {
        (HmacAlgorithm::Sha512, rest)
    } else if let Some(rest) = provided.strip_prefix(SHA256_PREFIX) {
        (HmacAlgorithm::Sha256, rest)
    } else {
        (HmacAlgorithm::Sha1, provided)
    };
    let Ok(tag) = STANDARD.decode(encoded) else {
        return false;
    };
    match algorithm {
        HmacAlgorithm::Sha1 => verify_tag::<Hmac<Sha1>>(key, message, &tag),
        HmacAlgorithm::Sha256 => verify_tag::<Hmac<Sha256>>(key, message, &tag),
        HmacAlgorithm::Sha512 => verify_tag::<Hmac<Sha512>>(key, message, &tag),
    }
}

pub use basic::{parse_basic_authorization, webhook_authorization_header, BasicCredentials};
use form::{append_raw, join_pairs};
pub use form::{form_encode, webhook_message, webhook_message_of_body};
pub use redirect::{signed_redirect_url, verify_redirect_url};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const KEY: &str = "123456";

    const VECTOR_MESSAGE: &str = "accessId=1234&merchantId=1234&description=text&currency=USD&amount=1.00&displayAmount=1.00&merchantReference=ref123&paymentType=Recurring&recurrence.frequencyUnit=1&recurrence.frequencyUnitType=3&recurrence.recurringAmount=1.00&customer.externalId=1234&customer.name=John Doe&customer.taxId=123-45-6789&customer.driverLicense.number=1010&customer.driverLicense.state=CA&customer.address.address1=123 Main St&customer.address.city=San Francisco&customer.address.state=CA&customer.address.zip=94111&customer.address.country=US&customer.phone=123-456-7890&customer.email=john@ca.us&customer.enrollDate=1234567890&customer.dateOfBirth=1990-01-01&account.type=1";

    /// The establish data of the nestjs spec vector (client-flows §4), with every empty field.
    fn vector_input() -> Value {
        json!({
            "accessId": "1234",
            "merchantId": "1234",
            "description": "text",
            "currency": "USD",
            "amount": "1.00",
            "displayAmount": "1.00",
            "minimumBalance": 0,
            "merchantReference": "ref123",
            "paymentType": "Recurring",
            "timeZone": "",
            "transactionId": "",
            "returnUrl": "",
            "cancelUrl": "",
            "env": "sandbox",
            "localUrl": "http://localhost:8080",
            "metadata": { "urlScheme": "" },
            "recurrence": {
                "frequencyUnit": 1,
                "frequencyUnitType": 3,
                "recurringAmount": "1.00",
                "automaticCapture": false
            },
            "verification": { "verifyCustomer": false, "status": "" },
            "customer": {
                "customerId": "",
                "externalId": "1234",
                "name": "John Doe",
                "taxId": "123-45-6789",
                "driverLicense": { "number": "1010", "state": "CA" },
                "address": {
                    "address1": "123 Main St",
                    "city": "San Francisco",
                    "state": "CA",
                    "zip": "94111",
                    "country": "US"
                },
                "phone": "123-456-7890",
                "email": "john@ca.us",
                "enrollDate": 1234567890,
                "dateOfBirth": "1990-01-01"
            },
            "account": {
                "type": 1,
                "accountNumber": "",
                "routingNumber": "",
                "profile": 0,
                "name": "",
                "nameOnAccount": ""
            }
        })
    }

    #[test]
    fn request_signature_vector_message_and_sha1() {
        let message = request_signature_message(&vector_input());
        assert_eq!(message, VECTOR_MESSAGE);
        assert_eq!(
            sign(HmacAlgorithm::Sha1, KEY, &message),
            "HrGQpg/NsPXmh+P9u37R121Rot0="
        );
    }

    #[test]
    fn request_signature_vector_empty_display_amount() {
        let mut input = vector_input();
        input["displayAmount"] = json!("");
        let message = request_signature_message(&input);
        assert!(!message.contains("displayAmount"));
        assert_eq!(
            sign(HmacAlgorithm::Sha1, KEY, &message),
            "L/tBy40/WKaWNH0dcdp9j09cMqs="
        );
    }

    #[test]
    fn request_signature_ignores_unknown_key_and_false() {
        let mut input = vector_input();
        input["notIntendedData"] = json!("should not be signed");
        input["recurrence"]["automaticCapture"] = json!(false);
        let message = request_signature_message(&input);
        assert_eq!(
            sign(HmacAlgorithm::Sha1, KEY, &message),
            "HrGQpg/NsPXmh+P9u37R121Rot0="
        );
    }

    #[test]
    fn request_signature_vector_sha512() {
        assert_eq!(
            sign(HmacAlgorithm::Sha512, KEY, VECTOR_MESSAGE),
            "HmacSHA512:DPldpGpPlYUvpeaxWVFdTvs+R1BSjeyLydwfVQiXplHSWpeBvluzzl4wMklegnmMIuDmB484bniw2yn12AbgUw=="
        );
    }

    #[test]
    fn request_signature_accepts_flat_dotted_keys() {
        let nested = json!({"accessId": "a", "customer": {"name": "x", "address": {"city": "y"}}});
        let flat = json!({"accessId": "a", "customer.name": "x", "customer.address.city": "y"});
        let mixed = json!({"accessId": "a", "customer": {"name": "x", "address.city": "y"}});
        let expected = "accessId=a&customer.name=x&customer.address.city=y";
        assert_eq!(request_signature_message(&nested), expected);
        assert_eq!(request_signature_message(&flat), expected);
        assert_eq!(request_signature_message(&mixed), expected);
    }

    #[test]
    fn request_signature_truthiness() {
        let input = json!({
            "accessId": null,
            "merchantId": 0.0,
            "description": [1],
            "currency": {"a": 1},
            "amount": 2.5,
            "customer": {"vip": true},
            "transactionId": "0",
            "onlinePPSubtype": 1000
        });
        assert_eq!(
            request_signature_message(&input),
            "amount=2.5&customer.vip=true&transactionId=0&onlinePPSubtype=1000"
        );
        assert_eq!(request_signature_message(&json!("not an object")), "");
    }

    fn webhook_pairs() -> Vec<(String, String)> {
        [
            ("merchantId", "1002463580"),
            ("merchantReference", "cb180040-7210-4ab9-97b7-415824754802"),
            ("paymentType", "2"),
            ("transactionType", "3"),
            ("eventId", "1002593570"),
            ("eventType", "Authorize"),
            ("objectId", "1002593555"),
            ("objectType", "Transaction"),
            ("message", ""),
            ("timeZone", "Etc/UTC"),
            ("createdAt", "1556234040954"),
            ("accessId", "M8RaHgEjBE54zuFYMRQq"),
            ("paymentProviderTransaction.status", "AC100"),
            ("paymentProviderTransaction.statusMessage", "AC100"),
            ("status", "2"),
            ("statusMessage", "Authorized"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    #[test]
    fn webhook_vector() {
        let pairs = webhook_pairs();
        let signature = sign(HmacAlgorithm::Sha1, KEY, &webhook_message(&pairs));
        assert_eq!(signature, "dPg0JVctqogSE4WV8FHfmFKt1wI=");
        let header = webhook_authorization_header("M8RaHgEjBE54zuFYMRQq", &signature);
        assert_eq!(
            header,
            "Basic TThSYUhnRWpCRTU0enVGWU1SUXE6ZFBnMEpWY3Rxb2dTRTRXVjhGSGZtRkt0MXdJPQ=="
        );
        let credentials = parse_basic_authorization(&header).expect("a Basic header");
        assert_eq!(
            (credentials.access_id(), credentials.secret()),
            ("M8RaHgEjBE54zuFYMRQq", signature.as_str())
        );
    }

    #[test]
    fn webhook_raw_body_and_documented_header() {
        assert_eq!(
            form_encode(&webhook_pairs()),
            "merchantId=1002463580&merchantReference=cb180040-7210-4ab9-97b7-415824754802&paymentType=2&transactionType=3&eventId=1002593570&eventType=Authorize&objectId=1002593555&objectType=Transaction&message=&timeZone=Etc%2FUTC&createdAt=1556234040954&accessId=M8RaHgEjBE54zuFYMRQq&paymentProviderTransaction.status=AC100&paymentProviderTransaction.statusMessage=AC100&status=2&statusMessage=Authorized"
        );
        let documented =
            "Basic TThSYUhnRWpCRTU0enVGWU1SUXE6RVlOM0dYYXNyVlUxdlExdXlZejIyTk5RZHk0PQ==";
        let credentials = parse_basic_authorization(documented).expect("a Basic header");
        assert_eq!(
            (credentials.access_id(), credentials.secret()),
            ("M8RaHgEjBE54zuFYMRQq", "EYN3GXasrVU1vQ1uyYz22NNQdy4=")
        );
    }

    #[test]
    fn verify_rejects_bad_inputs() {
        let good = sign(HmacAlgorithm::Sha1, KEY, "hello");
        assert!(verify(KEY, "hello", &good));
        assert!(!verify("wrong", "hello", &good));
        assert!(!verify(KEY, "hello", "not base64!"));
        assert!(!verify(KEY, "hello", ""));
        assert!(!verify(KEY, "hello", &format!("HmacSHA384:{good}")));
        assert!(!verify(KEY, "hello", &format!("HmacSHA512:{good}")));
        let sha512 = sign(HmacAlgorithm::Sha512, KEY, "hello");
        let bare = sha512.trim_start_matches(SHA512_PREFIX);
        assert!(!verify(KEY, "hello", bare));
        assert!(!verify(KEY, "hello", &format!("{SHA256_PREFIX}{bare}")));
    }

    fn any_algorithm() -> impl Strategy<Value = HmacAlgorithm> {
        prop_oneof![
            Just(HmacAlgorithm::Sha1),
            Just(HmacAlgorithm::Sha256),
            Just(HmacAlgorithm::Sha512),
        ]
    }

    proptest! {
        #[test]
        fn sign_verify_round_trip(
            algorithm in any_algorithm(),
            key in ".{0,80}",
            message in "[ -~]{1,128}",
        ) {
            let signature = sign(algorithm, &key, &message);
            prop_assert!(verify(&key, &message, &signature));
            // Flipping the low bit of the first ASCII byte keeps the text valid UTF-8.
            let mut bytes = message.clone().into_bytes();
            bytes[0] ^= 1;
            let flipped = String::from_utf8(bytes).unwrap();
            prop_assert!(!verify(&key, &flipped, &signature));
        }
    }
}
