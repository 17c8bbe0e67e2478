//! The FI to FI customer credit transfer (pacs.008.001.08), one transaction per message as
//! FedNow and RTP require: the payout itself.

use time::{Date, OffsetDateTime};

use super::fields::{
    expect_token, format_amount, parse_amount, read_agent, read_date, read_date_time,
    read_optional_text, read_text, read_token, write_agent, write_date, write_date_time, CURRENCY,
};
use super::validate::{self, MAX_140, MAX_16, MAX_34, MAX_35, MAX_70};
use super::xml::{Node, XmlOut};
use super::{InstantNetwork, IsoError, RoutingCheck};
use crate::money::Amount;

/// Settlement through the clearing system (`SttlmMtd`), the only method on the instant rails.
const SETTLEMENT_METHOD: &str = "CLRG";
/// Every party pays its own bank's charges (`ChrgBr`), as FedNow and RTP require.
const CHARGE_BEARER: &str = "SLEV";

/// A customer credit transfer: `amount` moves from the debtor's account at the debtor agent to
/// the creditor's account at the creditor agent. Ids are the caller's and must be unique.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreditTransfer {
    /// `GrpHdr/MsgId`, in the FedNow message id format (see `fednow_message_id`).
    pub message_id: String,
    pub created_at: OffsetDateTime,
    /// `IntrBkSttlmDt`: the network's settlement (cycle) day, which need not be today's date.
    pub settlement_date: Date,
    pub instruction_id: String,
    /// Comes back on every status report and return for this payment.
    pub end_to_end_id: String,
    /// A lowercase version 4 UUID chosen by the caller.
    pub uetr: String,
    /// In US dollars, the only currency the instant rails carry; more than zero.
    pub amount: Amount,
    pub category_purpose: CategoryPurpose,
    pub debtor: Party,
    /// `DbtrAcct/Id/Othr/Id`: the account number.
    pub debtor_account: String,
    pub debtor_agent_rtn: String,
    pub creditor: Party,
    pub creditor_account: String,
    pub creditor_agent_rtn: String,
    pub instructing_agent_rtn: String,
    pub instructed_agent_rtn: String,
    /// `RmtInf/Ustrd`: free text for the creditor, such as an invoice number.
    pub remittance_information: Option<String>,
}

/// `CtgyPurp/Prtry`: who receives the payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CategoryPurpose {
    /// `CONS`: a consumer.
    Consumer,
    /// `BIZZ`: a business.
    Business,
}

impl CategoryPurpose {
    pub const fn code(self) -> &'static str {
        match self {
            CategoryPurpose::Consumer => "CONS",
            CategoryPurpose::Business => "BIZZ",
        }
    }

    pub fn from_code(code: &str) -> Option<CategoryPurpose> {
        match code {
            "CONS" => Some(CategoryPurpose::Consumer),
            "BIZZ" => Some(CategoryPurpose::Business),
            _ => None,
        }
    }
}

/// The debtor or the creditor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Party {
    pub name: String,
    pub address: Option<PostalAddress>,
}

/// A structured postal address (`PstlAdr`); at least one part must be present.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PostalAddress {
    pub street_name: Option<String>,
    pub building_number: Option<String>,
    pub post_code: Option<String>,
    pub town_name: Option<String>,
    /// A state, such as `IL`.
    pub country_subdivision: Option<String>,
    /// Two capital letters, such as `US`.
    pub country: Option<String>,
}

impl PostalAddress {
    fn is_empty(&self) -> bool {
        *self == PostalAddress::default()
    }
}

/// Writes the `Document` of a credit transfer on `network`.
pub(super) fn write_document(
    out: &mut XmlOut,
    namespace: &str,
    network: InstantNetwork,
    transfer: &CreditTransfer,
) -> Result<(), IsoError> {
    out.open_namespaced("Document", namespace);
    out.open("FIToFICstmrCdtTrf");
    out.open("GrpHdr");
    validate::message_id(&transfer.message_id).map_err(|reason| out.invalid("MsgId", reason))?;
    out.leaf("MsgId", &transfer.message_id);
    write_date_time(out, "CreDtTm", transfer.created_at)?;
    out.leaf("NbOfTxs", "1");
    out.open("SttlmInf");
    out.leaf("SttlmMtd", SETTLEMENT_METHOD);
    out.open("ClrSys");
    out.leaf("Cd", network.clearing_system_code());
    out.close();
    out.close();
    out.close();
    write_transaction(out, network, transfer)?;
    out.close();
    out.close();
    Ok(())
}

fn write_transaction(
    out: &mut XmlOut,
    network: InstantNetwork,
    transfer: &CreditTransfer,
) -> Result<(), IsoError> {
    out.open("CdtTrfTxInf");
    out.open("PmtId");
    out.text_leaf("InstrId", &transfer.instruction_id, MAX_35)?;
    out.text_leaf("EndToEndId", &transfer.end_to_end_id, MAX_35)?;
    validate::uetr(&transfer.uetr).map_err(|reason| out.invalid("UETR", reason))?;
    out.leaf("UETR", &transfer.uetr);
    out.close();
    out.open("PmtTpInf");
    if let Some(instrument) = network.local_instrument() {
        out.open("LclInstrm");
        out.leaf("Prtry", instrument);
        out.close();
    }
    out.open("CtgyPurp");
    out.leaf("Prtry", transfer.category_purpose.code());
    out.close();
    out.close();
    let amount =
        format_amount(transfer.amount).map_err(|reason| out.invalid("IntrBkSttlmAmt", reason))?;
    out.leaf_with_attribute("IntrBkSttlmAmt", ("Ccy", CURRENCY), &amount);
    write_date(out, "IntrBkSttlmDt", transfer.settlement_date)?;
    out.leaf("ChrgBr", CHARGE_BEARER);
    write_agent(out, "InstgAgt", &transfer.instructing_agent_rtn)?;
    write_agent(out, "InstdAgt", &transfer.instructed_agent_rtn)?;
    write_party(out, "Dbtr", &transfer.debtor)?;
    write_account(out, "DbtrAcct", &transfer.debtor_account)?;
    write_agent(out, "DbtrAgt", &transfer.debtor_agent_rtn)?;
    write_agent(out, "CdtrAgt", &transfer.creditor_agent_rtn)?;
    write_party(out, "Cdtr", &transfer.creditor)?;
    write_account(out, "CdtrAcct", &transfer.creditor_account)?;
    if let Some(remittance) = &transfer.remittance_information {
        out.open("RmtInf");
        out.text_leaf("Ustrd", remittance, MAX_140)?;
        out.close();
    }
    out.close();
    Ok(())
}

fn write_party(out: &mut XmlOut, name: &'static str, party: &Party) -> Result<(), IsoError> {
    out.open(name);
    out.text_leaf("Nm", &party.name, MAX_140)?;
    if let Some(address) = &party.address {
        write_address(out, address)?;
    }
    out.close();
    Ok(())
}

/// The address parts in the order `PostalAddress24` defines them.
fn write_address(out: &mut XmlOut, address: &PostalAddress) -> Result<(), IsoError> {
    if address.is_empty() {
        return Err(out.invalid("PstlAdr", "an address needs at least one part".to_string()));
    }
    out.open("PstlAdr");
    out.optional_text_leaf("StrtNm", address.street_name.as_deref(), MAX_70)?;
    out.optional_text_leaf("BldgNb", address.building_number.as_deref(), MAX_16)?;
    out.optional_text_leaf("PstCd", address.post_code.as_deref(), MAX_16)?;
    out.optional_text_leaf("TwnNm", address.town_name.as_deref(), MAX_35)?;
    out.optional_text_leaf(
        "CtrySubDvsn",
        address.country_subdivision.as_deref(),
        MAX_35,
    )?;
    if let Some(country) = &address.country {
        validate::country(country).map_err(|reason| out.invalid("Ctry", reason))?;
        out.leaf("Ctry", country);
    }
    out.close();
    Ok(())
}

fn write_account(out: &mut XmlOut, name: &'static str, account: &str) -> Result<(), IsoError> {
    out.open(name);
    out.open("Id");
    out.open("Othr");
    out.text_leaf("Id", account, MAX_34)?;
    out.close();
    out.close();
    out.close();
    Ok(())
}

/// Reads the `Document` of a credit transfer that travelled on `network`.
pub(super) fn read_document(
    document: &Node<'_>,
    network: InstantNetwork,
    check: RoutingCheck,
) -> Result<CreditTransfer, IsoError> {
    let message = document.require(&["FIToFICstmrCdtTrf"])?;
    let group = message.require(&["GrpHdr"])?;
    expect_token(&group, &["NbOfTxs"], "1")?;
    expect_token(&group, &["SttlmInf", "SttlmMtd"], SETTLEMENT_METHOD)?;
    expect_token(
        &group,
        &["SttlmInf", "ClrSys", "Cd"],
        network.clearing_system_code(),
    )?;
    let mut transactions = message.children("CdtTrfTxInf");
    let transaction = transactions.next().ok_or_else(|| IsoError::Missing {
        path: format!("{}/CdtTrfTxInf", message.path()),
    })?;
    if transactions.next().is_some() {
        return Err(transaction.invalid("paybank takes one transaction per message".to_string()));
    }
    let amount = read_amount(&transaction)?;
    expect_token(&transaction, &["ChrgBr"], CHARGE_BEARER)?;
    Ok(CreditTransfer {
        message_id: read_token(&group, &["MsgId"], validate::message_id)?,
        created_at: read_date_time(&group, &["CreDtTm"])?,
        settlement_date: read_date(&transaction, &["IntrBkSttlmDt"])?,
        instruction_id: read_text(&transaction, &["PmtId", "InstrId"], MAX_35)?,
        end_to_end_id: read_text(&transaction, &["PmtId", "EndToEndId"], MAX_35)?,
        uetr: read_token(&transaction, &["PmtId", "UETR"], validate::uetr)?,
        amount,
        category_purpose: read_payment_type(&transaction, network)?,
        debtor: read_party(&transaction, "Dbtr")?,
        debtor_account: read_text(&transaction, &["DbtrAcct", "Id", "Othr", "Id"], MAX_34)?,
        debtor_agent_rtn: read_agent(&transaction, "DbtrAgt", check)?,
        creditor: read_party(&transaction, "Cdtr")?,
        creditor_account: read_text(&transaction, &["CdtrAcct", "Id", "Othr", "Id"], MAX_34)?,
        creditor_agent_rtn: read_agent(&transaction, "CdtrAgt", check)?,
        instructing_agent_rtn: read_agent(&transaction, "InstgAgt", check)?,
        instructed_agent_rtn: read_agent(&transaction, "InstdAgt", check)?,
        remittance_information: read_optional_text(&transaction, &["RmtInf", "Ustrd"], MAX_140)?,
    })
}

/// `IntrBkSttlmAmt` in US dollars.
fn read_amount(transaction: &Node<'_>) -> Result<Amount, IsoError> {
    let amount = transaction.require(&["IntrBkSttlmAmt"])?;
    match amount.attribute("Ccy").map(str::trim) {
        Some(CURRENCY) => {}
        Some(other) => {
            return Err(amount.invalid(format!("currency must be {CURRENCY}, not `{other}`")))
        }
        None => return Err(amount.invalid(format!("the Ccy attribute ({CURRENCY}) is missing"))),
    }
    parse_amount(amount.token()).map_err(|reason| amount.invalid(reason))
}

/// The category purpose, after checking the network's local instrument when it has one.
fn read_payment_type(
    transaction: &Node<'_>,
    network: InstantNetwork,
) -> Result<CategoryPurpose, IsoError> {
    if let Some(instrument) = network.local_instrument() {
        expect_token(transaction, &["PmtTpInf", "LclInstrm", "Prtry"], instrument)?;
    }
    let code = transaction.require(&["PmtTpInf", "CtgyPurp", "Prtry"])?;
    CategoryPurpose::from_code(code.token())
        .ok_or_else(|| code.invalid(format!("`{}` is neither CONS nor BIZZ", code.token())))
}

fn read_party(transaction: &Node<'_>, name: &str) -> Result<Party, IsoError> {
    let party = transaction.require(&[name])?;
    let address = match party.child("PstlAdr") {
        Some(address) => read_address(&address)?,
        None => None,
    };
    Ok(Party {
        name: read_text(&party, &["Nm"], MAX_140)?,
        address,
    })
}

/// The modelled parts of an address; one with none of them (only `AdrLine`, say) is `None`.
fn read_address(address: &Node<'_>) -> Result<Option<PostalAddress>, IsoError> {
    let country = match address.child("Ctry") {
        Some(_) => Some(read_token(address, &["Ctry"], validate::country)?),
        None => None,
    };
    let parts = PostalAddress {
        street_name: read_optional_text(address, &["StrtNm"], MAX_70)?,
        building_number: read_optional_text(address, &["BldgNb"], MAX_16)?,
        post_code: read_optional_text(address, &["PstCd"], MAX_16)?,
        town_name: read_optional_text(address, &["TwnNm"], MAX_35)?,
        country_subdivision: read_optional_text(address, &["CtrySubDvsn"], MAX_35)?,
        country,
    };
    Ok((!parts.is_empty()).then_some(parts))
}
