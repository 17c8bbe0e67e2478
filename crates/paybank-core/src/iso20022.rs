//! ISO 20022 messages for the instant rails (FedNow, RTP): the customer credit transfer
//! (pacs.008.001.08) and the payment status report (pacs.002.001.10), each with its business
//! application header (head.001.001.02), inside the network's envelope.
//!
//! Plain structs in, a complete XML document out, and back: `write_*` validate every field before
//! writing (so they return a `Result`) and only write the optional elements that are present;
//! [`read_message`] reads the same messages and the Federal Reserve's samples, ignoring elements
//! paybank does not model, and applies the same field rules. The samples' placeholder routing
//! numbers fail the ABA check digit, so they are read with [`RoutingCheck::NineDigits`].
//! Everything here is pure: ids, times and dates are the caller's.
//!
//! Choices where no public source pins the RTP side down (TCH's documents are licensed):
//! - RTP messages use the FedNow envelope shape in paybank's own namespaces
//!   (`<RtpIncoming xmlns="urn:paybank:rtp:incoming:v001">`, `RtpOutgoing`), so they can never
//!   be mistaken for a real TCH envelope.
//! - The RTP operator's member id is [`RTP_OPERATOR_MEMBER_ID`], `000000000`: it passes the ABA
//!   check digit and its `00` prefix belongs to no bank. RTP headers carry no `MktPrctc`.
//! - RTP credit transfers use clearing system code `TCH` and no local instrument; message ids use
//!   the FedNow format on both networks.

mod envelope;
mod fields;
mod header;
mod pacs002;
mod pacs008;
mod validate;
mod xml;

use time::Date;

pub use envelope::{read_envelope, read_envelope_with, write_envelope};
pub use header::{BusinessHeader, MarketPractice};
pub use pacs002::{StatusReason, StatusReasonCode, StatusReport, TransactionStatus};
pub use pacs008::{CategoryPurpose, CreditTransfer, Party, PostalAddress};

/// The most bytes [`read_message`] accepts. The messages here are a few KiB; the cap bounds
/// the memory a hostile input can take.
pub const MESSAGE_SIZE_MAX: usize = 1 << 20;

/// The FedNow Service's member id (RTN) in business application headers.
pub const FEDNOW_OPERATOR_MEMBER_ID: &str = "021150706";
/// paybank's stand-in for TCH's RTP member id, which is not public (see the module docs).
pub const RTP_OPERATOR_MEMBER_ID: &str = "000000000";
/// The MyStandards registry the FedNow market practice is published in.
pub const FEDNOW_MARKET_PRACTICE_REGISTRY: &str =
    "www2.swift.com/mystandards/#/group/Federal_Reserve_Financial_Services/FedNow_Service";
/// The FedNow market practice id.
pub const FEDNOW_MARKET_PRACTICE_ID: &str = "frb.fednow.01";

/// Message definition id of the customer credit transfer.
pub const PACS_008: &str = "pacs.008.001.08";
/// Message definition id of the payment status report.
pub const PACS_002: &str = "pacs.002.001.10";
/// Message definition id of the business application header.
pub const HEAD_001: &str = "head.001.001.02";

/// The instant payment network a message travels on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InstantNetwork {
    FedNow,
    Rtp,
}

impl InstantNetwork {
    /// The clearing system code in a credit transfer's settlement information.
    pub const fn clearing_system_code(self) -> &'static str {
        match self {
            InstantNetwork::FedNow => "FDN",
            InstantNetwork::Rtp => "TCH",
        }
    }

    /// The member id that addresses the network operator itself in a header.
    pub const fn operator_member_id(self) -> &'static str {
        match self {
            InstantNetwork::FedNow => FEDNOW_OPERATOR_MEMBER_ID,
            InstantNetwork::Rtp => RTP_OPERATOR_MEMBER_ID,
        }
    }

    /// The local instrument a credit transfer must carry, if the network has one.
    pub const fn local_instrument(self) -> Option<&'static str> {
        match self {
            InstantNetwork::FedNow => Some("FDNA"),
            InstantNetwork::Rtp => None,
        }
    }

    /// The market practice headers on this network name, if any.
    pub fn market_practice(self) -> Option<MarketPractice> {
        match self {
            InstantNetwork::FedNow => Some(MarketPractice {
                registry: FEDNOW_MARKET_PRACTICE_REGISTRY.to_string(),
                id: FEDNOW_MARKET_PRACTICE_ID.to_string(),
            }),
            InstantNetwork::Rtp => None,
        }
    }
}

/// Which way a message crosses the network: from a participant to the operator (FedNow's
/// "incoming") or from the operator to a participant ("outgoing").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    ToNetwork,
    FromNetwork,
}

/// One business message: its header and its document.
// A message is built, written or read once and then dropped, never kept in bulk, so the
// variants' size difference costs nothing and boxing would only make matching clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstantMessage {
    CreditTransfer(BusinessHeader, CreditTransfer),
    StatusReport(BusinessHeader, StatusReport),
}

/// A message together with the envelope it travels in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub network: InstantNetwork,
    pub direction: Direction,
    pub message: InstantMessage,
}

/// How strictly routing numbers (RTNs) are checked when reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RoutingCheck {
    /// Nine digits with a valid ABA check digit: what paybank accepts from the rails.
    CheckDigit,
    /// Nine digits only, for illustrative data such as the Federal Reserve's samples, whose
    /// placeholder RTNs (`111111111`) fail the check digit.
    NineDigits,
}

/// Why a message could not be written or read. Paths are element paths from the `AppHdr` or
/// `Document` root, such as `Document/FIToFICstmrCdtTrf/CdtTrfTxInf/IntrBkSttlmAmt`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IsoError {
    #[error("message is {size} bytes, more than the {max} bytes accepted")]
    TooLarge { size: usize, max: usize },
    #[error("malformed XML: {0}")]
    Xml(String),
    #[error("unknown envelope {element} in namespace `{namespace}`")]
    UnknownEnvelope { element: String, namespace: String },
    #[error("unknown document type at Document: namespace `{namespace}`")]
    UnknownDocument { namespace: String },
    #[error("missing element {path}")]
    Missing { path: String },
    #[error("malformed element {path}: {reason}")]
    Invalid { path: String, reason: String },
}

impl IsoError {
    /// The element path the error is about, when it is about one element.
    pub fn path(&self) -> Option<&str> {
        match self {
            IsoError::Missing { path } | IsoError::Invalid { path, .. } => Some(path),
            IsoError::UnknownDocument { .. } => Some("Document"),
            _ => None,
        }
    }
}

/// Writes a credit transfer sent by a participant to the network, as a complete XML document.
pub fn write_credit_transfer(
    network: InstantNetwork,
    header: &BusinessHeader,
    transfer: &CreditTransfer,
) -> Result<String, IsoError> {
    write_envelope(&Envelope {
        network,
        direction: Direction::ToNetwork,
        message: InstantMessage::CreditTransfer(header.clone(), transfer.clone()),
    })
}

/// Writes a payment status report travelling in `direction`, as a complete XML document.
pub fn write_status_report(
    network: InstantNetwork,
    direction: Direction,
    header: &BusinessHeader,
    report: &StatusReport,
) -> Result<String, IsoError> {
    write_envelope(&Envelope {
        network,
        direction,
        message: InstantMessage::StatusReport(header.clone(), report.clone()),
    })
}

/// Reads a message in its envelope, requiring valid ABA check digits on every RTN.
pub fn read_message(xml: &str) -> Result<InstantMessage, IsoError> {
    read_envelope(xml).map(|envelope| envelope.message)
}

/// Builds a FedNow message id: `CCYYMMDD`, the 9-character connection party id (here the
/// sender's RTN) and a reference of 1 to 18 letters and digits, unique for the sender that day.
pub fn fednow_message_id(date: Date, party_rtn: &str, reference: &str) -> Result<String, IsoError> {
    let invalid = |reason: String| IsoError::Invalid {
        path: "MsgId".to_string(),
        reason,
    };
    validate::routing_number(party_rtn, RoutingCheck::CheckDigit).map_err(invalid)?;
    let id = format!(
        "{:04}{:02}{:02}{party_rtn}{reference}",
        date.year(),
        u8::from(date.month()),
        date.day()
    );
    validate::message_id(&id).map_err(invalid)?;
    Ok(id)
}
