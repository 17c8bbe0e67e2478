//! The network envelope around `AppHdr` + `Document`, and the whole-document writer and reader.
//!
//! FedNow's envelope is `FedNowIncoming` (participant to the Fed) or `FedNowOutgoing` (the Fed
//! to a participant), each holding `...Message/<kind>/{AppHdr, Document}`. RTP messages use the
//! same shape under paybank's own names and namespaces (see the module docs of `iso20022`).

use super::header::{read_header, write_header};
use super::xml::{self, Element, Node, XmlOut};
use super::{
    pacs002, pacs008, Direction, Envelope, InstantMessage, InstantNetwork, IsoError, RoutingCheck,
    HEAD_001, PACS_002, PACS_008,
};

/// Every ISO 20022 message namespace is this followed by the message definition id.
const ISO_NAMESPACE_PREFIX: &str = "urn:iso:std:iso:20022:tech:xsd:";

const NETWORKS: [InstantNetwork; 2] = [InstantNetwork::FedNow, InstantNetwork::Rtp];
const DIRECTIONS: [Direction; 2] = [Direction::ToNetwork, Direction::FromNetwork];

/// The envelope's root element, its namespace and the element under the root.
struct EnvelopeNames {
    root: &'static str,
    namespace: &'static str,
    message: &'static str,
}

fn envelope_names(network: InstantNetwork, direction: Direction) -> EnvelopeNames {
    let (root, namespace, message) = match (network, direction) {
        (InstantNetwork::FedNow, Direction::ToNetwork) => (
            "FedNowIncoming",
            "urn:fednow:incoming:v001",
            "FedNowIncomingMessage",
        ),
        (InstantNetwork::FedNow, Direction::FromNetwork) => (
            "FedNowOutgoing",
            "urn:fednow:outgoing:v001",
            "FedNowOutgoingMessage",
        ),
        (InstantNetwork::Rtp, Direction::ToNetwork) => (
            "RtpIncoming",
            "urn:paybank:rtp:incoming:v001",
            "RtpIncomingMessage",
        ),
        (InstantNetwork::Rtp, Direction::FromNetwork) => (
            "RtpOutgoing",
            "urn:paybank:rtp:outgoing:v001",
            "RtpOutgoingMessage",
        ),
    };
    EnvelopeNames {
        root,
        namespace,
        message,
    }
}

/// The element that says which kind of message the envelope holds.
fn kind_element(network: InstantNetwork, message: &InstantMessage) -> &'static str {
    match (network, message) {
        (InstantNetwork::FedNow, InstantMessage::CreditTransfer(..)) => {
            "FedNowCustomerCreditTransfer"
        }
        (InstantNetwork::FedNow, InstantMessage::StatusReport(..)) => "FedNowPaymentStatus",
        (InstantNetwork::Rtp, InstantMessage::CreditTransfer(..)) => "RtpCustomerCreditTransfer",
        (InstantNetwork::Rtp, InstantMessage::StatusReport(..)) => "RtpPaymentStatus",
    }
}

fn iso_namespace(definition: &str) -> String {
    format!("{ISO_NAMESPACE_PREFIX}{definition}")
}

/// The header must name the document it travels with.
fn check_definition(header_definition: &str, definition: &str) -> Result<(), IsoError> {
    if header_definition == definition {
        return Ok(());
    }
    Err(IsoError::Invalid {
        path: "AppHdr/MsgDefIdr".to_string(),
        reason: format!("is `{header_definition}` but the document is {definition}"),
    })
}

/// Writes a complete XML document: declaration, envelope, `AppHdr`, `Document`. Every field
/// is validated first; the error names the element that is wrong.
pub fn write_envelope(envelope: &Envelope) -> Result<String, IsoError> {
    let (header, definition) = match &envelope.message {
        InstantMessage::CreditTransfer(header, _) => (header, PACS_008),
        InstantMessage::StatusReport(header, _) => (header, PACS_002),
    };
    check_definition(&header.message_definition_id, definition)?;
    let names = envelope_names(envelope.network, envelope.direction);
    let mut out = XmlOut::new();
    out.open_namespaced(names.root, names.namespace);
    out.open(names.message);
    out.open(kind_element(envelope.network, &envelope.message));
    write_header(&mut out, &iso_namespace(HEAD_001), header)?;
    let namespace = iso_namespace(definition);
    match &envelope.message {
        InstantMessage::CreditTransfer(_, transfer) => {
            pacs008::write_document(&mut out, &namespace, envelope.network, transfer)?
        }
        InstantMessage::StatusReport(_, report) => {
            pacs002::write_document(&mut out, &namespace, report)?
        }
    }
    out.close();
    out.close();
    out.close();
    Ok(out.finish())
}

/// Reads a message in its envelope, requiring valid ABA check digits on every RTN.
pub fn read_envelope(xml: &str) -> Result<Envelope, IsoError> {
    read_envelope_with(xml, RoutingCheck::CheckDigit)
}

/// Reads a message in its envelope, checking routing numbers as `check` says. The network and
/// direction come from the envelope, the kind of message from the `Document` namespace.
pub fn read_envelope_with(xml: &str, check: RoutingCheck) -> Result<Envelope, IsoError> {
    let root = xml::parse(xml)?;
    let (network, direction) = identify_envelope(&root)?;
    let app_hdr = find_part(&root, "AppHdr")?;
    if app_hdr.namespace.as_deref() != Some(iso_namespace(HEAD_001).as_str()) {
        return Err(IsoError::Invalid {
            path: "AppHdr".to_string(),
            reason: format!("the namespace must be {}", iso_namespace(HEAD_001)),
        });
    }
    let header = read_header(&Node::root(app_hdr), check)?;
    let document = find_part(&root, "Document")?;
    let namespace = document.namespace.as_deref().unwrap_or_default();
    let definition = match namespace.strip_prefix(ISO_NAMESPACE_PREFIX) {
        Some(definition @ (PACS_008 | PACS_002)) => definition,
        _ => {
            return Err(IsoError::UnknownDocument {
                namespace: namespace.to_string(),
            })
        }
    };
    check_definition(&header.message_definition_id, definition)?;
    let document = Node::root(document);
    let message = if definition == PACS_008 {
        let transfer = pacs008::read_document(&document, network, check)?;
        InstantMessage::CreditTransfer(header, transfer)
    } else {
        let report = pacs002::read_document(&document, check)?;
        InstantMessage::StatusReport(header, report)
    };
    Ok(Envelope {
        network,
        direction,
        message,
    })
}

fn identify_envelope(root: &Element) -> Result<(InstantNetwork, Direction), IsoError> {
    let namespace = root.namespace.as_deref();
    for network in NETWORKS {
        for direction in DIRECTIONS {
            let names = envelope_names(network, direction);
            if root.name == names.root && namespace == Some(names.namespace) {
                return Ok((network, direction));
            }
        }
    }
    Err(IsoError::UnknownEnvelope {
        element: root.name.clone(),
        namespace: namespace.unwrap_or_default().to_string(),
    })
}

fn find_part<'a>(root: &'a Element, name: &str) -> Result<&'a Element, IsoError> {
    root.find_named(name).ok_or_else(|| IsoError::Missing {
        path: name.to_string(),
    })
}
