//! The business application header (head.001.001.02 `AppHdr`) that precedes every document:
//! who sends, who receives, which message and when.

use time::OffsetDateTime;

use super::fields::{
    read_date_time, read_optional_date_time, read_text, read_token, write_date_time,
};
use super::validate::{self, MAX_35, MAX_350};
use super::xml::{Node, XmlOut};
use super::{Direction, InstantNetwork, IsoError, RoutingCheck};

/// Length of ISO's `Max2048Text`, the type of the market practice id.
const MAX_2048: usize = 2048;

/// The header of one business message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusinessHeader {
    /// The sender's member id (routing number): `Fr/FIId/FinInstnId/ClrSysMmbId/MmbId`.
    pub from_rtn: String,
    /// The receiver's member id (routing number).
    pub to_rtn: String,
    /// `BizMsgIdr`, in the FedNow message id format.
    pub business_message_id: String,
    /// `MsgDefIdr`: the document's message definition, such as `pacs.008.001.08`.
    pub message_definition_id: String,
    pub market_practice: Option<MarketPractice>,
    /// `CreDt`: when the sender created the message; FedNow's payment timeout starts here.
    pub created_at: OffsetDateTime,
    /// `BizPrcgDt`: when the operator processed it, on messages the operator sends.
    pub processed_at: Option<OffsetDateTime>,
}

/// `MktPrctc`: the published usage rules the message follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketPractice {
    pub registry: String,
    pub id: String,
}

impl BusinessHeader {
    /// The header of a message between `participant_rtn` and the network operator, in
    /// `direction`, with the network's market practice.
    pub fn new(
        network: InstantNetwork,
        direction: Direction,
        participant_rtn: &str,
        business_message_id: &str,
        message_definition_id: &str,
        created_at: OffsetDateTime,
    ) -> BusinessHeader {
        let (from_rtn, to_rtn) = match direction {
            Direction::ToNetwork => (participant_rtn, network.operator_member_id()),
            Direction::FromNetwork => (network.operator_member_id(), participant_rtn),
        };
        BusinessHeader {
            from_rtn: from_rtn.to_string(),
            to_rtn: to_rtn.to_string(),
            business_message_id: business_message_id.to_string(),
            message_definition_id: message_definition_id.to_string(),
            market_practice: network.market_practice(),
            created_at,
            processed_at: None,
        }
    }
}

/// `Fr` or `To`: a financial institution by member id, without a clearing system, as FedNow
/// writes its headers.
fn write_party(out: &mut XmlOut, name: &'static str, rtn: &str) -> Result<(), IsoError> {
    out.open(name);
    out.open("FIId");
    out.open("FinInstnId");
    out.open("ClrSysMmbId");
    validate::routing_number(rtn, RoutingCheck::CheckDigit)
        .map_err(|reason| out.invalid("MmbId", reason))?;
    out.leaf("MmbId", rtn);
    for _ in 0..4 {
        out.close();
    }
    Ok(())
}

pub(super) fn write_header(
    out: &mut XmlOut,
    namespace: &str,
    header: &BusinessHeader,
) -> Result<(), IsoError> {
    out.open_namespaced("AppHdr", namespace);
    write_party(out, "Fr", &header.from_rtn)?;
    write_party(out, "To", &header.to_rtn)?;
    validate::message_id(&header.business_message_id)
        .map_err(|reason| out.invalid("BizMsgIdr", reason))?;
    out.leaf("BizMsgIdr", &header.business_message_id);
    out.text_leaf("MsgDefIdr", &header.message_definition_id, MAX_35)?;
    if let Some(practice) = &header.market_practice {
        out.open("MktPrctc");
        out.text_leaf("Regy", &practice.registry, MAX_350)?;
        out.text_leaf("Id", &practice.id, MAX_2048)?;
        out.close();
    }
    write_date_time(out, "CreDt", header.created_at)?;
    if let Some(processed_at) = header.processed_at {
        write_date_time(out, "BizPrcgDt", processed_at)?;
    }
    out.close();
    Ok(())
}

fn read_party(app_hdr: &Node<'_>, name: &str, check: RoutingCheck) -> Result<String, IsoError> {
    let path = [name, "FIId", "FinInstnId", "ClrSysMmbId", "MmbId"];
    read_token(app_hdr, &path, |rtn| validate::routing_number(rtn, check))
}

pub(super) fn read_header(
    app_hdr: &Node<'_>,
    check: RoutingCheck,
) -> Result<BusinessHeader, IsoError> {
    let market_practice = match app_hdr.child("MktPrctc") {
        Some(practice) => Some(MarketPractice {
            registry: read_text(&practice, &["Regy"], MAX_350)?,
            id: read_text(&practice, &["Id"], MAX_2048)?,
        }),
        None => None,
    };
    Ok(BusinessHeader {
        from_rtn: read_party(app_hdr, "Fr", check)?,
        to_rtn: read_party(app_hdr, "To", check)?,
        business_message_id: read_token(app_hdr, &["BizMsgIdr"], validate::message_id)?,
        message_definition_id: read_token(app_hdr, &["MsgDefIdr"], |id| {
            validate::text(id, MAX_35)
        })?,
        market_practice,
        created_at: read_date_time(app_hdr, &["CreDt"])?,
        processed_at: read_optional_date_time(app_hdr, &["BizPrcgDt"])?,
    })
}
