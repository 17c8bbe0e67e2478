//! The provider's numeric codes: transaction types, statuses and payment types (contract §3).

/// `transactionType` on transactions and events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransactionType {
    Authorize,
    Pay,
    Capture,
    Refund,
    Reverse,
    Deposit,
    Reclaim,
    Representment,
    Preauthorization,
}

impl TransactionType {
    pub const ALL: [TransactionType; 9] = [
        Self::Authorize,
        Self::Pay,
        Self::Capture,
        Self::Refund,
        Self::Reverse,
        Self::Deposit,
        Self::Reclaim,
        Self::Representment,
        Self::Preauthorization,
    ];

    pub fn code(self) -> u8 {
        match self {
            Self::Authorize => 1,
            Self::Pay => 2,
            Self::Capture => 3,
            Self::Refund => 4,
            Self::Reverse => 5,
            Self::Deposit => 6,
            Self::Reclaim => 7,
            Self::Representment => 8,
            Self::Preauthorization => 10,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }

    /// The type's name as the provider spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Authorize => "Authorize",
            Self::Pay => "Pay",
            Self::Capture => "Capture",
            Self::Refund => "Refund",
            Self::Reverse => "Reverse",
            Self::Deposit => "Deposit",
            Self::Reclaim => "Reclaim",
            Self::Representment => "Representment",
            Self::Preauthorization => "Preauthorization",
        }
    }
}

/// `status` on transactions and events. Numbers from contract §3; 9 is deliberately absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransactionStatus {
    New,
    Pending,
    Authorized,
    Processed,
    Completed,
    Failed,
    Expired,
    Canceled,
    Denied,
    Reversed,
    PartiallyRefunded,
    Refunded,
    Voided,
    OnHold,
}

impl TransactionStatus {
    pub const ALL: [TransactionStatus; 14] = [
        Self::New,
        Self::Pending,
        Self::Authorized,
        Self::Processed,
        Self::Completed,
        Self::Failed,
        Self::Expired,
        Self::Canceled,
        Self::Denied,
        Self::Reversed,
        Self::PartiallyRefunded,
        Self::Refunded,
        Self::Voided,
        Self::OnHold,
    ];

    pub fn code(self) -> u8 {
        match self {
            Self::New => 0,
            Self::Pending => 1,
            Self::Authorized => 2,
            Self::Processed => 3,
            Self::Completed => 4,
            Self::Failed => 5,
            Self::Expired => 6,
            Self::Canceled => 7,
            Self::Denied => 8,
            Self::Reversed => 10,
            Self::PartiallyRefunded => 11,
            Self::Refunded => 12,
            Self::Voided => 13,
            Self::OnHold => 14,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.code() == code)
    }

    /// `statusMessage`: the status name as the provider spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::New => "New",
            Self::Pending => "Pending",
            Self::Authorized => "Authorized",
            Self::Processed => "Processed",
            Self::Completed => "Completed",
            Self::Failed => "Failed",
            Self::Expired => "Expired",
            Self::Canceled => "Canceled",
            Self::Denied => "Denied",
            Self::Reversed => "Reversed",
            Self::PartiallyRefunded => "PartiallyRefunded",
            Self::Refunded => "Refunded",
            Self::Voided => "Voided",
            Self::OnHold => "OnHold",
        }
    }

    /// Whether money already settled under this status (refunds are allowed only then).
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::PartiallyRefunded | Self::Refunded
        )
    }
}

/// `paymentType`: a string on establish, a number everywhere else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PaymentType {
    Instant,
    Deferred,
    Recurring,
    Disbursement,
    Verification,
    Retrieval,
}

impl PaymentType {
    pub const ALL: [PaymentType; 6] = [
        Self::Instant,
        Self::Deferred,
        Self::Recurring,
        Self::Disbursement,
        Self::Verification,
        Self::Retrieval,
    ];

    pub fn code(self) -> u8 {
        match self {
            Self::Instant => 1,
            Self::Deferred => 2,
            Self::Recurring => 3,
            Self::Disbursement => 4,
            Self::Verification => 5,
            Self::Retrieval => 6,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Instant => "Instant",
            Self::Deferred => "Deferred",
            Self::Recurring => "Recurring",
            Self::Disbursement => "Disbursement",
            Self::Verification => "Verification",
            Self::Retrieval => "Retrieval",
        }
    }

    /// Parses the establish string; the provider matches it exactly, and so do we.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        for status in TransactionStatus::ALL {
            assert_eq!(TransactionStatus::from_code(status.code()), Some(status));
        }
        for kind in TransactionType::ALL {
            assert_eq!(TransactionType::from_code(kind.code()), Some(kind));
        }
        for kind in PaymentType::ALL {
            assert_eq!(PaymentType::from_code(kind.code()), Some(kind));
            assert_eq!(PaymentType::from_name(kind.name()), Some(kind));
        }
        assert_eq!(TransactionStatus::from_code(9), None);
    }

    #[test]
    fn numbers_match_the_contract_tables() {
        assert_eq!(TransactionStatus::Voided.code(), 13);
        assert_eq!(TransactionStatus::Refunded.code(), 12);
        assert_eq!(TransactionType::Preauthorization.code(), 10);
        assert_eq!(PaymentType::Deferred.code(), 2);
    }
}
