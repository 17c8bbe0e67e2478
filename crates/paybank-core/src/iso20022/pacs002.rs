//! The FI to FI payment status report (pacs.002.001.10) about one credit transfer: the
//! receiver's accept or reject, and the operator's settlement advice.

use time::{Date, OffsetDateTime};

use super::fields::{
    read_agent, read_date, read_date_time, read_optional_date_time, read_optional_text, read_text,
    read_token, write_agent, write_date, write_date_time,
};
use super::validate::{self, MAX_105, MAX_35};
use super::xml::{Node, XmlOut};
use super::{IsoError, RoutingCheck};

/// A status report about one earlier message's one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusReport {
    /// `GrpHdr/MsgId`, in the FedNow message id format.
    pub message_id: String,
    pub created_at: OffsetDateTime,
    pub original_message_id: String,
    /// The reported message's definition, such as `pacs.008.001.08`.
    pub original_message_name_id: String,
    pub original_created_at: Option<OffsetDateTime>,
    pub original_instruction_id: Option<String>,
    pub original_end_to_end_id: String,
    pub original_uetr: Option<String>,
    pub status: TransactionStatus,
    /// Why; required when the status is [`TransactionStatus::Rejected`].
    pub reason: Option<StatusReason>,
    /// `AccptncDtTm`: when the operator accepted the payment, on its settlement advice.
    pub accepted_at: Option<OffsetDateTime>,
    /// `FctvIntrBkSttlmDt/Dt`: the day the payment settled, on the settlement advice.
    pub settled_on: Option<Date>,
    pub instructing_agent_rtn: String,
    pub instructed_agent_rtn: String,
}

/// `TxSts`: where the reported transaction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransactionStatus {
    /// `ACTC`: the receiver accepted the payment.
    AcceptedTechnicalValidation,
    /// `ACCC`: the creditor's account was credited (after an accept without posting).
    AcceptedCreditSettlementCompleted,
    /// `ACSC`: the operator settled the payment; final and irrevocable.
    AcceptedSettlementCompleted,
    /// `ACWP`: accepted, but the creditor's account is not credited yet.
    AcceptedWithoutPosting,
    /// `PDNG`: still pending after an accept without posting.
    Pending,
    /// `BLCK`: the funds are blocked (after an accept without posting).
    Blocked,
    /// `RJCT`: rejected, with a reason.
    Rejected,
}

impl TransactionStatus {
    pub const ALL: [TransactionStatus; 7] = [
        TransactionStatus::AcceptedTechnicalValidation,
        TransactionStatus::AcceptedCreditSettlementCompleted,
        TransactionStatus::AcceptedSettlementCompleted,
        TransactionStatus::AcceptedWithoutPosting,
        TransactionStatus::Pending,
        TransactionStatus::Blocked,
        TransactionStatus::Rejected,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            TransactionStatus::AcceptedTechnicalValidation => "ACTC",
            TransactionStatus::AcceptedCreditSettlementCompleted => "ACCC",
            TransactionStatus::AcceptedSettlementCompleted => "ACSC",
            TransactionStatus::AcceptedWithoutPosting => "ACWP",
            TransactionStatus::Pending => "PDNG",
            TransactionStatus::Blocked => "BLCK",
            TransactionStatus::Rejected => "RJCT",
        }
    }

    pub fn from_code(code: &str) -> Option<TransactionStatus> {
        TransactionStatus::ALL
            .into_iter()
            .find(|status| status.code() == code)
    }
}

/// `StsRsnInf`: a reason code and optional free text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusReason {
    pub code: StatusReasonCode,
    /// `AddtlInf`, each at most 105 characters.
    pub additional_information: Vec<String>,
}

/// `Rsn`: an ISO external status reason code (`AC03`, `AM04`, ...) or a proprietary one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusReasonCode {
    /// `Rsn/Cd`: 1 to 4 capital letters or digits.
    Iso(String),
    /// `Rsn/Prtry`: up to 35 characters.
    Proprietary(String),
}

/// A rejection without a reason tells the sender nothing, so FedNow refuses it and so do we.
fn check_reason(report: &StatusReport) -> Result<(), String> {
    if report.status == TransactionStatus::Rejected && report.reason.is_none() {
        return Err("a rejection (RJCT) needs a reason".to_string());
    }
    Ok(())
}

/// Writes the `Document` of a status report.
pub(super) fn write_document(
    out: &mut XmlOut,
    namespace: &str,
    report: &StatusReport,
) -> Result<(), IsoError> {
    out.open_namespaced("Document", namespace);
    out.open("FIToFIPmtStsRpt");
    out.open("GrpHdr");
    validate::message_id(&report.message_id).map_err(|reason| out.invalid("MsgId", reason))?;
    out.leaf("MsgId", &report.message_id);
    write_date_time(out, "CreDtTm", report.created_at)?;
    out.close();
    out.open("TxInfAndSts");
    write_original(out, report)?;
    out.leaf("TxSts", report.status.code());
    check_reason(report).map_err(|reason| out.invalid("StsRsnInf", reason))?;
    if let Some(reason) = &report.reason {
        write_reason(out, reason)?;
    }
    if let Some(accepted_at) = report.accepted_at {
        write_date_time(out, "AccptncDtTm", accepted_at)?;
    }
    if let Some(settled_on) = report.settled_on {
        out.open("FctvIntrBkSttlmDt");
        write_date(out, "Dt", settled_on)?;
        out.close();
    }
    write_agent(out, "InstgAgt", &report.instructing_agent_rtn)?;
    write_agent(out, "InstdAgt", &report.instructed_agent_rtn)?;
    out.close();
    out.close();
    out.close();
    Ok(())
}

/// `OrgnlGrpInf` and the original transaction's ids.
fn write_original(out: &mut XmlOut, report: &StatusReport) -> Result<(), IsoError> {
    out.open("OrgnlGrpInf");
    validate::message_id(&report.original_message_id)
        .map_err(|reason| out.invalid("OrgnlMsgId", reason))?;
    out.leaf("OrgnlMsgId", &report.original_message_id);
    out.text_leaf("OrgnlMsgNmId", &report.original_message_name_id, MAX_35)?;
    if let Some(created_at) = report.original_created_at {
        write_date_time(out, "OrgnlCreDtTm", created_at)?;
    }
    out.close();
    out.optional_text_leaf(
        "OrgnlInstrId",
        report.original_instruction_id.as_deref(),
        MAX_35,
    )?;
    out.text_leaf("OrgnlEndToEndId", &report.original_end_to_end_id, MAX_35)?;
    if let Some(uetr) = &report.original_uetr {
        validate::uetr(uetr).map_err(|reason| out.invalid("OrgnlUETR", reason))?;
        out.leaf("OrgnlUETR", uetr);
    }
    Ok(())
}

fn write_reason(out: &mut XmlOut, reason: &StatusReason) -> Result<(), IsoError> {
    out.open("StsRsnInf");
    out.open("Rsn");
    match &reason.code {
        StatusReasonCode::Iso(code) => {
            validate::external_code(code).map_err(|reason| out.invalid("Cd", reason))?;
            out.leaf("Cd", code);
        }
        StatusReasonCode::Proprietary(code) => out.text_leaf("Prtry", code, MAX_35)?,
    }
    out.close();
    for information in &reason.additional_information {
        out.text_leaf("AddtlInf", information, MAX_105)?;
    }
    out.close();
    Ok(())
}

/// Reads the `Document` of a status report.
pub(super) fn read_document(
    document: &Node<'_>,
    check: RoutingCheck,
) -> Result<StatusReport, IsoError> {
    let message = document.require(&["FIToFIPmtStsRpt"])?;
    let group = message.require(&["GrpHdr"])?;
    let mut transactions = message.children("TxInfAndSts");
    let transaction = transactions.next().ok_or_else(|| IsoError::Missing {
        path: format!("{}/TxInfAndSts", message.path()),
    })?;
    if transactions.next().is_some() {
        return Err(transaction.invalid("paybank takes one transaction per report".to_string()));
    }
    let original = transaction.require(&["OrgnlGrpInf"])?;
    let status = transaction.require(&["TxSts"])?;
    let report = StatusReport {
        message_id: read_token(&group, &["MsgId"], validate::message_id)?,
        created_at: read_date_time(&group, &["CreDtTm"])?,
        original_message_id: read_token(&original, &["OrgnlMsgId"], validate::message_id)?,
        original_message_name_id: read_text(&original, &["OrgnlMsgNmId"], MAX_35)?,
        original_created_at: read_optional_date_time(&original, &["OrgnlCreDtTm"])?,
        original_instruction_id: read_optional_text(&transaction, &["OrgnlInstrId"], MAX_35)?,
        original_end_to_end_id: read_text(&transaction, &["OrgnlEndToEndId"], MAX_35)?,
        original_uetr: match transaction.child("OrgnlUETR") {
            Some(_) => Some(read_token(&transaction, &["OrgnlUETR"], validate::uetr)?),
            None => None,
        },
        status: TransactionStatus::from_code(status.token())
            .ok_or_else(|| status.invalid(format!("unknown status `{}`", status.token())))?,
        reason: match transaction.child("StsRsnInf") {
            Some(reason) => Some(read_reason(&reason)?),
            None => None,
        },
        accepted_at: read_optional_date_time(&transaction, &["AccptncDtTm"])?,
        settled_on: match transaction.child("FctvIntrBkSttlmDt") {
            Some(settled) => Some(read_date(&settled, &["Dt"])?),
            None => None,
        },
        instructing_agent_rtn: read_agent(&transaction, "InstgAgt", check)?,
        instructed_agent_rtn: read_agent(&transaction, "InstdAgt", check)?,
    };
    // The only rule `check_reason` applies is a missing reason, so name the missing element.
    check_reason(&report).map_err(|_| IsoError::Missing {
        path: format!("{}/StsRsnInf", transaction.path()),
    })?;
    Ok(report)
}

fn read_reason(reason: &Node<'_>) -> Result<StatusReason, IsoError> {
    let code = match reason.optional(&["Rsn", "Prtry"]) {
        Some(_) => StatusReasonCode::Proprietary(read_text(reason, &["Rsn", "Prtry"], MAX_35)?),
        None => StatusReasonCode::Iso(read_token(reason, &["Rsn", "Cd"], validate::external_code)?),
    };
    let additional_information = reason
        .children("AddtlInf")
        .map(|information| {
            validate::text(information.text(), MAX_105)
                .map(|()| information.text().to_string())
                .map_err(|why| information.invalid(why))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(StatusReason {
        code,
        additional_information,
    })
}
