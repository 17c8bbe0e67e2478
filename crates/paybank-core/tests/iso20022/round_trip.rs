//! Property: whatever valid message paybank writes reads back equal, on both networks and in
//! both directions. The strategies here also feed the schema checks in `xsd.rs`.

use paybank_core::iso20022::{
    read_envelope, write_envelope, BusinessHeader, CategoryPurpose, CreditTransfer, Direction,
    Envelope, InstantMessage, InstantNetwork, MarketPractice, Party, PostalAddress, StatusReason,
    StatusReasonCode, StatusReport, TransactionStatus, PACS_002, PACS_008,
};
use paybank_core::money::Amount;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use time::{Date, OffsetDateTime, UtcOffset};

/// Text with the characters XML must escape, quotes, accents and inner spaces; `max` is the
/// ISO length limit.
fn text(max: usize) -> impl Strategy<Value = String> {
    let pattern = format!(
        "[A-Za-z0-9&<>'\"éß#][A-Za-z0-9&<>'\" .,éß#/-]{{0,{}}}",
        max - 1
    );
    let strings = proptest::string::string_regex(&pattern).expect("a valid pattern");
    strings.prop_map(|s| s.trim_end().to_string())
}

/// Eight digits and the ABA check digit that makes them a valid routing number.
pub fn routing_number() -> impl Strategy<Value = String> {
    "[0-9]{8}".prop_map(|first| {
        let weights = [3, 7, 1, 3, 7, 1, 3, 7];
        let digits = first.bytes().map(|b| u32::from(b - b'0'));
        let sum: u32 = digits.zip(weights).map(|(d, w)| d * w).sum();
        format!("{first}{}", (10 - sum % 10) % 10)
    })
}

fn date() -> impl Strategy<Value = Date> {
    (2000i32..2100, 1u8..=12, 1u8..=28).prop_map(|(year, month, day)| {
        Date::from_calendar_date(year, month.try_into().unwrap(), day).unwrap()
    })
}

/// Any instant in this century, with or without a fraction of a second, at any offset
/// `xs:dateTime` can express.
fn date_time() -> impl Strategy<Value = OffsetDateTime> {
    let nanos = prop_oneof![Just(0u32), 0u32..1_000_000_000];
    (946_684_800i64..4_102_444_800, nanos, -14i32 * 60..=14 * 60).prop_map(
        |(seconds, nanos, offset_minutes)| {
            let offset = UtcOffset::from_whole_seconds(offset_minutes * 60).unwrap();
            let at = OffsetDateTime::from_unix_timestamp(seconds).unwrap();
            at.replace_nanosecond(nanos).unwrap().to_offset(offset)
        },
    )
}

fn message_id() -> impl Strategy<Value = String> {
    (date(), routing_number(), "[A-Za-z0-9]{1,18}").prop_map(|(day, rtn, reference)| {
        let (year, month, day) = (day.year(), u8::from(day.month()), day.day());
        format!("{year:04}{month:02}{day:02}{rtn}{reference}")
    })
}

fn uetr() -> impl Strategy<Value = String> {
    (
        "[0-9a-f]{8}",
        "[0-9a-f]{4}",
        "[0-9a-f]{3}",
        "[89ab][0-9a-f]{3}",
        "[0-9a-f]{12}",
    )
        .prop_map(|(a, b, c, d, e)| format!("{a}-{b}-4{c}-{d}-{e}"))
}

fn address() -> impl Strategy<Value = PostalAddress> {
    let country = prop_oneof![Just("US".to_string()), "[A-Z]{2}"];
    (
        option::of(text(70)),
        option::of(text(16)),
        option::of(text(16)),
        option::of(text(35)),
        option::of(text(35)),
        option::of(country),
    )
        .prop_map(
            |(street, building, post_code, town, subdivision, country)| PostalAddress {
                street_name: street,
                building_number: building,
                post_code,
                town_name: town,
                country_subdivision: subdivision,
                country,
            },
        )
        .prop_filter("an address has a part", |a| *a != PostalAddress::default())
}

fn party() -> impl Strategy<Value = Party> {
    (text(140), option::of(address())).prop_map(|(name, address)| Party { name, address })
}

pub fn credit_transfer() -> impl Strategy<Value = CreditTransfer> {
    let ids = (
        message_id(),
        date_time(),
        date(),
        text(35),
        text(35),
        uetr(),
    );
    // Everyday amounts, and any amount up to ISO's 18 digits.
    let cents = prop_oneof![1i64..=10_000_000_000, 1i64..=999_999_999_999_999_999];
    let money = (cents, any::<bool>(), option::of(text(140)));
    let debtor = (party(), text(34), routing_number());
    let creditor = (party(), text(34), routing_number());
    let agents = (routing_number(), routing_number());
    (ids, money, debtor, creditor, agents).prop_map(
        |(
            (message_id, created_at, settlement_date, instruction_id, end_to_end_id, uetr),
            (cents, business, remittance_information),
            (debtor, debtor_account, debtor_agent_rtn),
            (creditor, creditor_account, creditor_agent_rtn),
            (instructing_agent_rtn, instructed_agent_rtn),
        )| CreditTransfer {
            message_id,
            created_at,
            settlement_date,
            instruction_id,
            end_to_end_id,
            uetr,
            amount: Amount::from_minor(cents),
            category_purpose: if business {
                CategoryPurpose::Business
            } else {
                CategoryPurpose::Consumer
            },
            debtor,
            debtor_account,
            debtor_agent_rtn,
            creditor,
            creditor_account,
            creditor_agent_rtn,
            instructing_agent_rtn,
            instructed_agent_rtn,
            remittance_information,
        },
    )
}

fn status_reason() -> impl Strategy<Value = StatusReason> {
    let code = prop_oneof![
        "[A-Z]{2}[0-9]{2}".prop_map(StatusReasonCode::Iso),
        text(35).prop_map(StatusReasonCode::Proprietary),
    ];
    (code, vec(text(105), 0..3)).prop_map(|(code, additional_information)| StatusReason {
        code,
        additional_information,
    })
}

pub fn status_report() -> impl Strategy<Value = StatusReport> {
    let ids = (
        message_id(),
        date_time(),
        message_id(),
        option::of(date_time()),
    );
    let original = (option::of(text(35)), text(35), option::of(uetr()));
    let status = (0..TransactionStatus::ALL.len(), option::of(status_reason()));
    let settlement = (
        option::of(date_time()),
        option::of(date()),
        routing_number(),
        routing_number(),
    );
    (ids, original, status, settlement).prop_map(
        |(
            (message_id, created_at, original_message_id, original_created_at),
            (original_instruction_id, original_end_to_end_id, original_uetr),
            (status, reason),
            (accepted_at, settled_on, instructing_agent_rtn, instructed_agent_rtn),
        )| {
            let status = TransactionStatus::ALL[status];
            // A rejection must say why; give it a reason when the strategy drew none.
            let reason = match (status, reason) {
                (TransactionStatus::Rejected, None) => Some(StatusReason {
                    code: StatusReasonCode::Iso("AC03".to_string()),
                    additional_information: vec![],
                }),
                (_, reason) => reason,
            };
            StatusReport {
                message_id,
                created_at,
                original_message_id,
                original_message_name_id: PACS_008.to_string(),
                original_created_at,
                original_instruction_id,
                original_end_to_end_id,
                original_uetr,
                status,
                reason,
                accepted_at,
                settled_on,
                instructing_agent_rtn,
                instructed_agent_rtn,
            }
        },
    )
}

fn header(definition: &'static str) -> impl Strategy<Value = BusinessHeader> {
    let practice = option::of(
        (text(350), text(100)).prop_map(|(registry, id)| MarketPractice { registry, id }),
    );
    (
        routing_number(),
        routing_number(),
        message_id(),
        practice,
        date_time(),
        option::of(date_time()),
    )
        .prop_map(
            move |(
                from_rtn,
                to_rtn,
                business_message_id,
                market_practice,
                created_at,
                processed_at,
            )| BusinessHeader {
                from_rtn,
                to_rtn,
                business_message_id,
                message_definition_id: definition.to_string(),
                market_practice,
                created_at,
                processed_at,
            },
        )
}

pub fn envelope() -> impl Strategy<Value = Envelope> {
    let network = prop_oneof![Just(InstantNetwork::FedNow), Just(InstantNetwork::Rtp)];
    let direction = prop_oneof![Just(Direction::ToNetwork), Just(Direction::FromNetwork)];
    let message = prop_oneof![
        (header(PACS_008), credit_transfer())
            .prop_map(|(h, t)| InstantMessage::CreditTransfer(h, t)),
        (header(PACS_002), status_report()).prop_map(|(h, r)| InstantMessage::StatusReport(h, r)),
    ];
    (network, direction, message).prop_map(|(network, direction, message)| Envelope {
        network,
        direction,
        message,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn written_messages_read_back_unchanged(envelope in envelope()) {
        let xml = write_envelope(&envelope).map_err(|err| TestCaseError::fail(err.to_string()))?;
        prop_assert_eq!(read_envelope(&xml), Ok(envelope), "{}", xml);
    }
}
