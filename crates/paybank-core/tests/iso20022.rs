//! The ISO 20022 codec for the instant rails: it reads the Federal Reserve's sample messages,
//! writes FedNow and RTP messages that read back unchanged and validate against the schemas,
//! tolerates what XML allows, and names the element when a message is wrong.

#[path = "iso20022/fixtures.rs"]
mod fixtures;
#[path = "iso20022/round_trip.rs"]
mod round_trip;
mod third_party_xsd;
#[path = "iso20022/xsd.rs"]
mod xsd;

use fixtures::*;
use paybank_core::iso20022::{
    read_envelope, read_envelope_with, read_message, write_credit_transfer, write_envelope,
    write_status_report, CategoryPurpose, Direction, Envelope, InstantMessage, InstantNetwork,
    IsoError, Party, PostalAddress, RoutingCheck, StatusReasonCode, TransactionStatus,
    FEDNOW_MARKET_PRACTICE_ID, PACS_002, PACS_008,
};
use paybank_core::money::Amount;
use time::macros::{date, datetime};

const AMOUNT_PATH: &str = "Document/FIToFICstmrCdtTrf/CdtTrfTxInf/IntrBkSttlmAmt";

fn read_sample(name: &str) -> Envelope {
    read_envelope_with(&sample(name), RoutingCheck::NineDigits)
        .unwrap_or_else(|err| panic!("{name}: {err}"))
}

// The Fed's pacs.008 reads in full; elements paybank does not model (Room, PstBx, the agent's
// name, structured remittance) are skipped.
#[test]
fn the_fed_sample_credit_transfer_reads() {
    let envelope = read_sample(SAMPLE_PACS_008);
    assert_eq!(envelope.network, InstantNetwork::FedNow);
    assert_eq!(envelope.direction, Direction::ToNetwork);
    let InstantMessage::CreditTransfer(header, transfer) = envelope.message else {
        panic!("not a credit transfer");
    };
    assert_eq!(
        (header.from_rtn.as_str(), header.to_rtn.as_str()),
        ("111111111", "021150706")
    );
    assert_eq!(
        header.business_message_id,
        "20230604111111111Sc01Step1MsgId"
    );
    assert_eq!(header.message_definition_id, PACS_008);
    assert_eq!(
        header.market_practice.unwrap().id,
        FEDNOW_MARKET_PRACTICE_ID
    );
    assert_eq!(header.created_at, datetime!(2023-06-04 10:55:26 -04:00));
    assert_eq!(transfer.message_id, "20230604111111111Sc01Step1MsgId");
    assert_eq!(transfer.amount, Amount::from_minor(5174));
    assert_eq!(transfer.settlement_date, date!(2023 - 06 - 04));
    assert_eq!(transfer.instruction_id, "Scenario01InstrId001");
    assert_eq!(transfer.end_to_end_id, "Scenario01EtoEId001");
    assert_eq!(transfer.uetr, "8a562c67-ca16-48ba-b074-65581be6f011");
    assert_eq!(transfer.category_purpose, CategoryPurpose::Consumer);
    assert_eq!(transfer.instructing_agent_rtn, "111111111");
    assert_eq!(transfer.instructed_agent_rtn, "333333333");
    assert_eq!(transfer.debtor_agent_rtn, "111111111");
    assert_eq!(transfer.creditor_agent_rtn, "333333333");
    assert_eq!(transfer.debtor_account, "44444444444");
    assert_eq!(transfer.creditor_account, "55555555555");
    let debtor_address = PostalAddress {
        street_name: Some("Dream Road".to_string()),
        building_number: Some("450".to_string()),
        post_code: Some("60532".to_string()),
        town_name: Some("Lisle".to_string()),
        country_subdivision: Some("IL".to_string()),
        country: Some("US".to_string()),
    };
    let debtor = Party {
        name: "Individual A".to_string(),
        address: Some(debtor_address),
    };
    assert_eq!(transfer.debtor, debtor);
    assert_eq!(transfer.creditor.name, "Corporation B");
    let creditor_address = transfer.creditor.address.unwrap();
    assert_eq!(creditor_address.town_name.as_deref(), Some("Carol Stream"));
    assert_eq!(creditor_address.street_name, None);
    assert_eq!(transfer.remittance_information, None);
}

#[test]
fn the_fed_sample_status_reports_read() {
    let envelope = read_sample(SAMPLE_PACS_002);
    assert_eq!(envelope.direction, Direction::ToNetwork);
    let InstantMessage::StatusReport(header, report) = envelope.message else {
        panic!("not a status report");
    };
    assert_eq!(header.message_definition_id, PACS_002);
    assert_eq!(
        report.status,
        TransactionStatus::AcceptedTechnicalValidation
    );
    assert_eq!(
        report.original_message_id,
        "20230604222222222Sc01Step1MsgId"
    );
    assert_eq!(report.original_message_name_id, PACS_008);
    assert_eq!(report.original_end_to_end_id, "Scenario01EtoEId001");
    assert_eq!(
        report.original_instruction_id.as_deref(),
        Some("Scenario01InstrId001")
    );
    assert_eq!(
        report.original_uetr.as_deref(),
        Some("8a562c67-ca16-48ba-b074-65581be6f011")
    );
    assert_eq!(
        report.original_created_at,
        Some(datetime!(2023-06-04 10:55:26 -04:00))
    );
    assert_eq!(report.instructing_agent_rtn, "111111111");
    assert_eq!(report.instructed_agent_rtn, "222222222");
    assert_eq!(
        (report.reason, report.accepted_at, report.settled_on),
        (None, None, None)
    );

    let envelope = read_sample(SAMPLE_OUTGOING_PACS_002);
    assert_eq!(envelope.direction, Direction::FromNetwork);
    let InstantMessage::StatusReport(header, report) = envelope.message else {
        panic!("not a status report");
    };
    assert_eq!(
        (header.from_rtn.as_str(), header.to_rtn.as_str()),
        ("021150706", "111111111")
    );
    assert_eq!(
        header.processed_at,
        Some(datetime!(2023-06-04 10:55:26 -04:00))
    );
    assert_eq!(
        header.business_message_id,
        "20230604021150706Sc04Step4AMsgId"
    );
    assert_eq!(report.message_id, "20230604021150706Sc01Step4AMsgId");
    assert_eq!(
        report.status,
        TransactionStatus::AcceptedSettlementCompleted
    );
    assert_eq!(
        report.accepted_at,
        Some(datetime!(2023-06-04 10:55:32 -04:00))
    );
    assert_eq!(report.settled_on, Some(date!(2023 - 06 - 04)));
    assert_eq!(report.instructing_agent_rtn, "021150706");
    assert_eq!(report.instructed_agent_rtn, "111111111");
}

// The samples' placeholder routing numbers fail the ABA check digit, so the strict reader
// refuses them and says where.
#[test]
fn the_strict_reader_refuses_the_samples_placeholder_routing_numbers() {
    let err = read_message(&sample(SAMPLE_PACS_008)).unwrap_err();
    assert_eq!(
        err.path(),
        Some("AppHdr/Fr/FIId/FinInstnId/ClrSysMmbId/MmbId")
    );
    assert!(err.to_string().contains("check digit"), "{err}");
}

fn assert_no_empty_elements(xml: &str) {
    assert!(!xml.contains("/>"), "self-closing element in\n{xml}");
    for (at, _) in xml.match_indices("></") {
        let before = &xml[..at];
        let open = before.rfind('<').unwrap();
        assert!(
            before[open..].starts_with("</"),
            "empty element at {at} in\n{xml}"
        );
    }
}

#[test]
fn a_fednow_credit_transfer_is_written_as_the_fed_expects() {
    let transfer = full_transfer();
    let header = header_to_network(InstantNetwork::FedNow, &transfer.message_id, PACS_008);
    let xml = write_credit_transfer(InstantNetwork::FedNow, &header, &transfer).unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<FedNowIncoming xmlns=\"urn:fednow:incoming:v001\">"), "{xml}");
    for expected in [
        "<FedNowIncomingMessage>\n        <FedNowCustomerCreditTransfer>",
        "<AppHdr xmlns=\"urn:iso:std:iso:20022:tech:xsd:head.001.001.02\">",
        "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08\">",
        "<MmbId>021150706</MmbId>",
        "<Id>frb.fednow.01</Id>",
        "<CreDt>2026-11-24T10:55:26-05:00</CreDt>",
        "<Cd>FDN</Cd>",
        "<Prtry>FDNA</Prtry>",
        "<Prtry>CONS</Prtry>",
        "<IntrBkSttlmAmt Ccy=\"USD\">51.74</IntrBkSttlmAmt>",
        "<IntrBkSttlmDt>2026-11-24</IntrBkSttlmDt>",
        "<ChrgBr>SLEV</ChrgBr>",
        "<Nm>Demo Merchant &amp; Sons</Nm>",
        "<Nm>Zoë O&apos;Brien &lt;consumer&gt;</Nm>",
    ] {
        assert!(xml.contains(expected), "no {expected} in\n{xml}");
    }
    assert_no_empty_elements(&xml);
    let message = InstantMessage::CreditTransfer(header, transfer);
    assert_eq!(read_message(&xml), Ok(message));
}

#[test]
fn an_rtp_credit_transfer_uses_tch_and_paybanks_envelope() {
    let envelope = transfer_envelope(InstantNetwork::Rtp, minimal_transfer());
    let xml = write_envelope(&envelope).unwrap();
    assert!(
        xml.contains("<RtpIncoming xmlns=\"urn:paybank:rtp:incoming:v001\">"),
        "{xml}"
    );
    assert!(xml.contains("<RtpCustomerCreditTransfer>"), "{xml}");
    assert!(xml.contains("<Cd>TCH</Cd>"), "{xml}");
    assert!(xml.contains("<MmbId>000000000</MmbId>"), "{xml}");
    assert!(xml.contains("<Prtry>BIZZ</Prtry>"), "{xml}");
    for absent in ["LclInstrm", "MktPrctc", "PstlAdr", "RmtInf"] {
        assert!(!xml.contains(absent), "{absent} in\n{xml}");
    }
    assert_no_empty_elements(&xml);
    assert_eq!(read_envelope(&xml), Ok(envelope));
}

#[test]
fn status_reports_are_written_for_settled_rejected_and_accepted_without_posting() {
    let settled = status_report(TransactionStatus::AcceptedSettlementCompleted);
    let envelope = report_envelope(InstantNetwork::FedNow, settled);
    let xml = write_envelope(&envelope).unwrap();
    assert!(
        xml.contains("<FedNowOutgoing xmlns=\"urn:fednow:outgoing:v001\">"),
        "{xml}"
    );
    assert!(xml.contains("<FedNowPaymentStatus>"), "{xml}");
    assert!(xml.contains("<TxSts>ACSC</TxSts>"), "{xml}");
    assert!(xml.contains("<FctvIntrBkSttlmDt>\n"), "{xml}");
    assert!(
        xml.contains("<CreDtTm>2026-11-24T10:55:28.25-05:00</CreDtTm>"),
        "{xml}"
    );
    assert_eq!(read_envelope(&xml), Ok(envelope));

    let rejected = status_report(TransactionStatus::Rejected);
    let envelope = report_envelope(InstantNetwork::FedNow, rejected);
    let InstantMessage::StatusReport(header, report) = &envelope.message else {
        unreachable!()
    };
    let xml = write_status_report(InstantNetwork::FedNow, Direction::ToNetwork, header, report);
    let xml = xml.unwrap();
    assert!(xml.contains("<TxSts>RJCT</TxSts>"), "{xml}");
    assert!(xml.contains("<Cd>AM04</Cd>"), "{xml}");
    assert!(
        xml.contains("<AddtlInf>Insufficient funds</AddtlInf>"),
        "{xml}"
    );
    assert_eq!(read_envelope(&xml), Ok(envelope));

    let mut pending = status_report(TransactionStatus::AcceptedWithoutPosting);
    pending.original_instruction_id = None;
    pending.original_uetr = None;
    pending.original_created_at = None;
    let envelope = report_envelope(InstantNetwork::Rtp, pending);
    let xml = write_envelope(&envelope).unwrap();
    assert!(xml.contains("<TxSts>ACWP</TxSts>"), "{xml}");
    for absent in [
        "OrgnlInstrId",
        "OrgnlUETR",
        "OrgnlCreDtTm",
        "StsRsnInf",
        "AccptncDtTm",
    ] {
        assert!(!xml.contains(absent), "{absent} in\n{xml}");
    }
    assert_no_empty_elements(&xml);
    assert_eq!(read_envelope(&xml), Ok(envelope));
}

#[test]
fn every_status_and_a_proprietary_reason_round_trip() {
    for status in TransactionStatus::ALL {
        for network in [InstantNetwork::FedNow, InstantNetwork::Rtp] {
            let mut report = status_report(status);
            if status == TransactionStatus::Blocked {
                report.reason = Some(paybank_core::iso20022::StatusReason {
                    code: StatusReasonCode::Proprietary("FRAUD-HOLD-7".to_string()),
                    additional_information: vec![],
                });
            }
            let envelope = report_envelope(network, report);
            let xml = write_envelope(&envelope).unwrap();
            assert!(xml.contains(&format!("<TxSts>{}</TxSts>", status.code())));
            assert_eq!(
                read_envelope(&xml),
                Ok(envelope),
                "{status:?} on {network:?}"
            );
        }
    }
}

// What XML allows but paybank does not write: namespace prefixes, comments, CDATA, character
// references, elements paybank does not model, other spacing.
#[test]
fn the_reader_tolerates_prefixes_comments_and_unknown_elements() {
    let envelope = transfer_envelope(InstantNetwork::FedNow, full_transfer());
    let xml = write_envelope(&envelope).unwrap();
    let start = xml.find("<Document").unwrap();
    let end = xml.find("</Document>").unwrap() + "</Document>".len();
    let document = xml[start..end]
        .replace("</", "\u{1}")
        .replace('<', "<p:")
        .replace('\u{1}', "</p:")
        .replace("xmlns=", "xmlns:p=");
    let document = document
        .replace(
            "<p:ChrgBr>",
            "<!-- note --><p:Purp><p:Cd>SALA</p:Cd></p:Purp>\n<p:ChrgBr>",
        )
        .replace(
            "<p:Nm>Demo Merchant &amp; Sons",
            "<p:Nm><![CDATA[Demo Merchant & ]]>&#83;ons",
        )
        .replace("<p:MsgId>", "<p:MsgId>\n  ");
    let changed = format!("{}{document}{}", &xml[..start], &xml[end..]);
    assert!(changed.contains("<p:FIToFICstmrCdtTrf>"), "{changed}");
    assert_eq!(read_envelope(&changed), Ok(envelope));
}

fn written_transfer() -> String {
    write_envelope(&transfer_envelope(InstantNetwork::FedNow, full_transfer())).unwrap()
}

fn assert_invalid(result: Result<impl std::fmt::Debug, IsoError>, path: &str) {
    match result {
        Err(IsoError::Invalid { path: at, .. }) if at == path => {}
        other => panic!("expected an invalid {path}, got {other:?}"),
    }
}

#[test]
fn a_missing_amount_is_named() {
    let xml = written_transfer();
    let line = xml
        .lines()
        .find(|line| line.contains("IntrBkSttlmAmt"))
        .unwrap();
    let err = read_message(&xml.replace(line, "")).unwrap_err();
    assert_eq!(err.to_string(), format!("missing element {AMOUNT_PATH}"));
    assert_eq!(
        err,
        IsoError::Missing {
            path: AMOUNT_PATH.to_string()
        }
    );
}

#[test]
fn a_bad_routing_check_digit_is_named_on_write_and_read() {
    let path = "Document/FIToFICstmrCdtTrf/CdtTrfTxInf/DbtrAgt/FinInstnId/ClrSysMmbId/MmbId";
    let mut transfer = full_transfer();
    transfer.debtor_agent_rtn = "021000022".to_string();
    assert_invalid(
        write_envelope(&transfer_envelope(InstantNetwork::FedNow, transfer)),
        path,
    );
    let xml = written_transfer();
    let bad = xml.replacen("<MmbId>021000021</MmbId>", "<MmbId>021000022</MmbId>", 1);
    let err = read_message(&bad).unwrap_err();
    assert_eq!(
        err.path(),
        Some("AppHdr/Fr/FIId/FinInstnId/ClrSysMmbId/MmbId")
    );
    let mut header_ok = full_transfer();
    header_ok.creditor_agent_rtn = "01100013".to_string();
    let path = "Document/FIToFICstmrCdtTrf/CdtTrfTxInf/CdtrAgt/FinInstnId/ClrSysMmbId/MmbId";
    assert_invalid(
        write_envelope(&transfer_envelope(InstantNetwork::Rtp, header_ok)),
        path,
    );
}

#[test]
fn only_us_dollars_are_accepted() {
    let xml = written_transfer().replace("Ccy=\"USD\"", "Ccy=\"EUR\"");
    let err = read_message(&xml).unwrap_err();
    assert_eq!(err.path(), Some(AMOUNT_PATH));
    assert!(err.to_string().contains("EUR"), "{err}");
    let mut zero = full_transfer();
    zero.amount = Amount::ZERO;
    assert_invalid(
        write_envelope(&transfer_envelope(InstantNetwork::FedNow, zero)),
        AMOUNT_PATH,
    );
    let sub_cent = written_transfer().replace(">51.74<", ">51.745<");
    assert_invalid(read_message(&sub_cent), AMOUNT_PATH);
}

#[test]
fn a_bad_message_id_is_named() {
    use paybank_core::iso20022::fednow_message_id;
    let day = date!(2026 - 11 - 24);
    assert_eq!(
        fednow_message_id(day, SENDER_RTN, "Payout0001").as_deref(),
        Ok("20261124021000021Payout0001")
    );
    for (rtn, reference) in [
        (SENDER_RTN, ""),
        (SENDER_RTN, "has-dash"),
        (SENDER_RTN, &"x".repeat(19)),
        ("021000022", "ok"),
    ] {
        assert!(
            fednow_message_id(day, rtn, reference).is_err(),
            "{rtn} {reference}"
        );
    }
    let mut envelope = transfer_envelope(InstantNetwork::FedNow, full_transfer());
    if let InstantMessage::CreditTransfer(_, transfer) = &mut envelope.message {
        transfer.message_id = "payout-1".to_string();
    }
    let path = "Document/FIToFICstmrCdtTrf/GrpHdr/MsgId";
    assert_invalid(write_envelope(&envelope), path);
    let xml = written_transfer().replace("<MsgId>20261124", "<MsgId>20261324");
    assert_invalid(read_message(&xml), path);
}

#[test]
fn unknown_documents_and_envelopes_are_refused() {
    let xml = written_transfer();
    let pacs_004 = xml.replace("pacs.008.001.08\">", "pacs.004.001.10\">");
    let err = read_message(&pacs_004).unwrap_err();
    assert_eq!(
        err,
        IsoError::UnknownDocument {
            namespace: "urn:iso:std:iso:20022:tech:xsd:pacs.004.001.10".to_string()
        }
    );
    assert_eq!(err.path(), Some("Document"));
    let mismatch = xml.replace("<MsgDefIdr>pacs.008.001.08", "<MsgDefIdr>pacs.002.001.10");
    assert_invalid(read_message(&mismatch), "AppHdr/MsgDefIdr");
    let elsewhere = xml.replace("urn:fednow:incoming:v001", "urn:example:v1");
    assert!(matches!(
        read_message(&elsewhere),
        Err(IsoError::UnknownEnvelope { .. })
    ));
    let no_header = xml.replace("AppHdr", "Header");
    assert_eq!(
        read_message(&no_header),
        Err(IsoError::Missing {
            path: "AppHdr".to_string()
        })
    );
}

#[test]
fn oversized_and_malformed_input_is_refused() {
    let xml = written_transfer();
    let padded = xml.replacen(
        "<FedNowIncoming",
        &format!("<!--{}--><FedNowIncoming", " ".repeat(1 << 20)),
        1,
    );
    assert!(matches!(
        read_message(&padded),
        Err(IsoError::TooLarge { .. })
    ));
    let truncated = &xml[..xml.len() / 2];
    assert!(matches!(read_message(truncated), Err(IsoError::Xml(_))));
}

#[test]
fn writers_refuse_what_the_schemas_or_fednow_would() {
    let mut rejected = status_report(TransactionStatus::Rejected);
    rejected.reason = None;
    let path = "Document/FIToFIPmtStsRpt/TxInfAndSts/StsRsnInf";
    assert_invalid(
        write_envelope(&report_envelope(InstantNetwork::FedNow, rejected)),
        path,
    );
    let with_reason = write_envelope(&report_envelope(
        InstantNetwork::FedNow,
        status_report(TransactionStatus::Rejected),
    ))
    .unwrap();
    let start = with_reason.find("<StsRsnInf>").unwrap();
    let end = with_reason.find("</StsRsnInf>").unwrap() + "</StsRsnInf>".len();
    let without = format!("{}{}", &with_reason[..start], &with_reason[end..]);
    assert_eq!(
        read_message(&without),
        Err(IsoError::Missing {
            path: path.to_string()
        })
    );

    let mut transfer = full_transfer();
    transfer.uetr = "8A562C67-CA16-48BA-B074-65581BE6F011".to_string();
    assert_invalid(
        write_envelope(&transfer_envelope(InstantNetwork::FedNow, transfer)),
        "Document/FIToFICstmrCdtTrf/CdtTrfTxInf/PmtId/UETR",
    );
    let mut transfer = full_transfer();
    transfer.creditor.name = "x".repeat(141);
    assert_invalid(
        write_envelope(&transfer_envelope(InstantNetwork::FedNow, transfer)),
        "Document/FIToFICstmrCdtTrf/CdtTrfTxInf/Cdtr/Nm",
    );
    let mut transfer = full_transfer();
    transfer.debtor.address = Some(PostalAddress::default());
    assert_invalid(
        write_envelope(&transfer_envelope(InstantNetwork::FedNow, transfer)),
        "Document/FIToFICstmrCdtTrf/CdtTrfTxInf/Dbtr/PstlAdr",
    );
    let mut envelope = transfer_envelope(InstantNetwork::FedNow, full_transfer());
    if let InstantMessage::CreditTransfer(header, _) = &mut envelope.message {
        header.message_definition_id = PACS_002.to_string();
    }
    assert_invalid(write_envelope(&envelope), "AppHdr/MsgDefIdr");
}
