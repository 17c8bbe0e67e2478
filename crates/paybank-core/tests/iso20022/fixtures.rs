//! Messages the ISO 20022 tests write and read: a full and a minimal credit transfer, status
//! reports for every status, their headers, and the Federal Reserve's samples.

use paybank_core::iso20022::{
    BusinessHeader, CategoryPurpose, CreditTransfer, Direction, Envelope, InstantMessage,
    InstantNetwork, Party, PostalAddress, StatusReason, StatusReasonCode, StatusReport,
    TransactionStatus, PACS_002, PACS_008,
};
use paybank_core::money::Amount;
use time::macros::{date, datetime};

/// paybank's sending bank, the receiving bank: real routing numbers with valid check digits.
pub const SENDER_RTN: &str = "021000021";
pub const RECEIVER_RTN: &str = "011000138";

/// The text of a Federal Reserve sample in `tests/data/fednow/`.
pub fn sample(name: &str) -> String {
    let path = format!("{}/tests/data/fednow/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("read {path}: {err}"))
}

pub const SAMPLE_PACS_008: &str = "sample-participant-to-fednow-message.xml";
pub const SAMPLE_PACS_002: &str = "fednow-sample-message-pacs002.xml";
pub const SAMPLE_OUTGOING_PACS_002: &str = "fednow-sample-message-outgoing-pacs002.xml";

/// A payout with every optional part: addresses on both sides and remittance text that needs
/// escaping.
pub fn full_transfer() -> CreditTransfer {
    CreditTransfer {
        message_id: "20261124021000021Payout0001".to_string(),
        created_at: datetime!(2026-11-24 10:55:26 -05:00),
        settlement_date: date!(2026 - 11 - 24),
        instruction_id: "payout-1000000000001".to_string(),
        end_to_end_id: "1000000000001".to_string(),
        uetr: "8a562c67-ca16-48ba-b074-65581be6f011".to_string(),
        amount: Amount::from_minor(5174),
        category_purpose: CategoryPurpose::Consumer,
        debtor: Party {
            name: "Demo Merchant & Sons".to_string(),
            address: Some(PostalAddress {
                street_name: Some("Dream Road".to_string()),
                building_number: Some("450".to_string()),
                post_code: Some("60532".to_string()),
                town_name: Some("Lisle".to_string()),
                country_subdivision: Some("IL".to_string()),
                country: Some("US".to_string()),
            }),
        },
        debtor_account: "44444444444".to_string(),
        debtor_agent_rtn: SENDER_RTN.to_string(),
        creditor: Party {
            name: "Zoë O'Brien <consumer>".to_string(),
            address: Some(PostalAddress {
                town_name: Some("Carol Stream".to_string()),
                country: Some("US".to_string()),
                ..PostalAddress::default()
            }),
        },
        creditor_account: "55555555555".to_string(),
        creditor_agent_rtn: RECEIVER_RTN.to_string(),
        instructing_agent_rtn: SENDER_RTN.to_string(),
        instructed_agent_rtn: RECEIVER_RTN.to_string(),
        remittance_information: Some("Refund for order #42 \"blue\"".to_string()),
    }
}

/// The same payout with no optional part at all.
pub fn minimal_transfer() -> CreditTransfer {
    let full = full_transfer();
    CreditTransfer {
        category_purpose: CategoryPurpose::Business,
        debtor: Party {
            name: "Demo Merchant".to_string(),
            address: None,
        },
        creditor: Party {
            name: "Corporation B".to_string(),
            address: None,
        },
        remittance_information: None,
        ..full
    }
}

/// The header a participant puts on a message to `network`.
pub fn header_to_network(
    network: InstantNetwork,
    message_id: &str,
    definition: &str,
) -> BusinessHeader {
    BusinessHeader::new(
        network,
        Direction::ToNetwork,
        SENDER_RTN,
        message_id,
        definition,
        datetime!(2026-11-24 10:55:26 -05:00),
    )
}

/// A payout in its envelope, as paybank sends it.
pub fn transfer_envelope(network: InstantNetwork, transfer: CreditTransfer) -> Envelope {
    let header = header_to_network(network, &transfer.message_id, PACS_008);
    Envelope {
        network,
        direction: Direction::ToNetwork,
        message: InstantMessage::CreditTransfer(header, transfer),
    }
}

/// The receiver's or the operator's report about `full_transfer` with `status`; rejections
/// carry AM04 (insufficient funds), the operator's settlement advice its dates.
pub fn status_report(status: TransactionStatus) -> StatusReport {
    let transfer = full_transfer();
    let settled = status == TransactionStatus::AcceptedSettlementCompleted;
    StatusReport {
        message_id: "20261124011000138Status0001".to_string(),
        created_at: datetime!(2026-11-24 10:55:28.250 -05:00),
        original_message_id: transfer.message_id,
        original_message_name_id: PACS_008.to_string(),
        original_created_at: Some(transfer.created_at),
        original_instruction_id: Some(transfer.instruction_id),
        original_end_to_end_id: transfer.end_to_end_id,
        original_uetr: Some(transfer.uetr),
        status,
        reason: (status == TransactionStatus::Rejected).then(|| StatusReason {
            code: StatusReasonCode::Iso("AM04".to_string()),
            additional_information: vec!["Insufficient funds".to_string()],
        }),
        accepted_at: settled.then_some(datetime!(2026-11-24 10:55:28 -05:00)),
        settled_on: settled.then_some(date!(2026 - 11 - 24)),
        instructing_agent_rtn: RECEIVER_RTN.to_string(),
        instructed_agent_rtn: SENDER_RTN.to_string(),
    }
}

/// A status report in its envelope: the operator's settlement advice comes from the network,
/// every other status from the receiving participant.
pub fn report_envelope(network: InstantNetwork, report: StatusReport) -> Envelope {
    let direction = if report.status == TransactionStatus::AcceptedSettlementCompleted {
        Direction::FromNetwork
    } else {
        Direction::ToNetwork
    };
    let mut header = BusinessHeader::new(
        network,
        direction,
        SENDER_RTN,
        &report.message_id,
        PACS_002,
        report.created_at,
    );
    if direction == Direction::FromNetwork {
        header.processed_at = Some(datetime!(2026-11-24 10:55:27 -05:00));
    }
    Envelope {
        network,
        direction,
        message: InstantMessage::StatusReport(header, report),
    }
}
